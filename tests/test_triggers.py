"""Event sources, actions and triggers through the API, on every backend:
flavors and their configurations, the webhook secret, the service account
of an action, filters on lists, and what deleting one does to the others."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from store.secrets import Secret, open_values
from store.triggers import EventSource, TriggerExecution
from tests.test_openapi import assert_fits
from tests.test_service_accounts import make_account
from tests.test_template_runs import make_template

SOURCES = "/api/v1/event-sources"
ACTIONS = "/api/v1/actions"
TRIGGERS = "/api/v1/triggers"


def owner(client) -> dict:
    me = client.get("/api/v1/current-user").json
    workspace = client.get("/api/v1/workspaces/default").json
    return {"user": me["id"], "workspace": workspace["id"]}


def create_source(client, name="github", **fields):
    body = {**owner(client), "name": name, "flavor": "github", "plugin_subtype": "webhook",
            "configuration": {}, **fields}
    return client.post(SOURCES, json=body)


def create_action(client, template, account, name="run-nightly", **fields):
    body = {**owner(client), "name": name, "flavor": "builtin", "plugin_subtype": "pipeline_run",
            "configuration": {"template_id": template}, "service_account_id": account, **fields}
    return client.post(ACTIONS, json=body)


def create_trigger(client, source, action, name="on-push", **fields):
    body = {**owner(client), "name": name, "event_source_id": source, "action_id": action, **fields}
    return client.post(TRIGGERS, json=body)


def made(response) -> dict:
    assert response.status_code == 200, response.json
    return response.json


def db_of(app):
    return app.extensions["zenyard"]["db"]


def stored_secret(app, secret_id) -> dict:
    with db_of(app).reading() as session:
        return open_values(app.extensions["zenyard"]["keyring"], session.get(Secret, uuid.UUID(secret_id)))


def stored_configuration(app, source_id) -> dict:
    with db_of(app).reading() as session:
        return session.get(EventSource, uuid.UUID(source_id)).configuration


def test_event_source_secret_is_generated_shown_once_and_rotated(client, app):
    created = made(create_source(client, description="pushes to main"))
    assert_fits("EventSourceResponse", created)
    assert created["body"]["flavor"] == "github" and created["body"]["plugin_subtype"] == "webhook"
    assert created["body"]["is_active"] is True
    secret = created["metadata"]["configuration"]["webhook_secret"]
    assert len(secret) == 12 and secret.isalpha()
    # kept in a workspace secret, never in the configuration
    secret_id = stored_configuration(app, created["id"])["webhook_secret_id"]
    assert "webhook_secret" not in stored_configuration(app, created["id"])
    assert stored_secret(app, secret_id) == {"webhook_secret": secret}
    listed = client.get("/api/v1/secrets?name=startswith:event_source-").json["items"]
    assert [s["id"] for s in listed] == [secret_id]

    # shown once: reading it back hides it
    fetched = client.get(f"{SOURCES}/{created['id']}").json
    assert_fits("EventSourceResponse", fetched)
    assert fetched["metadata"]["configuration"] == {}
    assert fetched["metadata"]["description"] == "pushes to main"
    assert fetched["resources"]["triggers"]["items"] == []

    # an update keeps the secret; rotate_secret makes a new one, shown once
    renamed = made(client.put(f"{SOURCES}/{created['id']}", json={"name": "gh", "configuration": {}}))
    assert renamed["name"] == "gh" and renamed["metadata"]["configuration"] == {}
    assert stored_secret(app, secret_id) == {"webhook_secret": secret}
    rotated = made(client.put(f"{SOURCES}/{created['id']}", json={"configuration": {"rotate_secret": True}}))
    new_secret = rotated["metadata"]["configuration"]["webhook_secret"]
    assert new_secret != secret and stored_secret(app, secret_id) == {"webhook_secret": new_secret}
    assert stored_configuration(app, created["id"]) == {"webhook_secret_id": secret_id}
    assert client.get(f"{SOURCES}/{created['id']}").json["metadata"]["configuration"] == {}

    # deactivated and back
    assert made(client.put(f"{SOURCES}/{created['id']}", json={"is_active": False}))["body"]["is_active"] is False

    # deleting the source deletes its secret
    assert client.delete(f"{SOURCES}/{created['id']}").status_code == 200
    assert client.get(f"{SOURCES}/{created['id']}").status_code == 404
    assert client.get(f"/api/v1/secrets/{secret_id}").status_code == 404


def test_event_source_refusals(client, app):
    unknown = create_source(client, flavor="gitlab")
    assert unknown.status_code == 404
    assert unknown.json["detail"] == [
        "KeyError", "No flavor found for flavor name gitlab and type event_source and subtype webhook."
    ]
    wrong_subtype = create_source(client, plugin_subtype="pipeline_run")
    assert wrong_subtype.status_code == 404
    bad_subtype = create_source(client, plugin_subtype="carrier-pigeon")
    assert bad_subtype.status_code == 422 and bad_subtype.json["detail"][0] == "ValueError"

    for field, value in (("webhook_secret", "mine"), ("webhook_secret_id", str(uuid.uuid4())), ("rotate_secret", True)):
        refused = create_source(client, configuration={field: value})
        assert refused.status_code == 400
        assert refused.json["detail"] == ["ValueError", f"The `{field}` field is not allowed in the event source request."]
    malformed = create_source(client, configuration={"webhook_secret_id": "not-a-uuid"})
    assert malformed.status_code == 400
    assert malformed.json["detail"][1].startswith("Invalid configuration for event source:")

    made(create_source(client, name="taken"))
    clash = create_source(client, name="taken")
    assert clash.status_code == 409
    assert clash.json["detail"] == [
        "EntityExistsError",
        "Unable to register event source with name 'taken': Found an existing event source with the same "
        "name in the active workspace, 'default'.",
    ]
    with db_of(app).reading() as session:
        assert session.scalar(select(func.count()).select_from(EventSource)) == 1
        assert session.scalar(select(func.count()).select_from(Secret)) == 1

    missing = client.get(f"{SOURCES}/{uuid.uuid4()}")
    assert missing.status_code == 404 and missing.json["detail"][0] == "KeyError"


def test_actions_run_as_a_service_account_on_a_template(client, app):
    template = make_template(client)["template"]
    account = make_account(client, "runner")
    created = made(create_action(
        client, template, account["id"], description="nightly",
        configuration={"template_id": template, "run_config": {"run_name": "from-push-{date}", "enable_cache": None},
                       "ignored": "by ZenML"},
    ))
    assert_fits("ActionResponse", created)
    assert created["body"]["flavor"] == "builtin" and created["body"]["plugin_subtype"] == "pipeline_run"
    assert created["metadata"]["configuration"] == {
        "template_id": template, "run_config": {"run_name": "from-push-{date}"},
    }
    assert created["metadata"]["auth_window"] == 2880  # ZenML's default: 48 hours
    assert created["resources"]["service_account"]["id"] == account["id"]
    assert created["resources"]["service_account"]["body"]["is_service_account"] is True

    updated = made(client.put(f"{ACTIONS}/{created['id']}", json={"auth_window": 60, "description": "hourly"}))
    assert updated["metadata"]["auth_window"] == 60 and updated["metadata"]["description"] == "hourly"
    other = make_account(client, "other-runner")
    moved = made(client.put(f"{ACTIONS}/{created['id']}", json={"service_account_id": other["id"]}))
    assert moved["resources"]["service_account"]["id"] == other["id"]
    assert_fits("ActionResponse", client.get(f"{ACTIONS}/{created['id']}").json)
    assert_fits("Page_ActionResponse_", client.get(f"{ACTIONS}?hydrate=true").json)


def test_action_refusals(client, make_user):
    template = make_template(client)["template"]
    account = make_account(client, "runner")

    user = make_user("person")
    not_an_account = create_action(client, template, user["id"])
    assert not_an_account.status_code == 404 and not_an_account.json["detail"][0] == "KeyError"
    assert "service account" in not_an_account.json["detail"][1]

    flavor = create_action(client, template, account["id"], flavor="zapier")
    assert flavor.status_code == 404
    assert flavor.json["detail"][1] == "No flavor found for flavor name zapier and type action and subtype pipeline_run."

    no_template = create_action(client, str(uuid.uuid4()), account["id"])
    assert no_template.status_code == 400 and no_template.json["detail"][1].startswith("No template found with id")
    malformed = create_action(client, template, account["id"], configuration={"template_id": "nope"})
    assert malformed.status_code == 400
    assert malformed.json["detail"][1].startswith("Invalid configuration for action:")
    unknown_run_field = create_action(
        client, template, account["id"], configuration={"template_id": template, "run_config": {"colour": "red"}},
    )
    assert unknown_run_field.status_code == 400 and "colour" in unknown_run_field.json["detail"][1]
    # what a server-side run refuses is refused now, not at the first push
    parameters = create_action(
        client, template, account["id"], configuration={"template_id": template, "run_config": {"parameters": {"a": 1}}},
    )
    assert parameters.status_code == 400
    assert parameters.json["detail"] == ["ValueError", "Can't set parameters when running pipeline via Rest API."]

    made(create_action(client, template, account["id"], name="taken"))
    clash = create_action(client, template, account["id"], name="taken")
    assert clash.status_code == 409 and clash.json["detail"][0] == "EntityExistsError"
    assert client.get(ACTIONS).json["total"] == 1


def test_triggers_link_a_source_to_an_action(client, app):
    template = make_template(client)["template"]
    account = make_account(client, "runner")
    source = made(create_source(client))
    action = made(create_action(client, template, account["id"]))
    trigger = made(create_trigger(
        client, source["id"], action["id"], description="main only",
        event_filter={"repo": "Codertocat/Hello-World", "branch": "main", "event_type": "push_event"},
    ))
    assert_fits("TriggerResponse", trigger)
    assert trigger["body"] == {**trigger["body"], "action_flavor": "builtin", "action_subtype": "pipeline_run",
                               "event_source_flavor": "github", "event_source_subtype": "webhook", "is_active": True}
    assert trigger["metadata"]["event_filter"]["branch"] == "main"
    assert trigger["metadata"]["schedule"] is None
    assert trigger["resources"]["action"]["id"] == action["id"]
    assert trigger["resources"]["event_source"]["id"] == source["id"]
    assert trigger["resources"]["executions"]["total"] == 0

    fetched = client.get(f"{SOURCES}/{source['id']}").json
    assert [t["id"] for t in fetched["resources"]["triggers"]["items"]] == [trigger["id"]]

    off = made(client.put(f"{TRIGGERS}/{trigger['id']}", json={"is_active": False, "event_filter": {"branch": "dev"}}))
    assert off["body"]["is_active"] is False and off["metadata"]["event_filter"] == {"branch": "dev"}
    assert_fits("Page_TriggerResponse_", client.get(f"{TRIGGERS}?hydrate=true").json)


def test_trigger_refusals(client):
    template = make_template(client)["template"]
    account = make_account(client, "runner")
    source = made(create_source(client))
    action = made(create_action(client, template, account["id"]))

    neither = create_trigger(client, None, action["id"])
    assert neither.status_code == 422
    assert neither.json["detail"] == ["ValueError", "Either a schedule or an event source is required."]
    both = create_trigger(client, source["id"], action["id"], schedule={"cron_expression": "0 * * * *"})
    assert both.status_code == 422
    assert both.json["detail"] == ["ValueError", "Only a schedule or an event source is allowed."]
    bad_filter = create_trigger(client, source["id"], action["id"], event_filter={"event_type": "star_event"})
    assert bad_filter.status_code == 400
    assert bad_filter.json["detail"][1].startswith("Invalid configuration for event filter:")
    no_source = create_trigger(client, str(uuid.uuid4()), action["id"])
    assert no_source.status_code == 404
    no_action = create_trigger(client, source["id"], str(uuid.uuid4()))
    assert no_action.status_code == 404
    assert client.get(TRIGGERS).json["total"] == 0

    scheduled = made(create_trigger(client, None, action["id"], name="hourly",
                                    schedule={"cron_expression": "0 * * * *"}))
    assert scheduled["metadata"]["schedule"]["cron_expression"] == "0 * * * *"
    assert scheduled["body"]["event_source_flavor"] is None
    refused = client.put(f"{TRIGGERS}/{scheduled['id']}", json={"event_filter": {"branch": "main"}})
    assert refused.status_code == 400
    assert refused.json["detail"] == ["ValueError", "Trying to set event filter for trigger without event source."]

    on_push = made(create_trigger(client, source["id"], action["id"]))
    both_later = client.put(f"{TRIGGERS}/{on_push['id']}", json={"schedule": {"cron_expression": "0 * * * *"}})
    assert both_later.status_code == 400
    clash = create_trigger(client, source["id"], action["id"])
    assert clash.status_code == 409 and clash.json["detail"][0] == "EntityExistsError"
    missing = client.get(f"{TRIGGERS}/{uuid.uuid4()}")
    assert missing.status_code == 404 and missing.json["detail"][1].startswith("Trigger with ID")


def test_list_filters(client):
    template = make_template(client)["template"]
    account = make_account(client, "runner")
    first, second = made(create_source(client, "first")), made(create_source(client, "second"))
    action = made(create_action(client, template, account["id"]))
    a = made(create_trigger(client, first["id"], action["id"], name="a"))
    b = made(create_trigger(client, second["id"], action["id"], name="b"))
    made(client.put(f"{TRIGGERS}/{b['id']}", json={"is_active": False}))

    def names(path):
        response = client.get(path)
        assert response.status_code == 200, response.json
        return sorted(item["name"] for item in response.json["items"])

    assert names(f"{SOURCES}?flavor=github&plugin_subtype=webhook") == ["first", "second"]
    assert names(f"{SOURCES}?name=contains:sec") == ["second"]
    assert names(f"{SOURCES}?flavor=gitlab") == []
    assert names(f"{ACTIONS}?flavor=builtin&plugin_subtype=pipeline_run") == ["run-nightly"]
    assert names(f"{TRIGGERS}?event_source_id={first['id']}") == ["a"]
    assert names(f"{TRIGGERS}?is_active=true") == ["a"]
    assert names(f"{TRIGGERS}?is_active=false") == ["b"]
    assert names(f"{TRIGGERS}?action_id={action['id']}") == ["a", "b"]
    assert names(f"{TRIGGERS}?action_flavor=builtin&event_source_subtype=webhook") == ["a", "b"]
    assert names(f"{TRIGGERS}?event_source_flavor=gitlab") == []
    # the relationship filters narrow the list whatever the logical operator
    assert names(f"{TRIGGERS}?logical_operator=or&name=a&action_subtype=nothing") == []
    assert names(f"{TRIGGERS}?logical_operator=or&name=a&is_active=false") == ["a", "b"]
    assert a["id"] in {t["id"] for t in client.get(f"{TRIGGERS}?sort_by=desc:name").json["items"]}


def test_deleting_follows_zenml(client, app):
    template = make_template(client)["template"]
    account = make_account(client, "runner")
    source = made(create_source(client))
    action = made(create_action(client, template, account["id"]))
    trigger = made(create_trigger(client, source["id"], action["id"]))

    # a source or an action in use is refused, forced or not
    for path in (f"{SOURCES}/{source['id']}", f"{ACTIONS}/{action['id']}", f"{SOURCES}/{source['id']}?force=true"):
        refused = client.delete(path)
        assert refused.status_code == 403 and refused.json["detail"][0] == "IllegalOperationError"
        assert "as it is used by 1 triggers" in refused.json["detail"][1]
    secret_id = stored_configuration(app, source["id"])["webhook_secret_id"]
    assert client.get(f"/api/v1/secrets/{secret_id}").status_code == 200

    # a trigger goes with its executions
    with db_of(app).unit_of_work() as session:
        session.add(TriggerExecution(trigger_id=uuid.UUID(trigger["id"]), event_metadata={"ref": "refs/heads/main"}))
    assert client.get(f"{TRIGGERS}/{trigger['id']}").json["resources"]["executions"]["total"] == 1
    assert client.delete(f"{TRIGGERS}/{trigger['id']}").status_code == 200
    with db_of(app).reading() as session:
        assert session.scalar(select(func.count()).select_from(TriggerExecution)) == 0
    assert client.delete(f"{ACTIONS}/{action['id']}").status_code == 200
    assert client.delete(f"{SOURCES}/{source['id']}").status_code == 200

    # deleting the service account deletes its actions and their triggers
    action = made(create_action(client, template, account["id"]))
    source = made(create_source(client))
    made(create_trigger(client, source["id"], action["id"]))
    assert client.delete(f"/api/v1/service_accounts/{account['id']}").status_code == 200
    assert client.get(f"{ACTIONS}/{action['id']}").status_code == 404
    assert client.get(TRIGGERS).json["total"] == 0
    assert client.get(f"{SOURCES}/{source['id']}").json["resources"]["triggers"]["total"] == 0
