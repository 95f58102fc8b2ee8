"""Zenyard settings: defaults, then the environment, then explicit overrides.

Where the ZenML server has a variable for the same thing, Zenyard reads it
(`ZENML_STORE_URL`, `ZENML_SERVER_JWT_SECRET_KEY`, ...), so a deployment of
the ZenML server can switch to Zenyard by changing the image. Zenyard's own
settings use the `ZENYARD_` prefix. Nothing here runs at import time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Mapping

AUTH_SCHEMES = ("OAUTH2_PASSWORD_BEARER", "NO_AUTH")


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"not a boolean: {value!r}")


def _optional_int(value: str) -> int | None:
    return int(value) if value.strip() else None


DEFAULTS: dict[str, Any] = {
    # Where the embedded default keeps its SQLite files and key files.
    "DATA_DIR": str(Path.home() / ".zenyard"),
    # None: a SQLite file in DATA_DIR.
    "DATABASE_URL": None,
    # None: kombu's SQLAlchemy transport on a SQLite file in DATA_DIR.
    "BROKER_URL": None,
    # The Celery queue this deployment's tasks go to.
    "TASK_QUEUE": "zenyard",
    # None: a random key generated once and kept in DATA_DIR (mode 0600).
    "JWT_SECRET_KEY": None,
    "JWT_ALGORITHM": "HS256",
    # AES-GCM key of secret values (ZenML's format: any string); None: a
    # random key generated once and kept in DATA_DIR (mode 0600).
    "SECRETS_ENCRYPTION_KEY": None,
    # Production: refuse to start without SECRETS_ENCRYPTION_KEY.
    "REQUIRE_ENCRYPTION_KEY": False,
    # ZenML never expires its tokens by default; Zenyard does.
    "JWT_TOKEN_EXPIRE_MINUTES": 60 * 24,
    "AUTH_SCHEME": "OAUTH2_PASSWORD_BEARER",
    "DEFAULT_USER_NAME": "default",
    "DEFAULT_USER_PASSWORD": "",
    "SERVER_URL": "",
    "DASHBOARD_URL": "",
    "DEPLOYMENT_TYPE": "other",
    "DEBUG": False,
    "AUTO_ACTIVATE": True,
    "RATE_LIMIT_ENABLED": False,
    "LOGIN_RATE_LIMIT_MINUTE": 5,
    "LOGIN_RATE_LIMIT_DAY": 1000,
    # flask-limiter storage; None: in memory (or the broker's Redis).
    "RATE_LIMIT_STORAGE_URL": None,
    # Secure cookies: None means "when the request came over HTTPS".
    "COOKIE_SECURE": None,
    # The `zenml/zen_server/dashboard` folder of an installed zenml[server].
    "DASHBOARD_DIR": None,
    # bcrypt work factor of stored passwords (tests lower it).
    "PASSWORD_HASH_ROUNDS": 12,
    # Apply Alembic migrations when the app starts.
    "AUTO_MIGRATE": True,
    "SQL_ECHO": False,
    # Let run templates use stacks with local components (ZenML refuses them).
    "TEMPLATES_ALLOW_LOCAL_COMPONENTS": False,
}

# (setting, environment variables in order of precedence, parser)
ENVIRONMENT: list[tuple[str, tuple[str, ...], Callable[[str], Any]]] = [
    ("DATA_DIR", ("ZENYARD_DATA_DIR",), str),
    ("DATABASE_URL", ("ZENYARD_DATABASE_URL", "ZENML_STORE_URL"), str),
    ("BROKER_URL", ("ZENYARD_BROKER_URL",), str),
    ("TASK_QUEUE", ("ZENYARD_TASK_QUEUE",), str),
    ("JWT_SECRET_KEY", ("ZENML_SERVER_JWT_SECRET_KEY",), str),
    ("JWT_ALGORITHM", ("ZENML_SERVER_JWT_TOKEN_ALGORITHM",), str),
    ("SECRETS_ENCRYPTION_KEY", ("ZENML_SECRETS_STORE_ENCRYPTION_KEY",), str),
    ("REQUIRE_ENCRYPTION_KEY", ("ZENYARD_REQUIRE_ENCRYPTION_KEY",), _bool),
    (
        "JWT_TOKEN_EXPIRE_MINUTES",
        ("ZENML_SERVER_JWT_TOKEN_EXPIRE_MINUTES",),
        _optional_int,
    ),
    ("AUTH_SCHEME", ("ZENML_SERVER_AUTH_SCHEME",), str.upper),
    ("DEFAULT_USER_NAME", ("ZENML_DEFAULT_USER_NAME",), str),
    ("DEFAULT_USER_PASSWORD", ("ZENML_DEFAULT_USER_PASSWORD",), str),
    ("SERVER_URL", ("ZENML_SERVER_SERVER_URL", "ZENML_SERVER_URL"), str),
    ("DASHBOARD_URL", ("ZENML_SERVER_DASHBOARD_URL",), str),
    ("DEPLOYMENT_TYPE", ("ZENML_SERVER_DEPLOYMENT_TYPE",), str),
    ("DEBUG", ("ZENML_DEBUG",), _bool),
    ("AUTO_ACTIVATE", ("ZENML_SERVER_AUTO_ACTIVATE",), _bool),
    ("RATE_LIMIT_ENABLED", ("ZENML_SERVER_RATE_LIMIT_ENABLED",), _bool),
    ("LOGIN_RATE_LIMIT_MINUTE", ("ZENML_SERVER_LOGIN_RATE_LIMIT_MINUTE",), int),
    ("LOGIN_RATE_LIMIT_DAY", ("ZENML_SERVER_LOGIN_RATE_LIMIT_DAY",), int),
    ("RATE_LIMIT_STORAGE_URL", ("ZENYARD_RATE_LIMIT_STORAGE_URL",), str),
    ("COOKIE_SECURE", ("ZENYARD_COOKIE_SECURE",), _bool),
    ("DASHBOARD_DIR", ("ZENYARD_DASHBOARD_DIR",), str),
    ("PASSWORD_HASH_ROUNDS", ("ZENYARD_PASSWORD_HASH_ROUNDS",), int),
    ("AUTO_MIGRATE", ("ZENYARD_AUTO_MIGRATE",), _bool),
    ("SQL_ECHO", ("ZENYARD_SQL_ECHO",), _bool),
    ("TEMPLATES_ALLOW_LOCAL_COMPONENTS", ("ZENYARD_TEMPLATES_ALLOW_LOCAL_COMPONENTS",), _bool),
]


class SettingsError(RuntimeError):
    """A setting has a value Zenyard cannot start with."""


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Build the settings: defaults, then the environment, then overrides."""
    environ = os.environ if environ is None else environ
    settings = dict(DEFAULTS)
    for key, names, parse in ENVIRONMENT:
        for name in names:
            if name in environ:
                try:
                    settings[key] = parse(environ[name])
                except ValueError as err:
                    raise SettingsError(f"{name}: {err}") from err
                break
    settings.update(overrides or {})
    _check(settings)
    return settings


def _check(settings: dict[str, Any]) -> None:
    if settings["AUTH_SCHEME"] not in AUTH_SCHEMES:
        raise SettingsError(
            f"auth scheme {settings['AUTH_SCHEME']!r} is not supported by "
            f"Zenyard; use one of {', '.join(AUTH_SCHEMES)}"
        )
    if settings["REQUIRE_ENCRYPTION_KEY"] and not settings["SECRETS_ENCRYPTION_KEY"]:
        raise SettingsError(
            "ZENYARD_REQUIRE_ENCRYPTION_KEY is set: configure the secrets "
            "encryption key in ZENML_SECRETS_STORE_ENCRYPTION_KEY"
        )
    data_dir = Path(settings["DATA_DIR"]).expanduser()
    settings["DATA_DIR"] = str(data_dir)
    if not settings["DATABASE_URL"]:
        settings["DATABASE_URL"] = f"sqlite:///{data_dir / 'zenyard.db'}"
    if not settings["BROKER_URL"]:
        settings["BROKER_URL"] = f"sqla+sqlite:///{data_dir / 'broker.db'}"


def jwt_secret(settings: Mapping[str, Any]) -> str:
    """Return the JWT key: the configured one, or one kept in the data dir."""
    if settings["JWT_SECRET_KEY"]:
        return settings["JWT_SECRET_KEY"]
    return read_or_create_key_file(Path(settings["DATA_DIR"]) / "jwt_secret")


def read_or_create_key_file(path: Path) -> str:
    """Read a secret key file, creating it (mode 0600) on first use."""
    import secrets

    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    key = secrets.token_hex(32)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
