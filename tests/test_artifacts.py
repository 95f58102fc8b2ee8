"""Artifacts and artifact versions over the API: names, numbering (also
under concurrency), filters, producers, deletion, pruning, visualizations."""

from __future__ import annotations

import base64
import threading
import uuid

import pytest

from tests.test_openapi import assert_fits

MATERIALIZER = {"module": "zenml.materializers.built_in_materializer", "attribute": "BuiltInMaterializer", "type": "internal"}
INT_TYPE = {"module": "builtins", "attribute": "int", "type": "builtin"}
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def context(client) -> dict:
    """The caller's id, the default workspace id and its default artifact store."""
    store = client.get("/api/v1/components?type=artifact_store&name=default").json["items"][0]
    return {
        "user": client.get("/api/v1/current-user").json["id"],
        "workspace": client.get("/api/v1/workspaces/default").json["id"],
        "store": store["id"],
    }


def make_artifact(client, name=None, **fields) -> dict:
    response = client.post("/api/v1/artifacts", json={"name": name or f"art-{uuid.uuid4().hex[:8]}", **fields})
    assert response.status_code == 200, response.json
    return response.json


def version_body(ctx: dict, artifact_id, version, **fields) -> dict:
    return {
        "user": ctx["user"], "workspace": ctx["workspace"], "artifact_id": artifact_id, "version": version,
        "type": "DataArtifact", "uri": f"/tmp/zenyard-test/{uuid.uuid4().hex}", "materializer": MATERIALIZER,
        "data_type": INT_TYPE, "artifact_store_id": ctx["store"], **fields,
    }


def make_version(client, ctx, artifact_id, version, **fields) -> dict:
    response = client.post("/api/v1/artifact_versions", json=version_body(ctx, artifact_id, version, **fields))
    assert response.status_code == 200, response.json
    return response.json


def make_step(app, ctx, outputs=(), inputs=(), status="completed", original_step_run_id=None) -> dict:
    """A pipeline run with one step that wrote `outputs` and read `inputs`
    (rows written directly: the subject here is the artifacts' side)."""
    from store.runs import PipelineRun, StepRun, StepRunInput, StepRunOutput

    db = app.extensions["zenyard"]["db"]
    with db.unit_of_work() as session:
        run = PipelineRun(name=f"run-{uuid.uuid4().hex[:8]}", status=status, workspace_id=uuid.UUID(ctx["workspace"]))
        session.add(run)
        session.flush()
        step = StepRun(name="trainer", status=status, pipeline_run_id=run.id, workspace_id=run.workspace_id,
                       original_step_run_id=original_step_run_id)
        session.add(step)
        session.flush()
        for i, version_id in enumerate(outputs):
            session.add(StepRunOutput(step_id=step.id, name=f"out{i}", artifact_version_id=uuid.UUID(version_id)))
        for i, version_id in enumerate(inputs):
            session.add(StepRunInput(step_id=step.id, name=f"in{i}", artifact_version_id=uuid.UUID(version_id)))
        return {"run": str(run.id), "step": str(step.id)}


def add_metadata(client, ctx, resource_id, values, resource_type="artifact_version"):
    types = {k: type(v).__name__ for k, v in values.items()}
    response = client.post("/api/v1/workspaces/default/run-metadata", json={
        "user": ctx["user"], "workspace": ctx["workspace"], "resource_id": resource_id,
        "resource_type": resource_type, "stack_component_id": None, "values": values, "types": types,
    })
    assert response.status_code == 200, response.json
    return response.json


# --- artifacts ----------------------------------------------------------------


def test_artifact_lifecycle(client):
    created = make_artifact(client, "dataset", tags=["raw", "v1"])
    assert_fits("ArtifactResponse", created)
    assert [t["name"] for t in created["body"]["tags"]] == ["raw", "v1"]
    assert created["metadata"] == {"has_custom_name": False}
    assert created["body"]["latest_version_id"] is None

    again = client.post("/api/v1/artifacts", json={"name": "dataset"})
    assert again.status_code == 409
    assert again.json["detail"] == [
        "EntityExistsError",
        "Unable to create artifact with name 'dataset': An artifact with the same name already exists.",
    ]
    assert client.post("/api/v1/artifacts", json={"name": "bad\tname"}).status_code == 400

    make_artifact(client, "other", has_custom_name=True)
    assert [a["name"] for a in client.get("/api/v1/artifacts?tag=raw").json["items"]] == ["dataset"]
    assert [a["name"] for a in client.get("/api/v1/artifacts?has_custom_name=true").json["items"]] == ["other"]
    assert client.get("/api/v1/artifacts?name=contains:ATA").json["total"] == 1
    page = client.get("/api/v1/artifacts?hydrate=true").json
    assert_fits("Page_ArtifactResponse_", page)

    renamed = client.put(f"/api/v1/artifacts/{created['id']}", json={"name": "dataset-2", "add_tags": ["gold"], "remove_tags": ["raw"]})
    assert renamed.status_code == 200, renamed.json
    assert renamed.json["name"] == "dataset-2" and renamed.json["metadata"]["has_custom_name"] is True
    assert [t["name"] for t in renamed.json["body"]["tags"]] == ["gold", "v1"]
    assert renamed.json["body"]["updated"] > created["body"]["updated"]
    assert client.put(f"/api/v1/artifacts/{created['id']}", json={"name": "other"}).status_code == 409
    got = client.get(f"/api/v1/artifacts/{created['id']}").json
    assert got["name"] == "dataset-2" and got["metadata"]["has_custom_name"] is True


def test_delete_artifact_takes_versions_tags_and_metadata(client):
    ctx = context(client)
    artifact = make_artifact(client, tags=["keep-me"])
    version = make_version(client, ctx, artifact["id"], 1, tags=["vtag"], visualizations=[{"type": "html", "uri": "/x.html"}])
    add_metadata(client, ctx, version["id"], {"accuracy": 0.9})
    assert client.delete(f"/api/v1/artifacts/{artifact['id']}").status_code == 200
    assert client.get(f"/api/v1/artifacts/{artifact['id']}").status_code == 404
    assert client.get(f"/api/v1/artifact_versions/{version['id']}").status_code == 404
    assert client.get(f"/api/v1/run-metadata?resource_id={version['id']}").json["total"] == 0
    tags = {t["name"]: t["body"]["tagged_count"] for t in client.get("/api/v1/tags").json["items"]}
    assert tags == {"keep-me": 0, "vtag": 0}
    assert client.delete(f"/api/v1/artifacts/{artifact['id']}").status_code == 404


# --- versions -----------------------------------------------------------------


def test_versions_numbers_latest_and_uniqueness(client):
    ctx = context(client)
    artifact = make_artifact(client, "numbers")
    one = make_version(client, ctx, artifact["id"], 1)
    two = make_version(client, ctx, artifact["id"], "2")
    named = make_version(client, ctx, artifact["id"], "best-model")
    assert_fits("ArtifactVersionResponse", named)
    assert (one["body"]["version"], two["body"]["version"], named["body"]["version"]) == ("1", "2", "best-model")
    assert named["body"]["artifact"]["name"] == "numbers" and named["body"]["artifact"]["metadata"] is None
    assert named["body"]["artifact"]["body"]["latest_version_name"] == "best-model"

    # the client's next-number query: the string version sorts below numbers on every backend
    latest = client.get("/api/v1/artifact_versions?name=numbers&sort_by=desc:version_number&size=1&only_unused=False").json
    assert latest["total"] == 3 and latest["items"][0]["body"]["version"] == "2"
    ascending = client.get("/api/v1/artifact_versions?name=numbers&sort_by=asc:version_number").json["items"]
    assert [v["body"]["version"] for v in ascending] == ["best-model", "1", "2"]
    assert client.get("/api/v1/artifact_versions?version_number=gte:2").json["total"] == 1
    stamp = make_version(client, ctx, artifact["id"], 20240101123000)  # beyond 32 bits: a name
    assert stamp["body"]["version"] == "20240101123000"
    assert client.delete(f"/api/v1/artifact_versions/{stamp['id']}").status_code == 200

    clash = client.post("/api/v1/artifact_versions", json=version_body(ctx, artifact["id"], 2))
    assert clash.status_code == 409
    assert clash.json["detail"] == [
        "EntityExistsError",
        "Unable to create artifact with name 'numbers' and version '2': An artifact with the same name and version already exists.",
    ]
    for bad in (True, [1], {"v": 1}, "x" * 255, ""):
        response = client.post("/api/v1/artifact_versions", json=version_body(ctx, artifact["id"], bad))
        assert response.status_code == 422, (bad, response.json)
    missing = version_body(ctx, artifact["id"], 9)
    del missing["version"]
    assert client.post("/api/v1/artifact_versions", json=missing).status_code == 422  # required in 0.66.0
    unknown = client.post("/api/v1/artifact_versions", json=version_body(ctx, str(uuid.uuid4()), 1))
    assert unknown.status_code == 404
    other_user = client.post("/api/v1/artifact_versions", json={**version_body(ctx, artifact["id"], 7), "user": str(uuid.uuid4())})
    assert other_user.status_code == 403
    assert client.get("/api/v1/artifact_versions").json["total"] == 3

    artifact_page = client.get("/api/v1/artifacts?name=numbers").json["items"][0]
    assert artifact_page["body"]["latest_version_id"] == named["id"]


def test_version_filters(client, make_user):
    ctx = context(client)
    first = make_artifact(client, "alpha", has_custom_name=True)
    second = make_artifact(client, "beta")
    a1 = make_version(client, ctx, first["id"], 1, tags=["prod"])
    a2 = make_version(client, ctx, first["id"], 2, type="ModelArtifact",
                      materializer={"module": "my.mats", "attribute": "ModelMaterializer", "type": "user"})
    b1 = make_version(client, ctx, second["id"], 1, uri="/data/special/b1")
    make_step(client.app, ctx, outputs=[a1["id"]], inputs=[a2["id"]])

    def ids(query):
        response = client.get(f"/api/v1/artifact_versions?{query}&size=50")
        assert response.status_code == 200, response.json
        return {v["id"] for v in response.json["items"]}

    assert ids("name=alpha") == {a1["id"], a2["id"]}
    assert ids("name=startswith:BE") == {b1["id"]}
    assert ids("has_custom_name=true") == {a1["id"], a2["id"]}
    assert ids("has_custom_name=false") == {b1["id"]}
    assert ids("only_unused=true") == {b1["id"]}
    assert ids("only_unused=false") == {a1["id"], a2["id"], b1["id"]}
    assert ids("tag=prod") == {a1["id"]}
    assert ids(f"artifact_id={second['id']}") == {b1["id"]}
    assert ids("type=ModelArtifact") == {a2["id"]}
    assert ids("uri=contains:special") == {b1["id"]}
    assert ids("materializer=my.mats.ModelMaterializer") == {a2["id"]}
    assert ids("materializer=contains:BuiltIn") == {a1["id"], b1["id"]}
    assert ids("data_type=builtins.int") == {a1["id"], a2["id"], b1["id"]}
    assert ids("version=2") == {a2["id"]}
    assert ids(f"artifact_store_id={ctx['store']}") == {a1["id"], a2["id"], b1["id"]}
    assert ids(f"user_id={ctx['user']}&workspace_id={ctx['workspace']}") == {a1["id"], a2["id"], b1["id"]}
    assert ids(f"scope_workspace={ctx['workspace']}") == {a1["id"], a2["id"], b1["id"]}
    assert ids("logical_operator=or&version=2&type=DataArtifact") == {a1["id"], a2["id"], b1["id"]}
    assert ids(f"scope_workspace={uuid.uuid4()}") == set()
    assert client.get("/api/v1/artifact_versions?only_unused=maybe").status_code == 422
    assert client.get("/api/v1/artifact_versions?name=gt:x").status_code == 422

    team = client.post("/api/v1/workspaces", json={"name": "team"}).json
    scoped = client.get(f"/api/v1/artifacts?scope_workspace={team['id']}").json
    assert scoped["total"] == 0
    make_artifact(client, "fresh")  # no versions yet: in every workspace
    assert [a["name"] for a in client.get(f"/api/v1/artifacts?scope_workspace={team['id']}").json["items"]] == ["fresh"]


def test_producer_of_a_version(client):
    ctx = context(client)
    artifact = make_artifact(client)
    made = make_version(client, ctx, artifact["id"], 1)
    cached = make_version(client, ctx, artifact["id"], 2)
    unused = make_version(client, ctx, artifact["id"], 3)
    original = make_step(client.app, ctx, outputs=[made["id"], cached["id"]])
    # a cached step: not "completed", points at the step that really ran
    make_step(client.app, ctx, outputs=[cached["id"]], status="cached", original_step_run_id=uuid.UUID(original["step"]))
    make_step(client.app, ctx, outputs=[cached["id"]], status="cached", original_step_run_id=uuid.UUID(original["step"]))
    got = client.get(f"/api/v1/artifact_versions/{made['id']}").json
    assert got["body"]["producer_pipeline_run_id"] == original["run"]
    assert got["metadata"]["producer_step_run_id"] == original["step"]
    page = client.get(f"/api/v1/artifact_versions?artifact_id={artifact['id']}&sort_by=version_number&hydrate=true").json
    assert_fits("Page_ArtifactVersionResponse_", page)
    by_version = {v["body"]["version"]: v for v in page["items"]}
    assert by_version["2"]["body"]["producer_pipeline_run_id"] == original["run"]
    assert by_version["3"]["body"]["producer_pipeline_run_id"] is None
    assert by_version["3"]["metadata"]["producer_step_run_id"] is None
    assert unused["metadata"]["producer_step_run_id"] is None


def test_update_and_delete_a_version(client):
    ctx = context(client)
    artifact = make_artifact(client)
    version = make_version(client, ctx, artifact["id"], 1, tags=["a"])
    updated = client.put(f"/api/v1/artifact_versions/{version['id']}", json={"add_tags": ["b"], "remove_tags": ["a"], "name": "ignored"})
    assert updated.status_code == 200
    assert [t["name"] for t in updated.json["body"]["tags"]] == ["b"]
    assert updated.json["body"]["artifact"]["name"] == artifact["name"]
    assert client.get("/api/v1/artifact_versions?tag=b").json["total"] == 1

    # used by a step: ZenML deletes the version and the step's links to it
    step = make_step(client.app, ctx, inputs=[version["id"]])
    add_metadata(client, ctx, version["id"], {"rows": 10})
    assert client.delete(f"/api/v1/artifact_versions/{version['id']}").status_code == 200
    assert client.get(f"/api/v1/artifact_versions/{version['id']}").status_code == 404
    assert client.get(f"/api/v1/run-metadata?resource_id={version['id']}").json["total"] == 0
    from sqlalchemy import func, select

    from store.runs import StepRun, StepRunInput

    with client.app.extensions["zenyard"]["db"].reading() as session:
        assert session.scalar(select(func.count()).select_from(StepRunInput)) == 0
        assert session.get(StepRun, uuid.UUID(step["step"])) is not None
    tags = {t["name"]: t["body"]["tagged_count"] for t in client.get("/api/v1/tags").json["items"]}
    assert tags["b"] == 0
    assert client.get(f"/api/v1/artifacts/{artifact['id']}").json["body"]["latest_version_id"] is None


def test_prune_deletes_unused_versions_and_empty_artifacts(client):
    ctx = context(client)
    used_artifact = make_artifact(client, "used")
    unused_artifact = make_artifact(client, "unused", tags=["t"])
    kept_out = make_version(client, ctx, used_artifact["id"], 1)
    kept_in = make_version(client, ctx, used_artifact["id"], 2)
    dropped = make_version(client, ctx, used_artifact["id"], 3, tags=["t"])
    lonely = make_version(client, ctx, unused_artifact["id"], 1)
    add_metadata(client, ctx, dropped["id"], {"size": 3})
    make_step(client.app, ctx, outputs=[kept_out["id"]], inputs=[kept_in["id"]])

    # the client sends DELETE /artifact_versions (no slash): it is redirected, as by FastAPI
    redirect = client.delete("/api/v1/artifact_versions?only_versions=true")
    assert redirect.status_code in (307, 308)
    assert client.delete("/api/v1/artifact_versions/").status_code == 200  # only_versions defaults to true
    left = {v["id"] for v in client.get("/api/v1/artifact_versions").json["items"]}
    assert left == {kept_out["id"], kept_in["id"]}
    assert {a["name"] for a in client.get("/api/v1/artifacts").json["items"]} == {"used", "unused"}
    assert client.get(f"/api/v1/run-metadata?resource_id={dropped['id']}").json["total"] == 0
    assert client.get("/api/v1/tags/t").json["body"]["tagged_count"] == 1  # the artifact's
    assert lonely["id"] not in left

    assert client.delete("/api/v1/artifact_versions/?only_versions=false").status_code == 200
    assert {a["name"] for a in client.get("/api/v1/artifacts").json["items"]} == {"used"}
    assert client.get("/api/v1/tags/t").json["body"]["tagged_count"] == 0


def test_concurrent_versions_get_distinct_consecutive_numbers(app, client):
    """Versions created at once without a number (the use case numbers
    them) end up 1..n; the same explicit version at once: one wins."""
    from store.artifacts import create_artifact_version
    from store.resources import Actor

    ctx = context(client)
    artifact = make_artifact(client, "busy", tags=[])
    me = client.get("/api/v1/current-user").json
    actor = Actor(id=uuid.UUID(me["id"]), name=me["name"], is_admin=True)
    db = app.extensions["zenyard"]["db"]
    n = 12
    results, errors = [], []
    barrier = threading.Barrier(n)

    def create(i):
        data = version_body(ctx, uuid.UUID(artifact["id"]), None, tags=[f"new-tag-{i % 2}"])
        data.update(user=actor.id, workspace=uuid.UUID(ctx["workspace"]), artifact_store_id=uuid.UUID(ctx["store"]))
        barrier.wait()
        try:
            results.append(create_artifact_version(db, data, actor)["body"]["version"])
        except Exception as err:  # noqa: BLE001  (reported below)
            errors.append(repr(err))

    threads = [threading.Thread(target=create, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(results, key=int) == [str(i) for i in range(1, n + 1)]
    assert client.get("/api/v1/tags/new-tag-0").json["body"]["tagged_count"] == n // 2

    statuses = []
    gate = threading.Barrier(4)

    def post_same():
        http = ApiClientFor(app, client.token)
        gate.wait()
        statuses.append(http.post("/api/v1/artifact_versions", json=version_body(ctx, artifact["id"], 100)).status_code)

    threads = [threading.Thread(target=post_same) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200, 409, 409, 409]


class ApiClientFor:
    """A test client per thread, sharing a token."""

    def __init__(self, app, token):
        self.http = app.test_client(use_cookies=False)
        self.headers = {"Authorization": f"Bearer {token}"}

    def post(self, path, **kw):
        return self.http.post(path, headers=self.headers, **kw)


# --- visualizations -----------------------------------------------------------


@pytest.fixture
def local_stores(tmp_path):
    """A client's local stores directory on this host (the default store's
    files are under `<local stores>/<store id>`)."""
    return tmp_path / "local_stores"


def test_visualize_files_of_a_local_store(client, local_stores, tmp_path):
    ctx = context(client)
    root = local_stores / ctx["store"]
    (root / "vis").mkdir(parents=True)
    (root / "vis" / "page.html").write_text("<h1>Résumé</h1>")
    (root / "vis" / "notes.md").write_text("# Title\n\n*ok*")
    (root / "vis" / "table.csv").write_text("a,b\n1,2\n")
    (root / "vis" / "plot.png").write_bytes(PNG)
    artifact = make_artifact(client)
    version = make_version(client, ctx, artifact["id"], 1, visualizations=[
        {"type": "html", "uri": str(root / "vis" / "page.html")},
        {"type": "markdown", "uri": str(root / "vis" / "notes.md")},
        {"type": "image", "uri": str(root / "vis" / "plot.png")},
        {"type": "csv", "uri": str(root / "vis" / "table.csv")},
        {"type": "html", "uri": str(root / "vis" / "gone.html")},
        {"type": "html", "uri": str(root / ".." / ".." / "secret.html")},
    ])
    assert [v["body"]["type"] for v in version["metadata"]["visualizations"]] == ["html", "markdown", "image", "csv", "html", "html"]
    url = f"/api/v1/artifact_versions/{version['id']}/visualize"

    html = client.get(url)
    assert html.status_code == 200 and html.json == {"type": "html", "value": "<h1>Résumé</h1>"}
    assert_fits("LoadedVisualization", html.json)
    assert client.get(f"{url}?index=1").json == {"type": "markdown", "value": "# Title\n\n*ok*"}
    image = client.get(f"{url}?index=2").json
    assert image["type"] == "image" and base64.b64decode(image["value"]) == PNG
    assert client.get(f"{url}?index=3").json["value"] == "a,b\n1,2\n"
    assert client.get(f"{url}?index=4").status_code == 404
    (tmp_path / "secret.html").write_text("no")
    outside = client.get(f"{url}?index=5")
    assert outside.status_code == 403 and "not inside the artifact store" in outside.json["detail"][1]
    beyond = client.get(f"{url}?index=6")
    assert beyond.status_code == 404 and "only has 6 visualizations" in beyond.json["detail"][1]
    assert client.get(f"{url}?index=-1").status_code == 404

    bare = make_version(client, ctx, artifact["id"], 2)
    assert client.get(f"/api/v1/artifact_versions/{bare['id']}/visualize").status_code == 404


def test_visualize_needs_a_local_store_on_this_host(client, local_stores, tmp_path):
    ctx = context(client)
    artifact = make_artifact(client)
    custom_root = tmp_path / "my-store"
    custom_root.mkdir()
    (custom_root / "v.md").write_text("hello")
    custom = client.post(f"/api/v1/workspaces/{ctx['workspace']}/components", json={
        "user": ctx["user"], "workspace": ctx["workspace"], "name": "mine", "type": "artifact_store",
        "flavor": "local", "configuration": {"path": str(custom_root)},
    }).json
    version = make_version(client, ctx, artifact["id"], 1, artifact_store_id=custom["id"],
                           visualizations=[{"type": "markdown", "uri": str(custom_root / "v.md")}])
    assert client.get(f"/api/v1/artifact_versions/{version['id']}/visualize").json["value"] == "hello"

    # the server's own data directory is never served, whatever a store's path
    data_dir = client.app.extensions["zenyard"]["settings"]["DATA_DIR"]
    broad = client.post(f"/api/v1/workspaces/{ctx['workspace']}/components", json={
        "user": ctx["user"], "workspace": ctx["workspace"], "name": "broad", "type": "artifact_store",
        "flavor": "local", "configuration": {"path": "/"},
    }).json
    leak = make_version(client, ctx, artifact["id"], 2, artifact_store_id=broad["id"],
                        visualizations=[{"type": "html", "uri": f"{data_dir}/jwt_secret"}])
    assert client.get(f"/api/v1/artifact_versions/{leak['id']}/visualize").status_code == 403

    remote = client.post(f"/api/v1/workspaces/{ctx['workspace']}/components", json={
        "user": ctx["user"], "workspace": ctx["workspace"], "name": "s3", "type": "artifact_store",
        "flavor": "s3", "configuration": {"path": "s3://bucket/prefix"},
    })
    assert remote.status_code == 200, remote.json
    far = make_version(client, ctx, artifact["id"], 3, artifact_store_id=remote.json["id"],
                       visualizations=[{"type": "html", "uri": "s3://bucket/prefix/v.html"}])
    refused = client.get(f"/api/v1/artifact_versions/{far['id']}/visualize")
    assert refused.status_code == 400 and refused.json["detail"][0] == "NotImplementedError"
    assert "s3" in refused.json["detail"][1]


# --- constant queries per page ------------------------------------------------


def test_list_pages_run_a_constant_number_of_statements(app, client, count_queries):
    ctx = context(client)
    for a in range(4):
        artifact = make_artifact(client, f"bulk-{a}", tags=[f"t{a}", "all"])
        for v in range(6):
            version = make_version(client, ctx, artifact["id"], v + 1, tags=["x", f"v{v}"],
                                   visualizations=[{"type": "html", "uri": f"/v/{a}/{v}.html"}])
            if v % 2:
                add_metadata(client, ctx, version["id"], {"k": v, "j": "x"})
                make_step(app, ctx, outputs=[version["id"]])

    def statements(url):
        with count_queries() as counted:
            response = client.get(url)
        assert response.status_code == 200, response.json
        return counted.n, len(response.json["items"])

    for url in ("/api/v1/artifact_versions", "/api/v1/artifacts", "/api/v1/run-metadata", "/api/v1/tags"):
        for hydrate in ("false", "true"):
            small, small_items = statements(f"{url}?size=2&hydrate={hydrate}")
            large, large_items = statements(f"{url}?size=20&hydrate={hydrate}")
            assert small_items == 2 and large_items > 2
            assert large <= small, (url, hydrate, small, large)
