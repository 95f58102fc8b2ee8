"""Run metadata: key/value records about a pipeline run, a step run, an
artifact version or a model version (ZenML's MetadataResourceTypes).

`POST /workspaces/{workspace}/run-metadata` writes one row per key and
answers the list of them. The resources that show their metadata call
`run_metadata_for` once per page; the ones that delete call
`forget_run_metadata`. `store.artifacts` re-exports all of it.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any, Optional

from sqlalchemy import JSON, ForeignKey, Index, String, bindparam, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.base import Base, Entity, Scoped
from store.db import Database
from store.errors import IllegalOperation, InvalidInput, NotFound
from store.filtering import Kind
from store.resources import Actor, Resource

#: ZenML's STR_FIELD_MAX_LENGTH: keys are shorter.
MAX_KEY = 255
#: ZenML's MetadataTypeEnum.
METADATA_TYPES = ("str", "int", "float", "bool", "list", "dict", "tuple", "set", "Uri", "Path", "DType", "StorageSize")


class RunMetadata(Entity, Scoped, Base):
    __tablename__ = "run_metadata"
    __table_args__ = (Index("ix_run_metadata_resource", "resource_type", "resource_id"),)

    resource_id: Mapped[uuid.UUID] = mapped_column()
    resource_type: Mapped[str] = mapped_column(String(64))
    stack_component_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("stack_components.id", ondelete="SET NULL"), nullable=True
    )
    key: Mapped[str] = mapped_column(String(255), index=True)
    value: Mapped[Any] = mapped_column(JSON)
    type: Mapped[str] = mapped_column(String(64))


class RunMetadataResource(Resource):
    noun = "run metadata"
    plural = "run metadata"
    table = RunMetadata
    unique = ()
    extra_filters = {
        "resource_id": Kind.UUID,
        "resource_type": Kind.STRING,
        "stack_component_id": Kind.UUID,
        "key": Kind.STRING,
        "type": Kind.STRING,
    }

    def body(self, row: RunMetadata) -> dict:
        return {"key": row.key, "value": row.value, "type": row.type}

    def metadata(self, row: RunMetadata) -> dict:
        return {
            "resource_id": row.resource_id,
            "resource_type": row.resource_type,
            "stack_component_id": row.stack_component_id,
        }


RUN_METADATA = RunMetadataResource()


# built once (every presentation of a run, step or artifact version runs it)
_RUN_METADATA_OF = (
    select(RunMetadata.__table__)
    .where(
        RunMetadata.__table__.c.resource_type == bindparam("resource_type"),
        RunMetadata.__table__.c.resource_id.in_(bindparam("ids", expanding=True)),
    )
    .order_by(RunMetadata.__table__.c.created, RunMetadata.__table__.c.id)
)


def run_metadata_for(session: Session, resource_type: str, resource_ids: Any) -> dict[Any, dict[str, dict]]:
    """{resource_id: {key: RunMetadataResponse (not hydrated)}} of many
    resources in one query; of a key recorded twice, the newest wins."""
    found: dict = defaultdict(dict)
    resource_ids = list(resource_ids or [])
    if not resource_ids:
        return found
    from store.records import fetch

    for row in fetch(session, _RUN_METADATA_OF, {"resource_type": resource_type, "ids": resource_ids}):
        found[row.resource_id][row.key] = RUN_METADATA.present(row, hydrate=False)
    return found


def forget_run_metadata(session: Session, resource_type: str, resource_ids: Any) -> None:
    """Delete the run metadata of resources that are going (ids, or a select of ids)."""
    session.execute(RunMetadata.__table__.delete().where(
        RunMetadata.resource_type == resource_type, RunMetadata.resource_id.in_(resource_ids)
    ))


def _check_target(session: Session, resource_type: str, resource_id: Any) -> None:
    from store.artifacts import ArtifactVersion
    from store.model_registry import ModelVersion
    from store.runs import PipelineRun, StepRun

    table, noun = {
        "pipeline_run": (PipelineRun, "pipeline run"),
        "step_run": (StepRun, "step run"),
        "artifact_version": (ArtifactVersion, "artifact version"),
        "model_version": (ModelVersion, "model version"),
    }[resource_type]
    if session.scalar(select(table.id).where(table.id == resource_id)) is None:
        raise NotFound(f"Unable to get {noun} with ID {resource_id}: No {noun} with this ID found.")


def create_run_metadata(db: Database, workspace: Any, data: dict, actor: Actor) -> list[dict]:
    """Record one row per key of `values`, typed by `types`."""
    from store.stacks import StackComponent
    from store.workspaces import find_workspace

    with db.unit_of_work() as session:
        workspace_id = find_workspace(session, workspace).id
        if data["workspace"] != workspace_id:
            raise IllegalOperation(
                f"Creating run metadata outside of the workspace scope of this endpoint `{workspace}` is not supported."
            )
        if data["user"] != actor.id:
            raise IllegalOperation("Creating run metadata for a user other than yourself is not supported.")
        _check_target(session, data["resource_type"], data["resource_id"])
        component_id = data.get("stack_component_id")
        if component_id is not None and session.get(StackComponent, component_id) is None:
            raise NotFound(
                f"Unable to get stack component with ID '{component_id}': No stack component with this ID found."
            )
        types = data.get("types") or {}
        rows = []
        for key, value in (data.get("values") or {}).items():
            if not key or len(key) >= MAX_KEY:
                raise InvalidInput(f"values: a run metadata key has 1 to {MAX_KEY - 1} characters: {key!r}")
            if key not in types:
                raise InvalidInput(f"types: no type is given for the run metadata key '{key}'.")
            if types[key] not in METADATA_TYPES:
                raise InvalidInput(f"types: '{types[key]}' is not a metadata type; use one of {', '.join(METADATA_TYPES)}.")
            rows.append(RunMetadata(
                resource_id=data["resource_id"], resource_type=data["resource_type"],
                stack_component_id=component_id, key=key, value=value, type=types[key],
                user_id=actor.id, workspace_id=workspace_id,
            ))
        session.add_all(rows)
        session.flush()
        ids = [row.id for row in rows]
    # presented after the commit: SQLite's write lock is not held meanwhile
    if not ids:
        return []
    with db.reading() as session:
        found = {row.id: row for row in session.scalars(select(RunMetadata).where(RunMetadata.id.in_(ids))).unique()}
        return [RUN_METADATA.present(found[i], hydrate=True) for i in ids]
