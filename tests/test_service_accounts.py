"""Service accounts, their API keys, and logging in with an API key."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

from sqlalchemy import select

from store.service_accounts import APIKey
from tests.test_openapi import assert_fits

SA = "/api/v1/service_accounts"


def make_account(client, name="robot", **fields):
    response = client.post(SA, json={"name": name, "active": True, **fields})
    assert response.status_code == 200, response.json
    return response.json


def make_key(client, account, name="k", **fields):
    response = client.post(f"{SA}/{account['id']}/api_keys", json={"name": name, **fields})
    assert response.status_code == 200, response.json
    return response.json


def login_with_key(app, key, grant=True):
    data = {"password": key}
    if grant:
        data["grant_type"] = "zenml-api-key"
    return app.test_client(use_cookies=False).post("/api/v1/login", data=data)


def bearer(app, token):
    http = app.test_client(use_cookies=False)
    return lambda path: http.get(path, headers={"Authorization": f"Bearer {token}"})


def test_service_accounts_and_users_are_listed_apart(client, make_user):
    account = make_account(client, "robot", description="does chores")
    make_user("robot")  # the same name as a user is fine, as in ZenML
    assert_fits("ServiceAccountResponse", account)
    assert account["body"]["active"] is True and account["metadata"]["description"] == "does chores"

    accounts = client.get(f"{SA}?hydrate=true").json
    assert_fits("Page_ServiceAccountResponse_", accounts)
    assert [a["name"] for a in accounts["items"]] == ["robot"]
    users = client.get("/api/v1/users?size=100").json
    assert all(not u["body"]["is_service_account"] for u in users["items"])
    assert sorted(u["name"] for u in users["items"]) == ["default", "robot"]
    # neither route finds the other kind by id
    assert client.get(f"/api/v1/users/{account['id']}").status_code == 404
    user_id = next(u["id"] for u in users["items"] if u["name"] == "robot")
    assert client.get(f"{SA}/{user_id}").status_code == 404

    by_name = client.get(f"{SA}/robot").json
    assert by_name["id"] == account["id"]
    assert client.get(f"{SA}?active=false").json["total"] == 0
    assert client.get(f"{SA}?description=contains:chores").json["total"] == 1

    duplicate = client.post(SA, json={"name": "robot", "active": True})
    assert duplicate.status_code == 409 and duplicate.json["detail"][0] == "EntityExistsError"

    updated = client.put(f"{SA}/robot", json={"name": "robot2", "description": "new"}).json
    assert updated["name"] == "robot2" and updated["metadata"]["description"] == "new"
    assert client.delete(f"{SA}/robot2").status_code == 200
    assert client.get(f"{SA}/robot2").status_code == 404


def test_api_keys_are_shown_once_and_stored_hashed(client):
    account = make_account(client)
    created = make_key(client, account, "ci", description="for CI")
    assert_fits("APIKeyResponse", created)
    key = created["body"]["key"]
    assert key.startswith("ZENKEY_")
    decoded = json.loads(base64.b64decode(key[len("ZENKEY_"):]))
    assert decoded["id"] == created["id"] and len(decoded["key"]) == 64
    assert created["body"]["service_account"]["id"] == account["id"]
    assert created["metadata"] == {"description": "for CI", "retain_period_minutes": 0, "last_login": None, "last_rotated": None}

    again = client.get(f"{SA}/{account['id']}/api_keys/ci").json
    assert again["body"]["key"] is None and again["id"] == created["id"]
    page = client.get(f"{SA}/{account['id']}/api_keys?hydrate=true").json
    assert_fits("Page_APIKeyResponse_", page)
    assert [k["name"] for k in page["items"]] == ["ci"] and page["items"][0]["body"]["key"] is None

    db = client.app.extensions["zenyard"]["db"]
    with db.reading() as session:
        row = session.scalars(select(APIKey)).one()
        assert decoded["key"] not in (row.key_hash, row.previous_key_hash)
        assert row.key_hash.startswith("$2")  # bcrypt

    dup = client.post(f"{SA}/{account['id']}/api_keys", json={"name": "ci"})
    assert dup.status_code == 409
    make_key(client, account, "other")
    clash = client.put(f"{SA}/{account['id']}/api_keys/other", json={"name": "ci"})
    assert clash.status_code == 409
    renamed = client.put(f"{SA}/{account['id']}/api_keys/other", json={"name": "third", "description": "d"}).json
    assert renamed["name"] == "third" and renamed["metadata"]["description"] == "d"
    assert client.get(f"{SA}/{account['id']}/api_keys?name=third").json["total"] == 1
    assert client.delete(f"{SA}/{account['id']}/api_keys/third").status_code == 200
    assert client.get(f"{SA}/{account['id']}/api_keys/third").status_code == 404
    # a key is found only under its own service account
    stranger = make_account(client, "stranger")
    assert client.get(f"{SA}/{stranger['id']}/api_keys/{created['id']}").status_code == 404


def test_login_with_an_api_key(client):
    account = make_account(client)
    created = make_key(client, account)
    key = created["body"]["key"]

    # the stock client sends grant_type=zenml-api-key; a bare password works too
    for grant in (True, False):
        response = login_with_key(client.app, key, grant)
        assert response.status_code == 200, response.json
        assert_fits("OAuthTokenResponse", response.json)
    me = bearer(client.app, response.json["access_token"])("/api/v1/current-user").json
    assert me["id"] == account["id"] and me["body"]["is_service_account"] is True
    assert me["body"]["is_admin"] is False
    metadata = client.get(f"{SA}/{account['id']}/api_keys/k").json["metadata"]
    assert metadata["last_login"] is not None

    # a service account cannot log in with a username and password
    refused = client.http.post("/api/v1/login", data={"username": account["name"], "password": ""})
    assert refused.status_code == 401

    forged = "ZENKEY_" + base64.b64encode(json.dumps({"id": created["id"], "key": "0" * 64}).encode()).decode()
    wrong = login_with_key(client.app, forged)
    assert wrong.status_code == 401
    assert wrong.json["detail"] == ["AuthorizationException", "Authentication error: could not verify key value for API key k"]
    garbage = login_with_key(client.app, "ZENKEY_%%%")
    assert garbage.json["detail"] == ["AuthorizationException", "Authentication error: error decoding API key"]


def test_deactivating_a_key_or_its_account_refuses_it_and_its_tokens(client):
    account = make_account(client)
    key = make_key(client, account)["body"]["key"]
    as_robot = bearer(client.app, login_with_key(client.app, key).json["access_token"])
    assert as_robot("/api/v1/current-user").status_code == 200

    client.put(f"{SA}/{account['id']}/api_keys/k", json={"active": False})
    assert as_robot("/api/v1/current-user").status_code == 401
    refused = login_with_key(client.app, key)
    assert refused.status_code == 401
    assert refused.json["detail"][1] == (
        "Authentication error: API key k associated with service account robot is not active"
    )
    client.put(f"{SA}/{account['id']}/api_keys/k", json={"active": True})
    assert as_robot("/api/v1/current-user").status_code == 200

    client.put(f"{SA}/{account['id']}", json={"active": False})
    assert as_robot("/api/v1/current-user").status_code == 401
    refused = login_with_key(client.app, key)
    assert refused.json["detail"][1] == (
        "Authentication error: service account robot associated with API key k is not active"
    )
    client.put(f"{SA}/{account['id']}", json={"active": True})
    client.delete(f"{SA}/{account['id']}/api_keys/k")
    assert as_robot("/api/v1/current-user").status_code == 401


def test_rotation_keeps_the_old_key_for_its_retain_period(client):
    account = make_account(client)
    old = make_key(client, account)["body"]["key"]

    rotated = client.put(f"{SA}/{account['id']}/api_keys/k/rotate", json={"retain_period_minutes": 10})
    assert rotated.status_code == 200
    assert_fits("APIKeyResponse", rotated.json)
    new = rotated.json["body"]["key"]
    assert new != old and new.startswith("ZENKEY_")
    assert rotated.json["metadata"]["retain_period_minutes"] == 10
    assert rotated.json["metadata"]["last_rotated"] is not None
    assert login_with_key(client.app, new).status_code == 200
    assert login_with_key(client.app, old).status_code == 200

    # once the retain period is over, the old key is refused
    db = client.app.extensions["zenyard"]["db"]
    with db.unit_of_work() as session:
        row = session.scalars(select(APIKey)).one()
        row.last_rotated = row.last_rotated - timedelta(minutes=11)
    assert login_with_key(client.app, old).status_code == 401
    assert login_with_key(client.app, new).status_code == 200

    # without a retain period the old key stops at once
    newest = client.put(f"{SA}/{account['id']}/api_keys/k/rotate", json={}).json["body"]["key"]
    assert login_with_key(client.app, new).status_code == 401
    assert login_with_key(client.app, newest).status_code == 200
    assert client.put(f"{SA}/{account['id']}/api_keys/k/rotate", json={"retain_period_minutes": -1}).status_code == 403


def test_a_service_account_that_owns_resources_cannot_be_deleted(client):
    account = make_account(client)
    key = make_key(client, account)["body"]["key"]
    token = login_with_key(client.app, key).json["access_token"]
    workspace_id = client.get("/api/v1/workspaces/default").json["id"]
    secret = client.http.post(
        "/api/v1/workspaces/default/secrets",
        json={"name": "robot-secret", "scope": "workspace", "values": {"a": "b"},
              "workspace": workspace_id, "user": account["id"]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert secret.status_code == 200, secret.json
    assert secret.json["body"]["user"]["id"] == account["id"]
    refused = client.delete(f"{SA}/{account['id']}")
    assert refused.status_code == 403 and refused.json["detail"][0] == "IllegalOperationError"
    assert client.delete(f"/api/v1/secrets/{secret.json['id']}").status_code == 200
    assert client.delete(f"{SA}/{account['id']}").status_code == 200


def test_deleting_a_service_account_deletes_its_keys(client):
    account = make_account(client)
    key = make_key(client, account)["body"]["key"]
    assert client.delete(f"{SA}/{account['id']}").status_code == 200
    assert login_with_key(client.app, key).status_code == 401
    db = client.app.extensions["zenyard"]["db"]
    with db.reading() as session:
        assert session.scalars(select(APIKey)).all() == []
