"""Stack deployment: provider info, the console URL, the deployed stack."""

from __future__ import annotations

import time
import urllib.parse
import uuid
from datetime import datetime, timedelta

import pytest
from flask_jwt_extended import decode_token

from tests.test_openapi import assert_fits
from tests.test_stacks import default_workspace, me, register_component

BASE = "/api/v1/stack-deployment"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("provider,deployment", [("aws", "cloud-formation"), ("gcp", "deployment-manager"),
                                                 ("azure", "azure-cloud-shell")])
def test_info_per_provider(client, provider, deployment):
    info = client.get(f"{BASE}/info?provider={provider}")
    assert info.status_code == 200
    assert_fits("StackDeploymentInfo", info.json)
    assert info.json["provider"] == provider and info.json["locations"] and info.json["permissions"]
    assert client.get(f"{BASE}/info?provider=oracle").status_code == 422
    assert client.get(f"{BASE}/info").status_code == 422


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_aws_config_is_a_console_url_with_a_fresh_token(client):
    answer = client.get(f"{BASE}/config?provider=aws&stack_name=my-stack&location=eu-west-1")
    assert answer.status_code == 200, answer.json
    assert_fits("StackDeploymentConfig", answer.json)
    url = answer.json["deployment_url"]
    assert url.startswith("https://console.aws.amazon.com/cloudformation/home?region=eu-west-1#/stacks/create/review?")
    params = urllib.parse.parse_qs(url.split("review?", 1)[1])
    assert params["stackName"] == ["my-stack"]
    assert params["param_ZenMLServerURL"] == ["https://localhost"]
    assert params["param_ResourceName"][0].startswith("zenml-") and len(params["param_ResourceName"][0]) == 12
    assert answer.json["configuration"] is None and "%%" not in url

    with client.app.app_context():
        claims = decode_token(params["param_ZenMLServerAPIToken"][0])
    assert claims["sub"] == me(client)["id"]
    assert 5.9 * 3600 < claims["exp"] - time.time() <= 6 * 3600
    # the token works against this server
    as_deployment = client.http.get("/api/v1/current-user", headers={
        "Authorization": f"Bearer {params['param_ZenMLServerAPIToken'][0]}"})
    assert as_deployment.status_code == 200

    again = client.get(f"{BASE}/config?provider=aws&stack_name=my-stack").json["deployment_url"]
    assert "home?#/stacks" in again and "param_ResourceName" in again


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_terraform_and_shell_configs(client):
    terraform = client.get(f"{BASE}/config?provider=gcp&stack_name=gs&terraform=true").json
    assert 'source  = "zenml-io/zenml-stack/gcp"' in terraform["configuration"]
    assert 'region = "europe-west3"' in terraform["configuration"]
    assert 'zenml_stack_name = "gs"' in terraform["configuration"]
    assert 'zenml_stack_deployment = "terraform"' in terraform["configuration"]
    shell = client.get(f"{BASE}/config?provider=gcp&stack_name=gs&location=us-east1").json
    assert shell["deployment_url"].startswith("https://shell.cloud.google.com/cloudshell/editor?")
    assert "ZENML_STACK_REGION=us-east1" in shell["configuration"] and shell["instructions"]
    azure = client.get(f"{BASE}/config?provider=azure&stack_name=az&location=westeurope").json
    assert azure["deployment_url"] == "https://shell.azure.com"
    assert 'location = "westeurope"' in azure["configuration"] and "%%" not in azure["configuration"]
    assert client.get(f"{BASE}/config?provider=azure").status_code == 422


def _connector(app, client, name) -> str:
    from store.connectors import ServiceConnector

    with app.extensions["zenyard"]["db"].unit_of_work() as session:
        row = ServiceConnector(
            name=name, connector_type="aws", auth_method="secret-key", resource_types=["s3-bucket"],
            configuration={"region": "eu-west-1"}, labels={},
            workspace_id=uuid.UUID(default_workspace(client)["id"]), user_id=uuid.UUID(me(client)["id"]),
        )
        session.add(row)
        session.flush()
        return str(row.id)


def _deployed(client, name, labels, connector=None) -> dict:
    store = register_component(client, f"{name}-store", "artifact_store", "local", connector=connector).json
    orchestrator = register_component(client, f"{name}-orch").json
    ws = default_workspace(client)
    body = {"user": me(client)["id"], "workspace": ws["id"], "name": name, "labels": labels,
            "components": {"artifact_store": [store["id"]], "orchestrator": [orchestrator["id"]]}}
    created = client.post("/api/v1/workspaces/default/stacks", json=body)
    assert created.status_code == 200, created.json
    return created.json


def test_the_deployed_stack_is_found_by_its_labels(app, client):
    start = datetime.utcnow() - timedelta(seconds=2)
    query = f"{BASE}/stack?provider=aws&stack_name=whatever&date_start={urllib.parse.quote(str(start))}"
    assert client.get(query).json is None

    aws = {"zenml:provider": "aws", "zenml:deployment": "cloud-formation"}
    _deployed(client, "no-connector", aws)
    _deployed(client, "gcp", {"zenml:provider": "gcp", "zenml:deployment": "deployment-manager"},
              _connector(app, client, "gcp-conn"))
    assert client.get(query).json is None

    connector = _connector(app, client, "aws-conn")
    stack = _deployed(client, "aws-stack", aws, connector)
    found = client.get(query)
    assert found.status_code == 200, found.json
    assert_fits("DeployedStack", found.json)
    assert found.json["stack"]["id"] == stack["id"] and found.json["service_connector"]["id"] == connector
    assert found.json["stack"]["metadata"]["components"]["artifact_store"]

    # terraform deployments label the stack "terraform"
    assert client.get(f"{BASE}/stack?provider=aws&stack_name=x&terraform=true").json is None
    # only stacks registered after the deployment started
    later = urllib.parse.quote(str(datetime.utcnow() + timedelta(minutes=1)))
    assert client.get(f"{BASE}/stack?provider=aws&stack_name=x&date_start={later}").json is None
    assert client.get(f"{BASE}/stack?provider=aws&stack_name=x&date_start=yesterday").status_code == 422
