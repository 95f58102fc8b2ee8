"""Pipelines, builds, deployments, schedules and run templates: tables, resources, use cases."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store import records
from store.base import Base, Entity, Scoped


class Pipeline(Entity, Scoped, Base):
    __tablename__ = "pipelines"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    name: Mapped[str] = mapped_column(String(255), index=True)
    description: Mapped[Optional[str]] = mapped_column(Text, nullable=True)


class PipelineBuild(Entity, Scoped, Base):
    __tablename__ = "pipeline_builds"

    images: Mapped[dict] = mapped_column(default=dict)
    is_local: Mapped[bool] = mapped_column(default=False)
    contains_code: Mapped[bool] = mapped_column(default=False)
    zenml_version: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    python_version: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    checksum: Mapped[Optional[str]] = mapped_column(String(255), nullable=True, index=True)
    stack_checksum: Mapped[Optional[str]] = mapped_column(String(255), nullable=True)
    stack_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("stacks.id", ondelete="SET NULL"), nullable=True, index=True
    )
    pipeline_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("pipelines.id", ondelete="SET NULL"), nullable=True, index=True
    )


class Schedule(Entity, Scoped, Base):
    __tablename__ = "schedules"

    name: Mapped[str] = mapped_column(String(255), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    cron_expression: Mapped[Optional[str]] = mapped_column(String(255), nullable=True)
    start_time: Mapped[Optional[datetime]] = mapped_column(nullable=True)
    end_time: Mapped[Optional[datetime]] = mapped_column(nullable=True)
    interval_second: Mapped[Optional[float]] = mapped_column(nullable=True)
    catchup: Mapped[bool] = mapped_column(default=False)
    run_once_start_time: Mapped[Optional[datetime]] = mapped_column(nullable=True)
    orchestrator_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("stack_components.id", ondelete="SET NULL"), nullable=True, index=True
    )
    pipeline_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("pipelines.id", ondelete="CASCADE"), nullable=True, index=True
    )


class PipelineDeployment(Entity, Scoped, Base):
    __tablename__ = "pipeline_deployments"

    run_name_template: Mapped[str] = mapped_column(Text)
    pipeline_configuration: Mapped[dict] = mapped_column(default=dict)
    step_configurations: Mapped[dict] = mapped_column(default=dict)
    client_environment: Mapped[dict] = mapped_column(default=dict)
    client_version: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    server_version: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    pipeline_version_hash: Mapped[Optional[str]] = mapped_column(String(255), nullable=True)
    pipeline_spec: Mapped[Optional[dict]] = mapped_column(nullable=True)
    code_path: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    # {"commit": ..., "subdirectory": ..., "code_repository": id} as the client sends it
    code_reference: Mapped[Optional[dict]] = mapped_column(nullable=True)
    code_repository_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("code_repositories.id", ondelete="SET NULL"), nullable=True, index=True
    )
    stack_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("stacks.id", ondelete="SET NULL"), nullable=True, index=True
    )
    pipeline_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("pipelines.id", ondelete="CASCADE"), nullable=True, index=True
    )
    build_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("pipeline_builds.id", ondelete="SET NULL"), nullable=True, index=True
    )
    schedule_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("schedules.id", ondelete="SET NULL"), nullable=True, index=True
    )
    template_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("run_templates.id", ondelete="SET NULL", use_alter=True), nullable=True, index=True
    )


class RunTemplate(Entity, Scoped, Base):
    __tablename__ = "run_templates"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    name: Mapped[str] = mapped_column(String(255), index=True)
    description: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    source_deployment_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("pipeline_deployments.id", ondelete="SET NULL", use_alter=True), nullable=True, index=True
    )


# --- resources and use cases -----------------------------------------------
#
# ZenML's rules kept here: a pipeline's and a run template's name are unique
# within a workspace; builds and deployments are immutable; deleting a
# pipeline keeps its runs, deployments and builds (their pipeline becomes
# empty) and takes its schedules; a run template needs a deployment with a
# build whose stack runs remotely. Nested objects of a page load in one query
# per relation (`present_many`); `present` is the one-row case of it.

import functools  # noqa: E402
import re  # noqa: E402
from datetime import timedelta, timezone  # noqa: E402
from typing import Any, Iterable  # noqa: E402

from sqlalchemy import and_, bindparam, func, select, update  # noqa: E402
from sqlalchemy.orm import Session, defer, object_session  # noqa: E402

from store.base import utcnow  # noqa: E402
from store.crud import find_row  # noqa: E402
from store.db import Database  # noqa: E402
from store.errors import BadRequest, EntityExists, InvalidInput, NotFound  # noqa: E402
from store.filtering import FilterField, Kind, ListParams, parse_uuid  # noqa: E402
from store.resources import Actor, Resource  # noqa: E402
from store.tags import tags_for  # noqa: E402
from store.workspaces import STATISTICS  # noqa: E402

#: Deployment request fields stored as the client sent them: the contract's
#: schemas of these drop what they do not list (settings, source extras), so
#: the validated copy of the request is not faithful.
VERBATIM_DEPLOYMENT_FIELDS = ("pipeline_configuration", "step_configurations", "client_environment", "pipeline_spec")


def _load(session: Session, table, ids: Iterable, *options) -> dict:
    """{id: row} of `table` for `ids`, in one query."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    query = select(table).where(table.id.in_(wanted)).options(*options)
    return {row.id: row for row in session.scalars(query).unique()}


def _presented(resource, session: Session, rows: dict) -> dict:
    """{id: non-hydrated presentation} of rows of another resource."""
    items = list(rows.values())
    return {row.id: item for row, item in zip(items, resource.present_many(session, items, False))}


def _require(session: Session, table, value: Any, noun: str) -> Any:
    if value is not None and session.get(table, value) is None:
        raise NotFound(f"Unable to get {noun} with ID '{value}': No {noun} with this ID found.")
    return value


def naive_utc(value):
    if value is not None and value.tzinfo is not None:
        return value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def _latest_runs(session: Session, owner, key, ids: Iterable, through_deployment: bool = False) -> dict:
    """{owner id: (run id, status)} of the newest run of each owner (a
    pipeline, or a template through the runs' deployments), in one query:
    an index seek per owner, not an aggregate over all its runs."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    query = _latest_runs_query(owner, key, through_deployment)
    rows = records.connection(session).execute(query, {"ids": list(wanted)})
    return {found: (run_id, status) for found, run_id, status in rows}


@functools.cache
def _latest_runs_query(owner, key, through_deployment: bool):
    # built once per owner: every run presentation nests its pipeline
    from store.runs import PipelineRun

    newest = select(PipelineRun.id)
    if through_deployment:
        newest = newest.join(PipelineDeployment, PipelineRun.deployment_id == PipelineDeployment.id)
    newest = (
        newest.where(key == owner.id)
        .order_by(PipelineRun.created.desc(), PipelineRun.id.desc())
        .limit(1)
        .correlate(owner)
        .scalar_subquery()
    )
    query = select(owner.id, PipelineRun.id, PipelineRun.status).join(PipelineRun, PipelineRun.id == newest)
    return query.where(owner.id.in_(bindparam("ids", expanding=True)))


class _Batched(Resource):
    """A resource whose presentation needs related rows: loaded per page."""

    def present(self, row: Any, hydrate: bool) -> dict:
        return self.present_many(object_session(row), [row], hydrate)[0]

    def present_many(self, session: Session, rows: list, hydrate: bool) -> list[dict]:
        if not rows:
            return []
        related = self.related(session, rows, hydrate)
        return [self.compose(row, hydrate, related) for row in rows]

    def related(self, session: Session, rows: list, hydrate: bool) -> dict:
        return {}

    def compose(self, row: Any, hydrate: bool, related: dict) -> dict:
        return Resource.present(self, row, hydrate)


class _Tagged(_Batched):
    """Pipelines and run templates: their tags in the resources of every
    answer, as ZenML lists them (tags are written by the generic use
    cases, see `Resource.tag_type`)."""

    tag_type: str

    def present_many(self, session: Session, rows: list, hydrate: bool, tags: dict | None = None) -> list[dict]:
        """`tags`: the rows' tags when the caller loaded them already
        (a run loads its own and its pipeline's in one query)."""
        if not rows:
            return []
        related = self.related(session, rows, hydrate, tags)
        return [self.compose(row, hydrate, related) for row in rows]

    def related(self, session: Session, rows: list, hydrate: bool, tags: dict | None = None) -> dict:
        if tags is None:
            tags = tags_for(session, self.tag_type, [r.id for r in rows])
        return {"tags": tags}

    def compose(self, row: Any, hydrate: bool, related: dict) -> dict:
        answer = Resource.present(self, row, hydrate)
        answer["resources"] = {"tags": related["tags"].get(row.id, [])}
        return answer

    def apply(self, session: Session, row: Any, data: dict, actor: Actor) -> None:
        super().apply(session, row, data, actor)
        row.updated = utcnow()  # ZenML marks an update even when only tags change


# --- pipelines -------------------------------------------------------------


class PipelineResource(_Tagged):
    noun = "pipeline"
    table = Pipeline
    tag_type = "pipeline"

    def sorts(self) -> dict[str, Any]:
        from store.runs import PipelineRun

        sorts = super().sorts()
        # ZenML's `latest_run`: the newest run's time, or the pipeline's own
        # when it has none (so new pipelines do not all sort first or last)
        newest = (
            select(func.max(PipelineRun.created)).where(PipelineRun.pipeline_id == Pipeline.id)
            .correlate(Pipeline).scalar_subquery()
        )
        sorts["latest_run"] = func.coalesce(newest, Pipeline.created)
        return sorts

    def related(self, session: Session, rows: list, hydrate: bool, tags: dict | None = None) -> dict:
        from store.runs import PipelineRun

        related = super().related(session, rows, hydrate, tags)
        related["latest"] = _latest_runs(session, Pipeline, PipelineRun.pipeline_id, [r.id for r in rows])
        return related

    def compose(self, row: Pipeline, hydrate: bool, related: dict) -> dict:
        answer = super().compose(row, hydrate, related)
        run_id, status = related["latest"].get(row.id, (None, None))
        answer["body"].update(latest_run_id=run_id, latest_run_status=status)
        if hydrate:
            answer["metadata"]["description"] = row.description
        return answer

    def check_unique(self, session: Session, row: Pipeline, action: str) -> None:
        try:
            super().check_unique(session, row, action)
        except EntityExists:
            raise EntityExists(
                f"Unable to {action} pipeline in workspace '{row.workspace_id}': "
                "A pipeline with this name already exists."
            ) from None

    def before_delete(self, session: Session, row: Pipeline, actor: Actor) -> None:
        from store.runs import PipelineRun

        super().before_delete(session, row, actor)
        # ZenML keeps the runs and deployments of a deleted pipeline (their
        # pipeline becomes empty); the foreign keys of those tables cascade,
        # so they are let go of first. Builds let go by themselves; schedules
        # go with the pipeline, as in ZenML.
        for table in (PipelineRun, PipelineDeployment):
            session.execute(update(table).where(table.pipeline_id == row.id).values(pipeline_id=None))


PIPELINES = PipelineResource()
STATISTICS["pipelines"] = lambda session, workspace_id: session.scalar(
    select(func.count()).select_from(Pipeline).where(Pipeline.workspace_id == workspace_id)
) or 0


def list_pipeline_runs(db: Database, pipeline: Any, params: ListParams, actor: Actor) -> dict:
    """`GET /pipelines/{id}/runs`: the runs of one pipeline, filtered as runs are.

    The query is checked first (422, and 400 past the last page), as ZenML
    validates it before the route runs; an empty page then tells whether the
    pipeline exists (404)."""
    from store import crud
    from store.resources import as_uuid
    from store.runs import RUNS

    pipeline_id = as_uuid(pipeline)
    if pipeline_id is None:  # a name
        with db.reading() as session:
            pipeline_id = find_row(session, PIPELINES, pipeline).id
    page = crud.list_entities(db, RUNS, params, actor, scope={"pipeline_id": pipeline_id})
    if not page["total"]:
        with db.reading() as session:
            find_row(session, PIPELINES, pipeline_id)
    return page


# --- builds ----------------------------------------------------------------


class BuildResource(_Batched):
    noun = "build"
    table = PipelineBuild
    unique = ()
    extra_filters = {
        "pipeline_id": Kind.UUID, "stack_id": Kind.UUID, "is_local": Kind.BOOL, "contains_code": Kind.BOOL,
        "zenml_version": Kind.STRING, "python_version": Kind.STRING, "checksum": Kind.STRING,
    }

    def related(self, session: Session, rows: list, hydrate: bool) -> dict:
        if not hydrate:
            return {}
        from store.stacks import STACKS, Stack

        return {
            "pipelines": _presented(PIPELINES, session, _load(session, Pipeline, (r.pipeline_id for r in rows))),
            "stacks": _presented(STACKS, session, _load(session, Stack, (r.stack_id for r in rows))),
        }

    def compose(self, row: PipelineBuild, hydrate: bool, related: dict) -> dict:
        answer = Resource.present(self, row, hydrate)
        if hydrate:
            answer["metadata"].update(
                pipeline=related["pipelines"].get(row.pipeline_id),
                stack=related["stacks"].get(row.stack_id),
                images=row.images or {},
                zenml_version=row.zenml_version,
                python_version=row.python_version,
                checksum=row.checksum,
                stack_checksum=row.stack_checksum,
                is_local=row.is_local,
                contains_code=row.contains_code,
            )
        return answer

    def build(self, session: Session, data: dict, actor: Actor) -> PipelineBuild:
        from store.stacks import Stack

        row = super().build(session, data, actor)
        row.images = {key: _build_item(key, item) for key, item in (data.get("images") or {}).items()}
        row.stack_id = _require(session, Stack, data.get("stack"), "stack")
        row.pipeline_id = _require(session, Pipeline, data.get("pipeline"), "pipeline")
        return row


def _build_item(key: str, item: Any) -> dict:
    """A BuildItem with ZenML's defaults (the contract leaves the images'
    values unchecked)."""
    if not isinstance(item, dict) or not isinstance(item.get("image"), str):
        raise InvalidInput(f"images.{key}: a build item needs an image name.")
    return {"dockerfile": None, "requirements": None, "settings_checksum": None,
            "contains_code": True, "requires_code_download": False, **item}


BUILDS = BuildResource()


# --- schedules -------------------------------------------------------------

_DURATION = re.compile(
    r"(?P<sign>-)?P(?:(?P<Y>\d+(?:\.\d+)?)Y)?(?:(?P<MO>\d+(?:\.\d+)?)M)?(?:(?P<W>\d+(?:\.\d+)?)W)?"
    r"(?:(?P<D>\d+(?:\.\d+)?)D)?(?:T(?:(?P<H>\d+(?:\.\d+)?)H)?(?:(?P<M>\d+(?:\.\d+)?)M)?(?:(?P<S>\d+(?:\.\d+)?)S)?)?"
)
_CLOCK = re.compile(r"(?P<sign>-)?(?P<H>\d+):(?P<M>\d{2}):(?P<S>\d{2}(?:\.\d+)?)")
_UNIT_SECONDS = {"Y": 365 * 86400, "MO": 30 * 86400, "W": 7 * 86400, "D": 86400, "H": 3600, "M": 60, "S": 1}


def parse_duration(value: str) -> float:
    """Seconds of an ISO 8601 duration ("PT1H30M", what the client sends
    for a `timedelta`) or of "[-]H:MM:SS", as pydantic reads them."""
    text = value.strip()
    match = _DURATION.fullmatch(text) or _CLOCK.fullmatch(text)
    if match is None or text.rstrip("T").endswith("P"):
        raise InvalidInput(f"interval_second: invalid duration {value!r}")
    parts = match.groupdict()
    seconds = sum(float(parts[unit]) * factor for unit, factor in _UNIT_SECONDS.items() if parts.get(unit))
    return -seconds if parts["sign"] else seconds


def format_duration(seconds: float | None) -> str | None:
    """A duration as pydantic writes a `timedelta` ("P1DT2H0.5S")."""
    if seconds is None:
        return None
    delta = timedelta(seconds=seconds)
    sign = "-" if delta < timedelta(0) else ""
    delta = abs(delta)
    years, days = divmod(delta.days, 365)
    hours, rest = divmod(delta.seconds, 3600)
    minutes, secs = divmod(rest, 60)
    date = (f"{years}Y" if years else "") + (f"{days}D" if days else "")
    fraction = f".{delta.microseconds:06d}".rstrip("0") if delta.microseconds else ""
    time = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    time += f"{secs}{fraction}S" if secs or fraction else ""
    if not date and not time:
        return "PT0S"
    return f"{sign}P{date}" + (f"T{time}" if time else "")


SCHEDULE_UPDATABLE = ("name", "active", "cron_expression", "start_time", "end_time", "interval_second", "catchup")


class ScheduleResource(Resource):
    noun = "schedule"
    table = Schedule
    unique = ()
    extra_filters = {
        "pipeline_id": Kind.UUID, "orchestrator_id": Kind.UUID, "active": Kind.BOOL,
        "cron_expression": Kind.STRING, "start_time": Kind.DATETIME, "end_time": Kind.DATETIME,
        "interval_second": Kind.NUMBER, "catchup": Kind.BOOL, "run_once_start_time": Kind.DATETIME,
    }

    def body(self, row: Schedule) -> dict:
        return {
            "active": row.active,
            "cron_expression": row.cron_expression,
            "start_time": row.start_time,
            "end_time": row.end_time,
            "interval_second": format_duration(row.interval_second),
            "catchup": row.catchup,
            "run_once_start_time": row.run_once_start_time,
        }

    def metadata(self, row: Schedule) -> dict:
        return {"orchestrator_id": row.orchestrator_id, "pipeline_id": row.pipeline_id}

    def _values(self, data: dict) -> dict:
        values = self.columns_of(data)
        for key in ("start_time", "end_time", "run_once_start_time"):
            if key in values:
                values[key] = naive_utc(values[key])
        if values.get("interval_second") is not None:
            values["interval_second"] = parse_duration(values["interval_second"])
        return values

    def build(self, session: Session, data: dict, actor: Actor) -> Schedule:
        from store.stacks import StackComponent

        row = Schedule(**self._values(data))
        self.assign_owner(session, row, data, actor)
        _require(session, StackComponent, row.orchestrator_id, "stack component")
        _require(session, Pipeline, row.pipeline_id, "pipeline")
        return row

    def apply(self, session: Session, row: Schedule, data: dict, actor: Actor) -> None:
        # as ZenML: the orchestrator, the pipeline and a run-once time stay
        for key, value in self._values(data).items():
            if key in SCHEDULE_UPDATABLE and value is not None:
                setattr(row, key, value)
        row.updated = utcnow()


SCHEDULES = ScheduleResource()


# --- deployments -----------------------------------------------------------


def code_references(session: Session, deployments: Iterable) -> dict:
    """{deployment id: CodeReferenceResponse} of deployments that have a code
    reference, with their repositories loaded in one query.

    A code reference is its deployment's `code_reference` (commit,
    subdirectory, repository); its id is the same for the same repository,
    commit and subdirectory in a workspace, as ZenML reuses one row for them.
    """
    from store.code_repositories import CODE_REPOSITORIES, CodeRepository

    referencing = [d for d in deployments if d.code_reference and d.code_repository_id]
    repositories = _presented(
        CODE_REPOSITORIES, session, _load(session, CodeRepository, (d.code_repository_id for d in referencing))
    )
    found = {}
    for deployment in referencing:
        reference = deployment.code_reference
        if deployment.code_repository_id in repositories:
            found[deployment.id] = {
                "id": reference["id"],
                "permission_denied": False,
                "body": {
                    "created": deployment.created,
                    "updated": deployment.created,
                    "commit": reference["commit"],
                    "subdirectory": reference["subdirectory"],
                    "code_repository": repositories[deployment.code_repository_id],
                },
                "metadata": None,
                "resources": None,
            }
    return found


class DeploymentResource(_Batched):
    noun = "deployment"
    table = PipelineDeployment
    unique = ()
    extra_filters = {
        "pipeline_id": Kind.UUID, "stack_id": Kind.UUID, "build_id": Kind.UUID,
        "schedule_id": Kind.UUID, "template_id": Kind.UUID,
    }

    def related(self, session: Session, rows: list, hydrate: bool) -> dict:
        if not hydrate:
            return {}
        from store.stacks import STACKS, Stack

        return {
            "pipelines": _presented(PIPELINES, session, _load(session, Pipeline, (r.pipeline_id for r in rows))),
            "stacks": _presented(STACKS, session, _load(session, Stack, (r.stack_id for r in rows))),
            "builds": _presented(BUILDS, session, _load(session, PipelineBuild, (r.build_id for r in rows))),
            "schedules": _presented(SCHEDULES, session, _load(session, Schedule, (r.schedule_id for r in rows))),
            "code_references": code_references(session, rows),
        }

    def compose(self, row: PipelineDeployment, hydrate: bool, related: dict) -> dict:
        answer = Resource.present(self, row, hydrate)
        if hydrate:
            answer["metadata"].update(
                run_name_template=row.run_name_template,
                pipeline_configuration=row.pipeline_configuration,
                step_configurations=row.step_configurations or {},
                client_environment=row.client_environment or {},
                client_version=row.client_version,
                server_version=row.server_version,
                pipeline_version_hash=row.pipeline_version_hash,
                pipeline_spec=row.pipeline_spec,
                code_path=row.code_path,
                pipeline=related["pipelines"].get(row.pipeline_id),
                stack=related["stacks"].get(row.stack_id),
                build=related["builds"].get(row.build_id),
                schedule=related["schedules"].get(row.schedule_id),
                code_reference=related["code_references"].get(row.id),
                template_id=row.template_id,
            )
        return answer

    def build(self, session: Session, data: dict, actor: Actor) -> PipelineDeployment:
        from store.code_repositories import CodeRepository
        from store.stacks import Stack

        row = super().build(session, data, actor)
        row.stack_id = _require(session, Stack, data.get("stack"), "stack")
        row.pipeline_id = _require(session, Pipeline, data.get("pipeline"), "pipeline")
        row.build_id = _require(session, PipelineBuild, data.get("build"), "build")
        row.schedule_id = _require(session, Schedule, data.get("schedule"), "schedule")
        row.template_id = _require(session, RunTemplate, data.get("template"), "run template")
        reference = data.get("code_reference")
        if reference:
            repository = _require(session, CodeRepository, reference["code_repository"], "code repository")
            key = f"{row.workspace_id}:{repository}:{reference['commit']}:{reference['subdirectory']}"
            row.code_repository_id = repository
            row.code_reference = {
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, "zenyard:code-reference:" + key)),
                "commit": reference["commit"],
                "subdirectory": reference["subdirectory"],
                "code_repository": str(repository),
            }
        return row

    def before_delete(self, session: Session, row: PipelineDeployment, actor: Actor) -> None:
        from store.runs import PipelineRun
        from store.tags import TagLink

        # the deployment's runs go with it (foreign keys); so do their tags
        session.execute(
            TagLink.__table__.delete().where(
                TagLink.resource_type == "pipeline_run",
                TagLink.resource_id.in_(select(PipelineRun.id).where(PipelineRun.deployment_id == row.id)),
            )
        )


DEPLOYMENTS = DeploymentResource()


# --- run templates ---------------------------------------------------------

_MLFLOW_REMOTE = ("http://", "https://")
#: ZenML's `is_local` of the built-in flavors' configurations (all others,
#: and every remote flavor, say False); container registries are local when
#: their URI is `localhost:<port>`.
LOCAL_WHEN = {
    ("orchestrator", "local"): lambda config: True,
    ("orchestrator", "local_docker"): lambda config: True,
    ("artifact_store", "local"): lambda config: True,
    ("model_deployer", "mlflow"): lambda config: True,
    ("orchestrator", "kubernetes"): lambda config: bool(config.get("local")),
    ("experiment_tracker", "mlflow"): lambda config: not (
        str(config.get("tracking_uri") or "").startswith(_MLFLOW_REMOTE) or config.get("tracking_uri") == "databricks"
    ),
    ("data_validator", "great_expectations"): lambda config: config.get("context_root_dir") is not None,
    ("feature_store", "feast"): lambda config: config.get("online_host", "localhost") in ("localhost", "127.0.0.1"),
}


def is_local_component(type_: str, flavor: str, config: dict | None) -> bool:
    config = config or {}
    if type_ == "container_registry":
        return bool(re.fullmatch(r"localhost:[0-9]{4,5}", str(config.get("uri") or "")))
    rule = LOCAL_WHEN.get((type_, flavor))
    return bool(rule and rule(config))


def _stack_components(session: Session, stack_ids: Iterable):
    """(stack id, type, flavor, configuration, flavor is custom or None) rows."""
    from store.stacks import Flavor, StackComponent, stack_composition

    wanted = {i for i in stack_ids if i is not None}
    if not wanted:
        return []
    return session.execute(
        select(stack_composition.c.stack_id, StackComponent.type, StackComponent.flavor,
               StackComponent.configuration, Flavor.is_custom)
        .join(StackComponent, StackComponent.id == stack_composition.c.component_id)
        .outerjoin(Flavor, and_(Flavor.name == StackComponent.flavor, Flavor.type == StackComponent.type))
        .where(stack_composition.c.stack_id.in_(wanted))
        .order_by(StackComponent.type)
    ).all()


def check_templatable(session: Session, deployment: PipelineDeployment, allow_local_components: bool) -> PipelineBuild:
    """Refuse, with ZenML's messages, a deployment a template cannot run from;
    the local-components rule gives way to `allow_local_components`."""
    build = session.get(PipelineBuild, deployment.build_id) if deployment.build_id else None
    if build is None:
        raise BadRequest("Unable to create run template as there is no associated build.")
    if build.stack_id is None:
        raise BadRequest("Unable to create run template as the associated build has no stack reference.")
    for _, type_, flavor, config, custom in _stack_components(session, [build.stack_id]):
        if custom is None:
            raise BadRequest("Unable to create run template as a component of the associated stack has no flavor.")
        if custom:
            raise BadRequest("Unable to create run template as a component of the associated stack has a custom flavor.")
        if not allow_local_components and is_local_component(type_, flavor, config):
            raise BadRequest("Unable to create run template as the associated stack contains local components.")
    return build


# ZenML's run configuration template: the deployment's step and pipeline
# configuration, limited to what a run configuration may change.
STEP_TEMPLATE_FIELDS = (
    "enable_cache", "enable_artifact_metadata", "enable_artifact_visualization", "enable_step_logs",
    "step_operator", "experiment_tracker", "parameters", "settings", "extra", "failure_hook_source",
    "success_hook_source", "model", "retry",
)
PIPELINE_TEMPLATE_FIELDS = (
    "enable_cache", "enable_artifact_metadata", "enable_artifact_visualization", "enable_step_logs",
    "settings", "extra", "failure_hook_source", "success_hook_source", "model", "retry",
)
_EMPTY = {"parameters": dict, "settings": dict, "extra": dict}


def _template_part(config: dict, names: tuple) -> dict:
    part = {name: config.get(name, _EMPTY[name]() if name in _EMPTY else None) for name in names}
    part["settings"] = {k: v for k, v in (part["settings"] or {}).items() if k != "docker"}
    return part


def config_template(deployment: PipelineDeployment) -> dict:
    steps = {
        name: _template_part((step or {}).get("config") or {}, STEP_TEMPLATE_FIELDS)
        for name, step in (deployment.step_configurations or {}).items()
    }
    pipeline = _template_part(deployment.pipeline_configuration or {}, PIPELINE_TEMPLATE_FIELDS)
    return {"run_name": deployment.run_name_template, "steps": steps, **pipeline}


def _via_source_deployment(column):
    def condition(op: str, value: str):
        return RunTemplate.source_deployment_id.in_(select(PipelineDeployment.id).where(column == parse_uuid(value)))

    return FilterField(Kind.UUID, None, sortable=False, always=True, custom=condition)


_BIG_DEPLOYMENT_COLUMNS = ("pipeline_configuration", "step_configurations", "client_environment", "pipeline_spec")


class RunTemplateResource(_Tagged):
    noun = "run template"
    table = RunTemplate
    tag_type = "run_template"

    def __init__(self, allow_local_components: bool = False):
        self.allow_local_components = allow_local_components

    def filters(self) -> dict[str, FilterField]:
        fields = super().filters()
        for name in ("pipeline_id", "build_id", "stack_id", "code_repository_id"):
            fields[name] = _via_source_deployment(getattr(PipelineDeployment, name))
        return fields

    def related(self, session: Session, rows: list, hydrate: bool, tags: dict | None = None) -> dict:
        related = super().related(session, rows, hydrate, tags)
        # a list shows no configurations: leave the large columns in the database
        options = () if hydrate else tuple(defer(getattr(PipelineDeployment, c)) for c in _BIG_DEPLOYMENT_COLUMNS)
        deployments = _load(session, PipelineDeployment, (r.source_deployment_id for r in rows), *options)
        builds = _load(session, PipelineBuild, (d.build_id for d in deployments.values()))
        stacks_with_local = {
            stack_id for stack_id, type_, flavor, config, _ in _stack_components(session, (b.stack_id for b in builds.values()))
            if is_local_component(type_, flavor, config)
        }
        related.update(
            deployments=deployments,
            builds=builds,
            stacks_with_local=stacks_with_local,
            deployment_views=_presented(DEPLOYMENTS, session, deployments),
            build_views=_presented(BUILDS, session, builds),
            pipelines=_presented(PIPELINES, session, _load(session, Pipeline, (d.pipeline_id for d in deployments.values()))),
            code_references=code_references(session, deployments.values()),
            latest=_latest_runs(session, RunTemplate, PipelineDeployment.template_id, [r.id for r in rows], through_deployment=True),
        )
        return related

    def compose(self, row: RunTemplate, hydrate: bool, related: dict) -> dict:
        answer = super().compose(row, hydrate, related)
        deployment = related["deployments"].get(row.source_deployment_id)
        build = related["builds"].get(deployment.build_id) if deployment else None
        has_stack = build is not None and build.stack_id is not None
        runnable = has_stack and (
            self.allow_local_components or (not build.is_local and build.stack_id not in related["stacks_with_local"])
        )
        run_id, status = related["latest"].get(row.id, (None, None))
        answer["body"].update(runnable=runnable, latest_run_id=run_id, latest_run_status=status)
        if hydrate:
            answer["metadata"].update(
                description=row.description,
                pipeline_spec=deployment.pipeline_spec if deployment else None,
                config_template=config_template(deployment) if has_stack else None,
                # ZenML derives it from the flavors' pydantic settings classes,
                # which live in the zenml package only
                config_schema=None,
            )
        answer["resources"].update(
            source_deployment=related["deployment_views"].get(row.source_deployment_id),
            pipeline=related["pipelines"].get(deployment.pipeline_id) if deployment else None,
            build=related["build_views"].get(build.id) if build else None,
            code_reference=related["code_references"].get(deployment.id) if deployment else None,
        )
        return answer

    def build(self, session: Session, data: dict, actor: Actor) -> RunTemplate:
        row = super().build(session, data, actor)
        self.check_unique(session, row, "create")  # ZenML looks at the name first
        deployment = session.get(PipelineDeployment, row.source_deployment_id)
        if deployment is None:
            raise BadRequest(f"Source deployment {row.source_deployment_id} not found.")
        check_templatable(session, deployment, self.allow_local_components)
        return row

    def check_unique(self, session: Session, row: RunTemplate, action: str) -> None:
        from store.tables import Workspace

        try:
            super().check_unique(session, row, action)
        except EntityExists:
            workspace = session.get(Workspace, row.workspace_id)
            raise EntityExists(
                f"Unable to {action} run template in workspace '{workspace.name}': "
                "A run template with this name already exists."
            ) from None


RUN_TEMPLATES = RunTemplateResource()


def run_templates(allow_local_components: bool) -> RunTemplateResource:
    """The run template resource under the server's setting
    `TEMPLATES_ALLOW_LOCAL_COMPONENTS` (creation checks and `runnable`)."""
    return RunTemplateResource(allow_local_components) if allow_local_components else RUN_TEMPLATES
