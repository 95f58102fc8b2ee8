"""Run templates with the stock client.

A template is made from a deployment that has a build whose stack has no
local components. A run on the default stack (local orchestrator) leaves a
deployment without a build, the refused case. For the accepted case the
scenario registers a remote stack (a Kubernetes orchestrator and an S3
artifact store, never used to run anything), records a build of it as a
remote builder would (`zen_store.create_build`, an image for the
orchestrator), and creates a deployment with the real run's configuration
that references that build: 0.66.0's client has no other way to attach a
build to a deployment without running on a remote stack.
"""

from __future__ import annotations

import uuid

import pytest

from tests.compat.scenario_code import REMOTE_TEMPLATE

pytestmark = pytest.mark.compat

TEMPLATES = """
from zenml.client import Client
from zenml.enums import StackComponentType as T

p = params
""" + REMOTE_TEMPLATE + """

def template_view(t):
    return {
        "name": t.name,
        "description": t.description,
        "runnable": t.runnable,
        "tags": sorted(x.name for x in t.tags),
        "build": str(t.build.id) if t.build else None,
        "source_deployment": str(t.source_deployment.id) if t.source_deployment else None,
        "pipeline": t.pipeline.name if t.pipeline else None,
        "latest_run_id": str(t.latest_run_id) if t.latest_run_id else None,
        "config_steps": sorted((t.config_template or {}).get("steps", {})),
        "config_run_name": (t.config_template or {}).get("run_name"),
        "spec_steps": [s.pipeline_parameter_name for s in t.pipeline_spec.steps] if t.pipeline_spec else None,
    }


def names_of(page):
    return {"total": page.total, "names": [t.name for t in page.items]}


# the local orchestrator imports this file again to load the steps
if __name__ == "__main__":
    client = Client()
    run = greeting()
    source = client.get_deployment(run.deployment_id)
    result["run_build"] = str(source.build.id) if source.build else None

    # refusals: no build, a stack with local components, no deployment at all
    result["no_build"] = raises(client.create_run_template, p["template"], deployment_id=source.id)
    local_build = build_for(client, client.active_stack_model.id, source.pipeline.id, p["image"])
    local = deployment_with(client, source, client.active_stack_model.id, local_build.id)
    result["local_stack"] = raises(client.create_run_template, p["template"], deployment_id=local.id)
    result["no_deployment"] = raises(client.create_run_template, p["template"], deployment_id=p["missing_id"])

    # a remote stack, a build of it, a deployment with that build
    orchestrator = component(client, p["orchestrator"], T.ORCHESTRATOR, "kubernetes", {})
    store = component(client, p["store"], T.ARTIFACT_STORE, "s3", {"path": "s3://zenyard-compat/artifacts"})
    stack = client.create_stack(p["stack"], {T.ORCHESTRATOR: orchestrator.id, T.ARTIFACT_STORE: store.id})
    build = build_for(client, stack.id, source.pipeline.id, p["image"])
    deployment = deployment_with(client, source, stack.id, build.id)
    result["ids"] = {"build": str(build.id), "deployment": str(deployment.id), "stack": str(stack.id),
                     "pipeline": str(source.pipeline.id)}

    created = client.create_run_template(p["template"], deployment_id=deployment.id, description="first",
                                         tags=[p["tag"]])
    result["created"] = template_view(created)
    result["fetched"] = template_view(client.get_run_template(p["template"]))
    result["duplicate"] = raises(client.create_run_template, p["template"], deployment_id=deployment.id)
    client.create_run_template(p["other"], deployment_id=deployment.id)

    mine = "contains:" + p["prefix"]
    result["lists"] = {
        "mine": names_of(client.list_run_templates(name=mine, sort_by="asc:created")),
        "desc_page_2": names_of(client.list_run_templates(name=mine, sort_by="desc:created", size=1, page=2)),
        "by_name": names_of(client.list_run_templates(name=p["template"])),
        "by_tag": names_of(client.list_run_templates(tag=p["tag"])),
        "by_build": names_of(client.list_run_templates(build_id=build.id, sort_by="asc:created")),
        "by_stack": names_of(client.list_run_templates(stack_id=stack.id, sort_by="asc:created")),
        "by_pipeline": names_of(client.list_run_templates(pipeline_id=source.pipeline.id, sort_by="asc:created")),
        "other_build": names_of(client.list_run_templates(build_id=local_build.id)),
    }

    updated = client.update_run_template(p["template"], name=p["renamed"], description="second",
                                         add_tags=[p["tag2"]], remove_tags=[p["tag"]])
    result["updated"] = template_view(updated)
    result["fetched_after_update"] = template_view(client.get_run_template(created.id))
    # not `get_run_template(old name)`: 0.66.0's client then looks for an id
    # prefix through `list_run_templates(id=...)`, which it does not accept (TypeError)
    result["old_name"] = names_of(client.list_run_templates(name=p["template"]))
    result["by_old_tag"] = names_of(client.list_run_templates(tag=p["tag"]))

    client.delete_run_template(p["renamed"])
    result["deleted"] = raises(client.get_run_template, created.id)
    result["delete_again"] = raises(client.zen_store.delete_run_template, created.id)
    result["left"] = names_of(client.list_run_templates(name=mine))
    # the deployment and its build outlive the template
    result["deployment_kept"] = client.get_deployment(deployment.id).build.id == build.id
"""


@pytest.fixture(scope="module")
def templates(zenml_client):
    prefix = f"tpl-{uuid.uuid4().hex[:8]}"
    names = {
        "prefix": prefix,
        "pipeline": f"{prefix}-pipeline",
        "template": f"{prefix}-nightly",
        "other": f"{prefix}-weekly",
        "renamed": f"{prefix}-renamed",
        "tag": f"{prefix}-tag",
        "tag2": f"{prefix}-tag2",
        "orchestrator": f"{prefix}-k8s",
        "store": f"{prefix}-s3",
        "stack": f"{prefix}-remote",
        "image": f"registry.example.com/zenyard/{prefix}:1",
        "missing_id": str(uuid.uuid4()),
    }
    return names, zenml_client.run(TEMPLATES, timeout=300, **names)


def _type(info):
    return info["type"] if info else None


def test_a_deployment_without_build_is_refused(templates):
    _, out = templates
    assert out["run_build"] is None  # the local orchestrator needs no image
    refused = out["no_build"]
    assert _type(refused) == "builtins.ValueError", refused
    assert refused["message"] == "Unable to create run template as there is no associated build.", refused


def test_a_build_of_a_local_stack_is_refused(templates):
    _, out = templates
    refused = out["local_stack"]
    assert _type(refused) == "builtins.ValueError", refused
    assert refused["message"] == "Unable to create run template as the associated stack contains local components."


def test_a_missing_deployment_is_refused(templates):
    names, out = templates
    refused = out["no_deployment"]
    assert _type(refused) == "builtins.ValueError", refused
    assert refused["message"] == f"Source deployment {names['missing_id']} not found.", refused


def test_a_template_from_a_deployment_with_a_build(templates):
    names, out = templates
    ids = out["ids"]
    for view in (out["created"], out["fetched"]):
        assert view == {
            "name": names["template"],
            "description": "first",
            "runnable": True,
            "tags": [names["tag"]],
            "build": ids["build"],
            "source_deployment": ids["deployment"],
            "pipeline": names["pipeline"],
            "latest_run_id": None,
            "config_steps": ["greet"],
            "config_run_name": names["pipeline"] + "-{date}-{time}",  # the deployment's run name template
            "spec_steps": ["greet"],
        }, view


def test_a_duplicate_name_is_refused(templates):
    _, out = templates
    duplicate = out["duplicate"]
    assert _type(duplicate) == "zenml.exceptions.EntityExistsError", duplicate
    assert "A run template with this name already exists." in duplicate["message"], duplicate


def test_templates_list_and_filter(templates):
    names, out = templates
    both = [names["template"], names["other"]]
    lists = out["lists"]
    assert lists["mine"] == {"total": 2, "names": both}
    assert lists["desc_page_2"] == {"total": 2, "names": [names["template"]]}
    assert lists["by_name"] == {"total": 1, "names": [names["template"]]}
    assert lists["by_tag"] == {"total": 1, "names": [names["template"]]}
    assert lists["by_build"]["names"] == both
    assert lists["by_stack"]["names"] == both
    assert lists["by_pipeline"]["names"] == both
    assert lists["other_build"]["total"] == 0


def test_a_template_is_renamed_and_retagged(templates):
    names, out = templates
    for view in (out["updated"], out["fetched_after_update"]):
        assert view["name"] == names["renamed"], view
        assert view["description"] == "second"
        assert view["tags"] == [names["tag2"]]
        assert view["build"] == out["ids"]["build"]
    assert out["old_name"] == {"total": 0, "names": []}
    assert out["by_old_tag"]["total"] == 0


def test_a_template_is_deleted(templates):
    names, out = templates
    assert _type(out["deleted"]) == "builtins.KeyError", out["deleted"]
    assert _type(out["delete_again"]) == "builtins.KeyError", out["delete_again"]
    assert out["left"] == {"total": 1, "names": [names["other"]]}
    assert out["deployment_kept"] is True
