"""Flavors, stack components, stacks and code repositories."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from blueprints.context import actor, db
from blueprints.contract import endpoint
from blueprints.crud import resource_routes, workspace_routes
from store import stacks as stack_store
from store.code_repositories import CODE_REPOSITORIES

WS = "/api/v1/workspaces/{workspace_name_or_id}"

flavors = Blueprint("flavors", __name__, description="Stack component flavors.")
resource_routes(flavors, stack_store.FLAVORS, "/api/v1/flavors", "/api/v1/flavors/{flavor_id}")


@endpoint(flavors, "PATCH", "/api/v1/flavors/sync")
def sync_flavors() -> Any:
    """Sync the built-in flavors of the ZenML 0.66.0 catalog into the store."""
    stack_store.sync_flavors(db(), actor())
    return None


components = Blueprint("stack_components", __name__, description="Stack components.")
resource_routes(
    components, stack_store.COMPONENTS, "/api/v1/components", "/api/v1/components/{component_id}",
    ops=("list", "get", "update", "delete"),
)
workspace_routes(components, stack_store.COMPONENTS, WS + "/components")


@endpoint(components, "GET", "/api/v1/component-types")
def get_stack_component_types() -> Any:
    """List the stack component types."""
    return list(stack_store.COMPONENT_TYPES)


stacks = Blueprint("stacks", __name__, description="Stacks.")
resource_routes(stacks, stack_store.STACKS, "/api/v1/stacks", "/api/v1/stacks/{stack_id}", ops=("list", "get", "update", "delete"))
workspace_routes(stacks, stack_store.STACKS, WS + "/stacks")

code_repositories = Blueprint("code_repositories", __name__, description="Code repositories.")
resource_routes(
    code_repositories, CODE_REPOSITORIES, "/api/v1/code_repositories",
    "/api/v1/code_repositories/{code_repository_id}", ops=("list", "get", "update", "delete"),
)
workspace_routes(code_repositories, CODE_REPOSITORIES, WS + "/code_repositories")

BLUEPRINTS = (flavors, components, stacks, code_repositories)
