"""Workspaces: the resource and its statistics."""

from __future__ import annotations

from typing import Any, Callable

from sqlalchemy.orm import Session

from store.crud import find_row
from store.db import Database
from store.errors import IllegalOperation
from store.resources import Actor, Resource
from store.tables import Workspace

DEFAULT_WORKSPACE = "default"

# Resource modules add a counter here ({"stacks": count_stacks, ...}) so the
# statistics grow with the API without this module knowing them.
STATISTICS: dict[str, Callable[[Session, Any], int]] = {}


class WorkspaceResource(Resource):
    noun = "workspace"
    table = Workspace

    def metadata(self, row: Workspace) -> dict:
        return {"description": row.description}

    def authorize(self, action: str, actor: Actor, row: Workspace | None) -> None:
        if action != "read" and not actor.is_admin:
            raise IllegalOperation(f"Only admin users can {action} workspaces.")

    def after_create(self, session: Session, row: Workspace, actor: Actor) -> None:
        from store.stacks import create_default_stack

        create_default_stack(session, row.id)

    def before_delete(self, session: Session, row: Workspace, actor: Actor) -> None:
        if row.name == DEFAULT_WORKSPACE:
            raise IllegalOperation("The default workspace cannot be deleted.")


WORKSPACES = WorkspaceResource()


def find_workspace(session: Session, name_or_id: Any) -> Any:
    """The workspace a URL names (by id: from the request's records, which
    its answer reads again; by name: a query), or NotFound."""
    from store.records import owner
    from store.resources import as_uuid

    key = as_uuid(name_or_id)
    found = owner(session, "workspace", key) if key is not None else None
    return found if found is not None else find_row(session, WORKSPACES, name_or_id)


def workspace_statistics(db: Database, name_or_id: Any) -> dict[str, int]:
    with db.reading() as session:
        row = find_row(session, WORKSPACES, name_or_id)
        return {name: count(session, row.id) for name, count in STATISTICS.items()}
