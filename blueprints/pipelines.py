"""Pipelines, builds, deployments, schedules and run templates."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_smorest import Blueprint

from blueprints.context import actor, db, settings
from blueprints.contract import endpoint
from blueprints.crud import LISTED, list_params, resource_routes, workspace_routes
from store import crud
from store import pipelines as store
from store.runs import RUNS

WS = "/api/v1/workspaces/{workspace_name_or_id}"

pipelines = Blueprint("pipelines", __name__, description="Pipelines.")
resource_routes(
    pipelines, store.PIPELINES, "/api/v1/pipelines", "/api/v1/pipelines/{pipeline_id}",
    ops=("list", "get", "update", "delete"),
)
workspace_routes(pipelines, store.PIPELINES, WS + "/pipelines")


LISTED.append(("/api/v1/pipelines/{pipeline_id}/runs", RUNS))


@endpoint(pipelines, "GET", "/api/v1/pipelines/{pipeline_id}/runs")
def list_pipeline_runs(query: dict, pipeline_id) -> Any:
    """List the runs of a pipeline."""
    return store.list_pipeline_runs(db(), pipeline_id, list_params(query), actor())


builds = Blueprint("pipeline_builds", __name__, description="Pipeline builds.")
resource_routes(
    builds, store.BUILDS, "/api/v1/pipeline_builds", "/api/v1/pipeline_builds/{build_id}",
    ops=("list", "get", "delete"),
)
workspace_routes(builds, store.BUILDS, WS + "/pipeline_builds")

deployments = Blueprint("pipeline_deployments", __name__, description="Pipeline deployments.")
resource_routes(
    deployments, store.DEPLOYMENTS, "/api/v1/pipeline_deployments",
    "/api/v1/pipeline_deployments/{deployment_id}", ops=("list", "get", "delete"),
)
workspace_routes(deployments, store.DEPLOYMENTS, WS + "/pipeline_deployments", ops=("list",))


@endpoint(deployments, "POST", WS + "/pipeline_deployments")
def create_deployment(body: dict, workspace_name_or_id: str) -> Any:
    """Create a deployment in a workspace."""
    # validated above; the configurations are kept as sent (see the store)
    sent = request.get_json()
    data = {**body, **{k: sent[k] for k in store.VERBATIM_DEPLOYMENT_FIELDS if k in sent}}
    return crud.create_in_workspace(db(), store.DEPLOYMENTS, workspace_name_or_id, data, actor())


schedules = Blueprint("schedules", __name__, description="Schedules.")
resource_routes(
    schedules, store.SCHEDULES, "/api/v1/schedules", "/api/v1/schedules/{schedule_id}",
    ops=("list", "get", "update", "delete"),
)
workspace_routes(schedules, store.SCHEDULES, WS + "/schedules", ops=("create",))

# Run templates answer under the server's TEMPLATES_ALLOW_LOCAL_COMPONENTS
# setting, so their routes pick the resource per request.
templates = Blueprint("run_templates", __name__, description="Run templates.")


def _templates() -> store.RunTemplateResource:
    return store.run_templates(settings()["TEMPLATES_ALLOW_LOCAL_COMPONENTS"])


@endpoint(templates, "GET", "/api/v1/run_templates")
def list_run_templates(query: dict) -> Any:
    """List run templates."""
    return crud.list_entities(db(), _templates(), list_params(query), actor())


@endpoint(templates, "GET", "/api/v1/run_templates/{template_id}")
def get_run_template(query: dict, template_id) -> Any:
    """Get a run template."""
    return crud.get_entity(db(), _templates(), template_id, actor(), hydrate=query.get("hydrate", True))


@endpoint(templates, "PUT", "/api/v1/run_templates/{template_id}")
def update_run_template(body: dict, template_id) -> Any:
    """Update a run template."""
    return crud.update_entity(db(), _templates(), template_id, body, actor())


@endpoint(templates, "DELETE", "/api/v1/run_templates/{template_id}")
def delete_run_template(template_id) -> Any:
    """Delete a run template."""
    crud.delete_entity(db(), _templates(), template_id, actor())
    return None


@endpoint(templates, "GET", WS + "/run_templates")
def list_workspace_run_templates(query: dict, workspace_name_or_id: str) -> Any:
    """List the run templates of a workspace."""
    return crud.list_in_workspace(db(), _templates(), workspace_name_or_id, list_params(query), actor())


@endpoint(templates, "POST", WS + "/run_templates")
def create_run_template(body: dict, workspace_name_or_id: str) -> Any:
    """Create a run template in a workspace."""
    return crud.create_in_workspace(db(), _templates(), workspace_name_or_id, body, actor())


LISTED.extend([("/api/v1/run_templates", store.RUN_TEMPLATES), (WS + "/run_templates", store.RUN_TEMPLATES)])

BLUEPRINTS = (pipelines, builds, deployments, schedules, templates)
