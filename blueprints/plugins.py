"""Plugin flavors: the event sources and actions this server knows."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from blueprints.contract import endpoint
from store import plugin_flavors

blp = Blueprint("plugins", __name__, description="Event-source and action flavors.")


@endpoint(blp, "GET", "/api/v1/plugin-flavors")
def list_plugin_flavors(query: dict) -> Any:
    """List the flavors of a plugin type and subtype."""
    return plugin_flavors.list_plugin_flavors(
        query["type"], query["subtype"], query.get("page", 1), query.get("size", 20), bool(query.get("hydrate")),
    )


@endpoint(blp, "GET", "/api/v1/plugin-flavors/{name}")
def get_plugin_flavor(query: dict, name: str) -> Any:
    """Get a plugin flavor."""
    return plugin_flavors.get_plugin_flavor(name, query["type"], query["subtype"])


BLUEPRINTS = (blp,)
