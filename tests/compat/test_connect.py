"""`zenml connect` and logging in with the stock client."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.compat


def test_connect_as_default_user(client_factory, zenyard):
    client = client_factory(zenyard, name="connect")
    client.connect(username="default", password="")

    config = client.stored_config()
    store = config["store"]
    assert store["type"] == "rest"
    assert store["url"] == zenyard.url
    assert store["username"] == "default"
    assert store.get("api_token"), "the client keeps the token it got at login"
    # connect also settles the active workspace and stack for the client
    assert config.get("active_workspace_name") == "default"
    assert config.get("active_stack_id"), "connect sets the default stack active"


def test_connect_with_wrong_password_is_refused(client_factory, zenyard):
    client = client_factory(zenyard, name="connect-wrong")
    done = client.cli("connect", "--url", zenyard.url, "--username", "default", "--password", "wrong", check=False)

    output = done.stdout + done.stderr
    assert "Authorization error" in output, output
    stored = client.stored_config().get("store") or {}
    assert stored.get("url") != zenyard.url, "a refused login must not switch the client's store"


def test_wrong_password_raises_authorization_exception(client_factory, zenyard):
    client = client_factory(zenyard, name="wrong-password")
    out = client.run(
        """
        from zenml.zen_stores.rest_zen_store import RestZenStore, RestZenStoreConfiguration

        def login(password):
            config = RestZenStoreConfiguration(url=params["url"], username="default", password=password)
            return RestZenStore(config=config)

        result["wrong"] = raises(login, "not-the-password")
        result["unknown_user"] = raises(
            lambda: RestZenStore(config=RestZenStoreConfiguration(url=params["url"], username="nobody", password="x"))
        )
        result["right"] = raises(login, "")
        """,
        url=zenyard.url,
    )
    assert out["wrong"] is not None and out["wrong"]["type"] == "zenml.exceptions.AuthorizationException", out
    assert out["unknown_user"] is not None and out["unknown_user"]["type"] == "zenml.exceptions.AuthorizationException", out
    assert out["right"] is None, out
