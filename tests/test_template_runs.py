"""Template runs without Docker: the trigger route, the workload state
machine, the log routes, cancellation, claims and the reaper."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from store import workloads
from store.base import utcnow
from tests.test_pipelines import (
    WS, create_build, create_deployment, create_pipeline, remote_stack, template_request,
)

PARAMETERS = {"when": "2024-01-02T03:04:05", "id": str(uuid.UUID(int=7))}


@pytest.fixture
def sent(app, monkeypatch):
    """Template runs enabled (a server URL); what was enqueued, and whether
    the workload was committed when it was."""
    import tasks.template_runs as tasks

    monkeypatch.setitem(app.extensions["zenyard"]["settings"], "SERVER_URL", "http://127.0.0.1:8080")
    seen: list[dict] = []

    def enqueue(workload_id):
        # a separate session: sees only what was committed
        seen.append({"id": workload_id, "committed": workloads.get_workload(app.extensions["zenyard"]["db"], workload_id)})

    monkeypatch.setattr(tasks, "enqueue", enqueue)
    return seen


def make_template(client, name="nightly", stack=None) -> dict:
    stack = stack or remote_stack(client, name=f"{name}-stack")
    pipeline = create_pipeline(client, f"{name}-pipeline")["id"]
    build = create_build(client, stack=stack, pipeline=pipeline, checksum=None)["id"]
    deployment = create_deployment(client, stack, pipeline, build=build)
    response = client.post(f"{WS}/run_templates", json=template_request(client, deployment["id"], name=name))
    assert response.status_code == 200, response.json
    return {"template": response.json["id"], "deployment": deployment, "stack": stack, "pipeline": pipeline, "build": build}


def trigger(client, template_id, config=None):
    return client.post(f"/api/v1/run_templates/{template_id}/runs", json=config if config is not None else {})


def db_of(app):
    return app.extensions["zenyard"]["db"]


def count(app, table) -> int:
    with db_of(app).reading() as session:
        return session.scalar(select(func.count()).select_from(table))


def workload_of_run(app, run_id) -> dict:
    with db_of(app).reading() as session:
        row = session.scalars(select(workloads.Workload).where(workloads.Workload.run_id == uuid.UUID(run_id))).one()
        return workloads.present(row)


def test_trigger_creates_deployment_placeholder_run_and_queued_workload(client, app, sent):
    made = make_template(client)
    response = trigger(client, made["template"], {
        "run_name": "from-template-{date}", "enable_cache": False,
        "steps": {"load": {"parameters": PARAMETERS, "enable_cache": True}},
    })
    assert response.status_code == 200, response.json
    run = response.json
    assert run["body"]["status"] == "initializing"
    assert run["name"].startswith("from-template-20")
    assert run["metadata"]["template_id"] == made["template"]

    # the new deployment: the template's steps with the run configuration
    deployment = client.get(f"/api/v1/pipeline_deployments/{run['body']['deployment_id']}").json
    assert deployment["id"] != made["deployment"]["id"]
    assert deployment["metadata"]["template_id"] == made["template"]
    assert deployment["metadata"]["build"]["id"] == made["build"]
    assert deployment["metadata"]["stack"]["id"] == made["stack"]
    config = deployment["metadata"]["pipeline_configuration"]
    assert config["name"] == made["deployment"]["metadata"]["pipeline_configuration"]["name"]
    assert config["enable_cache"] is False
    # the kubernetes orchestrator waits for its run unless told not to
    assert config["settings"]["orchestrator.kubernetes"] == {"synchronous": False}
    step = deployment["metadata"]["step_configurations"]["load"]
    assert step["config"]["parameters"] == PARAMETERS and step["config"]["enable_cache"] is True
    assert step["spec"] == made["deployment"]["metadata"]["step_configurations"]["load"]["spec"]

    # the workload was committed in `queued` before the task was sent
    assert len(sent) == 1 and sent[0]["committed"]["state"] == "queued"
    workload = workload_of_run(app, run["id"])
    assert workload["id"] == sent[0]["id"] and workload["state"] == "queued" and workload["queued_at"]
    assert str(workload["deployment_id"]) == run["body"]["deployment_id"]


def test_the_stock_client_body_is_accepted(client, app, sent):
    """What `Client().trigger_pipeline(template_id=...)` sends: every field, mostly null."""
    made = make_template(client)
    body = {
        "run_name": None, "enable_cache": None, "enable_artifact_metadata": None,
        "enable_artifact_visualization": None, "enable_step_logs": None, "schedule": None, "build": None,
        "steps": {"load": {"name": None, "enable_cache": None, "enable_artifact_metadata": None,
                           "enable_artifact_visualization": None, "enable_step_logs": None, "step_operator": None,
                           "experiment_tracker": None, "parameters": PARAMETERS, "settings": {}, "extra": {},
                           "failure_hook_source": None, "success_hook_source": None, "model": None, "retry": None,
                           "outputs": {}}},
        "settings": {}, "extra": {}, "model": None, "parameters": None, "retry": None,
        "failure_hook_source": None, "success_hook_source": None,
    }
    response = trigger(client, made["template"], body)
    assert response.status_code == 200, response.json
    assert response.json["name"].startswith(made["deployment"]["metadata"]["pipeline_configuration"]["name"] + "-")


def test_refusals_are_clear_4xx_and_write_nothing(client, app, sent, monkeypatch):
    made = make_template(client)
    before = (count(app, workloads.Workload), count(app, __import__("store.runs").runs.PipelineRun))

    missing = trigger(client, made["template"])
    assert missing.status_code == 400
    assert missing.json["detail"][0] == "ValueError"
    assert "missing the following required parameters for step load" in missing.json["detail"][1]
    assert "'id'" in missing.json["detail"][1] and "'when'" in missing.json["detail"][1]

    for config, message in (
        ({"parameters": {"a": 1}}, "Can't set parameters when running pipeline via Rest API."),
        ({"schedule": {"cron_expression": "* * * * *"}}, "Can't set schedule when running pipeline via Rest API."),
        ({"settings": {"docker": {"parent_image": "x"}}}, "Can't set DockerSettings when running pipeline via Rest API."),
    ):
        refused = trigger(client, made["template"], config)
        assert refused.status_code == 400 and refused.json["detail"] == ["ValueError", message]

    unknown_field = trigger(client, made["template"], {"no_such_field": 1})
    assert unknown_field.status_code == 422 and "no_such_field" in unknown_field.json["detail"][1]
    assert trigger(client, str(uuid.uuid4())).status_code == 404
    assert trigger(client, "not-a-uuid").status_code == 422

    monkeypatch.setitem(app.extensions["zenyard"]["settings"], "SERVER_URL", "")
    no_url = trigger(client, made["template"], {"steps": {"load": {"parameters": PARAMETERS}}})
    assert no_url.status_code == 501 and "ZENML_SERVER_URL" in no_url.json["detail"][1]
    assert (count(app, workloads.Workload), count(app, __import__("store.runs").runs.PipelineRun)) == before
    assert sent == []


def test_local_components_need_the_single_host_setting(client, app, sent, monkeypatch):
    settings = app.extensions["zenyard"]["settings"]
    monkeypatch.setitem(settings, "TEMPLATES_ALLOW_LOCAL_COMPONENTS", True)
    local = client.get("/api/v1/stacks?name=default").json["items"][0]["id"]
    made = make_template(client, name="local", stack=local)
    monkeypatch.setitem(settings, "TEMPLATES_ALLOW_LOCAL_COMPONENTS", False)
    refused = trigger(client, made["template"], {"steps": {"load": {"parameters": PARAMETERS}}})
    assert refused.status_code == 400 and refused.json["detail"] == ["ValueError", "No local stack components allowed."]
    monkeypatch.setitem(settings, "TEMPLATES_ALLOW_LOCAL_COMPONENTS", True)
    assert trigger(client, made["template"], {"steps": {"load": {"parameters": PARAMETERS}}}).status_code == 200


def test_a_broker_that_refuses_fails_the_run(client, app, sent, monkeypatch):
    import tasks.template_runs as tasks

    def down(workload_id):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks, "enqueue", down)
    made = make_template(client)
    response = trigger(client, made["template"], {"steps": {"load": {"parameters": PARAMETERS}}})
    assert response.status_code == 503 and "task queue" in response.json["detail"][1]
    runs = client.get("/api/v1/runs").json["items"]
    assert [r["body"]["status"] for r in runs] == ["failed"]
    logs = client.get(f"/api/v1/pipeline_deployments/{runs[0]['body']['deployment_id']}/logs").json
    assert "broker unreachable" in logs


def start_run(client, app) -> tuple[dict, dict]:
    made = make_template(client, name=f"t{uuid.uuid4().hex[:6]}")
    run = trigger(client, made["template"], {"steps": {"load": {"parameters": PARAMETERS}}}).json
    return run, workload_of_run(app, run["id"])


def test_logs_whole_from_offset_and_followed(client, app, sent):
    run, workload = start_run(client, app)
    url = f"/api/v1/pipeline_deployments/{run['body']['deployment_id']}/logs"
    assert client.get(url).json == ""
    writer = workloads.LogWriter(db_of(app), workload["id"])
    writer.write("Step 1/2 : FROM base\nStep 2/2 : LABEL x=1").write("é ünïcode line").close()
    whole = client.get(url)
    assert whole.json == "Step 1/2 : FROM base\nStep 2/2 : LABEL x=1\né ünïcode line\n"
    assert int(whole.headers["X-Zenyard-Log-Offset"]) == len(whole.json)
    assert client.get(f"{url}?offset=10").json == whole.json[10:]
    assert client.get(f"{url}?offset={len(whole.json) - 3}").json == whole.json[-3:]
    assert client.get(f"{url}?offset=9999").json == ""
    assert client.get(f"{url}?offset=-1").status_code == 422
    assert client.get(f"{url}?offset=x").status_code == 422
    assert client.get(f"/api/v1/pipeline_deployments/{uuid.uuid4()}/logs").status_code == 404
    assert client.get("/api/v1/pipeline_deployments/nope/logs").status_code == 422

    # follow: new lines arrive until the workload ends
    db = db_of(app)
    job = workloads.claim(db, workload["id"], "w1", timedelta(seconds=60))

    def later():
        time.sleep(0.7)
        workloads.LogWriter(db, workload["id"]).write("late line").close()
        time.sleep(0.3)
        workloads.advance(db, workload["id"], job["attempt"], "failed", error="boom")
        workloads.LogWriter(db, workload["id"]).write("after the end").close()

    thread = threading.Thread(target=later)
    thread.start()
    followed = client.get(f"{url}?follow=true&offset={len(whole.json)}")
    thread.join()
    assert followed.mimetype == "text/plain"
    assert followed.get_data(as_text=True).startswith("late line\n")


def test_cancel(client, app, sent):
    queued_run, queued = start_run(client, app)
    cancelled = client.put(f"/api/v1/runs/{queued_run['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json["state"] == "cancelled"
    assert client.get(f"/api/v1/runs/{queued_run['id']}").json["body"]["status"] == "failed"
    assert client.put(f"/api/v1/runs/{queued_run['id']}/cancel").json["state"] == "cancelled"  # again: same answer
    # the task that arrives later finds nothing to claim
    assert workloads.claim(db_of(app), queued["id"], "w1", timedelta(seconds=60)) is None

    running_run, running = start_run(client, app)
    job = workloads.claim(db_of(app), running["id"], "w1", timedelta(seconds=60))
    asked = client.put(f"/api/v1/runs/{running_run['id']}/cancel").json
    assert asked["state"] == "building" and asked["cancel_requested"] is True
    assert workloads.beat(db_of(app), running["id"], job["attempt"]) == (True, True)

    workloads.advance(db_of(app), running["id"], job["attempt"], "cancelled")
    done_run, done = start_run(client, app)
    job = workloads.claim(db_of(app), done["id"], "w1", timedelta(seconds=60))
    for state in ("starting", "running", "completed"):
        workloads.advance(db_of(app), done["id"], job["attempt"], state)
    refused = client.put(f"/api/v1/runs/{done_run['id']}/cancel")
    assert refused.status_code == 403 and "already completed" in refused.json["detail"][1]
    assert client.put(f"/api/v1/runs/{uuid.uuid4()}/cancel").status_code == 404


def test_cancel_is_for_the_runs_user_or_an_admin(client, app, sent, make_user):
    from tests.conftest import ApiClient

    run, _ = start_run(client, app)
    make_user("other", password="pw")
    other = ApiClient(app, "other", "pw")
    assert other.put(f"/api/v1/runs/{run['id']}/cancel").status_code == 403


def test_claims_are_conditional_and_attempts_fence_old_workers(client, app, sent):
    db = db_of(app)
    run, workload = start_run(client, app)
    stale = timedelta(seconds=60)
    first = workloads.claim(db, workload["id"], "w1", stale)
    assert first["attempt"] == 1 and first["run_id"] == run["id"]
    assert first["build"]["images"]["orchestrator"]["image"] == "registry.example.com/zenml:abc"
    assert {c["type"] for c in first["components"]} == {"orchestrator", "artifact_store"}
    assert workloads.claim(db, workload["id"], "w2", stale) is None  # taken, and beating

    # w1 goes silent: w2 may take it over; w1's writes are refused from then on
    assert workloads.claim(db, workload["id"], "w2", timedelta(seconds=-1))["attempt"] == 2
    with pytest.raises(workloads.WorkloadGone):
        workloads.advance(db, workload["id"], 1, "starting")
    assert workloads.beat(db, workload["id"], 1) == (False, False)
    workloads.advance(db, workload["id"], 2, "starting")
    with pytest.raises(workloads.WorkloadGone):  # not a move the machine allows
        workloads.advance(db, workload["id"], 2, "pushing")
    state = workloads.get_workload(db, workload["id"])
    assert state["state"] == "starting" and state["worker"] == "w2" and state["building_at"] and state["starting_at"]


def test_the_reaper_requeues_then_gives_up(client, app, sent):
    import tasks.template_runs as tasks

    db = db_of(app)
    settings = app.extensions["zenyard"]["settings"]
    run, workload = start_run(client, app)
    sent.clear()
    workloads.claim(db, workload["id"], "dead-worker", timedelta(seconds=60))
    with app.app_context():
        assert tasks.reap_workloads() == []  # its heartbeat is fresh
        assert tasks.reap_workloads(restarted_worker="dead-worker") == [(str(workload["id"]), "queued")]
    assert [s["id"] for s in sent] == [workload["id"]] and sent[0]["committed"]["state"] == "queued"
    assert "dead-worker stopped" in client.get(f"/api/v1/pipeline_deployments/{run['body']['deployment_id']}/logs").json

    for attempt in range(2, settings["WORKLOAD_MAX_ATTEMPTS"] + 1):
        assert workloads.claim(db, workload["id"], "w", timedelta(seconds=60))["attempt"] == attempt
        reaped = workloads.reap(db, timedelta(seconds=-1), settings["WORKLOAD_MAX_ATTEMPTS"])
    assert reaped == [(workload["id"], "failed")]
    assert "gave up after 3 attempts" in workloads.get_workload(db, workload["id"])["error"]
    assert client.get(f"/api/v1/runs/{run['id']}").json["body"]["status"] == "failed"


def test_the_run_follows_the_workload_but_keeps_a_finished_status(client, app, sent):
    from store.runs import PipelineRun

    db = db_of(app)
    run, workload = start_run(client, app)
    job = workloads.claim(db, workload["id"], "w", timedelta(seconds=60))
    workloads.advance(db, workload["id"], job["attempt"], "starting")
    workloads.advance(db, workload["id"], job["attempt"], "running")
    with db.unit_of_work() as session:  # the runner finished the pipeline
        session.get(PipelineRun, uuid.UUID(run["id"])).status = "completed"
    workloads.advance(db, workload["id"], job["attempt"], "failed", error="exit 1 after the run")
    assert client.get(f"/api/v1/runs/{run['id']}").json["body"]["status"] == "completed"


def test_deleting_the_run_takes_its_workload_and_log(client, app, sent):
    run, workload = start_run(client, app)
    workloads.LogWriter(db_of(app), workload["id"]).write("a line").close()
    assert client.delete(f"/api/v1/runs/{run['id']}").status_code == 200
    assert workloads.get_workload(db_of(app), workload["id"]) is None
    assert count(app, workloads.WorkloadLog) == 0


def bare_workload(db) -> uuid.UUID:
    """A workload row with no run (not through the API)."""
    from store.pipelines import PipelineDeployment
    from store.tables import Workspace

    with db.unit_of_work() as session:
        workspace = session.scalar(select(Workspace.id))
        deployment = PipelineDeployment(run_name_template="x", workspace_id=workspace)
        session.add(deployment)
        session.flush()
        workload = workloads.Workload(deployment_id=deployment.id, state="queued", queued_at=utcnow())
        session.add(workload)
        session.flush()
        return workload.id


def test_log_writer_batches(sqlite_app, count_queries):
    db = db_of(sqlite_app)
    workload_id = bare_workload(db)
    writer = workloads.LogWriter(db, workload_id, batch_lines=100, batch_seconds=3600)
    with count_queries() as counted:
        for i in range(250):
            writer.write(f"line {i}")
        writer.close()
    assert counted.n < 20, counted.statements
    text, end, _ = workloads.read_log(db, workload_id)
    assert text.splitlines() == [f"line {i}" for i in range(250)] and end == len(text)
    assert json.dumps(text)


def test_a_live_log_writer_flushes_a_quiet_runners_last_lines(app):
    """A runner that prints a line and then stays silent: the line is readable
    within the batch period, without waiting for the next line."""
    db = db_of(app)
    workload_id = bare_workload(db)
    writer = workloads.LogWriter(db, workload_id, batch_seconds=0.2).start_flusher()
    try:
        writer.write("first line")  # both lines wait in the batch: no write comes after them
        writer.write("then silence")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "then silence" not in workloads.read_log(db, workload_id)[0]:
            time.sleep(0.05)
        assert workloads.read_log(db, workload_id)[0] == "first line\nthen silence\n"
    finally:
        writer.close()
    assert not writer.flusher.is_alive()
