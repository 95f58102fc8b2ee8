"""Template runs: the workload state machine, its log, and the use cases.

A template run is a new deployment (the template's source deployment with
the run configuration applied, as ZenML Pro's `run_template` makes it), a
placeholder run in `initializing`, and a workload row in `queued`, committed
together before the Celery task is sent. The worker then moves the workload
through the states below with conditional updates; the attempt number is the
fencing token, so a worker whose workload was requeued under it (its
heartbeat went stale) can no longer write.

    queued -> building -> pushing -> starting -> running -> completed
       \\________\\___________\\__________\\__________\\--> failed | cancelled

The run's status follows: a failed or cancelled workload fails a run that
has not finished (ZenML 0.66 has no "cancelled" run status). Celery's result
backend is never read: this table is the state.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import threading
import time
import uuid
from datetime import datetime, timedelta
from typing import Any, Iterable, Optional

from sqlalchemy import ForeignKey, Integer, String, Text, and_, func, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.base import Base, Entity, utcnow

log = logging.getLogger("zenyard.workloads")

STATES = ("queued", "building", "pushing", "starting", "running", "completed", "failed", "cancelled")
ACTIVE = ("building", "pushing", "starting", "running")
FINAL = ("completed", "failed", "cancelled")
RUN_FINISHED = ("completed", "failed", "cached")

#: state -> the states it may move to (queued again: requeued after a lost worker)
TRANSITIONS = {
    "queued": {"building", "failed", "cancelled"},
    "building": {"pushing", "starting", "queued", "failed", "cancelled"},
    "pushing": {"starting", "queued", "failed", "cancelled"},
    "starting": {"running", "queued", "failed", "cancelled"},
    "running": {"completed", "queued", "failed", "cancelled"},
}


class Workload(Entity, Base):
    """The execution of one template run: state, image, container, attempts."""

    __tablename__ = "workloads"

    run_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("pipeline_runs.id", ondelete="CASCADE"), nullable=True, index=True
    )
    template_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("run_templates.id", ondelete="SET NULL"), nullable=True, index=True
    )
    deployment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pipeline_deployments.id", ondelete="CASCADE"), unique=True
    )
    user_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    state: Mapped[str] = mapped_column(String(16), index=True, default="queued")
    queued_at: Mapped[Optional[datetime]] = mapped_column(nullable=True)
    building_at: Mapped[Optional[datetime]] = mapped_column(nullable=True)
    pushing_at: Mapped[Optional[datetime]] = mapped_column(nullable=True)
    starting_at: Mapped[Optional[datetime]] = mapped_column(nullable=True)
    running_at: Mapped[Optional[datetime]] = mapped_column(nullable=True)
    completed_at: Mapped[Optional[datetime]] = mapped_column(nullable=True)
    failed_at: Mapped[Optional[datetime]] = mapped_column(nullable=True)
    cancelled_at: Mapped[Optional[datetime]] = mapped_column(nullable=True)
    heartbeat_at: Mapped[Optional[datetime]] = mapped_column(nullable=True, index=True)
    image: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    image_hash: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    container_id: Mapped[Optional[str]] = mapped_column(String(128), nullable=True)
    worker: Mapped[Optional[str]] = mapped_column(String(255), nullable=True)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    log_size: Mapped[int] = mapped_column(Integer, default=0)


class WorkloadLog(Base):
    """One line of a workload's log; `position` is its character offset in
    the whole text, so `?offset=` reads from any point."""

    __tablename__ = "workload_logs"

    workload_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workloads.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    end_position: Mapped[int] = mapped_column(Integer, index=True)
    line: Mapped[str] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(default=utcnow)


from store.db import Database  # noqa: E402
from store.errors import BadRequest, IllegalOperation, InvalidInput, NotFound, ZenyardError  # noqa: E402
from store.resources import Actor  # noqa: E402


class WorkloadGone(ZenyardError):
    """The workload was requeued or finished under this worker (its attempt is stale)."""


class EnqueueFailed(ZenyardError):
    """The broker refused the task: the run is failed, the client is told."""

    status = 503
    wire_name = "RuntimeError"


# --- the run configuration -> a new deployment (ZenML Pro's run_template) ----

PIPELINE_FIELDS = (
    "enable_cache", "enable_artifact_metadata", "enable_artifact_visualization", "enable_step_logs",
    "settings", "extra", "failure_hook_source", "success_hook_source", "model", "retry",
)
STEP_FIELDS_KEPT = (
    "name", "caching_parameters", "external_input_artifacts", "model_artifacts_or_metadata",
    "client_lazy_loaders", "outputs",
)


def check_run_configuration(config: dict) -> None:
    """What a run configuration may not set when run from the server (ZenML's words)."""
    if config.get("parameters"):
        raise BadRequest("Can't set parameters when running pipeline via Rest API.")
    if config.get("build"):
        raise BadRequest("Can't set build when running pipeline via Rest API.")
    if config.get("schedule"):
        raise BadRequest("Can't set schedule when running pipeline via Rest API.")
    if (config.get("settings") or {}).get("docker"):
        raise BadRequest("Can't set DockerSettings when running pipeline via Rest API.")
    for step in (config.get("steps") or {}).values():
        if ((step or {}).get("settings") or {}).get("docker"):
            raise BadRequest("Can't set DockerSettings when running pipeline via Rest API.")


def _recursive_update(original: dict, update_: dict) -> dict:
    for key, value in update_.items():
        if isinstance(value, dict) and isinstance(original.get(key), dict):
            original[key] = _recursive_update(dict(original[key]), value)
        else:
            original[key] = value
    return original


def _python_set(names: Iterable[str]) -> str:
    return "{" + ", ".join(repr(n) for n in sorted(names)) + "}"


def deployment_configuration(source, config: dict) -> tuple[dict, dict]:
    """(pipeline configuration, step configurations) of a run from a template:
    the run configuration's pipeline fields, the source's name and parameters;
    each step keeps its spec and identity fields and takes the step update."""
    source_pipeline = source.pipeline_configuration or {}
    pipeline = {name: copy.deepcopy(config.get(name)) for name in PIPELINE_FIELDS}
    pipeline["settings"] = pipeline["settings"] or {}
    pipeline["extra"] = pipeline["extra"] or {}
    base = copy.deepcopy(pipeline)
    pipeline.update(name=source_pipeline.get("name"), parameters=source_pipeline.get("parameters"))

    updates = config.get("steps") or {}
    steps = {}
    for invocation_id, step in (source.step_configurations or {}).items():
        step_config = (step or {}).get("config") or {}
        merged = {**copy.deepcopy(base), **{k: copy.deepcopy(step_config[k]) for k in STEP_FIELDS_KEPT if k in step_config}}
        required = set(step_config.get("parameters") or {})
        configured: set = set()
        update_ = updates.get(invocation_id)
        if update_:
            update_ = {k: v for k, v in update_.items() if k != "name"}
            configured = set(update_.get("parameters") or {})
            merged = _recursive_update(merged, copy.deepcopy(update_))
        if configured != required:
            raise BadRequest(
                "Run configuration is missing missing the following required parameters for step "
                f"{step_config.get('name', invocation_id)}: {_python_set(required - configured) if required - configured else 'set()'}."
            )
        merged.setdefault("parameters", {})
        steps[invocation_id] = {"spec": copy.deepcopy(step.get("spec")), "config": merged}
    return pipeline, steps


def _stack_rows(session: Session, stack_id) -> list:
    from store.pipelines import _stack_components

    return _stack_components(session, [stack_id])


def stack_checksum(components: list) -> str:
    """ZenML's `compute_stack_checksum`: the md5 of the stack's integrations."""
    from store import catalog

    names = set()
    for _, type_, flavor, _, _ in components:
        found = catalog.flavor(type_, flavor)
        if found and found["integration"] and found["integration"] != catalog.BUILTIN_INTEGRATION:
            names.add(found["integration"])
    digest = hashlib.md5()  # noqa: S324 - ZenML's checksum, not security
    for name in sorted(names):
        digest.update(name.encode())
    return digest.hexdigest()


def _check_runnable(session: Session, template, allow_local: bool):
    """The template's (deployment, build) when it can run, else ZenML's refusal."""
    from store.pipelines import PipelineBuild, PipelineDeployment, is_local_component
    from store.stacks import Stack

    deployment = session.get(PipelineDeployment, template.source_deployment_id) if template.source_deployment_id else None
    build = session.get(PipelineBuild, deployment.build_id) if deployment and deployment.build_id else None
    stack = session.get(Stack, build.stack_id) if build and build.stack_id else None
    if deployment is None or build is None or stack is None or deployment.stack_id is None:
        raise BadRequest(
            "This template can not be run because its associated deployment, stack or build have been deleted."
        )
    components = _stack_rows(session, stack.id)
    if build.stack_checksum and build.stack_checksum != stack_checksum(components):
        raise BadRequest(
            f"The stack {stack.name} has been updated since it was used for the run that is the base for "
            "this template. This means the Docker images associated with this template most likely do not "
            "contain the necessary requirements. Please create a new template from a recent run on this stack."
        )
    for _, type_, flavor, configuration, custom in components:
        if custom is None or custom:
            raise BadRequest("No custom stack component flavors allowed.")
        if not allow_local and is_local_component(type_, flavor, configuration):
            raise BadRequest("No local stack components allowed.")
    return deployment, build, components


def _async_orchestrator(pipeline: dict, components: list) -> None:
    """ZenML's `ensure_async_orchestrator`: an orchestrator that can wait
    for the run is told not to (the runner container would outlive it)."""
    from store import catalog

    for _, type_, flavor, _, _ in components:
        if type_ != "orchestrator":
            continue
        found = catalog.flavor(type_, flavor) or {}
        if "synchronous" in ((found.get("config_schema") or {}).get("properties") or {}):
            key = f"orchestrator.{flavor}"
            pipeline["settings"][key] = {**(pipeline["settings"].get(key) or {}), "synchronous": False}


def run_name(template: str) -> str:
    """ZenML's `get_run_name`: {date} and {time} filled in, UTC."""
    now = utcnow()
    name = template.format(date=now.strftime("%Y_%m_%d"), time=now.strftime("%H_%M_%S_%f"))
    if not name:
        raise BadRequest("Empty run names are not allowed.")
    return name


def create_template_run(db: Database, template_id, config: dict | None, actor: Actor, allow_local: bool) -> tuple[dict, uuid.UUID]:
    """The new deployment, its placeholder run and a queued workload, in one
    commit; returns (the run as PipelineRunResponse, the workload id)."""
    from store import catalog
    from store.pipelines import DEPLOYMENTS, RunTemplate
    from store.runs import RUNS

    config = config or {}
    check_run_configuration(config)
    with db.unit_of_work() as session:
        template = session.get(RunTemplate, template_id)
        if template is None:
            raise NotFound(f"Unable to get run template with ID {template_id}: No run template with this ID found.")
        source, build, components = _check_runnable(session, template, allow_local)
        pipeline, steps = deployment_configuration(source, config)
        _async_orchestrator(pipeline, components)
        reference = source.code_reference or None
        deployment = DEPLOYMENTS.build(session, {
            "user": actor.id,
            "workspace": source.workspace_id,
            "run_name_template": config.get("run_name") or f"{pipeline['name']}-{{date}}-{{time}}",
            "pipeline_configuration": pipeline,
            "step_configurations": steps,
            "client_environment": {},
            "client_version": catalog.ZENML_VERSION,
            "server_version": catalog.ZENML_VERSION,
            "stack": source.stack_id,
            "pipeline": source.pipeline_id,
            "build": build.id,
            "schedule": None,
            "template": template.id,
            "code_reference": {
                "commit": reference["commit"], "subdirectory": reference["subdirectory"],
                "code_repository": uuid.UUID(str(reference["code_repository"])),
            } if reference and source.code_repository_id else None,
            "code_path": source.code_path,
            "pipeline_version_hash": source.pipeline_version_hash,
            "pipeline_spec": source.pipeline_spec,
        }, actor)
        session.add(deployment)
        session.flush()
        run = RUNS.build(session, {
            "user": actor.id, "workspace": source.workspace_id, "deployment": deployment.id,
            "pipeline": source.pipeline_id, "name": run_name(deployment.run_name_template),
            "status": "initializing", "start_time": utcnow(),
        }, actor)
        RUNS.check_unique(session, run, "create")
        session.add(run)
        session.flush()
        now = utcnow()
        workload = Workload(
            run_id=run.id, template_id=template.id, deployment_id=deployment.id, user_id=actor.id,
            state="queued", queued_at=now,
        )
        session.add(workload)
        session.flush()
        return RUNS.present(run, hydrate=True), workload.id


def start_template_run(db: Database, template_id, config: dict | None, actor: Actor, *, allow_local: bool,
                       server_url: str, enqueue) -> dict:
    """`POST /run_templates/{id}/runs`: persist the run and its queued
    workload, then (after the commit) hand the workload to `enqueue`."""
    from store.errors import NotImplementedYet
    from store.pipelines import RunTemplate

    with db.reading() as session:  # an unknown template is a 404 whatever the configuration
        if session.get(RunTemplate, template_id) is None:
            raise NotFound(f"Unable to get run template with ID {template_id}: No run template with this ID found.")
    if not server_url:
        raise NotImplementedYet(
            "Running templates needs the URL of this server, which the runner containers connect to: "
            "set ZENML_SERVER_URL."
        )
    run, workload_id = create_template_run(db, template_id, config, actor, allow_local)
    try:
        enqueue(workload_id)
    except Exception as err:  # the broker is down: the run must not stay initializing
        fail_unsent(db, workload_id, f"could not enqueue the template run: {err}")
        raise EnqueueFailed(f"Unable to start the template run: the task queue is not available ({err}).") from err
    return run


def fail_unsent(db: Database, workload_id, reason: str) -> None:
    with db.unit_of_work() as session:
        workload = session.get(Workload, workload_id)
        if workload is not None and workload.state == "queued":
            workload.state, workload.failed_at, workload.error = "failed", utcnow(), reason
            _follow_run(session, workload, "failed")
    LogWriter(db, workload_id).write(f"Zenyard: {reason}").close()


# --- the state machine ---------------------------------------------------------


def _as_id(value) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _stamp(state: str) -> str:
    return f"{state}_at"


def _follow_run(session: Session, workload: Workload, state: str) -> None:
    """A failed or cancelled workload fails its run if the run has not finished."""
    from store.runs import PipelineRun

    if state not in ("failed", "cancelled") or workload.run_id is None:
        return
    session.execute(
        update(PipelineRun)
        .where(PipelineRun.id == workload.run_id, PipelineRun.status.not_in(RUN_FINISHED))
        .values(status="failed", end_time=utcnow(), updated=utcnow())
    )


def claim(db: Database, workload_id, worker: str, stale_after: timedelta) -> dict | None:
    """Take a queued workload (or one whose worker stopped beating) for
    `worker`: queued -> building. None when another worker has it, it has
    finished, or its cancellation was asked for (then it is cancelled)."""
    workload_id = _as_id(workload_id)
    now = utcnow()
    with db.unit_of_work() as session:
        claimable = or_(
            Workload.state == "queued",
            and_(Workload.state.in_(ACTIVE), Workload.heartbeat_at < now - stale_after),
        )
        claimed = session.execute(
            update(Workload)
            .where(Workload.id == workload_id, claimable, Workload.cancel_requested.is_(False))
            .values(state="building", building_at=now, heartbeat_at=now, worker=worker,
                    attempt=Workload.attempt + 1, container_id=None, error=None)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            cancelled = session.execute(
                update(Workload)
                .where(Workload.id == workload_id, Workload.cancel_requested.is_(True), claimable)
                .values(state="cancelled", cancelled_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount
            if cancelled:
                _follow_run(session, session.get(Workload, workload_id), "cancelled")
            return None
        return job(session, session.get(Workload, workload_id))


def job(session: Session, workload: Workload) -> dict:
    """What the worker needs, read once: plain data, no session after this."""
    from store.pipelines import PipelineBuild, PipelineDeployment

    deployment = session.get(PipelineDeployment, workload.deployment_id)
    build = session.get(PipelineBuild, deployment.build_id) if deployment.build_id else None
    components = [
        {"type": type_, "flavor": flavor, "configuration": configuration or {}}
        for _, type_, flavor, configuration, _ in _stack_rows(session, deployment.stack_id)
    ] if deployment.stack_id else []
    return {
        "workload_id": str(workload.id),
        "attempt": workload.attempt,
        "run_id": str(workload.run_id) if workload.run_id else None,
        "deployment_id": str(deployment.id),
        "workspace_id": str(deployment.workspace_id),
        "stack_id": str(deployment.stack_id) if deployment.stack_id else None,
        "pipeline_id": str(deployment.pipeline_id) if deployment.pipeline_id else None,
        "user_id": str(workload.user_id) if workload.user_id else None,
        "components": components,
        "build": {
            "images": build.images or {},
            "zenml_version": build.zenml_version,
            "python_version": build.python_version,
        } if build else None,
    }


def advance(db: Database, workload_id, attempt: int, state: str, **fields: Any) -> None:
    """Move this attempt's workload to `state` (raises WorkloadGone if the
    attempt is no longer the workload's, or the move is not allowed)."""
    workload_id = _as_id(workload_id)
    allowed_from = [s for s, targets in TRANSITIONS.items() if state in targets]
    with db.unit_of_work() as session:
        values = {"state": state, _stamp(state): utcnow(), "heartbeat_at": utcnow(), **fields}
        moved = session.execute(
            update(Workload)
            .where(Workload.id == workload_id, Workload.attempt == attempt, Workload.state.in_(allowed_from))
            .values(**values)
            .execution_options(synchronize_session=False)
        ).rowcount
        if moved != 1:
            raise WorkloadGone(f"workload {workload_id} attempt {attempt} can no longer move to {state}")
        _follow_run(session, session.get(Workload, workload_id), state)


def record(db: Database, workload_id, attempt: int, **fields: Any) -> None:
    """Set fields (image, container id, ...) of this attempt's workload."""
    workload_id = _as_id(workload_id)
    with db.unit_of_work() as session:
        session.execute(
            update(Workload).where(Workload.id == workload_id, Workload.attempt == attempt).values(**fields)
            .execution_options(synchronize_session=False)
        )


def beat(db: Database, workload_id, attempt: int) -> tuple[bool, bool]:
    """Heartbeat of a working attempt; returns (still ours, cancel requested)."""
    workload_id = _as_id(workload_id)
    with db.unit_of_work() as session:
        mine = session.execute(
            update(Workload)
            .where(Workload.id == workload_id, Workload.attempt == attempt, Workload.state.in_(ACTIVE))
            .values(heartbeat_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount == 1
        cancel = bool(session.scalar(select(Workload.cancel_requested).where(Workload.id == workload_id)))
        return mine, cancel


def requeue(db: Database, workload_id, attempt: int | None, reason: str, max_attempts: int) -> str | None:
    """Put an active workload back in the queue (or fail it after
    `max_attempts`); returns the new state, or None if it was not active
    (or no longer this attempt's)."""
    workload_id = _as_id(workload_id)
    with db.unit_of_work() as session:
        workload = session.get(Workload, workload_id)
        if workload is None or workload.state not in ACTIVE or (attempt is not None and workload.attempt != attempt):
            return None
        now = utcnow()
        if workload.attempt >= max_attempts:
            workload.state, workload.failed_at = "failed", now
            workload.error = f"{reason}; gave up after {workload.attempt} attempts"
        elif workload.cancel_requested:
            workload.state, workload.cancelled_at = "cancelled", now
        else:
            workload.state, workload.queued_at, workload.worker = "queued", now, None
        _follow_run(session, workload, workload.state)
        return workload.state


def request_cancel(db: Database, run_id, actor: Actor) -> dict:
    """Cancel the template run of `run_id`: a queued workload is cancelled at
    once, an active one is stopped by its worker (its container within seconds)."""
    from store.runs import PipelineRun

    with db.unit_of_work() as session:
        run = session.get(PipelineRun, run_id)
        if run is None:
            raise NotFound(f"Unable to get pipeline run with ID {run_id}: No pipeline run with this ID found.")
        if not actor.is_admin and run.user_id not in (None, actor.id):
            raise IllegalOperation("Only the user who started a run, or an admin, may cancel it.")
        workload = session.scalars(select(Workload).where(Workload.run_id == run.id)).first()
        if workload is None:
            raise BadRequest(f"Pipeline run {run_id} was not started from a run template on this server.")
        if workload.state == "cancelled":
            return present(workload)
        if workload.state in FINAL:
            raise IllegalOperation(f"Unable to cancel pipeline run {run_id}: its workload has already {workload.state}.")
        workload.cancel_requested = True
        if workload.state == "queued":
            workload.state, workload.cancelled_at = "cancelled", utcnow()
            _follow_run(session, workload, "cancelled")
        session.flush()
        return present(workload)


def present(workload: Workload) -> dict:
    return {
        "id": workload.id,
        "run_id": workload.run_id,
        "deployment_id": workload.deployment_id,
        "template_id": workload.template_id,
        "state": workload.state,
        "cancel_requested": workload.cancel_requested,
        "attempt": workload.attempt,
        "worker": workload.worker,
        "image": workload.image,
        "error": workload.error,
        **{_stamp(state): getattr(workload, _stamp(state)) for state in STATES},
    }


def get_workload(db: Database, workload_id) -> dict | None:
    workload_id = _as_id(workload_id)
    with db.reading() as session:
        workload = session.get(Workload, workload_id)
        return present(workload) if workload is not None else None


def reap(db: Database, stale_after: timedelta, max_attempts: int, restarted_worker: str | None = None) -> list[tuple[uuid.UUID, str]]:
    """Workloads whose worker died: active ones with a stale heartbeat, and
    those a restarted worker (same name) held. Requeued or failed; returns
    [(id, new state)] so that the caller sends the requeued ones again."""
    now = utcnow()
    with db.reading() as session:
        lost = or_(Workload.heartbeat_at < now - stale_after, Workload.heartbeat_at.is_(None))
        if restarted_worker:
            lost = or_(lost, Workload.worker == restarted_worker)
        candidates = session.execute(
            select(Workload.id, Workload.attempt, Workload.worker).where(Workload.state.in_(ACTIVE), lost)
        ).all()
    done = []
    for workload_id, attempt, worker in candidates:
        reason = f"worker {worker} stopped (no heartbeat since {stale_after.total_seconds():.0f}s or restarted)"
        state = requeue(db, workload_id, attempt, reason, max_attempts)
        if state is not None:
            LogWriter(db, workload_id).write(f"Zenyard: {reason}; workload {state}.").close()
            done.append((workload_id, state))
    return done


# --- the log -------------------------------------------------------------------


class LogWriter:
    """Appends lines to a workload's log in batches (one insert per flush).

    A batch is written when it holds `batch_lines` lines, when a write comes
    `batch_seconds` after the last flush, and, once `start_flusher()` was
    called (a live run), by a background thread `batch_seconds` after its
    first line at most: a quiet runner's last lines reach readers too.
    """

    def __init__(self, db: Database, workload_id, batch_lines: int = 200, batch_seconds: float = 0.5):
        self.db = db
        self.workload_id = workload_id if isinstance(workload_id, uuid.UUID) else uuid.UUID(str(workload_id))
        self.batch_lines = batch_lines
        self.batch_seconds = batch_seconds
        self.pending: list[str] = []
        self.lock = threading.Lock()
        self.clock = time.monotonic
        self.last_flush = self.clock()
        self.seq: int | None = None
        self.position = 0
        self.flusher: threading.Thread | None = None
        self.closed = threading.Event()

    def start_flusher(self) -> "LogWriter":
        def run() -> None:
            while not self.closed.wait(self.batch_seconds):
                try:
                    self.flush()
                except Exception:  # noqa: BLE001 - the next flush retries; the runner's flush reports
                    log.warning(
                        "workload=%s log flush failed", self.workload_id, exc_info=True)

        self.flusher = threading.Thread(target=run, daemon=True, name=f"log-flush-{self.workload_id}")
        self.flusher.start()
        return self

    def write(self, text: str) -> "LogWriter":
        """Add text; each line of it is one log line."""
        lines = text.splitlines() or [""]
        with self.lock:
            self.pending.extend(lines)
            due = len(self.pending) >= self.batch_lines or self.clock() - self.last_flush >= self.batch_seconds
        if due:
            self.flush()
        return self

    def flush(self) -> None:
        from store.errors import EntityExists

        with self.lock:
            lines, self.pending = self.pending, []
            self.last_flush = self.clock()
            if not lines:
                return
            try:
                self._insert(lines)
            except EntityExists:
                # another writer (a superseded attempt, the reaper) took those
                # numbers: start again from what the table holds
                self.seq = None
                self._insert(lines)

    def _insert(self, lines: list[str]) -> None:
        with self.db.unit_of_work() as session:
            if self.seq is None:
                self.seq = session.scalar(
                    select(func.max(WorkloadLog.seq)).where(WorkloadLog.workload_id == self.workload_id)
                ) or 0
                self.position = session.scalar(select(Workload.log_size).where(Workload.id == self.workload_id)) or 0
            seq, position, rows = self.seq, self.position, []
            for line in lines:
                seq += 1
                end = position + len(line) + 1
                rows.append({"workload_id": self.workload_id, "seq": seq, "position": position,
                             "end_position": end, "line": line, "created": utcnow()})
                position = end
            session.execute(WorkloadLog.__table__.insert(), rows)
            session.execute(
                update(Workload).where(Workload.id == self.workload_id).values(log_size=position)
                .execution_options(synchronize_session=False)
            )
        self.seq, self.position = seq, position

    def close(self) -> None:
        self.closed.set()
        if self.flusher is not None:
            self.flusher.join(timeout=10)
        self.flush()


def workload_of_deployment(db: Database, deployment_id) -> dict:
    """The workload of a deployment, or NotFound (as ZenML: no such deployment)."""
    from store.pipelines import PipelineDeployment

    with db.reading() as session:
        if session.get(PipelineDeployment, deployment_id) is None:
            raise NotFound(f"Unable to get deployment with ID '{deployment_id}': No deployment with this ID found.")
        workload = session.scalars(select(Workload).where(Workload.deployment_id == deployment_id)).first()
        if workload is None:
            raise NotFound(f"No logs available for deployment {deployment_id}: it was not run from a template on this server.")
        return present(workload)


def read_log(db: Database, workload_id, offset: int = 0) -> tuple[str, int, str]:
    """(text from character `offset`, the offset after it, workload state)."""
    workload_id = _as_id(workload_id)
    if offset < 0:
        raise InvalidInput("offset must be zero or positive.")
    with db.reading() as session:
        state = session.scalar(select(Workload.state).where(Workload.id == workload_id))
        rows = session.execute(
            select(WorkloadLog.position, WorkloadLog.line)
            .where(WorkloadLog.workload_id == workload_id, WorkloadLog.end_position > offset)
            .order_by(WorkloadLog.seq)
        ).all()
    text = "".join(line + "\n" for _, line in rows)
    if rows and rows[0][0] < offset:
        text = text[offset - rows[0][0]:]
    end = rows[-1][0] + len(rows[-1][1]) + 1 if rows else offset
    return text, max(end, offset), state
