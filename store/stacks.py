"""Flavors, stack components and stacks: tables, resources and use cases.

ZenML's rules kept here: a component's (name, type) and a stack's name are
unique within a workspace; a component in a stack cannot be deleted; the
`default` stack, orchestrator and artifact store of each workspace can be
neither changed nor deleted. Built-in flavors come from the generated
ZenML 0.66.0 catalog (`store.catalog`) and are synced into the table.
"""

from __future__ import annotations

import uuid
from typing import Any, Optional

from sqlalchemy import Column, ForeignKey, String, Table, Text, UniqueConstraint, exists, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from store.base import Base, Entity, Owned, Scoped
from store.errors import BadRequest, EntityExists, IllegalOperation, NotFound, StackComponentExists, StackExists
from store.filtering import FilterField, Kind, parse_uuid
from store.resources import Actor, Resource, present_brief
from store.tables import Workspace
from store.workspaces import STATISTICS

DEFAULT = "default"
COMPONENT_TYPES = (
    "alerter", "annotator", "artifact_store", "container_registry", "data_validator",
    "experiment_tracker", "feature_store", "image_builder", "model_deployer",
    "orchestrator", "step_operator", "model_registry",
)
PROTECTED_TYPES = ("orchestrator", "artifact_store")

stack_composition = Table(
    "stack_composition",
    Base.metadata,
    Column("stack_id", ForeignKey("stacks.id", ondelete="CASCADE"), primary_key=True),
    Column("component_id", ForeignKey("stack_components.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Flavor(Entity, Owned, Base):
    __tablename__ = "flavors"

    name: Mapped[str] = mapped_column(String(255), index=True)
    type: Mapped[str] = mapped_column(String(64), index=True)
    source: Mapped[str] = mapped_column(String(255))
    integration: Mapped[Optional[str]] = mapped_column(String(255), nullable=True, index=True)
    config_schema: Mapped[dict] = mapped_column(default=dict)
    connector_type: Mapped[Optional[str]] = mapped_column(String(255), nullable=True)
    connector_resource_type: Mapped[Optional[str]] = mapped_column(String(255), nullable=True)
    connector_resource_id_attr: Mapped[Optional[str]] = mapped_column(String(255), nullable=True)
    logo_url: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    docs_url: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    sdk_docs_url: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    is_custom: Mapped[bool] = mapped_column(default=True)
    workspace_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=True, index=True
    )
    workspace: Mapped[Optional[Workspace]] = relationship(lazy="joined")


class StackComponent(Entity, Scoped, Base):
    __tablename__ = "stack_components"
    __table_args__ = (UniqueConstraint("workspace_id", "type", "name"),)

    name: Mapped[str] = mapped_column(String(255), index=True)
    type: Mapped[str] = mapped_column(String(64), index=True)
    flavor: Mapped[str] = mapped_column(String(255), index=True)
    configuration: Mapped[dict] = mapped_column(default=dict)
    labels: Mapped[Optional[dict]] = mapped_column(nullable=True)
    component_spec_path: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    connector_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("service_connectors.id", ondelete="SET NULL"), nullable=True, index=True
    )
    connector_resource_id: Mapped[Optional[str]] = mapped_column(Text, nullable=True)

    stacks: Mapped[list["Stack"]] = relationship(
        secondary=stack_composition, back_populates="components", lazy="select"
    )
    connector: Mapped[Optional["ServiceConnector"]] = relationship(lazy="select")  # noqa: F821


class Stack(Entity, Scoped, Base):
    __tablename__ = "stacks"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    name: Mapped[str] = mapped_column(String(255), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    stack_spec_path: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    labels: Mapped[Optional[dict]] = mapped_column(nullable=True)

    components: Mapped[list[StackComponent]] = relationship(
        secondary=stack_composition, back_populates="stacks", lazy="selectin"
    )


# --- flavors -------------------------------------------------------------


def _flavor_logo(session: Session, component: StackComponent) -> tuple[str | None, str | None]:
    row = session.execute(
        select(Flavor.integration, Flavor.logo_url)
        .where(Flavor.name == component.flavor, Flavor.type == component.type)
        .limit(1)
    ).first()
    return (row[0], row[1]) if row else (None, None)


class FlavorResource(Resource):
    noun = "flavor"
    table = Flavor
    unique = ("name", "type")
    extra_filters = {"type": Kind.STRING, "integration": Kind.STRING}

    def body(self, row: Flavor) -> dict:
        return {"type": row.type, "integration": row.integration, "logo_url": row.logo_url}

    def metadata(self, row: Flavor) -> dict:
        return {
            "config_schema": row.config_schema or {},
            "connector_type": row.connector_type,
            "connector_resource_type": row.connector_resource_type,
            "connector_resource_id_attr": row.connector_resource_id_attr,
            "source": row.source,
            "docs_url": row.docs_url,
            "sdk_docs_url": row.sdk_docs_url,
            "is_custom": row.is_custom,
        }

    def present(self, row: Flavor, hydrate: bool) -> dict:
        answer = super().present(row, hydrate)
        if hydrate:
            answer["metadata"] = {"workspace": present_brief("workspace", row.workspace), **answer["metadata"]}
        return answer

    def build(self, session: Session, data: dict, actor: Actor) -> Flavor:
        row = Flavor(**self.columns_of(data))
        row.user_id = actor.id
        if data.get("user") not in (None, actor.id):
            raise IllegalOperation("Not allowed to create a flavor for a different user.")
        if data.get("workspace") is not None:
            if session.get(Workspace, data["workspace"]) is None:
                raise NotFound(f"Unable to get workspace with ID '{data['workspace']}'.")
            row.workspace_id = data["workspace"]
        row.is_custom = True
        return row

    def check_unique(self, session: Session, row: Flavor, action: str) -> None:
        clash = session.scalar(
            select(Flavor.id).where(
                Flavor.name == row.name, Flavor.type == row.type, Flavor.id != row.id if row.id else True
            ).limit(1)
        )
        if clash is not None:
            raise EntityExists(
                f"Unable to {action} {row.type} flavor '{row.name}': a flavor "
                f"with the same name and type already exists."
            )

    def authorize(self, action: str, actor: Actor, row: Flavor | None) -> None:
        if action in ("update", "delete") and row is not None and not row.is_custom:
            raise IllegalOperation(f"The built-in {row.type} flavor '{row.name}' cannot be {action}d.")

    def before_delete(self, session: Session, row: Flavor, actor: Actor) -> None:
        in_use = session.scalar(
            select(StackComponent.id).where(StackComponent.flavor == row.name, StackComponent.type == row.type).limit(1)
        )
        if in_use is not None:
            raise IllegalOperation(
                f"Flavor `{row.name}` of type `{row.type}` cannot be deleted as "
                f"it is used by at least one stack component."
            )


FLAVORS = FlavorResource()


def sync_builtin_flavors(session: Session) -> int:
    """Insert or refresh the built-in flavors of the catalog; returns changes."""
    from store import catalog

    existing = {
        (f.name, f.type): f
        for f in session.scalars(select(Flavor).where(Flavor.is_custom.is_(False))).all()
    }
    changed = 0
    for entry in catalog.flavors():
        fields = {key: entry.get(key) for key in (
            "source", "integration", "config_schema", "connector_type", "connector_resource_type",
            "connector_resource_id_attr", "logo_url", "docs_url", "sdk_docs_url",
        )}
        row = existing.get((entry["name"], entry["type"]))
        if row is None:
            session.add(Flavor(name=entry["name"], type=entry["type"], is_custom=False, **fields))
            changed += 1
        elif any(getattr(row, key) != value for key, value in fields.items()):
            for key, value in fields.items():
                setattr(row, key, value)
            changed += 1
    return changed


# --- components ----------------------------------------------------------


def _in_stack(op: str, value: str):
    return StackComponent.id.in_(
        select(stack_composition.c.component_id).where(stack_composition.c.stack_id == parse_uuid(value))
    )


class ComponentResource(Resource):
    noun = "stack component"
    table = StackComponent
    unique = ("name", "type")
    extra_filters = {"type": Kind.STRING, "flavor": Kind.STRING, "connector_id": Kind.UUID}

    def filters(self) -> dict[str, FilterField]:
        fields = super().filters()
        fields["scope_type"] = FilterField(Kind.STRING, StackComponent.type, sortable=False, always=True)
        fields["stack_id"] = FilterField(Kind.UUID, None, sortable=False, always=True, custom=_in_stack)
        return fields

    def present_many(self, session: Session, rows: list, hydrate: bool) -> list[dict]:
        # one query for the flavors' integrations and logos of the whole page
        keys = {(r.flavor, r.type) for r in rows}
        logos = {}
        if keys:
            for name, type_, integration, logo in session.execute(
                select(Flavor.name, Flavor.type, Flavor.integration, Flavor.logo_url).where(
                    Flavor.name.in_({k[0] for k in keys})
                )
            ):
                logos[(name, type_)] = (integration, logo)
        return [self._present(r, hydrate, logos.get((r.flavor, r.type), (None, None))) for r in rows]

    def present(self, row: StackComponent, hydrate: bool) -> dict:
        from sqlalchemy.orm import object_session

        session = object_session(row)
        logo = _flavor_logo(session, row) if session is not None else (None, None)
        return self._present(row, hydrate, logo)

    def _present(self, row: StackComponent, hydrate: bool, logo: tuple) -> dict:
        answer = Resource.present(self, row, hydrate)
        answer["body"].update(type=row.type, flavor=row.flavor, integration=logo[0], logo_url=logo[1])
        if hydrate:
            answer["metadata"].update(
                configuration=row.configuration or {},
                labels=row.labels,
                component_spec_path=row.component_spec_path,
                connector_resource_id=row.connector_resource_id,
                connector=_present_connector(row.connector),
            )
        return answer

    def build(self, session: Session, data: dict, actor: Actor) -> StackComponent:
        row = super().build(session, data, actor)
        self._check_flavor(session, row.type, row.flavor, row.configuration or {}, row.name)
        self._link_connector(session, row, data)
        return row

    def apply(self, session: Session, row: StackComponent, data: dict, actor: Actor) -> None:
        if row.name == DEFAULT and row.type in PROTECTED_TYPES:
            raise IllegalOperation(f"The default {row.type} cannot be modified.")
        if data.get("configuration") is not None:
            self._check_flavor(session, row.type, row.flavor, data["configuration"], row.name)
        changes = {k: v for k, v in self.columns_of(data).items() if k not in ("type", "flavor", "connector_id")}
        for key, value in changes.items():
            if value is not None:
                setattr(row, key, value)
        # as ZenML: an update without a connector unlinks the connector
        self._link_connector(session, row, data)

    def _link_connector(self, session: Session, row: StackComponent, data: dict) -> None:
        from store.connectors import ServiceConnector

        connector_id = data.get("connector")
        if connector_id is None:
            row.connector_id, row.connector_resource_id = None, None
            return
        if session.get(ServiceConnector, connector_id) is None:
            raise NotFound(f"Service connector with ID {connector_id} not found.")
        row.connector_id = connector_id
        row.connector_resource_id = data.get("connector_resource_id")

    def _check_flavor(self, session: Session, type_: str, flavor: str, config: dict, name: str) -> None:
        spec = session.scalars(select(Flavor).where(Flavor.name == flavor, Flavor.type == type_).limit(1)).first()
        if spec is None:
            raise NotFound(
                f"Unable to get {type_} flavor '{flavor}': No flavor with this name and type found."
            )
        if name == DEFAULT and type_ in PROTECTED_TYPES:
            return
        schema = spec.config_schema or {}
        missing = [key for key in schema.get("required", []) if key not in config]
        if missing:
            raise BadRequest(
                f"Invalid configuration for the '{flavor}' {type_} flavor: "
                f"missing required field(s) {', '.join(missing)}."
            )

    def check_unique(self, session: Session, row: StackComponent, action: str) -> None:
        with session.no_autoflush:
            clash = session.scalar(
                select(StackComponent.id).where(
                    StackComponent.name == row.name,
                    StackComponent.type == row.type,
                    StackComponent.workspace_id == row.workspace_id,
                    StackComponent.id != row.id if row.id else True,
                ).limit(1)
            )
        if clash is not None:
            workspace = session.get(Workspace, row.workspace_id)
            raise StackComponentExists(
                f"Unable to register '{row.type}' component with name "
                f"'{row.name}': Found an existing component with the same "
                f"name and type in the same workspace '{workspace.name}'."
            )

    def before_delete(self, session: Session, row: StackComponent, actor: Actor) -> None:
        if row.name == DEFAULT and row.type in PROTECTED_TYPES:
            raise IllegalOperation(f"The default {row.type} cannot be deleted.")
        if row.stacks:
            raise IllegalOperation(
                f"Stack Component `{row.name}` of type `{row.type}` cannot be "
                f"deleted as it is part of {len(row.stacks)} stacks. Before "
                f"deleting this stack component, make sure to remove it from "
                f"all stacks."
            )


COMPONENTS = ComponentResource()


def _present_connector(connector) -> dict | None:
    if connector is None:
        return None
    from store.connectors import CONNECTORS

    return CONNECTORS.present(connector, hydrate=False)


# --- stacks --------------------------------------------------------------


def _with_component(op: str, value: str):
    return Stack.id.in_(
        select(stack_composition.c.stack_id).where(stack_composition.c.component_id == parse_uuid(value))
    )


class StackResource(Resource):
    noun = "stack"
    table = Stack
    extra_filters = {"description": Kind.STRING}

    def filters(self) -> dict[str, FilterField]:
        fields = super().filters()
        fields["component_id"] = FilterField(Kind.UUID, None, sortable=False, always=True, custom=_with_component)
        return fields

    def metadata(self, row: Stack) -> dict:
        components: dict[str, list] = {}
        rows = sorted(row.components, key=lambda c: c.type)
        for component in COMPONENTS.present_many(_session_of(row), rows, hydrate=False):
            components.setdefault(component["body"]["type"], []).append(component)
        return {
            "components": components,
            "description": row.description,
            "stack_spec_path": row.stack_spec_path,
            "labels": row.labels,
        }

    def build(self, session: Session, data: dict, actor: Actor) -> Stack:
        row = super().build(session, data, actor)
        row.labels = data.get("labels") or {}
        row.components = self._components(session, data.get("components") or {}, row.workspace_id)
        types = {c.type for c in row.components}
        if not {"orchestrator", "artifact_store"} <= types:
            raise BadRequest("A stack must contain an orchestrator and an artifact store.")
        if data.get("service_connectors"):
            raise BadRequest("Creating service connectors together with a stack is not supported; create them first.")
        return row

    def apply(self, session: Session, row: Stack, data: dict, actor: Actor) -> None:
        if row.name == DEFAULT:
            raise IllegalOperation("The default stack cannot be modified.")
        super().apply(session, row, data, actor)
        if data.get("components"):
            components = self._components(session, data["components"], row.workspace_id)
            if not {"orchestrator", "artifact_store"} <= {c.type for c in components}:
                raise BadRequest("A stack must contain an orchestrator and an artifact store.")
            row.components = components

    def _components(self, session: Session, by_type: dict, workspace_id) -> list[StackComponent]:
        chosen: list[StackComponent] = []
        for type_, ids in by_type.items():
            if type_ not in COMPONENT_TYPES:
                raise BadRequest(f"Unknown stack component type '{type_}'.")
            ids = ids or []
            if len(ids) > 1:
                raise BadRequest(f"A stack can contain at most one {type_} component.")
            for value in ids:
                if not isinstance(value, (str, uuid.UUID)):
                    raise BadRequest(
                        "Creating components together with a stack is not supported; "
                        "pass the IDs of existing components."
                    )
                component = session.get(StackComponent, parse_uuid(value))
                if component is None:
                    raise NotFound(f"Unable to get stack component with ID '{value}': not found.")
                if component.type != type_:
                    raise BadRequest(f"Component '{component.name}' is a {component.type}, not a {type_}.")
                chosen.append(component)
        return chosen

    def check_unique(self, session: Session, row: Stack, action: str) -> None:
        try:
            super().check_unique(session, row, action)
        except EntityExists:
            workspace = session.get(Workspace, row.workspace_id)
            raise StackExists(
                f"Unable to register stack with name '{row.name}': Found an "
                f"existing stack with the same name in the active workspace, "
                f"'{workspace.name}'."
            ) from None

    def before_delete(self, session: Session, row: Stack, actor: Actor) -> None:
        if row.name == DEFAULT:
            raise IllegalOperation("The default stack cannot be deleted.")


STACKS = StackResource()


def _session_of(row: Any) -> Session:
    from sqlalchemy.orm import object_session

    return object_session(row)


def create_default_stack(session: Session, workspace_id) -> None:
    """The `default` stack of a workspace: local orchestrator and artifact store."""
    if session.scalar(select(exists().where(Stack.workspace_id == workspace_id, Stack.name == DEFAULT))):
        return
    components = [
        StackComponent(name=DEFAULT, type=type_, flavor="local", configuration={}, workspace_id=workspace_id)
        for type_ in PROTECTED_TYPES
    ]
    session.add_all(components)
    session.add(Stack(name=DEFAULT, description="", labels={}, workspace_id=workspace_id, components=components))
    session.flush()


def count_in_workspace(table):
    def count(session: Session, workspace_id) -> int:
        from sqlalchemy import func

        return session.scalar(select(func.count()).select_from(table).where(table.workspace_id == workspace_id)) or 0

    return count


STATISTICS["stacks"] = count_in_workspace(Stack)
STATISTICS["components"] = count_in_workspace(StackComponent)


def sync_flavors(db, actor: Actor) -> int:
    """`PATCH /flavors/sync`: refresh the built-in flavors (admins only)."""
    if not actor.is_admin:
        raise IllegalOperation("Only admin users can sync the flavors.")
    with db.unit_of_work() as session:
        return sync_builtin_flavors(session)
