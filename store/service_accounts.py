"""Service accounts and their API keys.

A service account is a row of `users` with `is_service_account` (as in
ZenML, so that what it creates is owned like anything a user creates); the
user routes never show one and these routes never show a user. It logs in
only with an API key: `ZENKEY_` + base64 of `{"id": key id, "key": secret}`.
Only bcrypt hashes of the secret are stored, the current one and, after a
rotation, the previous one for its retain period.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any, Optional

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from store.base import Base, Entity, utcnow
from store.crud import find_row
from store.db import Database
from store.errors import EntityExists, IllegalOperation, NotAuthorized, NotFound
from store.filtering import FilterField, Kind, ListParams
from store.passwords import hash_secret, verify_secret
from store.resources import Actor, Resource, as_uuid
from store.tables import User

KEY_PREFIX = "ZENKEY_"
#: How stale `last_login` may be before a request made with a key's token
#: writes it again (a write per request would cost every request).
LAST_LOGIN_RESOLUTION = timedelta(seconds=60)


class APIKey(Entity, Base):
    """An API key of a service account (hashes only)."""

    __tablename__ = "api_keys"
    __table_args__ = (UniqueConstraint("service_account_id", "name"),)

    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    key_hash: Mapped[str] = mapped_column(String(255))
    previous_key_hash: Mapped[Optional[str]] = mapped_column(String(255), nullable=True)
    retain_period_minutes: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    last_login: Mapped[Optional[datetime]] = mapped_column(nullable=True)
    last_rotated: Mapped[Optional[datetime]] = mapped_column(nullable=True)
    service_account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    service_account: Mapped[User] = relationship(User, lazy="joined", innerjoin=True)

    def verify(self, secret: str) -> bool:
        """The current secret, or the previous one within its retain period."""
        if not self.active:
            return False
        if verify_secret(secret, self.key_hash):
            return True
        return (
            self.previous_key_hash is not None
            and self.last_rotated is not None
            and self.retain_period_minutes > 0
            and utcnow() - self.last_rotated < timedelta(minutes=self.retain_period_minutes)
            and verify_secret(secret, self.previous_key_hash)
        )


def encode_key(key_id: uuid.UUID, secret: str) -> str:
    payload = json.dumps({"id": str(key_id), "key": secret}, separators=(",", ":"))
    return KEY_PREFIX + base64.b64encode(payload.encode()).decode()


def decode_key(value: str) -> tuple[uuid.UUID, str]:
    """(key id, secret) of an encoded API key; ValueError when malformed."""
    if value.startswith(KEY_PREFIX):
        value = value[len(KEY_PREFIX):]
    try:
        data = json.loads(base64.b64decode(value, validate=True))
        return uuid.UUID(str(data["id"])), str(data["key"])
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise ValueError("Invalid API key.") from None


def _new_secret() -> str:
    return secrets.token_hex(32)


class ServiceAccountResource(Resource):
    noun = "service account"
    table = User
    unique = ("name", "is_service_account")
    extra_filters = {"description": Kind.STRING, "active": Kind.BOOL}

    def base_query(self):
        return select(User).where(User.is_service_account.is_(True))

    def body(self, row: User) -> dict:
        return {"active": row.active}

    def metadata(self, row: User) -> dict:
        return {"description": row.description or ""}

    def build(self, session: Session, data: dict, actor: Actor) -> User:
        return User(
            name=data["name"],
            description=data.get("description") or "",
            active=data["active"],
            full_name="",
            is_service_account=True,
            is_admin=False,
        )

    def apply(self, session: Session, row: User, data: dict, actor: Actor) -> None:
        for key in ("name", "description", "active"):
            if data.get(key) is not None:
                setattr(row, key, data[key])

    def before_delete(self, session: Session, row: User, actor: Actor) -> None:
        if owns_resources(session, row.id):
            raise IllegalOperation(
                "The service account has already been used to create other "
                "resources that it now owns and therefore cannot be deleted. "
                "Please delete all resources owned by the service account or "
                "consider deactivating it instead."
            )


SERVICE_ACCOUNTS = ServiceAccountResource()


def owns_resources(session: Session, account_id: uuid.UUID) -> bool:
    """Whether any row of any table names `account_id` as its owner."""
    for table in Base.metadata.sorted_tables:
        column = table.columns.get("user_id")
        if column is None or table.name == "auth_devices":
            continue
        if any(fk.column.table.name == "users" for fk in column.foreign_keys):
            if session.scalar(select(column).where(column == account_id).limit(1)) is not None:
                return True
    return False


class APIKeyResource(Resource):
    noun = "API key"
    table = APIKey
    unique = ("name", "service_account_id")
    extra_filters = {
        "description": Kind.STRING,
        "active": Kind.BOOL,
        "last_login": Kind.DATETIME,
        "last_rotated": Kind.DATETIME,
    }

    def filters(self) -> dict[str, FilterField]:
        fields = super().filters()
        fields.update(
            service_account=FilterField(Kind.UUID, APIKey.service_account_id),
        )
        return fields

    def body(self, row: APIKey) -> dict:
        return {
            "key": getattr(row, "_new_key", None),
            "active": row.active,
            "service_account": SERVICE_ACCOUNTS.present(row.service_account, hydrate=False),
        }

    def metadata(self, row: APIKey) -> dict:
        return {
            "description": row.description or "",
            "retain_period_minutes": row.retain_period_minutes,
            "last_login": row.last_login,
            "last_rotated": row.last_rotated,
        }

    def not_found(self, name_or_id: Any) -> NotFound:
        return NotFound(
            f"An API key with ID or name '{name_or_id}' is not configured "
            "for this service account."
        )


API_KEYS = APIKeyResource()


def _service_account(session: Session, service_account_id: Any) -> User:
    return find_row(session, SERVICE_ACCOUNTS, service_account_id)


def _api_key(session: Session, account: User, name_or_id: Any) -> APIKey:
    row = session.scalars(
        select(APIKey).where(API_KEYS.lookup(name_or_id), APIKey.service_account_id == account.id).limit(1)
    ).first()
    if row is None:
        raise NotFound(
            f"An API key with ID or name '{name_or_id}' is not configured for "
            f"service account with ID '{account.id}'."
        )
    return row


def _check_name_free(session: Session, account: User, name: str, action: str, key_id=None) -> None:
    query = select(APIKey.id).where(APIKey.service_account_id == account.id, APIKey.name == name)
    if key_id is not None:
        query = query.where(APIKey.id != key_id)
    if session.scalar(query.limit(1)) is not None:
        raise EntityExists(
            f"Unable to {action} API key with name '{name}': Found an existing "
            f"API key with the same name configured for the same "
            f"'{account.name}' service account."
        )


def create_api_key(db: Database, service_account_id: Any, data: dict) -> dict:
    """A new key; the answer is the only place its value ever appears."""
    with db.unit_of_work() as session:
        account = _service_account(session, service_account_id)
        _check_name_free(session, account, data["name"], "register")
        secret = _new_secret()
        row = APIKey(
            id=uuid.uuid4(),
            name=data["name"],
            description=data.get("description") or "",
            key_hash=hash_secret(secret),
            service_account_id=account.id,
        )
        session.add(row)
        session.flush()
        row._new_key = encode_key(row.id, secret)
        return API_KEYS.present(row, hydrate=True)


def list_api_keys(db: Database, service_account_id: Any, params: ListParams, actor: Actor) -> dict:
    """The keys of one service account. The query is checked first (422, and
    400 past the last page), as ZenML validates it before the route runs; an
    empty page then tells whether the account exists (404)."""
    from store.crud import list_entities

    page = list_entities(db, API_KEYS, params, actor, scope={"service_account_id": service_account_id})
    if not page["total"]:
        with db.reading() as session:
            _service_account(session, service_account_id)
    return page


def get_api_key(db: Database, service_account_id: Any, name_or_id: Any, hydrate: bool) -> dict:
    with db.reading() as session:
        row = _api_key(session, _service_account(session, service_account_id), name_or_id)
        return API_KEYS.present(row, hydrate)


def update_api_key(db: Database, service_account_id: Any, name_or_id: Any, data: dict) -> dict:
    with db.unit_of_work() as session:
        account = _service_account(session, service_account_id)
        row = _api_key(session, account, name_or_id)
        if data.get("name") is not None and data["name"] != row.name:
            _check_name_free(session, account, data["name"], "update", key_id=row.id)
        for key in ("name", "description", "active"):
            if data.get(key) is not None:
                setattr(row, key, data[key])
        row.updated = utcnow()
        session.flush()
        return API_KEYS.present(row, hydrate=True)


def rotate_api_key(db: Database, service_account_id: Any, name_or_id: Any, data: dict) -> dict:
    """A new value; the old one keeps working for `retain_period_minutes`."""
    retain = data.get("retain_period_minutes") or 0
    if retain < 0:
        raise IllegalOperation("retain_period_minutes must not be negative.")
    with db.unit_of_work() as session:
        row = _api_key(session, _service_account(session, service_account_id), name_or_id)
        secret = _new_secret()
        now = utcnow()
        row.previous_key_hash = row.key_hash
        row.key_hash = hash_secret(secret)
        row.retain_period_minutes = retain
        row.last_rotated = now
        row.updated = now
        session.flush()
        row._new_key = encode_key(row.id, secret)
        return API_KEYS.present(row, hydrate=True)


def delete_api_key(db: Database, service_account_id: Any, name_or_id: Any) -> None:
    with db.unit_of_work() as session:
        session.delete(_api_key(session, _service_account(session, service_account_id), name_or_id))


# --- authentication ------------------------------------------------------


def _usable_key(session: Session, key_id: uuid.UUID) -> APIKey:
    """The key, if it and its service account are active; else NotAuthorized."""
    row = session.get(APIKey, key_id)
    if row is None:
        raise NotAuthorized(f"Authentication error: error retrieving API key {key_id}")
    account = row.service_account
    if not account.active:
        raise NotAuthorized(
            f"Authentication error: service account {account.name} associated "
            f"with API key {row.name} is not active"
        )
    if not row.active:
        raise NotAuthorized(
            f"Authentication error: API key {row.name} associated with service "
            f"account {account.name} is not active"
        )
    return row


def authenticate_api_key(db: Database, value: str) -> tuple[Actor, uuid.UUID]:
    """The service account an API key logs in as, and the key's id."""
    from store.users import actor_of

    try:
        key_id, secret = decode_key(value)
    except ValueError:
        raise NotAuthorized("Authentication error: error decoding API key") from None
    with db.unit_of_work() as session:
        row = _usable_key(session, key_id)
        if not row.verify(secret):
            raise NotAuthorized(
                f"Authentication error: could not verify key value for API key {row.name}"
            )
        row.last_login = utcnow()
        return actor_of(row.service_account), row.id


def check_api_key_token(db: Database, key_id: Any) -> None:
    """A token issued for an API key works while the key and account are active."""
    key_uuid = as_uuid(key_id)
    if key_uuid is None:
        raise NotAuthorized("Authentication error: invalid token (bad api_key_id)")
    with db.reading() as session:
        row = _usable_key(session, key_uuid)
        stale = row.last_login is None or utcnow() - row.last_login > LAST_LOGIN_RESOLUTION
    if stale:
        with db.unit_of_work() as session:
            row = session.get(APIKey, key_uuid)
            if row is not None:
                row.last_login = utcnow()

