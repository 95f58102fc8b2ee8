"""Login, logout, API tokens, and the hook that authenticates every request.

Tokens are JWTs from flask-jwt-extended, accepted as `Authorization: Bearer`
and as the `zenml-server-<server id>` cookie the ZenML server sets.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Flask, current_app, g, request
from flask_jwt_extended import (
    create_access_token,
    get_current_user,
    get_jwt,
    get_jwt_request_location,
    verify_jwt_in_request,
)
from flask_smorest import Blueprint

from blueprints.context import actor, db, server_id, settings
from blueprints.contract import endpoint, json_reply
from blueprints.errors import error_body
from extensions import jwt, limiter
from store import devices as device_store
from store import service_accounts as sa_store
from store import users as user_store
from store.base import utcnow
from store.errors import BadRequest, IllegalOperation, InvalidInput, NotAuthorized, OAuthFailure

blp = Blueprint("auth", __name__, description="Login, logout and API tokens.")

PASSWORD_GRANT = "password"
API_KEY_GRANT = "zenml-api-key"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
MAX_TOKEN_MINUTES = 10 * 365 * 24 * 60


def cookie_name() -> str:
    return f"zenml-server-{server_id()}"


def issue_token(user_id: Any, minutes: float | None = None, **claims: Any) -> tuple[str, int | None]:
    """A signed token for `user_id`; returns it with its lifetime in seconds.

    `minutes`: None for the configured lifetime, 0 for a token that never
    expires. Claims name what else the token depends on (`device_id`,
    `api_key_id`) or is scoped to (`pipeline_id`, `schedule_id`).
    """
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
    """Log in (OAuth2 form): a password, an API key, or a device code."""
    grant = body.get("grant_type") or _implied_grant(body)
    if grant == PASSWORD_GRANT:
        if not body.get("username"):
            raise BadRequest("Invalid request: username is required.")
        who = user_store.authenticate_password(db(), body["username"], body.get("password") or "")
        return _token_reply(*issue_token(who.id))
    if grant == API_KEY_GRANT:
        if not body.get("password"):
            raise BadRequest("API key is required.")
        who, key_id = sa_store.authenticate_api_key(db(), body["password"])
        return _token_reply(*issue_token(who.id, api_key_id=key_id))
    if grant == DEVICE_GRANT:
        return _device_token(body)
    raise BadRequest(f"Unsupported grant type: {grant}")


def _implied_grant(body: dict) -> str:
    """ZenML's rule for a form without grant_type."""
    if body.get("username") is not None:
        return PASSWORD_GRANT
    if body.get("password"):
        return API_KEY_GRANT
    if body.get("device_code"):
        return DEVICE_GRANT
    raise NotAuthorized("Authentication error: no credentials provided")


def _device_token(body: dict) -> Any:
    """The token of a device a user verified; OAuth2 errors while it is not."""
    client_id = _uuid_or_none(body.get("client_id"))
    if not body.get("device_code") or not body.get("client_id"):
        raise OAuthFailure("invalid_request", "Invalid request: device code and client ID are required.")
    if client_id is None:
        raise OAuthFailure("invalid_request", "Invalid request: invalid client ID.")
    policy = device_store.DevicePolicy.from_settings(settings())
    user_id, device_id, expires = device_store.authenticate_device(db(), client_id, body["device_code"], policy)
    # the token lasts as long as the device (ZenML); no cookie for a device
    minutes = 0 if expires is None else max((expires - utcnow()).total_seconds() / 60, 1 / 60)
    return _token_reply(*issue_token(user_id, minutes=minutes, device_id=device_id), cookie=False)


def _token_reply(access_token: str, expires_in: int | None, cookie: bool = True) -> Any:
    response = json_reply(
        {
            "access_token": access_token,
            "token_type": "bearer",
            "expires_in": expires_in,
            "refresh_token": None,
            "scope": None,
        }
    )
    if cookie:
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


@endpoint(blp, "POST", "/api/v1/device_authorization", public=True)
def device_authorization(body: dict) -> Any:
    """Start the OAuth2 device flow for a client id (RFC 8628)."""
    conf = settings()
    forwarded = request.headers.get("X-Forwarded-For", "")
    ip_address = forwarded.split(",")[0].strip() or request.remote_addr
    client = device_store.DeviceClient.from_user_agent(request.headers.get("User-Agent"), ip_address)
    policy = device_store.DevicePolicy.from_settings(conf)
    started = device_store.start_authorization(db(), body["client_id"], client, policy)
    base = (conf["DASHBOARD_URL"] or conf["SERVER_URL"] or "").rstrip("/")
    verification_uri = f"{base}/devices/verify"
    query = urlencode({"device_id": str(started["id"]), "user_code": started["user_code"]})
    return {
        "device_code": started["device_code"],
        "user_code": started["user_code"],
        "verification_uri": verification_uri,
        "verification_uri_complete": f"{verification_uri}?{query}",
        "expires_in": policy.auth_timeout,
        "interval": policy.polling_interval,
    }


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
        # a token made from a device's or an API key's token is revoked with them
        device_id=g.token_claims.get("device_id"),
        api_key_id=g.token_claims.get("api_key_id"),
    )
    return token_value


def _unauthorized(message: str):
    return json_reply(error_body("AuthorizationException", message), 401)


def configure_jwt(app: Flask) -> None:
    """flask-jwt-extended: user lookup and ZenML-shaped 401 answers."""

    @jwt.user_lookup_loader
    def _load_user(_header: dict, payload: dict):
        database = current_app.extensions["zenyard"]["db"]
        user = user_store.load_active_user(database, _uuid_or_none(payload.get("sub")))
        if user is not None:
            # tokens of an API key or a device live only as long as those do
            if payload.get("api_key_id"):
                sa_store.check_api_key_token(database, payload["api_key_id"])
            if payload.get("device_id"):
                device_store.check_device_token(database, payload["device_id"], user.id)
        return user

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
        g.token_claims = {}
        return None
    verify_jwt_in_request()
    g.token_claims = get_jwt()
    user = get_current_user()
    if get_jwt_request_location() == "cookies" and request.method not in SAFE_METHODS:
        # A cookie rides along on cross-site requests; refuse those.
        if not _same_origin():
            raise IllegalOperation("Cross-origin request refused.")
    g.actor = user
    return None
