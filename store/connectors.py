"""Service connectors: resource, ZenML's configuration rules, verification.

A connector's credentials live in a secret (`store.secrets`, encrypted),
linked by `secret_id`; the row keeps only the non-secret configuration.
Connector types of the ZenML 0.66.0 catalog are checked as the ZenML server
checks them: the auth method's config schema says which attributes are
required and which are secret (`format: password`); attributes it does not
know are dropped.

Verification, resource listing and connector clients work for the `docker`
type, against the registry's HTTP API v2 (no Docker engine needed); other
types answer 501, since this server cannot verify them.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Optional

from sqlalchemy import ForeignKey, String, Text, and_, cast, func, select, true
from sqlalchemy.orm import Mapped, Session, mapped_column, object_session

from store import catalog, crud
from store.base import Base, Entity, Scoped
from store.crypto import Keyring
from store.db import Database
from store.errors import BadRequest, EntityExists, IllegalOperation, NotFound
from store.filtering import FilterField, Kind, ListParams
from store.resources import Actor, Resource
from store.secrets import (
    create_internal_secret, delete_internal_secret, internal_secret_values, may_read_values,
)


log = logging.getLogger("zenyard.connectors")

DOCKER = "docker"
DOCKER_HUB = "docker.io"
REGISTRY_TIMEOUT = (5, 15)  # connect, read (seconds)


class ServiceConnector(Entity, Scoped, Base):
    __tablename__ = "service_connectors"

    name: Mapped[str] = mapped_column(String(255), index=True)
    connector_type: Mapped[str] = mapped_column(String(255), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    auth_method: Mapped[str] = mapped_column(String(255))
    resource_types: Mapped[list] = mapped_column(default=list)
    resource_id: Mapped[Optional[str]] = mapped_column(String(255), nullable=True)
    supports_instances: Mapped[bool] = mapped_column(default=False)
    configuration: Mapped[dict] = mapped_column(default=dict)
    secret_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("secrets.id", ondelete="SET NULL"), nullable=True, index=True
    )
    expires_at: Mapped[Optional[datetime]] = mapped_column(nullable=True)
    expires_skew_tolerance: Mapped[Optional[int]] = mapped_column(nullable=True)
    expiration_seconds: Mapped[Optional[int]] = mapped_column(nullable=True)
    labels: Mapped[dict] = mapped_column(default=dict)


# --- connector types and ZenML's configuration rules ----------------------


def type_name(value: Any) -> str:
    """The connector type identifier of a request (a string or a type model)."""
    return value.get("connector_type", "") if isinstance(value, dict) else str(value)


def list_types(connector_type: str | None = None, resource_type: str | None = None,
               auth_method: str | None = None) -> list[dict]:
    """The ZenML 0.66.0 connector types matching all given criteria."""
    return [
        spec for spec in catalog.service_connector_types()
        if connector_type in (None, spec["connector_type"])
        and (resource_type is None or any(r["resource_type"] == resource_type for r in spec["resource_types"]))
        and (auth_method is None or any(m["auth_method"] == auth_method for m in spec["auth_methods"]))
    ]


def get_type(connector_type: str) -> dict:
    spec = catalog.service_connector_type(connector_type)
    if spec is None:
        raise NotFound(
            f"Service connector type {connector_type} is not available. Please make sure "
            f"the corresponding packages and/or ZenML integration are installed and try again."
        )
    return spec


@dataclass
class Configured:
    """Resource scope and configuration after ZenML's rules."""

    resource_types: list[str]
    resource_id: str | None
    supports_instances: bool
    configuration: dict | None  # None: not part of the request
    secrets: dict | None


def configure(spec: dict, auth_method: str, resource_types: Any, resource_id: str | None,
              configuration: dict | None, secrets: dict | None) -> Configured:
    """Check a configuration against its type; split plain and secret values."""
    name = spec["connector_type"]
    methods = {m["auth_method"]: m for m in spec["auth_methods"]}
    if auth_method not in methods:
        raise BadRequest(
            f"connector configuration is not valid: connector type '{name}' does not "
            f"support the '{auth_method}' authentication method. Supported "
            f"authentication methods are: {list(methods)}."
        )
    if isinstance(resource_types, str):
        resource_types = [resource_types]
    single = resource_types[0] if resource_types and len(resource_types) == 1 else None
    if single:
        kinds = {r["resource_type"]: r for r in spec["resource_types"]}
        if single not in kinds:
            raise BadRequest(
                f"connector configuration is not valid: connector type '{name}' does not "
                f"support resource type '{single}'. Supported resource types are: {list(kinds)}."
            )
        if auth_method not in kinds[single]["auth_methods"]:
            raise BadRequest(
                f"connector configuration is not valid: the '{name}' connector type does not "
                f"support the '{auth_method}' authentication method for the '{single}' resource "
                f"type. Supported authentication methods are: {kinds[single]['auth_methods']}."
            )
        result = Configured([single], resource_id, bool(kinds[single]["supports_instances"]), None, None)
    else:
        # a multi-type connector: every resource type of its connector type
        result = Configured([r["resource_type"] for r in spec["resource_types"]], resource_id, False, None, None)
    if configuration is None and secrets is None:
        return result

    given = {**{k: v for k, v in (secrets or {}).items() if v is not None}, **(configuration or {})}
    schema = methods[auth_method].get("config_schema") or {}
    required = set(schema.get("required", []))
    result.configuration, result.secrets = {}, {}
    for attr, attr_schema in schema.get("properties", {}).items():
        variants = [v for v in attr_schema.get("anyOf", [attr_schema]) if v.get("type", "string") != "null"]
        kind = variants[0] if len(variants) == 1 else {}
        value = given.get(attr)
        if value is None:
            if attr in required:
                raise BadRequest(f"connector configuration is not valid: missing required attribute '{attr}'")
            continue
        if kind.get("format") == "password":
            result.secrets[attr] = value if isinstance(value, str) else json.dumps(value)
            continue
        if kind.get("type") == "array" and isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                value = value.split(",")
        result.configuration[attr] = value
    ignored = set(given) - set(schema.get("properties", {}))
    if ignored:
        log.info("connector configuration ignored=%s type=%s", sorted(ignored), name)
    return result


def naive_utc(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is not None:
        return value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


# --- filters ---------------------------------------------------------------


def _json_text(column):
    return cast(column, String)


def resource_type_filter(op: str, value: str):
    return _json_text(ServiceConnector.resource_types).contains(json.dumps(value), autoescape=True)


def _labels_filter(op: str, value: str):
    """ZenML's `labels_str`: a JSON object, or `k=v,k2` (k2: present at all)."""
    try:
        wanted = json.loads(value)
    except json.JSONDecodeError:
        wanted = None
    if not isinstance(wanted, dict):
        wanted = {
            part.split("=", 1)[0]: part.split("=", 1)[1] if "=" in part else None
            for part in value.split(",")
        }
    text = _json_text(ServiceConnector.labels)
    conditions = [
        # the stored JSON is json.dumps's: `{"key": "value", ...}`
        text.contains(json.dumps(str(key)) + ": " + (json.dumps(str(val)) if val is not None else ""), autoescape=True)
        for key, val in wanted.items()
    ]
    return and_(true(), *conditions)


# --- the resource ----------------------------------------------------------


class ConnectorResource(Resource):
    """Service connectors; a bound instance shows types and, if asked, secrets."""

    noun = "service connector"
    table = ServiceConnector
    extra_filters = {
        "connector_type": Kind.STRING, "auth_method": Kind.STRING,
        "resource_id": Kind.STRING, "secret_id": Kind.UUID,
    }

    def __init__(self, keyring: Keyring | None = None, actor: Actor | None = None,
                 expand_secrets: bool = False, full_types: bool = False):
        self.keyring, self.actor = keyring, actor
        self.expand_secrets, self.full_types = expand_secrets, full_types

    def bound(self, keyring: Keyring, actor: Actor, expand_secrets: bool = False) -> "ConnectorResource":
        # what the connector routes answer: the type spelled out, as ZenML
        # does for the types it has (nested in a component, it stays a name)
        return ConnectorResource(keyring, actor, expand_secrets, full_types=True)

    def filters(self) -> dict[str, FilterField]:
        fields = super().filters()
        fields["resource_type"] = FilterField(Kind.STRING, None, sortable=False, always=True, custom=resource_type_filter)
        fields["labels_str"] = FilterField(Kind.STRING, None, sortable=False, always=True, custom=_labels_filter)
        # ZenML accepts scope_type on this route and applies nothing
        fields["scope_type"] = FilterField(Kind.STRING, None, sortable=False, always=True, custom=lambda op, v: true())
        return fields

    def body(self, row: ServiceConnector) -> dict:
        spec = catalog.service_connector_type(row.connector_type) if self.full_types else None
        return {
            "description": row.description or "",
            "connector_type": spec or row.connector_type,
            "auth_method": row.auth_method,
            "resource_types": row.resource_types or [],
            "resource_id": row.resource_id,
            "supports_instances": row.supports_instances,
            "expires_at": row.expires_at,
            "expires_skew_tolerance": row.expires_skew_tolerance,
        }

    def metadata(self, row: ServiceConnector) -> dict:
        return {
            "configuration": dict(row.configuration or {}),
            "secret_id": row.secret_id,
            "expiration_seconds": row.expiration_seconds,
            "secrets": {},
            "labels": row.labels or {},
        }

    def present(self, row: ServiceConnector, hydrate: bool) -> dict:
        reveal = (
            self.expand_secrets and row.secret_id is not None
            and self.actor is not None and may_read_values(self.actor, row)
        )
        answer = super().present(row, hydrate or reveal)
        if reveal:
            # ZenML merges the credentials into the configuration
            answer["metadata"]["configuration"].update(
                internal_secret_values(object_session(row), self.keyring, row.secret_id)
            )
        return answer

    def build(self, session: Session, data: dict, actor: Actor) -> ServiceConnector:
        row = ServiceConnector(
            name=data["name"],
            connector_type=type_name(data["connector_type"]),
            description=data.get("description") or "",
            auth_method=data["auth_method"],
            resource_types=list(data.get("resource_types") or []),
            resource_id=data.get("resource_id"),
            supports_instances=bool(data.get("supports_instances")),
            configuration=dict(data.get("configuration") or {}),
            expires_at=naive_utc(data.get("expires_at")),
            expires_skew_tolerance=data.get("expires_skew_tolerance"),
            expiration_seconds=data.get("expiration_seconds"),
            labels=dict(data.get("labels") or {}),
        )
        self.assign_owner(session, row, data, actor)
        secrets = {k: v for k, v in (data.get("secrets") or {}).items() if v is not None}
        spec = catalog.service_connector_type(row.connector_type)
        if spec is not None:
            done = configure(spec, row.auth_method, row.resource_types, row.resource_id,
                             data.get("configuration"), data.get("secrets"))
            self._take(row, done)
            secrets = done.secrets if done.secrets is not None else secrets
        if secrets:
            row.secret_id = create_internal_secret(
                session, self.keyring, row.name, row.workspace_id, row.user_id, secrets
            )
        return row

    def apply(self, session: Session, row: ServiceConnector, data: dict, actor: Actor) -> None:
        """ZenML's update: configuration and secrets together replace both;
        resource_id and expiration_seconds are cleared when left out."""
        new_type = type_name(data["connector_type"]) if data.get("connector_type") else None
        self._refuse_change_in_use(session, row, data, new_type)
        for key in ("name", "description", "auth_method", "expires_skew_tolerance"):
            if data.get(key) is not None:
                setattr(row, key, data[key])
        if new_type:
            row.connector_type = new_type
        if data.get("expires_at") is not None:
            row.expires_at = naive_utc(data["expires_at"])
        if data.get("labels") is not None:
            row.labels = dict(data["labels"])
        if data.get("resource_types") is not None:
            row.resource_types = list(data["resource_types"])
        if data.get("supports_instances") is not None:
            row.supports_instances = data["supports_instances"]
        row.resource_id = data.get("resource_id")
        row.expiration_seconds = data.get("expiration_seconds")

        configuration, secrets = data.get("configuration"), data.get("secrets")
        spec = catalog.service_connector_type(row.connector_type)
        if spec is not None:
            done = configure(spec, row.auth_method, row.resource_types, row.resource_id, configuration, secrets)
            self._take(row, done)
            secrets = done.secrets
        elif configuration is not None:
            row.configuration = dict(configuration)
        if secrets is None:
            return
        delete_internal_secret(session, row.secret_id)
        row.secret_id = None
        secrets = {k: v for k, v in secrets.items() if v is not None}
        if secrets:
            row.secret_id = create_internal_secret(
                session, self.keyring, row.name, row.workspace_id, row.user_id, secrets
            )

    @staticmethod
    def _take(row: ServiceConnector, done: Configured) -> None:
        row.resource_types, row.resource_id = done.resource_types, done.resource_id
        row.supports_instances = done.supports_instances
        if done.configuration is not None:
            row.configuration = done.configuration

    def _refuse_change_in_use(self, session: Session, row: ServiceConnector, data: dict, new_type: str | None) -> None:
        from store.stacks import StackComponent

        in_use = session.scalar(select(StackComponent.id).where(StackComponent.connector_id == row.id).limit(1))
        if in_use is None:
            return
        what = None
        if new_type and new_type != row.connector_type:
            what = "service type"
        elif data.get("auth_method") and data["auth_method"] != row.auth_method:
            what = "authentication method"
        elif data.get("resource_types") and list(data["resource_types"]) != list(row.resource_types or []):
            what = "resource type"
        elif data.get("resource_id") != row.resource_id:
            what = "resource ID"
        if what:
            raise IllegalOperation(
                f"The {what} of a service connector that is already actively used "
                f"in one or more stack components cannot be changed."
            )

    def check_unique(self, session: Session, row: ServiceConnector, action: str) -> None:
        with session.no_autoflush:
            clash = session.scalars(
                select(ServiceConnector).where(
                    ServiceConnector.name == row.name,
                    ServiceConnector.workspace_id == row.workspace_id,
                    ServiceConnector.id != row.id if row.id else true(),
                ).limit(1)
            ).first()
        if clash is not None:
            raise EntityExists(
                f"Unable to register service connector with name '{row.name}': Found an "
                f"existing service connector with the same name in the same workspace "
                f"'{clash.workspace.name}'."
            )

    def before_delete(self, session: Session, row: ServiceConnector, actor: Actor) -> None:
        from store.stacks import StackComponent

        users = session.scalar(
            select(func.count()).select_from(StackComponent).where(StackComponent.connector_id == row.id)
        )
        if users:
            raise IllegalOperation(
                f"Service connector with ID {row.id} cannot be deleted as it is still "
                f"referenced by {users} stack components. Before deleting this service "
                f"connector, make sure to remove it from all stack components."
            )
        delete_internal_secret(session, row.secret_id)


CONNECTORS = ConnectorResource()


# --- use cases: the generic path with the keyring and caller bound ---------


def list_connectors(db: Database, keyring: Keyring, params: ListParams, actor: Actor,
                    expand_secrets: bool = False, workspace: Any = None) -> dict:
    resource = CONNECTORS.bound(keyring, actor, expand_secrets)
    if workspace is not None:
        return crud.list_in_workspace(db, resource, workspace, params, actor)
    return crud.list_entities(db, resource, params, actor)


def get_connector(db: Database, keyring: Keyring, connector_id: Any, actor: Actor,
                  hydrate: bool = True, expand_secrets: bool = False) -> dict:
    return crud.get_entity(db, CONNECTORS.bound(keyring, actor, expand_secrets), connector_id, actor, hydrate=hydrate)


def create_connector(db: Database, keyring: Keyring, workspace: Any, data: dict, actor: Actor) -> dict:
    return crud.create_in_workspace(db, CONNECTORS.bound(keyring, actor), workspace, data, actor)


def update_connector(db: Database, keyring: Keyring, connector_id: Any, data: dict, actor: Actor) -> dict:
    return crud.update_entity(db, CONNECTORS.bound(keyring, actor), connector_id, data, actor)


def delete_connector(db: Database, connector_id: Any, actor: Actor) -> None:
    crud.delete_entity(db, CONNECTORS, connector_id, actor)
