"""The event-source and action flavors that a plain zenml 0.66.0 install
knows: the `github` and `bitbucket` webhook event sources (the plugins of
those two integrations) and the `builtin` pipeline-run action.

What each flavor accepts (its configuration, a trigger's event filter) and
how a delivery is read, checked and matched. No database here; the
use cases are in `store.triggers` and `store.webhooks`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Mapping
from urllib.parse import parse_qs

from marshmallow import EXCLUDE, INCLUDE, Schema, ValidationError, fields, validate

from store.errors import BadRequest, NotAuthorized, NotFound

EVENT_SOURCE = "event_source"
ACTION = "action"

#: (flavor, subtype) of each plugin, by plugin type, as ZenML registers them
GITHUB_WEBHOOK = ("github", "webhook")
BITBUCKET_WEBHOOK = ("bitbucket", "webhook")
PIPELINE_RUN = ("builtin", "pipeline_run")
FLAVORS = {EVENT_SOURCE: {GITHUB_WEBHOOK, BITBUCKET_WEBHOOK}, ACTION: {PIPELINE_RUN}}

#: What ZenML stores with a GitHub event source but never shows.
HIDDEN_SOURCE_FIELDS = ("webhook_secret", "webhook_secret_id", "rotate_secret")
#: The fields a create request may not set: the server generates the secret.
SERVER_SET_SOURCE_FIELDS = HIDDEN_SOURCE_FIELDS

#: ZenML's default auth window of a pipeline-run action, in minutes (48 h).
PIPELINE_RUN_AUTH_WINDOW = 60 * 48



def check_flavor(plugin_type: str, flavor: str, subtype: str) -> None:
    """NotFound (ZenML's KeyError, 404) for a flavor no plugin provides."""
    if (flavor, subtype) not in FLAVORS[plugin_type]:
        raise NotFound(
            f"No flavor found for flavor name {flavor} and type {plugin_type} and subtype {subtype}."
        )


def _problems(err: ValidationError) -> str:
    return json.dumps(err.normalized_messages(), sort_keys=True)


def _without_none(values: Mapping[str, Any]) -> dict:
    return {key: value for key, value in values.items() if value is not None}


# --- the webhook event sources --------------------------------------------------


class WebhookSourceConfig(Schema):
    """ZenML's Github/BitbucketWebhookEventSourceConfiguration (the same
    fields; other keys are dropped)."""

    class Meta:
        unknown = EXCLUDE

    webhook_secret = fields.String(allow_none=True)
    webhook_secret_id = fields.UUID(allow_none=True)
    rotate_secret = fields.Boolean(allow_none=True)


@lru_cache(maxsize=None)
def _filter_schema(event_types: tuple[str, ...]) -> type[Schema]:
    """ZenML's <Flavor>WebhookEventFilterConfiguration: the same three
    fields, with the event types of the flavor."""
    return Schema.from_dict(
        {
            "repo": fields.String(allow_none=True),
            "branch": fields.String(allow_none=True),
            "event_type": fields.String(allow_none=True, validate=validate.OneOf(event_types)),
        },
        name="WebhookFilterConfig",
    )


def source_configuration(configuration: Any) -> dict:
    """A webhook event source configuration as ZenML stores it: known fields
    that are set (the secret id as a string); 400 when malformed."""
    if not isinstance(configuration, dict):
        raise BadRequest("Invalid configuration for event source: the configuration must be an object.")
    try:
        loaded = WebhookSourceConfig().load(configuration)
    except ValidationError as err:
        raise BadRequest(f"Invalid configuration for event source: {_problems(err)}.") from None
    loaded = _without_none(loaded)
    if "webhook_secret_id" in loaded:
        loaded["webhook_secret_id"] = str(loaded["webhook_secret_id"])
    return loaded


def check_new_source_configuration(config: dict) -> None:
    """The fields a create request may not set (ZenML's words)."""
    for name in SERVER_SET_SOURCE_FIELDS:
        if name in config:
            raise BadRequest(f"The `{name}` field is not allowed in the event source request.")


def shown_source_configuration(config: Mapping[str, Any] | None) -> dict:
    return {key: value for key, value in (config or {}).items() if key not in HIDDEN_SOURCE_FIELDS}


def event_filter(flavor: str, configuration: Any) -> dict:
    """A trigger's event filter, validated by its source's flavor (400 when malformed)."""
    if not isinstance(configuration, dict):
        raise BadRequest("Invalid configuration for event filter: the filter must be an object.")
    try:
        return _without_none(WEBHOOKS[flavor].filter_schema().load(configuration, unknown=EXCLUDE))
    except ValidationError as err:
        raise BadRequest(f"Invalid configuration for event filter: {_problems(err)}.") from None


# --- reading a delivery ------------------------------------------------------------


class _Nested(Schema):
    class Meta:
        unknown = EXCLUDE


class GithubUser(_Nested):
    name = fields.String(required=True)
    email = fields.String(required=True)
    username = fields.String(required=True)


class GithubCommit(_Nested):
    id = fields.String(required=True)
    message = fields.String(required=True)
    url = fields.String(required=True)
    author = fields.Nested(GithubUser, required=True)


class GithubTag(_Nested):
    id = fields.String(required=True)
    name = fields.String(required=True)
    commit = fields.Nested(GithubCommit, required=True)


class GithubPullRequest(_Nested):
    id = fields.String(required=True)
    number = fields.Integer(required=True)
    title = fields.String(required=True)
    author = fields.Nested(GithubUser, required=True)
    merged = fields.Boolean(required=True)
    merge_commit = fields.Nested(GithubCommit, required=True)


class GithubRepository(_Nested):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    full_name = fields.String(required=True)
    html_url = fields.String(required=True)


class GithubEvent(Schema):
    """ZenML's GithubEvent: what a GitHub delivery must hold to reach the triggers."""

    class Meta:
        unknown = INCLUDE

    ref = fields.String(required=True)
    before = fields.String(required=True)
    after = fields.String(required=True)
    repository = fields.Nested(GithubRepository, required=True)
    commits = fields.List(fields.Nested(GithubCommit), required=True)
    head_commit = fields.Nested(GithubCommit, allow_none=True)
    tags = fields.List(fields.Nested(GithubTag), allow_none=True)
    pull_requests = fields.List(fields.Nested(GithubPullRequest), allow_none=True)


class BitbucketUser(_Nested):
    name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    username = fields.String(allow_none=True)


class BitbucketCommit(_Nested):
    hash = fields.String(required=True)
    message = fields.String(required=True)
    links = fields.Dict(required=True)
    author = fields.Nested(BitbucketUser, required=True)


class BitbucketRepository(_Nested):
    uuid = fields.String(required=True)
    name = fields.String(required=True)
    full_name = fields.String(required=True)
    links = fields.Dict(required=True)


class BitbucketChange(_Nested):
    new = fields.Dict(allow_none=True)
    old = fields.Dict(allow_none=True)
    commits = fields.List(fields.Nested(BitbucketCommit), required=True)


class BitbucketPush(_Nested):
    changes = fields.List(fields.Nested(BitbucketChange), required=True)


class BitbucketEvent(Schema):
    """ZenML's BitbucketEvent (a `repo:push` delivery)."""

    class Meta:
        unknown = INCLUDE

    actor = fields.Nested(BitbucketUser, required=True)
    repository = fields.Nested(BitbucketRepository, required=True)
    push = fields.Nested(BitbucketPush, required=True)


def verify_signature(raw_body: bytes, headers: Mapping[str, str], secret: str) -> None:
    """GitHub's `X-Hub-Signature-256`: HMAC-SHA256 of the body with the
    source's secret; 401 (AuthorizationException) when missing or wrong."""
    signature = headers.get("x-hub-signature-256") or headers.get("x-hub-signature")
    if not signature:
        raise NotAuthorized("x-hub-signature-256 or x-hub-signature header is missing!")
    expected = "sha256=" + hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        raise NotAuthorized("Webhook signature verification failed!")


def load_payload(raw_body: bytes, headers: Mapping[str, str]) -> Any:
    """The delivery's JSON; GitHub may send it form-encoded as `payload=`."""
    if headers.get("content-type", "").split(";")[0].strip() == "application/x-www-form-urlencoded":
        try:
            raw_body = parse_qs(raw_body.decode("utf-8")).get("payload", [""])[0].encode("utf-8")
        except UnicodeDecodeError as err:
            raise BadRequest(f"Invalid JSON body received: {err}") from None
    try:
        return json.loads(raw_body)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise BadRequest(f"Invalid JSON body received: {err}") from None


def github_branch(event: Mapping[str, Any]) -> str | None:
    ref = event["ref"]
    return "/".join(ref.split("/")[2:]) if ref.startswith("refs/heads/") else None


def github_event_type(event: Mapping[str, Any]) -> str:
    ref = event["ref"]
    if ref.startswith("refs/heads/"):
        return "push_event"
    if ref.startswith("refs/tags/"):
        return "tag_event"
    if event.get("pull_requests"):
        return "pull_request_event"
    return "unknown"


def _changes(event: Mapping[str, Any]) -> list:
    return event["push"]["changes"]


def bitbucket_branch(event: Mapping[str, Any]) -> str | None:
    changes = _changes(event)
    new = (changes[0].get("new") or {}) if changes else {}
    return str(new["name"]) if new.get("name") else None


def bitbucket_event_type(event: Mapping[str, Any]) -> str:
    # ZenML's order: a change with a new head is a push, even a tag's
    changes = _changes(event)
    if all(change.get("new") is not None for change in changes):
        return "push_event"
    if all(change["new"].get("type") == "tag" for change in changes if change.get("new")):
        return "tag_event"
    return "unknown"


@dataclass(frozen=True)
class WebhookFlavor:
    """How one webhook flavor reads a delivery and matches a filter."""

    event_schema: type[Schema]
    event_types: tuple[str, ...]
    event_type: Callable[[Mapping[str, Any]], str]
    branch: Callable[[Mapping[str, Any]], str | None]

    def filter_schema(self) -> Schema:
        return _filter_schema(self.event_types)()


WEBHOOKS = {
    "github": WebhookFlavor(GithubEvent, ("push_event", "tag_event", "pull_request_event"),
                            github_event_type, github_branch),
    "bitbucket": WebhookFlavor(BitbucketEvent, ("push_event", "tag_event"), bitbucket_event_type, bitbucket_branch),
}


def read_event(flavor: str, payload: Any) -> dict:
    """The delivery as an event of the flavor, or 400 as ZenML refuses it."""
    if not isinstance(payload, dict):
        raise BadRequest("Event did not match the pydantic model.")
    try:
        WEBHOOKS[flavor].event_schema().load(payload)
    except ValidationError:
        raise BadRequest("Event did not match the pydantic model.") from None
    return payload


def filter_matches(flavor: str, stored_filter: Mapping[str, Any] | None, event: Mapping[str, Any]) -> bool:
    """Whether a trigger's filter lets `event` through (unset fields match
    anything); a filter that no longer validates matches nothing."""
    webhook = WEBHOOKS[flavor]
    try:
        wanted = webhook.filter_schema().load(dict(stored_filter or {}), unknown=EXCLUDE)
    except ValidationError:
        return False
    if wanted.get("event_type") and webhook.event_type(event) != wanted["event_type"]:
        return False
    if wanted.get("repo") and event["repository"]["full_name"] != wanted["repo"]:
        return False
    if wanted.get("branch") and webhook.branch(event) != wanted["branch"]:
        return False
    return True


# --- the pipeline-run action ---------------------------------------------------


def _run_configuration_schema() -> Schema:
    # ZenML's PipelineRunConfiguration, as the template-run route reads it:
    # one definition for both ways of running a template
    from blueprints.template_runs import PipelineRunConfiguration

    return PipelineRunConfiguration()


class PipelineRunActionConfig(Schema):
    """ZenML's PipelineRunActionConfiguration."""

    class Meta:
        unknown = EXCLUDE

    template_id = fields.UUID(required=True)
    run_config = fields.Nested(_run_configuration_schema, allow_none=True)


def action_configuration(configuration: Any) -> dict:
    """A pipeline-run action configuration as stored: the template id (a
    string) and the run configuration's fields that are set; 400 when
    malformed or when the run configuration sets what a server run may not."""
    from store.workloads import check_run_configuration

    if not isinstance(configuration, dict):
        raise BadRequest("Invalid configuration for action: the configuration must be an object.")
    try:
        loaded = PipelineRunActionConfig().load(configuration)
    except ValidationError as err:
        raise BadRequest(f"Invalid configuration for action: {_problems(err)}.") from None
    stored: dict[str, Any] = {"template_id": str(loaded["template_id"])}
    run_config = loaded.get("run_config")
    if run_config is not None:
        run_config = _without_none(run_config)
        check_run_configuration(run_config)
        stored["run_config"] = run_config
    return stored


def template_of(config: Mapping[str, Any]) -> uuid.UUID:
    return uuid.UUID(str(config["template_id"]))
