"""Event sources, actions and triggers with the stock client, and a signed
GitHub push to the webhook that queues a run of the template.

The template is made as in `test_templates.py`, with the same client code
(`scenario_code.REMOTE_TEMPLATE`: a real run on the default stack, then a
remote stack, a build and a deployment with that build). The
server has a server URL, so template runs are accepted; no worker runs
them: the run stays `initializing`, which is what the webhook is checked
for (the Docker suite runs templates for real).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.compat.scenario_code import REMOTE_TEMPLATE

pytestmark = pytest.mark.compat

PUSH = (Path(__file__).parent.parent / "data" / "github_push.json").read_bytes()

SETUP = """
from zenml.client import Client
from zenml.enums import PluginSubType, StackComponentType as T

p = params
""" + REMOTE_TEMPLATE + """

# a template run must set the step's parameters (the server refuses a run without them)
RUN_CONFIG = {"run_name": "on-push-{date}-{time}", "steps": {"greet": {"parameters": {"name": "push"}}}}

# the local orchestrator imports this file again to load the steps
if __name__ == "__main__":
    client = Client()
    run = greeting()
    source = client.get_deployment(run.deployment_id)
    orchestrator = component(client, p["pipeline"] + "-k8s", T.ORCHESTRATOR, "kubernetes", {})
    store = component(client, p["pipeline"] + "-s3", T.ARTIFACT_STORE, "s3", {"path": "s3://zenyard-compat/a"})
    stack = client.create_stack(p["pipeline"] + "-stack", {T.ORCHESTRATOR: orchestrator.id, T.ARTIFACT_STORE: store.id})
    build = build_for(client, stack.id, source.pipeline.id, "registry.invalid/greeting:1")
    deployment = deployment_with(client, source, stack.id, build.id)
    template = client.create_run_template(p["pipeline"] + "-template", deployment_id=deployment.id)
    account = client.create_service_account(p["pipeline"] + "-bot")

    # event sources: the secret comes back once
    es = client.create_event_source(p["source"], configuration={}, flavor="github",
                                    event_source_subtype=PluginSubType.WEBHOOK, description="pushes")
    result["created_configuration_keys"] = sorted(es.configuration)
    result["secret"] = es.configuration["webhook_secret"]
    fetched = client.get_event_source(p["source"])
    result["fetched"] = {"configuration": fetched.configuration, "flavor": fetched.flavor,
                         "subtype": str(fetched.plugin_subtype), "active": fetched.is_active,
                         "description": fetched.description}
    result["unknown_flavor"] = raises(client.create_event_source, "other", configuration={}, flavor="gitlab",
                                      event_source_subtype=PluginSubType.WEBHOOK)
    result["listed_sources"] = [s.name for s in client.list_event_sources(flavor="github").items]

    # actions: a template run as the service account
    action = client.create_action(
        p["action"], flavor="builtin", action_type=PluginSubType.PIPELINE_RUN,
        configuration={"template_id": str(template.id), "run_config": RUN_CONFIG},
        service_account_id=account.id,
    )
    result["action"] = {"auth_window": action.auth_window, "account": action.service_account.name,
                        "configuration": action.configuration}
    result["updated_action"] = client.update_action(p["action"], auth_window=30).auth_window
    result["no_template"] = raises(client.create_action, "bad", flavor="builtin",
                                   action_type=PluginSubType.PIPELINE_RUN,
                                   configuration={"template_id": p["missing_id"]}, service_account_id=account.id)

    # triggers
    trigger = client.create_trigger(p["trigger"], event_source_id=es.id,
                                    event_filter={"branch": "main", "event_type": "push_event"},
                                    action_id=action.id)
    again = client.get_trigger(p["trigger"])
    result["trigger"] = {"action": again.action.name, "source": again.event_source.name,
                         "filter": again.event_filter, "active": again.is_active,
                         "action_flavor": again.action_flavor, "source_flavor": again.event_source_flavor}
    result["listed_triggers"] = [t.name for t in client.list_triggers(event_source_id=es.id).items]
    result["paused"] = client.update_trigger(p["trigger"], is_active=False).is_active
    result["resumed"] = client.update_trigger(p["trigger"], is_active=True).is_active
    result["source_in_use"] = raises(client.delete_event_source, p["source"])
    result["action_in_use"] = raises(client.delete_action, p["action"])

    # rotation: through the configuration (the client's rotate_secret argument is dropped by its model)
    rotated = client.update_event_source(p["source"], configuration={"rotate_secret": True})
    result["rotated_secret"] = rotated.configuration.get("webhook_secret")
    result["ids"] = {"source": str(es.id), "template": str(template.id), "trigger": str(trigger.id),
                     "account": str(account.id)}
"""

AFTER_PUSH = """
from zenml.client import Client

client = Client()
trigger = client.get_trigger(params["trigger"])
result["executions"] = trigger.executions.total
runs = client.list_pipeline_runs(template_id=params["template"], hydrate=True)
result["runs"] = [{"status": str(r.status), "user": r.user.name if r.user else None, "name": r.name}
                  for r in runs.items]

client.delete_trigger(params["trigger"])
client.delete_action(params["action"])
client.delete_event_source(params["source"])
result["gone"] = raises(client.get_event_source, params["source_id"])
result["triggers_left"] = client.list_triggers().total
"""


def post_webhook(server, source_id: str, body: bytes, secret: str) -> tuple[int, dict]:
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(
        f"{server.url}/api/v1/webhooks/{source_id}", data=body, method="POST",
        headers={"Content-Type": "application/json", "X-GitHub-Event": "push", "X-Hub-Signature-256": signature},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_triggers_with_the_stock_client_and_a_github_push(zenyard_factory, client_factory):
    server = zenyard_factory(env={"ZENML_SERVER_URL": "http://127.0.0.1:9"}, name="zenyard-triggers")
    client = client_factory(server, name="triggers-client")
    client.connect()
    names = {key: f"{key}-{uuid.uuid4().hex[:6]}" for key in ("pipeline", "source", "action", "trigger")}
    out = client.run(SETUP, missing_id=str(uuid.uuid4()), **names)

    assert out["created_configuration_keys"] == ["webhook_secret"]
    assert out["fetched"] == {"configuration": {}, "flavor": "github", "subtype": "webhook", "active": True,
                              "description": "pushes"}
    assert out["unknown_flavor"]["type"].endswith("KeyError")
    assert out["listed_sources"] == [names["source"]]
    assert out["action"]["auth_window"] == 2880 and out["action"]["account"] == names["pipeline"] + "-bot"
    assert out["action"]["configuration"]["run_config"]["run_name"] == "on-push-{date}-{time}"
    assert out["updated_action"] == 30
    assert out["no_template"]["type"].endswith("ValueError")
    assert out["trigger"] == {"action": names["action"], "source": names["source"],
                              "filter": {"branch": "main", "event_type": "push_event"}, "active": True,
                              "action_flavor": "builtin", "source_flavor": "github"}
    assert out["listed_triggers"] == [names["trigger"]]
    assert out["paused"] is False and out["resumed"] is True
    assert out["source_in_use"]["type"].endswith("IllegalOperationError")
    assert out["action_in_use"]["type"].endswith("IllegalOperationError")
    assert out["rotated_secret"] and out["rotated_secret"] != out["secret"]

    # GitHub's side: the old secret is refused, the rotated one queues a run
    source_id = out["ids"]["source"]
    status, body = post_webhook(server, source_id, PUSH, out["secret"])
    assert status == 401 and body["detail"][0] == "AuthorizationException"
    status, body = post_webhook(server, source_id, PUSH, out["rotated_secret"])
    assert (status, body) == (200, {"status": "Event Received."})

    after = client.run(AFTER_PUSH, trigger=names["trigger"], template=out["ids"]["template"],
                       action=names["action"], source=names["source"], source_id=source_id)
    assert after["executions"] == 1
    assert len(after["runs"]) == 1
    assert after["runs"][0]["status"] == "initializing"
    assert after["runs"][0]["user"] == names["pipeline"] + "-bot"
    assert after["runs"][0]["name"].startswith("on-push-")
    assert after["gone"]["type"].endswith("KeyError")
    assert after["triggers_left"] == 0
