"""Service connectors: the ZenML 0.66.0 type catalog, credentials kept in an
encrypted secret, and verification against a real local Docker registry
(`docker-registry`, started here on a free loopback port, with and without
basic auth)."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select

from schemas.contract import operation
from store.connectors import CONNECTORS, ServiceConnector
from store.secrets import Secret
from tests.conftest import ApiClient
from tests.support import LocalRegistry, free_port
from tests.test_openapi import assert_fits

USER, PASSWORD = "zenyard", "registry-pass-7Qx"


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """The local registry with basic auth."""
    running = LocalRegistry(tmp_path_factory.mktemp("registry-auth"), users={USER: PASSWORD}).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def open_registry(tmp_path_factory):
    """The local registry without auth."""
    running = LocalRegistry(tmp_path_factory.mktemp("registry-open")).start()
    yield running
    running.stop()


def ids(client) -> tuple[str, str]:
    return client.get("/api/v1/workspaces/default").json["id"], client.get("/api/v1/current-user").json["id"]


def docker_request(client, name: str, registry: str, password: str = PASSWORD, **extra) -> dict:
    """What the ZenML client sends for a docker connector (credentials in `secrets`)."""
    workspace, me = ids(client)
    return {
        "user": me, "workspace": workspace, "name": name, "connector_type": "docker",
        "auth_method": "password", "resource_types": ["docker-registry"], "resource_id": None,
        "configuration": {"registry": registry}, "secrets": {"username": USER, "password": password},
        "labels": {}, **extra,
    }


def register(client, body: dict, status: int = 200) -> dict:
    response = client.post(f"/api/v1/workspaces/{body['workspace']}/service_connectors", json=body)
    assert response.status_code == status, response.json
    return response.json


def row_of(app, connector_id: str):
    table = ServiceConnector.__table__
    with app.extensions["zenyard"]["db"].engine.connect() as conn:
        return conn.execute(select(table).where(table.c.id == uuid.UUID(connector_id))).one()


# --- the catalog ---------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_connector_types_are_zenmls(client):
    listed = client.get("/api/v1/service_connector_types")
    assert listed.status_code == 200
    assert {t["connector_type"] for t in listed.json} == {"aws", "azure", "docker", "gcp", "hyperai", "kubernetes"}
    for entry in listed.json:
        assert_fits("ServiceConnectorTypeModel", entry)
    registries = client.get("/api/v1/service_connector_types?resource_type=docker-registry").json
    assert {t["connector_type"] for t in registries} == {"aws", "azure", "docker", "gcp"}
    passwords = client.get("/api/v1/service_connector_types?auth_method=password&resource_type=kubernetes-cluster").json
    assert [t["connector_type"] for t in passwords] == ["kubernetes"]
    docker = client.get("/api/v1/service_connector_types/docker").json
    assert docker["auth_methods"][0]["config_schema"]["required"] == ["username", "password"]
    missing = client.get("/api/v1/service_connector_types/nope")
    assert missing.status_code == 404 and missing.json["detail"][0] == "KeyError"


# --- registering, reading, updating, deleting ----------------------------


def test_credentials_go_to_an_encrypted_secret(client, registry):
    created = register(client, docker_request(client, "local-registry", registry.address))
    assert_fits("ServiceConnectorResponse", created)
    assert created["body"]["connector_type"]["connector_type"] == "docker"  # spelled out, as ZenML
    assert created["body"]["resource_types"] == ["docker-registry"]
    assert created["metadata"]["configuration"] == {"registry": registry.address}
    assert PASSWORD not in json.dumps(created)
    row = row_of(client.app, created["id"])
    assert row.configuration == {"registry": registry.address} and row.secret_id is not None
    with client.app.extensions["zenyard"]["db"].engine.connect() as conn:
        sealed = conn.execute(select(Secret.__table__.c["values"]).where(Secret.__table__.c.id == row.secret_id)).scalar()
    assert PASSWORD not in sealed and USER not in sealed
    # the owner reads the credentials through the secret, as the client does
    secret = client.get(f"/api/v1/secrets/{row.secret_id}").json
    assert secret["body"]["values"] == {"username": USER, "password": PASSWORD}
    assert secret["name"].startswith("connector-local-registry-")


def test_raw_requests_are_split_by_the_type_schema(client):
    workspace, me = ids(client)
    body = {
        "user": me, "workspace": workspace, "name": "raw", "connector_type": "docker", "auth_method": "password",
        "configuration": {"registry": "127.0.0.1:1", "username": "u", "password": "p", "unknown": "dropped"},
    }
    created = register(client, body)
    assert created["metadata"]["configuration"] == {"registry": "127.0.0.1:1"}
    assert created["body"]["resource_types"] == ["docker-registry"]
    assert row_of(client.app, created["id"]).configuration == {"registry": "127.0.0.1:1"}
    missing = register(client, {**body, "name": "raw2", "configuration": {"username": "u"}}, status=400)
    assert missing["detail"] == ["ValueError", "connector configuration is not valid: missing required attribute 'password'"]
    wrong_method = register(client, {**body, "name": "raw3", "auth_method": "token"}, status=400)
    assert "does not support the 'token' authentication method" in wrong_method["detail"][1]
    assert register(client, {**body, "name": "raw"}, status=409)["detail"][0] == "EntityExistsError"


def test_secrets_are_expanded_only_when_asked_and_allowed(client, make_user, registry):
    created = register(client, docker_request(client, "expand", registry.address))
    url = f"/api/v1/service_connectors/{created['id']}"
    assert client.get(f"{url}?expand_secrets=false").json["metadata"]["configuration"] == {"registry": registry.address}
    # ZenML's default is to expand, into the configuration
    assert client.get(url).json["metadata"]["configuration"] == {
        "registry": registry.address, "username": USER, "password": PASSWORD,
    }
    listed = client.get("/api/v1/service_connectors?expand_secrets=true").json
    assert listed["items"][0]["metadata"]["configuration"]["password"] == PASSWORD
    assert_fits("Page_ServiceConnectorResponse_", listed)
    plain = client.get("/api/v1/service_connectors?expand_secrets=false&hydrate=false").json
    assert plain["items"][0]["metadata"] is None
    make_user("frank", password="pw", is_admin=False)
    frank = ApiClient(client.app, "frank", "pw")
    assert PASSWORD not in json.dumps(frank.get(url).json)
    assert PASSWORD not in json.dumps(frank.get("/api/v1/service_connectors?expand_secrets=true&hydrate=true").json)


def test_update_replaces_credentials_and_delete_removes_them(client, registry):
    created = register(client, docker_request(client, "rotating", registry.address, password="old"))
    url = f"/api/v1/service_connectors/{created['id']}"
    old_secret = created["metadata"]["secret_id"]
    # what Client.update_service_connector sends: the whole configuration
    update = {
        "name": "rotated", "connector_type": "docker", "description": "now right", "auth_method": "password",
        "resource_types": ["docker-registry"], "resource_id": None, "configuration": {"registry": registry.address},
        "secrets": {"username": USER, "password": PASSWORD}, "labels": {"team": "ml"},
    }
    updated = client.put(url, json=update)
    assert updated.status_code == 200, updated.json
    assert (updated.json["name"], updated.json["body"]["description"]) == ("rotated", "now right")
    new_secret = updated.json["metadata"]["secret_id"]
    assert new_secret != old_secret and client.get(f"/api/v1/secrets/{old_secret}").status_code == 404
    # an update without configuration or secrets keeps the credentials
    kept = client.put(url, json={"description": "again", "resource_types": ["docker-registry"]}).json
    assert kept["metadata"]["secret_id"] == new_secret
    assert client.get(url).json["metadata"]["configuration"]["password"] == PASSWORD
    assert client.delete(url).status_code == 200
    assert client.get(url).status_code == 404
    assert client.get(f"/api/v1/secrets/{new_secret}").status_code == 404


def test_a_connector_in_use_keeps_its_resource_and_stays(client, registry):
    created = register(client, docker_request(client, "in-use", registry.address))
    workspace, me = ids(client)
    component = client.post(f"/api/v1/workspaces/{workspace}/components", json={
        "user": me, "workspace": workspace, "name": "registry", "type": "container_registry", "flavor": "default",
        "configuration": {"uri": registry.address}, "connector": created["id"], "connector_resource_id": registry.address,
    })
    assert component.status_code == 200, component.json
    url = f"/api/v1/service_connectors/{created['id']}"
    moved = client.put(url, json={"resource_id": "elsewhere:5000", "resource_types": ["docker-registry"]})
    assert moved.status_code == 403 and "resource ID" in moved.json["detail"][1]
    refused = client.delete(url)
    assert refused.status_code == 403 and "still referenced by 1 stack components" in refused.json["detail"][1]


def test_list_filters(client, registry):
    register(client, docker_request(client, "labelled", registry.address, labels={"team": "ml", "env": "prod"}))
    workspace, me = ids(client)
    register(client, {
        "user": me, "workspace": workspace, "name": "k8s", "connector_type": "kubernetes", "auth_method": "token",
        "resource_types": ["kubernetes-cluster"], "configuration": {"server": "https://k8s.example", "cluster_name": "main"},
        "secrets": {"token": "k8s-token"}, "labels": {"team": "ops"},
    })

    def names(query: str) -> list[str]:
        response = client.get(f"/api/v1/service_connectors?expand_secrets=false&{query}")
        assert response.status_code == 200, response.json
        return sorted(c["name"] for c in response.json["items"])

    assert names("resource_type=docker-registry") == ["labelled"]
    assert names("connector_type=kubernetes") == ["k8s"]
    assert names("auth_method=password") == ["labelled"]
    assert names('labels_str={"team": "ml"}') == ["labelled"]
    assert names("labels_str=team") == ["k8s", "labelled"]
    assert names("labels_str=team=ops,env") == []
    assert names("labels_str=env=prod") == ["labelled"]
    assert names(f"scope_workspace={workspace}&scope_type=anything") == ["k8s", "labelled"]
    assert sorted(c["name"] for c in client.get(f"/api/v1/workspaces/{workspace}/service_connectors").json["items"]) == ["k8s", "labelled"]
    params = {p["name"] for p in operation("GET", "/api/v1/service_connectors")["parameters"] if p["in"] == "query"}
    ignored = params - {"page", "size", "sort_by", "logical_operator", "hydrate", "expand_secrets"} - set(CONNECTORS.filters())
    assert not ignored


# --- verification against the local registry ----------------------------


def verify_config(client, body: dict, **query):
    response = client.post("/api/v1/service_connectors/verify", json=body, query_string=query)
    assert response.status_code == 200, response.json
    assert_fits("ServiceConnectorResourcesModel", response.json)
    return response.json


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_verify_a_configuration(client, registry, open_registry):
    good = verify_config(client, docker_request(client, "probe", registry.address))
    assert good["error"] is None
    assert good["resources"] == [{"resource_type": "docker-registry", "resource_ids": [registry.address], "error": None}]
    bad = verify_config(client, docker_request(client, "probe", registry.address, password="wrong"))
    assert "authorization failure" in bad["error"] and bad["resources"][0]["resource_ids"] is None
    # a registry without auth lets anyone in, as `docker login` finds
    assert verify_config(client, docker_request(client, "open", open_registry.address, password="any"))["error"] is None
    with_scheme = verify_config(client, docker_request(client, "url", f"http://{registry.address}/some/repo"))
    assert with_scheme["resources"][0]["resource_ids"] == [registry.address]
    nobody = verify_config(client, docker_request(client, "gone", f"127.0.0.1:{_closed_port()}"))
    assert "could not reach the Docker registry" in nobody["error"]
    only_auth = verify_config(client, docker_request(client, "probe", registry.address), list_resources="false")
    assert only_auth["error"] is None and only_auth["resources"][0]["resource_ids"] is None
    assert client.get("/api/v1/service_connectors").json["total"] == 0  # nothing saved


def _closed_port() -> int:
    return free_port()  # bound and released: nothing listens there


def test_registered_connector_is_verified_and_lists_its_registry(client, registry):
    good = register(client, docker_request(client, "good", registry.address))
    bad = register(client, docker_request(client, "bad", registry.address, password="wrong"))
    verified = client.put(f"/api/v1/service_connectors/{good['id']}/verify")
    assert verified.status_code == 200 and verified.json["error"] is None
    assert verified.json["id"] == good["id"] and verified.json["name"] == "good"
    assert verified.json["resources"][0]["resource_ids"] == [registry.address]
    scoped = client.put(f"/api/v1/service_connectors/{good['id']}/verify",
                        query_string={"resource_type": "docker-registry", "resource_id": f"http://{registry.address}"})
    assert scoped.json["resources"][0]["resource_ids"] == [registry.address]
    elsewhere = client.put(f"/api/v1/service_connectors/{good['id']}/verify", query_string={"resource_id": "other:5000"})
    assert "only allows access to the following resource" in elsewhere.json["error"]
    refused = client.put(f"/api/v1/service_connectors/{bad['id']}/verify").json
    assert "authorization failure" in refused["error"]

    resources = client.get("/api/v1/workspaces/default/service_connectors/resources")
    assert resources.status_code == 200
    by_name = {entry["name"]: entry for entry in resources.json}
    assert by_name["good"]["resources"] == [{"resource_type": "docker-registry", "resource_ids": [registry.address], "error": None}]
    assert "authorization failure" in by_name["bad"]["error"]
    for entry in resources.json:
        assert_fits("ServiceConnectorResourcesModel", entry)


def test_connector_client_carries_the_credentials(client, make_user, registry):
    good = register(client, docker_request(client, "for-client", registry.address))
    answer = client.get(f"/api/v1/service_connectors/{good['id']}/client", query_string={"resource_type": "docker-registry"})
    assert answer.status_code == 200, answer.json
    assert_fits("ServiceConnectorResponse", answer.json)
    assert answer.json["body"]["resource_id"] == registry.address
    assert answer.json["metadata"]["secrets"] == {"username": USER, "password": PASSWORD}
    assert answer.json["metadata"]["configuration"] == {"registry": registry.address}
    make_user("gina", password="pw", is_admin=False)
    assert ApiClient(client.app, "gina", "pw").get(f"/api/v1/service_connectors/{good['id']}/client").status_code == 403
    bad = register(client, docker_request(client, "bad-client", registry.address, password="wrong"))
    refused = client.get(f"/api/v1/service_connectors/{bad['id']}/client")
    assert refused.status_code == 401 and refused.json["detail"][0] == "AuthorizationException"


def test_other_types_say_they_cannot_be_verified_here(client):
    workspace, me = ids(client)
    body = {
        "user": me, "workspace": workspace, "name": "aws", "connector_type": "aws", "auth_method": "secret-key",
        "resource_types": ["s3-bucket"], "resource_id": "s3://my-bucket",
        "configuration": {"region": "eu-west-1"},
        "secrets": {"aws_access_key_id": "AKIAEXAMPLE", "aws_secret_access_key": "aws-secret-value"},
    }
    created = register(client, body)
    assert created["metadata"]["configuration"] == {"region": "eu-west-1"}
    assert created["body"]["supports_instances"] is True
    assert "aws-secret-value" not in json.dumps(row_of(client.app, created["id"])._asdict(), default=str)
    for response in (
        client.post("/api/v1/service_connectors/verify", json=body),
        client.put(f"/api/v1/service_connectors/{created['id']}/verify"),
        client.get(f"/api/v1/service_connectors/{created['id']}/client"),
    ):
        assert response.status_code == 400
        assert response.json["detail"][0] == "NotImplementedError"
        assert "cannot be verified by this server" in response.json["detail"][1]
    listed = client.get("/api/v1/workspaces/default/service_connectors/resources").json
    assert listed == [{
        "id": created["id"], "name": "aws", "connector_type": "aws", "error": None,
        "resources": [{"resource_type": "s3-bucket", "resource_ids": ["s3://my-bucket"], "error": None}],
    }]
    full = client.post("/api/v1/service_connectors/full_stack_resources", json={"type": "aws", "auth_method": "secret-key", "configuration": {}})
    assert full.status_code == 400 and full.json["detail"][0] == "NotImplementedError"
