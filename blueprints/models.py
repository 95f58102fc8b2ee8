"""Models, model versions and their links to artifact versions and runs."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from blueprints.context import actor, db
from blueprints.contract import endpoint
from blueprints.crud import LISTED, list_params, resource_routes, workspace_routes
from store import model_registry as registry

WS = "/api/v1/workspaces/{workspace_name_or_id}"
VERSION = "/api/v1/model_versions/{model_version_id}"

models = Blueprint("models", __name__, description="Models.")
resource_routes(models, registry.MODELS, "/api/v1/models", "/api/v1/models/{model_name_or_id}", ops=("list", "get", "delete"))
resource_routes(models, registry.MODELS, "/api/v1/models", "/api/v1/models/{model_id}", ops=("update",))
workspace_routes(models, registry.MODELS, WS + "/models", ops=("create",))

MODEL_VERSIONS_OF_MODEL = "/api/v1/models/{model_name_or_id}/model_versions"
LISTED.append((MODEL_VERSIONS_OF_MODEL, registry.MODEL_VERSIONS))


@endpoint(models, "GET", MODEL_VERSIONS_OF_MODEL)
def list_versions_of_model(query: dict, model_name_or_id: str) -> Any:
    """List the versions of a model."""
    return registry.list_versions_of_model(db(), model_name_or_id, list_params(query), actor())


@endpoint(models, "POST", WS + "/models/{model_name_or_id}/model_versions")
def create_model_version(body: dict, workspace_name_or_id: str, model_name_or_id: str) -> Any:
    """Create a model version, numbered after the model's highest."""
    return registry.create_model_version(db(), workspace_name_or_id, model_name_or_id, body, actor())


model_versions = Blueprint("model_versions", __name__, description="Model versions.")
resource_routes(
    model_versions, registry.MODEL_VERSIONS, "/api/v1/model_versions", VERSION,
    ops=("list", "get", "update", "delete"),
)


@endpoint(model_versions, "DELETE", VERSION + "/artifacts")
def delete_all_model_version_artifact_links(query: dict, model_version_id) -> Any:
    """Delete every artifact link of a model version (and the artifact versions unless only_links)."""
    registry.delete_artifact_links(db(), model_version_id, query.get("only_links", True))
    return None


@endpoint(model_versions, "DELETE", VERSION + "/artifacts/{model_version_artifact_link_name_or_id}")
def delete_model_version_artifact_link(model_version_id, model_version_artifact_link_name_or_id: str) -> Any:
    """Delete an artifact link of a model version, by id or artifact name."""
    registry.delete_link(db(), registry.MODEL_VERSION_ARTIFACTS, model_version_id, model_version_artifact_link_name_or_id)
    return None


@endpoint(model_versions, "DELETE", VERSION + "/runs/{model_version_pipeline_run_link_name_or_id}")
def delete_model_version_pipeline_run_link(model_version_id, model_version_pipeline_run_link_name_or_id: str) -> Any:
    """Delete a pipeline run link of a model version, by id or run name."""
    registry.delete_link(db(), registry.MODEL_VERSION_RUNS, model_version_id, model_version_pipeline_run_link_name_or_id)
    return None


@endpoint(model_versions, "POST", WS + "/model_versions/{model_version_id}/artifacts")
def create_model_version_artifact_link(body: dict, workspace_name_or_id: str, model_version_id) -> Any:
    """Link an artifact version to a model version (the existing link if there is one)."""
    return registry.create_link(db(), registry.MODEL_VERSION_ARTIFACTS, workspace_name_or_id, model_version_id, body, actor())


@endpoint(model_versions, "POST", WS + "/model_versions/{model_version_id}/runs")
def create_model_version_pipeline_run_link(body: dict, workspace_name_or_id: str, model_version_id) -> Any:
    """Link a pipeline run to a model version (the existing link if there is one)."""
    return registry.create_link(db(), registry.MODEL_VERSION_RUNS, workspace_name_or_id, model_version_id, body, actor())


artifact_links = Blueprint("model_version_artifacts", __name__, description="Links of model versions to artifact versions.")
resource_routes(artifact_links, registry.MODEL_VERSION_ARTIFACTS, "/api/v1/model_version_artifacts", "/api/v1/model_version_artifacts/{link_id}", ops=("list",))

run_links = Blueprint("model_version_pipeline_runs", __name__, description="Links of model versions to pipeline runs.")
resource_routes(run_links, registry.MODEL_VERSION_RUNS, "/api/v1/model_version_pipeline_runs", "/api/v1/model_version_pipeline_runs/{link_id}", ops=("list",))

BLUEPRINTS = (models, model_versions, artifact_links, run_links)
