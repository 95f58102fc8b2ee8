"""The Flask app factory."""

from __future__ import annotations

import logging
from typing import Any, Mapping

from flask import Flask, g
from flask_smorest import Api

import extensions
from blueprints import register_blueprints
from blueprints.auth import configure_jwt
from blueprints.dashboard import register as register_dashboard
from blueprints.errors import register_error_handlers
from blueprints.jsonio import ZenmlJSONProvider
from settings import jwt_secret, load_settings
from store import migrate, passwords, records
from store.crypto import keyring_from_settings
from store.db import Database
from store.server import bootstrap, server_id

API_TITLE = "Zenyard"
API_VERSION = "0.66.0"


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Create the app: defaults, then the environment, then `config`."""
    settings = load_settings(config)
    logging.basicConfig(
        level=logging.DEBUG if settings["DEBUG"] else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    app = Flask(__name__)
    app.json = ZenmlJSONProvider(app)

    passwords.configure(settings["PASSWORD_HASH_ROUNDS"])
    db = Database(settings["DATABASE_URL"], echo=settings["SQL_ECHO"])
    if settings["AUTO_MIGRATE"]:
        migrate.upgrade(db)
    bootstrap(
        db,
        settings["DEFAULT_USER_NAME"],
        settings["DEFAULT_USER_PASSWORD"],
        active=settings["AUTO_ACTIVATE"],
    )
    sid = server_id(db)

    app.config.update(
        API_TITLE=API_TITLE,
        API_VERSION=API_VERSION,
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        OPENAPI_SWAGGER_UI_URL="https://cdn.jsdelivr.net/npm/swagger-ui-dist/",
        JSON_SORT_KEYS=False,
        JWT_SECRET_KEY=jwt_secret(settings),
        JWT_ALGORITHM=settings["JWT_ALGORITHM"],
        JWT_TOKEN_LOCATION=["headers", "cookies"],
        JWT_ACCESS_COOKIE_NAME=f"zenml-server-{sid}",
        JWT_COOKIE_CSRF_PROTECT=False,  # SameSite=Lax plus an Origin check instead
        JWT_ENCODE_ISSUER=str(sid),
        JWT_DECODE_ISSUER=str(sid),
        JWT_ENCODE_AUDIENCE=str(sid),
        JWT_DECODE_AUDIENCE=str(sid),
        RATELIMIT_ENABLED=settings["RATE_LIMIT_ENABLED"],
        RATELIMIT_STORAGE_URI=settings["RATE_LIMIT_STORAGE_URL"] or "memory://",
        RATELIMIT_HEADERS_ENABLED=True,
    )
    app.extensions["zenyard"] = {
        "settings": settings,
        "db": db,
        # the secrets' encryption key (or the key file made on first start)
        "keyring": keyring_from_settings(settings),
        "server_id": sid,
        "no_auth_actor": lambda: _default_actor(db, settings),
    }

    # One Api per app: it holds the app's OpenAPI document.
    api = Api(app, spec_kwargs={"info": {"description": "ZenML 0.66.0 compatible server"}})
    extensions.jwt.init_app(app)
    extensions.limiter.init_app(app)
    # before authentication, which adds the caller to it (store.records)
    app.before_request(_open_record_scope)
    app.teardown_request(_close_record_scope)
    configure_jwt(app)
    register_blueprints(api)
    register_dashboard(app)
    register_error_handlers(app)

    from cli.main import db as db_commands
    from worker.celery_app import init_celery

    init_celery(app)
    app.cli.add_command(db_commands)
    return app


def _default_actor(db: Database, settings: Mapping[str, Any]):
    """The caller when the auth scheme is NO_AUTH: the default admin."""
    from sqlalchemy import select

    from store.tables import User
    from store.users import actor_of

    with db.reading() as session:
        row = session.scalars(
            select(User).where(User.name == settings["DEFAULT_USER_NAME"], User.is_service_account.is_(False))
        ).first()
        if row is None:
            row = session.scalars(select(User).where(User.is_admin.is_(True)).order_by(User.created)).first()
        return actor_of(row)


def _open_record_scope() -> None:
    """The users and workspaces this request reads, read once (`store.records`)."""
    g.record_scope = records.open_scope()


def _close_record_scope(_error: BaseException | None) -> None:
    token = g.pop("record_scope", None)
    if token is not None:
        records.close_scope(token)
