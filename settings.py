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


def _list(value: str) -> list[str]:
    """Comma- or newline-separated items, blanks dropped."""
    return [item.strip() for item in value.replace("\n", ",").split(",") if item.strip()]


def _lines(value: str) -> list[str]:
    return [line for line in value.splitlines() if line.strip()]


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
    # OAuth2 device flow (`zenml connect --url ...`), ZenML's settings: how
    # long a request waits for a user (s), the client's polling interval (s),
    # wrong codes before a device locks, and how long a device (and its
    # token) lasts once connected, trusted or not (minutes; None: forever,
    # ZenML's default). Zenyard's tokens expire by default, so its devices do.
    "DEVICE_AUTH_TIMEOUT": 300,
    "DEVICE_AUTH_POLLING_INTERVAL": 5,
    "MAX_FAILED_DEVICE_AUTH_ATTEMPTS": 3,
    "DEVICE_EXPIRATION_MINUTES": 60 * 24,
    "TRUSTED_DEVICE_EXPIRATION_MINUTES": 60 * 24 * 30,
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
    # Single-host mode: the runner container also mounts each local artifact
    # store's path at the same path.
    "TEMPLATES_ALLOW_LOCAL_COMPONENTS": False,
    # --- template runs (docs/template-runs.md) ---
    # Docker engine of the workers; None: DOCKER_HOST or the default socket.
    "DOCKER_HOST": None,
    # Registry of runner images ("host:port[/namespace]"); empty: images stay
    # on the worker's engine (single host).
    "RUNNER_REGISTRY": "",
    "RUNNER_REGISTRY_USERNAME": "",
    "RUNNER_REGISTRY_PASSWORD": "",
    # or the login from a `docker` service connector / a secret (id or name)
    "RUNNER_REGISTRY_CONNECTOR": "",
    "RUNNER_REGISTRY_SECRET": "",
    "RUNNER_IMAGE_REPOSITORY": "zenml-runner",
    # Parent image when the template's build has none.
    "RUNNER_PARENT_IMAGE": "zenmldocker/zenml:{zenml_version}-py{python_version}",
    # Extra Dockerfile instructions of every runner image (a CA, a proxy).
    "RUNNER_DOCKERFILE_EXTRA": [],
    "RUNNER_NETWORK_MODE": "host",
    # "source:target[:ro|rw]" mounts of runner containers.
    "RUNNER_VOLUMES": [],
    "RUNNER_MEMORY_LIMIT": "4g",
    "RUNNER_PIDS_LIMIT": 1024,
    # Deadlines (seconds) of a build, a push and a runner container.
    "RUNNER_BUILD_TIMEOUT": 1200,
    "RUNNER_PUSH_TIMEOUT": 600,
    "RUNNER_RUN_TIMEOUT": 1200,
    # Lifetime of the API token a runner container gets (minutes; 0: never expires).
    "RUNNER_TOKEN_MINUTES": 7 * 24 * 60,
    # Celery limits of a template run; below the broker's visibility timeout.
    "BROKER_VISIBILITY_TIMEOUT": 3600,
    "WORKLOAD_SOFT_TIME_LIMIT": 3300,
    "WORKLOAD_TIME_LIMIT": 3420,
    # A working attempt beats every HEARTBEAT seconds; one silent for STALE
    # seconds is taken as dead (requeued, or failed after MAX_ATTEMPTS).
    "WORKLOAD_HEARTBEAT_SECONDS": 5,
    "WORKLOAD_STALE_SECONDS": 60,
    "WORKLOAD_MAX_ATTEMPTS": 3,
    # how often `celery beat` (`zenyard beat`, `zenyard worker --beat`) sends
    # the reaper; 0 leaves reaping to the workers' start-up only
    "WORKLOAD_REAP_SECONDS": 60,
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
    ("DEVICE_AUTH_TIMEOUT", ("ZENML_SERVER_DEVICE_AUTH_TIMEOUT",), int),
    ("DEVICE_AUTH_POLLING_INTERVAL", ("ZENML_SERVER_DEVICE_AUTH_POLLING_INTERVAL",), int),
    ("MAX_FAILED_DEVICE_AUTH_ATTEMPTS", ("ZENML_SERVER_MAX_FAILED_DEVICE_AUTH_ATTEMPTS",), int),
    ("DEVICE_EXPIRATION_MINUTES", ("ZENML_SERVER_DEVICE_EXPIRATION_MINUTES",), _optional_int),
    ("TRUSTED_DEVICE_EXPIRATION_MINUTES", ("ZENML_SERVER_TRUSTED_DEVICE_EXPIRATION_MINUTES",), _optional_int),
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
    ("DOCKER_HOST", ("ZENYARD_DOCKER_HOST",), str),
    ("RUNNER_REGISTRY", ("ZENYARD_RUNNER_REGISTRY",), str),
    ("RUNNER_REGISTRY_USERNAME", ("ZENYARD_RUNNER_REGISTRY_USERNAME",), str),
    ("RUNNER_REGISTRY_PASSWORD", ("ZENYARD_RUNNER_REGISTRY_PASSWORD",), str),
    ("RUNNER_REGISTRY_CONNECTOR", ("ZENYARD_RUNNER_REGISTRY_CONNECTOR",), str),
    ("RUNNER_REGISTRY_SECRET", ("ZENYARD_RUNNER_REGISTRY_SECRET",), str),
    ("RUNNER_IMAGE_REPOSITORY", ("ZENYARD_RUNNER_IMAGE_REPOSITORY",), str),
    ("RUNNER_PARENT_IMAGE", ("ZENYARD_RUNNER_PARENT_IMAGE",), str),
    ("RUNNER_DOCKERFILE_EXTRA", ("ZENYARD_RUNNER_DOCKERFILE_EXTRA",), _lines),
    ("RUNNER_NETWORK_MODE", ("ZENYARD_RUNNER_NETWORK_MODE",), str),
    ("RUNNER_VOLUMES", ("ZENYARD_RUNNER_VOLUMES",), _list),
    ("RUNNER_MEMORY_LIMIT", ("ZENYARD_RUNNER_MEMORY_LIMIT",), str),
    ("RUNNER_PIDS_LIMIT", ("ZENYARD_RUNNER_PIDS_LIMIT",), int),
    ("RUNNER_BUILD_TIMEOUT", ("ZENYARD_RUNNER_BUILD_TIMEOUT",), int),
    ("RUNNER_PUSH_TIMEOUT", ("ZENYARD_RUNNER_PUSH_TIMEOUT",), int),
    ("RUNNER_RUN_TIMEOUT", ("ZENYARD_RUNNER_RUN_TIMEOUT",), int),
    ("RUNNER_TOKEN_MINUTES", ("ZENYARD_RUNNER_TOKEN_MINUTES",), int),
    ("BROKER_VISIBILITY_TIMEOUT", ("ZENYARD_BROKER_VISIBILITY_TIMEOUT",), int),
    ("WORKLOAD_SOFT_TIME_LIMIT", ("ZENYARD_WORKLOAD_SOFT_TIME_LIMIT",), int),
    ("WORKLOAD_TIME_LIMIT", ("ZENYARD_WORKLOAD_TIME_LIMIT",), int),
    ("WORKLOAD_HEARTBEAT_SECONDS", ("ZENYARD_WORKLOAD_HEARTBEAT_SECONDS",), float),
    ("WORKLOAD_STALE_SECONDS", ("ZENYARD_WORKLOAD_STALE_SECONDS",), float),
    ("WORKLOAD_MAX_ATTEMPTS", ("ZENYARD_WORKLOAD_MAX_ATTEMPTS",), int),
    ("WORKLOAD_REAP_SECONDS", ("ZENYARD_WORKLOAD_REAP_SECONDS",), float),
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
    if not settings["WORKLOAD_SOFT_TIME_LIMIT"] < settings["WORKLOAD_TIME_LIMIT"] < settings["BROKER_VISIBILITY_TIMEOUT"]:
        raise SettingsError(
            "template runs need ZENYARD_WORKLOAD_SOFT_TIME_LIMIT < ZENYARD_WORKLOAD_TIME_LIMIT < "
            "ZENYARD_BROKER_VISIBILITY_TIMEOUT (a task outliving the visibility timeout is delivered twice)"
        )
    for key in ("DEVICE_AUTH_TIMEOUT", "DEVICE_AUTH_POLLING_INTERVAL", "MAX_FAILED_DEVICE_AUTH_ATTEMPTS"):
        if settings[key] < 1:
            raise SettingsError(f"{key} must be at least 1")
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
