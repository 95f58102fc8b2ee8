"""Tags."""

from __future__ import annotations

from flask_smorest import Blueprint

from blueprints.crud import resource_routes
from store.tags import TAGS

blp = Blueprint("tags", __name__, description="Tags.")
resource_routes(blp, TAGS, "/api/v1/tags", "/api/v1/tags/{tag_name_or_id}", ops=("list", "create", "get", "delete"))
# ZenML updates a tag by its id only
resource_routes(blp, TAGS, "/api/v1/tags", "/api/v1/tags/{tag_id}", ops=("update",))

BLUEPRINTS = (blp,)
