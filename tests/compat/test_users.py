"""Users: list, create, update, deactivate, delete, and logging in as one."""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.compat


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_list_users(zenml_client):
    out = zenml_client.run(
        """
        from zenml.client import Client

        page = Client().list_users()
        result["total"] = page.total
        result["names"] = [user.name for user in page.items]
        """
    )
    assert "default" in out["names"]
    assert out["total"] == len(out["names"])


def test_user_lifecycle(zenml_client):
    name, renamed = _name("alice"), _name("alice-renamed")
    out = zenml_client.run(
        """
        from zenml.client import Client

        client = Client()
        name, renamed = params["name"], params["renamed"]

        created = client.create_user(name=name, password="Secret-pass-1")
        result["created"] = {"name": created.name, "is_admin": created.is_admin, "active": created.active}
        result["listed_after_create"] = name in [u.name for u in client.list_users(size=100).items]

        updated = client.update_user(name, updated_name=renamed, updated_full_name="Alice Example")
        result["updated"] = {"id_kept": updated.id == created.id, "name": updated.name, "full_name": updated.full_name}
        result["get_renamed"] = client.get_user(renamed).full_name
        result["get_old_name"] = raises(client.get_user, name, allow_name_prefix_match=False)

        deactivated = client.deactivate_user(renamed)
        result["deactivated"] = {"active": deactivated.active, "has_activation_token": bool(deactivated.activation_token)}
        result["active_after_deactivate"] = client.get_user(renamed).active

        client.delete_user(renamed)
        result["get_after_delete"] = raises(client.get_user, renamed, allow_name_prefix_match=False)
        result["listed_after_delete"] = renamed in [u.name for u in client.list_users(size=100).items]
        """,
        name=name,
        renamed=renamed,
    )
    assert out["created"] == {"name": name, "is_admin": False, "active": True}
    assert out["listed_after_create"] is True
    assert out["updated"] == {"id_kept": True, "name": renamed, "full_name": "Alice Example"}
    assert out["get_renamed"] == "Alice Example"
    assert out["get_old_name"] is not None and out["get_old_name"]["type"] == "builtins.KeyError", out
    assert out["deactivated"] == {"active": False, "has_activation_token": True}
    assert out["active_after_deactivate"] is False
    assert out["get_after_delete"] is not None and out["get_after_delete"]["type"] == "builtins.KeyError", out
    assert out["listed_after_delete"] is False


def test_new_user_logs_in_and_deactivated_user_cannot(zenml_client):
    name = _name("bob")
    out = zenml_client.run(
        """
        from zenml.client import Client
        from zenml.zen_stores.rest_zen_store import RestZenStore, RestZenStoreConfiguration

        def login(password):
            config = RestZenStoreConfiguration(url=params["url"], username=params["name"], password=password)
            return RestZenStore(config=config)

        client = Client()
        client.create_user(name=params["name"], password="Bob-pass-1")

        me = login("Bob-pass-1").get_user(include_private=True)
        result["me"] = {"name": me.name, "is_admin": me.is_admin}
        result["wrong_password"] = raises(login, "nope")

        client.deactivate_user(params["name"])
        result["after_deactivate"] = raises(login, "Bob-pass-1")
        client.delete_user(params["name"])
        """,
        name=name,
        url=zenml_client.server.url,
    )
    assert out["me"] == {"name": name, "is_admin": False}
    assert out["wrong_password"] is not None and out["wrong_password"]["type"] == "zenml.exceptions.AuthorizationException", out
    assert out["after_deactivate"] is not None and out["after_deactivate"]["type"] == "zenml.exceptions.AuthorizationException", out
