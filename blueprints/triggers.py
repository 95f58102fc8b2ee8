"""Event sources, actions, triggers, and the webhook that fires them."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_smorest import Blueprint

from blueprints.context import actor, db, keyring, settings
from blueprints.contract import endpoint
from blueprints.crud import resource_routes
from store import crud
from store import triggers as store
from store import webhooks
from tasks import template_runs as tasks

EVENT_SOURCES = "/api/v1/event-sources"
EVENT_SOURCE = "/api/v1/event-sources/{event_source_id}"
ACTIONS = "/api/v1/actions"
ACTION = "/api/v1/actions/{action_id}"
TRIGGERS = "/api/v1/triggers"
TRIGGER = "/api/v1/triggers/{trigger_id}"
WEBHOOK = "/api/v1/webhooks/{event_source_id}"

sources = Blueprint("event-sources", __name__, description="Event sources (GitHub webhooks).")
actions = Blueprint("actions", __name__, description="Actions (pipeline runs) that triggers start.")
triggers = Blueprint("triggers", __name__, description="Triggers: an event source's events start an action.")
webhook_blp = Blueprint("webhook", __name__, description="Webhooks of the event sources.")


resource_routes(sources, store.EVENT_SOURCES, EVENT_SOURCES, EVENT_SOURCE, ops=("list", "get"))


@endpoint(sources, "POST", EVENT_SOURCES)
def create_event_source(body: dict) -> Any:
    """Create an event source; the answer carries its webhook secret, once."""
    return crud.create_entity(db(), store.EVENT_SOURCES.bound(keyring()), body, actor())


@endpoint(sources, "PUT", EVENT_SOURCE)
def update_event_source(body: dict, event_source_id) -> Any:
    """Update an event source (`configuration.rotate_secret` makes a new secret)."""
    return crud.update_entity(db(), store.EVENT_SOURCES.bound(keyring()), event_source_id, body, actor())


@endpoint(sources, "DELETE", EVENT_SOURCE)
def delete_event_source(query: dict, event_source_id) -> Any:
    """Delete an event source and its webhook secret."""
    # `force` only lets ZenML ignore a plugin that fails to clean up; this one cannot
    crud.delete_entity(db(), store.EVENT_SOURCES, event_source_id, actor())
    return None


resource_routes(actions, store.ACTIONS, ACTIONS, ACTION, ops=("list", "create", "get", "update"))


@endpoint(actions, "DELETE", ACTION)
def delete_action(query: dict, action_id) -> Any:
    """Delete an action that no trigger uses."""
    crud.delete_entity(db(), store.ACTIONS, action_id, actor())
    return None


resource_routes(triggers, store.TRIGGERS, TRIGGERS, TRIGGER)


@endpoint(webhook_blp, "POST", WEBHOOK, public=True)
def webhook(event_source_id) -> Any:
    """Receive an event of a webhook event source (signed with its secret)."""
    conf = settings()
    database = db()

    def run(action_run: webhooks.ActionRun) -> None:
        webhooks.run_pipeline_action(
            database, action_run, allow_local=conf["TEMPLATES_ALLOW_LOCAL_COMPONENTS"],
            server_url=conf["SERVER_URL"], enqueue=tasks.enqueue,
        )

    headers = {key.lower(): value for key, value in request.headers.items()}
    return webhooks.receive(database, keyring(), event_source_id, request.get_data(cache=False), headers, run=run)


BLUEPRINTS = (sources, actions, triggers, webhook_blp)
