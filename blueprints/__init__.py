"""HTTP: one flask-smorest blueprint per ZenML router."""

from __future__ import annotations

from flask_smorest import Api

from blueprints import auth, server, stacks, users, workspaces

BLUEPRINTS = (server.blp, auth.blp, users.blp, workspaces.blp, *stacks.BLUEPRINTS)


def register_blueprints(api: Api) -> None:
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
