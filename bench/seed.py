"""Seed pipeline runs straight into the database, as the API would store them.

Recording 10,000 runs through HTTP takes minutes; bulk inserts with
SQLAlchemy Core take seconds. The rows have the shapes the API writes when
the client records a run (tests/data/client_requests.json holds the real
request bodies): one pipeline and one deployment (the client's pipeline and
step configurations), and per run two completed steps (`load`, then `train`
reading `load`'s output), their logs, two artifact versions (one per
artifact, numbered 1, 2, ...), the step input/output links, the parent link,
and the run metadata the client records on each artifact version.

Runs only against a migrated and bootstrapped database (the default user,
workspace and stack exist) and before the server starts.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import insert, select

REQUESTS_FILE = Path(__file__).resolve().parent.parent / "tests" / "data" / "client_requests.json"
PIPELINE_NAME = "bench_seed"
STEP_NAMES = ("load", "train")
CHUNK = 1000  # runs per transaction


@dataclass(frozen=True)
class Seeded:
    """What the recording clients and the probes need to know about the seed."""

    runs: int
    seconds: float
    rows: dict[str, int]
    user_id: str
    workspace_id: str
    stack_id: str
    artifact_store_id: str
    pipeline_id: str
    deployment_id: str
    artifact_ids: dict[str, str]  # step name -> its output's artifact id
    newest_run_id: str | None


def client_requests() -> dict[str, Any]:
    return json.loads(REQUESTS_FILE.read_text())


def artifact_name(step: str) -> str:
    """The name ZenML gives a step output: `{pipeline}::{step}::{output}`."""
    return f"{PIPELINE_NAME}::{step}::output"


def _chunks(total: int, size: int) -> Iterator[range]:
    for start in range(0, total, size):
        yield range(start, min(total, start + size))


def seed_runs(database_url: str, runs: int = 10_000) -> Seeded:
    """Insert `runs` completed two-step runs; return what was seeded."""
    import store.models  # noqa: F401  (every table mapped)
    from store.artifacts import Artifact, ArtifactVersion
    from store.base import utcnow
    from store.db import make_engine
    from store.pipelines import Pipeline, PipelineDeployment
    from store.run_metadata import RunMetadata
    from store.runs import (
        Logs,
        PipelineRun,
        StepRun,
        StepRunInput,
        StepRunOutput,
        step_run_parents,
    )
    from store.stacks import Stack, StackComponent, stack_composition
    from store.tables import User, Workspace

    started = time.perf_counter()
    requests = client_requests()
    engine = make_engine(database_url)
    counts: dict[str, int] = {}

    def put(connection, table, rows: list[dict]) -> None:
        if rows:
            connection.execute(insert(table), rows)
            counts[table.name] = counts.get(table.name, 0) + len(rows)

    try:
        with engine.begin() as connection:
            user_id = connection.scalar(select(User.id).where(User.is_admin.is_(True)).order_by(User.created))
            workspace_id = connection.scalar(select(Workspace.id).where(Workspace.name == "default"))
            stack_id = connection.scalar(
                select(Stack.id).where(Stack.workspace_id == workspace_id, Stack.name == "default")
            )
            store_id = connection.scalar(
                select(StackComponent.id)
                .join(stack_composition, stack_composition.c.component_id == StackComponent.id)
                .where(stack_composition.c.stack_id == stack_id, StackComponent.type == "artifact_store")
            )
            if None in (user_id, workspace_id, stack_id, store_id):
                raise RuntimeError("seed: the database is not bootstrapped (default user, workspace, stack)")

            # The whole seed lies in the past, one run a second, so that what
            # the clients record later is the newest page.
            now = utcnow().replace(microsecond=0)
            origin = now - timedelta(seconds=runs + 60)
            scoped = {"user_id": user_id, "workspace_id": workspace_id}

            pipeline_id = uuid.uuid4()
            put(connection, Pipeline.__table__, [
                {"id": pipeline_id, "name": PIPELINE_NAME, "description": None,
                 "created": origin, "updated": origin, **scoped},
            ])
            deployment = copy.deepcopy(requests["deployment"])
            deployment_id = uuid.uuid4()
            put(connection, PipelineDeployment.__table__, [{
                "id": deployment_id, "created": origin, "updated": origin, **scoped,
                "run_name_template": deployment["run_name_template"],
                "pipeline_configuration": deployment["pipeline_configuration"],
                "step_configurations": deployment["step_configurations"],
                "client_environment": deployment["client_environment"],
                "client_version": deployment["client_version"],
                "server_version": deployment["server_version"],
                "pipeline_version_hash": deployment["pipeline_version_hash"],
                "pipeline_spec": deployment["pipeline_spec"],
                "code_path": None, "code_reference": None, "code_repository_id": None,
                "stack_id": stack_id, "pipeline_id": pipeline_id,
                "build_id": None, "schedule_id": None, "template_id": None,
            }])
            artifact_ids = {step: uuid.uuid4() for step in STEP_NAMES}
            put(connection, Artifact.__table__, [
                {"id": artifact_ids[step], "name": artifact_name(step), "has_custom_name": False,
                 "created": origin, "updated": origin}
                for step in STEP_NAMES
            ])

        run_request = requests["run"]
        step_request = requests["step"]
        version_request = requests["artifact_version"]
        metadata_request = requests["run_metadata"]
        materializers = {
            step: deployment["step_configurations"][step]["config"]["outputs"]["output"]["materializer_source"][0]
            for step in STEP_NAMES
        }
        caching = {step: deployment["step_configurations"][step]["config"]["caching_parameters"] for step in STEP_NAMES}
        newest_run_id = None
        for chunk in _chunks(runs, CHUNK):
            rows: dict[str, list[dict]] = {name: [] for name in (
                "runs", "steps", "logs", "versions", "outputs", "inputs", "parents", "metadata")}
            for index in chunk:
                created = origin + timedelta(seconds=index + 1)
                run_id = uuid.uuid4()
                newest_run_id = run_id
                rows["runs"].append({
                    "id": run_id, "created": created, "updated": created + timedelta(milliseconds=900), **scoped,
                    "name": f"{PIPELINE_NAME}-{created:%Y_%m_%d-%H_%M_%S_%f}",
                    "status": "completed",
                    "orchestrator_run_id": str(uuid.uuid4()),
                    "start_time": created,
                    "end_time": created + timedelta(milliseconds=900),
                    "client_environment": run_request["client_environment"],
                    "orchestrator_environment": run_request["orchestrator_environment"],
                    "deployment_id": deployment_id, "pipeline_id": pipeline_id,
                    "model_version_id": None, "trigger_execution_id": None,
                })
                step_ids = {}
                version_ids = {}
                for position, step in enumerate(STEP_NAMES):
                    step_start = created + timedelta(milliseconds=50 + 400 * position)
                    step_end = step_start + timedelta(milliseconds=300)
                    step_id = step_ids[step] = uuid.uuid4()
                    rows["steps"].append({
                        "id": step_id, "created": step_start, "updated": step_end, **scoped,
                        "name": step, "status": "completed", "start_time": step_start, "end_time": step_end,
                        "cache_key": uuid.uuid5(run_id, step).hex,
                        "code_hash": caching[step]["step_source"],
                        "docstring": step_request["docstring"],
                        "source_code": step_request["source_code"] if step == "load" else
                        "@step\ndef train(data: list) -> int:\n    return len(data)\n",
                        "pipeline_run_id": run_id, "deployment_id": deployment_id,
                        "original_step_run_id": None, "model_version_id": None,
                    })
                    rows["logs"].append({
                        "id": uuid.uuid4(), "created": step_start, "updated": step_start,
                        "uri": f"/tmp/zenyard-bench/local_stores/{store_id}/{step}/logs/{uuid.uuid4()}.log",
                        "artifact_store_id": store_id, "step_run_id": step_id, "pipeline_run_id": None,
                    })
                    version_id = version_ids[step] = uuid.uuid4()
                    made = step_end - timedelta(milliseconds=100)
                    rows["versions"].append({
                        "id": version_id, "created": made, "updated": made, **scoped,
                        "artifact_id": artifact_ids[step],
                        "version": str(index + 1), "version_number": index + 1,
                        "type": version_request["type"],
                        "uri": f"/tmp/zenyard-bench/local_stores/{store_id}/{step}/output/{step_id}/{index:08x}",
                        "materializer": materializers[step],
                        "data_type": version_request["data_type"] if step == "load" else
                        {"attribute": "int", "module": "builtins", "type": "builtin"},
                        "artifact_store_id": store_id,
                    })
                    rows["outputs"].append({"step_id": step_id, "name": "output",
                                            "artifact_version_id": version_id, "type": "default"})
                    for key, value in metadata_request["values"].items():
                        rows["metadata"].append({
                            "id": uuid.uuid4(), "created": made, "updated": made, **scoped,
                            "resource_id": version_id, "resource_type": "artifact_version",
                            "stack_component_id": None, "key": key, "value": value,
                            "type": metadata_request["types"][key],
                        })
                rows["inputs"].append({"step_id": step_ids["train"], "name": "data",
                                       "artifact_version_id": version_ids["load"], "type": "step_output"})
                rows["parents"].append({"parent_id": step_ids["load"], "child_id": step_ids["train"]})

            # parents before children, as the foreign keys need
            with engine.begin() as connection:
                put(connection, PipelineRun.__table__, rows["runs"])
                put(connection, StepRun.__table__, rows["steps"])
                put(connection, Logs.__table__, rows["logs"])
                put(connection, ArtifactVersion.__table__, rows["versions"])
                put(connection, StepRunOutput.__table__, rows["outputs"])
                put(connection, StepRunInput.__table__, rows["inputs"])
                put(connection, step_run_parents, rows["parents"])
                put(connection, RunMetadata.__table__, rows["metadata"])

        if engine.url.get_backend_name() == "postgresql":
            # The statistics autovacuum would have gathered on a live server
            # after this many inserts. (SQLite gathers none by itself, and
            # Zenyard does not run ANALYZE on it: neither does the bench.)
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()

    return Seeded(
        runs=runs,
        seconds=round(time.perf_counter() - started, 2),
        rows=counts,
        user_id=str(user_id),
        workspace_id=str(workspace_id),
        stack_id=str(stack_id),
        artifact_store_id=str(store_id),
        pipeline_id=str(pipeline_id),
        deployment_id=str(deployment_id),
        artifact_ids={step: str(value) for step, value in artifact_ids.items()},
        newest_run_id=str(newest_run_id) if newest_run_id else None,
    )
