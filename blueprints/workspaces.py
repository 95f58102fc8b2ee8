"""Workspaces. Workspace-scoped routes of other resources live with them."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from blueprints.context import db
from blueprints.contract import endpoint
from blueprints.crud import resource_routes
from store import workspaces as workspace_store

blp = Blueprint("workspaces", __name__, description="Workspaces.")

WORKSPACES = "/api/v1/workspaces"
WORKSPACE = "/api/v1/workspaces/{workspace_name_or_id}"

resource_routes(blp, workspace_store.WORKSPACES, WORKSPACES, WORKSPACE)


@endpoint(blp, "GET", WORKSPACE + "/statistics")
def get_workspace_statistics(workspace_name_or_id: str) -> Any:
    """Get the number of stacks, components and pipelines in a workspace."""
    return workspace_store.workspace_statistics(db(), workspace_name_or_id)
