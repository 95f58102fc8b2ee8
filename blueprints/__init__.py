"""HTTP: one flask-smorest blueprint per ZenML router."""

from __future__ import annotations

from flask_smorest import Api

from blueprints import artifacts, auth, models, run_metadata, runs, server, stacks, tags, users, workspaces

BLUEPRINTS = (
    server.blp,
    auth.blp,
    users.blp,
    workspaces.blp,
    *stacks.BLUEPRINTS,
    *runs.BLUEPRINTS,
    *models.BLUEPRINTS,
    *artifacts.BLUEPRINTS,
    *run_metadata.BLUEPRINTS,
    *tags.BLUEPRINTS,
)


def register_blueprints(api: Api) -> None:
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
