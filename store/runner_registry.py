"""The runner-image registry's login, from a service connector, a secret or settings.

Workers push and pull runner images with the credentials configured on the
server, in this order:

* `ZENYARD_RUNNER_REGISTRY_CONNECTOR`: a `docker` service connector (id, or
  name when only one connector has it) with the `password` auth method: its
  `username` and `password`, and its `registry` when
  `ZENYARD_RUNNER_REGISTRY` is empty;
* `ZENYARD_RUNNER_REGISTRY_SECRET`: a secret (id, or unique name) with the
  values `username` and `password`;
* `ZENYARD_RUNNER_REGISTRY_USERNAME` / `..._PASSWORD`.

The login is read when a workload needs it (a rotated secret applies to the
next run) and goes only into the Docker API calls that talk to that
registry; it is never written to a file or a log. A login that cannot be
read is a `RegistryLoginError`: the run fails with the reason.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.connectors import DOCKER, ServiceConnector
from store.crypto import Keyring
from store.db import Database
from store.secrets import Secret, SecretUnreadable, internal_secret_values, open_values


class RegistryLoginError(Exception):
    """The configured registry login cannot be used (final for the run)."""


@dataclass(frozen=True)
class RegistryLogin:
    registry: str
    username: str
    password: str = field(repr=False)
    source: str = "settings"

    def auth_config(self) -> dict:
        return {"username": self.username, "password": self.password}


def _by_id_or_name(session: Session, model, reference: str, what: str):
    try:
        row = session.get(model, uuid.UUID(reference))
    except ValueError:
        row = None
    if row is not None:
        return row
    rows = session.scalars(select(model).where(model.name == reference).limit(2)).all()
    if not rows:
        raise RegistryLoginError(f"the runner registry's {what} '{reference}' does not exist")
    if len(rows) > 1:
        raise RegistryLoginError(f"more than one {what} is named '{reference}': give its id")
    return rows[0]


def _from_connector(session: Session, keyring: Keyring, reference: str, registry: str) -> RegistryLogin:
    row = _by_id_or_name(session, ServiceConnector, reference, "service connector")
    if row.connector_type != DOCKER or row.auth_method != "password":
        raise RegistryLoginError(
            f"the runner registry's service connector '{row.name}' is a '{row.connector_type}' connector "
            f"with the '{row.auth_method}' auth method; a '{DOCKER}' connector with 'password' is needed"
        )
    values = {**(row.configuration or {}), **internal_secret_values(session, keyring, row.secret_id)}
    if not values.get("username") or not values.get("password"):
        raise RegistryLoginError(f"the service connector '{row.name}' has no username and password")
    return RegistryLogin(registry or values.get("registry") or "", values["username"], values["password"],
                         source=f"service connector '{row.name}'")


def _from_secret(session: Session, keyring: Keyring, reference: str, registry: str) -> RegistryLogin:
    row = _by_id_or_name(session, Secret, reference, "secret")
    values = open_values(keyring, row)
    missing = [key for key in ("username", "password") if not values.get(key)]
    if missing:
        raise RegistryLoginError(f"the secret '{row.name}' has no value for {' and '.join(missing)}")
    return RegistryLogin(registry, values["username"], values["password"], source=f"secret '{row.name}'")


def runner_registry_login(db: Database, keyring: Keyring, settings: dict) -> RegistryLogin | None:
    """The login for the runner registry, or None (a registry without auth, or none)."""
    registry = settings["RUNNER_REGISTRY"].strip().rstrip("/")
    connector, secret = settings["RUNNER_REGISTRY_CONNECTOR"], settings["RUNNER_REGISTRY_SECRET"]
    if connector or secret:
        with db.reading() as session:
            try:
                if connector:
                    return _from_connector(session, keyring, connector, registry)
                return _from_secret(session, keyring, secret, registry)
            except SecretUnreadable as err:
                raise RegistryLoginError(f"the runner registry's credentials do not decrypt: {err}") from err
    if settings["RUNNER_REGISTRY_USERNAME"]:
        return RegistryLogin(registry, settings["RUNNER_REGISTRY_USERNAME"], settings["RUNNER_REGISTRY_PASSWORD"])
    return None
