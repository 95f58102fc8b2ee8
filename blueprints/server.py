"""Server endpoints: health, info, version, settings, onboarding, activation."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from blueprints.context import actor, db, settings
from blueprints.contract import endpoint
from store import server as server_store

ZENML_VERSION = "0.66.0"

blp = Blueprint("server", __name__, description="Server information and settings.")


def _database_type() -> str:
    backend = db().backend
    return {"sqlite": "sqlite", "mysql": "mysql", "mariadb": "mysql"}.get(backend, "other")


@endpoint(blp, "GET", "/health", public=True)
def health() -> Any:
    """Health."""
    return "OK"


@endpoint(blp, "GET", "/api/v1/version", public=True)
def version() -> Any:
    """Get the ZenML version the server speaks."""
    return ZENML_VERSION


@endpoint(blp, "GET", "/api/v1/info", public=True)
def server_info() -> Any:
    """Get information about the server."""
    conf = settings()
    facts = server_store.server_facts(db())
    return {
        "id": facts["id"],
        "version": ZENML_VERSION,
        "active": facts["active"],
        "debug": conf["DEBUG"],
        "deployment_type": conf["DEPLOYMENT_TYPE"],
        "database_type": _database_type(),
        "secrets_store_type": "sql",
        "auth_scheme": conf["AUTH_SCHEME"],
        "server_url": conf["SERVER_URL"],
        "dashboard_url": conf["DASHBOARD_URL"],
        # Zenyard sends nothing anywhere; the dashboard reads this flag.
        "analytics_enabled": False,
        "metadata": {"server": "zenyard"},
        "use_legacy_dashboard": False,
        "last_user_activity": facts["last_user_activity"],
    }


@endpoint(blp, "GET", "/api/v1/settings")
def get_settings(query: dict) -> Any:
    """Get the server settings."""
    return server_store.get_settings(db(), hydrate=query.get("hydrate", True))


@endpoint(blp, "PUT", "/api/v1/settings")
def update_server_settings(body: dict) -> Any:
    """Update the server settings."""
    return server_store.update_settings(db(), body, actor())


@endpoint(blp, "GET", "/api/v1/onboarding_state")
def get_onboarding_state() -> Any:
    """Get the onboarding steps completed on this server."""
    return server_store.onboarding_state(db())


@endpoint(blp, "PUT", "/api/v1/activate", public=True)
def activate_server(body: dict) -> Any:
    """Activate the server and optionally create its admin account."""
    return server_store.activate_server(db(), body)
