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


# bcrypt's work factor; `create_app` sets it from PASSWORD_HASH_ROUNDS.
ROUNDS = {"value": 12}


def configure(rounds: int) -> None:
    if not 4 <= rounds <= 31:
        raise ValueError("bcrypt rounds must be between 4 and 31")
    ROUNDS["value"] = rounds


def hash_secret(secret: str) -> str:
    return bcrypt.hashpw(_prepare(secret), bcrypt.gensalt(ROUNDS["value"])).decode("ascii")


def verify_secret(secret: str | None, hashed: str | None) -> bool:
    if secret is None or not hashed:
        return False
    try:
        return bcrypt.checkpw(_prepare(secret), hashed.encode("ascii"))
    except ValueError:
        return False


def new_token() -> str:
    return secrets.token_urlsafe(32)
