"""The ZenML 0.66.0 catalogs Zenyard ships: flavors, connector types, integrations.

The JSON files next to this module are generated from the zenml==0.66.0
package by ``scripts/generate_catalogs.py``; Zenyard never imports zenml.

Each file is parsed once and cached. The returned lists and dicts are the
cached objects themselves: treat them as read-only (copy before changing).
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

ZENML_VERSION = "0.66.0"
BUILTIN_INTEGRATION = "built-in"

FLAVORS_FILE = "flavors.json"
CONNECTOR_TYPES_FILE = "service_connector_types.json"
INTEGRATIONS_FILE = "integrations.json"
PLUGIN_FLAVORS_FILE = "plugin_flavors.json"
STACK_DEPLOYMENTS_FILE = "stack_deployments.json"


@lru_cache(maxsize=None)
def _document(name: str) -> dict[str, Any]:
    text = resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
    document = json.loads(text)
    if document.get("zenml_version") != ZENML_VERSION:
        raise RuntimeError(
            f"store/catalog/{name} describes zenml {document.get('zenml_version')!r}, "
            f"expected {ZENML_VERSION}; regenerate it with scripts/generate_catalogs.py"
        )
    return document


# -- flavors -----------------------------------------------------------------


def flavors() -> list[dict[str, Any]]:
    """Every flavor a fresh ZenML 0.66.0 server registers, sorted by (type, name).

    Each entry has the fields of ZenML's flavor request: name, type,
    config_schema, connector_type, connector_resource_type,
    connector_resource_id_attr, source, integration ("built-in" for ZenML's
    own), logo_url, docs_url, sdk_docs_url and is_custom (False).
    """
    return _document(FLAVORS_FILE)["flavors"]


@lru_cache(maxsize=None)
def _flavor_index() -> dict[tuple[str, str], dict[str, Any]]:
    return {(f["type"], f["name"]): f for f in flavors()}


def flavor(component_type: str, name: str) -> dict[str, Any] | None:
    """The flavor of that stack component type and name, or None."""
    return _flavor_index().get((component_type, name))


# -- service connector types -------------------------------------------------


def service_connector_types() -> list[dict[str, Any]]:
    """What ``GET /api/v1/service_connector_types`` lists, sorted by connector_type.

    Each entry is a full ServiceConnectorTypeModel dump (resource_types and
    auth_methods included, ``local`` True and ``remote`` False as the server
    reports them).
    """
    return _document(CONNECTOR_TYPES_FILE)["connector_types"]


@lru_cache(maxsize=None)
def _connector_type_index() -> dict[str, dict[str, Any]]:
    return {t["connector_type"]: t for t in service_connector_types()}


def service_connector_type(connector_type: str) -> dict[str, Any] | None:
    """The connector type with that identifier (e.g. "aws"), or None."""
    return _connector_type_index().get(connector_type)


# -- integrations and requirements -------------------------------------------


def integrations() -> list[dict[str, Any]]:
    """Every ZenML 0.66.0 integration, sorted by name.

    Each entry: name, requirements (as declared), resolved_requirements
    (``get_requirements(target_os="Linux")``: what an image needs),
    uninstall_requirements, requirements_ignored_on_uninstall, apt_packages,
    and flavors (a list of {"type", "name"}).
    """
    return _document(INTEGRATIONS_FILE)["integrations"]


@lru_cache(maxsize=None)
def _integration_index() -> dict[str, dict[str, Any]]:
    return {i["name"]: i for i in integrations()}


def integration(name: str) -> dict[str, Any] | None:
    """The integration with that name, or None."""
    return _integration_index().get(name)


def integration_requirements(name: str) -> list[str]:
    """PyPI requirements an image needs for that integration (Linux target).

    "built-in" (ZenML's own flavors) needs none. Raises KeyError for an
    unknown integration.
    """
    if name == BUILTIN_INTEGRATION:
        return []
    found = integration(name)
    if found is None:
        raise KeyError(f"unknown ZenML {ZENML_VERSION} integration: {name!r}")
    return found["resolved_requirements"]


def integration_apt_packages(name: str) -> list[str]:
    """APT packages an image needs for that integration ("built-in": none)."""
    if name == BUILTIN_INTEGRATION:
        return []
    found = integration(name)
    if found is None:
        raise KeyError(f"unknown ZenML {ZENML_VERSION} integration: {name!r}")
    return found["apt_packages"]


def flavor_requirements(component_type: str, name: str) -> dict[str, list[str]]:
    """{"requirements": [...], "apt_packages": [...]} for a catalog flavor.

    Raises KeyError if no such flavor is in the catalog (custom flavors are
    not: their requirements come from the user).
    """
    found = flavor(component_type, name)
    if found is None:
        raise KeyError(f"no ZenML {ZENML_VERSION} flavor {name!r} of type {component_type!r}")
    return {
        "requirements": integration_requirements(found["integration"]),
        "apt_packages": integration_apt_packages(found["integration"]),
    }


def builtin_flavors() -> list[dict[str, Any]]:
    """ZenML's own flavors ({"type", "name", "requirements": [], "apt_packages": []})."""
    return _document(INTEGRATIONS_FILE)["builtin_flavors"]


def zenml_requirements() -> list[str]:
    """zenml==0.66.0's own install requirements (from its package metadata)."""
    return _document(INTEGRATIONS_FILE)["zenml_requirements"]


def zenml_extras() -> dict[str, list[str]]:
    """zenml==0.66.0's extras (e.g. "server", "s3fs") and what each adds."""
    return _document(INTEGRATIONS_FILE)["zenml_extras"]


# -- plugin flavors and stack deployments ------------------------------------


def plugin_flavors() -> list[dict[str, Any]]:
    """The event-source and action flavors ZenML's plugin registry holds, in
    its listing order, each as its hydrated flavor response (name, type,
    subtype, body, metadata with the configuration schemas)."""
    return _document(PLUGIN_FLAVORS_FILE)["plugin_flavors"]


def stack_deployment(provider: str) -> dict[str, Any] | None:
    """A stack deployment provider ("aws", "gcp", "azure"), or None.

    Keys: ``deployment`` (its deployment type), ``info`` (the
    StackDeploymentInfo) and ``configs``: the StackDeploymentConfig rendered
    with placeholders (see ``stack_deployment_placeholders``), by
    "default|terraform" / "location|no_location".
    """
    return _document(STACK_DEPLOYMENTS_FILE)["providers"].get(provider)


def stack_deployment_placeholders() -> dict[str, str]:
    """{what: placeholder} of the rendered stack deployment configurations."""
    return _document(STACK_DEPLOYMENTS_FILE)["placeholders"]


def clear_cache() -> None:
    """Forget the parsed files (for tests that swap them)."""
    for cached in (_document, _flavor_index, _connector_type_index, _integration_index):
        cached.cache_clear()


__all__ = [
    "BUILTIN_INTEGRATION",
    "ZENML_VERSION",
    "builtin_flavors",
    "clear_cache",
    "flavor",
    "flavor_requirements",
    "flavors",
    "integration",
    "integration_apt_packages",
    "integration_requirements",
    "integrations",
    "plugin_flavors",
    "service_connector_type",
    "service_connector_types",
    "stack_deployment",
    "stack_deployment_placeholders",
    "zenml_extras",
    "zenml_requirements",
]
