"""Artifacts and artifact versions (with pruning and visualizations)."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from blueprints.context import actor, db, settings
from blueprints.contract import endpoint
from blueprints.crud import resource_routes
from store import artifacts as artifact_store
from store.visualizations import load_visualization

VERSIONS = "/api/v1/artifact_versions"
VERSION = VERSIONS + "/{artifact_version_id}"

artifacts = Blueprint("artifacts", __name__, description="Artifacts.")
resource_routes(artifacts, artifact_store.ARTIFACTS, "/api/v1/artifacts", "/api/v1/artifacts/{artifact_id}")

versions = Blueprint("artifact_versions", __name__, description="Artifact versions.")
resource_routes(versions, artifact_store.ARTIFACT_VERSIONS, VERSIONS, VERSION, ops=("list", "get", "update", "delete"))


@endpoint(versions, "POST", VERSIONS)
def create_artifact_version(body: dict) -> Any:
    """Create an artifact version."""
    return artifact_store.create_artifact_version(db(), body, actor())


@endpoint(versions, "DELETE", VERSIONS + "/")
def prune_artifact_versions(query: dict) -> Any:
    """Prune the artifact versions no step uses (and, optionally, their artifacts)."""
    artifact_store.prune_artifact_versions(db(), query.get("only_versions", True), actor())
    return None


@endpoint(versions, "GET", VERSION + "/visualize")
def get_artifact_visualization(artifact_version_id, query: dict) -> Any:
    """Get a visualization of an artifact version."""
    return load_visualization(db(), artifact_version_id, query.get("index", 0), protected=[settings()["DATA_DIR"]])


BLUEPRINTS = (artifacts, versions)
