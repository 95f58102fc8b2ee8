"""The `zenyard` command line, run as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def zenyard(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ZENML_", "ZENYARD_"))}
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args], cwd=ROOT, env={**clean, **env},
        capture_output=True, text=True, timeout=120,
    )


def test_db_upgrade_and_key_rotation(tmp_path):
    env = {"ZENYARD_DATA_DIR": str(tmp_path), "ZENYARD_PASSWORD_HASH_ROUNDS": "4"}
    upgraded = zenyard("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "database at revision" in upgraded.stdout

    # a secret sealed under the key file of the embedded default
    from app import create_app
    from tests.conftest import ApiClient

    app = create_app({"DATA_DIR": str(tmp_path), "PASSWORD_HASH_ROUNDS": 4})
    client = ApiClient(app)
    me = client.get("/api/v1/current-user").json
    ws = client.get("/api/v1/workspaces/default").json
    created = client.post(f"/api/v1/workspaces/{ws['id']}/secrets",
                          json={"user": me["id"], "workspace": ws["id"], "name": "s", "values": {"k": "v"}})
    assert created.status_code == 200, created.json
    app.extensions["zenyard"]["db"].dispose()

    missing = zenyard("secrets", "rotate-key", env=env)
    assert missing.returncode != 0 and "ZENML_SECRETS_STORE_ENCRYPTION_KEY" in missing.stderr
    rotated = zenyard("secrets", "rotate-key", env={**env, "ZENML_SECRETS_STORE_ENCRYPTION_KEY": "new key"})
    assert rotated.returncode == 0, rotated.stderr
    assert "re-encrypted 1 secrets" in rotated.stdout

    # the server started with the new key reads the value
    app = create_app({"DATA_DIR": str(tmp_path), "PASSWORD_HASH_ROUNDS": 4, "SECRETS_ENCRYPTION_KEY": "new key"})
    value = ApiClient(app).get(f"/api/v1/secrets/{created.json['id']}").json["body"]["values"]
    assert value == {"k": "v"}
    app.extensions["zenyard"]["db"].dispose()
