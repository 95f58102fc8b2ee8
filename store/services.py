"""Services: the records model deployers keep of the model servers they run.

ZenML's rules kept here: a service belongs to a workspace and names its type
and flavor (`service_type`); its configuration is unique across the server
(a deployer that finds one with the same configuration reuses it); the
pipeline and step that deployed it are read from the configuration; its
state is the `state` of the last status it reported. A service may point at
a model version and a pipeline run, and outlives both.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from typing import Any, Optional

from sqlalchemy import ForeignKey, String, Text, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.base import Base, Entity, Scoped, utcnow
from store.errors import EntityExists, InvalidInput, NotFound
from store.filtering import FilterField, Kind, parse_bool
from store.resources import Actor, Resource

#: The state a running service reports (ZenML's `ServiceState.ACTIVE`).
RUNNING = "active"
#: Services shown in a model version's resources, as ZenML pages them.
SERVICES_PER_VERSION = 5


class Service(Entity, Scoped, Base):
    __tablename__ = "services"

    name: Mapped[str] = mapped_column(String(255), index=True)
    service_type: Mapped[dict] = mapped_column(default=dict)
    type: Mapped[str] = mapped_column(String(255), index=True)
    flavor: Mapped[str] = mapped_column(String(255), index=True)
    service_source: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    admin_state: Mapped[Optional[str]] = mapped_column(String(50), nullable=True)
    state: Mapped[Optional[str]] = mapped_column(String(50), nullable=True, index=True)
    labels: Mapped[Optional[dict]] = mapped_column(nullable=True)
    config: Mapped[dict] = mapped_column(default=dict)
    #: sha256 of the configuration in canonical JSON: what "the same
    #: configuration" means, on every backend (JSON columns do not compare).
    config_digest: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[Optional[dict]] = mapped_column(nullable=True)
    endpoint: Mapped[Optional[dict]] = mapped_column(nullable=True)
    prediction_url: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    health_check_url: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    pipeline_name: Mapped[Optional[str]] = mapped_column(String(255), nullable=True, index=True)
    pipeline_step_name: Mapped[Optional[str]] = mapped_column(String(255), nullable=True)
    model_version_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("model_versions.id", ondelete="SET NULL"), nullable=True, index=True
    )
    pipeline_run_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("pipeline_runs.id", ondelete="SET NULL"), nullable=True, index=True
    )


def config_digest(config: Any) -> str:
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _config_filter(op: str, value: str):
    """`config=<base64 JSON>`: the client's `dict_to_bytes(config)`; the
    service with exactly that configuration."""
    # the stock client puts the bytes' repr in the query: b'eyJ...'
    if len(value) >= 3 and value[:2] in ("b'", 'b"') and value[-1] == value[1]:
        value = value[2:-1]
    try:
        decoded = json.loads(base64.b64decode(value.encode("ascii"), validate=True))
    except (binascii.Error, UnicodeError, ValueError):
        raise InvalidInput("The 'config' filter must be a base64-encoded JSON object.") from None
    if not isinstance(decoded, dict):
        raise InvalidInput("The 'config' filter must be a base64-encoded JSON object.")
    return Service.config_digest == config_digest(decoded)


def _running_filter(op: str, value: str):
    if parse_bool(value):
        return Service.state == RUNNING
    return or_(Service.state.is_(None), Service.state != RUNNING)


def _state_of(status: dict | None) -> str | None:
    state = (status or {}).get("state")
    return str(state) if state is not None else None


def _uuid_or_none(value: Any, field: str) -> uuid.UUID | None:
    if value is None or isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise InvalidInput(f"Invalid value for '{field}': {value!r} is not a UUID.") from None


class ServiceResource(Resource):
    noun = "service"
    table = Service
    #: uniqueness is the configuration's, across workspaces (check_unique)
    unique = ()
    extra_filters = {
        "type": Kind.STRING,
        "flavor": Kind.STRING,
        "pipeline_name": Kind.STRING,
        "pipeline_step_name": Kind.STRING,
        "model_version_id": Kind.UUID,
        "pipeline_run_id": Kind.UUID,
    }

    def filters(self) -> dict[str, FilterField]:
        fields = super().filters()
        # deployers narrow with these whatever the logical operator
        fields["config"] = FilterField(Kind.STRING, None, sortable=False, always=True, custom=_config_filter)
        fields["running"] = FilterField(Kind.BOOL, None, sortable=False, always=True, custom=_running_filter)
        return fields

    def body(self, row: Service) -> dict:
        return {"service_type": row.service_type, "labels": row.labels or None, "state": row.state}

    def metadata(self, row: Service) -> dict:
        return {
            "service_source": row.service_source,
            "admin_state": row.admin_state or None,
            "config": row.config or {},
            "status": row.status or None,
            "endpoint": row.endpoint or None,
            "prediction_url": row.prediction_url or None,
            "health_check_url": row.health_check_url,
        }

    def present(self, row: Service, hydrate: bool) -> dict:
        from sqlalchemy.orm import object_session

        return self.present_many(object_session(row), [row], hydrate)[0]

    def present_many(self, session: Session, rows: list, hydrate: bool) -> list[dict]:
        """ZenML shows a service's model version and run whether hydrated or not."""
        from store.model_registry import MODEL_VERSIONS, ModelVersion
        from store.runs import RUNS, PipelineRun

        version_ids = {r.model_version_id for r in rows if r.model_version_id}
        run_ids = {r.pipeline_run_id for r in rows if r.pipeline_run_id}
        versions: dict = {}
        if version_ids:
            found = session.scalars(MODEL_VERSIONS.base_query().where(ModelVersion.id.in_(version_ids))).unique().all()
            for item in MODEL_VERSIONS.present_many(session, list(found), hydrate=False, with_services=False):
                versions[item["id"]] = item
        runs: dict = {}
        if run_ids:
            found = session.scalars(RUNS.base_query().where(PipelineRun.id.in_(run_ids))).unique().all()
            runs = {item["id"]: item for item in RUNS.present_many(session, list(found), hydrate=False)}
        answers = []
        for row in rows:
            answer = Resource.present(self, row, hydrate)
            answer["resources"] = {
                "model_version": versions.get(row.model_version_id),
                "pipeline_run": runs.get(row.pipeline_run_id),
            }
            answers.append(answer)
        return answers

    def build(self, session: Session, data: dict, actor: Actor) -> Service:
        service_type = data["service_type"]
        config = data.get("config") or {}
        row = Service(
            name=data["name"],
            service_type=service_type,
            type=service_type["type"],
            flavor=service_type["flavor"],
            service_source=data.get("service_source"),
            admin_state=data.get("admin_state"),
            config=config,
            config_digest=config_digest(config),
            labels=data.get("labels") or None,
            status=data.get("status") or None,
            state=_state_of(data.get("status")),
            endpoint=data.get("endpoint") or None,
            prediction_url=data.get("prediction_url"),
            health_check_url=data.get("health_check_url"),
            pipeline_name=_text(config.get("pipeline_name")),
            pipeline_step_name=_text(config.get("pipeline_step_name")),
        )
        self.assign_owner(session, row, data, actor)
        row.model_version_id = self._model_version(session, data.get("model_version_id"))
        row.pipeline_run_id = self._pipeline_run(session, data.get("pipeline_run_id"))
        return row

    def check_unique(self, session: Session, row: Service, action: str) -> None:
        if action != "create":
            return
        with session.no_autoflush:
            clash = session.scalar(select(Service.id).where(Service.config_digest == row.config_digest).limit(1))
        if clash is not None:
            raise EntityExists(
                f"Unable to create service '{row.name}' with the given configuration: "
                "A service with the same configuration already exists."
            )

    def apply(self, session: Session, row: Service, data: dict, actor: Actor) -> None:
        """ZenML's update: fields left out or null stay; an empty status,
        endpoint or labels clears it."""
        for key in ("name", "admin_state", "service_source", "prediction_url", "health_check_url"):
            if data.get(key) is not None:
                setattr(row, key, data[key])
        for key in ("labels", "endpoint"):
            if data.get(key) is not None:
                setattr(row, key, data[key] or None)
        if data.get("status") is not None:
            row.status = data["status"] or None
            row.state = _state_of(data["status"])
        if data.get("model_version_id") is not None:
            row.model_version_id = self._model_version(session, data["model_version_id"])
        row.updated = utcnow()

    @staticmethod
    def _model_version(session: Session, value: Any) -> uuid.UUID | None:
        from store.model_registry import ModelVersion

        version_id = _uuid_or_none(value, "model_version_id")
        if version_id is not None and session.get(ModelVersion, version_id) is None:
            raise NotFound(f"Unable to get model version with ID '{version_id}': No model version with this ID found.")
        return version_id

    @staticmethod
    def _pipeline_run(session: Session, value: Any) -> uuid.UUID | None:
        from store.runs import PipelineRun

        run_id = _uuid_or_none(value, "pipeline_run_id")
        if run_id is not None and session.get(PipelineRun, run_id) is None:
            raise NotFound(f"Unable to get pipeline run with ID '{run_id}': No pipeline run with this ID found.")
        return run_id


def _text(value: Any) -> str | None:
    return None if value is None else str(value)[:255]


SERVICES = ServiceResource()


def services_of_versions(session: Session, version_ids: list, hydrate: bool) -> dict:
    """{model version id: the first page of its services}, as a model
    version's `resources.services` shows them."""
    if not version_ids:
        return {}
    # a version has few services: load them all, show the first page of each
    linked = session.scalars(
        SERVICES.base_query().where(Service.model_version_id.in_(version_ids)).order_by(Service.created, Service.id)
    ).unique().all()
    totals: dict = {}
    rows: list = []
    for row in linked:
        totals[row.model_version_id] = totals.get(row.model_version_id, 0) + 1
        if totals[row.model_version_id] <= SERVICES_PER_VERSION:
            rows.append(row)
    presented = SERVICES.present_many(session, rows, hydrate) if rows else []
    pages = {}
    for version_id in version_ids:
        total = totals.get(version_id, 0)
        items = [p for p, r in zip(presented, rows) if r.model_version_id == version_id]
        pages[version_id] = {
            "index": 1,
            "max_size": SERVICES_PER_VERSION,
            "total_pages": max(1, -(-total // SERVICES_PER_VERSION)),
            "total": total,
            "items": items,
        }
    return pages
