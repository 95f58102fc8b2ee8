"""Service accounts and API keys with the stock client: create them as the
admin, connect with the key (`zenml connect --api-key` and
`ZENML_STORE_API_KEY`), work as the service account, rotate, deactivate."""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.compat


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _admin_creates_account_and_key(zenml_client, account: str) -> dict:
    return zenml_client.run(
        """
        from zenml.client import Client

        client = Client()
        created = client.create_service_account(name=params["account"], description="CI robot")
        key = client.create_api_key(params["account"], name="ci", description="for CI")
        result["account"] = {"id": str(created.id), "name": created.name, "active": created.active,
                             "description": created.description}
        result["key"] = key.key
        result["key_service_account"] = key.service_account.name
        result["listed"] = params["account"] in [a.name for a in client.list_service_accounts(size=100).items]
        result["in_users"] = params["account"] in [u.name for u in client.list_users(size=100).items]
        result["keys"] = [k.name for k in client.list_api_keys(params["account"]).items]
        result["key_value_again"] = client.get_api_key(params["account"], "ci").key
        """,
        account=account,
    )


def test_connect_with_an_api_key_and_work_as_the_service_account(zenml_client, client_factory, zenyard):
    account = _name("robot")
    out = _admin_creates_account_and_key(zenml_client, account)
    assert out["account"]["name"] == account and out["account"]["active"] is True
    assert out["account"]["description"] == "CI robot"
    assert out["key"].startswith("ZENKEY_") and out["key_service_account"] == account
    assert out["listed"] is True and out["in_users"] is False
    assert out["keys"] == ["ci"] and out["key_value_again"] is None

    robot = client_factory(zenyard, name="robot")
    done = robot.cli("connect", "--url", zenyard.url, "--api-key", out["key"])
    assert "Authorization error" not in done.stdout + done.stderr, done.stdout + done.stderr
    stored = robot.stored_config()["store"]
    assert stored["url"] == zenyard.url and stored["api_key"] == out["key"]

    secret = _name("robot-secret")
    work = robot.run(
        """
        from zenml.client import Client

        client = Client()
        me = client.active_user
        result["me"] = {"name": me.name, "is_service_account": me.is_service_account, "is_admin": me.is_admin}
        created = client.create_secret(params["secret"], values={"token": "s3cr3t"})
        result["secret_owner"] = created.user.name
        result["stacks"] = [s.name for s in client.list_stacks().items]
        """,
        secret=secret,
    )
    assert work["me"] == {"name": account, "is_service_account": True, "is_admin": False}
    assert work["secret_owner"] == account
    assert "default" in work["stacks"]

    seen = zenml_client.run(
        """
        from zenml.client import Client

        client = Client()
        key = client.get_api_key(params["account"], "ci")
        result["last_login"] = str(key.last_login) if key.last_login else None
        result["delete_owner"] = raises(client.delete_service_account, params["account"])
        client.delete_secret(params["secret"])
        """,
        account=account,
        secret=secret,
    )
    assert seen["last_login"] is not None
    assert seen["delete_owner"]["type"] == "zenml.exceptions.IllegalOperationError", seen


def test_store_api_key_rotation_and_deactivation(zenml_client, client_factory, zenyard):
    account = _name("rotor")
    key = _admin_creates_account_and_key(zenml_client, account)["key"]

    robot = client_factory(zenyard, name="rotor")
    base_environ = robot.environ
    robot.environ = lambda: {**base_environ(), "ZENML_STORE_URL": zenyard.url, "ZENML_STORE_API_KEY": key}
    whoami = """
        from zenml.client import Client

        result["name"] = Client().active_user.name
        result["is_service_account"] = Client().active_user.is_service_account
    """
    assert robot.run(whoami) == {"name": account, "is_service_account": True}

    rotated = zenml_client.run(
        """
        from zenml.client import Client

        key = Client().rotate_api_key(params["account"], "ci", retain_period_minutes=30)
        result["key"] = key.key
        result["retain"] = Client().get_api_key(params["account"], "ci").retain_period_minutes
        result["last_rotated"] = str(Client().get_api_key(params["account"], "ci").last_rotated)
        """,
        account=account,
    )
    new_key = rotated["key"]
    assert new_key.startswith("ZENKEY_") and new_key != key
    assert rotated["retain"] == 30 and rotated["last_rotated"] != "None"
    # within the retain period both values log in
    assert robot.run(whoami)["name"] == account
    robot.environ = lambda: {**base_environ(), "ZENML_STORE_URL": zenyard.url, "ZENML_STORE_API_KEY": new_key}
    assert robot.run(whoami)["name"] == account

    zenml_client.run(
        """
        from zenml.client import Client

        Client().update_service_account(params["account"], active=False)
        """,
        account=account,
    )
    refused = robot.run(
        """
        from zenml.client import Client

        result["error"] = raises(lambda: Client().active_user)
        """
    )
    assert refused["error"]["type"] == "zenml.exceptions.AuthorizationException", refused
    assert "is not active" in refused["error"]["message"]

    # rotating without a retain period retires the old value at once
    after = zenml_client.run(
        """
        from zenml.client import Client

        client = Client()
        client.update_service_account(params["account"], active=True)
        result["key"] = client.rotate_api_key(params["account"], "ci").key
        client.delete_api_key(params["account"], "ci")
        result["keys_left"] = client.list_api_keys(params["account"]).total
        client.delete_service_account(params["account"])
        result["gone"] = raises(client.get_service_account, params["account"], allow_name_prefix_match=False)
        """,
        account=account,
    )
    assert after["keys_left"] == 0
    assert after["gone"]["type"] == "builtins.KeyError", after
