"""One handler writes every error body the ZenML client decodes.

`{"detail": [ExceptionName, message]}`: the client turns it back into the
exception of that name (see `store.errors` for the status table). Request
validation failures answer 422 with a `ValueError`, as ZenML does.
"""

from __future__ import annotations

import logging

from flask import Flask
from werkzeug.exceptions import HTTPException

from blueprints.contract import json_reply
from store.errors import OAuthFailure, ZenyardError

log = logging.getLogger("zenyard.errors")


def _messages_text(messages) -> str:
    """webargs' {location: {field: [msg]}} as one readable line."""
    parts = []
    for location, by_field in (messages or {}).items():
        if isinstance(by_field, dict):
            for field, problems in by_field.items():
                text = "; ".join(map(str, problems)) if isinstance(problems, list) else str(problems)
                parts.append(f"{location}.{field}: {text}")
        else:
            parts.append(f"{location}: {by_field}")
    return "; ".join(parts) or "Invalid request"


def error_body(name: str, message: str) -> dict:
    return {"detail": [name, message]}


def handle_zenyard_error(error: ZenyardError):
    return json_reply(error_body(error.wire_name, error.message), error.status)


def handle_oauth_failure(error: OAuthFailure):
    body = {"error": error.error, "error_description": error.message, "error_uri": None}
    return json_reply(body, error.status)


def handle_http_exception(error: HTTPException):
    data = getattr(error, "data", None) or {}
    messages = data.get("messages")
    if messages is not None or error.code in (400, 422):
        # webargs/marshmallow: malformed JSON, wrong types, unknown fields,
        # out-of-range pages. ZenML answers all of these with 422.
        text = _messages_text(messages) if messages is not None else (error.description or "Invalid request")
        return json_reply(error_body("ValueError", text), 422)
    if error.code == 401:
        return json_reply(error_body("AuthorizationException", error.description or "Not authenticated"), 401)
    if error.code == 429:
        return json_reply(error_body("RuntimeError", f"Too many requests: {error.description}"), 429)
    return json_reply({"detail": error.name}, error.code or 500)


def handle_unexpected(error: Exception):
    log.exception("unhandled error: %s", error)
    return json_reply(error_body("RuntimeError", "Internal server error."), 500)


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(OAuthFailure, handle_oauth_failure)
    app.register_error_handler(ZenyardError, handle_zenyard_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
