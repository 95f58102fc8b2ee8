"""The lineage graph of a pipeline run (the DAG of the dashboard's run page)."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from blueprints.context import actor, db
from blueprints.contract import endpoint
from store import lineage as lineage_store

blp = Blueprint("lineage", __name__, description="Lineage graphs of pipeline runs.")


@endpoint(blp, "GET", "/api/v1/runs/{run_id}/graph")
def get_run_dag(run_id) -> Any:
    """Get the DAG of a pipeline run: its steps, artifacts and their edges."""
    return lineage_store.run_graph(db(), run_id, actor())


BLUEPRINTS = (blp,)
