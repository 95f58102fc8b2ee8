"""Login, logout, API tokens, and the hook that authenticates every request.

Tokens are JWTs from flask-jwt-extended, accepted as `Authorization: Bearer`
and as the `zenml-server-<server id>` cookie the ZenML server sets.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, g, request
from flask_jwt_extended import (
    create_access_token,
    get_current_user,
    get_jwt_request_location,
    verify_jwt_in_request,
)
from flask_smorest import Blueprint

from blueprints.context import actor, db, server_id, settings
from blueprints.contract import endpoint, json_reply
from blueprints.errors import error_body
from extensions import jwt, limiter
from store import users as user_store
from store.errors import IllegalOperation, InvalidInput, NotAuthorized, Unsupported

blp = Blueprint("auth", __name__, description="Login, logout and API tokens.")

PASSWORD_GRANT = "password"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
MAX_TOKEN_MINUTES = 10 * 365 * 24 * 60


def cookie_name() -> str:
    return f"zenml-server-{server_id()}"


def issue_token(user_id: Any, minutes: int | None = None, **claims: Any) -> tuple[str, int | None]:
    """A signed token for `user_id`; returns it with its lifetime in seconds."""
    if minutes is None:
        minutes = settings()["JWT_TOKEN_EXPIRE_MINUTES"]
    expires = timedelta(minutes=minutes) if minutes else False
    token = create_access_token(
        identity=str(user_id),
        expires_delta=expires,
        additional_claims={k: str(v) for k, v in claims.items() if v is not None},
    )
    return token, int(expires.total_seconds()) if expires else None


def _login_limit() -> str:
    conf = settings()
    return f"{conf['LOGIN_RATE_LIMIT_MINUTE']}/minute;{conf['LOGIN_RATE_LIMIT_DAY']}/day"


@endpoint(blp, "POST", "/api/v1/login", public=True)
@limiter.limit(_login_limit, exempt_when=lambda: not settings()["RATE_LIMIT_ENABLED"])
def token(body: dict) -> Any:
    """Log in with a username and password (OAuth2 password form)."""
    grant = body.get("grant_type") or PASSWORD_GRANT
    if grant == DEVICE_GRANT:
        raise Unsupported("The OAuth2 device flow is not available on this server.")
    if body.get("username") is None:
        raise NotAuthorized(
            "Authentication error: API key login is not available on this "
            "server; log in with a username and password."
        )
    who = user_store.authenticate_password(db(), body["username"], body.get("password") or "")
    access_token, expires_in = issue_token(who.id)
    response = json_reply(
        {
            "access_token": access_token,
            "token_type": "bearer",
            "expires_in": expires_in,
            "refresh_token": None,
            "scope": None,
        }
    )
    secure = settings()["COOKIE_SECURE"]
    response.set_cookie(
        cookie_name(),
        access_token,
        max_age=expires_in,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure if secure is None else secure,
        path="/",
    )
    return response


@endpoint(blp, "GET", "/api/v1/logout", public=True)
def logout() -> Any:
    """Log out: delete the session cookie."""
    response = json_reply(None)
    response.delete_cookie(cookie_name(), path="/", httponly=True, samesite="Lax")
    return response


@endpoint(blp, "GET", "/api/v1/api_token")
def api_token(query: dict) -> Any:
    """Issue an API token for the caller, optionally for a pipeline or schedule."""
    minutes = query.get("expires_minutes")
    if minutes is not None and minutes <= 0:
        raise IllegalOperation("expires_minutes must be positive.")
    if minutes is not None and minutes > MAX_TOKEN_MINUTES:
        raise InvalidInput(f"expires_minutes must be at most {MAX_TOKEN_MINUTES} (ten years).")
    token_value, _ = issue_token(
        actor().id,
        minutes=minutes,
        pipeline_id=query.get("pipeline_id"),
        schedule_id=query.get("schedule_id"),
    )
    return token_value


def _unauthorized(message: str):
    return json_reply(error_body("AuthorizationException", message), 401)


def configure_jwt(app: Flask) -> None:
    """flask-jwt-extended: user lookup and ZenML-shaped 401 answers."""

    @jwt.user_lookup_loader
    def _load_user(_header: dict, payload: dict):
        return user_store.load_active_user(
            current_app.extensions["zenyard"]["db"], _uuid_or_none(payload.get("sub"))
        )

    @jwt.user_lookup_error_loader
    def _user_gone(_header: dict, _payload: dict):
        return _unauthorized("Authentication error: the user account does not exist or is inactive.")

    @jwt.unauthorized_loader
    def _missing(reason: str):
        return _unauthorized(f"Authentication error: not authenticated ({reason})")

    @jwt.invalid_token_loader
    def _invalid(reason: str):
        return _unauthorized(f"Authentication error: invalid token ({reason})")

    @jwt.expired_token_loader
    def _expired(_header: dict, _payload: dict):
        return _unauthorized("Authentication error: the token has expired.")

    @jwt.token_verification_failed_loader
    def _failed(_header: dict, _payload: dict):
        return _unauthorized("Authentication error: the token was rejected.")

    app.before_request(authenticate_request)


def _uuid_or_none(value: Any):
    import uuid

    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _same_origin() -> bool:
    origin = request.headers.get("Origin")
    if not origin:
        return True
    return urlsplit(origin).netloc == request.host


def authenticate_request() -> Any:
    """Require a valid token on every API route not marked public."""
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None or getattr(view, "public", False) or not request.path.startswith("/api/"):
        return None
    if request.method == "OPTIONS":
        return None  # answered by Flask itself; flask-jwt-extended exempts it too
    if settings()["AUTH_SCHEME"] == "NO_AUTH":
        g.actor = current_app.extensions["zenyard"]["no_auth_actor"]()
        return None
    verify_jwt_in_request()
    user = get_current_user()
    if get_jwt_request_location() == "cookies" and request.method not in SAFE_METHODS:
        # A cookie rides along on cross-site requests; refuse those.
        if not _same_origin():
            raise IllegalOperation("Cross-origin request refused.")
    g.actor = user_store.actor_of(user)
    return None
