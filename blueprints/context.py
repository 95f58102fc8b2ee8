"""What a request handler reaches for: the store, the settings, the caller."""

from __future__ import annotations

from typing import Any

from flask import current_app, g

from store.crypto import Keyring
from store.db import Database
from store.resources import Actor


def db() -> Database:
    return current_app.extensions["zenyard"]["db"]


def settings() -> dict[str, Any]:
    return current_app.extensions["zenyard"]["settings"]


def server_id():
    return current_app.extensions["zenyard"]["server_id"]


def keyring() -> Keyring:
    """The keys that seal and open secret values."""
    return current_app.extensions["zenyard"]["keyring"]


def actor() -> Actor:
    """The authenticated caller (set by the authentication hook)."""
    return g.actor
