"""Docker service connectors against a real local registry.

The server verifies a docker connector by logging in to the registry's HTTP
API v2 (`GET /v2/`), so each test runs `/usr/bin/docker-registry` (the
`docker-registry` Debian package: the CNCF distribution registry) on a free
loopback port with filesystem storage in a temp dir: one open, one with
htpasswd basic auth.
"""

from __future__ import annotations

import uuid
from typing import Iterator

import pytest

from tests.support import LocalRegistry

pytestmark = pytest.mark.compat

@pytest.fixture(scope="module")
def registry_factory(tmp_path_factory) -> Iterator:
    started: list[LocalRegistry] = []

    def start(users: dict[str, str] | None = None) -> LocalRegistry:
        registry = LocalRegistry(tmp_path_factory.mktemp("registry"), users)
        started.append(registry)
        return registry.start()

    yield start
    for registry in started:
        registry.stop()


@pytest.fixture(scope="module")
def open_registry(registry_factory) -> LocalRegistry:
    return registry_factory()


@pytest.fixture(scope="module")
def auth_registry(registry_factory) -> LocalRegistry:
    registry = registry_factory(users={"zenyard": "s3cret-pass"})
    assert registry.status() == 401, "the registry must refuse anonymous access"
    assert registry.status("zenyard", "s3cret-pass") == 200
    return registry


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_register_verify_and_list_resources_with_the_cli(zenml_client, open_registry):
    name = _name("docker")
    registered = zenml_client.cli(
        "service-connector", "register", name, "--type", "docker", "--auth-method", "password",
        "--username=zenyard", "--password=any-password", f"--registry={open_registry.address}",
    )
    output = registered.stdout + registered.stderr
    assert f"Successfully registered service connector `{name}`" in output, output
    assert open_registry.address in output, output

    verified = zenml_client.cli("service-connector", "verify", name)
    output = verified.stdout + verified.stderr
    assert f"Service connector '{name}' is correctly configured" in output, output
    assert open_registry.address in output, output

    listed = zenml_client.cli("service-connector", "list-resources", "--resource-id", open_registry.address)
    output = listed.stdout + listed.stderr
    assert name in output and open_registry.address in output, output

    out = zenml_client.run(
        """
        from zenml.client import Client

        client = Client()
        # load_secrets: the credentials are read back from the connector's secret
        connector = client.get_service_connector(params["name"], allow_name_prefix_match=False, load_secrets=True)
        result["connector"] = {
            "type": connector.type, "auth_method": connector.auth_method,
            "resource_types": connector.resource_types, "resource_id": connector.resource_id,
            "configuration": connector.configuration,
            "secrets": {k: v.get_secret_value() for k, v in connector.secrets.items() if v is not None},
        }
        client.delete_service_connector(params["name"])
        result["after_delete"] = raises(client.get_service_connector, params["name"], allow_name_prefix_match=False)
        """,
        name=name,
    )
    assert out["connector"] == {
        "type": "docker", "auth_method": "password", "resource_types": ["docker-registry"],
        "resource_id": open_registry.address, "configuration": {"registry": open_registry.address},
        "secrets": {"username": "zenyard", "password": "any-password"},
    }
    assert out["after_delete"] is not None and out["after_delete"]["type"] == "builtins.KeyError", out


AUTH_SCENARIO = """
from zenml.client import Client

client = Client()
registry = params["registry"]


def summary(resources):
    return {
        "error": resources.error,
        "resources": [
            {"type": r.resource_type, "ids": r.resource_ids, "error": r.error} for r in resources.resources
        ],
    }


def register(name, password, verify=True):
    return client.create_service_connector(
        name=name, connector_type="docker", auth_method="password", verify=verify,
        configuration={"username": "zenyard", "password": password, "registry": registry},
    )


good, resources = register(params["good"], "s3cret-pass")
result["register_good"] = summary(resources)
result["register_wrong"] = raises(register, params["wrong"], "wrong-pass")
result["wrong_not_saved"] = raises(client.get_service_connector, params["wrong"], allow_name_prefix_match=False)

result["verify_good"] = summary(client.verify_service_connector(params["good"]))

# Registered without verification; the server finds out when asked.
unverified, _ = register(params["unverified"], "wrong-pass", verify=False)
result["verify_unverified"] = raises(client.verify_service_connector, params["unverified"])

listed = client.list_service_connector_resources(connector_type="docker", resource_id=registry)
result["listed"] = {str(r.name): summary(r) for r in listed}

for name in (params["good"], params["unverified"]):
    client.delete_service_connector(name)
"""


def test_verify_against_a_registry_with_basic_auth(zenml_client, auth_registry):
    names = {"good": _name("docker-good"), "wrong": _name("docker-wrong"), "unverified": _name("docker-unverified")}
    out = zenml_client.run(AUTH_SCENARIO, registry=auth_registry.address, **names)

    granted = {"error": None, "resources": [{"type": "docker-registry", "ids": [auth_registry.address], "error": None}]}
    assert out["register_good"] == granted
    assert out["verify_good"] == granted

    # A refused login at registration: the client raises and registers nothing.
    assert out["register_wrong"] is not None, out
    assert out["register_wrong"]["type"] == "zenml.exceptions.AuthorizationException", out
    assert out["wrong_not_saved"] is not None and out["wrong_not_saved"]["type"] == "builtins.KeyError", out
    assert out["verify_unverified"] is not None, out
    assert out["verify_unverified"]["type"] == "zenml.exceptions.AuthorizationException", out

    listed = out["listed"]
    assert listed[names["good"]] == granted, listed
    bad = listed[names["unverified"]]
    assert bad["error"] and bad["resources"][0]["ids"] is None, listed
