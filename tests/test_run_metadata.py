"""Run metadata over the API: one entry per key, the checks ZenML makes on
create, filters, and the batch helper the runs and models areas use."""

from __future__ import annotations

import uuid

from tests.test_artifacts import context, make_artifact, make_step, make_version
from tests.test_openapi import assert_fits

URL = "/api/v1/workspaces/default/run-metadata"


def request(ctx, resource_id, resource_type="artifact_version", **fields):
    return {
        "user": ctx["user"], "workspace": ctx["workspace"], "resource_id": resource_id,
        "resource_type": resource_type, "stack_component_id": None,
        "values": {"accuracy": 0.93, "size": 9, "labels": ["a", "b"], "extra": {"k": "v"}},
        "types": {"accuracy": "float", "size": "StorageSize", "labels": "list", "extra": "dict"}, **fields,
    }


def test_create_get_and_list(client):
    ctx = context(client)
    artifact = make_artifact(client)
    version = make_version(client, ctx, artifact["id"], 1)
    created = client.post(URL, json=request(ctx, version["id"], stack_component_id=ctx["store"]))
    assert created.status_code == 200, created.json
    assert_fits(
        "RunMetadataResponse", created.json[0]
    )
    assert [(m["body"]["key"], m["body"]["value"], m["body"]["type"]) for m in created.json] == [
        ("accuracy", 0.93, "float"), ("size", 9, "StorageSize"), ("labels", ["a", "b"], "list"),
        ("extra", {"k": "v"}, "dict"),
    ]
    first = created.json[0]
    assert first["metadata"]["resource_type"] == "artifact_version"
    assert first["metadata"]["stack_component_id"] == ctx["store"]
    assert first["metadata"]["workspace"]["name"] == "default" and first["body"]["user"]["name"] == "default"

    got = client.get(f"/api/v1/run-metadata/{first['id']}")
    assert got.status_code == 200 and got.json["metadata"] is None  # ZenML's default: not hydrated
    assert client.get(f"/api/v1/run-metadata/{first['id']}?hydrate=true").json["metadata"]["resource_id"] == version["id"]
    assert client.get(f"/api/v1/run-metadata/{uuid.uuid4()}").status_code == 404

    page = client.get(f"/api/v1/run-metadata?resource_id={version['id']}&hydrate=true").json
    assert_fits("Page_RunMetadataResponse_", page)
    assert page["total"] == 4
    assert client.get("/api/v1/run-metadata?key=size").json["total"] == 1
    assert client.get("/api/v1/run-metadata?type=dict&resource_type=artifact_version").json["total"] == 1
    assert client.get(f"/api/v1/run-metadata?stack_component_id={ctx['store']}").json["total"] == 4
    assert client.get("/api/v1/run-metadata?resource_type=step_run").json["total"] == 0

    shown = client.get(f"/api/v1/artifact_versions/{version['id']}").json["metadata"]["run_metadata"]
    assert shown["labels"]["body"]["value"] == ["a", "b"] and shown["labels"]["metadata"] is None

    # a key recorded again: the version shows the newest value
    client.post(URL, json={**request(ctx, version["id"]), "values": {"size": 10}, "types": {"size": "int"}})
    shown = client.get(f"/api/v1/artifact_versions/{version['id']}").json["metadata"]["run_metadata"]
    assert shown["size"]["body"]["value"] == 10


def test_create_checks(client, make_user):
    ctx = context(client)
    version = make_version(client, ctx, make_artifact(client)["id"], 1)
    missing = client.post(URL, json=request(ctx, str(uuid.uuid4())))
    assert missing.status_code == 404 and "artifact version" in missing.json["detail"][1]
    for kind in ("pipeline_run", "step_run", "model_version"):
        assert client.post(URL, json=request(ctx, str(uuid.uuid4()), kind)).status_code == 404
    assert client.post(URL, json=request(ctx, version["id"], "artifact")).status_code == 422
    someone = make_user("someone")
    other_user = client.post(URL, json={**request(ctx, version["id"]), "user": someone["id"]})
    assert other_user.status_code == 403
    assert other_user.json["detail"][1] == "Creating run metadata for a user other than yourself is not supported."
    team = client.post("/api/v1/workspaces", json={"name": "team"}).json
    elsewhere = client.post("/api/v1/workspaces/team/run-metadata", json=request(ctx, version["id"]))
    assert elsewhere.status_code == 403 and team["id"] != ctx["workspace"]
    untyped = client.post(URL, json={**request(ctx, version["id"]), "values": {"a": 1}, "types": {}})
    assert untyped.status_code == 422
    bad_type = client.post(URL, json={**request(ctx, version["id"]), "values": {"a": 1}, "types": {"a": "complex"}})
    assert bad_type.status_code == 422
    no_component = client.post(URL, json=request(ctx, version["id"], stack_component_id=str(uuid.uuid4())))
    assert no_component.status_code == 404
    assert client.get("/api/v1/run-metadata").json["total"] == 0


def test_run_metadata_for_other_resources_in_one_query(app, client, count_queries):
    from store.artifacts import run_metadata_for

    ctx = context(client)
    step = make_step(app, ctx)
    for _ in range(2):
        assert client.post(URL, json=request(ctx, step["run"], "pipeline_run")).status_code == 200
    assert client.post(URL, json=request(ctx, step["step"], "step_run")).status_code == 200
    db = app.extensions["zenyard"]["db"]
    with db.reading() as session:
        with count_queries() as counted:
            found = run_metadata_for(session, "pipeline_run", [uuid.UUID(step["run"]), uuid.uuid4()])
        # the metadata, then its user and its workspace, which the session keeps
        assert counted.n == 3
        with count_queries() as counted:
            assert run_metadata_for(session, "step_run", [uuid.UUID(step["step"])])
        assert counted.n == 1
    assert set(found[uuid.UUID(step["run"])]) == {"accuracy", "size", "labels", "extra"}
    with db.reading() as session:
        assert run_metadata_for(session, "step_run", []) == {}
        assert set(run_metadata_for(session, "step_run", [uuid.UUID(step["step"])])) == {uuid.UUID(step["step"])}


def test_list_runs_a_constant_number_of_statements(client, count_queries):
    ctx = context(client)
    for i in range(6):
        version = make_version(client, ctx, make_artifact(client)["id"], 1)
        client.post(URL, json=request(ctx, version["id"]))

    def statements(size):
        with count_queries() as counted:
            assert len(client.get(f"/api/v1/run-metadata?size={size}&hydrate=true").json["items"]) == size
        return counted.n

    assert statements(20) <= statements(2)
