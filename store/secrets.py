"""Secrets: values encrypted at rest, scoped to a workspace or to one user.

ZenML's rules kept here: a name is unique within its scope (the workspace,
and the owner too when the scope is `user`); list answers carry no values;
an update merges the values it sends (None removes a key), or replaces them
all unless `patch_values` is set. Zenyard's own, until roles exist: a
user-scoped secret is visible to its owner only, and values are read by the
owner and by admins only (the others get the keys, with None values, as
ZenML answers a caller without the permission).

Values are a JSON object sealed with AES-GCM (`store.crypto`), bound to the
secret's id; lists never decrypt anything.
"""

from __future__ import annotations

import json
import logging
import re
import secrets as random
import uuid
from datetime import datetime
from typing import Any, Iterable, Optional

from sqlalchemy import String, Text, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from store import crud
from store.base import Base, Entity, Scoped, utcnow
from store.crypto import DecryptionError, Keyring
from store.db import Database
from store.errors import BadRequest, EntityExists, IllegalOperation, InvalidInput, ZenyardError
from store.filtering import Kind
from store.resources import Actor, Resource

log = logging.getLogger("zenyard.secrets")

SCOPES = ("workspace", "user")
#: What a TEXT column holds on MySQL/MariaDB; ZenML refuses more as well.
MAX_SEALED_LENGTH = 65535


class Secret(Entity, Scoped, Base):
    __tablename__ = "secrets"

    name: Mapped[str] = mapped_column(String(255), index=True)
    scope: Mapped[str] = mapped_column(String(32), default="workspace", index=True)
    # base64 of nonce + AES-GCM ciphertext of the JSON of the values
    values: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    # which key encrypted `values` (a fingerprint, never the key)
    key_id: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)


class SecretUnreadable(ZenyardError):
    """Stored values that do not decrypt: damaged, altered, or another key.

    409: the request is sound but the secret's stored state refuses it, and
    the message says what to do (replace the values, delete the secret, or
    start the server with the right key). Never a 500, never wrong values.
    """

    status = 409
    wire_name = "SecretDecodeError"


# --- sealing -------------------------------------------------------------


def _context(secret_id: uuid.UUID) -> bytes:
    return b"zenyard secret values\0" + secret_id.bytes


def _seal(keyring: Keyring, secret_id: uuid.UUID, values: dict[str, str]) -> tuple[str, str]:
    plaintext = json.dumps(values, separators=(",", ":")).encode("utf-8")
    token, key_id = keyring.seal(plaintext, _context(secret_id))
    if len(token) > MAX_SEALED_LENGTH:
        raise BadRequest(
            "Database representation of secret values exceeds max length. "
            "Please use fewer values or consider using shorter secret keys "
            "and/or values."
        )
    return token, key_id


def seal_values(keyring: Keyring, row: Secret, values: dict[str, str]) -> None:
    """Encrypt `values` into the row (which must have its id already)."""
    row.values, row.key_id = _seal(keyring, row.id, values)


def open_values(keyring: Keyring, row: Secret) -> dict[str, str]:
    """The decrypted values of the row, or SecretUnreadable."""
    if row.values is None:
        return {}
    try:
        plaintext = keyring.open(row.values, row.key_id, _context(row.id))
    except DecryptionError as err:
        log.warning("secret=%s unreadable=%r", row.id, str(err))
        if err.unknown_key:
            advice = (
                "Start the server with the key that encrypted them "
                "(ZENML_SECRETS_STORE_ENCRYPTION_KEY), or re-encrypt them "
                "with `zenyard secrets rotate-key`."
            )
        else:
            advice = (
                "The stored ciphertext was damaged or altered. Replace the "
                f"values (PUT /api/v1/secrets/{row.id} without patch_values) "
                "or delete the secret."
            )
        raise SecretUnreadable(
            f"The values of secret '{row.name}' ({row.id}) cannot be decrypted: {err}. {advice}"
        ) from None
    # authenticated: this is the JSON that seal_values wrote
    return json.loads(plaintext)


def checked_values(values: Any) -> dict[str, str | None]:
    """Secret values as the request sent them: strings, or None to remove."""
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise InvalidInput("Secret values must be an object of strings.")
    for key, value in values.items():
        if value is not None and not isinstance(value, str):
            raise InvalidInput(f"Secret values must be strings: the value of '{key}' is not.")
    return values


def may_read_values(actor: Actor, row: Secret) -> bool:
    return actor.is_admin or (row.user_id is not None and row.user_id == actor.id)


# --- the resource --------------------------------------------------------


class SecretResource(Resource):
    """Secrets; an instance bound to a keyring and a caller shows values."""

    noun = "secret"
    table = Secret
    extra_filters = {"scope": Kind.STRING}

    def __init__(self, keyring: Keyring | None = None, actor: Actor | None = None, patch_values: bool = True):
        self.keyring = keyring
        self.actor = actor
        self.patch_values = patch_values

    def bound(self, keyring: Keyring, actor: Actor, patch_values: bool = True) -> "SecretResource":
        return SecretResource(keyring, actor, patch_values)

    def visible(self, actor: Actor):
        conditions = [Secret.scope != "user", Secret.user_id == actor.id]
        if actor.is_admin:
            # a user-scoped secret whose owner was deleted
            conditions.append(Secret.user_id.is_(None))
        return or_(*conditions)

    def authorize(self, action: str, actor: Actor, row: Secret | None) -> None:
        if row is None or row.scope != "user" or row.user_id == actor.id:
            return
        if row.user_id is None and actor.is_admin:
            return
        # someone else's private secret: as if it did not exist
        raise self.not_found(row.id)

    def body(self, row: Secret) -> dict:
        return {"scope": row.scope, "values": self._values(row)}

    def _values(self, row: Secret) -> dict:
        if self.keyring is None:
            return {}  # lists carry no values, as ZenML's
        values = open_values(self.keyring, row)
        if self.actor is not None and may_read_values(self.actor, row):
            return values
        return {key: None for key in values}

    def build(self, session: Session, data: dict, actor: Actor) -> Secret:
        values = checked_values(data.get("values"))
        row = Secret(id=uuid.uuid4(), name=data["name"], scope=data.get("scope") or "workspace")
        self.assign_owner(session, row, data, actor)
        seal_values(self.keyring, row, {k: v for k, v in values.items() if v is not None})
        return row

    def apply(self, session: Session, row: Secret, data: dict, actor: Actor) -> None:
        if data.get("name") is not None:
            row.name = data["name"]
        if data.get("scope") is not None:
            row.scope = data["scope"]
        if data.get("values") is None:
            return
        changes = checked_values(data["values"])
        # replacing needs nothing from the old values: a secret whose stored
        # values are damaged can be repaired that way
        values = open_values(self.keyring, row) if self.patch_values else {}
        for key, value in changes.items():
            if value is None:
                values.pop(key, None)
            else:
                values[key] = value
        seal_values(self.keyring, row, values)

    def check_unique(self, session: Session, row: Secret, action: str) -> None:
        conditions = [Secret.name == row.name, Secret.scope == row.scope, Secret.workspace_id == row.workspace_id]
        if row.scope == "user":
            conditions.append(Secret.user_id == row.user_id)
        with session.no_autoflush:
            clash = session.scalars(select(Secret).where(*conditions, Secret.id != row.id).limit(1)).first()
        if clash is None:
            return
        message = (
            f"Unable to {action} secret with name '{row.name}': Found an existing "
            f"{row.scope} scoped secret with the same '{row.name}' name in the "
            f"same '{clash.workspace.name}' workspace"
        )
        if row.scope == "user" and clash.user is not None:
            message += f" for the same '{clash.user.name}' user"
        raise EntityExists(message + ".")


SECRETS = SecretResource()


# --- use cases -----------------------------------------------------------


def create_secret(db: Database, keyring: Keyring, workspace: Any, data: dict, actor: Actor) -> dict:
    return crud.create_in_workspace(db, SECRETS.bound(keyring, actor), workspace, data, actor)


def get_secret(db: Database, keyring: Keyring, secret_id: Any, actor: Actor, hydrate: bool = True) -> dict:
    return crud.get_entity(db, SECRETS.bound(keyring, actor), secret_id, actor, hydrate=hydrate)


def update_secret(
    db: Database, keyring: Keyring, secret_id: Any, data: dict, actor: Actor, patch_values: bool = False
) -> dict:
    """Update a secret; without `patch_values` the sent values replace all."""
    resource = SECRETS.bound(keyring, actor, patch_values=patch_values)
    return crud.update_entity(db, resource, secret_id, data, actor)


class SecretBackup(Base):
    """A copy of a secret (its sealed values as they are: the ciphertext is
    bound to the secret's id, which the copy keeps)."""

    __tablename__ = "secret_backups"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    scope: Mapped[str] = mapped_column(String(32))
    workspace_id: Mapped[uuid.UUID] = mapped_column()
    user_id: Mapped[Optional[uuid.UUID]] = mapped_column(nullable=True)
    values: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    key_id: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    created: Mapped[datetime] = mapped_column()
    backed_up: Mapped[datetime] = mapped_column(default=utcnow)


_COPIED = ("name", "scope", "workspace_id", "user_id", "values", "key_id", "created")


def backup_secrets(db: Database, actor: Actor, delete_secrets: bool = False) -> int:
    """`PUT /secrets_operations/backup`: the backup table becomes a copy of
    every secret as it is now (a snapshot: the previous backup is replaced);
    with `delete_secrets`, the originals are removed once copied. One unit
    of work; returns how many were copied."""
    _admins_only(actor, "back up")
    with db.unit_of_work() as session:
        session.execute(SecretBackup.__table__.delete())
        rows = session.scalars(select(Secret)).unique().all()
        for row in rows:
            copy = SecretBackup(id=row.id)
            for field in _COPIED:
                setattr(copy, field, getattr(row, field))
            copy.backed_up = utcnow()
            session.add(copy)
            if delete_secrets:
                session.delete(row)
    log.info("secrets backed_up=%d deleted=%s", len(rows), delete_secrets)
    return len(rows)


def restore_secrets(db: Database, actor: Actor, ignore_errors: bool = False, delete_secrets: bool = False) -> int:
    """`PUT /secrets_operations/restore`: put the backed-up secrets back
    (same ids; an existing secret gets the backed-up name and values). A
    backup whose workspace is gone, or whose name is taken by another
    secret, stops the restore unless `ignore_errors`; with
    `delete_secrets`, restored copies are removed from the backup."""
    from store.tables import Workspace

    _admins_only(actor, "restore")
    restored = 0
    with db.unit_of_work() as session:
        for copy in session.scalars(select(SecretBackup)).all():
            problem = None
            if session.get(Workspace, copy.workspace_id) is None:
                problem = f"its workspace {copy.workspace_id} no longer exists"
            else:
                clash = session.scalar(
                    select(Secret.id).where(
                        Secret.name == copy.name, Secret.workspace_id == copy.workspace_id, Secret.id != copy.id
                    ).limit(1)
                )
                if clash is not None:
                    problem = f"another secret named '{copy.name}' exists in its workspace"
            if problem:
                if ignore_errors:
                    log.warning("secret restore skipped=%s reason=%s", copy.id, problem)
                    continue
                raise BadRequest(f"Unable to restore secret '{copy.name}' ({copy.id}): {problem}.")
            row = session.get(Secret, copy.id) or Secret(id=copy.id)
            for field in _COPIED:
                setattr(row, field, getattr(copy, field))
            session.add(row)
            if delete_secrets:
                session.delete(copy)
            restored += 1
    return restored


def _admins_only(actor: Actor, action: str) -> None:
    if not actor.is_admin:
        raise IllegalOperation(f"Only admin users can {action} secrets.")


# --- used by service connectors (same unit of work, no permission check) --


def create_internal_secret(
    session: Session, keyring: Keyring, name_hint: str, workspace_id: uuid.UUID,
    user_id: uuid.UUID | None, values: dict[str, str],
) -> uuid.UUID:
    """A workspace secret named `connector-<hint>-xxxx`, as ZenML names them."""
    stem = re.sub(r"[^a-zA-Z0-9-]", "-", name_hint)
    while True:
        name = f"connector-{stem}-{random.token_hex(2)}".lower()
        taken = session.scalar(
            select(Secret.id).where(Secret.name == name, Secret.workspace_id == workspace_id).limit(1)
        )
        if taken is None:
            break
    row = Secret(id=uuid.uuid4(), name=name, scope="workspace", workspace_id=workspace_id, user_id=user_id)
    seal_values(keyring, row, values)
    session.add(row)
    session.flush()  # before the connector row that refers to it
    return row.id


def internal_secret_values(session: Session, keyring: Keyring, secret_id: uuid.UUID | None) -> dict[str, str]:
    """The values of a secret (empty when it is gone)."""
    row = session.get(Secret, secret_id) if secret_id else None
    return open_values(keyring, row) if row is not None else {}


def delete_internal_secret(session: Session, secret_id: uuid.UUID | None) -> None:
    row = session.get(Secret, secret_id) if secret_id else None
    if row is not None:
        session.delete(row)


# --- key rotation --------------------------------------------------------


def rotate_encryption_key(db: Database, new_key: str, old_keys: Iterable[str]) -> int:
    """Re-encrypt every secret under `new_key`; returns how many changed.

    `old_keys` are the keys the rows may be encrypted with now (the previous
    ZENML_SECRETS_STORE_ENCRYPTION_KEY, or the contents of the data
    directory's key file). One unit of work: a row that no given key opens
    stops the rotation and changes nothing. Rows already under `new_key`
    are left as they are, so running it again is harmless. Stop the servers
    first and start them again with `new_key`.
    """
    keyring = Keyring(new_key, previous=old_keys)
    changed = 0
    with db.unit_of_work() as session:
        rows = session.scalars(select(Secret).where(Secret.values.is_not(None))).all()
        for row in rows:
            if row.key_id == keyring.current_id:
                continue
            token, key_id = _seal(keyring, row.id, open_values(keyring, row))
            # a plain UPDATE, so that `updated` keeps meaning "values changed"
            session.execute(
                update(Secret)
                .where(Secret.id == row.id)
                .values(values=token, key_id=key_id, updated=Secret.updated)
                .execution_options(synchronize_session=False)
            )
            changed += 1
    log.info("secrets rotated=%d key_id=%s", changed, keyring.current_id)
    return changed
