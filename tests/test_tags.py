"""Tags over the API: unique names, colors, counts of tagged resources,
and what deleting a tag does to the resources that carried it."""

from __future__ import annotations

import uuid

from tests.test_artifacts import context, make_artifact, make_version
from tests.test_openapi import assert_fits


def test_tag_lifecycle(client):
    created = client.post("/api/v1/tags", json={"name": "nightly", "color": "blue"})
    assert created.status_code == 200, created.json
    assert_fits("TagResponse", created.json)
    assert created.json["body"]["color"] == "blue" and created.json["body"]["tagged_count"] == 0

    again = client.post("/api/v1/tags", json={"name": "nightly", "color": "orange"})
    assert again.status_code == 409
    assert again.json["detail"] == ["EntityExistsError", "Unable to create tag nightly: A tag with this name already exists."]
    assert client.post("/api/v1/tags", json={"name": "x", "color": "pink"}).status_code == 422
    assert client.post("/api/v1/tags", json={"name": "tab\there"}).status_code == 400
    random_color = client.post("/api/v1/tags", json={"name": "weekly"}).json
    assert random_color["body"]["color"] in ("grey", "purple", "red", "green", "yellow", "orange", "lime",
                                              "teal", "turquoise", "magenta", "blue")

    by_name = client.get("/api/v1/tags/nightly")
    assert by_name.status_code == 200 and by_name.json["id"] == created.json["id"]
    assert client.get(f"/api/v1/tags/{created.json['id']}").json["name"] == "nightly"
    assert client.get("/api/v1/tags/no-such-tag").status_code == 404
    page = client.get("/api/v1/tags?color=blue").json
    assert_fits("Page_TagResponse_", page)
    # "weekly" got a random color, which may be blue too
    assert "nightly" in [t["name"] for t in page["items"]]
    assert all(t["body"]["color"] == "blue" for t in page["items"])
    assert client.get("/api/v1/tags?color=red").json["total"] == (random_color["body"]["color"] == "red")
    assert client.get("/api/v1/tags?name=contains:eek").json["items"][0]["name"] == "weekly"

    updated = client.put(f"/api/v1/tags/{created.json['id']}", json={"name": "nightly-2", "color": "red"})
    assert updated.status_code == 200, updated.json
    assert (updated.json["name"], updated.json["body"]["color"]) == ("nightly-2", "red")
    assert updated.json["body"]["updated"] > created.json["body"]["updated"]
    taken = client.put(f"/api/v1/tags/{created.json['id']}", json={"name": "weekly"})
    assert taken.status_code == 409
    assert client.put(f"/api/v1/tags/{uuid.uuid4()}", json={"color": "red"}).status_code == 404
    color_only = client.put(f"/api/v1/tags/{created.json['id']}", json={"color": "lime"}).json
    assert (color_only["name"], color_only["body"]["color"]) == ("nightly-2", "lime")

    assert client.delete("/api/v1/tags/nightly-2").status_code == 200
    assert client.get("/api/v1/tags/nightly-2").status_code == 404
    assert client.delete(f"/api/v1/tags/{random_color['id']}").status_code == 200
    assert client.get("/api/v1/tags").json["total"] == 0


def test_tagged_count_and_deleting_a_tag_untags(client):
    ctx = context(client)
    artifact = make_artifact(client, "tagged", tags=["shared"])
    version = make_version(client, ctx, artifact["id"], 1, tags=["shared", "only-version"])
    shared = client.get("/api/v1/tags/shared").json
    assert shared["body"]["tagged_count"] == 2
    assert client.get("/api/v1/artifacts?tag=shared").json["total"] == 1

    assert client.delete("/api/v1/tags/shared").status_code == 200
    assert client.get(f"/api/v1/artifacts/{artifact['id']}").json["body"]["tags"] == []
    left = client.get(f"/api/v1/artifact_versions/{version['id']}").json["body"]["tags"]
    assert [t["name"] for t in left] == ["only-version"]
    assert client.get("/api/v1/artifacts?tag=shared").json["total"] == 0
    # tagging again creates the tag anew
    client.put(f"/api/v1/artifacts/{artifact['id']}", json={"add_tags": ["shared"]})
    assert client.get("/api/v1/tags/shared").json["body"]["tagged_count"] == 1


def test_tag_list_runs_a_constant_number_of_statements(client, count_queries):
    for i in range(24):
        client.post("/api/v1/tags", json={"name": f"t{i}"})
    ctx = context(client)
    artifact = make_artifact(client, tags=[f"t{i}" for i in range(24)])
    make_version(client, ctx, artifact["id"], 1, tags=[f"t{i}" for i in range(0, 24, 2)])

    def statements(size):
        with count_queries() as counted:
            page = client.get(f"/api/v1/tags?size={size}&sort_by=name").json
        return counted.n, page

    small, small_page = statements(2)
    large, large_page = statements(20)
    assert len(large_page["items"]) == 20 and large <= small
    assert large_page["items"][0]["body"]["tagged_count"] == 2  # t0: the artifact and its version
