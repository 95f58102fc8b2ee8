"""AES-GCM encryption of secret values at rest.

The key is ZenML's `ZENML_SECRETS_STORE_ENCRYPTION_KEY`, in ZenML's format:
any non-empty string, whose SHA-256 digest is the AES-256 key (what ZenML's
SQL secrets store does with it). Without one, the embedded default keeps a
random key in the data directory (mode 0600).

A sealed value is the base64 of a format byte, a random 96-bit nonce and the
GCM ciphertext with its tag. The caller's associated data (the row id) is
authenticated with it, so a ciphertext moved to another row does not open.
Each row also stores the id of the key that sealed it: a fingerprint from
which the key cannot be recovered, so a server started with the wrong key
says so instead of reporting damage.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from pathlib import Path
from typing import Any, Iterable, Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_FILE = "secrets_encryption_key"
FORMAT_V1 = b"\x01"
NONCE_BYTES = 12


class DecryptionError(Exception):
    """A sealed value that does not open; `unknown_key` tells why."""

    def __init__(self, message: str, unknown_key: bool = False):
        super().__init__(message)
        self.unknown_key = unknown_key


class Key:
    """One encryption key and its fingerprint."""

    def __init__(self, text: str):
        if not text or not text.strip():
            raise ValueError("the secrets encryption key is empty")
        material = hashlib.sha256(text.encode("utf-8")).digest()
        self.id = hashlib.sha256(b"zenyard secrets key id\0" + material).hexdigest()[:16]
        self._aead = AESGCM(material)

    def seal(self, plaintext: bytes, context: bytes) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = FORMAT_V1 + nonce + self._aead.encrypt(nonce, plaintext, context)
        return base64.b64encode(sealed).decode("ascii")

    def open(self, token: str, context: bytes) -> bytes:
        try:
            raw = base64.b64decode(token.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError, ValueError):
            raise DecryptionError("the stored value is not valid base64") from None
        # base64 ignores stray bits in its last character: an altered token
        # that decodes to the same bytes is still an altered token.
        if base64.b64encode(raw).decode("ascii") != token:
            raise DecryptionError("the stored value is not in canonical form")
        if raw[:1] != FORMAT_V1 or len(raw) < 1 + NONCE_BYTES + 16:
            raise DecryptionError("the stored value has an unknown format")
        nonce, ciphertext = raw[1 : 1 + NONCE_BYTES], raw[1 + NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, ciphertext, context)
        except InvalidTag:
            raise DecryptionError("the ciphertext fails authentication") from None


class Keyring:
    """The current key, which seals, and older keys that may still open."""

    def __init__(self, current: str, previous: Iterable[str] = ()):
        self.current = Key(current)
        self._keys = {self.current.id: self.current}
        for text in previous:
            key = Key(text)
            self._keys.setdefault(key.id, key)

    @property
    def current_id(self) -> str:
        return self.current.id

    def seal(self, plaintext: bytes, context: bytes) -> tuple[str, str]:
        """(sealed value, key id) of `plaintext` bound to `context`."""
        return self.current.seal(plaintext, context), self.current.id

    def open(self, token: str, key_id: str | None, context: bytes) -> bytes:
        key = self._keys.get(key_id or "")
        if key is None:
            raise DecryptionError(
                f"it was encrypted with another key (key id {key_id}); this "
                f"server's key has id {self.current.id}",
                unknown_key=True,
            )
        return key.open(token, context)


def keyring_from_settings(settings: Mapping[str, Any]) -> Keyring:
    """The configured key, or the one kept in the data directory.

    (`settings.load_settings` has refused to start already when a key is
    required and missing.)
    """
    from settings import SettingsError, read_or_create_key_file

    configured = settings.get("SECRETS_ENCRYPTION_KEY")
    if configured:
        try:
            return Keyring(configured)
        except ValueError as err:
            raise SettingsError(f"ZENML_SECRETS_STORE_ENCRYPTION_KEY: {err}") from err
    path = Path(settings["DATA_DIR"]) / KEY_FILE
    try:
        return Keyring(read_or_create_key_file(path))
    except ValueError as err:
        raise SettingsError(f"{path}: {err}") from err
