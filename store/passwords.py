"""Password and token hashing with bcrypt.

bcrypt reads at most 72 bytes, so the secret is first reduced with SHA-256
(base64, 44 bytes): long passwords keep all their entropy.
"""

from __future__ import annotations

import base64
import hashlib
import secrets

import bcrypt


def _prepare(secret: str) -> bytes:
    return base64.b64encode(hashlib.sha256(secret.encode("utf-8")).digest())


def hash_secret(secret: str) -> str:
    return bcrypt.hashpw(_prepare(secret), bcrypt.gensalt()).decode("ascii")


def verify_secret(secret: str | None, hashed: str | None) -> bool:
    if secret is None or not hashed:
        return False
    try:
        return bcrypt.checkpw(_prepare(secret), hashed.encode("ascii"))
    except ValueError:
        return False


def new_token() -> str:
    return secrets.token_urlsafe(32)
