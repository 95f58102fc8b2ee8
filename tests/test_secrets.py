"""Secrets: ZenML's operations and rules, values encrypted at rest, the key
(file, configured, required, rotated) and what a damaged ciphertext gives."""

from __future__ import annotations

import base64
import os
import secrets as random
import stat
import subprocess
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from app import create_app
from settings import SettingsError
from store.crypto import KEY_FILE
from store.secrets import Secret, rotate_encryption_key
from tests.conftest import TEST_SETTINGS, ApiClient, make_app
from tests.test_openapi import assert_fits


def ids(client) -> tuple[str, str]:
    workspace = client.get("/api/v1/workspaces/default").json["id"]
    return workspace, client.get("/api/v1/current-user").json["id"]


def create(client, name: str, values: dict, scope: str = "workspace", status: int = 200) -> dict:
    workspace, me = ids(client)
    body = {"user": me, "workspace": workspace, "name": name, "scope": scope, "values": values}
    response = client.post(f"/api/v1/workspaces/{workspace}/secrets", json=body)
    assert response.status_code == status, response.json
    return response.json


def stored(app, secret_id: str):
    """The secret's row as the database holds it."""
    with app.extensions["zenyard"]["db"].engine.connect() as conn:
        return conn.execute(select(Secret.__table__).where(Secret.__table__.c.id == uuid.UUID(secret_id))).one()


def overwrite(app, secret_id: str, **columns) -> None:
    db = app.extensions["zenyard"]["db"]
    with db.engine.begin() as conn:
        conn.execute(Secret.__table__.update().where(Secret.__table__.c.id == uuid.UUID(secret_id)).values(**columns))


# --- the operations, as the ZenML client sends them -----------------------


def test_create_get_list_update_delete(client):
    created = create(client, "aws-creds", {"key_id": "AKIA", "secret": "s3cr3t", "dropped": None})
    assert created["body"]["values"] == {"key_id": "AKIA", "secret": "s3cr3t"}
    assert created["body"]["scope"] == "workspace" and created["metadata"]["workspace"]["name"] == "default"
    assert_fits("SecretResponse", created)
    secret_id = created["id"]

    got = client.get(f"/api/v1/secrets/{secret_id}?hydrate=True")
    assert got.status_code == 200 and got.json["body"]["values"] == {"key_id": "AKIA", "secret": "s3cr3t"}
    assert client.get(f"/api/v1/secrets/{secret_id}?hydrate=False").json["metadata"] is None

    # what Client.get_secret(name) sends first; lists never carry values
    workspace, _ = ids(client)
    page = client.get(
        f"/api/v1/secrets?hydrate=False&sort_by=created&logical_operator=or&page=1&size=20"
        f"&scope_workspace={workspace}&name=equals:aws-creds"
    ).json
    assert [s["name"] for s in page["items"]] == ["aws-creds"]
    assert page["items"][0]["body"]["values"] == {}
    assert_fits("Page_SecretResponse_", page)

    # the client merges (patch_values=True); None removes a key
    patched = client.put(f"/api/v1/secrets/{secret_id}?patch_values=True", json={"values": {"secret": None, "region": "eu"}})
    assert patched.status_code == 200 and patched.json["body"]["values"] == {"key_id": "AKIA", "region": "eu"}
    # without patch_values the values sent replace them all
    replaced = client.put(f"/api/v1/secrets/{secret_id}", json={"values": {"only": "this"}, "name": "renamed"})
    assert replaced.json["name"] == "renamed" and replaced.json["body"]["values"] == {"only": "this"}
    # no values in the update: the values stay
    assert client.put(f"/api/v1/secrets/{secret_id}", json={"name": "again"}).json["body"]["values"] == {"only": "this"}

    assert client.delete(f"/api/v1/secrets/{secret_id}").status_code == 200
    gone = client.get(f"/api/v1/secrets/{secret_id}")
    assert gone.status_code == 404 and gone.json["detail"][0] == "KeyError"


def test_names_are_unique_per_scope(client, make_user):
    create(client, "dup", {"a": "1"})
    clash = create(client, "dup", {"a": "2"}, status=409)
    assert clash["detail"][0] == "EntityExistsError" and "workspace scoped secret" in clash["detail"][1]
    mine = create(client, "dup", {"a": "3"}, scope="user")  # another scope: allowed
    assert create(client, "dup", {}, scope="user", status=409)["detail"][0] == "EntityExistsError"
    # the same user-scoped name for another user is fine
    make_user("bob", password="pw")
    create(ApiClient(client.app, "bob", "pw"), "dup", {"b": "1"}, scope="user")
    # renaming or re-scoping into a taken name
    other = create(client, "other", {})
    assert client.put(f"/api/v1/secrets/{other['id']}", json={"name": "dup"}).status_code == 409
    assert client.put(f"/api/v1/secrets/{mine['id']}", json={"scope": "workspace"}).status_code == 409


def test_user_scoped_secrets_are_their_owners_only(client, make_user):
    make_user("bob", password="pw", is_admin=False)
    bob = ApiClient(client.app, "bob", "pw")
    private = create(bob, "bobs", {"pin": "1234"}, scope="user")
    assert bob.get(f"/api/v1/secrets/{private['id']}").json["body"]["values"] == {"pin": "1234"}
    # not even an admin sees another user's private secret
    assert client.get(f"/api/v1/secrets/{private['id']}").status_code == 404
    assert client.put(f"/api/v1/secrets/{private['id']}", json={"name": "x"}).status_code == 404
    assert client.delete(f"/api/v1/secrets/{private['id']}").status_code == 404
    assert "bobs" not in [s["name"] for s in client.get("/api/v1/secrets").json["items"]]
    assert [s["name"] for s in bob.get("/api/v1/secrets?scope=user").json["items"]] == ["bobs"]


def test_values_are_read_by_owner_and_admins_only(client, make_user):
    make_user("carol", password="pw", is_admin=False)
    make_user("dave", password="pw", is_admin=False)
    carol, dave = ApiClient(client.app, "carol", "pw"), ApiClient(client.app, "dave", "pw")
    shared = create(carol, "team", {"token": "t0k3n"})
    assert carol.get(f"/api/v1/secrets/{shared['id']}").json["body"]["values"] == {"token": "t0k3n"}
    assert client.get(f"/api/v1/secrets/{shared['id']}").json["body"]["values"] == {"token": "t0k3n"}
    # others see the keys, not the values (what ZenML answers without the permission)
    seen = dave.get(f"/api/v1/secrets/{shared['id']}")
    assert seen.status_code == 200 and seen.json["body"]["values"] == {"token": None}
    updated = dave.put(f"/api/v1/secrets/{shared['id']}?patch_values=true", json={"values": {"extra": "x"}})
    assert updated.json["body"]["values"] == {"extra": None, "token": None}
    assert carol.get(f"/api/v1/secrets/{shared['id']}").json["body"]["values"] == {"extra": "x", "token": "t0k3n"}


def test_bad_values_are_refused(client):
    workspace, me = ids(client)
    url = f"/api/v1/workspaces/{workspace}/secrets"
    body = {"user": me, "workspace": workspace, "name": "bad"}
    assert client.post(url, json={**body, "values": {"n": 5}}).status_code == 422
    assert client.post(url, json={**body, "values": {"n": {"nested": "x"}}}).status_code == 422
    assert client.post(url, json={**body, "scope": "global"}).status_code == 422
    too_big = client.post(url, json={**body, "values": {"blob": "x" * 70_000}})
    assert too_big.status_code == 400 and too_big.json["detail"][0] == "ValueError"
    someone_else = client.post(url, json={**body, "user": str(uuid.uuid4())})
    assert someone_else.status_code == 403
    assert client.get("/api/v1/secrets").json["total"] == 0


def test_backup_and_restore(client, make_user):
    kept = create(client, "kept", {"k": "original"})
    gone = create(client, "gone", {"g": "1"})
    assert client.put("/api/v1/secrets_operations/backup").status_code == 200
    # after the backup: one secret changed, one deleted
    client.put(f"/api/v1/secrets/{kept['id']}", json={"values": {"k": "changed"}})
    client.delete(f"/api/v1/secrets/{gone['id']}")
    assert client.get(f"/api/v1/secrets/{gone['id']}").status_code == 404

    assert client.put("/api/v1/secrets_operations/restore").status_code == 200
    assert client.get(f"/api/v1/secrets/{kept['id']}").json["body"]["values"] == {"k": "original"}
    assert client.get(f"/api/v1/secrets/{gone['id']}").json["body"]["values"] == {"g": "1"}

    # a name taken by another secret stops the restore, unless errors are ignored
    client.delete(f"/api/v1/secrets/{gone['id']}")
    create(client, "gone", {"other": "x"})
    refused = client.put("/api/v1/secrets_operations/restore")
    assert refused.status_code == 400 and "another secret named 'gone'" in refused.json["detail"][1]
    assert client.put("/api/v1/secrets_operations/restore?ignore_errors=true").status_code == 200

    # backup with delete_secrets empties the store; restore brings them back
    assert client.put("/api/v1/secrets_operations/backup?delete_secrets=true").status_code == 200
    assert client.get("/api/v1/secrets").json["total"] == 0
    assert client.put("/api/v1/secrets_operations/restore?delete_secrets=true").status_code == 200
    assert sorted(s["name"] for s in client.get("/api/v1/secrets").json["items"]) == ["gone", "kept"]

    make_user("eve", password="pw", is_admin=False)
    assert ApiClient(client.app, "eve", "pw").put("/api/v1/secrets_operations/backup").status_code == 403


# --- at rest -------------------------------------------------------------


def raw_database_bytes(app) -> bytes:
    """Everything the database holds: the SQLite files, or a dump."""
    settings = app.extensions["zenyard"]["settings"]
    url = app.extensions["zenyard"]["db"].engine.url
    backend = url.get_backend_name()
    if backend == "sqlite":
        path = Path(url.database)
        return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists())
    if backend == "postgresql":
        command = ["pg_dump", "-h", url.host, "-p", str(url.port or 5432), "-U", url.username, "-d", url.database]
    else:
        command = ["mariadb-dump", "-h", url.host, "-P", str(url.port or 3306), "-u", url.username, url.database]
    assert settings["DATABASE_URL"]
    return subprocess.run(command, check=True, capture_output=True, timeout=120).stdout


def test_no_value_is_in_the_database_plain_or_base64(client):
    values = [f"value-{i}-{random.token_urlsafe(18)}" for i in range(100)]
    for start in range(0, 100, 10):
        create(client, f"batch-{start}", {f"key{i}": values[i] for i in range(start, start + 10)})
    raw = raw_database_bytes(client.app)
    assert b"batch-0" in raw  # the names are there: this is the database
    for value in values:
        for form in (value.encode(), base64.b64encode(value.encode()), base64.urlsafe_b64encode(value.encode())):
            assert form not in raw, value
    # and they all read back
    for secret in client.get("/api/v1/secrets?size=20").json["items"]:
        assert len(client.get(f"/api/v1/secrets/{secret['id']}").json["body"]["values"]) == 10


def test_any_flipped_byte_is_a_clean_error(client):
    secret = create(client, "fragile", {"k": "v"})
    row = stored(client.app, secret["id"])
    token, raw = row.values, base64.b64decode(row.values)
    url = f"/api/v1/secrets/{secret['id']}"

    def assert_refused(damaged: str) -> None:
        overwrite(client.app, secret["id"], values=damaged)
        response = client.get(url)
        assert response.status_code == 409, (damaged, response.json)
        assert response.json["detail"][0] == "SecretDecodeError"
        assert "cannot be decrypted" in response.json["detail"][1]

    for position in range(len(raw)):  # every byte of format, nonce, ciphertext, tag
        flipped = bytearray(raw)
        flipped[position] ^= 0x01
        assert_refused(base64.b64encode(bytes(flipped)).decode())
    for position in range(len(token)):  # every byte of the stored text
        flipped = bytearray(token.encode())
        flipped[position] ^= 0x01
        assert_refused(flipped.decode("latin-1"))
    assert_refused(token[:-4])
    # a list does not decrypt: it still works
    assert client.get("/api/v1/secrets").status_code == 200
    # merging needs the old values; replacing repairs the secret
    assert client.put(f"{url}?patch_values=true", json={"values": {"k": "w"}}).status_code == 409
    repaired = client.put(url, json={"values": {"k": "fresh"}})
    assert repaired.status_code == 200 and client.get(url).json["body"]["values"] == {"k": "fresh"}


def test_a_ciphertext_moved_to_another_row_does_not_open(client):
    first, second = create(client, "first", {"k": "1"}), create(client, "second", {"k": "2"})
    moved = stored(client.app, first["id"])
    overwrite(client.app, second["id"], values=moved.values, key_id=moved.key_id)
    response = client.get(f"/api/v1/secrets/{second['id']}")
    assert response.status_code == 409 and response.json["detail"][0] == "SecretDecodeError"
    assert client.get(f"/api/v1/secrets/{first['id']}").json["body"]["values"] == {"k": "1"}


# --- the key ---------------------------------------------------------------


def test_key_file_is_made_at_start_private_and_kept(tmp_path, server_databases, monkeypatch):
    monkeypatch.delenv("ZENML_SECRETS_STORE_ENCRYPTION_KEY", raising=False)
    app = make_app("sqlite", tmp_path, server_databases)
    key_file = tmp_path / "data" / KEY_FILE
    # made when the app starts, before any secret is written
    assert key_file.exists() and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text()
    secret = create(ApiClient(app), "kept", {"k": "v"})
    app.extensions["zenyard"]["db"].dispose()
    again = create_app({"DATA_DIR": str(tmp_path / "data"), **TEST_SETTINGS})
    assert key_file.read_text() == key
    assert ApiClient(again).get(f"/api/v1/secrets/{secret['id']}").json["body"]["values"] == {"k": "v"}
    again.extensions["zenyard"]["db"].dispose()


def test_configured_key_and_the_wrong_key(tmp_path, server_databases, monkeypatch):
    monkeypatch.setenv("ZENML_SECRETS_STORE_ENCRYPTION_KEY", "first-key-" + "a" * 32)
    app = make_app("sqlite", tmp_path, server_databases)
    assert not (tmp_path / "data" / KEY_FILE).exists()
    secret = create(ApiClient(app), "configured", {"k": "v"})
    app.extensions["zenyard"]["db"].dispose()

    monkeypatch.setenv("ZENML_SECRETS_STORE_ENCRYPTION_KEY", "another-key")
    other = create_app({"DATA_DIR": str(tmp_path / "data"), **TEST_SETTINGS})
    response = ApiClient(other).get(f"/api/v1/secrets/{secret['id']}")
    assert response.status_code == 409 and "another key" in response.json["detail"][1]
    other.extensions["zenyard"]["db"].dispose()


def test_production_refuses_to_start_without_a_key(tmp_path, monkeypatch):
    monkeypatch.delenv("ZENML_SECRETS_STORE_ENCRYPTION_KEY", raising=False)
    monkeypatch.setenv("ZENYARD_REQUIRE_ENCRYPTION_KEY", "true")
    with pytest.raises(SettingsError, match="ZENML_SECRETS_STORE_ENCRYPTION_KEY"):
        create_app({"DATA_DIR": str(tmp_path), **TEST_SETTINGS})
    assert not (tmp_path / KEY_FILE).exists()
    monkeypatch.setenv("ZENML_SECRETS_STORE_ENCRYPTION_KEY", "k" * 64)
    app = create_app({"DATA_DIR": str(tmp_path), **TEST_SETTINGS})
    app.extensions["zenyard"]["db"].dispose()


def test_rotation_reencrypts_every_row(client, tmp_path):
    app = client.app
    settings = app.extensions["zenyard"]["settings"]
    old_key = settings["SECRETS_ENCRYPTION_KEY"] or (Path(settings["DATA_DIR"]) / KEY_FILE).read_text()
    made = [create(client, f"rot-{i}", {"n": str(i)}) for i in range(5)]
    before = {s["id"]: stored(app, s["id"]) for s in made}
    db = app.extensions["zenyard"]["db"]
    new_key = os.urandom(32).hex()

    with pytest.raises(Exception, match="another key"):
        rotate_encryption_key(db, new_key, old_keys=["not-the-old-key"])
    assert all(stored(app, i).values == row.values for i, row in before.items())  # nothing changed

    assert rotate_encryption_key(db, new_key, old_keys=[old_key]) == 5
    after = {i: stored(app, i) for i in before}
    assert len({row.key_id for row in after.values()}) == 1
    for secret_id, row in after.items():
        assert row.key_id != before[secret_id].key_id and row.values != before[secret_id].values
        assert row.updated == before[secret_id].updated  # the values did not change
    assert rotate_encryption_key(db, new_key, old_keys=[old_key]) == 0

    # the server started with the new key reads them all
    url = str(db.engine.url.render_as_string(hide_password=False))
    restarted = create_app({"DATA_DIR": str(tmp_path / "restarted"), "DATABASE_URL": url,
                            "AUTO_MIGRATE": False, "SECRETS_ENCRYPTION_KEY": new_key, **TEST_SETTINGS})
    reader = ApiClient(restarted)
    for secret in made:
        assert reader.get(f"/api/v1/secrets/{secret['id']}").json["body"]["values"] == {"n": secret["name"][4:]}
    restarted.extensions["zenyard"]["db"].dispose()
    # and the server still on the old key says which key it lacks
    stale = client.get(f"/api/v1/secrets/{made[0]['id']}")
    assert stale.status_code == 409 and "rotate-key" in stale.json["detail"][1]
