"""One client process of the runs bench, run by the stock zenml==0.66.0 venv.

    .cache/zenml-0.66.0/bin/python -I bench/zenml_client.py record|probe PARAMS_JSON

Not part of the `bench` package: it imports only the standard library and
`zenml` (`-I` keeps bench/ off sys.path). The client reads its
server from the environment (`ZENML_STORE_URL`, `ZENML_STORE_USERNAME`,
`ZENML_STORE_PASSWORD`) and its config from its own `ZENML_CONFIG_PATH`.

It talks to the bench over stdin/stdout, one JSON object a line:

    -> {"event": "ready"}                  logged in, warmed up (unmeasured)
    <- {"cmd": "alone", "count": N}        probe: N client pages, nothing else running
    -> {"event": "alone", ...figures}
    <- {"cmd": "go", "duration": S}        measure for S seconds
    -> {"event": "done", ...figures}

`record` records pipeline runs with exactly the client's 9 requests each:
the run (get-or-create), two steps created and updated, two artifact
versions, run metadata and the run update. `probe` lists the newest page
of 50 hydrated runs, alternately through the client
(`Client().list_pipeline_runs(hydrate=True, size=50)`: request, JSON and
pydantic models) and as a raw GET of the same URL (request and body only).
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Callable

MARK = "__ZENYARD_BENCH__ "


def say(event: str, **fields: Any) -> None:
    sys.stdout.write(MARK + json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


def listen() -> dict[str, Any]:
    line = sys.stdin.readline()
    if not line:
        raise SystemExit(0)  # the bench went away
    return json.loads(line)


def utcnow() -> datetime:
    # naive UTC, as the client sends its timestamps
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Recorder:
    """Records two-step runs of the seeded deployment, as a pipeline does."""

    def __init__(self, params: dict[str, Any]):
        from zenml.client import Client

        self.client = Client()
        self.store = self.client.zen_store
        self.user = self.client.active_user.id
        self.workspace = self.client.active_workspace.id
        self.deployment = uuid.UUID(params["deployment_id"])
        self.pipeline = uuid.UUID(params["pipeline_id"])
        self.artifact_store = uuid.UUID(params["artifact_store_id"])
        self.artifacts = {step: uuid.UUID(value) for step, value in params["artifact_ids"].items()}
        self.requests = params["requests"]
        # Version numbers no other client takes: seeded numbers end at
        # `first_version - 1`; client k of n takes first + k, first + k + n, ...
        self.next_version = params["first_version"] + params["index"]
        self.stride = params["clients"]
        self.timings: dict[str, list[float]] = {}

    def timed(self, name: str, call: Callable[..., Any], *args: Any) -> Any:
        start = time.perf_counter()
        result = call(*args)
        self.timings.setdefault(name, []).append(time.perf_counter() - start)
        return result

    def record_run(self) -> None:
        from zenml.enums import ArtifactType, ExecutionStatus, MetadataResourceTypes
        from zenml.models import (
            ArtifactVersionRequest,
            LogsRequest,
            PipelineRunRequest,
            PipelineRunUpdate,
            RunMetadataRequest,
            StepRunRequest,
            StepRunUpdate,
        )

        store = self.store
        run_body, step_body = self.requests["run"], self.requests["step"]
        version_body, metadata_body = self.requests["artifact_version"], self.requests["run_metadata"]
        scope = {"user": self.user, "workspace": self.workspace}
        number = self.next_version
        self.next_version += self.stride
        started = utcnow()
        run, _created = self.timed("run_get_or_create", store.get_or_create_run, PipelineRunRequest(
            name=f"bench_seed-{started:%Y_%m_%d-%H_%M_%S_%f}-{number}",
            deployment=self.deployment, pipeline=self.pipeline,
            orchestrator_run_id=str(uuid.uuid4()), start_time=started, status=ExecutionStatus.RUNNING,
            client_environment=run_body["client_environment"],
            orchestrator_environment=run_body["orchestrator_environment"], **scope,
        ))
        previous = None  # (step id, output version id) of the step before
        for step in ("load", "train"):
            store_dir = f"/tmp/zenyard-bench/local_stores/{self.artifact_store}/{step}"
            created = self.timed("step_create", store.create_run_step, StepRunRequest(
                name=step, pipeline_run_id=run.id, deployment=self.deployment, status=ExecutionStatus.RUNNING,
                start_time=utcnow(), cache_key=uuid.uuid4().hex, code_hash=step_body["code_hash"],
                docstring=None, source_code=step_body["source_code"],
                inputs={"data": previous[1]} if previous else {},
                parent_step_ids=[previous[0]] if previous else [],
                logs=LogsRequest(uri=f"{store_dir}/logs/{uuid.uuid4()}.log", artifact_store_id=self.artifact_store),
                **scope,
            ))
            version = self.timed("artifact_version_create", store.create_artifact_version, ArtifactVersionRequest(
                artifact_id=self.artifacts[step], version=number, has_custom_name=False,
                type=ArtifactType(version_body["type"]), artifact_store_id=self.artifact_store,
                uri=f"{store_dir}/output/{created.id}/{number:08x}",
                materializer=version_body["materializer"], data_type=version_body["data_type"],
                tags=[], visualizations=[], **scope,
            ))
            if previous is None:  # the one metadata request of the 9
                self.timed("run_metadata_create", store.create_run_metadata, RunMetadataRequest(
                    resource_id=version.id, resource_type=MetadataResourceTypes.ARTIFACT_VERSION,
                    stack_component_id=None, values=metadata_body["values"], types=metadata_body["types"],
                    **scope,
                ))
            self.timed("step_update", store.update_run_step, created.id, StepRunUpdate(
                status=ExecutionStatus.COMPLETED, end_time=utcnow(), outputs={"output": version.id},
            ))
            previous = (created.id, version.id)
        self.timed("run_update", store.update_run, run.id, PipelineRunUpdate(
            status=ExecutionStatus.COMPLETED, end_time=utcnow(),
        ))

    def measure(self, duration: float) -> dict[str, Any]:
        self.timings.clear()
        per_run: list[float] = []
        errors: list[str] = []
        cpu = time.process_time()
        start = time.perf_counter()
        deadline = start + duration
        now = start
        while now < deadline:
            try:
                self.record_run()
            except Exception as exc:  # noqa: BLE001 - counted and reported, the clock goes on
                errors.append(f"{type(exc).__name__}: {str(exc)[:300]}")
                now = time.perf_counter()
                continue
            done = time.perf_counter()
            per_run.append(done - now)
            now = done
        return {"runs": len(per_run), "elapsed": now - start, "per_run": per_run,
                "requests": self.timings, "errors": errors, "cpu_s": time.process_time() - cpu}


class Probe:
    """Lists the newest page of 50 hydrated runs, via the client and raw."""

    def __init__(self, _params: dict[str, Any]):
        from zenml.client import Client

        self.client = Client()
        self.store = self.client.zen_store
        self.url = self.store.url + "/api/v1/runs"
        # what the client sends for list_pipeline_runs(hydrate=True, size=50)
        self.query = {"sort_by": "desc:created", "logical_operator": "and", "page": "1", "size": "50",
                      "hydrate": "True"}

    def client_page(self) -> float:
        start = time.perf_counter()
        page = self.client.list_pipeline_runs(hydrate=True, size=50)
        elapsed = time.perf_counter() - start
        if len(page.items) != 50:
            raise RuntimeError(f"a page of {len(page.items)} runs")
        return elapsed

    def raw_page(self) -> tuple[float, int]:
        start = time.perf_counter()
        reply = self.store.session.get(self.url, params=self.query, timeout=120)
        size = len(reply.content)
        elapsed = time.perf_counter() - start
        reply.raise_for_status()
        return elapsed, size

    def alone(self, count: int) -> dict[str, Any]:
        return {"client": [self.client_page() for _ in range(count)]}

    def measure(self, duration: float) -> dict[str, Any]:
        client: list[float] = []
        raw: list[float] = []
        size = 0
        cpu = time.process_time()
        deadline = time.perf_counter() + duration
        while time.perf_counter() < deadline:
            client.append(self.client_page())
            if time.perf_counter() >= deadline:
                break
            elapsed, size = self.raw_page()
            raw.append(elapsed)
        return {"client": client, "raw": raw, "bytes": size, "cpu_s": time.process_time() - cpu}


def main() -> None:
    mode, params = sys.argv[1], json.loads(sys.argv[2])
    worker = Recorder(params) if mode == "record" else Probe(params)
    # unmeasured warm-up: login, imports, the server's first queries
    worker.record_run() if mode == "record" else worker.client_page()
    say("ready")
    while True:
        command = listen()
        if command["cmd"] == "alone":
            say("alone", **worker.alone(command["count"]))
        elif command["cmd"] == "go":
            say("done", **worker.measure(command["duration"]))
            return


if __name__ == "__main__":
    main()
