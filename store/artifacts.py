"""Artifacts, artifact versions and their visualizations.

ZenML 0.66.0's rules kept here: an artifact's name is unique on the server
(artifacts belong to no workspace); a version is unique per artifact, and a
version that reads as an integer also sets `version_number`, which is what
the client sorts by to pick the next number. Deleting an artifact or a
version takes its versions, visualizations, step links, tags and run
metadata with it, as ZenML's cascades do. Pruning deletes the versions no
step reads or wrote (and, unless `only_versions`, the artifacts left without
versions); files in artifact stores are never touched by the server.
"""

from __future__ import annotations

import functools
import random
import time
import uuid
from collections import defaultdict
from datetime import timedelta
from typing import Any, Optional

from sqlalchemy import (
    ForeignKey, Index, String, Text, UniqueConstraint, and_, bindparam, case, func, or_, select, true, update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, object_session, relationship

from store.base import Base, Entity, Scoped, utcnow
from store.db import Database
from store.errors import BadRequest, EntityExists, InvalidInput, NotFound
from store.filtering import FilterField, Kind, condition, parse_bool, parse_uuid
from store import records
from store.records import Record, fetch, fetch_by_ids
from store.resources import Actor, Resource
from store.run_metadata import (  # noqa: F401  (re-exported for the runs and models areas)
    RUN_METADATA, RunMetadata, create_run_metadata, forget_run_metadata, run_metadata_for,
)
from store.tags import attach_tags, tags_for, tags_of

#: ZenML's STR_FIELD_MAX_LENGTH and BANNED_NAME_CHARACTERS.
MAX_NAME = 255
BANNED_NAME_CHARACTERS = "\t\n\r\v\f"
#: Attempts at creating a version while concurrent requests take the same unique keys.
CREATE_ATTEMPTS = 8


class Artifact(Entity, Base):
    """An artifact name; not workspace-scoped in ZenML 0.66.0."""

    __tablename__ = "artifacts"

    name: Mapped[str] = mapped_column(String(255), unique=True)
    has_custom_name: Mapped[bool] = mapped_column(default=False)


class ArtifactVersion(Entity, Scoped, Base):
    __tablename__ = "artifact_versions"
    __table_args__ = (
        UniqueConstraint("artifact_id", "version"),
        Index("ix_artifact_versions_artifact_number", "artifact_id", "version_number"),
        # the newest version of each artifact; an artifact's versions by date
        Index("ix_artifact_versions_artifact_created", "artifact_id", "created"),
    )

    artifact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("artifacts.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(String(255))
    version_number: Mapped[Optional[int]] = mapped_column(nullable=True)
    type: Mapped[str] = mapped_column(String(64), index=True)
    uri: Mapped[str] = mapped_column(Text)
    materializer: Mapped[dict] = mapped_column(default=dict)
    data_type: Mapped[dict] = mapped_column(default=dict)
    artifact_store_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("stack_components.id", ondelete="SET NULL"), nullable=True, index=True
    )

    # many-to-one only: deleting goes by the database's cascades
    artifact: Mapped[Artifact] = relationship(lazy="joined", innerjoin=True)


class ArtifactVisualization(Entity, Base):
    __tablename__ = "artifact_visualizations"

    artifact_version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("artifact_versions.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(32))
    uri: Mapped[str] = mapped_column(Text)


# --- helpers ----------------------------------------------------------------


def check_name(name: Any, kind: str) -> None:
    """ZenML's `validate_name`: a name, without control characters."""
    if not name:
        raise BadRequest(f"The class `{kind}Request` has no attribute `name` or it is set to `None`. Cannot validate the name.")
    banned = "".join(sorted(set(name) & set(BANNED_NAME_CHARACTERS)))
    if banned:
        raise BadRequest(f"The name `{name}` of the `{kind}` contains the following forbidden characters: `{banned}`.")


def related(kind: Kind, column: Any, wrap) -> FilterField:
    """A filter on a column of a related table: `wrap(condition)` turns the
    condition on `column` into one on this resource's rows."""

    def custom(op: str, value: str):
        return wrap(condition(column.key, FilterField(kind, column), f"{op}:{value}", "any"))

    return FilterField(kind, None, sortable=False, custom=custom)


def source_path(column: Any):
    """A stored `Source` as its import path (`module.attribute`), which is
    what filters on a materializer or data type compare."""
    module = column["module"].as_string()
    attribute = column["attribute"].as_string()
    # a JSON null reads as SQL NULL, or as 'null' on MariaDB
    return case((or_(attribute.is_(None), attribute == "null"), module), else_=module + "." + attribute)


def _unused():
    """Versions that no step read or wrote."""
    from store.runs import StepRunInput, StepRunOutput

    return (
        ArtifactVersion.id.not_in(select(StepRunOutput.artifact_version_id)),
        ArtifactVersion.id.not_in(select(StepRunInput.artifact_version_id)),
    )


def version_label(version: str | None, number: int | None) -> str:
    return version or str(number)


# The statements of the presentation helpers below are built once: building
# a select (and its cache key) costs several times what SQLite takes to run
# it, and every artifact version shown in a run, step or write answer runs
# all of them. `ids` binds as an expanding IN.


@functools.cache
def _latest_versions_query():
    # one index seek per artifact (artifact_id, created): ranking all versions
    # with a window function cost tens of ms at 10,000 versions
    newest = (
        select(ArtifactVersion.id)
        .where(ArtifactVersion.artifact_id == Artifact.id)
        .order_by(ArtifactVersion.created.desc(), ArtifactVersion.id.desc())
        .limit(1)
        .correlate(Artifact)
        .scalar_subquery()
    )
    return (
        select(Artifact.id, ArtifactVersion.id, ArtifactVersion.version, ArtifactVersion.version_number)
        .join(ArtifactVersion, ArtifactVersion.id == newest)
        .where(Artifact.id.in_(bindparam("ids", expanding=True)))
    )


def latest_versions(session: Session, artifact_ids: list) -> dict:
    """{artifact_id: (version id, version)}: the newest version of each, in one query."""
    if not artifact_ids:
        return {}
    rows = records.connection(session).execute(_latest_versions_query(), {"ids": list(artifact_ids)})
    return {owner: (version_id, version_label(version, number)) for owner, version_id, version, number in rows}


@functools.cache
def _producers_query():
    from store.runs import StepRun, StepRunOutput

    return (
        select(StepRunOutput.artifact_version_id, StepRun.id, StepRun.status, StepRun.pipeline_run_id,
               StepRun.original_step_run_id)
        .join(StepRun, StepRun.id == StepRunOutput.step_id)
        .where(StepRunOutput.artifact_version_id.in_(bindparam("ids", expanding=True)))
        .order_by(StepRun.created, StepRun.id)
    )


def producers(session: Session, version_ids: list) -> dict:
    """{version_id: (producer step run id, producer pipeline run id)} as ZenML
    derives them: the one completed step that wrote the version; otherwise
    (a cached step's output) the original step of the first writer."""
    if not version_ids:
        return {}
    writers: dict = defaultdict(list)
    for row in records.connection(session).execute(_producers_query(), {"ids": list(version_ids)}):
        writers[row.artifact_version_id].append(row)
    found = {}
    for version_id, steps in writers.items():
        completed = [s for s in steps if s.status == "completed"]
        if len(completed) == 1:
            found[version_id] = (completed[0].id, completed[0].pipeline_run_id)
        else:
            found[version_id] = (steps[0].original_step_run_id, None)
    return found


def visualizations_of(session: Session, version_ids: list) -> dict:
    """{version_id: [visualization rows]} in the order they were recorded."""
    found: dict = defaultdict(list)
    rows = fetch_by_ids(session, ArtifactVisualization, version_ids, "artifact_version_id", ("created", "id"))
    for row in rows:
        found[row.artifact_version_id].append(row)
    return found


@functools.cache
def _versions_query():
    versions, artifacts = ArtifactVersion.__table__, Artifact.__table__
    return (
        select(versions, *(column.label(f"artifact__{column.key}") for column in artifacts.columns))
        .join(artifacts, artifacts.c.id == versions.c.artifact_id)
        .where(versions.c.id.in_(bindparam("ids", expanding=True)))
    )


def fetch_versions(session: Session, version_ids: Any) -> list[Record]:
    """Artifact versions as records, each with its `artifact`, in one query."""
    version_ids = list({i for i in version_ids if i is not None})
    if not version_ids:
        return []
    found = fetch(session, _versions_query(), {"ids": version_ids})
    for version in found:
        columns = version.__dict__
        version.artifact = Record({key[10:]: columns.pop(key) for key in list(columns) if key.startswith("artifact__")})
    return found


def present_visualization(row: ArtifactVisualization) -> dict:
    return {
        "id": row.id, "permission_denied": False, "metadata": None, "resources": None,
        "body": {"created": row.created, "updated": row.updated, "type": row.type, "uri": row.uri},
    }


def forget_versions(session: Session, version_ids: Any) -> None:
    """Delete the tags and run metadata of artifact versions that are going
    (`version_ids`: ids or a select of ids); the rest goes by cascade."""
    from store.tags import TagLink

    session.execute(TagLink.__table__.delete().where(
        TagLink.resource_type == "artifact_version", TagLink.resource_id.in_(version_ids)
    ))
    forget_run_metadata(session, "artifact_version", version_ids)


# --- artifacts --------------------------------------------------------------


def _in_workspace(op: str, value: str):
    # Artifacts have no workspace in 0.66.0: an artifact belongs to the
    # workspaces its versions are in (and, with no versions yet, to all).
    workspace_id = parse_uuid(value)
    return or_(
        Artifact.id.in_(select(ArtifactVersion.artifact_id).where(ArtifactVersion.workspace_id == workspace_id)),
        Artifact.id.not_in(select(ArtifactVersion.artifact_id)),
    )


class ArtifactResource(Resource):
    noun = "artifact"
    table = Artifact
    tag_type = "artifact"

    def filters(self) -> dict[str, FilterField]:
        fields = super().filters()
        fields["has_custom_name"] = FilterField(Kind.BOOL, Artifact.has_custom_name)
        fields["scope_workspace"] = FilterField(Kind.UUID, None, sortable=False, always=True, custom=_in_workspace)
        return fields

    def present(self, row: Artifact, hydrate: bool) -> dict:
        return self.present_many(object_session(row), [row], hydrate)[0]

    def present_many(self, session: Session, rows: list, hydrate: bool, tags: dict | None = None) -> list[dict]:
        ids = [r.id for r in rows]
        if tags is None:
            tags = tags_for(session, "artifact", ids)
        latest = latest_versions(session, ids)
        answers = []
        for row in rows:
            answer = Resource.present(self, row, hydrate)
            latest_id, latest_name = latest.get(row.id, (None, None))
            answer["body"].update(tags=tags.get(row.id, []), latest_version_name=latest_name, latest_version_id=latest_id)
            if hydrate:
                answer["metadata"]["has_custom_name"] = row.has_custom_name
            answers.append(answer)
        return answers

    def build(self, session: Session, data: dict, actor: Actor) -> Artifact:
        check_name(data.get("name"), "Artifact")
        return Artifact(name=data["name"], has_custom_name=bool(data.get("has_custom_name")))

    def apply(self, session: Session, row: Artifact, data: dict, actor: Actor) -> None:
        if data.get("name"):
            check_name(data["name"], "Artifact")
            row.name = data["name"]
            row.has_custom_name = True
        if data.get("has_custom_name") is not None:
            row.has_custom_name = data["has_custom_name"]
        row.updated = utcnow()

    def check_unique(self, session: Session, row: Artifact, action: str) -> None:
        with session.no_autoflush:
            clash = session.scalar(
                select(Artifact.id).where(Artifact.name == row.name, Artifact.id != row.id if row.id else true()).limit(1)
            )
        if clash is not None:
            raise EntityExists(
                f"Unable to {action} artifact with name '{row.name}': An artifact with the same name already exists."
            )

    def before_delete(self, session: Session, row: Artifact, actor: Actor) -> None:
        forget_versions(session, select(ArtifactVersion.id).where(ArtifactVersion.artifact_id == row.id))


ARTIFACTS = ArtifactResource()


# --- artifact versions ------------------------------------------------------


class ArtifactVersionResource(Resource):
    noun = "artifact version"
    table = ArtifactVersion
    unique = ()
    tag_type = "artifact_version"
    reads_records = True
    extra_filters = {
        "artifact_id": Kind.UUID,
        "version": Kind.STRING,
        "version_number": Kind.NUMBER,
        "type": Kind.STRING,
        "artifact_store_id": Kind.UUID,
    }

    def filters(self) -> dict[str, FilterField]:
        t = ArtifactVersion
        fields = super().filters()
        fields.update(
            uri=FilterField(Kind.STRING, t.uri, sortable=False),
            materializer=FilterField(Kind.STRING, source_path(t.materializer), sortable=False),
            data_type=FilterField(Kind.STRING, source_path(t.data_type), sortable=False),
            name=related(Kind.STRING, Artifact.name, lambda c: t.artifact_id.in_(select(Artifact.id).where(c))),
            has_custom_name=related(
                Kind.BOOL, Artifact.has_custom_name, lambda c: t.artifact_id.in_(select(Artifact.id).where(c))
            ),
            only_unused=FilterField(
                Kind.BOOL, None, sortable=False, always=True,
                custom=lambda op, value: and_(*_unused()) if parse_bool(value) else true(),
            ),
        )
        return fields

    def sorts(self) -> dict[str, Any]:
        sorts = super().sorts()
        # Versions without a number sort as the smallest on every backend
        # (PostgreSQL would put NULLs first in `desc:version_number`, and the
        # client takes the first item as the latest number).
        sorts["version_number"] = func.coalesce(ArtifactVersion.version_number, -1)
        return sorts

    def present(self, row: ArtifactVersion, hydrate: bool) -> dict:
        return self.present_many(object_session(row), [row], hydrate)[0]

    def present_many(self, session: Session, rows: list, hydrate: bool) -> list[dict]:
        if not rows:
            return []
        ids = [r.id for r in rows]
        # entities and `fetch_versions` records carry their artifact; other records do not
        artifacts = {r.artifact_id: found for r in rows if (found := getattr(r, "artifact", None)) is not None}
        missing = {r.artifact_id for r in rows} - artifacts.keys()
        if missing:
            artifacts.update((a.id, a) for a in fetch_by_ids(session, Artifact, missing))
        both = tags_of(session, {"artifact_version": ids, "artifact": list(artifacts)})
        nested = {
            a["id"]: a for a in ARTIFACTS.present_many(session, list(artifacts.values()), False, tags=both["artifact"])
        }
        tags = both["artifact_version"]
        made_by = producers(session, ids)
        visuals = visualizations_of(session, ids) if hydrate else {}
        metadata = run_metadata_for(session, "artifact_version", ids) if hydrate else {}
        answers = []
        for row in rows:
            step_id, run_id = made_by.get(row.id, (None, None))
            answer = Resource.present(self, row, hydrate)
            answer["body"].update(
                artifact=nested[row.artifact_id],
                version=version_label(row.version, row.version_number),
                uri=row.uri,
                type=row.type,
                materializer=row.materializer,
                data_type=row.data_type,
                tags=tags.get(row.id, []),
                producer_pipeline_run_id=run_id,
            )
            if hydrate:
                answer["metadata"].update(
                    artifact_store_id=row.artifact_store_id,
                    producer_step_run_id=step_id,
                    visualizations=[present_visualization(v) for v in visuals.get(row.id, [])],
                    run_metadata=metadata.get(row.id, {}),
                )
            answers.append(answer)
        return answers

    def build(self, session: Session, data: dict, actor: Actor) -> ArtifactVersion:
        from store.stacks import StackComponent

        if data.get("version") is None:
            lock_artifact(session, data["artifact_id"])
        connection = records.connection(session)
        artifact = connection.execute(_ARTIFACT_EXISTS, {"id": data["artifact_id"]}).first()
        if artifact is None:
            raise NotFound(f"Unable to get artifact with ID {data['artifact_id']}: No artifact with this ID found.")
        store_id = data.get("artifact_store_id")
        if store_id is not None and connection.execute(
            select(StackComponent.id).where(StackComponent.id == bindparam("id")), {"id": store_id}
        ).first() is None:
            raise NotFound(f"Unable to get artifact store with ID '{store_id}': No stack component with this ID found.")
        version = data.get("version")
        if version is None:
            version = next_version_number(session, artifact.id)
        elif isinstance(version, bool) or not isinstance(version, (str, int)):
            raise InvalidInput("version: the version of an artifact is a string or an integer.")
        version = str(version)
        if not version or len(version) >= MAX_NAME:
            raise InvalidInput(f"version: the length of the version must be between 1 and {MAX_NAME - 1} characters.")
        row = ArtifactVersion(
            artifact_id=artifact.id, version=version, version_number=_as_number(version),
            type=data["type"], uri=data["uri"], materializer=data["materializer"], data_type=data["data_type"],
            artifact_store_id=store_id,
        )
        self.assign_owner(session, row, data, actor)
        return row

    def after_create(self, session: Session, row: ArtifactVersion, actor: Actor) -> None:
        # explicit, increasing timestamps keep the visualizations' order,
        # which `visualize?index=` refers to
        start = utcnow()
        for position, visual in enumerate(getattr(row, "_visualizations", None) or []):
            stamp = start + timedelta(microseconds=position)
            session.add(ArtifactVisualization(
                artifact_version_id=row.id, type=visual["type"], uri=visual["uri"], created=stamp, updated=stamp,
            ))
        attach_tags(session, "artifact_version", row.id, getattr(row, "_tags", None))

    def check_unique(self, session: Session, row: ArtifactVersion, action: str) -> None:
        with session.no_autoflush:
            clash = session.scalar(
                select(ArtifactVersion.id).where(
                    ArtifactVersion.artifact_id == row.artifact_id, ArtifactVersion.version == row.version,
                    ArtifactVersion.id != row.id if row.id else true(),
                ).limit(1)
            )
        if clash is not None:
            name = session.scalar(select(Artifact.name).where(Artifact.id == row.artifact_id))
            raise EntityExists(
                f"Unable to create artifact with name '{name}' and version "
                f"'{row.version}': An artifact with the same name and version already exists."
            )

    def apply(self, session: Session, row: ArtifactVersion, data: dict, actor: Actor) -> None:
        # ZenML's ArtifactVersionUpdate changes tags only (`name` is ignored)
        row.updated = utcnow()

    def before_delete(self, session: Session, row: ArtifactVersion, actor: Actor) -> None:
        # as ZenML: the version goes with its step links, model links and
        # visualizations (database cascades), its tags and run metadata
        forget_versions(session, [row.id])


_ARTIFACT_EXISTS = select(Artifact.id).where(Artifact.id == bindparam("id"))


def _as_number(version: str) -> int | None:
    """The version's number, as ZenML reads it (`int(version)`); a number
    beyond the column's 32 bits (a timestamp-like version) stays a name."""
    try:
        number = int(version)
    except ValueError:
        return None
    return number if -2**31 <= number < 2**31 else None


def lock_artifact(session: Session, artifact_id: Any) -> None:
    """Serialize the numbering of an artifact's versions: a no-op UPDATE,
    as the first statement of the unit of work, locks the artifact row on
    PostgreSQL and MariaDB (so the reads that follow see every version
    committed before) and takes SQLite's write lock."""
    session.execute(update(Artifact).where(Artifact.id == artifact_id).values(updated=Artifact.updated))


def next_version_number(session: Session, artifact_id: Any) -> int:
    """The next auto-incremented version of an artifact: its largest number + 1."""
    largest = session.scalar(
        select(func.max(ArtifactVersion.version_number)).where(ArtifactVersion.artifact_id == artifact_id)
    )
    return (largest or 0) + 1


ARTIFACT_VERSIONS = ArtifactVersionResource()


def create_artifact_version(db: Database, data: dict, actor: Actor) -> dict:
    """`POST /artifact_versions`: a version, its visualizations and tags.

    Without a `version`, the next number of the artifact is taken while
    the artifact row is locked. When two requests still collide (the same
    new tag, or an explicit version taking the number meanwhile), a unique
    key refuses one, which tries again with fresh reads; an explicit
    version that exists is refused at once.
    """
    for attempt in range(CREATE_ATTEMPTS):
        try:
            with db.unit_of_work() as session:
                row = ARTIFACT_VERSIONS.build(session, data, actor)
                row._visualizations = data.get("visualizations")
                row._tags = data.get("tags")
                ARTIFACT_VERSIONS.check_unique(session, row, "create")
                session.add(row)
                session.flush()
                ARTIFACT_VERSIONS.after_create(session, row, actor)
                version_id = row.id
            break
        except EntityExists as err:
            numbered = data.get("version") is None
            if not (numbered or isinstance(err.__cause__, IntegrityError)) or attempt == CREATE_ATTEMPTS - 1:
                raise
            time.sleep(random.uniform(0.005, 0.02) * (attempt + 1))
    # presented after the commit: SQLite's write lock is not held meanwhile
    with db.reading() as session:
        return ARTIFACT_VERSIONS.present_many(session, fetch_versions(session, [version_id]), True)[0]


def prune_artifact_versions(db: Database, only_versions: bool, actor: Actor) -> None:
    """`DELETE /artifact_versions/`: delete the versions no step uses and,
    unless `only_versions`, the artifacts left without versions."""
    from store.tags import TagLink

    with db.unit_of_work() as session:
        unused = list(session.scalars(select(ArtifactVersion.id).where(*_unused())))
        for start in range(0, len(unused), 500):
            # re-checked in each statement: a step may link a version meanwhile
            chunk = select(ArtifactVersion.id).where(ArtifactVersion.id.in_(unused[start:start + 500]), *_unused())
            forget_versions(session, list(session.scalars(chunk)))
            session.execute(
                ArtifactVersion.__table__.delete().where(ArtifactVersion.id.in_(unused[start:start + 500]), *_unused())
            )
        if not only_versions:
            empty = list(session.scalars(select(Artifact.id).where(Artifact.id.not_in(select(ArtifactVersion.artifact_id)))))
            for start in range(0, len(empty), 500):
                chunk = empty[start:start + 500]
                session.execute(TagLink.__table__.delete().where(
                    TagLink.resource_type == "artifact", TagLink.resource_id.in_(chunk)
                ))
                session.execute(Artifact.__table__.delete().where(
                    Artifact.id.in_(chunk), Artifact.id.not_in(select(ArtifactVersion.artifact_id))
                ))
