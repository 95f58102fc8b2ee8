"""The production docker-compose.yml: valid, complete, and strict about secrets.

Runs `docker-compose config` (docker-compose 1.29, installed by
scripts/test-deps.sh for `make test`); nothing is built or started.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
REQUIRED_SERVICES = {"api", "worker", "beat", "redis", "postgres", "flower", "registry"}
SECRETS = {
    "ZENML_SERVER_JWT_SECRET_KEY": "dummy-jwt-secret",
    "ZENML_DEFAULT_USER_PASSWORD": "dummy-password",
    "ZENML_SECRETS_STORE_ENCRYPTION_KEY": "dummy-encryption-key",
}
STORE_URL = "postgresql://zenyard:zenyard@postgres:5432/zenyard"
BROKER_URL = "redis://redis:6379/0"


def compose(tmp_path: Path, *args: str, unset: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail(
            "docker-compose is not installed: run `bash scripts/test-deps.sh` "
            "(as `make test` does) or `apt-get install -y docker-compose`",
            pytrace=False,
        )
    # Only the variables the test chooses: nothing from the caller's shell or
    # a stray .env file may fill in (or break) the interpolation.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ZENML_", "ZENYARD_", "POSTGRES_", "FLOWER_", "COMPOSE_"))
    }
    env.update({key: value for key, value in SECRETS.items() if key not in unset})
    env_file = tmp_path / "empty.env"
    env_file.write_text("")
    return subprocess.run(
        [binary, "--env-file", str(env_file), "-f", str(COMPOSE_FILE), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def service_blocks(config_yaml: str) -> dict[str, str]:
    """Split `docker-compose config` output into each service's text."""
    blocks: dict[str, list[str]] = {}
    current = None
    in_services = False
    for line in config_yaml.splitlines():
        if not line.startswith(" "):
            in_services = line.rstrip() == "services:"
            current = None
            continue
        if in_services and line.startswith("  ") and not line.startswith("   ") and line.rstrip().endswith(":"):
            current = line.strip()[:-1]
            blocks[current] = []
        elif current is not None:
            blocks[current].append(line)
    return {name: "\n".join(lines) for name, lines in blocks.items()}


def test_config_is_valid_and_has_every_service(tmp_path):
    result = compose(tmp_path, "config")
    assert result.returncode == 0, result.stderr

    listed = compose(tmp_path, "config", "--services")
    assert listed.returncode == 0, listed.stderr
    services = set(listed.stdout.split())
    assert REQUIRED_SERVICES <= services, f"missing: {REQUIRED_SERVICES - services}"

    blocks = service_blocks(result.stdout)
    assert REQUIRED_SERVICES <= set(blocks)
    for name in ("api", "worker"):
        block = blocks[name]
        assert f"ZENML_STORE_URL: {STORE_URL}" in block
        assert f"ZENYARD_BROKER_URL: {BROKER_URL}" in block
        assert "ZENML_SERVER_JWT_SECRET_KEY: dummy-jwt-secret" in block
        assert "ZENML_DEFAULT_USER_PASSWORD: dummy-password" in block
        assert "condition: service_healthy" in block
    assert "- serve" in blocks["api"] and "- 0.0.0.0" in blocks["api"] and "target: 8080" in blocks["api"]
    assert "- worker" in blocks["worker"]
    assert "image: postgres:15" in blocks["postgres"]
    assert "healthcheck:" in blocks["postgres"] and "/var/lib/postgresql/data" in blocks["postgres"]
    assert "image: redis:7" in blocks["redis"]
    assert f"--broker={BROKER_URL}" in blocks["flower"] and "5555" in blocks["flower"]


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_config_fails_without_a_secret(tmp_path, name):
    result = compose(tmp_path, "config", unset=(name,))
    assert result.returncode != 0
    assert f"set {name}" in result.stderr, result.stderr


def test_image_runs_as_non_root_and_skips_local_files():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in dockerfile
    assert "pip install ." in dockerfile
    assert "EXPOSE 8080" in dockerfile
    users = [line.split()[1] for line in dockerfile.splitlines() if line.startswith("USER ")]
    assert users and "root" not in users and "0" not in users
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".venv", ".cache", ".git"} <= ignored
