"""HTTP: one flask-smorest blueprint per ZenML router."""

from __future__ import annotations

from flask_smorest import Api

from blueprints import auth, connectors, secrets, server, stacks, users, workspaces
from blueprints import runs
from blueprints import pipelines
from blueprints import models
from blueprints import artifacts, run_metadata, tags

BLUEPRINTS = (server.blp, auth.blp, users.blp, workspaces.blp, *stacks.BLUEPRINTS, *secrets.BLUEPRINTS, *connectors.BLUEPRINTS,
              *pipelines.BLUEPRINTS,
              *runs.BLUEPRINTS, *models.BLUEPRINTS,
              *artifacts.BLUEPRINTS, *run_metadata.BLUEPRINTS, *tags.BLUEPRINTS)


def register_blueprints(api: Api) -> None:
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
