"""Service accounts and their API keys."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from blueprints.context import actor, db
from blueprints.contract import endpoint
from blueprints.crud import LISTED, list_params, resource_routes
from store import service_accounts as sa_store

blp = Blueprint("service_accounts", __name__, description="Service accounts and API keys.")

ACCOUNTS = "/api/v1/service_accounts"
ACCOUNT = "/api/v1/service_accounts/{service_account_name_or_id}"
KEYS = "/api/v1/service_accounts/{service_account_id}/api_keys"
KEY = KEYS + "/{api_key_name_or_id}"

resource_routes(blp, sa_store.SERVICE_ACCOUNTS, ACCOUNTS, ACCOUNT)


@endpoint(blp, "POST", KEYS)
def create_api_key(service_account_id, body: dict) -> Any:
    """Create an API key; only this answer carries its value."""
    return sa_store.create_api_key(db(), service_account_id, body)


LISTED.append((KEYS, sa_store.API_KEYS))


@endpoint(blp, "GET", KEYS)
def list_api_keys(service_account_id, query: dict) -> Any:
    """List the API keys of a service account."""
    return sa_store.list_api_keys(db(), service_account_id, list_params(query), actor())


@endpoint(blp, "GET", KEY)
def get_api_key(service_account_id, api_key_name_or_id: str, query: dict) -> Any:
    """Get an API key of a service account."""
    return sa_store.get_api_key(db(), service_account_id, api_key_name_or_id, query.get("hydrate", True))


@endpoint(blp, "PUT", KEY)
def update_api_key(service_account_id, api_key_name_or_id: str, body: dict) -> Any:
    """Update an API key (name, description, active)."""
    return sa_store.update_api_key(db(), service_account_id, api_key_name_or_id, body)


@endpoint(blp, "PUT", KEY + "/rotate")
def rotate_api_key(service_account_id, api_key_name_or_id: str, body: dict) -> Any:
    """Rotate an API key; the old value works for retain_period_minutes more."""
    return sa_store.rotate_api_key(db(), service_account_id, api_key_name_or_id, body)


@endpoint(blp, "DELETE", KEY)
def delete_api_key(service_account_id, api_key_name_or_id: str) -> Any:
    """Delete an API key."""
    sa_store.delete_api_key(db(), service_account_id, api_key_name_or_id)
    return None
