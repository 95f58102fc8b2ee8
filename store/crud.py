"""The generic use cases: list, get, create, update and delete any resource.

Each opens one unit of work, so a request either commits whole or leaves
nothing behind. The answers are response models (plain dicts) built inside
the session, so nothing lazy is touched after it closes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import lazyload

from store.db import Database
from store.filtering import ListParams, paginate, sort_order, where_clause
from store.records import fetch
from store.resources import Actor, Resource
from store.tags import attach_tags, detach_tags, forget_tags


def find_row(session, resource: Resource, name_or_id: Any, workspace_id=None, as_record: bool = False):
    """The row named or identified by `name_or_id` (an ORM entity, or a
    `Record` with `as_record`), or NotFound."""
    query = resource.base_query().where(resource.lookup(name_or_id))
    if workspace_id is not None and hasattr(resource.table, "workspace_id"):
        query = query.where(resource.table.workspace_id == workspace_id)
    query = query.limit(1)
    row = next(iter(as_records(session, query)), None) if as_record else session.scalars(query).unique().first()
    if row is None:
        raise resource.not_found(name_or_id)
    return row


def list_entities(
    db: Database,
    resource: Resource,
    params: ListParams,
    actor: Actor,
    scope: dict[str, Any] | None = None,
) -> dict:
    """A page of a resource, filtered, sorted and presented."""
    with db.reading() as session:
        query = resource.base_query()
        condition = where_clause(resource.filters(), params, db.backend)
        if condition is not None:
            query = query.where(condition)
        for column, value in (scope or {}).items():
            query = query.where(getattr(resource.table, column) == value)
        visible = resource.visible(actor)
        if visible is not None:
            query = query.where(visible)
        order = sort_order(resource.sorts(), params.sort_by, resource.table.id)
        page = paginate(
            session,
            query,
            order,
            params,
            lambda rows: resource.present_many(session, rows, params.hydrate),
            (lambda page_query: as_records(session, page_query)) if resource.reads_records else None,
        )
        return page.as_dict()


def as_records(session, query) -> list:
    """The rows of an entity select as Records (see `Resource.reads_records`):
    the entity's columns, without its eager loads."""
    return fetch(session, query.options(lazyload("*")))


def get_entity(
    db: Database, resource: Resource, name_or_id: Any, actor: Actor, hydrate: bool = True
) -> dict:
    with db.reading() as session:
        row = find_row(session, resource, name_or_id, as_record=resource.reads_records)
        resource.authorize("read", actor, row)
        if resource.reads_records:  # a record has no session to present itself with
            return resource.present_many(session, [row], hydrate)[0]
        return resource.present(row, hydrate)


def create_entity(db: Database, resource: Resource, data: dict, actor: Actor) -> dict:
    with db.unit_of_work() as session:
        resource.authorize("create", actor, None)
        row = resource.build(session, data, actor)
        resource.check_unique(session, row, "create")
        session.add(row)
        session.flush()
        if resource.tag_type:
            attach_tags(session, resource.tag_type, row.id, data.get("tags"))
        resource.after_create(session, row, actor)
        return resource.present(row, hydrate=True)


def update_entity(
    db: Database, resource: Resource, name_or_id: Any, data: dict, actor: Actor
) -> dict:
    with db.unit_of_work() as session:
        row = find_row(session, resource, name_or_id)
        resource.authorize("update", actor, row)
        resource.apply(session, row, data, actor)
        resource.check_unique(session, row, "update")
        if resource.tag_type:
            attach_tags(session, resource.tag_type, row.id, data.get("add_tags"))
            detach_tags(session, resource.tag_type, row.id, data.get("remove_tags"))
        session.flush()
        return resource.present(row, hydrate=True)


def create_in_workspace(
    db: Database, resource: Resource, workspace: Any, data: dict, actor: Actor
) -> dict:
    """Create through `/workspaces/{workspace}/...`: the body must agree."""
    from store.errors import IllegalOperation
    from store.workspaces import WORKSPACES

    with db.reading() as session:
        workspace_id = find_row(session, WORKSPACES, workspace).id
    if data.get("workspace") is None:
        data = {**data, "workspace": workspace_id}
    elif data["workspace"] != workspace_id:
        raise IllegalOperation(
            f"The workspace of the {resource.noun} ({data['workspace']}) does not "
            f"match the workspace of the URL ({workspace_id})."
        )
    return create_entity(db, resource, data, actor)


def list_in_workspace(
    db: Database, resource: Resource, workspace: Any, params: ListParams, actor: Actor
) -> dict:
    from store.workspaces import WORKSPACES

    with db.reading() as session:
        workspace_id = find_row(session, WORKSPACES, workspace).id
    return list_entities(db, resource, params, actor, scope={"workspace_id": workspace_id})


def delete_entity(db: Database, resource: Resource, name_or_id: Any, actor: Actor) -> None:
    with db.unit_of_work() as session:
        row = find_row(session, resource, name_or_id)
        resource.authorize("delete", actor, row)
        resource.before_delete(session, row, actor)
        if resource.tag_type:
            forget_tags(session, resource.tag_type, row.id)
        session.delete(row)
