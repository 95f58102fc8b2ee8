"""Run metadata of runs, steps, artifact versions and model versions."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from blueprints.context import actor, db
from blueprints.contract import endpoint
from blueprints.crud import resource_routes
from store import run_metadata as metadata_store

blp = Blueprint("run_metadata", __name__, description="Run metadata.")
resource_routes(
    blp, metadata_store.RUN_METADATA, "/api/v1/run-metadata", "/api/v1/run-metadata/{run_metadata_id}",
    ops=("list", "get"),
)


@endpoint(blp, "POST", "/api/v1/workspaces/{workspace_name_or_id}/run-metadata")
def create_run_metadata(workspace_name_or_id: str, body: dict) -> Any:
    """Create run metadata in a workspace: one entry per key."""
    return metadata_store.create_run_metadata(db(), workspace_name_or_id, body, actor())


BLUEPRINTS = (blp,)
