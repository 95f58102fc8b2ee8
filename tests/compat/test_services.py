"""Services, plugin flavors and stack deployment with the stock client.

A model deployer's bookkeeping as `BaseModelDeployer.deploy_model` and
`find_model_server` do it: register a service, find it again by its exact
configuration and by pipeline and step, record its status, delete it.
"""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.compat

SCENARIO = """
from datetime import datetime

from zenml.client import Client
from zenml.enums import StackDeploymentProvider
from zenml.services.service import ServiceConfig
from zenml.services.service_status import ServiceState
from zenml.services.service_type import ServiceType

client = Client()
store = client.zen_store
name = params["name"]
kind = ServiceType(type="model-serving", flavor="zenyard-test", name="test-deployment")
config = ServiceConfig(name=name, service_name=name, pipeline_name="train", pipeline_step_name="deploy",
                       model_name="clf")

created = client.create_service(config=config, service_type=kind)
result["created"] = {"name": created.name, "type": created.service_type.type, "config": created.config,
                     "state": created.state}
result["duplicate"] = raises(client.create_service, config=config, service_type=kind)

def names(page):
    return [s.name for s in page.items]

result["by_config"] = names(client.list_services(config=config.model_dump(), type=kind.type, flavor=kind.flavor,
                                                 sort_by="desc:created", hydrate=True))
result["by_step"] = names(client.list_services(pipeline_name="train", pipeline_step_name="deploy",
                                               flavor=kind.flavor))
result["by_other_config"] = names(client.list_services(config={"service_name": "nobody"}))
result["running_before"] = names(client.list_services(running=True, flavor=kind.flavor))

updated = client.update_service(
    id=created.id, admin_state=ServiceState.ACTIVE,
    status={"state": "active", "last_state": "inactive", "last_error": ""},
    endpoint={"status": {"state": "active"}}, prediction_url="http://127.0.0.1:8000/invocations",
    service_source="zenml.services.service.BaseDeploymentService",
)
result["updated"] = {"state": updated.state, "admin_state": updated.admin_state,
                     "prediction_url": updated.prediction_url, "status": updated.status}
result["running_after"] = names(client.list_services(running=True, flavor=kind.flavor))
fetched = client.get_service(created.id, type=kind.type)
result["fetched"] = {"id": str(fetched.id), "source": fetched.service_source, "endpoint": fetched.endpoint}
result["by_prefix"] = client.get_service(name, type=kind.type).name

client.delete_service(created.id)
result["get_deleted"] = raises(store.get_service, created.id)

# plugin flavors, as the dashboard lists them
result["webhooks"] = [f["name"] for f in store.get("/plugin-flavors",
                                                   params={"type": "event_source", "subtype": "webhook"})["items"]]
result["unknown_flavor"] = raises(store.get, "/plugin-flavors/nope",
                                  params={"type": "event_source", "subtype": "webhook"})

# stack deployment, as `zenml stack deploy` asks for it
info = store.get_stack_deployment_info(StackDeploymentProvider.AWS)
result["info"] = {"provider": str(info.provider.value), "locations": len(info.locations)}
deployment = store.get_stack_deployment_config(StackDeploymentProvider.GCP, stack_name=name, location="us-east1")
result["config"] = {"url": deployment.deployment_url, "configuration": deployment.configuration}
result["stack"] = store.get_stack_deployment_stack(StackDeploymentProvider.AWS, stack_name=name,
                                                   date_start=datetime.utcnow())
"""


@pytest.fixture(scope="module")
def scenario(zenml_client):
    return zenml_client.run(SCENARIO, name=f"srv-{uuid.uuid4().hex[:8]}")


def _error_type(info):
    return info["type"] if info else None


def test_register_and_find_again(scenario):
    name = scenario["created"]["name"]
    assert scenario["created"]["type"] == "model-serving" and scenario["created"]["state"] is None
    assert scenario["created"]["config"]["pipeline_name"] == "train"
    assert _error_type(scenario["duplicate"]) == "zenml.exceptions.EntityExistsError", scenario
    assert scenario["by_config"] == [name] and scenario["by_step"] == [name]
    assert scenario["by_other_config"] == [] and scenario["running_before"] == []


def test_status_updates_and_delete(scenario):
    assert scenario["updated"]["state"] == "active" and scenario["updated"]["admin_state"] == "active"
    assert scenario["updated"]["prediction_url"] == "http://127.0.0.1:8000/invocations"
    assert scenario["running_after"] == [scenario["created"]["name"]]
    assert scenario["fetched"]["source"] == "zenml.services.service.BaseDeploymentService"
    assert scenario["fetched"]["endpoint"] == {"status": {"state": "active"}}
    assert scenario["by_prefix"] == scenario["created"]["name"]
    assert _error_type(scenario["get_deleted"]) == "builtins.KeyError", scenario


def test_plugin_flavors_and_stack_deployment(scenario):
    assert scenario["webhooks"] == ["bitbucket", "github"]
    assert _error_type(scenario["unknown_flavor"]) == "builtins.KeyError", scenario
    assert scenario["info"]["provider"] == "aws" and scenario["info"]["locations"] > 10
    assert scenario["config"]["url"].startswith("https://shell.cloud.google.com/cloudshell/editor?")
    assert "ZENML_STACK_REGION=us-east1" in scenario["config"]["configuration"]
    assert "ZENML_SERVER_URL=https://127.0.0.1:" in scenario["config"]["configuration"]
    assert scenario["stack"] is None
