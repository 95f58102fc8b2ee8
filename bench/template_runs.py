"""Template runs on the real Docker engine: trigger-to-container-start and throughput.

The world is the Docker suite's (`tests/docker_world.TemplateWorld`): dockerd
(started when none answers), a registry on loopback, the cached base image,
Zenyard under gunicorn (1 worker x 4 threads) on SQLite, `--template-workers`
Celery workers on Redis, the stock client's stack with the local orchestrator
and a local artifact store. The template is the suite's two-step `e2e`
pipeline; its build's image holds the pipeline code.

1. Warm-up: one run, which builds and pushes the runner image. Every later run
   finds it in the registry ("cached image").
2. `trigger_to_container_start`: `--template-samples` runs, one after the
   other with idle workers. Each is measured from just before the
   `POST /api/v1/run_templates/{id}/runs` (client clock) to the moment the
   worker recorded the runner container as started (`running_at`, the same
   machine's clock), with the phases in between from the workload's own
   timestamps.
3. `throughput`: `--template-burst` runs triggered at once; runs completed per
   minute from the first trigger to the last run's end, with the workers given.
"""

from __future__ import annotations

import statistics
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

from bench.server import log
from store.base import utcnow
from store.workloads import get_workload, read_log, workload_of_deployment

GOAL_START_S = 3.0
FINAL = {"completed", "failed", "cancelled"}


def _seconds(later: datetime | None, earlier: datetime | None) -> float | None:
    if later is None or earlier is None:
        return None
    return round((later - earlier).total_seconds(), 3)


def _summary(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    return {"n": len(values), "median_s": round(statistics.median(ordered), 3), "min_s": ordered[0],
            "max_s": ordered[-1]}


class Trigger:
    """Raw HTTP to the world's server, as the client's `trigger_pipeline` sends it."""

    def __init__(self, world) -> None:
        self.world = world
        self.url = world.server.url
        self.http = requests.Session()
        token = self.http.post(f"{self.url}/api/v1/login", data={"username": "default", "password": ""},
                               timeout=30).json()["access_token"]
        self.http.headers["Authorization"] = f"Bearer {token}"

    def fire(self, template_id: str) -> tuple[datetime, dict]:
        asked = utcnow()
        reply = self.http.post(f"{self.url}/api/v1/run_templates/{template_id}/runs", json={}, timeout=60)
        reply.raise_for_status()
        run = reply.json()
        workload = workload_of_deployment(self.world.db, uuid.UUID(run["body"]["deployment_id"]))
        return asked, workload

    def wait(self, workload_id, timeout: float = 600) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = get_workload(self.world.db, workload_id)
            if state["state"] in FINAL:
                return state
            time.sleep(0.2)
        raise RuntimeError(f"workload {workload_id} did not finish in {timeout:.0f}s")

    def log_of(self, workload_id) -> str:
        return read_log(self.world.db, workload_id)[0]


def _phases(asked: datetime, state: dict) -> dict[str, Any]:
    return {
        "trigger_to_container_start_s": _seconds(state["running_at"], asked),
        "trigger_answered_to_pickup_s": _seconds(state["building_at"], state["queued_at"]),
        "image_check_s": _seconds(state["starting_at"], state["building_at"]),
        "container_create_and_start_s": _seconds(state["running_at"], state["starting_at"]),
        "container_run_s": _seconds(state["completed_at"] or state["failed_at"], state["running_at"]),
        "state": state["state"],
    }


def measure_template_runs(samples: int, burst: int, workers: int) -> dict[str, Any]:
    from tests.docker_world import TemplateWorld

    with tempfile.TemporaryDirectory(prefix="zenyard-bench-templates-") as tmp:
        log(f"templates: starting the world (dockerd, registry, base image, server, {workers} workers)")
        started = time.monotonic()
        with TemplateWorld(Path(tmp), workers=workers) as world:
            setup_s = round(time.monotonic() - started, 1)
            trigger = Trigger(world)
            template = world.templates["e2e"]

            log("templates: warm-up run (builds and pushes the runner image)")
            asked, workload = trigger.fire(template)
            warm = trigger.wait(workload["id"])
            if warm["state"] != "completed":
                raise RuntimeError(f"the warm-up run {warm['state']}: {trigger.log_of(workload['id'])[-2000:]}")
            warm_up = {"build_and_push_s": _seconds(warm["starting_at"], warm["building_at"]), **_phases(asked, warm)}

            log(f"templates: {samples} runs one after the other (cached image)")
            sequential = []
            for _ in range(samples):
                asked, workload = trigger.fire(template)
                state = trigger.wait(workload["id"])
                if "is in the registry; no build" not in trigger.log_of(workload["id"]):
                    raise RuntimeError("a run after the warm-up built its image again")
                sequential.append(_phases(asked, state))
            starts = [p["trigger_to_container_start_s"] for p in sequential if p["trigger_to_container_start_s"]]

            log(f"templates: {burst} runs triggered at once, {workers} workers")
            fired = [trigger.fire(template) for _ in range(burst)]
            ended = [trigger.wait(workload["id"], timeout=1800) for _, workload in fired]
            first = min(asked for asked, _ in fired)
            last = max(state["completed_at"] or state["failed_at"] or state["cancelled_at"] for state in ended)
            window = (last - first).total_seconds()
            completed = sum(state["state"] == "completed" for state in ended)
            burst_starts = [_phases(asked, state)["trigger_to_container_start_s"]
                            for (asked, _), state in zip(fired, ended)]

    start_summary = _summary(starts)
    return {
        "what": "the Docker suite's world: gunicorn 1x4, SQLite, Celery on Redis, the two-step e2e template, "
                "runner containers of zenml 0.66.0 on the local orchestrator",
        "setup_s": setup_s,
        "warm_up": warm_up,
        "trigger_to_container_start": {
            **start_summary, "goal_s": GOAL_START_S,
            "met": bool(starts) and start_summary["median_s"] <= GOAL_START_S,
            "phases_median_s": {
                key: round(statistics.median(p[key] for p in sequential if p[key] is not None), 3)
                for key in ("trigger_answered_to_pickup_s", "image_check_s", "container_create_and_start_s",
                            "container_run_s")
            },
            "states": sorted({p["state"] for p in sequential}),
        },
        "throughput": {
            "workers": workers, "runs": burst, "completed": completed,
            "window_s": round(window, 1),
            "runs_per_minute": round(completed / window * 60, 2) if window > 0 else None,
            "trigger_to_container_start_in_burst": _summary([s for s in burst_starts if s is not None]),
        },
    }
