"""`POST /webhooks/{event_source_id}`: a GitHub (or Bitbucket) delivery runs
the actions of the triggers it matches.

The delivery is checked (the source exists and is active, the signature is
the HMAC of the body with the source's secret), read as an event of its flavor, and
matched against the source's active triggers. One unit of work records a
trigger execution per match; after it commits, each trigger's pipeline-run
action becomes a template run (`store.workloads.create_template_run`, run
as the action's service account) whose queued workload is handed to
`enqueue`. An action that cannot run (its template was deleted, its service
account deactivated) is logged and skipped: the execution stays recorded,
and the other triggers still run, as in ZenML.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from sqlalchemy import select

from store import event_flavors as flavors
from store import workloads
from store.crypto import Keyring
from store.db import Database
from store.errors import NotAuthorized, NotFound, ZenyardError
from store.resources import Actor
from store.triggers import EventSource, Trigger, TriggerExecution, webhook_secret

log = logging.getLogger("zenyard.webhooks")

RECEIVED = {"status": "Event Received."}


class WebhookInactive(ZenyardError):
    """The event source is deactivated. ZenML raises WebhookInactiveError,
    which its server answers with a 500; a 403 says what it is."""

    status = 403
    wire_name = "IllegalOperationError"


@dataclass(frozen=True)
class ActionRun:
    """What running one matched trigger's action needs, read in the unit of work."""

    trigger_id: uuid.UUID
    execution_id: uuid.UUID
    flavor: tuple[str, str]
    configuration: dict
    account: Actor
    account_active: bool


def _source(session, event_source_id: uuid.UUID) -> EventSource:
    source = session.get(EventSource, event_source_id)
    if source is None:
        raise NotAuthorized(f"No webhook is registered at '/api/v1/webhooks/{event_source_id}'")
    if not source.is_active:
        raise WebhookInactive(f"Webhook {event_source_id} is inactive.")
    if (source.flavor, source.plugin_subtype) not in flavors.FLAVORS[flavors.EVENT_SOURCE]:
        raise NotFound(f"No listener plugin found for event source {event_source_id}.")
    return source


def receive(
    db: Database, keyring: Keyring, event_source_id: uuid.UUID, raw_body: bytes, headers: Mapping[str, str],
    *, run: Callable[[ActionRun], None],
) -> dict:
    """Check and read a delivery, record the matching triggers' executions,
    then `run` each of their actions. `headers` are lower-cased."""
    with db.reading() as session:
        source = _source(session, event_source_id)
        if not (source.configuration or {}).get("webhook_secret_id"):
            raise NotAuthorized(
                "Webhook secret ID is missing from the event source configuration "
                f"for event source '{event_source_id}'."
            )
        secret = webhook_secret(session, keyring, source)
        flavor = source.flavor
    if not secret:
        raise NotAuthorized("Could not retrieve webhook signature.")
    flavors.verify_signature(raw_body, headers, secret)
    payload = flavors.load_payload(raw_body, headers)
    if headers.get("x-github-event") == "ping":
        # GitHub's hello when the webhook is added: nothing to run
        log.info("event_source=%s ping", event_source_id)
        return dict(RECEIVED)
    event = flavors.read_event(flavor, payload)

    runs = record_executions(db, event_source_id, event)
    log.info("event_source=%s event=%s matched=%d", event_source_id, flavors.WEBHOOKS[flavor].event_type(event),
             len(runs))
    for action_run in runs:
        run(action_run)
    return dict(RECEIVED)


def record_executions(db: Database, event_source_id: uuid.UUID, event: dict) -> list[ActionRun]:
    """One execution per active trigger of the source whose filter matches."""
    runs = []
    with db.unit_of_work() as session:
        source = _source(session, event_source_id)  # it may have changed since the check
        triggers = session.scalars(
            select(Trigger).where(Trigger.event_source_id == source.id, Trigger.is_active.is_(True))
            .order_by(Trigger.created, Trigger.id)
        ).unique().all()
        for trigger in triggers:
            if not flavors.filter_matches(source.flavor, trigger.event_filter, event):
                continue
            execution = TriggerExecution(id=uuid.uuid4(), trigger_id=trigger.id, event_metadata=event)
            session.add(execution)
            action, account = trigger.action, trigger.action.service_account
            runs.append(ActionRun(
                trigger_id=trigger.id, execution_id=execution.id,
                flavor=(action.flavor, action.plugin_subtype), configuration=dict(action.configuration or {}),
                account=Actor(id=account.id, name=account.name, is_admin=account.is_admin, is_service_account=True),
                account_active=account.active,
            ))
    return runs


def run_pipeline_action(
    db: Database, action_run: ActionRun, *, allow_local: bool, server_url: str, enqueue: Callable[[Any], None],
) -> uuid.UUID | None:
    """A pipeline-run action: a template run as the service account; the
    placeholder run's id, or None when it could not start (logged)."""
    label = f"trigger={action_run.trigger_id} execution={action_run.execution_id}"
    if action_run.flavor != flavors.PIPELINE_RUN:
        log.error("%s skipped=no handler for action flavor %s", label, "/".join(action_run.flavor))
        return None
    if not server_url:
        log.error("%s skipped=ZENML_SERVER_URL is not set, which template runs need", label)
        return None
    if not action_run.account_active:
        log.warning("%s skipped=service account %s is not active", label, action_run.account.name)
        return None
    config = action_run.configuration
    try:
        run, workload_id = workloads.create_template_run(
            db, flavors.template_of(config), config.get("run_config") or {}, action_run.account, allow_local,
        )
    except ZenyardError as err:
        log.warning("%s skipped=%s", label, err)
        return None
    try:
        enqueue(workload_id)
    except Exception as err:  # the broker is down: the run must not stay initializing
        workloads.fail_unsent(db, workload_id, f"could not enqueue the template run: {err}")
        log.error("%s workload=%s enqueue_failed=%r", label, workload_id, str(err))
        return None
    log.info("%s run=%s workload=%s queued", label, run["id"], workload_id)
    return run["id"]
