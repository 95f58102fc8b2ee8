"""Service connector verification and resource listing.

Zenyard verifies what it can run for real: a `docker` connector with the
`password` method, against the registry's HTTP API (`/v2/`, basic auth or
the token flow of Docker Hub). Other types answer a clear 501.
"""

from __future__ import annotations

import logging

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
from sqlalchemy.orm import Session

from store import crud
from store.base import utcnow
from store.crypto import Keyring
from store.db import Database
from store.errors import BadRequest, IllegalOperation, NotAuthorized, Unsupported
from store.resources import Actor
from store.secrets import (
    SecretUnreadable, internal_secret_values, may_read_values,
)

from store.connectors import (
    CONNECTORS, DOCKER, DOCKER_HUB, REGISTRY_TIMEOUT, ConnectorResource, ServiceConnector, configure, get_type,
    naive_utc, resource_type_filter, type_name,
)

log = logging.getLogger("zenyard.connectors")




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
        raise Unsupported(
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
                          done.resource_id, naive_utc(data.get("expires_at")), data.get("expires_skew_tolerance"),
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
            query = query.where(resource_type_filter("equals", resource_type))
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
