"""Template runs end to end, with the real Docker engine, a real registry, a
real Celery worker on Redis, Zenyard under gunicorn and the stock
`zenml==0.66.0` client.

One module-scoped world (`tests/docker_world.TemplateWorld`, one worker),
plus a registry that refuses every push and one that wants a login.
"""

from __future__ import annotations

import re
import time
import uuid

import pytest
import requests

from tests import docker_env
from tests.docker_world import REDIS, TRIGGER_SCENARIO, TemplateWorld
from tests.support import LocalRegistry

pytestmark = pytest.mark.docker

RUN_TIMEOUT = 240
REGISTRY_USER, REGISTRY_PASSWORD = "runner-pusher", "Pw-of-the-runner-registry-93"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The world of tests/docker_world.py, plus a registry that refuses every
    push (`refusing`) and one that wants a login (`guarded`)."""
    tmp = tmp_path_factory.mktemp("docker-runs")
    with TemplateWorld(tmp) as made:
        made.refusing = docker_env.Registry(tmp / "refusing", read_only=True).ensure()
        made.started.append(made.refusing)
        made.guarded = LocalRegistry(tmp / "guarded", users={REGISTRY_USER: REGISTRY_PASSWORD}).start()
        made.started.append(made.guarded)
        yield made


def http(world):
    session = requests.Session()
    token = requests.post(f"{world.server.url}/api/v1/login", data={"username": "default", "password": ""}).json()
    session.headers["Authorization"] = f"Bearer {token['access_token']}"
    return session


def deployment_log(world, deployment_id) -> str:
    response = http(world).get(f"{world.server.url}/api/v1/pipeline_deployments/{deployment_id}/logs")
    assert response.status_code == 200, response.text
    return response.json()


def workload(world, deployment_id) -> dict:
    from store.workloads import workload_of_deployment

    return workload_of_deployment(world.app.extensions["zenyard"]["db"], uuid.UUID(deployment_id))


def wait_for(predicate, timeout: float, what: str, interval: float = 0.3):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def containers_of(world, workload_id) -> list:
    return world.docker.containers(all=True, filters={"label": f"zenyard.workload={workload_id}"})


def test_trigger_builds_pushes_runs_and_reuses_the_image(world):
    client = world.client
    first = client.run(TRIGGER_SCENARIO, timeout=RUN_TIMEOUT + 60, template=world.templates["e2e"],
                       wait=RUN_TIMEOUT, load=True)
    # the runner reports the run completed, then its container exits: the
    # worker records the exit after the container's last lines reached the log
    state = wait_for(lambda: (w := workload(world, first["deployment"]))["state"] in ("completed", "failed") and w, 30,
                     "the workload to end")
    text = deployment_log(world, first["deployment"])
    assert first["initial_status"] == "initializing"
    assert first["status"] == "completed", text[-3000:]
    assert first["output"] == 42  # the artifact the container wrote, loaded on the host
    assert re.search(r"^Step 1/\d+ : FROM ", text, re.M) and "Successfully built" in text  # the build's own lines
    assert "pushed" in text
    assert "producer-step says hello from the runner container" in text  # the runner's step output
    assert "consumer-step got 41" in text
    assert state["state"] == "completed" and state["attempt"] == 1
    assert state["image"].startswith(f"{world.registry.address}/zenyard-e2e-runner-")
    assert containers_of(world, state["id"]) == []  # removed after success

    second = client.run(TRIGGER_SCENARIO, timeout=RUN_TIMEOUT + 60, template=world.templates["e2e"],
                        wait=RUN_TIMEOUT)
    wait_for(lambda: workload(world, second["deployment"])["state"] in ("completed", "failed"), 30, "the workload to end")
    again = deployment_log(world, second["deployment"])
    assert second["status"] == "completed", again[-3000:]
    assert "in the registry; no build" in again and not re.search(r"^Step 1/\d+ : FROM ", again, re.M)
    assert workload(world, second["deployment"])["image"] == state["image"]


def test_a_failing_build_fails_the_run_with_the_error_in_the_log(world):
    failed = world.client.run(TRIGGER_SCENARIO, timeout=RUN_TIMEOUT + 60, template=world.templates["broken"],
                                 wait=RUN_TIMEOUT)
    text = deployment_log(world, failed["deployment"])
    assert failed["status"] == "failed", text[-3000:]
    assert "zenyard-e2e-missing" in text and "template run failed: build of" in text
    state = workload(world, failed["deployment"])
    assert state["state"] == "failed" and "build of" in state["error"]
    assert containers_of(world, state["id"]) == []


def _queued_workload(world, template_id) -> tuple[dict, uuid.UUID]:
    """A run of the template created in-process (no task sent yet)."""
    from store import workloads
    from store.resources import Actor

    app = world.app
    user = uuid.UUID(world.templates["user"])
    actor = Actor(id=user, name="default", is_admin=True)
    return workloads.create_template_run(app.extensions["zenyard"]["db"], uuid.UUID(template_id), {}, actor,
                                         allow_local=True)


def test_a_push_the_registry_refuses_is_a_failure(world):
    from store import workloads
    from worker.docker_manager import RunTemplateRunner

    app = world.app
    settings = {**app.extensions["zenyard"]["settings"], "RUNNER_REGISTRY": world.refusing.address,
                "DOCKER_HOST": world.engine.base_url}
    run, workload_id = _queued_workload(world, world.templates["e2e"])
    with app.app_context():
        state = RunTemplateRunner(app.extensions["zenyard"]["db"], settings).run(str(workload_id), "push-test")
    db = app.extensions["zenyard"]["db"]
    text, _, _ = workloads.read_log(db, workload_id)
    assert state == "failed", text[-3000:]
    assert "push error:" in text and "template run failed: push of" in text
    assert workloads.get_workload(db, workload_id)["pushing_at"] is not None
    assert http(world).get(f"{world.server.url}/api/v1/runs/{run['id']}").json()["body"]["status"] == "failed"


def test_the_registry_login_comes_from_a_secret_and_stays_out_of_the_log(world):
    from store import workloads
    from worker.docker_manager import RunTemplateRunner

    app, guarded = world.app, world.guarded
    session = http(world)
    workspace = session.get(f"{world.server.url}/api/v1/workspaces/default").json()
    me = session.get(f"{world.server.url}/api/v1/current-user").json()
    created = session.post(f"{world.server.url}/api/v1/workspaces/{workspace['id']}/secrets", json={
        "user": me["id"], "workspace": workspace["id"], "name": "runner-registry-login", "scope": "workspace",
        "values": {"username": REGISTRY_USER, "password": REGISTRY_PASSWORD}})
    assert created.status_code == 200, created.text
    settings = {**app.extensions["zenyard"]["settings"], "RUNNER_REGISTRY": guarded.address,
                "RUNNER_REGISTRY_SECRET": "runner-registry-login", "DOCKER_HOST": world.engine.base_url}
    run, workload_id = _queued_workload(world, world.templates["e2e"])
    db = app.extensions["zenyard"]["db"]
    with app.app_context():
        state = RunTemplateRunner(db, settings, keyring=app.extensions["zenyard"]["keyring"]).run(
            str(workload_id), "login-test")
    text, _, _ = workloads.read_log(db, workload_id)
    assert state == "completed", text[-3000:]
    assert f"Zenyard: the registry {guarded.address} is logged in to with the secret 'runner-registry-login'." in text
    assert REGISTRY_PASSWORD not in text
    repository = world.env["ZENYARD_RUNNER_IMAGE_REPOSITORY"]
    tags = requests.get(f"http://{guarded.address}/v2/{repository}/tags/list",
                        auth=(REGISTRY_USER, REGISTRY_PASSWORD), timeout=5)
    assert tags.status_code == 200 and tags.json()["tags"] == [workloads.get_workload(db, workload_id)["image"].rsplit(":", 1)[1]]
    assert requests.get(f"http://{guarded.address}/v2/{repository}/tags/list", timeout=5).status_code == 401


def test_cancelling_a_running_template_run_stops_its_container(world):
    slow = world.client.run(TRIGGER_SCENARIO, timeout=120, template=world.templates["slow"],
                               steps={"sleeper": {"parameters": {"seconds": 600}}})
    state = wait_for(lambda: (w := workload(world, slow["deployment"]))["state"] == "running" and w, RUN_TIMEOUT,
                     "the slow run's container")
    # ZenML's own line (a step's prints may reach the log only when the step ends)
    wait_for(lambda: re.search(r"Step \W?sleeper\W? has started", deployment_log(world, slow["deployment"])), 120,
             "the step to start")
    assert len(containers_of(world, state["id"])) == 1
    asked = time.monotonic()
    response = http(world).put(f"{world.server.url}/api/v1/runs/{slow['run']}/cancel")
    assert response.status_code == 200 and response.json()["cancel_requested"] is True
    wait_for(lambda: not [c for c in containers_of(world, state["id"]) if c["State"] == "running"], 10,
             "the container to stop")
    assert time.monotonic() - asked <= 10
    wait_for(lambda: workload(world, slow["deployment"])["state"] == "cancelled", 20, "the workload to be cancelled")
    run = http(world).get(f"{world.server.url}/api/v1/runs/{slow['run']}").json()
    assert run["body"]["status"] == "failed"
    wait_for(lambda: containers_of(world, state["id"]) == [], 20, "the container to be removed")


def test_a_worker_killed_mid_build_is_redelivered_and_runs_once(world):
    """A worker of its own queue whose Dockerfile has a slow step: SIGKILLed
    during the build, restarted under the same name, it finishes the run."""
    from store import workloads
    from tasks import template_runs as tasks

    queue = f"{world.queue}-kill"
    worker = world.add_worker(
        "kill", ZENYARD_TASK_QUEUE=queue,
        ZENYARD_RUNNER_DOCKERFILE_EXTRA=f"RUN echo slow-step-{world.session} && sleep 12 && echo slow-step-done",
    )
    try:
        run, workload_id = _queued_workload(world, world.templates["e2e"])
        from app import create_app

        sender = create_app({"DATA_DIR": str(world.data), "AUTO_MIGRATE": False, "BROKER_URL": REDIS,
                             "TASK_QUEUE": queue, "PASSWORD_HASH_ROUNDS": 4})
        with sender.app_context():
            tasks.enqueue(workload_id)
        db = world.app.extensions["zenyard"]["db"]
        # the step's own output (the Dockerfile, also in the log, says `echo slow-step-...`)
        started = re.compile(rf"^slow-step-{world.session}$", re.M)
        wait_for(lambda: started.search(workloads.read_log(db, workload_id)[0]), 120, "the slow build step")
        assert workloads.get_workload(db, workload_id)["state"] == "building"
        worker.kill()
        worker.start()  # the same name: what it held is orphaned
        final = wait_for(
            lambda: (w := workloads.get_workload(db, workload_id))["state"] in workloads.FINAL and w, RUN_TIMEOUT,
            "the requeued run to finish",
        )
        text = workloads.read_log(db, workload_id)[0]
        assert final["state"] == "completed", text[-3000:]
        assert final["attempt"] == 2
        assert text.count("Zenyard: pushed ") == 1  # the killed attempt never pushed
        assert len(re.findall(r"^slow-step-done$", text, re.M)) == 1  # the slow step finished once
        runs = http(world).get(f"{world.server.url}/api/v1/runs",
                               params={"deployment_id": str(final["deployment_id"])}).json()
        assert [r["body"]["status"] for r in runs["items"]] == ["completed"]
        assert containers_of(world, workload_id) == []
    finally:
        worker.stop()
