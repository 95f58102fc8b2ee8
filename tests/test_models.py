"""Models, model versions and their links to artifact versions and runs."""

from __future__ import annotations

import threading
import uuid

from tests.test_openapi import assert_fits


def ids(client) -> tuple[str, str]:
    """(user id, default workspace id)."""
    return client.get("/api/v1/current-user").json["id"], client.get("/api/v1/workspaces/default").json["id"]


def create_model(client, name, **fields):
    user, ws = ids(client)
    body = {"user": user, "workspace": ws, "name": name, "tags": None, **fields}
    return client.post(f"/api/v1/workspaces/{ws}/models", json=body)


def create_version(client, model, name=None, **fields):
    user, ws = ids(client)
    body = {"user": user, "workspace": ws, "model": model["id"], "name": name, **fields}
    return client.post(f"/api/v1/workspaces/default/models/{model['name']}/model_versions", json=body)


def set_stage(client, version, stage, force=False):
    return client.put(
        f"/api/v1/model_versions/{version['id']}",
        json={"model": version["body"]["model"]["id"], "stage": stage, "force": force},
    )


MATERIALIZER = {"module": "zenml.materializers.built_in_materializer", "attribute": "BuiltInMaterializer", "type": "internal"}
DATA_TYPE = {"module": "builtins", "attribute": "dict", "type": "builtin"}


def seed_artifact_versions(app, client, name, versions, custom_name=True) -> list[str]:
    """Artifact versions written as the artifacts area stores them."""
    from store.artifacts import Artifact, ArtifactVersion

    user, ws = ids(client)
    with app.extensions["zenyard"]["db"].unit_of_work() as session:
        artifact = Artifact(name=name, has_custom_name=custom_name)
        session.add(artifact)
        session.flush()
        rows = [
            ArtifactVersion(
                artifact_id=artifact.id, version=str(v), version_number=v, type="DataArtifact",
                uri=f"/tmp/{name}/{v}", materializer=MATERIALIZER, data_type=DATA_TYPE, workspace_id=uuid.UUID(ws), user_id=uuid.UUID(user),
            )
            for v in versions
        ]
        session.add_all(rows)
        session.flush()
        return [str(r.id) for r in rows]


def seed_runs(app, client, names) -> list[str]:
    from store.runs import PipelineRun

    user, ws = ids(client)
    with app.extensions["zenyard"]["db"].unit_of_work() as session:
        rows = [PipelineRun(name=n, status="completed", workspace_id=uuid.UUID(ws), user_id=uuid.UUID(user)) for n in names]
        session.add_all(rows)
        session.flush()
        return [str(r.id) for r in rows]


def link(client, kind, version, target_key, target_id, **flags):
    user, ws = ids(client)
    body = {
        "user": user, "workspace": ws, "model": version["body"]["model"]["id"],
        "model_version": version["id"], target_key: target_id, **flags,
    }
    return client.post(f"/api/v1/workspaces/{ws}/model_versions/{version['id']}/{kind}", json=body)


# --- models ------------------------------------------------------------------


def test_model_lifecycle(client):
    created = create_model(client, "churn", description="predicts churn", tags=["tabular", "prod"])
    assert created.status_code == 200, created.json
    model = created.json
    assert_fits("ModelResponse", model)
    assert model["metadata"]["description"] == "predicts churn"
    assert model["metadata"]["save_models_to_registry"] is True
    assert sorted(t["name"] for t in model["body"]["tags"]) == ["prod", "tabular"]
    assert model["body"]["latest_version_name"] is None and model["body"]["latest_version_id"] is None

    duplicate = create_model(client, "churn")
    assert duplicate.status_code == 409
    assert duplicate.json["detail"] == [
        "EntityExistsError", "Unable to create model churn: A model with this name already exists."
    ]
    assert client.get("/api/v1/models/churn").json["id"] == model["id"]
    assert client.get(f"/api/v1/models/{model['id']}?hydrate=false").json["metadata"] is None

    updated = client.put(
        f"/api/v1/models/{model['id']}",
        json={"name": "churn2", "license": "MIT", "add_tags": ["new"], "remove_tags": ["prod"]},
    )
    assert updated.status_code == 200, updated.json
    assert updated.json["name"] == "churn2" and updated.json["metadata"]["license"] == "MIT"
    assert updated.json["metadata"]["description"] == "predicts churn"
    assert sorted(t["name"] for t in updated.json["body"]["tags"]) == ["new", "tabular"]
    create_model(client, "other")
    assert client.put(f"/api/v1/models/{model['id']}", json={"name": "other"}).status_code == 409

    page = client.get("/api/v1/models?tag=tabular&hydrate=true").json
    assert_fits("Page_ModelResponse_", page)
    assert [m["name"] for m in page["items"]] == ["churn2"]
    assert client.get("/api/v1/models?name=contains:other").json["total"] == 1
    assert client.delete("/api/v1/models/churn2").status_code == 200
    assert client.get(f"/api/v1/models/{model['id']}").status_code == 404
    assert client.get("/api/v1/models?tag=tabular").json["total"] == 0


def test_model_requests_must_match_the_workspace_and_the_caller(client, make_user):
    user, ws = ids(client)
    team = client.post("/api/v1/workspaces", json={"name": "team"}).json
    wrong_ws = client.post(f"/api/v1/workspaces/{team['id']}/models", json={"user": user, "workspace": ws, "name": "m", "tags": None})
    assert wrong_ws.status_code == 403 and wrong_ws.json["detail"][0] == "IllegalOperationError"
    other = make_user("someone")
    for_other = client.post(f"/api/v1/workspaces/{ws}/models", json={"user": other["id"], "workspace": ws, "name": "m", "tags": None})
    assert for_other.status_code == 403
    # the same name in another workspace is another model
    assert client.post(f"/api/v1/workspaces/{team['id']}/models", json={"user": user, "workspace": team["id"], "name": "m", "tags": None}).status_code == 200
    assert create_model(client, "m").status_code == 200
    assert client.get(f"/api/v1/models?scope_workspace={team['id']}").json["total"] == 1


# --- versions ------------------------------------------------------------------


def test_versions_are_numbered_and_named_after_their_number(client):
    model = create_model(client, "clf").json
    first = create_version(client, model, description="baseline", tags=["a"])
    assert first.status_code == 200, first.json
    assert_fits("ModelVersionResponse", first.json)
    body = first.json["body"]
    assert (first.json["name"], body["number"], body["stage"]) == ("1", 1, None)
    assert body["model"]["id"] == model["id"] and body["model"]["metadata"] is None
    assert body["model"]["body"]["latest_version_name"] == "1"
    assert [t["name"] for t in body["tags"]] == ["a"]
    assert first.json["metadata"]["description"] == "baseline" and first.json["metadata"]["run_metadata"] == {}
    assert body["model_artifact_ids"] == {} and body["pipeline_run_ids"] == {}

    second = create_version(client, model, "v2").json
    assert (second["name"], second["body"]["number"]) == ("v2", 2)
    again = create_version(client, model, "v2")
    assert again.status_code == 409
    assert again.json["detail"][1] == "Unable to create model version v2: A model version with this name already exists in clf model."
    numbered = create_version(client, model, number=7)
    assert numbered.status_code == 400 and numbered.json["detail"][0] == "ValueError"
    third = create_version(client, model).json
    assert (third["name"], third["body"]["number"]) == ("3", 3)

    latest = client.get(f"/api/v1/models/{model['id']}").json["body"]
    assert (latest["latest_version_name"], latest["latest_version_id"]) == ("3", third["id"])
    assert latest["updated"] == model["body"]["updated"]  # versions do not touch their model
    # as the client asks for `latest`, a number and a name
    newest = client.get("/api/v1/models/clf/model_versions?sort_by=desc:number&size=1").json
    assert_fits("Page_ModelVersionResponse_", newest)
    assert [v["name"] for v in newest["items"]] == ["3"]
    assert [v["id"] for v in client.get(f"/api/v1/models/{model['id']}/model_versions?number=2").json["items"]] == [second["id"]]
    assert client.get("/api/v1/models/clf/model_versions?name=v2").json["total"] == 1
    assert client.get("/api/v1/model_versions?tag=a").json["total"] == 1
    assert client.get(f"/api/v1/model_versions?number=2&scope_workspace={ids(client)[1]}").json["total"] == 1
    assert client.get("/api/v1/models/nope/model_versions").status_code == 404
    assert client.get(f"/api/v1/models/{uuid.uuid4()}/model_versions").status_code == 404

    hydrated = client.get(f"/api/v1/model_versions/{second['id']}").json
    assert_fits("ModelVersionResponse", hydrated)
    assert hydrated["resources"]["services"]["items"] == []
    renamed = client.put(
        f"/api/v1/model_versions/{second['id']}",
        json={"model": model["id"], "name": "two", "description": "d", "add_tags": ["b"]},
    ).json
    assert (renamed["name"], renamed["metadata"]["description"], renamed["body"]["number"]) == ("two", "d", 2)
    clash = client.put(f"/api/v1/model_versions/{second['id']}", json={"model": model["id"], "name": "1"})
    assert clash.status_code == 409
    assert client.delete(f"/api/v1/model_versions/{third['id']}").status_code == 200
    assert client.get(f"/api/v1/model_versions/{third['id']}").status_code == 404
    # numbering continues from the highest remaining version
    assert create_version(client, model).json["body"]["number"] == 3


def test_promoting_a_version_archives_the_holder_only_with_force(client):
    model = create_model(client, "ranker").json
    v1, v2, v3 = (create_version(client, model).json for _ in range(3))
    assert set_stage(client, v1, "production").json["body"]["stage"] == "production"

    refused = set_stage(client, v2, "production")
    assert refused.status_code == 500
    assert refused.json["detail"] == ["RuntimeError", "Model version 1 is in production, but `force` flag is False."]
    assert client.get(f"/api/v1/model_versions/{v1['id']}").json["body"]["stage"] == "production"
    assert client.get(f"/api/v1/model_versions/{v2['id']}").json["body"]["stage"] is None

    promoted = set_stage(client, v2, "production", force=True)
    assert promoted.status_code == 200 and promoted.json["body"]["stage"] == "production"
    assert client.get(f"/api/v1/model_versions/{v1['id']}").json["body"]["stage"] == "archived"
    # how the client resolves Model(name=..., version="production")
    in_production = client.get("/api/v1/models/ranker/model_versions?stage=production").json["items"]
    assert [v["id"] for v in in_production] == [v2["id"]]
    # re-setting the holder's own stage, and several archived versions, are fine
    assert set_stage(client, v2, "production").status_code == 200
    assert set_stage(client, v3, "archived").status_code == 200
    assert client.get("/api/v1/models/ranker/model_versions?stage=archived").json["total"] == 2
    # another model's production version is no obstacle
    other = create_version(client, create_model(client, "other").json).json
    assert set_stage(client, other, "production").status_code == 200

    invalid = set_stage(client, v3, "shipped")
    assert invalid.status_code == 422 and invalid.json["detail"] == ["ValueError", "`shipped` is not a valid model stage."]
    wrong_model = client.put(f"/api/v1/model_versions/{v3['id']}", json={"model": other["body"]["model"]["id"], "stage": "staging"})
    assert wrong_model.status_code == 404


def test_concurrent_versions_get_distinct_numbers(app, client):
    model = create_model(client, "busy").json
    user, ws = ids(client)
    headers = {"Authorization": f"Bearer {client.token}"}
    answers: list = []

    def create() -> None:
        http = app.test_client()
        body = {"user": user, "workspace": ws, "model": model["id"], "name": None}
        answers.append(http.post(f"/api/v1/workspaces/{ws}/models/{model['id']}/model_versions", json=body, headers=headers))

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [200] * 8, [a.json for a in answers if a.status_code != 200]
    assert sorted(a.json["body"]["number"] for a in answers) == list(range(1, 9))
    assert sorted(a.json["name"] for a in answers) == sorted(str(n) for n in range(1, 9))


# --- links -------------------------------------------------------------------


def test_artifact_links(app, client):
    model = create_model(client, "linked").json
    version = create_version(client, model).json
    data_v1, data_v2 = seed_artifact_versions(app, client, "dataset", [1, 2])
    (weights,) = seed_artifact_versions(app, client, "weights", [1], custom_name=False)

    first = link(client, "artifacts", version, "artifact_version", data_v1)
    assert first.status_code == 200, first.json
    assert_fits("ModelVersionArtifactResponse", first.json)
    assert first.json["body"]["artifact_version"]["id"] == data_v1
    again = link(client, "artifacts", version, "artifact_version", data_v1)
    assert again.status_code == 200 and again.json["id"] == first.json["id"]
    link(client, "artifacts", version, "artifact_version", data_v2)
    assert link(client, "artifacts", version, "artifact_version", weights, is_model_artifact=True).status_code == 200
    both = link(client, "artifacts", version, "artifact_version", weights, is_model_artifact=True, is_deployment_artifact=True)
    assert both.status_code == 422

    body = client.get(f"/api/v1/model_versions/{version['id']}").json["body"]
    assert body["data_artifact_ids"] == {"dataset": {"1": data_v1, "2": data_v2}}
    assert body["model_artifact_ids"] == {"weights": {"1": weights}}
    assert body["deployment_artifact_ids"] == {}

    listed = client.get(f"/api/v1/model_version_artifacts?model_version_id={version['id']}&hydrate=true").json
    assert_fits("Page_ModelVersionArtifactResponse_", listed)
    assert listed["total"] == 3
    only_model = client.get(f"/api/v1/model_version_artifacts?model_version_id={version['id']}&only_model_artifacts=true").json
    assert [l["body"]["artifact_version"]["id"] for l in only_model["items"]] == [weights]
    assert client.get("/api/v1/model_version_artifacts?only_data_artifacts=true").json["total"] == 2
    assert client.get("/api/v1/model_version_artifacts?artifact_name=startswith:data").json["total"] == 2
    assert client.get("/api/v1/model_version_artifacts?has_custom_name=false").json["total"] == 1
    assert client.get(f"/api/v1/model_version_artifacts?artifact_version_id={weights}").json["total"] == 1

    base = f"/api/v1/model_versions/{version['id']}/artifacts"
    assert client.delete(f"{base}/weights").status_code == 200
    assert client.delete(f"{base}/weights").status_code == 404
    assert client.delete(f"{base}/{first.json['id']}").status_code == 200
    assert client.get(f"/api/v1/model_versions/{version['id']}").json["body"]["data_artifact_ids"] == {"dataset": {"2": data_v2}}
    assert client.delete(base).status_code == 200
    assert client.get("/api/v1/model_version_artifacts").json["total"] == 0
    # unlinking with only_links=false deletes the artifact versions too
    link(client, "artifacts", version, "artifact_version", data_v2)
    assert client.delete(f"{base}?only_links=false").status_code == 200
    assert client.get(f"/api/v1/artifact_versions/{data_v2}").status_code == 404
    assert client.get(f"/api/v1/artifact_versions/{data_v1}").status_code == 200


def test_pipeline_run_links(app, client):
    model = create_model(client, "runs").json
    version = create_version(client, model).json
    run_a, run_b = seed_runs(app, client, ["train-1", "train-2"])
    first = link(client, "runs", version, "pipeline_run", run_a)
    assert first.status_code == 200, first.json
    assert_fits("ModelVersionPipelineRunResponse", first.json)
    assert first.json["body"]["pipeline_run"]["name"] == "train-1"
    assert link(client, "runs", version, "pipeline_run", run_a).json["id"] == first.json["id"]
    link(client, "runs", version, "pipeline_run", run_b)
    missing = link(client, "runs", version, "pipeline_run", str(uuid.uuid4()))
    assert missing.status_code == 404

    body = client.get(f"/api/v1/model_versions/{version['id']}").json["body"]
    assert body["pipeline_run_ids"] == {"train-1": run_a, "train-2": run_b}
    page = client.get("/api/v1/model_version_pipeline_runs?pipeline_run_name=train-2&hydrate=true").json
    assert_fits("Page_ModelVersionPipelineRunResponse_", page)
    assert [l["body"]["pipeline_run"]["id"] for l in page["items"]] == [run_b]
    assert client.get(f"/api/v1/model_version_pipeline_runs?model_id={model['id']}").json["total"] == 2

    assert client.delete(f"/api/v1/model_versions/{version['id']}/runs/train-2").status_code == 200
    assert client.delete(f"/api/v1/model_versions/{version['id']}/runs/train-2").status_code == 404
    assert client.get(f"/api/v1/model_versions/{version['id']}").json["body"]["pipeline_run_ids"] == {"train-1": run_a}


def test_links_must_match_the_path_and_the_caller(app, client, make_user):
    model = create_model(client, "strict").json
    version = create_version(client, model).json
    user, ws = ids(client)
    target = str(uuid.uuid4())
    body = {"user": user, "workspace": ws, "model": model["id"], "model_version": str(uuid.uuid4()), "pipeline_run": target}
    other_path = client.post(f"/api/v1/workspaces/{ws}/model_versions/{version['id']}/runs", json=body)
    assert other_path.status_code == 403 and "does not match" in other_path.json["detail"][1]
    body["model_version"] = version["id"]
    body["user"] = make_user("else")["id"]
    assert client.post(f"/api/v1/workspaces/{ws}/model_versions/{version['id']}/runs", json=body).status_code == 403


def test_deleting_a_model_deletes_its_versions_links_and_tags(app, client):
    model = create_model(client, "gone", tags=["t"]).json
    version = create_version(client, model, tags=["vt"]).json
    create_version(client, model)
    (run,) = seed_runs(app, client, ["r-gone"])
    assert link(client, "runs", version, "pipeline_run", run).status_code == 200
    assert client.delete(f"/api/v1/models/{model['id']}").status_code == 200
    assert client.get(f"/api/v1/model_versions/{version['id']}").status_code == 404
    assert client.get("/api/v1/model_versions").json["total"] == 0
    assert client.get("/api/v1/model_version_pipeline_runs").json["total"] == 0
    from sqlalchemy import func, select

    from store.tags import TagLink

    with app.extensions["zenyard"]["db"].reading() as session:
        assert session.scalar(select(func.count()).select_from(TagLink)) == 0


# --- no N+1 ----------------------------------------------------------------------


def _statements(count_queries, client, url) -> int:
    with count_queries() as counted:
        response = client.get(url)
    assert response.status_code == 200, response.json
    return counted.n


def test_list_pages_run_a_constant_number_of_statements(app, client, count_queries):
    models = [create_model(client, f"m{i}", tags=[f"t{i}", "all"]).json for i in range(21)]
    versions = [create_version(client, models[i % 3], tags=["x"]).json for i in range(21)]
    for i, run in enumerate(seed_runs(app, client, [f"run-{i}" for i in range(21)])):
        link(client, "runs", versions[i % 2], "pipeline_run", run)
    for i, artifact in enumerate(seed_artifact_versions(app, client, "data", list(range(1, 22)))):
        link(client, "artifacts", versions[i % 2], "artifact_version", artifact, is_model_artifact=i % 2 == 0)
    lists = ["/api/v1/models", "/api/v1/model_versions", f"/api/v1/models/{models[0]['id']}/model_versions",
             "/api/v1/model_version_pipeline_runs", "/api/v1/model_version_artifacts"]
    for url in lists:
        for hydrate in ("false", "true"):
            small = _statements(count_queries, client, f"{url}?size=2&hydrate={hydrate}")
            large = _statements(count_queries, client, f"{url}?size=20&hydrate={hydrate}")
            assert large <= small, (url, hydrate, small, large)
