"""Settings: defaults, then the environment (ZenML's own variables
included), then explicit overrides."""

from __future__ import annotations

import os
import stat

import pytest

from settings import SettingsError, jwt_secret, load_settings


def test_defaults_use_the_data_dir(tmp_path):
    settings = load_settings({"DATA_DIR": str(tmp_path)}, environ={})
    assert settings["DATABASE_URL"] == f"sqlite:///{tmp_path}/zenyard.db"
    assert settings["BROKER_URL"] == f"sqla+sqlite:///{tmp_path}/broker.db"
    assert settings["DEFAULT_USER_NAME"] == "default" and settings["DEFAULT_USER_PASSWORD"] == ""
    assert settings["JWT_TOKEN_EXPIRE_MINUTES"] == 1440


def test_zenml_server_variables_are_understood(tmp_path):
    environ = {
        "ZENML_STORE_URL": "mysql://root@127.0.0.1/zenml",
        "ZENML_SERVER_JWT_SECRET_KEY": "k",
        "ZENML_SERVER_AUTH_SCHEME": "no_auth",
        "ZENML_DEFAULT_USER_NAME": "admin",
        "ZENML_DEFAULT_USER_PASSWORD": "pw",
        "ZENML_SERVER_URL": "https://zen.example",
        "ZENML_SERVER_JWT_TOKEN_EXPIRE_MINUTES": "",
        "ZENML_SERVER_RATE_LIMIT_ENABLED": "true",
        "ZENYARD_DATA_DIR": str(tmp_path),
        "ZENYARD_BROKER_URL": "redis://127.0.0.1:6379/0",
    }
    settings = load_settings(environ=environ)
    assert settings["DATABASE_URL"] == "mysql://root@127.0.0.1/zenml"
    assert settings["JWT_SECRET_KEY"] == "k" and settings["AUTH_SCHEME"] == "NO_AUTH"
    assert (settings["DEFAULT_USER_NAME"], settings["DEFAULT_USER_PASSWORD"]) == ("admin", "pw")
    assert settings["SERVER_URL"] == "https://zen.example"
    assert settings["JWT_TOKEN_EXPIRE_MINUTES"] is None  # empty: never expire, as ZenML
    assert settings["RATE_LIMIT_ENABLED"] is True
    assert settings["BROKER_URL"] == "redis://127.0.0.1:6379/0"


def test_overrides_win_over_the_environment(tmp_path):
    environ = {"ZENML_DEFAULT_USER_NAME": "from-env", "ZENYARD_DATA_DIR": str(tmp_path)}
    assert load_settings({"DEFAULT_USER_NAME": "explicit"}, environ=environ)["DEFAULT_USER_NAME"] == "explicit"
    assert load_settings(environ={"ZENYARD_DATABASE_URL": "sqlite:///a", "ZENML_STORE_URL": "sqlite:///b"})[
        "DATABASE_URL"
    ] == "sqlite:///a"


def test_bad_values_are_refused_clearly():
    with pytest.raises(SettingsError, match="EXTERNAL"):
        load_settings(environ={"ZENML_SERVER_AUTH_SCHEME": "EXTERNAL"})
    with pytest.raises(SettingsError, match="ZENML_SERVER_RATE_LIMIT_ENABLED"):
        load_settings(environ={"ZENML_SERVER_RATE_LIMIT_ENABLED": "perhaps"})


def test_jwt_key_file_is_private_and_stable(tmp_path):
    settings = load_settings({"DATA_DIR": str(tmp_path)}, environ={})
    first = jwt_secret(settings)
    assert jwt_secret(settings) == first and len(first) == 64
    mode = stat.S_IMODE(os.stat(tmp_path / "jwt_secret").st_mode)
    assert mode == 0o600


def test_nothing_reads_the_environment_at_import():
    import subprocess
    import sys

    code = "import app, settings, blueprints, store.crud, worker.celery_app, tasks.maintenance"
    env = {"PATH": os.environ.get("PATH", ""), "ZENML_SERVER_AUTH_SCHEME": "EXTERNAL"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=os.getcwd())
    assert result.returncode == 0, result.stderr
