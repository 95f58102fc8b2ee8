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
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

import requests
from sqlalchemy import ForeignKey, String, Text, and_, cast, func, select, true
from sqlalchemy.orm import Mapped, Session, mapped_column, object_session

from store import catalog, crud
from store.base import Base, Entity, Scoped, utcnow
from store.crypto import Keyring
from store.db import Database
from store.errors import BadRequest, EntityExists, IllegalOperation, NotAuthorized, NotFound, NotImplementedYet
from store.filtering import FilterField, Kind, ListParams
from store.resources import Actor, Resource
from store.secrets import (
    SecretUnreadable, create_internal_secret, delete_internal_secret, internal_secret_values, may_read_values,
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


def _naive_utc(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is not None:
        return value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


# --- filters ---------------------------------------------------------------


def _json_text(column):
    return cast(column, String)


def _resource_type_filter(op: str, value: str):
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
        fields["resource_type"] = FilterField(Kind.STRING, None, sortable=False, always=True, custom=_resource_type_filter)
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
            expires_at=_naive_utc(data.get("expires_at")),
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
            row.expires_at = _naive_utc(data["expires_at"])
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


# --- verification ----------------------------------------------------------


@dataclass
class Candidate:
    """A connector to verify, detached from any session: its full config."""

    id: uuid.UUID | None
    name: str | None
    connector_type: str
    auth_method: str
    resource_types: list[str]
    resource_id: str | None
    expires_at: datetime | None
    expires_skew_tolerance: int | None
    config: dict

    @property
    def label(self) -> str:
        return f" '{self.name}'" if self.name else ""


def _verifiable_type(connector_type: str) -> dict:
    if connector_type != DOCKER:
        raise NotImplementedYet(
            f"Service connectors of type '{connector_type}' cannot be verified by this "
            f"server: Zenyard verifies '{DOCKER}' connectors only. Register the connector "
            f"without verification (zenml service-connector register ... --no-verify)."
        )
    return get_type(connector_type)


def _candidate(session: Session, keyring: Keyring, row: ServiceConnector) -> Candidate:
    config = dict(row.configuration or {})
    config.update(internal_secret_values(session, keyring, row.secret_id))
    return Candidate(row.id, row.name, row.connector_type, row.auth_method, list(row.resource_types or []),
                     row.resource_id, row.expires_at, row.expires_skew_tolerance, config)


def _resources(candidate: Candidate, spec: Any, resource_types: list[str]) -> dict:
    return {
        "id": candidate.id, "name": candidate.name, "connector_type": spec, "error": None,
        "resources": [{"resource_type": t, "resource_ids": None, "error": None} for t in resource_types],
    }


def _set_error(model: dict, error: str) -> dict:
    model["error"] = error
    for entry in model["resources"]:
        entry.update(error=error, resource_ids=None)
    return model


def _expired(candidate: Candidate) -> bool:
    if candidate.expires_at is None:
        return False
    skew = timedelta(seconds=candidate.expires_skew_tolerance or 0)
    return candidate.expires_at + skew < utcnow()


def _verify_docker(candidate: Candidate, spec: dict, resource_type: str | None,
                   resource_id: str | None, list_resources: bool) -> dict:
    supported = candidate.resource_types or [r["resource_type"] for r in spec["resource_types"]]
    if resource_type and resource_type not in supported:
        raise BadRequest(
            f"connector{candidate.label} does not support resource type: '{resource_type}'. "
            f"Supported resource types are: {', '.join(supported)}"
        )
    model = _resources(candidate, spec, [resource_type] if resource_type else supported)
    if _expired(candidate):
        return _set_error(model, "the connector's authentication credentials have expired.")
    username, password = candidate.config.get("username"), candidate.config.get("password")
    if not username or not password:
        raise BadRequest("The connector configuration is incomplete or invalid: a username and a password are required.")
    registry = candidate.config.get("registry") or DOCKER_HUB
    default_id = docker_registry_id(registry)
    wanted = resource_id or candidate.resource_id
    if wanted and docker_registry_id(wanted) != default_id:
        return _set_error(model, (
            f"connector{candidate.label} authorization failure: The connector does not allow "
            f"access to the provided '{docker_registry_id(wanted)}' Docker/OCI container registry "
            f"resource. It only allows access to the following resource: '{default_id}'."
        ))
    try:
        check_registry_login(registry, username, password)
    except RegistryAuthFailed as err:
        return _set_error(model, f"connector{candidate.label} authorization failure: {err}")
    except RegistryUnreachable as err:
        return _set_error(model, f"connector{candidate.label} verification failed: {err}")
    if list_resources or wanted:
        model["resources"][0]["resource_ids"] = [default_id]
    return model


def verify_config(keyring: Keyring, data: dict, list_resources: bool = True) -> dict:
    """`POST /service_connectors/verify`: verify a connector not yet saved."""
    connector_type = type_name(data["connector_type"])
    spec = _verifiable_type(connector_type)
    done = configure(spec, data["auth_method"], data.get("resource_types") or [], data.get("resource_id"),
                     data.get("configuration") or {}, data.get("secrets") or {})
    candidate = Candidate(None, data.get("name"), connector_type, data["auth_method"], done.resource_types,
                          done.resource_id, _naive_utc(data.get("expires_at")), data.get("expires_skew_tolerance"),
                          {**(done.configuration or {}), **(done.secrets or {})})
    return _verify_docker(candidate, spec, None, None, list_resources)


def _load_candidate(db: Database, keyring: Keyring, connector_id: Any, actor: Actor) -> Candidate:
    with db.reading() as session:
        row = crud.find_row(session, CONNECTORS, connector_id)
        CONNECTORS.authorize("read", actor, row)
        return _candidate(session, keyring, row)


def verify_connector(db: Database, keyring: Keyring, connector_id: Any, actor: Actor,
                     resource_type: str | None = None, resource_id: str | None = None,
                     list_resources: bool = True) -> dict:
    """`PUT /service_connectors/{id}/verify` (the registry is asked after the
    session is closed)."""
    candidate = _load_candidate(db, keyring, connector_id, actor)
    spec = _verifiable_type(candidate.connector_type)
    return _verify_docker(candidate, spec, resource_type, resource_id, list_resources)


def list_connector_resources(db: Database, keyring: Keyring, workspace: Any, actor: Actor,
                             connector_type: str | None = None, resource_type: str | None = None,
                             resource_id: str | None = None) -> list[dict]:
    """What the workspace's connectors give access to; docker ones are asked."""
    from store.workspaces import WORKSPACES

    with db.reading() as session:
        workspace_id = crud.find_row(session, WORKSPACES, workspace).id
        query = CONNECTORS.base_query().where(ServiceConnector.workspace_id == workspace_id)
        if connector_type:
            query = query.where(ServiceConnector.connector_type == connector_type)
        if resource_type:
            query = query.where(_resource_type_filter("equals", resource_type))
        rows = session.scalars(query.order_by(ServiceConnector.created, ServiceConnector.id)).unique().all()
        entries = [_listing_entry(session, keyring, row, resource_type, resource_id) for row in rows]
    answer = []
    for entry in entries:
        if not isinstance(entry, Candidate):
            answer.extend([entry] if entry else [])
            continue
        try:
            answer.append(_verify_docker(entry, get_type(DOCKER), resource_type, resource_id, True))
        except BadRequest as err:
            # as ZenML: a connector that cannot be asked is left out
            log.warning("connector=%s resources unavailable: %s", entry.id, err)
    return answer


def _listing_entry(session: Session, keyring: Keyring, row: ServiceConnector,
                   resource_type: str | None, resource_id: str | None) -> Candidate | dict | None:
    """A docker connector to ask (after the session), or what the row says."""
    types = [resource_type] if resource_type else list(row.resource_types or [])
    if row.connector_type == DOCKER:
        try:
            return _candidate(session, keyring, row)
        except SecretUnreadable as err:
            error = str(err)
    elif resource_id and row.resource_id != resource_id:
        return None
    else:
        error = f"The '{row.connector_type}' connector type cannot be verified by this server."
    known = [row.resource_id] if row.resource_id and row.connector_type != DOCKER else None
    return {
        "id": row.id, "name": row.name, "connector_type": row.connector_type, "error": None if known else error,
        "resources": [
            {"resource_type": t, "resource_ids": known, "error": None if known else error} for t in types
        ],
    }


def connector_client(db: Database, keyring: Keyring, connector_id: Any, actor: Actor,
                     resource_type: str | None = None, resource_id: str | None = None) -> dict:
    """`GET /service_connectors/{id}/client`: for docker, the connector itself,
    scoped to its registry and carrying its credentials (owner and admins)."""
    with db.reading() as session:
        row = crud.find_row(session, CONNECTORS, connector_id)
        CONNECTORS.authorize("read", actor, row)
        if not may_read_values(actor, row):
            raise IllegalOperation(
                "Only the owner of the service connector and admins can get a client "
                "for it: the client carries the connector's credentials."
            )
        spec = _verifiable_type(row.connector_type)
        candidate = _candidate(session, keyring, row)
        shell = ConnectorResource(full_types=True).present(row, hydrate=True)
    if resource_type and resource_type not in (candidate.resource_types or ["docker-registry"]):
        raise BadRequest(
            f"the connector is configured to provide access to a '{candidate.resource_types[0]}' "
            f"resource type, but a different resource type was requested: '{resource_type}'."
        )
    registry = candidate.config.get("registry") or DOCKER_HUB
    default_id = docker_registry_id(registry)
    wanted = resource_id or candidate.resource_id
    if wanted and docker_registry_id(wanted) != default_id:
        raise NotAuthorized(
            f"The connector does not allow access to the provided '{docker_registry_id(wanted)}' "
            f"Docker/OCI container registry resource. It only allows access to the following "
            f"resource: '{default_id}'."
        )
    if _expired(candidate):
        raise NotAuthorized("the connector's authentication credentials have expired.")
    done = configure(spec, candidate.auth_method, ["docker-registry"], default_id, candidate.config, None)
    try:
        check_registry_login(registry, candidate.config.get("username"), candidate.config.get("password"))
    except RegistryAuthFailed as err:
        raise NotAuthorized(str(err)) from None
    except RegistryUnreachable as err:
        # the client may reach a registry that this server cannot
        log.warning("connector=%s client without verification: %s", candidate.id, err)
    shell["body"].update(resource_types=done.resource_types, resource_id=done.resource_id,
                         supports_instances=done.supports_instances)
    shell["metadata"].update(configuration=done.configuration, secrets=done.secrets, secret_id=None)
    return shell


# --- the Docker Registry HTTP API v2 ----------------------------------------

_REGISTRY_ID = re.compile(r"^(https?://)?[a-zA-Z0-9-]+(\.[a-zA-Z0-9-]+)*(:[0-9]+)?(/.+)*$")
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


class RegistryAuthFailed(Exception):
    """The registry refused the credentials."""


class RegistryUnreachable(Exception):
    """No answer, or not the answer of a Docker registry."""


def docker_registry_id(value: str) -> str:
    """ZenML's resource id of a registry: its host[:port], Docker Hub as docker.io."""
    if not _REGISTRY_ID.match(value or ""):
        raise BadRequest(
            f"Invalid resource ID for a Docker registry: {value}. Please provide a valid "
            f"repository name or URL in the following format: DockerHub: docker.io or "
            f"[https://]index.docker.io/v1/[/<repository-name>]; generic OCI registry URI: "
            f"http[s]://host[:port][/<repository-name>]"
        )
    host = value.split("/")[2] if value.startswith(("http://", "https://")) else value.split("/")[0]
    return DOCKER_HUB if host == f"index.{DOCKER_HUB}" else host


def _base_urls(registry: str) -> list[str]:
    """Where to ask: the URL given, or https (then http for loopback hosts,
    which Docker treats as insecure registries too)."""
    if registry.startswith(("http://", "https://")):
        scheme, host = registry.split("/")[0], registry.split("/")[2]
        return [f"{scheme}//{host}"]
    host = docker_registry_id(registry)
    if host == DOCKER_HUB:
        return ["https://registry-1.docker.io"]
    bare = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    urls = [f"https://{host}"]
    if bare in ("localhost", "::1", "[::1]") or bare.startswith("127."):
        urls.append(f"http://{host}")
    return urls


def check_registry_login(registry: str, username: str | None, password: str | None) -> None:
    """Log in as `docker login` would: basic auth, or a bearer token from the
    realm the registry names. Raises RegistryAuthFailed or RegistryUnreachable."""
    problems = []
    for base in _base_urls(registry):
        try:
            answer = requests.get(f"{base}/v2/", auth=(username or "", password or ""), timeout=REGISTRY_TIMEOUT)
        except requests.RequestException as err:
            problems.append(f"{base}: {type(err).__name__}")
            continue
        if answer.status_code == 401 and answer.headers.get("WWW-Authenticate", "").lower().startswith("bearer"):
            answer = _token_login(answer.headers["WWW-Authenticate"], username, password)
        if answer.ok:
            return
        if answer.status_code in (401, 403):
            raise RegistryAuthFailed(
                f"failed to authenticate with Docker registry {docker_registry_id(registry)}: "
                f"the registry refused the username and password (HTTP {answer.status_code})."
            )
        raise RegistryUnreachable(f"{base}/v2/ answered HTTP {answer.status_code}: not a Docker registry API.")
    raise RegistryUnreachable(f"could not reach the Docker registry {registry} ({'; '.join(problems)}).")


def _token_login(challenge: str, username: str | None, password: str | None) -> requests.Response:
    params = dict(_CHALLENGE.findall(challenge))
    realm = params.pop("realm", "")
    try:
        return requests.get(realm, params=params, auth=(username or "", password or ""), timeout=REGISTRY_TIMEOUT)
    except requests.RequestException as err:
        raise RegistryUnreachable(f"could not reach the registry's token service {realm}: {type(err).__name__}") from None
