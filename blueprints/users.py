"""User accounts, and the caller's own account (`/current-user`)."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from blueprints.context import actor, db
from blueprints.contract import endpoint
from blueprints.crud import resource_routes
from store import users as user_store

blp = Blueprint("users", __name__, description="User accounts.")

USERS = "/api/v1/users"
USER = "/api/v1/users/{user_name_or_id}"

resource_routes(blp, user_store.USERS, USERS, USER, ops=("list", "create", "get", "delete"))


@endpoint(blp, "PUT", USER)
def update_user(user_name_or_id: str, body: dict) -> Any:
    """Update a user account."""
    return user_store.update_user(db(), user_name_or_id, body, actor())


@endpoint(blp, "PUT", USER + "/activate", public=True)
def activate_user(user_name_or_id: str, body: dict) -> Any:
    """Activate a user account with its activation token."""
    return user_store.activate_user(db(), user_name_or_id, body)


@endpoint(blp, "PUT", USER + "/deactivate")
def deactivate_user(user_name_or_id: str) -> Any:
    """Deactivate a user account; the answer carries a new activation token."""
    return user_store.deactivate_user(db(), user_name_or_id, actor())


@endpoint(blp, "PUT", USER + "/email-opt-in")
def email_opt_in_response(user_name_or_id: str, body: dict) -> Any:
    """Record a user's answer to the email opt-in."""
    return user_store.email_opt_in(db(), user_name_or_id, body, actor())


@endpoint(blp, "GET", "/api/v1/current-user")
def get_current_user() -> Any:
    """Get the authenticated user account."""
    return user_store.present_user(db(), actor().id, hydrate=True)


@endpoint(blp, "PUT", "/api/v1/current-user")
def update_myself(body: dict) -> Any:
    """Update the authenticated user account."""
    return user_store.update_user(db(), actor().id, body, actor(), myself=True)
