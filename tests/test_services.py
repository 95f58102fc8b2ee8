"""Services: what model deployers record of the model servers they run."""

from __future__ import annotations

import base64
import json
import uuid

from tests.test_models import create_model, create_version, ids, seed_runs
from tests.test_openapi import assert_fits

MLFLOW = {"type": "model-serving", "flavor": "mlflow", "name": "mlflow-deployment", "description": "", "logo_url": ""}
BENTO = {"type": "model-serving", "flavor": "bentoml", "name": "bentoml-deployment", "description": "", "logo_url": ""}


def service_body(client, name, config=None, **fields):
    user, ws = ids(client)
    return {
        "user": user, "workspace": ws, "name": name, "service_type": MLFLOW,
        "config": config if config is not None else {"service_name": name, "pipeline_name": "train",
                                                      "pipeline_step_name": "deploy", "model_name": "clf"},
        **fields,
    }


def create(client, name, **fields):
    return client.post("/api/v1/services", json=service_body(client, name, **fields))


def encoded(config: dict) -> str:
    """What the client sends as the `config` filter (`dict_to_bytes`)."""
    return base64.b64encode(json.dumps(config).encode()).decode()


def listed(client, query: str) -> list[str]:
    response = client.get(f"/api/v1/services?{query}")
    assert response.status_code == 200, response.json
    return [item["name"] for item in response.json["items"]]


def test_service_lifecycle(client):
    created = create(client, "srv", labels={"team": "ml"}, status={"state": "pending_startup", "last_error": ""},
                     admin_state="active", endpoint={"status": {"state": "inactive"}})
    assert created.status_code == 200, created.json
    assert_fits("ServiceResponse", created.json)
    body, metadata = created.json["body"], created.json["metadata"]
    assert body["service_type"] == MLFLOW and body["labels"] == {"team": "ml"} and body["state"] == "pending_startup"
    assert metadata["config"]["pipeline_name"] == "train" and metadata["admin_state"] == "active"
    assert created.json["resources"] == {"model_version": None, "pipeline_run": None}

    service_id = created.json["id"]
    got = client.get(f"/api/v1/services/{service_id}?hydrate=false").json
    assert got["metadata"] is None and got["body"]["state"] == "pending_startup"

    updated = client.put(f"/api/v1/services/{service_id}", json={
        "status": {"state": "active", "last_error": ""}, "prediction_url": "http://127.0.0.1:8000/invocations",
        "health_check_url": "http://127.0.0.1:8000/ping", "service_source": "zenml.integrations.mlflow.X",
    })
    assert updated.status_code == 200, updated.json
    assert_fits("ServiceResponse", updated.json)
    assert updated.json["body"]["state"] == "active"
    assert updated.json["metadata"]["prediction_url"].endswith("/invocations")
    assert updated.json["metadata"]["service_source"] == "zenml.integrations.mlflow.X"
    # fields left out stay as they were
    assert updated.json["body"]["labels"] == {"team": "ml"} and updated.json["name"] == "srv"

    page = client.get("/api/v1/services?hydrate=true").json
    assert_fits("Page_ServiceResponse_", page)
    assert [s["id"] for s in page["items"]] == [service_id]

    assert client.delete(f"/api/v1/services/{service_id}").status_code == 200
    missing = client.get(f"/api/v1/services/{service_id}")
    assert missing.status_code == 404 and missing.json["detail"][0] == "KeyError"


def test_the_same_configuration_is_refused(client):
    config = service_body(client, "one")["config"]
    assert create(client, "one").status_code == 200
    again = create(client, "other-name", config=config)
    assert again.status_code == 409 and again.json["detail"][0] == "EntityExistsError"
    assert "same configuration" in again.json["detail"][1]
    # key order does not make a configuration different
    reordered = dict(reversed(list(config.items())))
    assert create(client, "third", config=reordered).status_code == 409
    assert create(client, "two", config={"service_name": "two"}).status_code == 200


def test_filters_the_client_sends(app, client):
    one = create(client, "one", status={"state": "active"}).json
    create(client, "two", config={"service_name": "two", "pipeline_name": "other", "pipeline_step_name": "s"})
    create(client, "bento", service_type=BENTO, config={"service_name": "bento"})

    assert listed(client, "type=model-serving&flavor=mlflow&sort_by=name") == ["one", "two"]
    assert listed(client, "flavor=bentoml") == ["bento"]
    assert listed(client, "pipeline_name=train&pipeline_step_name=deploy") == ["one"]
    assert listed(client, "name=contains:n&sort_by=desc:name") == ["one", "bento"]
    assert listed(client, "running=true") == ["one"]
    assert sorted(listed(client, "running=false")) == ["bento", "two"]
    config = service_body(client, "one")["config"]
    assert listed(client, f"config={encoded(config)}") == ["one"]
    assert listed(client, f"config={encoded({'service_name': 'nobody'})}") == []
    # what the stock client sends: the repr of the bytes
    assert listed(client, f"config=b'{encoded(config)}'") == ["one"]
    _, ws = ids(client)
    assert len(listed(client, f"scope_workspace={ws}&workspace_id={ws}")) == 3
    assert listed(client, f"id={one['id']}") == ["one"]

    bad = client.get("/api/v1/services?config=not-base64!")
    assert bad.status_code == 422 and bad.json["detail"][0] == "ValueError"
    assert client.get("/api/v1/services?running=maybe").status_code == 422


def test_links_to_a_model_version_and_a_run(app, client):
    model = create_model(client, "clf").json
    version = create_version(client, model).json
    run_id = seed_runs(app, client, ["deploy-run"])[0]

    created = create(client, "linked", model_version_id=version["id"], pipeline_run_id=run_id)
    assert created.status_code == 200, created.json
    resources = created.json["resources"]
    assert resources["model_version"]["id"] == version["id"] and resources["pipeline_run"]["id"] == run_id
    assert listed(client, f"model_version_id={version['id']}") == ["linked"]
    assert listed(client, f"pipeline_run_id={run_id}") == ["linked"]

    # the version shows its services
    shown = client.get(f"/api/v1/model_versions/{version['id']}").json
    assert_fits("ModelVersionResponse", shown)
    services = shown["resources"]["services"]
    assert services["total"] == 1 and services["items"][0]["id"] == created.json["id"]

    # the service outlives the run and the version
    assert client.delete(f"/api/v1/runs/{run_id}").status_code == 200
    assert client.delete(f"/api/v1/model_versions/{version['id']}").status_code == 200
    after = client.get(f"/api/v1/services/{created.json['id']}").json
    assert after["resources"] == {"model_version": None, "pipeline_run": None}

    unknown = create(client, "dangling", config={"service_name": "d"}, model_version_id=str(uuid.uuid4()))
    assert unknown.status_code == 404 and unknown.json["detail"][0] == "KeyError"
    bad_run = create(client, "dangling", config={"service_name": "d"}, pipeline_run_id="not-a-run")
    assert bad_run.status_code == 422


def test_workspace_route_and_ownership(client, make_user):
    created = client.post("/api/v1/workspaces/default/services", json=service_body(client, "in-ws"))
    assert created.status_code == 200, created.json
    other = make_user("someone")
    body = service_body(client, "theirs", config={"service_name": "theirs"})
    body["user"] = other["id"]
    refused = client.post("/api/v1/services", json=body)
    assert refused.status_code == 403 and refused.json["detail"][0] == "IllegalOperationError"
    missing_ws = client.post("/api/v1/workspaces/nowhere/services", json=service_body(client, "x", config={"a": 1}))
    assert missing_ws.status_code == 404
