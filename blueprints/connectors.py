"""Service connectors and the connector-type catalog."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from blueprints.context import actor, db, keyring
from blueprints.contract import endpoint
from blueprints.crud import LISTED, list_params
from store import connector_verification as verification
from store import connectors as connector_store
from store.errors import Unsupported

CONNECTORS = "/api/v1/service_connectors"
CONNECTOR = "/api/v1/service_connectors/{connector_id}"
WS_CONNECTORS = "/api/v1/workspaces/{workspace_name_or_id}/service_connectors"

blp = Blueprint("service_connectors", __name__, description="Service connectors.")
LISTED.extend([(CONNECTORS, connector_store.CONNECTORS), (WS_CONNECTORS, connector_store.CONNECTORS)])


@endpoint(blp, "GET", CONNECTORS)
def list_service_connectors(query: dict) -> Any:
    """List service connectors (credentials only with expand_secrets, for their owner)."""
    expand = bool(query.get("expand_secrets", False))
    return connector_store.list_connectors(db(), keyring(), list_params(query), actor(), expand)


@endpoint(blp, "GET", WS_CONNECTORS)
def list_workspace_service_connectors(query: dict, workspace_name_or_id: str) -> Any:
    """List the service connectors of a workspace."""
    return connector_store.list_connectors(
        db(), keyring(), list_params(query), actor(), workspace=workspace_name_or_id
    )


@endpoint(blp, "POST", WS_CONNECTORS)
def create_service_connector(body: dict, workspace_name_or_id: str) -> Any:
    """Create a service connector; its credentials go to an encrypted secret."""
    return connector_store.create_connector(db(), keyring(), workspace_name_or_id, body, actor())


@endpoint(blp, "GET", CONNECTOR)
def get_service_connector(query: dict, connector_id) -> Any:
    """Get a service connector."""
    return connector_store.get_connector(
        db(), keyring(), connector_id, actor(),
        hydrate=query.get("hydrate", True), expand_secrets=bool(query.get("expand_secrets")),
    )


@endpoint(blp, "PUT", CONNECTOR)
def update_service_connector(body: dict, connector_id) -> Any:
    """Update a service connector."""
    return connector_store.update_connector(db(), keyring(), connector_id, body, actor())


@endpoint(blp, "DELETE", CONNECTOR)
def delete_service_connector(connector_id) -> Any:
    """Delete a service connector and its secret."""
    connector_store.delete_connector(db(), connector_id, actor())
    return None


@endpoint(blp, "POST", CONNECTORS + "/verify")
def verify_service_connector_config(query: dict, body: dict) -> Any:
    """Verify a connector configuration and list what it gives access to."""
    return verification.verify_config(keyring(), body, list_resources=query.get("list_resources", True))


@endpoint(blp, "PUT", CONNECTOR + "/verify")
def verify_service_connector(query: dict, connector_id) -> Any:
    """Verify a service connector and list what it gives access to."""
    return verification.verify_connector(
        db(), keyring(), connector_id, actor(),
        resource_type=query.get("resource_type"), resource_id=query.get("resource_id"),
        list_resources=query.get("list_resources", True),
    )


@endpoint(blp, "GET", CONNECTOR + "/client")
def get_service_connector_client(query: dict, connector_id) -> Any:
    """Get a connector client for one resource (it carries the credentials)."""
    return verification.connector_client(
        db(), keyring(), connector_id, actor(),
        resource_type=query.get("resource_type"), resource_id=query.get("resource_id"),
    )


@endpoint(blp, "GET", WS_CONNECTORS + "/resources")
def list_service_connector_resources(query: dict, workspace_name_or_id: str) -> Any:
    """List the resources that the workspace's service connectors give access to."""
    return verification.list_connector_resources(
        db(), keyring(), workspace_name_or_id, actor(),
        connector_type=query.get("connector_type"), resource_type=query.get("resource_type"),
        resource_id=query.get("resource_id"),
    )


@endpoint(blp, "POST", CONNECTORS + "/full_stack_resources")
def get_resources_based_on_service_connector_info(query: dict, body: dict) -> Any:
    """Full-stack resources of a connector (not supported by this server)."""
    raise Unsupported("Listing full-stack resources of a service connector is not supported by this server.")


types = Blueprint("service_connector_types", __name__, description="The ZenML 0.66.0 connector types.")


@endpoint(types, "GET", "/api/v1/service_connector_types")
def list_service_connector_types(query: dict) -> Any:
    """List the service connector types."""
    return connector_store.list_types(
        connector_type=query.get("connector_type"), resource_type=query.get("resource_type"),
        auth_method=query.get("auth_method"),
    )


@endpoint(types, "GET", "/api/v1/service_connector_types/{connector_type}")
def get_service_connector_type(connector_type: str) -> Any:
    """Get a service connector type."""
    return connector_store.get_type(connector_type)


BLUEPRINTS = (blp, types)
