"""Pipeline runs and step runs."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from blueprints.context import actor, db, settings
from blueprints.contract import endpoint
from blueprints.crud import list_params, resource_routes, workspace_routes
from store import crud
from store import runs as run_store
from store.artifact_files import local_file_bytes

WS = "/api/v1/workspaces/{workspace_name_or_id}"
RUN = "/api/v1/runs/{run_id}"
STEP = "/api/v1/steps/{step_id}"

runs = Blueprint("runs", __name__, description="Pipeline runs.")
resource_routes(runs, run_store.RUNS, "/api/v1/runs", RUN, ops=("list", "get", "delete"))
workspace_routes(runs, run_store.RUNS, WS + "/runs", ops=("list",))


@endpoint(runs, "POST", WS + "/runs")
def create_pipeline_run(workspace_name_or_id: str, body: dict) -> Any:
    """Create a pipeline run."""
    return run_store.create_run(db(), workspace_name_or_id, body, actor())


@endpoint(runs, "POST", WS + "/runs/get-or-create")
def get_or_create_pipeline_run(workspace_name_or_id: str, body: dict) -> Any:
    """Get or create a pipeline run (answers the run and whether it was created)."""
    return run_store.get_or_create_run(db(), workspace_name_or_id, body, actor())


@endpoint(runs, "PUT", RUN)
def update_run(run_id, body: dict) -> Any:
    """Update a pipeline run: status, end time, model version, tags."""
    return run_store.update_run(db(), run_id, body, actor())


@endpoint(runs, "GET", RUN + "/steps")
def get_run_steps(run_id, query: dict) -> Any:
    """List the steps of a pipeline run."""
    params = list_params(query)
    params.filters["pipeline_run_id"] = str(run_id)
    page = crud.list_entities(db(), run_store.STEPS, params, actor())
    if not page["total"]:
        crud.get_entity(db(), run_store.RUNS, run_id, actor(), hydrate=False)  # 404 for no run
    return page


@endpoint(runs, "GET", RUN + "/status")
def get_run_status(run_id) -> Any:
    """Get the status of a pipeline run."""
    return run_store.run_field(db(), run_id, "status")


@endpoint(runs, "GET", RUN + "/pipeline-configuration")
def get_pipeline_configuration(run_id) -> Any:
    """Get the pipeline configuration of a run."""
    return run_store.run_field(db(), run_id, "configuration")


steps = Blueprint("steps", __name__, description="Step runs.")
resource_routes(steps, run_store.STEPS, "/api/v1/steps", STEP, ops=("list", "get"))


@endpoint(steps, "POST", "/api/v1/steps")
def create_run_step(body: dict) -> Any:
    """Create a step run."""
    return run_store.create_step(db(), body, actor())


@endpoint(steps, "PUT", STEP)
def update_step(step_id, body: dict) -> Any:
    """Update a step run; its pipeline run's status follows."""
    return run_store.update_step(db(), step_id, body, actor())


@endpoint(steps, "GET", STEP + "/status")
def get_step_status(step_id) -> Any:
    """Get the status of a step run."""
    return run_store.step_field(db(), step_id, "status")


@endpoint(steps, "GET", STEP + "/step-configuration")
def get_step_configuration(step_id) -> Any:
    """Get the configuration of a step run."""
    return run_store.step_field(db(), step_id, "configuration")


@endpoint(steps, "GET", STEP + "/logs")
def get_step_logs(step_id, query: dict) -> Any:
    """Get the logs of a step run (from a local artifact store)."""
    uri, store_id = run_store.step_logs_location(db(), step_id)
    data = local_file_bytes(
        db(), store_id, uri, query.get("offset", 0), query.get("length"), protected=[settings()["DATA_DIR"]]
    )
    return data.decode("utf-8", errors="replace")


BLUEPRINTS = (runs, steps)
