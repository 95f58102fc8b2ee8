"""Pipeline runs and step runs: tables.

A run's status follows its steps; steps link the artifact versions they read
(`step_run_inputs`) and wrote (`step_run_outputs`), and their parents.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Optional

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, Entity, Scoped

step_run_parents = Table(
    "step_run_parents",
    Base.metadata,
    Column("parent_id", ForeignKey("step_runs.id", ondelete="CASCADE"), primary_key=True),
    Column("child_id", ForeignKey("step_runs.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class PipelineRun(Entity, Scoped, Base):
    __tablename__ = "pipeline_runs"
    __table_args__ = (
        UniqueConstraint("deployment_id", "orchestrator_run_id"),
        Index("ix_pipeline_runs_workspace_created", "workspace_id", "created"),
        Index("ix_pipeline_runs_pipeline_created", "pipeline_id", "created"),
    )

    name: Mapped[str] = mapped_column(String(255), unique=True)
    status: Mapped[str] = mapped_column(String(32), index=True)
    orchestrator_run_id: Mapped[Optional[str]] = mapped_column(String(255), nullable=True)
    start_time: Mapped[Optional[datetime]] = mapped_column(nullable=True)
    end_time: Mapped[Optional[datetime]] = mapped_column(nullable=True)
    client_environment: Mapped[dict] = mapped_column(default=dict)
    orchestrator_environment: Mapped[dict] = mapped_column(default=dict)
    deployment_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("pipeline_deployments.id", ondelete="CASCADE"), nullable=True, index=True
    )
    pipeline_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("pipelines.id", ondelete="CASCADE"), nullable=True
    )
    model_version_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("model_versions.id", ondelete="SET NULL", use_alter=True), nullable=True, index=True
    )
    trigger_execution_id: Mapped[Optional[uuid.UUID]] = mapped_column(nullable=True)


class StepRun(Entity, Scoped, Base):
    __tablename__ = "step_runs"
    __table_args__ = (
        UniqueConstraint("pipeline_run_id", "name"),
        Index("ix_step_runs_cache", "cache_key", "status", "created"),
    )

    name: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(32), index=True)
    start_time: Mapped[Optional[datetime]] = mapped_column(nullable=True)
    end_time: Mapped[Optional[datetime]] = mapped_column(nullable=True)
    cache_key: Mapped[Optional[str]] = mapped_column(String(255), nullable=True)
    code_hash: Mapped[Optional[str]] = mapped_column(String(255), nullable=True)
    docstring: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    source_code: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    pipeline_run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pipeline_runs.id", ondelete="CASCADE"))
    deployment_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("pipeline_deployments.id", ondelete="CASCADE"), nullable=True, index=True
    )
    original_step_run_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("step_runs.id", ondelete="SET NULL"), nullable=True
    )
    model_version_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("model_versions.id", ondelete="SET NULL", use_alter=True), nullable=True
    )


class StepRunInput(Base):
    __tablename__ = "step_run_inputs"

    step_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("step_runs.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    artifact_version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("artifact_versions.id", ondelete="CASCADE"), index=True
    )
    # ZenML's StepRunInputArtifactType: step_output, manual, external, lazy_loaded
    type: Mapped[str] = mapped_column(String(32), default="step_output")


class StepRunOutput(Base):
    __tablename__ = "step_run_outputs"

    step_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("step_runs.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    artifact_version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("artifact_versions.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    # ZenML's StepRunOutputArtifactType: default, manual
    type: Mapped[str] = mapped_column(String(32), default="default")


class Logs(Entity, Base):
    __tablename__ = "logs"

    uri: Mapped[str] = mapped_column(Text)
    artifact_store_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("stack_components.id", ondelete="SET NULL"), nullable=True
    )
    step_run_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("step_runs.id", ondelete="CASCADE"), nullable=True, index=True
    )
    pipeline_run_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("pipeline_runs.id", ondelete="CASCADE"), nullable=True, index=True
    )


# --- resources --------------------------------------------------------------
# (presentation batches every relation of a page: a constant number of queries)

import functools  # noqa: E402
from collections import defaultdict  # noqa: E402
from typing import Any  # noqa: E402

from sqlalchemy import bindparam, select, update  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from store.base import utcnow  # noqa: E402
from store.errors import BadRequest, EntityExists, NotFound  # noqa: E402
from store.filtering import FilterField, Kind, parse_bool, parse_uuid  # noqa: E402
from store import records  # noqa: E402
from store.records import fetch, fetch_by_ids, fetch_one  # noqa: E402
from store.resources import Actor, Resource  # noqa: E402



def _deployment_table():
    from store.pipelines import PipelineDeployment

    return PipelineDeployment


def _via_deployment(column_name: str):
    """A run filter on a column of the run's deployment (stack_id, ...)."""

    def condition(op: str, value: str):
        deployment = _deployment_table()
        return PipelineRun.deployment_id.in_(
            select(deployment.id).where(getattr(deployment, column_name) == parse_uuid(value))
        )

    return FilterField(Kind.UUID, None, sortable=False, always=True, custom=condition)


def _pipeline_name(op: str, value: str):
    from store.filtering import _string_condition
    from store.pipelines import Pipeline

    return PipelineRun.pipeline_id.in_(select(Pipeline.id).where(_string_condition(Pipeline.name, op, value)))


def _unlisted(op: str, value: str):
    return PipelineRun.pipeline_id.is_(None) if parse_bool(value) else PipelineRun.pipeline_id.is_not(None)


def _many(present_many, session: Session, rows: list) -> dict:
    """{row.id: presentation} for rows presented in one batch."""
    if not rows:
        return {}
    return {item["id"]: item for item in present_many(session, rows, False)}


class RunResource(Resource):
    noun = "run"
    table = PipelineRun
    tag_type = "pipeline_run"
    reads_records = True
    extra_filters = {
        "orchestrator_run_id": Kind.STRING,
        "pipeline_id": Kind.UUID,
        "deployment_id": Kind.UUID,
        "status": Kind.STRING,
        "start_time": Kind.DATETIME,
        "end_time": Kind.DATETIME,
    }

    def filters(self) -> dict[str, FilterField]:
        fields = super().filters()
        fields["pipeline_name"] = FilterField(Kind.STRING, None, sortable=False, always=True, custom=_pipeline_name)
        fields["unlisted"] = FilterField(Kind.BOOL, None, sortable=False, always=True, custom=_unlisted)
        for name, column in (("stack_id", "stack_id"), ("schedule_id", "schedule_id"), ("build_id", "build_id"),
                             ("code_repository_id", "code_repository_id"), ("template_id", "template_id")):
            fields[name] = _via_deployment(column)
        return fields

    def present(self, row: PipelineRun, hydrate: bool) -> dict:
        from sqlalchemy.orm import object_session

        return self.present_many(object_session(row), [row], hydrate)[0]

    def present_many(self, session: Session, rows: list, hydrate: bool) -> list[dict]:
        from store.pipelines import (
            BUILDS, PIPELINES, SCHEDULES, Pipeline, PipelineBuild, Schedule, code_references,
        )
        from store.stacks import STACKS, Stack
        from store.tags import tags_of

        if not rows:
            return []
        deployment_ids = [r.deployment_id for r in rows if r.deployment_id]
        deployments = {
            d.id: d for d in fetch(session, _run_deployments_query(hydrate), {"ids": list(set(deployment_ids))})
        } if deployment_ids else {}

        def related(table, present_many, attribute, also=(), records=False):
            ids = {getattr(d, attribute) for d in deployments.values() if getattr(d, attribute)} | set(also)
            if records:
                return _many(present_many, session, fetch_by_ids(session, table, ids))
            found = session.scalars(select(table).where(table.id.in_(ids))).unique().all() if ids else []
            return _many(present_many, session, list(found))

        # a run may name its pipeline itself, not only through its deployment
        pipeline_ids = {d.pipeline_id for d in deployments.values() if d.pipeline_id}
        pipeline_ids |= {r.pipeline_id for r in rows if r.pipeline_id}
        ids = [r.id for r in rows]
        # the runs' tags (hydrated) and their pipelines' tags in one query
        tags = tags_of(session, {"pipeline": list(pipeline_ids), "pipeline_run": ids if hydrate else []})
        pipelines = related(Pipeline, lambda s, found, h: PIPELINES.present_many(s, found, h, tags=tags["pipeline"]),
                            "pipeline_id", also=pipeline_ids, records=True)
        # a run shows its stack unhydrated: without the stack's components
        stacks = related(Stack, STACKS.present_many, "stack_id", records=True)
        references = code_references(session, deployments.values())
        builds = related(PipelineBuild, BUILDS.present_many, "build_id")
        schedules = related(Schedule, SCHEDULES.present_many, "schedule_id")

        steps_by_run: dict = defaultdict(dict)
        run_metadata: dict = {}
        model_versions: dict = {}
        if hydrate:
            from store.artifacts import run_metadata_for

            steps = fetch_by_ids(session, StepRun, ids, "pipeline_run_id", ("created",))
            for step, presented in zip(steps, STEPS.present_many(session, steps, False)):
                steps_by_run[step.pipeline_run_id][step.name] = presented
            run_metadata = run_metadata_for(session, "pipeline_run", ids)
            model_versions = _model_versions(session, {r.model_version_id for r in rows if r.model_version_id})

        answers = []
        for run in rows:
            deployment = deployments.get(run.deployment_id)
            answer = Resource.present(self, run, hydrate)
            answer["body"].update(
                status=run.status,
                stack=stacks.get(deployment.stack_id) if deployment else None,
                pipeline=pipelines.get(run.pipeline_id) or (pipelines.get(deployment.pipeline_id) if deployment else None),
                build=builds.get(deployment.build_id) if deployment else None,
                schedule=schedules.get(deployment.schedule_id) if deployment else None,
                code_reference=references.get(deployment.id) if deployment else None,
                deployment_id=run.deployment_id,
                trigger_execution=None,
                model_version_id=run.model_version_id,
            )
            if hydrate:
                answer["metadata"].update(
                    run_metadata=run_metadata.get(run.id, {}),
                    steps=steps_by_run[run.id],
                    config=deployment.pipeline_configuration if deployment else {},
                    start_time=run.start_time,
                    end_time=run.end_time,
                    client_environment=(deployment.client_environment if deployment else None) or {},
                    orchestrator_environment=run.orchestrator_environment or {},
                    orchestrator_run_id=run.orchestrator_run_id,
                    code_path=deployment.code_path if deployment else None,
                    template_id=deployment.template_id if deployment else None,
                )
                answer["resources"] = {
                    "model_version": model_versions.get(run.model_version_id),
                    "tags": tags["pipeline_run"].get(run.id, []),
                }
            answers.append(answer)
        return answers

    def build(self, session: Session, data: dict, actor: Actor) -> PipelineRun:
        deployment = _deployment_table()
        found = data.get("deployment") is not None and session.scalar(
            select(deployment.id).where(deployment.id == data["deployment"])
        )
        if not found:
            raise NotFound(f"Unable to get deployment with ID '{data.get('deployment')}': not found.")
        row = super().build(session, data, actor)
        row.deployment_id = data["deployment"]
        row.pipeline_id = data.get("pipeline")
        row.orchestrator_environment = data.get("orchestrator_environment") or {}
        row.client_environment = data.get("client_environment") or {}
        return row

    def check_unique(self, session: Session, row: PipelineRun, action: str) -> None:
        with session.no_autoflush:
            clash = session.scalar(
                select(PipelineRun.id).where(PipelineRun.name == row.name, PipelineRun.id != row.id if row.id else True)
            )
        if clash is not None:
            raise EntityExists(
                f"Unable to create pipeline run: A pipeline run with name '{row.name}' already exists."
            )



@functools.cache
def _run_deployments_query(hydrate: bool):
    """The deployment columns a run's presentation shows: never the step
    configurations; the pipeline configuration and client environment
    only hydrated."""
    table = _deployment_table().__table__
    skipped = {"step_configurations"} | (set() if hydrate else {"pipeline_configuration", "client_environment"})
    return select(*(c for c in table.columns if c.key not in skipped)).where(
        table.c.id.in_(bindparam("ids", expanding=True))
    )


def _model_versions(session: Session, ids: set) -> dict:
    if not ids:
        return {}
    from store.model_registry import MODEL_VERSIONS, ModelVersion

    rows = session.scalars(select(ModelVersion).where(ModelVersion.id.in_(ids))).unique().all()
    return _many(MODEL_VERSIONS.present_many, session, list(rows))


RUNS = RunResource()


def step_configurations_of(session: Session, deployment_ids) -> dict:
    """{deployment id: its step configurations}. A deployment never changes
    (ZenML's deployments are immutable), so each process loads a
    deployment's configurations once: every step presentation needs them."""
    wanted = {i for i in deployment_ids if i is not None}
    missing = [i for i in wanted if i not in _STEP_CONFIGURATIONS]
    if missing:
        deployment = _deployment_table()
        loaded = session.execute(
            select(deployment.id, deployment.step_configurations).where(deployment.id.in_(missing))
        ).all()
        if len(_STEP_CONFIGURATIONS) + len(loaded) > 256:
            _STEP_CONFIGURATIONS.clear()
        for deployment_id, configurations in loaded:
            _STEP_CONFIGURATIONS[deployment_id] = configurations or {}
    return {i: _STEP_CONFIGURATIONS[i] for i in wanted if i in _STEP_CONFIGURATIONS}


def _steps_in_deployment(session: Session, deployment_id) -> int:
    return len(step_configurations_of(session, [deployment_id]).get(deployment_id) or {})


_STEP_CONFIGURATIONS: dict = {}


def run_status(step_statuses: list[str], steps_expected: int) -> str:
    """ZenML's rule: any failed step fails the run; it runs until every
    step of the deployment has a terminal status."""
    if "failed" in step_statuses:
        return "failed"
    if "running" in step_statuses or len(step_statuses) < steps_expected:
        return "running"
    return "completed"


_RUN_STATUS_FOR_UPDATE = (
    select(PipelineRun.status, PipelineRun.deployment_id).where(PipelineRun.id == bindparam("id")).with_for_update()
)
_STEP_STATUSES = select(StepRun.status).where(StepRun.pipeline_run_id == bindparam("id"))


def refresh_run_status(session: Session, run_id) -> None:
    """Make the run's status follow its steps (serialised per run)."""
    # lock the run row itself (columns only: PostgreSQL refuses FOR UPDATE on outer joins)
    connection = records.connection(session)
    current, deployment_id = connection.execute(_RUN_STATUS_FOR_UPDATE, {"id": run_id}).one()
    statuses = list(connection.execute(_STEP_STATUSES, {"id": run_id}).scalars())
    expected = _steps_in_deployment(session, deployment_id) if deployment_id else len(statuses)
    status = run_status(statuses, expected)
    if status != current:
        values = {"status": status}
        if status in ("completed", "failed"):
            values["end_time"] = utcnow()
        connection.execute(update(PipelineRun.__table__).where(PipelineRun.__table__.c.id == run_id), values)
        if status in ("completed", "failed"):
            from store.server import record_onboarding_in

            record_onboarding_in(session, ("pipeline_run", "starter_setup_completed"))


# --- steps -------------------------------------------------------------------


class StepResource(Resource):
    noun = "step run"
    table = StepRun
    reads_records = True
    extra_filters = {
        "code_hash": Kind.STRING,
        "cache_key": Kind.STRING,
        "status": Kind.STRING,
        "start_time": Kind.DATETIME,
        "end_time": Kind.DATETIME,
        "pipeline_run_id": Kind.UUID,
        "original_step_run_id": Kind.UUID,
    }

    def not_found(self, name_or_id: Any) -> NotFound:
        return NotFound(f"Unable to get step run with ID {name_or_id}: No step run with this ID found.")

    def present(self, row: StepRun, hydrate: bool) -> dict:
        from sqlalchemy.orm import object_session

        return self.present_many(object_session(row), [row], hydrate)[0]

    def present_many(self, session: Session, rows: list, hydrate: bool) -> list[dict]:
        from store.artifacts import ARTIFACT_VERSIONS, fetch_versions

        if not rows:
            return []
        ids = [r.id for r in rows]
        inputs = fetch_by_ids(session, StepRunInput, ids, "step_id")
        outputs = fetch_by_ids(session, StepRunOutput, ids, "step_id")
        versions = fetch_versions(session, {link.artifact_version_id for link in [*inputs, *outputs]})
        presented = _many(ARTIFACT_VERSIONS.present_many, session, versions)
        ins: dict = defaultdict(dict)
        outs: dict = defaultdict(dict)
        for link in inputs:
            ins[link.step_id][link.name] = presented.get(link.artifact_version_id)
        for link in outputs:
            outs[link.step_id][link.name] = presented.get(link.artifact_version_id)

        configurations: dict = {}
        logs: dict = {}
        parents: dict = defaultdict(list)
        run_metadata: dict = {}
        model_versions: dict = {}
        if hydrate:
            from store.artifacts import run_metadata_for

            configurations = step_configurations_of(session, (r.deployment_id for r in rows))
            for entry in fetch_by_ids(session, Logs, ids, "step_run_id"):
                logs[entry.step_run_id] = entry
            for parent_id, child_id in session.execute(
                select(step_run_parents.c.parent_id, step_run_parents.c.child_id).where(step_run_parents.c.child_id.in_(ids))
            ).all():
                parents[child_id].append(parent_id)
            run_metadata = run_metadata_for(session, "step_run", ids)
            model_versions = _model_versions(session, {r.model_version_id for r in rows if r.model_version_id})

        answers = []
        for step in rows:
            answer = Resource.present(self, step, hydrate)
            answer["body"].update(
                status=step.status,
                inputs={k: v for k, v in ins[step.id].items() if v is not None},
                outputs={k: v for k, v in outs[step.id].items() if v is not None},
                model_version_id=step.model_version_id,
            )
            if hydrate:
                configuration = (configurations.get(step.deployment_id) or {}).get(step.name) or {}
                answer["metadata"].update(
                    config=configuration.get("config") or {"name": step.name},
                    spec=configuration.get("spec") or {},
                    cache_key=step.cache_key,
                    code_hash=step.code_hash,
                    docstring=step.docstring,
                    source_code=step.source_code,
                    start_time=step.start_time,
                    end_time=step.end_time,
                    logs=_present_logs(logs.get(step.id)),
                    deployment_id=step.deployment_id,
                    pipeline_run_id=step.pipeline_run_id,
                    original_step_run_id=step.original_step_run_id,
                    parent_step_ids=parents[step.id],
                    run_metadata=run_metadata.get(step.id, {}),
                )
                answer["resources"] = {"model_version": model_versions.get(step.model_version_id)}
            answers.append(answer)
        return answers


def _present_logs(entry: Logs | None) -> dict | None:
    if entry is None:
        return None
    return {
        "id": entry.id,
        "permission_denied": False,
        "body": {"created": entry.created, "updated": entry.updated, "uri": entry.uri},
        "metadata": {
            "step_run_id": entry.step_run_id,
            "pipeline_run_id": entry.pipeline_run_id,
            "artifact_store_id": entry.artifact_store_id,
        },
        "resources": None,
    }


STEPS = StepResource()


# --- use cases ---------------------------------------------------------------


@functools.cache
def _versions_found_query():
    from store.artifacts import ArtifactVersion

    return select(ArtifactVersion.id).where(ArtifactVersion.id.in_(bindparam("ids", expanding=True)))


_INPUT_NAMES = select(StepRunInput.name).where(StepRunInput.step_id == bindparam("id"))
_OUTPUT_VERSIONS = select(StepRunOutput.artifact_version_id).where(StepRunOutput.step_id == bindparam("id"))


def _input_links(session: Session, step_id, artifacts: dict, kind: str, new_step: bool = False) -> list:
    """The input links to add (checked, not added)."""
    if not artifacts:
        return []
    connection = records.connection(session)
    found = set(connection.execute(_versions_found_query(), {"ids": list(artifacts.values())}).scalars())
    existing = set() if new_step else set(connection.execute(_INPUT_NAMES, {"id": step_id}).scalars())
    links = []
    for name, version_id in artifacts.items():
        if version_id not in found:
            raise NotFound(f"Unable to set input artifact: No artifact with ID '{version_id}' found.")
        if name not in existing:
            links.append(StepRunInput(step_id=step_id, name=name, artifact_version_id=version_id, type=kind))
    return links


def _output_links(session: Session, step_id, artifacts: dict, kind: str, new_step: bool = False,
                  pending: list = ()) -> list:
    """The output links to add (checked, not added), beyond those `pending`."""
    if not artifacts:
        return []
    connection = records.connection(session)
    found = set(connection.execute(_versions_found_query(), {"ids": list(artifacts.values())}).scalars())
    existing = set() if new_step else set(connection.execute(_OUTPUT_VERSIONS, {"id": step_id}).scalars())
    existing |= {link.artifact_version_id for link in pending}
    links = []
    for name, version_id in artifacts.items():
        if version_id not in found:
            raise NotFound(f"Unable to set output artifact: No artifact with ID '{version_id}' found.")
        if version_id not in existing:
            links.append(StepRunOutput(step_id=step_id, name=name, artifact_version_id=version_id, type=kind))
            existing.add(version_id)
    return links


def create_step(db, data: dict, actor: Actor) -> dict:
    """`POST /steps`: record a step of a run, its links and its logs.

    Everything is checked before the first write: on SQLite the first
    INSERT takes the database's write lock, held until the commit."""
    with db.unit_of_work() as session:
        run = records.connection(session).execute(_RUN_OF_STEP, {"id": data["pipeline_run_id"]}).first()
        if run is None:
            raise NotFound(
                f"Unable to create step `{data['name']}`: No pipeline run with ID '{data['pipeline_run_id']}' found."
            )
        clash = records.connection(session).execute(_STEP_NAMED, {"run": run.id, "name": data["name"]}).first()
        if clash is not None:
            raise EntityExists(
                f"Unable to create step `{data['name']}`: A step with this name already exists in the "
                f"pipeline run with ID '{run.id}'."
            )
        step = STEPS.build(session, data, actor)
        step.id = uuid.uuid4()
        step.deployment_id = data.get("deployment") or run.deployment_id
        parent_ids = data.get("parent_step_ids") or []
        if parent_ids:
            known = set(records.connection(session).execute(_STEPS_FOUND, {"ids": parent_ids}).scalars())
            for parent_id in parent_ids:
                if parent_id not in known:
                    raise NotFound(f"Unable to set parent step for step with ID {step.id}: No parent step with ID {parent_id} found.")
        # a step created now has no links yet
        links = [
            *_input_links(session, step.id, data.get("inputs") or {}, "step_output", new_step=True),
            *_output_links(session, step.id, data.get("outputs") or {}, "default", new_step=True),
        ]
        session.add(step)
        session.flush()
        logs = data.get("logs")
        if logs:
            store_id = logs.get("artifact_store_id")
            session.add(Logs(uri=logs["uri"], step_run_id=step.id,
                             artifact_store_id=parse_uuid(store_id) if store_id else None))
        for parent_id in parent_ids:
            session.execute(step_run_parents.insert().values(parent_id=parent_id, child_id=step.id))
        session.add_all(links)
        if step.status != "running":
            session.flush()
            refresh_run_status(session, run.id)
        step_id = step.id
    return present_step(db, step_id)


def update_step(db, step_id, data: dict, actor: Actor) -> dict:
    """`PUT /steps/{id}`: status, end time, outputs; the run follows."""
    with db.unit_of_work() as session:
        step = records.connection(session).execute(_STEP_TO_UPDATE, {"id": step_id}).first()
        if step is None:
            raise NotFound(f"Unable to update step with ID {step_id}: No step with this ID found.")
        # checked before the first write (SQLite's write lock is held from there to the commit)
        links = _output_links(session, step.id, data.get("outputs") or {}, "default")
        links += _output_links(session, step.id, data.get("saved_artifact_versions") or {}, "manual", pending=links)
        links += _input_links(session, step.id, data.get("loaded_artifact_versions") or {}, "manual")
        values = {"updated": utcnow()}
        if data.get("status") is not None:
            values["status"] = data["status"]
        if data.get("end_time") is not None:
            values["end_time"] = data["end_time"]
        if data.get("model_version_id") and step.model_version_id is None:
            values["model_version_id"] = data["model_version_id"]
        session.add_all(links)
        session.flush()
        records.connection(session).execute(update(StepRun.__table__).where(StepRun.__table__.c.id == step.id), values)
        refresh_run_status(session, step.pipeline_run_id)
        step_id = step.id
    return present_step(db, step_id)


# the unit of work's look-ups, built once: columns over the session's connection
_RUN_OF_STEP = select(PipelineRun.id, PipelineRun.deployment_id).where(PipelineRun.id == bindparam("id"))
_STEP_TO_UPDATE = select(StepRun.id, StepRun.pipeline_run_id, StepRun.model_version_id).where(
    StepRun.id == bindparam("id")
)
_STEP_NAMED = select(StepRun.id).where(StepRun.pipeline_run_id == bindparam("run"), StepRun.name == bindparam("name"))
_STEPS_FOUND = select(StepRun.id).where(StepRun.id.in_(bindparam("ids", expanding=True)))
_RUN_TO_UPDATE = select(PipelineRun.id, PipelineRun.model_version_id).where(PipelineRun.id == bindparam("id"))


def create_run(db, workspace, data: dict, actor: Actor) -> dict:
    from store.crud import create_in_workspace

    return create_in_workspace(db, RUNS, workspace, data, actor)


def get_or_create_run(db, workspace, data: dict, actor: Actor) -> list:
    """`POST .../runs/get-or-create`: replace the deployment's placeholder
    run, or create the run, or return the one an earlier call created;
    answers `[run, created]`."""
    if not data.get("orchestrator_run_id"):
        raise BadRequest("Unable to get or create run for request with missing orchestrator run ID.")
    try:
        run_id, created = _get_or_create_run(db, workspace, data, actor)
    except EntityExists:
        # another process created it between our look-up and our insert
        with db.reading() as session:
            run_id = _run_of_orchestrator(session, data["deployment"], data["orchestrator_run_id"])
        if run_id is None:
            raise
        created = False
    return [present_run(db, run_id), created]


def _get_or_create_run(db, workspace, data: dict, actor: Actor) -> tuple:
    """(run id, created) of `get_or_create_run`, in one unit of work."""
    from store.errors import IllegalOperation
    from store.tags import attach_tags
    from store.workspaces import find_workspace

    with db.unit_of_work() as session:
        workspace_id = find_workspace(session, workspace).id
        placeholder_id = session.scalar(
            select(PipelineRun.id).with_for_update().where(
                PipelineRun.deployment_id == data["deployment"],
                PipelineRun.orchestrator_run_id.is_(None),
                PipelineRun.workspace_id == workspace_id,
            ).limit(1)
        )
        placeholder = session.get(PipelineRun, placeholder_id) if placeholder_id else None
        if placeholder is not None:
            if placeholder.status != "initializing":
                raise BadRequest(f"Unable to replace pipeline run {placeholder.id} which is not a placeholder run.")
            if placeholder.pipeline_id != data.get("pipeline"):
                raise BadRequest(
                    "Deployment or orchestrator run ID of placeholder run do not match the IDs of the run request."
                )
            placeholder.orchestrator_run_id = data["orchestrator_run_id"]
            placeholder.orchestrator_environment = data.get("orchestrator_environment") or {}
            placeholder.status = data["status"]
            placeholder.updated = utcnow()
            attach_tags(session, "pipeline_run", placeholder.id, data.get("tags"))
            return placeholder.id, True
        existing = _run_of_orchestrator(session, data["deployment"], data["orchestrator_run_id"])
        if existing is not None:
            return existing, False
        # as `crud.create_in_workspace`: the body's workspace must be the URL's
        if data.get("workspace") is None:
            data = {**data, "workspace": workspace_id}
        elif data["workspace"] != workspace_id:
            raise IllegalOperation(
                f"The workspace of the {RUNS.noun} ({data['workspace']}) does not "
                f"match the workspace of the URL ({workspace_id})."
            )
        RUNS.authorize("create", actor, None)
        row = RUNS.build(session, data, actor)
        RUNS.check_unique(session, row, "create")
        session.add(row)
        session.flush()
        attach_tags(session, "pipeline_run", row.id, data.get("tags"))
        RUNS.after_create(session, row, actor)
        return row.id, True


def _run_of_orchestrator(session: Session, deployment_id, orchestrator_run_id):
    return session.scalar(
        select(PipelineRun.id).where(
            PipelineRun.deployment_id == deployment_id, PipelineRun.orchestrator_run_id == orchestrator_run_id
        ).limit(1)
    )


def update_run(db, run_id, data: dict, actor: Actor) -> dict:
    from store.tags import attach_tags, detach_tags

    with db.unit_of_work() as session:
        run = records.connection(session).execute(_RUN_TO_UPDATE, {"id": run_id}).first()
        if run is None:
            raise NotFound(f"Unable to update pipeline run with ID {run_id}: No pipeline run with this ID found.")
        attach_tags(session, "pipeline_run", run.id, data.get("add_tags"))
        detach_tags(session, "pipeline_run", run.id, data.get("remove_tags"))
        values = {"updated": utcnow()}
        if data.get("status"):
            values.update(status=data["status"], end_time=data.get("end_time"))
        if data.get("model_version_id") and run.model_version_id is None:
            values["model_version_id"] = data["model_version_id"]
        records.connection(session).execute(update(PipelineRun.__table__).where(PipelineRun.__table__.c.id == run.id), values)
        run_id = run.id
    return present_run(db, run_id)


def present_run(db, run_id) -> dict:
    """A run as the write use cases answer it: hydrated, read after their
    commit (presenting inside the unit of work would hold SQLite's write
    lock for as long as the presentation's queries take)."""
    with db.reading() as session:
        return RUNS.present_many(session, [fetch_one(session, PipelineRun, run_id)], True)[0]


def present_step(db, step_id) -> dict:
    """A step as the write use cases answer it: hydrated, read after their commit."""
    with db.reading() as session:
        return STEPS.present_many(session, [fetch_one(session, StepRun, step_id)], True)[0]


def run_field(db, run_id, field: str) -> Any:
    """A single field of a run: its status, or its pipeline configuration."""
    with db.reading() as session:
        run = session.get(PipelineRun, run_id)
        if run is None:
            raise RUNS.not_found(run_id)
        if field == "status":
            return run.status
        deployment = session.get(_deployment_table(), run.deployment_id) if run.deployment_id else None
        return deployment.pipeline_configuration if deployment else {}


def step_field(db, step_id, field: str) -> Any:
    with db.reading() as session:
        step = session.get(StepRun, step_id)
        if step is None:
            raise STEPS.not_found(step_id)
        if field == "status":
            return step.status
        configurations = step_configurations_of(session, [step.deployment_id]).get(step.deployment_id) or {}
        return configurations.get(step.name) or {}


def step_logs_location(db, step_id) -> tuple[str, Any]:
    """(uri, artifact store id) of a step's logs, or NotFound."""
    with db.reading() as session:
        step = session.get(StepRun, step_id)
        if step is None:
            raise STEPS.not_found(step_id)
        entry = session.scalars(select(Logs).where(Logs.step_run_id == step_id)).first()
        if entry is None:
            raise NotFound("No logs available for this step")
        return entry.uri, entry.artifact_store_id
