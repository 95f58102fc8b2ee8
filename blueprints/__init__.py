"""HTTP: one flask-smorest blueprint per ZenML router."""

from __future__ import annotations

from flask_smorest import Api

from blueprints import (
    artifacts, auth, connectors, devices, lineage, models, pipelines, plugins, run_metadata, runs, secrets, server,
    service_accounts, services, stack_deployments, stacks, tags, template_runs, triggers, users, workspaces,
)

BLUEPRINTS = (
    server.blp,
    auth.blp,
    users.blp,
    service_accounts.blp,
    devices.blp,
    workspaces.blp,
    *stacks.BLUEPRINTS,
    *secrets.BLUEPRINTS,
    *connectors.BLUEPRINTS,
    *pipelines.BLUEPRINTS,
    *runs.BLUEPRINTS,
    *template_runs.BLUEPRINTS,
    *lineage.BLUEPRINTS,
    *models.BLUEPRINTS,
    *artifacts.BLUEPRINTS,
    *run_metadata.BLUEPRINTS,
    *tags.BLUEPRINTS,
    *services.BLUEPRINTS,
    *plugins.BLUEPRINTS,
    *stack_deployments.BLUEPRINTS,
    *triggers.BLUEPRINTS,
)


def register_blueprints(api: Api) -> None:
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
