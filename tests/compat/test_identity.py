"""Who the client is and what server it talks to."""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.compat


def test_store_info(zenml_client):
    out = zenml_client.run(
        """
        from zenml.client import Client

        store = Client().zen_store
        result["store_type"] = str(store.type.value)
        result["info"] = store.get_store_info()
        """
    )
    info = out["info"]
    assert out["store_type"] == "rest"
    assert info["version"] == "0.66.0"
    assert info["auth_scheme"] == "OAUTH2_PASSWORD_BEARER"
    assert info["active"] is True
    uuid.UUID(info["id"])


def test_active_user_is_the_default_admin(zenml_client):
    out = zenml_client.run(
        """
        from zenml.client import Client

        user = Client().active_user
        result["name"] = user.name
        result["is_admin"] = user.is_admin
        result["active"] = user.active
        result["is_service_account"] = user.is_service_account
        """
    )
    assert out == {"name": "default", "is_admin": True, "active": True, "is_service_account": False}
