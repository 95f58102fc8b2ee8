"""One generic path for ZenML's resources.

Each resource declares what is special about it (table, filter fields,
scope, uniqueness, how a row reads back, how a request writes a row) by
subclassing `Resource`; the use cases in `store.crud` do list, get, create,
update and delete for all of them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement, Select

from store.errors import EntityExists, IllegalOperation, NotFound
from store.filtering import FilterField, Kind, parse_uuid
from store.records import Record, brief


@dataclass(frozen=True)
class Actor:
    """Who is making a request."""

    id: uuid.UUID
    name: str
    is_admin: bool
    is_service_account: bool = False


def as_uuid(value: Any) -> uuid.UUID | None:
    """The UUID `value` spells, or None when it is a name."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


class Resource:
    """A ZenML resource: override what differs from the common case."""

    #: The word used in messages ("Unable to get user with name ...").
    noun: ClassVar[str]
    plural: ClassVar[str] = ""
    table: ClassVar[type]
    #: Columns whose values must be unique together (within the workspace
    #: when the resource is scoped); empty: no uniqueness.
    unique: ClassVar[tuple[str, ...]] = ("name",)
    #: Filter fields beyond id, created and updated (and name if present).
    extra_filters: ClassVar[Mapping[str, Kind]] = {}
    #: ZenML's tag resource type when the resource carries tags: create
    #: requests' `tags` and updates' `add_tags`/`remove_tags` are applied
    #: by the generic use cases.
    tag_type: ClassVar[str | None] = None
    #: Its presentation reads only the row's columns and its `user` and
    #: `workspace`: lists and gets load its rows as `store.records.Record`s,
    #: not as ORM entities (several times cheaper).
    reads_records: ClassVar[bool] = False

    @property
    def nouns(self) -> str:
        return self.plural or self.noun + "s"

    # --- reading -------------------------------------------------------

    def base_query(self) -> Select:
        """Rows of this resource, with what their presentation loads."""
        return select(self.table)

    def filters(self) -> dict[str, FilterField]:
        table = self.table
        fields = {
            "id": FilterField(Kind.UUID, table.id),
            "created": FilterField(Kind.DATETIME, table.created),
            "updated": FilterField(Kind.DATETIME, table.updated),
        }
        if hasattr(table, "name"):
            fields["name"] = FilterField(Kind.STRING, table.name)
        if hasattr(table, "user_id"):
            fields["user_id"] = FilterField(Kind.UUID, table.user_id)
        if hasattr(table, "workspace_id"):
            fields["workspace_id"] = FilterField(Kind.UUID, table.workspace_id)
            # what the client sends to scope a list to its active workspace;
            # rows of no workspace (built-in flavors) belong to every one
            fields["scope_workspace"] = FilterField(
                Kind.UUID, table.workspace_id, sortable=False, always=True,
                custom=lambda op, value: or_(
                    table.workspace_id == parse_uuid(value), table.workspace_id.is_(None)
                ),
            )
        for name, kind in self.extra_filters.items():
            fields[name] = FilterField(kind, getattr(table, name))
        if self.tag_type:
            from store.tags import tag_filter

            fields["tag"] = tag_filter(self.tag_type, table.id)
        return fields

    def sorts(self) -> dict[str, Any]:
        return {
            name: spec.column
            for name, spec in self.filters().items()
            if spec.sortable and spec.custom is None
        }

    def lookup(self, name_or_id: Any) -> ColumnElement:
        """The condition that finds one row by id, or by name."""
        key = as_uuid(name_or_id)
        if key is not None:
            return self.table.id == key
        return self.table.name == str(name_or_id)

    def body(self, row: Any) -> dict:
        return {}

    def metadata(self, row: Any) -> dict:
        return {}

    def resources(self, row: Any) -> dict | None:
        return None

    def present(self, row: Any, hydrate: bool) -> dict:
        """The response model: id, name, body, and metadata when hydrated."""
        body = {"created": row.created, "updated": row.updated}
        if hasattr(row, "user_id"):
            body["user"] = present_brief("user", row.user)
        body.update(self.body(row))
        metadata = None
        if hydrate:
            metadata = {}
            if hasattr(row, "workspace_id"):
                metadata["workspace"] = present_brief("workspace", row.workspace)
            metadata.update(self.metadata(row))
        answer = {
            "id": row.id,
            "permission_denied": False,
            "body": body,
            "metadata": metadata,
            "resources": self.resources(row) if hydrate else None,
        }
        if hasattr(row, "name"):
            answer["name"] = row.name
        return answer

    def present_many(self, session: Session, rows: list, hydrate: bool) -> list[dict]:
        return [self.present(row, hydrate) for row in rows]

    # --- access --------------------------------------------------------

    def visible(self, actor: Actor) -> ColumnElement | None:
        """A condition limiting what `actor` may list; None: everything."""
        return None

    def authorize(self, action: str, actor: Actor, row: Any | None) -> None:
        """Raise when `actor` may not do `action` ('create', 'read', ...)."""

    # --- writing -------------------------------------------------------

    def build(self, session: Session, data: dict, actor: Actor) -> Any:
        """A new row from a validated create request.

        The request's `user` must be the caller (ZenML refuses creating for
        someone else) and its `workspace` must exist; the remaining request
        fields that are columns of the table are copied.
        """
        row = self.table(**self.columns_of(data))
        self.assign_owner(session, row, data, actor)
        return row

    def columns_of(self, data: dict) -> dict:
        columns = self.table.__table__.columns.keys()
        return {
            key: value
            for key, value in data.items()
            if key in columns and key not in ("id", "user_id", "workspace_id", "created", "updated")
        }

    def assign_owner(self, session: Session, row: Any, data: dict, actor: Actor) -> None:
        from store.records import owner

        if hasattr(self.table, "user_id"):
            requested = data.get("user")
            if requested is not None and requested != actor.id:
                raise IllegalOperation(
                    f"Not allowed to create a {self.noun} for a different user."
                )
            row.user_id = actor.id
        if hasattr(self.table, "workspace_id"):
            workspace_id = data.get("workspace")
            if workspace_id is None or owner(session, "workspace", workspace_id) is None:
                raise NotFound(f"Unable to get workspace with ID '{workspace_id}': No workspace with this ID found.")
            row.workspace_id = workspace_id

    def after_create(self, session: Session, row: Any, actor: Actor) -> None:
        """Create what goes with a new row (it has its id and timestamps)."""

    def apply(self, session: Session, row: Any, data: dict, actor: Actor) -> None:
        """Apply a validated update request; None values mean 'unchanged'."""
        for key, value in self.columns_of(data).items():
            if value is not None:
                setattr(row, key, value)

    def before_delete(self, session: Session, row: Any, actor: Actor) -> None:
        """Refuse a delete that would break something (raise), or clean up."""

    # --- helpers used by the generic use cases --------------------------

    def not_found(self, name_or_id: Any) -> NotFound:
        how = "ID" if as_uuid(name_or_id) is not None else "name"
        return NotFound(
            f"Unable to get {self.noun} with name or ID '{name_or_id}': "
            f"No {self.noun} with this {how} found."
        )

    def check_unique(self, session: Session, row: Any, action: str) -> None:
        """Raise EntityExists when another row has the same unique values."""
        if not self.unique:
            return
        columns = list(self.unique)
        if hasattr(self.table, "workspace_id"):
            columns.append("workspace_id")
        conditions = [getattr(self.table, c) == getattr(row, c) for c in columns]
        if row.id is not None:
            conditions.append(self.table.id != row.id)
        with session.no_autoflush:
            clash = session.scalar(select(self.table.id).where(*conditions).limit(1))
        if clash is not None:
            label = self.unique[0]
            raise EntityExists(
                f"Unable to {action} {self.noun} with {label} "
                f"'{getattr(row, label)}': An existing {self.noun} with the "
                f"same {label} already exists."
            )


def present_brief(noun: str, row: Any) -> dict | None:
    """A related user or workspace as ZenML nests it: not hydrated."""
    if row is None:
        return None
    if isinstance(row, Record):
        return brief(row, lambda record: _present_brief(noun, record))
    return _present_brief(noun, row)


def _present_brief(noun: str, row: Any) -> dict:
    if noun == "user":
        from store.users import USERS

        return USERS.present(row, hydrate=False)
    from store.workspaces import WORKSPACES

    return WORKSPACES.present(row, hydrate=False)
