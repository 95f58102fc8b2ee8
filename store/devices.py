"""OAuth2 device authorization (RFC 8628), as ZenML 0.66 runs it.

A client (`zenml connect --url ...` without credentials) asks for a device
and a user code; a logged-in user verifies the device with the user code
(the dashboard's `/devices/verify` page); the client, polling the login
route with the device code, then gets a token that names the device. Such
a token works while the device is active and unexpired: deleting or
locking the device revokes it. Codes are stored as bcrypt hashes only.

A device moves pending -> verified (a user vouched for it) -> active (its
token was fetched); a new authorization request for the same client id
starts it over at pending, and too many wrong codes lock it.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Optional

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.base import Base, Entity, Owned, utcnow
from store.db import Database
from store.errors import BadRequest, NotAuthorized, NotFound, OAuthFailure
from store.filtering import FilterField, Kind, parse_uuid
from store.passwords import hash_secret, verify_secret
from store.resources import Actor, Resource, as_uuid
from store.tables import User

PENDING, VERIFIED, ACTIVE, LOCKED = "pending", "verified", "active", "locked"
LAST_LOGIN_RESOLUTION = timedelta(seconds=60)


class Device(Entity, Owned, Base):
    __tablename__ = "auth_devices"

    client_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    user_code_hash: Mapped[str] = mapped_column(String(255))
    device_code_hash: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    failed_auth_attempts: Mapped[int] = mapped_column(default=0)
    expires: Mapped[Optional[datetime]] = mapped_column(nullable=True)
    last_login: Mapped[Optional[datetime]] = mapped_column(nullable=True)
    trusted_device: Mapped[bool] = mapped_column(default=False)
    os: Mapped[Optional[str]] = mapped_column(String(255), nullable=True)
    ip_address: Mapped[Optional[str]] = mapped_column(String(255), nullable=True)
    hostname: Mapped[Optional[str]] = mapped_column(String(255), nullable=True)
    python_version: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    zenml_version: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    city: Mapped[Optional[str]] = mapped_column(String(255), nullable=True)
    region: Mapped[Optional[str]] = mapped_column(String(255), nullable=True)
    country: Mapped[Optional[str]] = mapped_column(String(255), nullable=True)

    def expired(self, now: datetime | None = None) -> bool:
        return self.expires is not None and (now or utcnow()) >= self.expires


class DeviceResource(Resource):
    noun = "device"
    table = Device
    unique = ()
    extra_filters = {
        "expires": Kind.DATETIME,
        "client_id": Kind.UUID,
        "status": Kind.STRING,
        "trusted_device": Kind.BOOL,
        "failed_auth_attempts": Kind.NUMBER,
        "last_login": Kind.DATETIME,
    }

    def filters(self) -> dict[str, FilterField]:
        fields = super().filters()
        fields.update(
            # the list is always the caller's own devices (see `visible`)
            scope_user=FilterField(
                Kind.UUID, Device.user_id, sortable=False, always=True,
                custom=lambda op, value: Device.user_id == parse_uuid(value),
            ),
        )
        return fields

    def body(self, row: Device) -> dict:
        return {
            "client_id": row.client_id,
            "expires": row.expires,
            "trusted_device": row.trusted_device,
            "status": row.status,
            "os": row.os,
            "ip_address": row.ip_address,
            "hostname": row.hostname,
        }

    def metadata(self, row: Device) -> dict:
        return {
            "python_version": row.python_version,
            "zenml_version": row.zenml_version,
            "city": row.city,
            "region": row.region,
            "country": row.country,
            "failed_auth_attempts": row.failed_auth_attempts,
            "last_login": row.last_login,
        }

    def visible(self, actor: Actor):
        return Device.user_id == actor.id

    def not_found(self, name_or_id: Any) -> NotFound:
        return NotFound(f"Unable to get device with ID {name_or_id}: No device with this ID found.")


DEVICES = DeviceResource()


@dataclass(frozen=True)
class DevicePolicy:
    """The server settings the flow follows (ZenML's names and meanings)."""

    auth_timeout: int = 300  # seconds a pending request waits for a user
    polling_interval: int = 5
    max_failed_attempts: int = 3
    expiration_minutes: int | None = None  # of a device once its token is out
    trusted_expiration_minutes: int | None = None
    tokens_expire: bool = True  # ZenML: devices never expire if tokens never do

    @classmethod
    def from_settings(cls, settings: dict) -> "DevicePolicy":
        return cls(
            auth_timeout=settings["DEVICE_AUTH_TIMEOUT"],
            polling_interval=settings["DEVICE_AUTH_POLLING_INTERVAL"],
            max_failed_attempts=settings["MAX_FAILED_DEVICE_AUTH_ATTEMPTS"],
            expiration_minutes=settings["DEVICE_EXPIRATION_MINUTES"],
            trusted_expiration_minutes=settings["TRUSTED_DEVICE_EXPIRATION_MINUTES"],
            tokens_expire=bool(settings["JWT_TOKEN_EXPIRE_MINUTES"]),
        )

    def lifetime(self, trusted: bool) -> timedelta | None:
        if not self.tokens_expire:
            return None
        minutes = self.trusted_expiration_minutes if trusted else self.expiration_minutes
        return timedelta(minutes=minutes) if minutes else None


@dataclass(frozen=True)
class DeviceClient:
    """What a client tells about itself (its User-Agent and address)."""

    hostname: str | None = None
    os: str | None = None
    python_version: str | None = None
    zenml_version: str | None = None
    ip_address: str | None = None

    @classmethod
    def from_user_agent(cls, header: str | None, ip_address: str | None) -> "DeviceClient":
        """ZenML's client sends `Host/<h> ZenML/<v> Python/<v> OS/<os>`."""
        keys = {"Host": "hostname", "ZenML": "zenml_version", "Python": "python_version", "OS": "os"}
        found: dict[str, str] = {}
        for part in (header or "").split():
            key, sep, value = part.partition("/")
            if sep and key in keys:
                found[keys[key]] = value[:64]
        return cls(ip_address=ip_address, **found)


def _codes() -> tuple[str, str]:
    return secrets.token_hex(16), secrets.token_hex(32)


def start_authorization(db: Database, client_id: uuid.UUID, client: DeviceClient, policy: DevicePolicy) -> dict:
    """A pending device for `client_id` with new codes (the only time they are seen)."""
    user_code, device_code = _codes()
    now = utcnow()
    with db.unit_of_work() as session:
        # unclaimed requests that ran out are of no use to anyone
        for stale in session.scalars(
            select(Device).where(Device.user_id.is_(None), Device.expires < now, Device.client_id != client_id)
        ):
            session.delete(stale)
        row = session.scalars(select(Device).where(Device.client_id == client_id)).first()
        if row is None:
            row = Device(id=uuid.uuid4(), client_id=client_id)
            session.add(row)
        # a repeated request starts over: the old codes and tokens stop working
        row.status = PENDING
        row.trusted_device = False
        row.failed_auth_attempts = 0
        row.expires = now + timedelta(seconds=policy.auth_timeout)
        row.user_code_hash = hash_secret(user_code)
        row.device_code_hash = hash_secret(device_code)
        for key, value in vars(client).items():
            setattr(row, key, value)
        session.flush()
        return {"id": row.id, "user_code": user_code, "device_code": device_code}


def _own_device(session: Session, device_id: Any, actor: Actor) -> Device:
    row = session.get(Device, device_id)
    if row is None or row.user_id is None or row.user_id != actor.id:
        raise DEVICES.not_found(device_id)
    return row


def get_device(db: Database, device_id: Any, actor: Actor, user_code: str | None, hydrate: bool) -> dict:
    """The caller's device; an unclaimed one only to whoever has its user code."""
    with db.reading() as session:
        row = session.get(Device, device_id)
        if row is not None:
            if row.user_id is None:
                if user_code and verify_secret(user_code, row.user_code_hash):
                    return DEVICES.present(row, hydrate)
            elif row.user_id == actor.id:
                return DEVICES.present(row, hydrate)
        raise DEVICES.not_found(device_id)


def update_device(db: Database, device_id: Any, data: dict, actor: Actor) -> dict:
    """Lock (revoke) or unlock one of the caller's devices."""
    with db.unit_of_work() as session:
        row = _own_device(session, device_id, actor)
        if data.get("locked") is True:
            row.status = LOCKED
        elif data.get("locked") is False:
            row.status = ACTIVE
        row.updated = utcnow()
        session.flush()
        return DEVICES.present(row, hydrate=True)


def delete_device(db: Database, device_id: Any, actor: Actor) -> None:
    with db.unit_of_work() as session:
        session.delete(_own_device(session, device_id, actor))


def _record_failure(db: Database, device_id: uuid.UUID, policy: DevicePolicy) -> bool:
    """Count a wrong code in its own unit of work; True when that locks the device."""
    with db.unit_of_work() as session:
        row = session.get(Device, device_id)
        row.failed_auth_attempts += 1
        locked = row.failed_auth_attempts >= policy.max_failed_attempts
        if locked:
            row.status = LOCKED
        return locked


def verify_device(db: Database, device_id: Any, data: dict, actor: Actor, policy: DevicePolicy) -> dict:
    """A user vouches for a pending device with its user code."""
    from store.server import record_onboarding_in

    with db.reading() as session:
        row = session.get(Device, device_id)
        if row is None:
            raise DEVICES.not_found(device_id)
        if row.status != PENDING:
            raise BadRequest("Invalid request: device not pending verification.")
        if row.expired():
            raise BadRequest("Invalid request: device verification expired.")
        if row.user_id is not None and row.user_id != actor.id:
            raise BadRequest("Invalid request: this device is associated with another user.")
        code_ok = verify_secret(data["user_code"], row.user_code_hash)
    if not code_ok:
        if _record_failure(db, device_id, policy):
            raise BadRequest("Invalid request: device locked due to too many failed authentication attempts.")
        raise BadRequest("Invalid request: invalid user code.")
    with db.unit_of_work() as session:
        row = session.get(Device, device_id)
        if row is None or row.status != PENDING:  # raced with another request
            raise BadRequest("Invalid request: device not pending verification.")
        row.status = VERIFIED
        row.user = session.get(User, actor.id)
        row.failed_auth_attempts = 0
        row.trusted_device = bool(data.get("trusted_device"))
        row.updated = utcnow()
        record_onboarding_in(session, ("device_verified",))
        session.flush()
        return DEVICES.present(row, hydrate=True)


def authenticate_device(
    db: Database, client_id: uuid.UUID, device_code: str, policy: DevicePolicy
) -> tuple[uuid.UUID, uuid.UUID, datetime | None]:
    """Exchange a verified device's code for its token: (user id, device id, expires).

    Raises OAuthFailure with the OAuth2 error the polling client acts on
    (`authorization_pending` makes it wait and ask again).
    """
    with db.reading() as session:
        row = session.scalars(select(Device).where(Device.client_id == client_id)).first()
        if row is None:
            raise OAuthFailure(
                "invalid_client",
                f"Authentication error: error retrieving device with client ID {client_id}",
            )
        if row.status != VERIFIED:
            error = {PENDING: "authorization_pending", LOCKED: "access_denied"}.get(row.status, "expired_token")
            raise OAuthFailure(error, f"Authentication error: device with client ID {client_id} is {row.status}.")
        if row.expired():
            raise OAuthFailure(
                "expired_token", f"Authentication error: device for client ID {client_id} has expired"
            )
        device_id = row.id
        code_ok = verify_secret(device_code, row.device_code_hash)
    if not code_ok:
        if _record_failure(db, device_id, policy):
            message = (
                f"Authentication error: device for client ID {client_id} has been locked "
                "due to too many failed authentication attempts."
            )
        else:
            message = f"Authentication error: device for client ID {client_id} has an invalid device code."
        raise OAuthFailure("access_denied", message)
    with db.unit_of_work() as session:
        row = session.get(Device, device_id)
        if row is None or row.status != VERIFIED or row.user_id is None:
            raise OAuthFailure("access_denied", f"Authentication error: device with client ID {client_id} changed.")
        lifetime = policy.lifetime(row.trusted_device)
        now = utcnow()
        row.status = ACTIVE
        row.expires = now + lifetime if lifetime else None
        row.last_login = now
        return row.user_id, row.id, row.expires


def check_device_token(db: Database, device_id: Any, user_id: Any) -> None:
    """A device's token works while the device is its user's, active and unexpired."""
    device_uuid = as_uuid(device_id)
    with db.reading() as session:
        row = session.get(Device, device_uuid) if device_uuid else None
        if row is None:
            raise NotAuthorized(f"Authentication error: error retrieving token device {device_id}")
        if row.user_id is None or row.user_id != user_id:
            raise NotAuthorized(f"Authentication error: device {device_id} does not belong to the user")
        if row.status != ACTIVE:
            raise NotAuthorized(f"Authentication error: device {device_id} is not active")
        if row.expired():
            raise NotAuthorized(f"Authentication error: device {device_id} has expired")
        stale = row.last_login is None or utcnow() - row.last_login > LAST_LOGIN_RESOLUTION
    if stale:
        with db.unit_of_work() as session:
            row = session.get(Device, device_uuid)
            if row is not None:
                row.last_login = utcnow()
