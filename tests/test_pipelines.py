"""Pipelines, builds, deployments, schedules and run templates over the API."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.test_openapi import assert_fits

TRANSCRIPT = Path("/work/shared/reference/transcripts/client-flows.jsonl")
WS = "/api/v1/workspaces/default"


def me(client) -> str:
    return client.get("/api/v1/current-user").json["id"]


def workspace(client) -> str:
    return client.get(WS).json["id"]


def default_stack(client) -> str:
    return client.get("/api/v1/stacks?name=default").json["items"][0]["id"]


def owned(client, **fields) -> dict:
    return {"user": me(client), "workspace": workspace(client), **fields}


def create_pipeline(client, name, **fields):
    response = client.post(f"{WS}/pipelines", json=owned(client, name=name, **fields))
    assert response.status_code == 200, response.json
    return response.json


def create_build(client, stack=None, pipeline=None, is_local=False, **fields):
    body = owned(client, **{
        "stack": stack, "pipeline": pipeline, "is_local": is_local, "contains_code": True,
        "images": {"orchestrator": {"image": "registry.example.com/zenml:abc", "requirements": "numpy\n"}},
        "zenml_version": "0.66.0", "python_version": "3.11", "checksum": "c-1", **fields,
    })
    response = client.post(f"{WS}/pipeline_builds", json=body)
    assert response.status_code == 200, response.json
    return response.json


def deployment_request(client, stack, pipeline=None, **fields) -> dict:
    """The deployment the stock client sent in the reference transcript, with
    settings and source extras that the contract's schemas do not list."""
    sent = next(json.loads(line) for line in TRANSCRIPT.open() if "pipeline_deployments" in line)["request_body"]
    body = copy.deepcopy(sent)
    body.update(owned(client), stack=stack, pipeline=pipeline, **fields)
    body["pipeline_configuration"]["settings"] = {
        "docker": {"parent_image": "python:3.11", "requirements": ["pandas"]},
        "resources": {"cpu_count": 2.0},
    }
    step = body["step_configurations"]["load"]
    step["spec"]["source"] = {"module": "steps", "attribute": "load", "type": "distribution_package",
                              "package_name": "mypkg", "version": "1.2"}
    step["config"]["settings"] = {"docker": {"apt_packages": ["git"]}, "step_operator.k8s": {"pod_settings": {}}}
    step["config"]["parameters"] = {"when": "2024-01-02T03:04:05", "id": str(uuid.UUID(int=7))}
    return body


def create_deployment(client, stack, pipeline=None, **fields):
    response = client.post(f"{WS}/pipeline_deployments", json=deployment_request(client, stack, pipeline, **fields))
    assert response.status_code == 200, response.json
    return response.json


def register_component(client, name, type_, flavor, configuration=None):
    body = owned(client, name=name, type=type_, flavor=flavor, configuration=configuration or {})
    response = client.post(f"{WS}/components", json=body)
    assert response.status_code == 200, response.json
    return response.json["id"]


def remote_stack(client, name="remote") -> str:
    components = {
        "orchestrator": [register_component(client, f"{name}-k8s", "orchestrator", "kubernetes")],
        "artifact_store": [register_component(client, f"{name}-s3", "artifact_store", "s3", {"path": "s3://bucket"})],
    }
    response = client.post(f"{WS}/stacks", json=owned(client, name=name, components=components))
    assert response.status_code == 200, response.json
    return response.json["id"]


def add_run(app, pipeline_id=None, deployment_id=None, status="completed", created=None) -> uuid.UUID:
    """A run row, as the runs area records them."""
    from store.runs import PipelineRun
    from store.tables import Workspace

    db = app.extensions["zenyard"]["db"]
    with db.unit_of_work() as session:
        from sqlalchemy import select

        workspace_id = session.scalar(select(Workspace.id).where(Workspace.name == "default"))
        run = PipelineRun(
            id=uuid.uuid4(), name=f"run-{uuid.uuid4().hex[:8]}", status=status,
            pipeline_id=uuid.UUID(pipeline_id) if pipeline_id else None,
            deployment_id=uuid.UUID(deployment_id) if deployment_id else None, workspace_id=workspace_id, created=created or datetime.utcnow(),
        )
        session.add(run)
        return run.id


def template_request(client, deployment, name="tpl", **fields) -> dict:
    return owned(client, **{"name": name, "description": None, "source_deployment_id": deployment, "tags": None, **fields})


# --- pipelines -----------------------------------------------------------------


def test_pipeline_lifecycle_and_tags(client):
    created = create_pipeline(client, "training", description="trains", tags=["nightly", "prod"])
    assert_fits("PipelineResponse", created)
    assert created["metadata"]["description"] == "trains"
    assert [t["name"] for t in created["resources"]["tags"]] == ["nightly", "prod"]
    assert created["body"]["latest_run_id"] is None and created["body"]["latest_run_status"] is None

    duplicate = client.post(f"{WS}/pipelines", json=owned(client, name="training"))
    assert duplicate.status_code == 409
    assert duplicate.json["detail"] == [
        "EntityExistsError",
        f"Unable to create pipeline in workspace '{workspace(client)}': A pipeline with this name already exists.",
    ]
    create_pipeline(client, "scoring")

    # the client's look-up before it registers a pipeline
    found = client.get(
        f"/api/v1/pipelines?hydrate=False&sort_by=desc%3Acreated&logical_operator=and&page=1&size=1"
        f"&scope_workspace={workspace(client)}&name=training"
    ).json
    assert_fits("Page_PipelineResponse_", found)
    assert [p["name"] for p in found["items"]] == ["training"]
    # ZenML lists pipelines with their tags even when not hydrated
    assert found["items"][0]["metadata"] is None and len(found["items"][0]["resources"]["tags"]) == 2
    assert [p["name"] for p in client.get("/api/v1/pipelines?tag=prod").json["items"]] == ["training"]
    assert client.get("/api/v1/pipelines?tag=contains:nigh").json["total"] == 1
    assert client.get(f"{WS}/pipelines?name=startswith:sc").json["total"] == 1

    pipeline_id = created["id"]
    updated = client.put(f"/api/v1/pipelines/{pipeline_id}", json={"add_tags": ["new"], "remove_tags": ["prod"]})
    assert updated.status_code == 200, updated.json
    assert [t["name"] for t in updated.json["resources"]["tags"]] == ["new", "nightly"]
    assert updated.json["metadata"]["description"] == "trains"
    assert updated.json["body"]["updated"] > created["body"]["updated"]
    assert client.put(f"/api/v1/pipelines/{pipeline_id}", json={"description": "d2"}).json["metadata"]["description"] == "d2"

    fetched = client.get(f"/api/v1/pipelines/{pipeline_id}")
    assert_fits("PipelineResponse", fetched.json)
    assert fetched.json["metadata"]["workspace"]["name"] == "default"
    assert client.get(f"{WS}/statistics").json["pipelines"] == 2

    assert client.delete(f"/api/v1/pipelines/{pipeline_id}").status_code == 200
    assert client.get(f"/api/v1/pipelines/{pipeline_id}").status_code == 404
    # its tags are no longer counted
    tags = {t["name"]: t["body"]["tagged_count"] for t in client.get("/api/v1/tags").json["items"]}
    assert tags.get("nightly") == 0


def test_latest_run_and_sorting_by_it(client, app):
    now = datetime.utcnow()
    a = create_pipeline(client, "a")["id"]
    b = create_pipeline(client, "b")["id"]
    c = create_pipeline(client, "c")["id"]  # no runs: sorts by its own creation
    add_run(app, a, status="completed", created=now - timedelta(hours=3))
    newest_a = add_run(app, a, status="failed", created=now - timedelta(hours=2))
    newest_b = add_run(app, b, status="running", created=now - timedelta(minutes=5))

    items = {p["name"]: p["body"] for p in client.get("/api/v1/pipelines").json["items"]}
    assert (items["a"]["latest_run_id"], items["a"]["latest_run_status"]) == (str(newest_a), "failed")
    assert (items["b"]["latest_run_id"], items["b"]["latest_run_status"]) == (str(newest_b), "running")
    assert items["c"]["latest_run_id"] is None

    newest_first = client.get("/api/v1/pipelines?sort_by=desc:latest_run").json["items"]
    assert [p["name"] for p in newest_first] == ["c", "b", "a"]
    oldest_first = client.get("/api/v1/pipelines?sort_by=asc:latest_run&size=2").json
    assert [p["name"] for p in oldest_first["items"]] == ["a", "b"] and oldest_first["total_pages"] == 2
    assert client.get(f"/api/v1/pipelines/{c}").json["body"]["latest_run_id"] is None


def test_deleting_a_pipeline_keeps_its_runs_and_deployments(client, app):
    pipeline = create_pipeline(client, "doomed")["id"]
    deployment = create_deployment(client, default_stack(client), pipeline)["id"]
    run = add_run(app, pipeline, deployment)
    schedule = client.post(f"{WS}/schedules", json=owned(
        client, name="hourly", active=True, cron_expression="0 * * * *", orchestrator_id=None, pipeline_id=pipeline,
    )).json["id"]
    assert client.delete(f"/api/v1/pipelines/{pipeline}").status_code == 200

    from store.runs import PipelineRun

    with app.extensions["zenyard"]["db"].reading() as session:
        kept = session.get(PipelineRun, run)
        assert kept is not None and kept.pipeline_id is None and kept.deployment_id == uuid.UUID(deployment)
    kept_deployment = client.get(f"/api/v1/pipeline_deployments/{deployment}").json
    assert kept_deployment["metadata"]["pipeline"] is None
    assert client.get(f"/api/v1/schedules/{schedule}").status_code == 404


def test_runs_of_a_pipeline(client, app):
    from store import runs

    if not hasattr(runs, "RUNS"):
        pytest.skip("the runs area's RUNS resource is not there yet")
    mine = create_pipeline(client, "mine")["id"]
    other = create_pipeline(client, "other")["id"]
    ours = {str(add_run(app, mine, status=s)) for s in ("completed", "failed")}
    add_run(app, other)
    page = client.get(f"/api/v1/pipelines/{mine}/runs?hydrate=false")
    assert page.status_code == 200, page.json
    assert {r["id"] for r in page.json["items"]} == ours
    assert client.get(f"/api/v1/pipelines/{mine}/runs?status=failed").json["total"] == 1
    missing = client.get(f"/api/v1/pipelines/{uuid.uuid4()}/runs")
    assert missing.status_code == 404 and missing.json["detail"][0] == "KeyError"
    assert client.get(f"/api/v1/pipelines/{mine}/runs?sort_by=nope").status_code == 422


# --- builds --------------------------------------------------------------------


def test_builds(client):
    pipeline = create_pipeline(client, "built")["id"]
    stack = default_stack(client)
    build = create_build(client, stack=stack, pipeline=pipeline)
    assert_fits("PipelineBuildResponse", build)
    metadata = build["metadata"]
    assert metadata["images"] == {"orchestrator": {
        "image": "registry.example.com/zenml:abc", "dockerfile": None, "requirements": "numpy\n",
        "settings_checksum": None, "contains_code": True, "requires_code_download": False,
    }}
    assert metadata["pipeline"]["name"] == "built" and metadata["pipeline"]["metadata"] is None
    assert metadata["stack"]["id"] == stack and metadata["is_local"] is False
    create_build(client, is_local=True, checksum="c-2")

    assert client.get("/api/v1/pipeline_builds?is_local=true").json["total"] == 1
    assert client.get(f"/api/v1/pipeline_builds?pipeline_id={pipeline}").json["items"][0]["id"] == build["id"]
    assert client.get("/api/v1/pipeline_builds?checksum=c-2&hydrate=true").json["items"][0]["metadata"]["checksum"] == "c-2"
    listed = client.get(f"{WS}/pipeline_builds?hydrate=true")
    assert_fits("Page_PipelineBuildResponse_", listed.json)
    assert listed.json["total"] == 2

    # builds are immutable
    assert client.put(f"/api/v1/pipeline_builds/{build['id']}", json={}).status_code in (404, 405)
    unknown = client.post(f"{WS}/pipeline_builds", json=owned(client, is_local=False, contains_code=False, stack=str(uuid.uuid4())))
    assert unknown.status_code == 404 and unknown.json["detail"][0] == "KeyError"
    assert client.delete(f"/api/v1/pipeline_builds/{build['id']}").status_code == 200
    assert client.get(f"/api/v1/pipeline_builds/{build['id']}").status_code == 404


# --- deployments ---------------------------------------------------------------


def test_deployment_keeps_what_the_client_sent(client):
    pipeline = create_pipeline(client, "bench_seed")["id"]
    stack = default_stack(client)
    build = create_build(client, stack=stack, pipeline=pipeline)["id"]
    schedule = client.post(f"{WS}/schedules", json=owned(
        client, name="s", active=True, interval_second="PT1H", orchestrator_id=None, pipeline_id=pipeline,
    )).json["id"]
    repository = client.post(f"{WS}/code_repositories", json=owned(
        client, name="repo", config={}, source={"module": "m", "attribute": "R", "type": "user"},
    )).json["id"]
    sent = deployment_request(
        client, stack, pipeline, build=build, schedule=schedule,
        code_reference={"commit": "abc123", "subdirectory": "src", "code_repository": repository},
    )
    created = client.post(f"{WS}/pipeline_deployments", json=sent)
    assert created.status_code == 200, created.json
    assert_fits("PipelineDeploymentResponse", created.json)

    got = client.get(f"/api/v1/pipeline_deployments/{created.json['id']}").json
    assert_fits("PipelineDeploymentResponse", got)
    metadata = got["metadata"]
    for field in ("pipeline_configuration", "step_configurations", "client_environment", "pipeline_spec",
                  "run_name_template", "client_version", "server_version", "pipeline_version_hash", "code_path"):
        assert metadata[field] == sent[field], field
    # key order too: the client hashes and compares configurations
    assert json.dumps(metadata["step_configurations"]) == json.dumps(sent["step_configurations"])
    assert metadata["pipeline"]["id"] == pipeline and metadata["stack"]["id"] == stack
    assert metadata["build"]["id"] == build and metadata["build"]["metadata"] is None
    assert metadata["schedule"]["name"] == "s" and metadata["template_id"] is None
    reference = metadata["code_reference"]
    assert reference["body"]["commit"] == "abc123" and reference["body"]["subdirectory"] == "src"
    assert reference["body"]["code_repository"]["id"] == repository
    # the same repository, commit and subdirectory: the same code reference
    again = client.post(f"{WS}/pipeline_deployments", json=sent).json
    assert again["metadata"]["code_reference"]["id"] == reference["id"]

    brief = client.get("/api/v1/pipeline_deployments?hydrate=false").json
    assert_fits("Page_PipelineDeploymentResponse_", brief)
    assert brief["total"] == 2 and brief["items"][0]["metadata"] is None
    assert client.get(f"/api/v1/pipeline_deployments?build_id={build}").json["total"] == 2
    assert client.get(f"{WS}/pipeline_deployments?schedule_id={uuid.uuid4()}").json["total"] == 0


def test_bad_deployments_write_nothing(client):
    stack = default_stack(client)
    missing_stack = client.post(f"{WS}/pipeline_deployments", json=deployment_request(client, str(uuid.uuid4())))
    assert missing_stack.status_code == 404
    body = deployment_request(client, stack)
    body["pipeline_configuration"]["unknown_field"] = 1  # ZenML forbids extras in a configuration
    assert client.post(f"{WS}/pipeline_deployments", json=body).status_code == 422
    assert client.get("/api/v1/pipeline_deployments").json["total"] == 0


def test_deleting_a_deployment_deletes_its_runs(client, app):
    deployment = create_deployment(client, default_stack(client))["id"]
    run = add_run(app, deployment_id=deployment)
    assert client.delete(f"/api/v1/pipeline_deployments/{deployment}").status_code == 200
    from store.runs import PipelineRun

    with app.extensions["zenyard"]["db"].reading() as session:
        assert session.get(PipelineRun, run) is None


# --- schedules -----------------------------------------------------------------


def test_schedules(client):
    pipeline = create_pipeline(client, "scheduled")["id"]
    orchestrator = client.get("/api/v1/components?type=orchestrator&name=default").json["items"][0]["id"]
    body = owned(
        client, name="every-hour", active=True, cron_expression=None, start_time="2024-05-01T10:00:00",
        end_time=None, interval_second="PT1H0.5S", catchup=False, run_once_start_time=None,
        orchestrator_id=orchestrator, pipeline_id=pipeline,
    )
    created = client.post(f"{WS}/schedules", json=body)
    assert created.status_code == 200, created.json
    assert_fits("ScheduleResponse", created.json)
    assert created.json["body"]["interval_second"] == "PT1H0.5S"
    assert created.json["body"]["start_time"] == "2024-05-01T10:00:00"
    assert created.json["metadata"] == {
        "workspace": created.json["metadata"]["workspace"], "orchestrator_id": orchestrator, "pipeline_id": pipeline,
    }
    schedule = created.json["id"]

    updated = client.put(f"/api/v1/schedules/{schedule}", json={
        "interval_second": "P1DT2H", "active": False, "pipeline_id": str(uuid.uuid4()),
    })
    assert updated.status_code == 200, updated.json
    assert updated.json["body"]["interval_second"] == "P1DT2H" and updated.json["body"]["active"] is False
    assert updated.json["metadata"]["pipeline_id"] == pipeline  # ZenML does not move a schedule

    assert client.get("/api/v1/schedules?active=false").json["total"] == 1
    assert client.get("/api/v1/schedules?interval_second=93600").json["total"] == 1
    assert client.get(f"/api/v1/schedules?pipeline_id={pipeline}&name=contains:hour").json["total"] == 1
    assert client.get("/api/v1/schedules?start_time=gt:2024-06-01 00:00:00").json["total"] == 0
    page = client.get("/api/v1/schedules?hydrate=true").json
    assert_fits("Page_ScheduleResponse_", page)

    bad = client.put(f"/api/v1/schedules/{schedule}", json={"interval_second": "an hour"})
    assert bad.status_code == 422 and "interval_second" in bad.json["detail"][1]
    assert client.delete(f"/api/v1/schedules/{schedule}").status_code == 200
    assert client.get(f"/api/v1/schedules/{schedule}").status_code == 404


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_durations_read_and_written_as_pydantic_does(app):
    from store.pipelines import format_duration, parse_duration

    # pydantic 2's JSON for timedelta(seconds=...), as the stock client sends it
    written = {0: "PT0S", 59.5: "PT59.5S", 90: "PT1M30S", 3600.5: "PT1H0.5S", 86400: "P1D",
               90061.25: "P1DT1H1M1.25S", 864005: "P10DT5S", 34560000: "P1Y35D", 0.000001: "PT0.000001S",
               -30: "-PT30S"}
    for seconds, text in written.items():
        assert format_duration(seconds) == text
        assert parse_duration(text) == pytest.approx(seconds)
    assert parse_duration("PT1.5H") == 5400 and parse_duration("P1W") == 604800 and parse_duration("1:00:00") == 3600
    for bad in ("", "P", "PT", "1 hour", "P1H"):
        with pytest.raises(Exception):
            parse_duration(bad)


# --- run templates -------------------------------------------------------------


def test_run_template_refusals(client, monkeypatch):
    stack = default_stack(client)
    no_build = create_deployment(client, stack)["id"]
    refused = client.post(f"{WS}/run_templates", json=template_request(client, no_build))
    assert refused.status_code == 400
    assert refused.json["detail"] == ["ValueError", "Unable to create run template as there is no associated build."]

    local_build = create_build(client, stack=stack)["id"]
    local = create_deployment(client, stack, build=local_build)["id"]
    refused = client.post(f"{WS}/run_templates", json=template_request(client, local))
    assert refused.status_code == 400
    assert refused.json["detail"] == [
        "ValueError", "Unable to create run template as the associated stack contains local components."
    ]
    stackless = create_deployment(client, stack, build=create_build(client)["id"])["id"]
    refused = client.post(f"{WS}/run_templates", json=template_request(client, stackless))
    assert refused.json["detail"][1] == "Unable to create run template as the associated build has no stack reference."
    unknown = client.post(f"{WS}/run_templates", json=template_request(client, str(uuid.uuid4())))
    assert unknown.status_code == 400 and unknown.json["detail"][1].endswith("not found.")
    assert client.get("/api/v1/run_templates").json["total"] == 0

    # the server may allow stacks with local components
    settings = client.app.extensions["zenyard"]["settings"]  # the app is shared: restored after the test
    monkeypatch.setitem(settings, "TEMPLATES_ALLOW_LOCAL_COMPONENTS", True)
    allowed = client.post(f"{WS}/run_templates", json=template_request(client, local))
    assert allowed.status_code == 200, allowed.json
    assert allowed.json["body"]["runnable"] is True
    monkeypatch.setitem(settings, "TEMPLATES_ALLOW_LOCAL_COMPONENTS", False)
    assert client.get(f"/api/v1/run_templates/{allowed.json['id']}").json["body"]["runnable"] is False


def test_run_templates(client, app):
    stack = remote_stack(client)
    pipeline = create_pipeline(client, "templated")["id"]
    build = create_build(client, stack=stack, pipeline=pipeline)["id"]
    deployment = create_deployment(client, stack, pipeline, build=build)
    created = client.post(f"{WS}/run_templates", json=template_request(
        client, deployment["id"], name="nightly", description="the nightly run", tags=["t1"],
    ))
    assert created.status_code == 200, created.json
    template = created.json
    assert_fits("RunTemplateResponse", template)
    assert template["body"]["runnable"] is True and template["body"]["latest_run_id"] is None
    assert template["metadata"]["description"] == "the nightly run"
    assert template["metadata"]["pipeline_spec"] == deployment["metadata"]["pipeline_spec"]
    assert template["metadata"]["config_schema"] is None
    config = template["metadata"]["config_template"]
    assert config["run_name"] == "bench_seed-{date}-{time}"
    assert config["settings"] == {"resources": {"cpu_count": 2.0}}  # docker settings are not run options
    assert config["steps"]["load"]["settings"] == {"step_operator.k8s": {"pod_settings": {}}}
    assert "outputs" not in config["steps"]["load"] and "name" not in config["steps"]["load"]
    resources = template["resources"]
    assert resources["source_deployment"]["id"] == deployment["id"] and resources["source_deployment"]["metadata"] is None
    assert resources["pipeline"]["id"] == pipeline and resources["build"]["id"] == build
    assert [t["name"] for t in resources["tags"]] == ["t1"]

    duplicate = client.post(f"{WS}/run_templates", json=template_request(client, deployment["id"], name="nightly"))
    assert duplicate.status_code == 409
    assert duplicate.json["detail"] == [
        "EntityExistsError",
        "Unable to create run template in workspace 'default': A run template with this name already exists.",
    ]

    # runs started from the template carry it on their deployment
    from_template = create_deployment(client, stack, pipeline, build=build, template=template["id"])["id"]
    add_run(app, pipeline, from_template, status="completed", created=datetime.utcnow() - timedelta(minutes=1))
    latest = add_run(app, pipeline, from_template, status="running")
    listed = client.get("/api/v1/run_templates").json
    assert_fits("Page_RunTemplateResponse_", listed)
    item = listed["items"][0]
    assert (item["body"]["latest_run_id"], item["body"]["latest_run_status"]) == (str(latest), "running")
    assert item["metadata"] is None and item["resources"]["tags"][0]["name"] == "t1"

    for query, total in ((f"pipeline_id={pipeline}", 1), (f"stack_id={stack}", 1), (f"build_id={build}", 1),
                         (f"stack_id={default_stack(client)}", 0), ("tag=t1", 1), ("tag=t2", 0), ("name=nightly", 1),
                         (f"code_repository_id={uuid.uuid4()}", 0)):
        assert client.get(f"/api/v1/run_templates?{query}").json["total"] == total, query
    assert client.get(f"{WS}/run_templates?hydrate=true").json["total"] == 1

    updated = client.put(f"/api/v1/run_templates/{template['id']}", json={
        "name": "nightly-2", "add_tags": ["t2"], "remove_tags": ["t1"],
    })
    assert updated.status_code == 200, updated.json
    assert updated.json["name"] == "nightly-2" and updated.json["metadata"]["description"] == "the nightly run"
    assert [t["name"] for t in updated.json["resources"]["tags"]] == ["t2"]
    client.post(f"{WS}/run_templates", json=template_request(client, deployment["id"], name="other"))
    clash = client.put(f"/api/v1/run_templates/{template['id']}", json={"name": "other"})
    assert clash.status_code == 409

    assert client.delete(f"/api/v1/run_templates/{template['id']}").status_code == 200
    assert client.get(f"/api/v1/run_templates/{template['id']}").status_code == 404
    assert client.get(f"/api/v1/pipeline_deployments/{from_template}").json["metadata"]["template_id"] is None


def test_local_components_are_recognised():
    from store.pipelines import is_local_component

    assert is_local_component("orchestrator", "local", {})
    assert is_local_component("orchestrator", "local_docker", {})
    assert not is_local_component("orchestrator", "kubernetes", {})
    assert is_local_component("orchestrator", "kubernetes", {"local": True})
    assert is_local_component("container_registry", "default", {"uri": "localhost:5000"})
    assert not is_local_component("container_registry", "default", {"uri": "ghcr.io/me"})
    assert is_local_component("experiment_tracker", "mlflow", {})
    assert not is_local_component("experiment_tracker", "mlflow", {"tracking_uri": "https://mlflow.example.com"})
    assert not is_local_component("artifact_store", "s3", {"path": "s3://b"})


def test_the_local_components_setting_is_read_from_the_environment():
    from settings import load_settings

    assert load_settings(environ={})["TEMPLATES_ALLOW_LOCAL_COMPONENTS"] is False
    assert load_settings(environ={"ZENYARD_TEMPLATES_ALLOW_LOCAL_COMPONENTS": "true"})["TEMPLATES_ALLOW_LOCAL_COMPONENTS"] is True


# --- a page costs the same number of statements whatever its size ----------


def _statements(client, count_queries, url) -> int:
    with count_queries() as counted:
        response = client.get(url)
    assert response.status_code == 200, response.json
    return counted.n


def _assert_constant(client, count_queries, url):
    small = _statements(client, count_queries, url + ("&" if "?" in url else "?") + "size=2")
    large = _statements(client, count_queries, url + ("&" if "?" in url else "?") + "size=20")
    assert large <= small, (url, small, large)


def test_lists_do_not_grow_with_the_page(client, app, count_queries):
    stack = remote_stack(client)
    repository = client.post(f"{WS}/code_repositories", json=owned(
        client, name="repo", config={}, source={"module": "m", "attribute": "R", "type": "user"},
    )).json["id"]
    for i in range(20):
        pipeline = create_pipeline(client, f"p{i}", tags=[f"t{i}", "all"])["id"]
        build = create_build(client, stack=stack, pipeline=pipeline)["id"]
        schedule = client.post(f"{WS}/schedules", json=owned(
            client, name=f"s{i}", active=True, interval_second="PT1M", orchestrator_id=None, pipeline_id=pipeline,
        )).json["id"]
        deployment = create_deployment(
            client, stack, pipeline, build=build, schedule=schedule,
            code_reference={"commit": f"c{i}", "subdirectory": "", "code_repository": repository},
        )["id"]
        template = client.post(f"{WS}/run_templates", json=template_request(
            client, deployment, name=f"tpl{i}", tags=["all"],
        )).json["id"]
        from_template = create_deployment(client, stack, pipeline, build=build, template=template)["id"]
        add_run(app, pipeline, from_template)

    for url in ("/api/v1/pipelines", "/api/v1/pipelines?hydrate=true&sort_by=desc:latest_run",
                f"{WS}/pipelines?tag=all", "/api/v1/pipeline_builds?hydrate=true", f"{WS}/pipeline_builds",
                "/api/v1/pipeline_deployments?hydrate=true", f"{WS}/pipeline_deployments",
                "/api/v1/schedules?hydrate=true", "/api/v1/run_templates", "/api/v1/run_templates?hydrate=true",
                f"{WS}/run_templates?hydrate=true"):
        _assert_constant(client, count_queries, url)
    from store import runs

    if hasattr(runs, "RUNS"):
        pipeline = client.get("/api/v1/pipelines?name=p0").json["items"][0]["id"]
        _assert_constant(client, count_queries, f"/api/v1/pipelines/{pipeline}/runs?hydrate=true")
