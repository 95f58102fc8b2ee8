"""Services: model deployers' records of the model servers they run."""

from __future__ import annotations

from flask_smorest import Blueprint

from blueprints.crud import resource_routes, workspace_routes
from store.services import SERVICES

blp = Blueprint("services", __name__, description="Services (model servers).")
resource_routes(blp, SERVICES, "/api/v1/services", "/api/v1/services/{service_id}")
workspace_routes(blp, SERVICES, "/api/v1/workspaces/{workspace_name_or_id}/services", ops=("create",))

BLUEPRINTS = (blp,)
