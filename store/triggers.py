"""Event sources, actions and triggers: tables and resources.

ZenML 0.66's rules kept here (the flavors themselves are in
`store.event_flavors`):

- An event source of a webhook flavor (`github`, `bitbucket`) gets a generated webhook
  secret, kept in a workspace secret (`event_source-<id>-xxxx`) whose id
  its configuration holds; the secret's value is shown once, in the answer
  of the create request (and of an update with `rotate_secret`), never
  again. Deleting the source deletes the secret.
- An action runs as a service account, which must exist; a pipeline-run
  action names a run template that must exist; its auth window defaults to
  48 hours.
- A trigger links an action to an event source (with an event filter that
  the source's flavor validates) or to a schedule, never both.
- An event source or an action that a trigger uses cannot be deleted;
  deleting a trigger deletes its executions; deleting the service account
  deletes its actions and their triggers, as ZenML's foreign keys do.
"""

from __future__ import annotations

import secrets as random
import string
import uuid
from typing import Any, Optional

from sqlalchemy import ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from store import event_flavors as flavors
from store.base import Base, Entity, Scoped
from store.crud import find_row
from store.crypto import Keyring
from store.errors import BadRequest, EntityExists, IllegalOperation, InvalidInput, NotFound
from store.filtering import FilterField, Kind
from store.resources import Actor, Resource, present_brief


class EventSource(Entity, Scoped, Base):
    __tablename__ = "event_sources"

    name: Mapped[str] = mapped_column(String(255), index=True)
    flavor: Mapped[str] = mapped_column(String(255))
    plugin_subtype: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    configuration: Mapped[dict] = mapped_column(default=dict)
    is_active: Mapped[bool] = mapped_column(default=True)

    # the database nulls or deletes the rows that refer to a deleted one
    triggers: Mapped[list["Trigger"]] = relationship(
        back_populates="event_source", lazy="selectin", order_by="Trigger.created", passive_deletes="all",
    )


class Action(Entity, Scoped, Base):
    __tablename__ = "actions"

    name: Mapped[str] = mapped_column(String(255), index=True)
    flavor: Mapped[str] = mapped_column(String(255))
    plugin_subtype: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    configuration: Mapped[dict] = mapped_column(default=dict)
    service_account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    auth_window: Mapped[int] = mapped_column(default=flavors.PIPELINE_RUN_AUTH_WINDOW)

    # two foreign keys to users: say which one each relationship follows
    user = relationship("User", foreign_keys="Action.user_id", lazy="joined", innerjoin=False)
    service_account = relationship("User", foreign_keys="Action.service_account_id", lazy="joined", innerjoin=True)
    triggers: Mapped[list["Trigger"]] = relationship(
        back_populates="action", lazy="selectin", order_by="Trigger.created", passive_deletes="all",
    )


class Trigger(Entity, Scoped, Base):
    __tablename__ = "triggers"

    name: Mapped[str] = mapped_column(String(255), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    event_source_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("event_sources.id", ondelete="SET NULL"), nullable=True, index=True
    )
    action_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("actions.id", ondelete="CASCADE"), index=True)
    event_filter: Mapped[Optional[dict]] = mapped_column(nullable=True)
    schedule: Mapped[Optional[dict]] = mapped_column(nullable=True)
    is_active: Mapped[bool] = mapped_column(default=True, index=True)

    event_source: Mapped[Optional[EventSource]] = relationship(back_populates="triggers", lazy="joined")
    action: Mapped[Action] = relationship(back_populates="triggers", lazy="joined", innerjoin=True)
    executions: Mapped[list["TriggerExecution"]] = relationship(
        lazy="select", order_by="TriggerExecution.created", passive_deletes="all",
    )


class TriggerExecution(Entity, Base):
    """One time a trigger fired: the event that fired it."""

    __tablename__ = "trigger_executions"

    trigger_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("triggers.id", ondelete="CASCADE"), index=True)
    event_metadata: Mapped[dict] = mapped_column(default=dict)


def list_page(items: list) -> dict:
    """A related list as ZenML nests it: one page holding everything."""
    return {"index": 1, "max_size": max(len(items), 1), "total_pages": 1, "total": len(items), "items": items}


class NamedInWorkspace(Resource):
    """A name unique in its workspace, refused with ZenML's message."""

    def check_unique(self, session: Session, row: Any, action: str) -> None:
        table = self.table
        with session.no_autoflush:
            clash = session.scalar(
                select(table.id).where(
                    table.name == row.name, table.workspace_id == row.workspace_id, table.id != row.id
                ).limit(1)
            )
        if clash is None:
            return
        from store.tables import Workspace

        workspace = session.get(Workspace, row.workspace_id)
        raise EntityExists(
            f"Unable to register {self.noun} with name '{row.name}': Found an existing "
            f"{self.noun} with the same name in the active workspace, '{workspace.name}'."
        )


# --- event sources ----------------------------------------------------------


WEBHOOK_SECRET_KEY = "webhook_secret"


def new_webhook_secret() -> str:
    """Twelve random letters, as ZenML generates them."""
    return "".join(random.choice(string.ascii_letters) for _ in range(12))


class EventSourceResource(NamedInWorkspace):
    noun = "event source"
    table = EventSource
    extra_filters = {"flavor": Kind.STRING, "plugin_subtype": Kind.STRING}

    def __init__(self, keyring: Keyring | None = None):
        self.keyring = keyring

    def bound(self, keyring: Keyring) -> "EventSourceResource":
        """One that can write the webhook secret."""
        return EventSourceResource(keyring)

    def not_found(self, name_or_id: Any) -> NotFound:
        return NotFound(
            f"Unable to get event_source with name or ID '{name_or_id}': No event_source with this ID found."
        )

    def body(self, row: EventSource) -> dict:
        return {"flavor": row.flavor, "plugin_subtype": row.plugin_subtype, "is_active": row.is_active}

    def metadata(self, row: EventSource) -> dict:
        configuration = flavors.shown_source_configuration(row.configuration)
        revealed = getattr(row, "_revealed_webhook_secret", None)
        if revealed:
            configuration[WEBHOOK_SECRET_KEY] = revealed
        return {"description": row.description or "", "configuration": configuration}

    def resources(self, row: EventSource) -> dict:
        return {"triggers": list_page([TRIGGERS.present(t, hydrate=False) for t in row.triggers])}

    def build(self, session: Session, data: dict, actor: Actor) -> EventSource:
        flavors.check_flavor(flavors.EVENT_SOURCE, data["flavor"], data["plugin_subtype"])
        configuration = flavors.source_configuration(data["configuration"])
        flavors.check_new_source_configuration(configuration)
        row = EventSource(
            id=uuid.uuid4(), name=data["name"], flavor=data["flavor"], plugin_subtype=data["plugin_subtype"],
            description=data.get("description") or "", configuration=configuration, is_active=True,
        )
        self.assign_owner(session, row, data, actor)
        return row

    def after_create(self, session: Session, row: EventSource, actor: Actor) -> None:
        self._set_webhook_secret(session, row, new_webhook_secret())

    def apply(self, session: Session, row: EventSource, data: dict, actor: Actor) -> None:
        for key in ("name", "description", "is_active"):
            if data.get(key) is not None:
                setattr(row, key, data[key])
        previous = dict(row.configuration or {})
        if data.get("configuration") is None:
            return
        configuration = flavors.source_configuration(data["configuration"])
        rotate = configuration.pop("rotate_secret", None)
        # the secret stays where it is, and its value never sits in the configuration
        configuration.pop(WEBHOOK_SECRET_KEY, None)
        configuration.pop("webhook_secret_id", None)
        if previous.get("webhook_secret_id"):
            configuration["webhook_secret_id"] = previous["webhook_secret_id"]
        row.configuration = configuration
        if rotate:
            self._set_webhook_secret(session, row, new_webhook_secret())

    def before_delete(self, session: Session, row: EventSource, actor: Actor) -> None:
        if row.triggers:
            raise IllegalOperation(
                f"Unable to delete event_source with ID `{row.id}` as it is used by {len(row.triggers)} triggers."
            )
        secret = _secret_row(session, row)
        if secret is not None:
            session.delete(secret)

    def _set_webhook_secret(self, session: Session, row: EventSource, value: str) -> None:
        """Seal `value` into the source's secret (made when it has none) and
        reveal it in this answer only."""
        from store.secrets import Secret, seal_values

        secret = _secret_row(session, row)
        if secret is None:
            secret = Secret(
                id=uuid.uuid4(), name=f"event_source-{row.id}-{new_webhook_secret()[:4]}".lower(),
                scope="workspace", workspace_id=row.workspace_id, user_id=row.user_id,
            )
            session.add(secret)
            row.configuration = {**(row.configuration or {}), "webhook_secret_id": str(secret.id)}
        seal_values(self.keyring, secret, {WEBHOOK_SECRET_KEY: value})
        row._revealed_webhook_secret = value


def _secret_row(session: Session, row: EventSource):
    from store.secrets import Secret

    secret_id = (row.configuration or {}).get("webhook_secret_id")
    if not secret_id:
        return None
    try:
        return session.get(Secret, uuid.UUID(str(secret_id)))
    except ValueError:
        return None


def webhook_secret(session: Session, keyring: Keyring, row: EventSource) -> str | None:
    """The source's webhook secret, or None when its secret is gone."""
    from store.secrets import open_values

    secret = _secret_row(session, row)
    if secret is None:
        return None
    return open_values(keyring, secret).get(WEBHOOK_SECRET_KEY)


EVENT_SOURCES = EventSourceResource()


# --- actions ------------------------------------------------------------------


def _service_account(session: Session, account_id: Any):
    from store.service_accounts import SERVICE_ACCOUNTS

    return find_row(session, SERVICE_ACCOUNTS, account_id)


def _check_template(session: Session, configuration: dict) -> None:
    from store.pipelines import RunTemplate

    template_id = flavors.template_of(configuration)
    if session.get(RunTemplate, template_id) is None:
        raise BadRequest(f"No template found with id {template_id}.")


class ActionResource(NamedInWorkspace):
    noun = "action"
    table = Action
    extra_filters = {"flavor": Kind.STRING, "plugin_subtype": Kind.STRING}

    def body(self, row: Action) -> dict:
        return {"flavor": row.flavor, "plugin_subtype": row.plugin_subtype}

    def metadata(self, row: Action) -> dict:
        return {"description": row.description or "", "configuration": row.configuration or {},
                "auth_window": row.auth_window}

    def resources(self, row: Action) -> dict:
        return {"service_account": present_brief("user", row.service_account)}

    def build(self, session: Session, data: dict, actor: Actor) -> Action:
        account = _service_account(session, data["service_account_id"])
        flavors.check_flavor(flavors.ACTION, data["flavor"], data["plugin_subtype"])
        configuration = flavors.action_configuration(data["configuration"])
        _check_template(session, configuration)
        auth_window = data.get("auth_window")
        row = Action(
            name=data["name"], flavor=data["flavor"], plugin_subtype=data["plugin_subtype"],
            description=data.get("description") or "", configuration=configuration,
            service_account_id=account.id,
            auth_window=flavors.PIPELINE_RUN_AUTH_WINDOW if auth_window is None else auth_window,
        )
        _check_auth_window(row.auth_window)
        self.assign_owner(session, row, data, actor)
        return row

    def apply(self, session: Session, row: Action, data: dict, actor: Actor) -> None:
        if data.get("service_account_id") is not None:
            row.service_account = _service_account(session, data["service_account_id"])
        if data.get("configuration") is not None:
            configuration = flavors.action_configuration(data["configuration"])
            _check_template(session, configuration)
            row.configuration = configuration
        if data.get("auth_window") is not None:
            _check_auth_window(data["auth_window"])
            row.auth_window = data["auth_window"]
        for key in ("name", "description"):
            if data.get(key) is not None:
                setattr(row, key, data[key])

    def before_delete(self, session: Session, row: Action, actor: Actor) -> None:
        if row.triggers:
            raise IllegalOperation(
                f"Unable to delete action with ID `{row.id}` as it is used by {len(row.triggers)} triggers."
            )


def _check_auth_window(minutes: int) -> None:
    if minutes < 0:
        raise InvalidInput("auth_window: must be 0 (no expiry) or a number of minutes.")


ACTIONS = ActionResource()


# --- triggers -------------------------------------------------------------------


def _through(column_of_trigger, table, column):
    """A filter on a column of the trigger's action or event source; like
    ZenML's custom filters it narrows the list whatever the logical operator."""
    from store.filtering import condition

    def custom(op: str, value: str):
        inner = condition(column.key, FilterField(Kind.STRING, column), f"{op}:{value}", "any")
        return column_of_trigger.in_(select(table.id).where(inner))

    return FilterField(Kind.STRING, None, sortable=False, always=True, custom=custom)


class TriggerResource(NamedInWorkspace):
    noun = "trigger"
    table = Trigger
    extra_filters = {"event_source_id": Kind.UUID, "action_id": Kind.UUID, "is_active": Kind.BOOL}

    def filters(self) -> dict[str, FilterField]:
        fields = super().filters()
        fields.update(
            action_flavor=_through(Trigger.action_id, Action, Action.flavor),
            action_subtype=_through(Trigger.action_id, Action, Action.plugin_subtype),
            event_source_flavor=_through(Trigger.event_source_id, EventSource, EventSource.flavor),
            event_source_subtype=_through(Trigger.event_source_id, EventSource, EventSource.plugin_subtype),
        )
        return fields

    def not_found(self, name_or_id: Any) -> NotFound:
        return NotFound(f"Trigger with ID {name_or_id} not found.")

    def body(self, row: Trigger) -> dict:
        source = row.event_source
        return {
            "action_flavor": row.action.flavor,
            "action_subtype": row.action.plugin_subtype,
            "event_source_flavor": source.flavor if source else None,
            "event_source_subtype": source.plugin_subtype if source else None,
            "is_active": row.is_active,
        }

    def metadata(self, row: Trigger) -> dict:
        return {"description": row.description or "", "event_filter": row.event_filter, "schedule": row.schedule}

    def resources(self, row: Trigger) -> dict:
        return {
            "action": ACTIONS.present(row.action, hydrate=False),
            "event_source": EVENT_SOURCES.present(row.event_source, hydrate=False) if row.event_source else None,
            "executions": list_page([present_execution(e, hydrate=False) for e in row.executions]),
        }

    def build(self, session: Session, data: dict, actor: Actor) -> Trigger:
        source_id, schedule = data.get("event_source_id"), data.get("schedule")
        if not schedule and not source_id:
            raise InvalidInput("Either a schedule or an event source is required.")
        if schedule and source_id:
            raise InvalidInput("Only a schedule or an event source is allowed.")
        event_filter = data.get("event_filter")
        if source_id is not None:
            source = find_row(session, EVENT_SOURCES, source_id)
            if event_filter:
                _check_filter(source, event_filter)
        action = find_row(session, ACTIONS, data["action_id"])
        row = Trigger(
            name=data["name"], description=data.get("description") or "", action_id=action.id,
            event_source_id=source_id, event_filter=event_filter, schedule=_jsonable(schedule), is_active=True,
        )
        self.assign_owner(session, row, data, actor)
        return row

    def apply(self, session: Session, row: Trigger, data: dict, actor: Actor) -> None:
        if data.get("event_filter"):
            if row.event_source is None:
                raise BadRequest("Trying to set event filter for trigger without event source.")
            _check_filter(row.event_source, data["event_filter"])
        if row.event_source_id is not None and data.get("schedule"):
            raise BadRequest("Unable to update trigger: A trigger cannot have both a schedule and an event source.")
        for key in ("name", "description", "is_active", "event_filter"):
            if data.get(key) is not None:
                setattr(row, key, data[key])
        if data.get("schedule") is not None:
            row.schedule = _jsonable(data["schedule"])


def _check_filter(source: EventSource, event_filter: Any) -> None:
    flavors.check_flavor(flavors.EVENT_SOURCE, source.flavor, source.plugin_subtype)
    flavors.event_filter(source.flavor, event_filter)


def _jsonable(schedule: Any) -> Any:
    """A schedule as stored (JSON): timestamps and durations as text."""
    if not isinstance(schedule, dict):
        return schedule
    return {key: value if value is None or isinstance(value, (str, int, float, bool)) else _text(value)
            for key, value in schedule.items()}


def _text(value: Any) -> str:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "total_seconds"):
        return f"PT{value.total_seconds():g}S"
    return str(value)


TRIGGERS = TriggerResource()


def present_execution(row: TriggerExecution, hydrate: bool) -> dict:
    return {
        "id": row.id,
        "permission_denied": False,
        "body": {"created": row.created, "updated": row.updated},
        "metadata": {"event_metadata": row.event_metadata or {}} if hydrate else None,
        "resources": None,
    }


__all__ = [
    "ACTIONS", "Action", "EVENT_SOURCES", "EventSource", "TRIGGERS", "Trigger", "TriggerExecution",
    "present_brief", "webhook_secret",
]
