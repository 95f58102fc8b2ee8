"""Artifacts, artifact versions, their metadata, tags and visualizations with the stock client.

The artifacts are saved outside any pipeline (`save_artifact`) into the
client's local artifact store; the server reads that store for
visualizations. The scenario ends by pruning every unused artifact, so the
module has a server of its own.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.compat

ARTIFACTS = """
from zenml import load_artifact, log_artifact_metadata, save_artifact
from zenml.client import Client
from zenml.enums import ColorVariants
from zenml.models import TagFilter, TagRequest, TagUpdate
from zenml.types import HTMLString, MarkdownString

c = Client()

# versions: numbered automatically, or named
a = save_artifact([1, 2, 3], name="numbers", tags=["first"])
b = save_artifact([4], name="numbers")
named = save_artifact("x", name="numbers", version="best")
result["versions"] = [a.version, b.version, named.version]
result["auto_after_named"] = save_artifact([5], name="numbers").version
result["loaded"] = load_artifact("numbers", version="2")
result["loaded_latest"] = load_artifact("numbers")
result["latest"] = c.get_artifact("numbers").latest_version_name
result["by_name"] = c.get_artifact_version("numbers", "best").load()
result["duplicate_version"] = raises(save_artifact, [9], name="numbers", version="best")

listed = c.list_artifact_versions(name="numbers", sort_by="asc:created", size=2, page=2)
result["page"] = {"total": listed.total, "pages": listed.total_pages, "versions": [v.version for v in listed.items]}
result["custom_named"] = sorted(a.name for a in c.list_artifacts(has_custom_name=True))

# tags on the artifact and on one version
c.update_artifact("numbers", add_tags=["gold"])
result["artifact_tags"] = sorted(t.name for t in c.get_artifact("numbers").tags)
c.update_artifact_version("numbers", "2", add_tags=["v2", "tmp"])
c.update_artifact_version("numbers", "2", remove_tags=["tmp"])
result["version_tags"] = sorted(t.name for t in c.get_artifact_version("numbers", "2").tags)
result["tagged"] = [v.version for v in c.list_artifact_versions(name="numbers", tag="v2")]
result["first_tagged"] = [v.version for v in c.list_artifact_versions(name="numbers", tag="first")]

# metadata logged after the fact
log_artifact_metadata({"rows": 4, "note": "ok"}, artifact_name="numbers", artifact_version="2")
meta = c.get_artifact_version("numbers", "2").run_metadata
result["metadata"] = {k: v.value for k, v in meta.items()}

# visualizations, which the server reads from the client's artifact store
page = save_artifact(HTMLString("<h1>hi</h1>"), name="page")
notes = save_artifact(MarkdownString("# hi"), name="notes")
result["visual_html"] = c.zen_store.get(f"/artifact_versions/{page.id}/visualize")
result["visual_md"] = c.zen_store.get(f"/artifact_versions/{notes.id}/visualize")
result["visual_missing_index"] = raises(c.zen_store.get, f"/artifact_versions/{page.id}/visualize", {"index": 5})

# tags as resources of their own
c.create_tag(TagRequest(name="loose", color=ColorVariants.RED))
result["dup_tag"] = raises(c.create_tag, TagRequest(name="loose"))
c.update_tag("loose", TagUpdate(color=ColorVariants.BLUE))
result["tag_color"] = c.get_tag("loose").color.value
c.delete_tag("loose")
result["tags"] = sorted(t.name for t in c.list_tags(TagFilter()))

# deletion and pruning
c.delete_artifact_version(c.get_artifact_version("numbers", "best").id)
result["after_delete"] = sorted(v.version for v in c.list_artifact_versions(name="numbers"))
c.delete_artifact("notes")  # with its versions, as ZenML's cascade does
result["deleted_artifact"] = raises(c.get_artifact, "notes")
result["deleted_artifact_version"] = raises(c.get_artifact_version, notes.id)
c.prune_artifacts(only_versions=False)
result["after_prune"] = sorted(a.name for a in c.list_artifacts())
result["versions_after_prune"] = c.list_artifact_versions().total
"""


@pytest.fixture(scope="module")
def artifacts(zenyard_factory, client_factory):
    client = client_factory(zenyard_factory(name="artifacts"), name="artifacts-client")
    client.connect()
    return client.run(ARTIFACTS)


def _type(info):
    return info["type"] if info else None


def test_versions_are_numbered_or_named_and_load_back(artifacts):
    out = artifacts
    assert out["versions"] == ["1", "2", "best"]
    assert out["auto_after_named"] == "3"
    assert out["loaded"] == [4]
    assert out["loaded_latest"] == [5]
    assert out["latest"] == "3"
    assert out["by_name"] == "x"
    assert _type(out["duplicate_version"]) == "zenml.exceptions.EntityExistsError", out["duplicate_version"]


def test_versions_list_and_page(artifacts):
    out = artifacts
    assert out["page"] == {"total": 4, "pages": 2, "versions": ["best", "3"]}
    assert out["custom_named"] == ["numbers"]


def test_tags_on_artifacts_and_versions(artifacts):
    out = artifacts
    assert out["artifact_tags"] == ["first", "gold"]
    assert out["version_tags"] == ["v2"]
    assert out["tagged"] == ["2"]
    assert out["first_tagged"] == ["1"]


def test_metadata_logged_for_a_version(artifacts):
    out = artifacts
    assert out["metadata"]["rows"] == 4 and out["metadata"]["note"] == "ok", out["metadata"]


def test_visualizations(artifacts):
    out = artifacts
    assert out["visual_html"] == {"type": "html", "value": "<h1>hi</h1>"}
    assert out["visual_md"] == {"type": "markdown", "value": "# hi"}


def test_a_missing_visualization_is_does_not_exist(artifacts):
    # ZenML 0.66.0 answers 404 ["DoesNotExistException", ...]; the client
    # rebuilds that class, which is not a KeyError
    missing = artifacts["visual_missing_index"]
    assert _type(missing) == "zenml.exceptions.DoesNotExistException", missing
    assert "index 5 was requested" in missing["message"], missing


def test_tags_as_resources(artifacts):
    out = artifacts
    assert _type(out["dup_tag"]) == "zenml.exceptions.EntityExistsError", out["dup_tag"]
    assert out["tag_color"] == "blue"
    assert "loose" not in out["tags"] and {"first", "gold", "v2"} <= set(out["tags"]), out["tags"]


def test_delete_and_prune(artifacts):
    out = artifacts
    assert out["after_delete"] == ["1", "2", "3"]
    assert _type(out["deleted_artifact"]) == "builtins.KeyError", out["deleted_artifact"]
    assert _type(out["deleted_artifact_version"]) == "builtins.KeyError", out["deleted_artifact_version"]
    assert out["after_prune"] == []
    assert out["versions_after_prune"] == 0
