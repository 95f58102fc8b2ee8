"""Secrets and the secrets operations (backup, restore)."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from blueprints.context import actor, db, keyring
from blueprints.contract import endpoint
from blueprints.crud import resource_routes
from store import secrets as secret_store

SECRETS = "/api/v1/secrets"
SECRET = "/api/v1/secrets/{secret_id}"

blp = Blueprint("secrets", __name__, description="Secrets, encrypted at rest.")


# list (no values) and delete are the common case
resource_routes(blp, secret_store.SECRETS, SECRETS, SECRET, ops=("list", "delete"))


@endpoint(blp, "POST", "/api/v1/workspaces/{workspace_name_or_id}/secrets")
def create_secret(body: dict, workspace_name_or_id: str) -> Any:
    """Create a secret in a workspace."""
    return secret_store.create_secret(db(), keyring(), workspace_name_or_id, body, actor())


@endpoint(blp, "GET", SECRET)
def get_secret(query: dict, secret_id) -> Any:
    """Get a secret, with its values if the caller may read them."""
    return secret_store.get_secret(db(), keyring(), secret_id, actor(), hydrate=query.get("hydrate", True))


@endpoint(blp, "PUT", SECRET)
def update_secret(query: dict, body: dict, secret_id) -> Any:
    """Update a secret; without patch_values, the values sent replace all."""
    return secret_store.update_secret(
        db(), keyring(), secret_id, body, actor(), patch_values=bool(query.get("patch_values"))
    )


operations = Blueprint("secrets_operations", __name__, description="Secrets store operations.")


@endpoint(operations, "PUT", "/api/v1/secrets_operations/backup")
def backup_secrets(query: dict) -> Any:
    """Back up every secret (sealed as it is) to the backup table."""
    secret_store.backup_secrets(db(), actor(), delete_secrets=query.get("delete_secrets", False))
    return None


@endpoint(operations, "PUT", "/api/v1/secrets_operations/restore")
def restore_secrets(query: dict) -> Any:
    """Restore the backed-up secrets."""
    secret_store.restore_secrets(
        db(), actor(), ignore_errors=query.get("ignore_errors", False), delete_secrets=query.get("delete_secrets", False)
    )
    return None


BLUEPRINTS = (blp, operations)
