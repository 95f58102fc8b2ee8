"""Routes for the common case: list, get, create, update, delete.

A resource's router declares its contract paths and which of the five
operations it serves generically; anything special is written beside it
with `blueprints.contract.endpoint`.
"""

from __future__ import annotations

from typing import Any, Iterable

from flask_smorest import Blueprint

from blueprints.context import actor, db
from blueprints.contract import endpoint
from store import crud
from store.filtering import ListParams
from store.resources import Resource

PAGING_KEYS = ("page", "size", "sort_by", "logical_operator", "hydrate")
#: Query parameters that change what a list shows, not which rows it lists.
OPTION_KEYS = ("expand_secrets",)

#: (contract path, resource) of every generic list route, so a test can
#: check that each query parameter of the contract is a filter we apply.
LISTED: list[tuple[str, Resource]] = []


def list_params(query: dict) -> ListParams:
    """ListParams from a validated query; the other keys are filters."""
    filters = {k: v for k, v in query.items() if k not in PAGING_KEYS + OPTION_KEYS and v is not None}
    return ListParams(
        page=query.get("page", 1),
        size=query.get("size", 20),
        sort_by=query.get("sort_by") or "created",
        logical_operator=query.get("logical_operator") or "and",
        hydrate=bool(query.get("hydrate", False)),
        filters=filters,
    )


def resource_routes(
    blp: Blueprint,
    resource: Resource,
    collection: str,
    item: str,
    ops: Iterable[str] = ("list", "create", "get", "update", "delete"),
) -> None:
    """Register the generic operations of `resource` on `blp`."""
    ops = set(ops)
    noun = resource.noun.replace(" ", "_")
    label = resource.noun
    key = item.rsplit("{", 1)[1].rstrip("}")

    if "list" in ops:

        def list_view(query: dict) -> Any:
            return crud.list_entities(db(), resource, list_params(query), actor())

        LISTED.append((collection, resource))
        list_view.__name__ = f"list_{noun}"
        list_view.__doc__ = f"List {resource.nouns}."
        endpoint(blp, "GET", collection)(list_view)

    if "create" in ops:

        def create_view(body: dict) -> Any:
            return crud.create_entity(db(), resource, body, actor())

        create_view.__name__ = f"create_{noun}"
        create_view.__doc__ = f"Create a {label}."
        endpoint(blp, "POST", collection)(create_view)

    if "get" in ops:

        def get_view(query: dict, **path: Any) -> Any:
            return crud.get_entity(db(), resource, path[key], actor(), hydrate=query.get("hydrate", True))

        get_view.__name__ = f"get_{noun}"
        get_view.__doc__ = f"Get a {label}."
        endpoint(blp, "GET", item)(get_view)

    if "update" in ops:

        def update_view(body: dict, **path: Any) -> Any:
            return crud.update_entity(db(), resource, path[key], body, actor())

        update_view.__name__ = f"update_{noun}"
        update_view.__doc__ = f"Update a {label}."
        endpoint(blp, "PUT", item)(update_view)

    if "delete" in ops:

        def delete_view(**path: Any) -> Any:
            crud.delete_entity(db(), resource, path[key], actor())
            return None

        delete_view.__name__ = f"delete_{noun}"
        delete_view.__doc__ = f"Delete a {label}."
        endpoint(blp, "DELETE", item)(delete_view)


def workspace_routes(blp: Blueprint, resource: Resource, collection: str, ops: Iterable[str] = ("list", "create")) -> None:
    """`/workspaces/{workspace_name_or_id}/<things>`: list and create in one workspace."""
    noun = resource.noun.replace(" ", "_")

    if "list" in ops:

        def list_view(query: dict, workspace_name_or_id: str) -> Any:
            return crud.list_in_workspace(db(), resource, workspace_name_or_id, list_params(query), actor())

        LISTED.append((collection, resource))
        list_view.__name__ = f"list_workspace_{noun}"
        list_view.__doc__ = f"List the {resource.nouns} of a workspace."
        endpoint(blp, "GET", collection)(list_view)

    if "create" in ops:

        def create_view(body: dict, workspace_name_or_id: str) -> Any:
            return crud.create_in_workspace(db(), resource, workspace_name_or_id, body, actor())

        create_view.__name__ = f"create_workspace_{noun}"
        create_view.__doc__ = f"Create a {resource.noun} in a workspace."
        endpoint(blp, "POST", collection)(create_view)
