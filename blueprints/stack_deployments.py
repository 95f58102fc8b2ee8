"""Stack deployment: deploy a ZenML stack to a cloud from its console."""

from __future__ import annotations

from typing import Any

from flask import g, request
from flask_smorest import Blueprint

from blueprints.auth import issue_token
from blueprints.context import actor, db
from blueprints.contract import endpoint
from store import stack_deployments

blp = Blueprint("stack_deployment", __name__, description="Cloud stack deployment.")

#: Lifetime of the token a deployment registers its stack with (ZenML: 6 h).
DEPLOYMENT_TOKEN_MINUTES = 6 * 60


@endpoint(blp, "GET", "/api/v1/stack-deployment/info")
def get_stack_deployment_info(query: dict) -> Any:
    """Get information about a stack deployment provider."""
    return stack_deployments.deployment_info(query["provider"])


@endpoint(blp, "GET", "/api/v1/stack-deployment/config")
def get_stack_deployment_config(query: dict) -> Any:
    """Get the cloud console URL and configuration that deploy a stack."""
    # the deployment calls back this server, as the caller, for six hours
    token, _ = issue_token(
        actor().id,
        minutes=DEPLOYMENT_TOKEN_MINUTES,
        device_id=g.token_claims.get("device_id"),
        api_key_id=g.token_claims.get("api_key_id"),
    )
    server_url = "https://" + request.host
    return stack_deployments.deployment_config(
        query["provider"], query["stack_name"], query.get("location"), bool(query.get("terraform")),
        server_url, token,
    )


@endpoint(blp, "GET", "/api/v1/stack-deployment/stack")
def get_deployed_stack(query: dict) -> Any:
    """Get the stack a deployment registered, or null while there is none."""
    return stack_deployments.deployed_stack(
        db(), query["provider"], bool(query.get("terraform")), query.get("date_start"), actor(),
    )


BLUEPRINTS = (blp,)
