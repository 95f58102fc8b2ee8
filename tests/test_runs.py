"""Pipeline runs and steps, recorded as the ZenML client records them (the
request bodies come from real client exchanges, tests/data)."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path

import pytest

REQUESTS = json.loads((Path(__file__).parent / "data" / "client_requests.json").read_text())


class Recorder:
    """Drives the API with the client's own request shapes."""

    def __init__(self, client):
        self.client = client
        self.user = client.get("/api/v1/current-user").json["id"]
        self.ws = client.get("/api/v1/workspaces/default").json["id"]
        stack = client.get("/api/v1/stacks?name=default&hydrate=true").json["items"][0]
        self.stack = stack["id"]
        self.artifact_store = stack["metadata"]["components"]["artifact_store"][0]["id"]

    def body(self, kind: str, **changes) -> dict:
        body = copy.deepcopy(REQUESTS[kind])
        body.update(user=self.user, workspace=self.ws)
        body.update(changes)
        return body

    def ok(self, response):
        assert response.status_code == 200, response.json
        return response.json

    def pipeline(self, name="training") -> dict:
        body = {"user": self.user, "workspace": self.ws, "name": name}
        response = self.client.post(f"/api/v1/workspaces/{self.ws}/pipelines", json=body)
        if response.status_code == 409:
            return self.client.get(f"/api/v1/pipelines?name={name}").json["items"][0]
        return self.ok(response)

    def deployment(self, pipeline_id, steps=("load", "train")) -> dict:
        body = self.body("deployment", stack=self.stack, pipeline=pipeline_id, build=None, schedule=None,
                         code_reference=None, template=None)
        template = next(iter(body["step_configurations"].values()))
        body["step_configurations"] = {
            name: {**copy.deepcopy(template), "config": {**template["config"], "name": name}} for name in steps
        }
        return self.ok(self.client.post(f"/api/v1/workspaces/{self.ws}/pipeline_deployments", json=body))

    def run(self, deployment, pipeline_id, name=None, orchestrator_run_id=None, status="running") -> list:
        body = self.body("run", name=name or f"run-{uuid.uuid4().hex[:8]}", deployment=deployment["id"],
                         pipeline=pipeline_id, orchestrator_run_id=orchestrator_run_id or str(uuid.uuid4()),
                         status=status)
        return self.ok(self.client.post(f"/api/v1/workspaces/{self.ws}/runs/get-or-create", json=body))

    def artifact_version(self, name="training::load::output") -> dict:
        artifacts = self.client.get(f"/api/v1/artifacts?name={name}").json["items"]
        artifact = artifacts[0] if artifacts else self.ok(self.client.post("/api/v1/artifacts", json={"name": name}))
        # as the client does: the next number after the latest version
        latest = self.client.get(f"/api/v1/artifact_versions?name={name}&sort_by=desc:version_number&size=1").json
        number = int(latest["items"][0]["body"]["version"]) + 1 if latest["items"] else 1
        body = self.body("artifact_version", artifact_id=artifact["id"], artifact_store_id=self.artifact_store,
                         version=number)
        return self.ok(self.client.post("/api/v1/artifact_versions", json=body))

    def step(self, run, deployment, name, **changes) -> dict:
        body = self.body("step", name=name, pipeline_run_id=run["id"], deployment=deployment["id"],
                         logs=None, **changes)
        return self.ok(self.client.post("/api/v1/steps", json=body))

    def finish(self, step, outputs=None, status="completed") -> dict:
        body = {"status": status, "end_time": "2026-11-29T04:27:38.961714", "outputs": outputs or {}}
        return self.ok(self.client.put(f"/api/v1/steps/{step['id']}", json=body))


@pytest.fixture
def rec(client) -> Recorder:
    return Recorder(client)


def test_a_two_step_run_completes_when_its_steps_do(rec, client):
    pipeline = rec.pipeline()
    deployment = rec.deployment(pipeline["id"])
    run, created = rec.run(deployment, pipeline["id"])
    assert created is True and run["body"]["status"] == "running"
    load = rec.step(run, deployment, "load")
    output = rec.artifact_version()
    rec.finish(load, {"output": output["id"]})
    assert client.get(f"/api/v1/runs/{run['id']}/status").json == "running"
    train = rec.step(run, deployment, "train", inputs={"data": output["id"]}, parent_step_ids=[load["id"]])
    finished = rec.finish(train)
    assert finished["body"]["inputs"]["data"]["id"] == output["id"]
    hydrated = client.get(f"/api/v1/runs/{run['id']}?hydrate=true").json
    assert hydrated["body"]["status"] == "completed" and hydrated["metadata"]["end_time"]
    assert set(hydrated["metadata"]["steps"]) == {"load", "train"}
    assert hydrated["metadata"]["steps"]["load"]["body"]["outputs"]["output"]["id"] == output["id"]
    assert hydrated["body"]["pipeline"]["name"] == "training"
    assert hydrated["body"]["stack"]["name"] == "default"
    assert hydrated["metadata"]["config"] == REQUESTS["deployment"]["pipeline_configuration"]
    step = client.get(f"/api/v1/steps/{train['id']}").json
    assert step["metadata"]["parent_step_ids"] == [load["id"]]
    assert step["metadata"]["config"]["name"] == "train"
    assert client.get("/api/v1/onboarding_state").json[:1] == ["pipeline_run"]


def test_a_failed_step_fails_the_run(rec, client):
    pipeline = rec.pipeline()
    deployment = rec.deployment(pipeline["id"])
    run, _ = rec.run(deployment, pipeline["id"])
    rec.finish(rec.step(run, deployment, "load"), status="failed")
    assert client.get(f"/api/v1/runs/{run['id']}/status").json == "failed"


def test_get_or_create_replaces_the_placeholder_and_is_idempotent(rec, client):
    pipeline = rec.pipeline()
    deployment = rec.deployment(pipeline["id"])
    placeholder = rec.body("run", name="placeholder-run", deployment=deployment["id"], pipeline=pipeline["id"],
                           orchestrator_run_id=None, status="initializing")
    created = rec.ok(client.post(f"/api/v1/workspaces/{rec.ws}/runs", json=placeholder))
    orchestrator_run_id = str(uuid.uuid4())
    replaced, was_created = rec.run(deployment, pipeline["id"], name="other-name", orchestrator_run_id=orchestrator_run_id)
    assert was_created is True and replaced["id"] == created["id"] and replaced["name"] == "placeholder-run"
    assert replaced["metadata"]["orchestrator_run_id"] == orchestrator_run_id
    again, was_created = rec.run(deployment, pipeline["id"], name="third-name", orchestrator_run_id=orchestrator_run_id)
    assert was_created is False and again["id"] == created["id"]
    missing = rec.body("run", deployment=deployment["id"], pipeline=pipeline["id"], orchestrator_run_id=None)
    assert client.post(f"/api/v1/workspaces/{rec.ws}/runs/get-or-create", json=missing).status_code == 400


def test_run_names_are_unique_and_step_names_unique_per_run(rec, client):
    pipeline = rec.pipeline()
    deployment = rec.deployment(pipeline["id"])
    run, _ = rec.run(deployment, pipeline["id"], name="unique")
    clash = rec.body("run", name="unique", deployment=deployment["id"], pipeline=pipeline["id"],
                     orchestrator_run_id=str(uuid.uuid4()))
    response = client.post(f"/api/v1/workspaces/{rec.ws}/runs", json=clash)
    assert response.status_code == 409
    assert response.json["detail"][1] == "Unable to create pipeline run: A pipeline run with name 'unique' already exists."
    rec.step(run, deployment, "load")
    twice = client.post("/api/v1/steps", json=rec.body("step", name="load", pipeline_run_id=run["id"],
                                                       deployment=deployment["id"], logs=None))
    assert twice.status_code == 409


def test_cache_lookup_as_the_client_does_it(rec, client):
    pipeline = rec.pipeline()
    deployment = rec.deployment(pipeline["id"])
    run, _ = rec.run(deployment, pipeline["id"])
    key = "fe122717f6121e64f1dc0361b386b15a"
    step = rec.finish(rec.step(run, deployment, "load", cache_key=key))
    found = client.get(
        f"/api/v1/steps?cache_key={key}&status=completed&sort_by=desc:created&size=1&workspace_id={rec.ws}"
    ).json["items"]
    assert [s["id"] for s in found] == [step["id"]]
    second, _ = rec.run(deployment, pipeline["id"])
    cached = rec.step(second, deployment, "load", cache_key=key, status="cached", original_step_run_id=step["id"])
    assert cached["body"]["status"] == "cached"
    assert client.get(f"/api/v1/steps/{cached['id']}").json["metadata"]["original_step_run_id"] == step["id"]


def test_lists_filter_sort_and_page(rec, client):
    pipeline = rec.pipeline("alpha")
    other = rec.pipeline("beta")
    deployment = rec.deployment(pipeline["id"])
    for i in range(3):
        rec.run(deployment, pipeline["id"], name=f"alpha-{i}")
    rec.run(rec.deployment(other["id"]), other["id"], name="beta-0")
    names = lambda q: [r["name"] for r in client.get(f"/api/v1/runs?{q}").json["items"]]  # noqa: E731
    assert names("name=contains:alpha&sort_by=desc:created") == ["alpha-2", "alpha-1", "alpha-0"]
    assert names("pipeline_name=beta") == ["beta-0"]
    assert names(f"pipeline_id={other['id']}") == ["beta-0"]
    assert names(f"stack_id={rec.stack}&sort_by=asc:name&size=2&page=2") == ["alpha-2", "beta-0"]
    assert names("created=gte:2000-01-01 00:00:00&sort_by=desc:updated&size=1") == ["beta-0"]
    assert names("status=completed") == []
    assert client.get(f"/api/v1/pipelines/{pipeline['id']}/runs").json["total"] == 3


def test_tags_on_runs(rec, client):
    pipeline = rec.pipeline()
    deployment = rec.deployment(pipeline["id"])
    run, _ = rec.run(deployment, pipeline["id"], name="tagged")
    rec.run(deployment, pipeline["id"], name="plain")
    updated = rec.ok(client.put(f"/api/v1/runs/{run['id']}", json={"add_tags": ["gold", "nightly"]}))
    assert [t["name"] for t in updated["resources"]["tags"]] == ["gold", "nightly"]
    assert [r["name"] for r in client.get("/api/v1/runs?tag=gold").json["items"]] == ["tagged"]
    rec.ok(client.put(f"/api/v1/runs/{run['id']}", json={"remove_tags": ["gold"]}))
    assert client.get("/api/v1/runs?tag=gold").json["total"] == 0
    assert client.get("/api/v1/runs?tag=nightly").json["total"] == 1


def test_deleting_a_run_deletes_its_steps(rec, client):
    pipeline = rec.pipeline()
    deployment = rec.deployment(pipeline["id"])
    run, _ = rec.run(deployment, pipeline["id"])
    step = rec.step(run, deployment, "load")
    assert client.delete(f"/api/v1/runs/{run['id']}").status_code == 200
    assert client.get(f"/api/v1/steps/{step['id']}").status_code == 404
    assert client.get(f"/api/v1/runs/{run['id']}").json["detail"][0] == "KeyError"


def test_step_logs_are_read_from_the_local_artifact_store(rec, client, tmp_path):
    pipeline = rec.pipeline()
    deployment = rec.deployment(pipeline["id"])
    run, _ = rec.run(deployment, pipeline["id"])
    logs_dir = tmp_path / "local_stores" / rec.artifact_store / "load" / "logs"
    logs_dir.mkdir(parents=True)
    (logs_dir / "1.log").write_text("first line\nsecond line\n")
    step = client.post("/api/v1/steps", json=rec.body(
        "step", name="load", pipeline_run_id=run["id"], deployment=deployment["id"],
        logs={"uri": str(logs_dir / "1.log"), "artifact_store_id": rec.artifact_store})).json
    assert client.get(f"/api/v1/steps/{step['id']}/logs").json == "first line\nsecond line\n"
    assert client.get(f"/api/v1/steps/{step['id']}/logs?offset=-12").json == "second line\n"
    sneaky = client.post("/api/v1/steps", json=rec.body(
        "step", name="train", pipeline_run_id=run["id"], deployment=deployment["id"],
        logs={"uri": "/etc/passwd", "artifact_store_id": rec.artifact_store})).json
    assert client.get(f"/api/v1/steps/{sneaky['id']}/logs").status_code == 403


def test_list_pages_do_not_grow_in_queries(rec, client, count_queries):
    pipeline = rec.pipeline()
    deployment = rec.deployment(pipeline["id"])
    for i in range(6):
        run, _ = rec.run(deployment, pipeline["id"])
        rec.finish(rec.step(run, deployment, "load"), {"output": rec.artifact_version()["id"]})
    counts = {}
    for size in (2, 6):
        with count_queries() as counted:
            page = client.get(f"/api/v1/runs?hydrate=true&size={size}")
        assert len(page.json["items"]) == size
        counts[size] = counted.n
    assert counts[6] == counts[2], counts
    for size in (2, 6):
        with count_queries() as counted:
            client.get(f"/api/v1/steps?hydrate=true&size={size}")
        counts[("steps", size)] = counted.n
    assert counts[("steps", 6)] == counts[("steps", 2)], counts


#: Statements of each request the client makes to record a run (authentication
#: included), as reached in docs/bench.md's issue 4; a change that adds one
#: to the recording path shows here. Since presentations read Core records
#: (store/records.py), a request reads its workspace once, by primary key,
#: instead of joining it into every ORM select: one more statement in some
#: requests, each statement several times cheaper.
RECORDING_STATEMENTS = {
    "run_get_or_create": 15,
    "step_create": 12,  # the first step: no parent, no input
    "step_create_with_parent": 20,
    "artifact_version_create": 12,
    "run_metadata_create": 5,
    "step_update": 19,
    "step_update_completing_the_run": 21,
    "run_update": 18,
}


def test_recording_a_run_stays_within_its_statement_budget(rec, client, count_queries):
    """The 9 requests of the bench's recorded run (bench/zenml_client.py),
    with their logs, parents, inputs and run metadata."""
    pipeline = rec.pipeline()
    deployment = rec.deployment(pipeline["id"])
    artifacts = {
        step: rec.ok(client.post("/api/v1/artifacts", json={"name": f"training::{step}::output"}))["id"]
        for step in ("load", "train")
    }
    counted_runs = []
    for number in (1, 2):  # the second run is the steady state (per-process caches are warm)
        counts: dict = {}

        def send(name, method, path, body):
            with count_queries() as counted:
                answer = rec.ok(getattr(client, method)(path, json=body))
            counts[name] = counted.n
            return answer

        run, created = send("run_get_or_create", "post", f"/api/v1/workspaces/{rec.ws}/runs/get-or-create", rec.body(
            "run", name=f"run-{number}", deployment=deployment["id"], pipeline=pipeline["id"],
            orchestrator_run_id=str(uuid.uuid4()), status="running"))
        assert created is True
        previous = None
        for step in ("load", "train"):
            created_step = send("step_create" if previous is None else "step_create_with_parent", "post",
                                "/api/v1/steps", rec.body(
                "step", name=step, pipeline_run_id=run["id"], deployment=deployment["id"], status="running",
                inputs={"data": previous[1]} if previous else {},
                parent_step_ids=[previous[0]] if previous else [],
                logs={"uri": f"/tmp/logs/{uuid.uuid4()}.log", "artifact_store_id": rec.artifact_store}))
            version = send("artifact_version_create", "post", "/api/v1/artifact_versions", rec.body(
                "artifact_version", artifact_id=artifacts[step], artifact_store_id=rec.artifact_store,
                version=number, tags=[], visualizations=[]))
            if previous is None:
                send("run_metadata_create", "post", f"/api/v1/workspaces/{rec.ws}/run-metadata", rec.body(
                    "run_metadata", resource_id=version["id"], resource_type="artifact_version",
                    stack_component_id=None))
            finished = send("step_update" if previous is None else "step_update_completing_the_run", "put",
                            f"/api/v1/steps/{created_step['id']}",
                            {"status": "completed", "end_time": "2026-11-29T04:27:38.961714",
                             "outputs": {"output": version["id"]}})
            assert finished["body"]["outputs"]["output"]["id"] == version["id"]
            previous = (created_step["id"], version["id"])
        assert client.get(f"/api/v1/runs/{run['id']}/status").json == "completed"
        done = send("run_update", "put", f"/api/v1/runs/{run['id']}",
                    {"status": "completed", "end_time": "2026-11-29T04:27:39.000000"})
        assert set(done["metadata"]["steps"]) == {"load", "train"}
        counted_runs.append(counts)
    steady = counted_runs[-1]
    over = {name: (steady[name], most) for name, most in RECORDING_STATEMENTS.items() if steady[name] > most}
    assert not over, f"statements (counted, budget): {over}"
    # the whole run: 9 requests, artifact_version_create twice
    assert sum(steady.values()) + steady["artifact_version_create"] <= 134, steady
