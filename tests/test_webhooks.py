"""`POST /webhooks/{event_source_id}`: a signed GitHub push runs the
template of each matching trigger's action (a queued workload and its
placeholder run, as the action's service account); anything else runs
nothing. Only the enqueue call is replaced (the Docker suite runs it)."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from store import workloads
from store.runs import PipelineRun
from store.triggers import TriggerExecution
from tests.test_service_accounts import make_account
from tests.test_template_runs import PARAMETERS, make_template, sent  # noqa: F401 - the fixture
from tests.test_triggers import create_action, create_source, create_trigger, db_of, made

PUSH = (Path(__file__).parent / "data" / "github_push.json").read_bytes()
RUN_CONFIG = {"run_name": "on-push-{date}-{time}", "steps": {"load": {"parameters": PARAMETERS}}}


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(app, source_id, body: bytes = PUSH, secret: str | None = None, signature: str | None = None,
            event: str = "push", content_type: str = "application/json"):
    """What GitHub sends: no bearer token, the body signed with the secret."""
    headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": str(uuid.uuid4()), "User-Agent": "GitHub-Hookshot/1"}
    if signature is None and secret is not None:
        signature = sign(body, secret)
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return app.test_client().post(f"/api/v1/webhooks/{source_id}", data=body, headers=headers,
                                  content_type=content_type)


@pytest.fixture
def wired(client, app, sent):  # noqa: F811
    """A GitHub source, an action running a template as a service account,
    and a trigger for pushes to main of the pushed repository."""
    template = make_template(client)
    account = make_account(client, "pusher-bot")
    source = made(create_source(client))
    action = made(create_action(client, template["template"], account["id"],
                                configuration={"template_id": template["template"], "run_config": RUN_CONFIG}))
    trigger = made(create_trigger(client, source["id"], action["id"], event_filter={
        "repo": "Codertocat/Hello-World", "branch": "main", "event_type": "push_event",
    }))
    return {"source": source, "secret": source["metadata"]["configuration"]["webhook_secret"],
            "action": action, "trigger": trigger, "account": account, "template": template, "sent": sent}


def executions(app) -> list:
    with db_of(app).reading() as session:
        return [(row.trigger_id, row.event_metadata) for row in session.scalars(select(TriggerExecution)).all()]


def runs(app) -> int:
    with db_of(app).reading() as session:
        return session.scalar(select(func.count()).select_from(PipelineRun))


def test_a_signed_push_queues_a_template_run(client, app, wired):
    response = deliver(app, wired["source"]["id"], secret=wired["secret"])
    assert response.status_code == 200, response.json
    assert response.json == {"status": "Event Received."}

    # the workload was committed in `queued` before it was enqueued
    sent = wired["sent"]
    assert len(sent) == 1 and sent[0]["committed"]["state"] == "queued"
    with db_of(app).reading() as session:
        workload = session.get(workloads.Workload, sent[0]["id"])
        assert workload.state == "queued"
        assert workload.template_id == uuid.UUID(wired["template"]["template"])
        assert workload.user_id == uuid.UUID(wired["account"]["id"])
        run_id = workload.run_id
    run = client.get(f"/api/v1/runs/{run_id}").json
    assert run["body"]["status"] == "initializing"
    assert run["name"].startswith("on-push-20")
    assert run["body"]["user"]["id"] == wired["account"]["id"]  # run as the action's service account
    assert run["metadata"]["template_id"] == wired["template"]["template"]
    deployment = client.get(f"/api/v1/pipeline_deployments/{run['body']['deployment_id']}").json
    assert deployment["metadata"]["step_configurations"]["load"]["config"]["parameters"] == PARAMETERS

    # the trigger's execution holds the event
    [(trigger_id, event)] = executions(app)
    assert str(trigger_id) == wired["trigger"]["id"]
    assert event["head_commit"]["id"] == json.loads(PUSH)["head_commit"]["id"]
    trigger = client.get(f"/api/v1/triggers/{wired['trigger']['id']}").json
    assert trigger["resources"]["executions"]["total"] == 1


def test_a_form_encoded_push_is_read_too(app, wired):
    body = urlencode({"payload": PUSH.decode()}).encode()
    response = deliver(app, wired["source"]["id"], body=body, secret=wired["secret"],
                       content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200, response.json
    assert len(wired["sent"]) == 1


def test_a_wrong_or_missing_signature_is_refused(app, wired):
    source = wired["source"]["id"]
    wrong = deliver(app, source, secret="not-the-secret")
    assert wrong.status_code == 401
    assert wrong.json == {"detail": ["AuthorizationException", "Webhook signature verification failed!"]}
    tampered = deliver(app, source, body=PUSH.replace(b"Update README", b"Delete README"),
                       signature=sign(PUSH, wired["secret"]))
    assert tampered.status_code == 401
    missing = deliver(app, source)
    assert missing.status_code == 401
    assert missing.json["detail"] == ["AuthorizationException", "x-hub-signature-256 or x-hub-signature header is missing!"]
    assert wired["sent"] == [] and executions(app) == [] and runs(app) == 0


def test_a_rotated_secret_replaces_the_old_one(client, app, wired):
    source = wired["source"]["id"]
    rotated = made(client.put(f"/api/v1/event-sources/{source}", json={"configuration": {"rotate_secret": True}}))
    assert deliver(app, source, secret=wired["secret"]).status_code == 401
    fresh = rotated["metadata"]["configuration"]["webhook_secret"]
    assert deliver(app, source, secret=fresh).status_code == 200
    assert len(wired["sent"]) == 1


def test_inactive_trigger_or_unmatched_filter_runs_nothing(client, app, wired):
    source, trigger = wired["source"]["id"], wired["trigger"]["id"]
    made(client.put(f"/api/v1/triggers/{trigger}", json={"is_active": False}))
    assert deliver(app, source, secret=wired["secret"]).status_code == 200
    assert wired["sent"] == [] and executions(app) == []

    made(client.put(f"/api/v1/triggers/{trigger}", json={"is_active": True, "event_filter": {"branch": "release"}}))
    assert deliver(app, source, secret=wired["secret"]).status_code == 200
    tag = PUSH.replace(b'"refs/heads/main"', b'"refs/tags/v1.0"')
    made(client.put(f"/api/v1/triggers/{trigger}", json={"event_filter": {"event_type": "push_event"}}))
    assert deliver(app, source, body=tag, secret=wired["secret"]).status_code == 200
    made(client.put(f"/api/v1/triggers/{trigger}", json={"event_filter": {"repo": "someone/else"}}))
    assert deliver(app, source, secret=wired["secret"]).status_code == 200
    assert wired["sent"] == [] and executions(app) == [] and runs(app) == 0

    # and the same push does run once the filter matches it
    made(client.put(f"/api/v1/triggers/{trigger}", json={"event_filter": {"event_type": "tag_event"}}))
    assert deliver(app, source, body=tag, secret=wired["secret"]).status_code == 200
    assert len(wired["sent"]) == 1 and len(executions(app)) == 1


def test_sources_that_cannot_receive(client, app, wired):
    unknown = deliver(app, uuid.uuid4(), secret=wired["secret"])
    assert unknown.status_code == 401 and unknown.json["detail"][0] == "AuthorizationException"
    assert "No webhook is registered at" in unknown.json["detail"][1]
    assert deliver(app, "not-a-uuid", secret=wired["secret"]).status_code == 422

    source = wired["source"]["id"]
    made(client.put(f"/api/v1/event-sources/{source}", json={"is_active": False}))
    inactive = deliver(app, source, secret=wired["secret"])
    assert inactive.status_code == 403
    assert inactive.json["detail"] == ["IllegalOperationError", f"Webhook {source} is inactive."]
    assert wired["sent"] == [] and executions(app) == []


def test_what_is_not_a_push_event(app, wired):
    source, secret = wired["source"]["id"], wired["secret"]
    ping = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()
    assert deliver(app, source, body=ping, secret=secret, event="ping").json == {"status": "Event Received."}
    not_json = deliver(app, source, body=b"{nope", secret=secret)
    assert not_json.status_code == 400 and not_json.json["detail"][1].startswith("Invalid JSON body received")
    shapeless = deliver(app, source, body=json.dumps({"ref": "refs/heads/main"}).encode(), secret=secret)
    assert shapeless.status_code == 400
    assert shapeless.json["detail"] == ["ValueError", "Event did not match the pydantic model."]
    assert wired["sent"] == [] and executions(app) == []


def test_an_action_that_cannot_run_is_skipped_not_failed(client, app, wired):
    """Recorded, logged, and the other triggers still run."""
    source = wired["source"]["id"]
    made(client.put(f"/api/v1/service_accounts/{wired['account']['id']}", json={"active": False}))
    broken = made(create_action(client, wired["template"]["template"], make_account(client, "second-bot")["id"],
                                name="missing-parameters"))
    made(create_trigger(client, source, broken["id"], name="also-on-push"))
    working = made(create_action(client, wired["template"]["template"], make_account(client, "third-bot")["id"],
                                 name="works", configuration={"template_id": wired["template"]["template"],
                                                              "run_config": RUN_CONFIG}))
    made(create_trigger(client, source, working["id"], name="third"))

    response = deliver(app, source, secret=wired["secret"])
    assert response.status_code == 200
    assert len(executions(app)) == 3
    assert len(wired["sent"]) == 1 and runs(app) == 1


def test_a_broker_failure_fails_the_run(client, app, wired, monkeypatch):
    import tasks.template_runs as tasks

    def down(workload_id):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks, "enqueue", down)
    assert deliver(app, wired["source"]["id"], secret=wired["secret"]).status_code == 200
    with db_of(app).reading() as session:
        [workload] = session.scalars(select(workloads.Workload)).all()
        assert workload.state == "failed" and "broker unreachable" in workload.error
        assert session.get(PipelineRun, workload.run_id).status == "failed"


BITBUCKET_PUSH = json.dumps({
    "actor": {"display_name": "Ada", "uuid": "{a1}", "nickname": "ada", "type": "user"},
    "repository": {"type": "repository", "uuid": "{r1}", "name": "models", "full_name": "team/models",
                   "links": {"html": {"href": "https://bitbucket.org/team/models"}}},
    "push": {"changes": [{
        "new": {"type": "branch", "name": "main", "target": {"hash": "b" * 40}},
        "old": {"type": "branch", "name": "main", "target": {"hash": "a" * 40}},
        "created": False, "closed": False, "forced": False,
        "commits": [{"hash": "b" * 40, "message": "Retrain\n", "type": "commit",
                     "links": {"html": {"href": "https://bitbucket.org/team/models/commits/" + "b" * 40}},
                     "author": {"raw": "Ada <ada@example.com>", "type": "author"}}],
    }]},
}).encode()


def test_a_bitbucket_push_runs_its_trigger_too(client, app, wired):
    source = made(create_source(client, name="bitbucket", flavor="bitbucket"))
    secret = source["metadata"]["configuration"]["webhook_secret"]
    refused = create_trigger(client, source["id"], wired["action"]["id"], name="prs",
                             event_filter={"event_type": "pull_request_event"})
    assert refused.status_code == 400  # Bitbucket's filter knows pushes and tags only
    made(create_trigger(client, source["id"], wired["action"]["id"], name="bb-main",
                        event_filter={"repo": "team/models", "branch": "main", "event_type": "push_event"}))
    made(create_trigger(client, source["id"], wired["action"]["id"], name="bb-dev", event_filter={"branch": "dev"}))

    assert deliver(app, source["id"], body=BITBUCKET_PUSH, secret="wrong", event="repo:push").status_code == 401
    response = deliver(app, source["id"], body=BITBUCKET_PUSH, secret=secret, event="repo:push")
    assert response.status_code == 200, response.json
    assert len(wired["sent"]) == 1 and len(executions(app)) == 1
    # a GitHub push is not a Bitbucket event
    github = deliver(app, source["id"], body=PUSH, secret=secret)
    assert github.status_code == 400 and github.json["detail"][1] == "Event did not match the pydantic model."
