"""The runs bench: pipeline runs recorded by the real client, and the
hydrated reads of runs, against a server seeded with 10,000 runs.

Two measurements, in this order:

* alone (`measure_alone`): nothing else talks to the server; raw HTTP GETs
  (a `requests.Session`, keep-alive) of the newest page of 50 hydrated runs,
  of a hydrated run and of the hydrated steps of a run;
* under load (`measure_recording`): `clients` processes of the stock
  zenml==0.66.0 client record runs for a fixed time (bench/zenml_client.py
  `record`: the 9 requests of a run), while one more client process
  (`probe`) lists the newest page of 50 hydrated runs again and again.

Goals (the issue's, on this machine) and the reference's figures (ZenML
0.66.0, same mix, 4 client processes) are reported next to each figure.
"""

from __future__ import annotations

import collections
import json
import os
import queue
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

from bench.load import _percentile
from bench.seed import Seeded, client_requests
from bench.server import log

CLIENT_SCRIPT = Path(__file__).resolve().parent / "zenml_client.py"
MARK = "__ZENYARD_BENCH__ "

# name: (goal, comparison, reference figure, what the reference measured)
GOALS: dict[str, tuple[float, str, float, str]] = {
    "recording": (20.0, ">=", 1.99, "runs/s; 1,537 ms per run (median), 4 client processes"),
    "page_under_load": (400.0, "<=", 4120.0, "ms (median), the client, while 4 processes record runs"),
    "page_alone": (60.0, "<=", 600.0, "ms, about; one raw HTTP request alone; 374 KB"),
    "run_hydrated": (20.0, "<=", 121.0, "ms (median)"),
    "steps_hydrated": (20.0, "<=", 86.0, "ms (median)"),
}


def _goal(name: str, measured: float | None) -> dict[str, Any]:
    goal, comparison, reference, unit = GOALS[name]
    met = None
    if measured is not None:
        met = measured >= goal if comparison == ">=" else measured <= goal
    return {"goal": f"{comparison} {goal:g}", "met": met, "reference": f"{reference:g} {unit}"}


def _summary(seconds: list[float]) -> dict[str, Any]:
    ordered = sorted(seconds)
    if not ordered:
        return {"n": 0, "median_ms": None, "p99_ms": None}
    return {
        "n": len(ordered),
        "median_ms": round(statistics.median(ordered) * 1000, 1),
        "p99_ms": round(_percentile(ordered, 0.99) * 1000, 1),
    }


# --- the stock client --------------------------------------------------------


def zenml_venv_python() -> Path:
    """The cached zenml==0.66.0 venv's interpreter, built first if missing.

    The test suites and the bench share that venv (tests/support.py: built
    in place under a file lock, complete once its marker file exists).
    """
    from tests.support import ensure_zenml_venv

    try:
        venv = ensure_zenml_venv()
    except BaseException as err:  # pytest.fail raises an Exception outside pytest's tree
        if isinstance(err, KeyboardInterrupt):
            raise
        raise RuntimeError(f"cannot build the zenml==0.66.0 venv: {err}") from err
    return Path(venv.python)


def client_environ(config_dir: Path, url: str) -> dict[str, str]:
    """An isolated client: its own config dir; the store from the environment."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ZENML_", "ZENYARD_"))
        and key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "AUTO_OPEN_DASHBOARD")
    }
    env.update(
        ZENML_CONFIG_PATH=str(config_dir),
        ZENML_STORE_URL=url,
        ZENML_STORE_USERNAME="default",
        ZENML_STORE_PASSWORD="",
        ZENML_ANALYTICS_OPT_IN="false",
        ZENML_LOGGING_VERBOSITY="WARN",
        ZENML_ENABLE_RICH_TRACEBACK="false",
        AUTO_OPEN_DASHBOARD="false",
        PYTHONUNBUFFERED="1",
    )
    return env


class ClientProcess:
    """One bench/zenml_client.py process and its event stream."""

    def __init__(self, python: Path, mode: str, params: dict[str, Any], home: Path, url: str):
        self.name = f"{mode}-{params.get('index', 0)}"
        home.mkdir(parents=True)
        (home / "config").mkdir()
        self.stderr_path = home / "stderr.log"
        self._stderr = open(self.stderr_path, "wb")
        self.events: queue.Queue = queue.Queue()
        self.other_output: collections.deque = collections.deque(maxlen=40)
        self.process = subprocess.Popen(
            [str(python), "-I", str(CLIENT_SCRIPT), mode, json.dumps(params)],
            cwd=home, env=client_environ(home / "config", url),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            if line.startswith(MARK):
                self.events.put(json.loads(line[len(MARK):]))
            else:
                self.other_output.append(line.rstrip())
        self.events.put(None)  # end of output

    def send(self, **command: Any) -> None:
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()

    def expect(self, event: str, timeout: float) -> dict[str, Any]:
        try:
            message = self.events.get(timeout=timeout)
        except queue.Empty:
            message = None
            problem = f"no {event!r} within {timeout:.0f}s"
        else:
            problem = f"ended before {event!r}" if message is None else f"sent {message.get('event')!r}"
        if message is None or message.get("event") != event:
            raise RuntimeError(f"client {self.name} {problem}:\n{self.evidence()}")
        return message

    def evidence(self) -> str:
        self._stderr.flush()
        tail = self.stderr_path.read_text(errors="replace").splitlines()[-30:]
        return "\n".join(["--- stdout ---", *self.other_output, "--- stderr ---", *tail])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._stderr.close()


# --- alone: raw HTTP -----------------------------------------------------------

#: The query the client sends for `list_pipeline_runs(hydrate=True, size=50)`.
PAGE_QUERY = {"sort_by": "desc:created", "logical_operator": "and", "page": "1", "size": "50", "hydrate": "True"}


def _timed_gets(session: requests.Session, urls: list[tuple[str, dict]], count: int, headers: dict) -> tuple[list, int]:
    for url, params in urls[:3]:  # warm-up
        session.get(url, params=params, headers=headers, timeout=120).raise_for_status()
    seconds, size = [], 0
    for i in range(count):
        url, params = urls[i % len(urls)]
        start = time.perf_counter()
        reply = session.get(url, params=params, headers=headers, timeout=120)
        size = len(reply.content)
        seconds.append(time.perf_counter() - start)
        reply.raise_for_status()
    return seconds, size


def measure_alone(url: str, token: str, count: int) -> dict[str, Any]:
    """The page, a hydrated run and a run's hydrated steps, one request at a time."""
    headers = {"Authorization": f"Bearer {token}"}
    with requests.Session() as session:
        page_url = f"{url}/api/v1/runs"
        runs = session.get(page_url, params=PAGE_QUERY, headers=headers, timeout=120).json()["items"]
        total = session.get(page_url, params={"size": "1"}, headers=headers, timeout=120).json()["total"]
        page, page_bytes = _timed_gets(session, [(page_url, PAGE_QUERY)], count, headers)
        # each request a different run of the newest page
        run_urls = [(f"{url}/api/v1/runs/{run['id']}", {"hydrate": "True"}) for run in runs]
        run, run_bytes = _timed_gets(session, run_urls, count, headers)
        step_urls = [
            (f"{url}/api/v1/steps", {"sort_by": "created", "logical_operator": "and", "page": "1", "size": "20",
                                      "hydrate": "True", "pipeline_run_id": run["id"]})
            for run in runs
        ]
        steps, steps_bytes = _timed_gets(session, step_urls, count, headers)
    figures = {
        "runs_in_database": total,
        "page_alone": {
            "what": "GET /api/v1/runs?sort_by=desc:created&size=50&hydrate=True (raw HTTP, alone)",
            **_summary(page), "bytes": page_bytes,
        },
        "run_hydrated": {
            "what": "GET /api/v1/runs/{id}?hydrate=True (raw HTTP, alone; the 50 runs of the page in turn)",
            **_summary(run), "bytes": run_bytes,
        },
        "steps_hydrated": {
            "what": "GET /api/v1/steps?pipeline_run_id={id}&hydrate=True (raw HTTP, alone; 2 steps a run)",
            **_summary(steps), "bytes": steps_bytes,
        },
    }
    for name in ("page_alone", "run_hydrated", "steps_hydrated"):
        figures[name].update(_goal(name, figures[name]["median_ms"]))
    return figures


# --- under load: the stock client --------------------------------------------


def tree_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a process and its children
    (the gunicorn master and its workers); 0 where /proc is not there."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
            with open(f"/proc/{current}/task/{current}/children") as handle:
                pending.extend(int(child) for child in handle.read().split())
        except (OSError, IndexError, ValueError):
            continue
    return total


def machine_busy_seconds() -> float:
    """CPU time (all cores, every process: the database server's too) the
    machine has spent busy so far, from /proc/stat; 0 where it is not there."""
    try:
        with open("/proc/stat") as handle:
            fields = [int(value) for value in handle.readline().split()[1:]]
    except (OSError, ValueError):
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def measure_recording(
    url: str, seeded: Seeded, clients: int, duration: float, probe_alone: int, server_pid: int | None = None
) -> dict[str, Any]:
    """`clients` processes record runs for `duration` s while a probe lists pages.

    Besides the client-side figures: the CPU time the server (`server_pid`
    and its workers) and the recording clients used per recorded run, which
    the machine's load does not change much and which bounds the runs/s
    this machine can reach at all.
    """
    python = zenml_venv_python()
    home = Path(tempfile.mkdtemp(prefix="zenyard-bench-clients-"))
    common = {
        "deployment_id": seeded.deployment_id, "pipeline_id": seeded.pipeline_id,
        "artifact_store_id": seeded.artifact_store_id, "artifact_ids": seeded.artifact_ids,
        "requests": client_requests(), "clients": clients,
        # above the seeded numbers and the warm-up runs' (one per client)
        "first_version": seeded.runs + 1,
    }
    processes: list[ClientProcess] = []
    try:
        log(f"runs: starting {clients} recording clients and a probe (zenml==0.66.0)")
        for index in range(clients):
            processes.append(ClientProcess(python, "record", {**common, "index": index}, home / f"record-{index}", url))
        probe = ClientProcess(python, "probe", {"index": 0}, home / "probe", url)
        processes.append(probe)
        for process in processes:
            process.expect("ready", timeout=180)
        log(f"runs: the probe lists {probe_alone} pages alone (the client)")
        probe.send(cmd="alone", count=probe_alone)
        client_alone = probe.expect("alone", timeout=600)["client"]
        log(f"runs: {clients} clients record runs for {duration:g}s; the probe lists pages meanwhile")
        server_cpu = tree_cpu_seconds(server_pid) if server_pid else 0.0
        busy = machine_busy_seconds()
        for process in processes:
            process.send(cmd="go", duration=duration)
        reports = [process.expect("done", timeout=duration + 300) for process in processes]
        server_cpu = tree_cpu_seconds(server_pid) - server_cpu if server_pid else None
        busy = machine_busy_seconds() - busy
    finally:
        for process in processes:
            process.stop()
        shutil.rmtree(home, ignore_errors=True)

    recorded, probed = reports[:-1], reports[-1]
    per_run = [value for report in recorded for value in report["per_run"]]
    by_request: dict[str, list[float]] = collections.defaultdict(list)
    for report in recorded:
        for name, values in report["requests"].items():
            by_request[name].extend(values)
    errors = [message for report in recorded for message in report["errors"]]
    runs_per_s = round(sum(r["runs"] / r["elapsed"] for r in recorded if r["elapsed"] > 0), 2)
    per_run_summary = _summary(per_run)
    runs = sum(r["runs"] for r in recorded)
    cpu = {
        # the server's includes what the probe's pages (`probe_pages`) cost it
        "server_s": round(server_cpu, 1) if server_cpu is not None else None,
        "server_ms_per_run_incl_probe": round(server_cpu * 1000 / runs, 1) if server_cpu is not None and runs else None,
        "recording_clients_ms_per_run": round(sum(r["cpu_s"] for r in recorded) * 1000 / runs, 1) if runs else None,
        "probe_s": round(probed["cpu_s"], 1),
        "probe_pages": len(probed["client"]) + len(probed["raw"]),
        # everything the machine ran meanwhile: with the figures above, what
        # is left is mostly the database server (PostgreSQL, MariaDB)
        "machine_busy_s": round(busy, 1),
        "window_s": round(max(r["elapsed"] for r in recorded), 1) if recorded else None,
        "cores": os.cpu_count(),
    }
    return {
        "recording": {
            "what": f"{clients} processes of the zenml==0.66.0 client record two-step runs for {duration:g}s: "
                    "get-or-create run, 2 x (create step, create artifact version, update step), "
                    "run metadata, update run (9 requests a run)",
            "runs": runs,
            "runs_per_s": runs_per_s,
            "median_ms_per_run": per_run_summary["median_ms"],
            "p99_ms_per_run": per_run_summary["p99_ms"],
            **_goal("recording", runs_per_s),
            "errors": len(errors),
            "first_errors": errors[:3],
            "per_request": {name: _summary(values) for name, values in sorted(by_request.items())},
            "cpu": cpu,
        },
        "page_under_load": {
            "what": "the probe, a 5th process, meanwhile: Client().list_pipeline_runs(hydrate=True, size=50), "
                    "timed through the client's models (the reference's way); every other request the same "
                    "GET raw (`raw_http`)",
            **_summary(probed["client"]),
            **_goal("page_under_load", _summary(probed["client"])["median_ms"]),
            # the goal is "under that load": 20 runs/s; a slower recording loads the server less
            "while_runs_per_s": runs_per_s,
            "raw_http": {**_summary(probed["raw"]), "bytes": probed["bytes"]},
        },
        "page_client_alone": {
            "what": "Client().list_pipeline_runs(hydrate=True, size=50) with nothing else running",
            **_summary(client_alone),
        },
    }
