"""Template runs: start one, read (or follow) its log, cancel it.

The first two are the operations ZenML registers only when a workload
manager is configured, so the published 0.66.0 contract lacks them; the
cancel route is Zenyard's own. All three are declared in `/openapi.json`
(`OWN_OPERATIONS` lists them for the contract checks).
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Iterator

from flask import Response, request, stream_with_context
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, fields

from blueprints.context import actor, db, settings
from blueprints.contract import endpoint, json_reply
from schemas import contract
from store import workloads as store
from store.errors import InvalidInput
from tasks import template_runs as tasks

TEMPLATE_RUNS = "/api/v1/run_templates/{template_id}/runs"
DEPLOYMENT_LOGS = "/api/v1/pipeline_deployments/{deployment_id}/logs"
CANCEL = "/api/v1/runs/{run_id}/cancel"
OWN_OPERATIONS = (("POST", TEMPLATE_RUNS), ("GET", DEPLOYMENT_LOGS), ("PUT", CANCEL))

#: How often `?follow=true` looks for new lines.
FOLLOW_POLL_SECONDS = 0.5


class StepConfigurationUpdate(Schema):
    """ZenML's StepConfigurationUpdate (a step's part of a run configuration)."""

    class Meta:
        unknown = RAISE
        ordered = True

    name = fields.String(allow_none=True)
    enable_cache = fields.Boolean(allow_none=True)
    enable_artifact_metadata = fields.Boolean(allow_none=True)
    enable_artifact_visualization = fields.Boolean(allow_none=True)
    enable_step_logs = fields.Boolean(allow_none=True)
    step_operator = fields.String(allow_none=True)
    experiment_tracker = fields.String(allow_none=True)
    parameters = fields.Dict()
    settings = fields.Dict()
    extra = fields.Dict()
    failure_hook_source = fields.Raw(allow_none=True)
    success_hook_source = fields.Raw(allow_none=True)
    model = fields.Dict(allow_none=True)
    retry = fields.Dict(allow_none=True)
    outputs = fields.Dict()


class PipelineRunConfiguration(Schema):
    """ZenML's PipelineRunConfiguration: what a template run may change."""

    class Meta:
        unknown = RAISE
        ordered = True

    run_name = fields.String(allow_none=True)
    enable_cache = fields.Boolean(allow_none=True)
    enable_artifact_metadata = fields.Boolean(allow_none=True)
    enable_artifact_visualization = fields.Boolean(allow_none=True)
    enable_step_logs = fields.Boolean(allow_none=True)
    schedule = fields.Dict(allow_none=True)
    build = fields.Raw(allow_none=True)
    steps = fields.Dict(keys=fields.String(), values=fields.Nested(StepConfigurationUpdate))
    settings = fields.Dict()
    extra = fields.Dict()
    model = fields.Dict(allow_none=True)
    parameters = fields.Dict(allow_none=True)
    retry = fields.Dict(allow_none=True)
    failure_hook_source = fields.Raw(allow_none=True)
    success_hook_source = fields.Raw(allow_none=True)


# The contract has no component for the request body of this operation;
# `endpoint` (and the bad-input tests) find request components by name there.
contract.register("PipelineRunConfiguration", PipelineRunConfiguration)

blp = Blueprint("template_runs", __name__, description="Template runs executed by the workers.")


def _uuid(value: Any, name: str) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise InvalidInput(f"Path parameter '{name}' is not a valid UUID: {value!r}") from None


def _offset() -> int:
    raw = request.args.get("offset", "0")
    try:
        offset = int(raw)
    except ValueError:
        raise InvalidInput(f"query.offset: Not a valid integer: {raw!r}") from None
    if offset < 0:
        raise InvalidInput("query.offset: Must be greater than or equal to 0.")
    return offset


def _follow() -> bool:
    raw = request.args.get("follow", "false").strip().lower()
    if raw not in ("true", "false", "1", "0", "yes", "no"):
        raise InvalidInput(f"query.follow: Not a valid boolean: {raw!r}")
    return raw in ("true", "1", "yes")


@endpoint(blp, "POST", TEMPLATE_RUNS, body="PipelineRunConfiguration")
def create_template_run(template_id, body: dict) -> Any:
    """Run a pipeline from a template (answers the placeholder run)."""
    conf = settings()
    return store.start_template_run(
        db(), _uuid(template_id, "template_id"), body, actor(),
        allow_local=conf["TEMPLATES_ALLOW_LOCAL_COMPONENTS"], server_url=conf["SERVER_URL"],
        enqueue=tasks.enqueue,
    )


@endpoint(blp, "GET", DEPLOYMENT_LOGS)
def get_deployment_logs(deployment_id) -> Any:
    """Get the logs of a deployment run from a template (`?offset=`, `?follow=true`)."""
    deployment_id = _uuid(deployment_id, "deployment_id")
    offset, follow = _offset(), _follow()
    database = db()
    workload = store.workload_of_deployment(database, deployment_id)
    if not follow:
        text, end, _ = store.read_log(database, workload["id"], offset)
        response = json_reply(text)
        response.headers["X-Zenyard-Log-Offset"] = str(end)
        return response
    return Response(stream_with_context(_follow_log(database, workload["id"], offset)), mimetype="text/plain")


def _follow_log(database, workload_id, offset: int) -> Iterator[str]:
    """New lines as they are written, until the workload has ended."""
    while True:
        text, offset, state = store.read_log(database, workload_id, offset)
        if text:
            yield text
        if state in store.FINAL:
            text, offset, _ = store.read_log(database, workload_id, offset)  # what came with the end
            if text:
                yield text
            return
        time.sleep(FOLLOW_POLL_SECONDS)


@endpoint(blp, "PUT", CANCEL)
def cancel_run(run_id) -> Any:
    """Cancel a template run: a queued one at once, a running one's container within seconds."""
    return store.request_cancel(db(), _uuid(run_id, "run_id"), actor())


BLUEPRINTS = (blp,)
