"""Stack deployment: ZenML's one-click cloud stacks (AWS, GCP, Azure).

The server never talks to a cloud here, in ZenML either: it describes each
provider, hands out the console URL (and, for some, a configuration to paste)
that deploys a stack which registers itself back with this server through an
API token, and then finds the stack that deployment registered. The texts
and URL templates come from the catalog generated from zenml==0.66.0.
"""

from __future__ import annotations

import secrets
import string
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select

from store import catalog
from store.db import Database
from store.errors import InvalidInput
from store.resources import Actor

#: Stacks looked at when finding a deployed one, newest first (as ZenML).
RECENT_STACKS = 50
#: ZenML's label keys on a stack a deployment registers.
PROVIDER_LABEL = "zenml:provider"
DEPLOYMENT_LABEL = "zenml:deployment"
TERRAFORM = "terraform"


def _provider(provider: str) -> dict:
    found = catalog.stack_deployment(provider)
    if found is None:  # the query schema already limits the providers
        raise InvalidInput(f"Unknown stack deployment provider: {provider!r}")
    return found


def deployment_info(provider: str) -> dict:
    """What the provider's deployment creates, needs and where it can go."""
    return _provider(provider)["info"]


def deployment_config(
    provider: str, stack_name: str, location: str | None, terraform: bool, server_url: str, api_token: str
) -> dict:
    """The console URL (and configuration) that deploys the stack."""
    spec = _provider(provider)
    key = f"{TERRAFORM if terraform else 'default'}/{'location' if location else 'no_location'}"
    values = {
        "stack_name": stack_name,
        "location": location or "",
        "zenml_server_url": server_url,
        "zenml_server_api_token": api_token,
        # a fresh resource name per deployment, as ZenML's six random letters
        "random": "".join(secrets.choice(string.ascii_lowercase) for _ in range(6)),
    }
    placeholders = catalog.stack_deployment_placeholders()

    def fill(text: Any) -> Any:
        if not isinstance(text, str):
            return text
        for what, marker in placeholders.items():
            text = text.replace(marker, values[what])
        return text

    return {field: fill(value) for field, value in spec["configs"][key].items()}


def deployed_stack(
    db: Database, provider: str, terraform: bool, date_start: datetime | None, actor: Actor
) -> dict | None:
    """The newest stack a deployment of `provider` registered after
    `date_start`: labelled with the provider and the deployment type, its
    artifact store linked to a service connector. None when there is none yet.

    ZenML cannot tell the stack by name either (a user may rename it in the
    cloud console); the name and location of the request are not used.
    """
    from store.connectors import CONNECTORS
    from store.stacks import STACKS, Stack
    from store.workspaces import WORKSPACES

    deployment = TERRAFORM if terraform else _provider(provider)["deployment"]
    with db.reading() as session:
        query = STACKS.base_query().order_by(Stack.created.desc(), Stack.id.desc()).limit(RECENT_STACKS)
        # the server's own client lists the stacks of the default workspace
        workspace = session.scalar(select(WORKSPACES.table.id).where(WORKSPACES.table.name == "default"))
        if workspace is not None:
            query = query.where(Stack.workspace_id == workspace)
        if date_start is not None:
            if date_start.tzinfo is not None:
                date_start = date_start.astimezone(timezone.utc).replace(tzinfo=None)
            query = query.where(Stack.created > date_start.replace(microsecond=0))
        for stack in session.scalars(query).unique():
            labels = stack.labels or {}
            if labels.get(PROVIDER_LABEL) != provider or labels.get(DEPLOYMENT_LABEL) != deployment:
                continue
            stores = [c for c in stack.components if c.type == "artifact_store"]
            if not stores or stores[0].connector is None:
                continue
            return {
                "stack": STACKS.present(stack, hydrate=True),
                "service_connector": CONNECTORS.present(stores[0].connector, hydrate=False),
            }
    return None
