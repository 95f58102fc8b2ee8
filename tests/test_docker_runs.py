"""Template runs end to end, with the real Docker engine, a real registry, a
real Celery worker on Redis, Zenyard under gunicorn and the stock
`zenml==0.66.0` client.

One module-scoped world: dockerd (started when none answers), a registry on
a loopback port, the cached base image (Debian + zenml 0.66.0), an image of
the pipeline code pushed to the registry (the template build's image), a
server and a worker sharing a SQLite database, a client with a stack of the
local orchestrator and a local artifact store that the runner containers
mount (the single-host setting).
"""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import tarfile
import time
import uuid
from pathlib import Path

import pytest
import requests

from tests import docker_env
from tests.compat.conftest import ZenmlClient, ZenyardServer, _clean_environ, ensure_zenml_venv, free_port

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parent.parent
REDIS = "redis://127.0.0.1:6379/3"
RUN_TIMEOUT = 240

PIPELINE_CODE = '''\
import time

from zenml import pipeline, step


@step
def producer() -> int:
    print("producer-step says hello from the runner container")
    return 41


@step
def consumer(value: int) -> int:
    print(f"consumer-step got {value}")
    return value + 1


@pipeline(enable_cache=False)
def e2e_pipeline():
    consumer(producer())


@step
def sleeper(seconds: int) -> int:
    print(f"sleeper-step is sleeping {seconds}s")
    time.sleep(seconds)
    return seconds


@pipeline(enable_cache=False)
def slow_pipeline():
    sleeper(seconds=0)  # a template run gives the real duration
'''

SETUP_SCENARIO = '''
from zenml.client import Client
from zenml.enums import StackComponentType
from zenml.models import BuildItem, PipelineBuildBase

import zenyard_e2e_pipelines as code

client = Client()
client.create_stack_component(name="e2e-store", flavor="local", component_type=StackComponentType.ARTIFACT_STORE,
                              configuration={"path": params["store"]})
client.create_stack_component(name="e2e-local", flavor="local", component_type=StackComponentType.ORCHESTRATOR,
                              configuration={})
client.create_stack(name="e2e", components={StackComponentType.ORCHESTRATOR: "e2e-local",
                                            StackComponentType.ARTIFACT_STORE: "e2e-store"})
client.activate_stack("e2e")


def template(pipeline, name, image):
    build = PipelineBuildBase(images={"orchestrator": BuildItem(image=image, contains_code=True)}, is_local=False,
                              contains_code=True, zenml_version="0.66.0", python_version="3.11")
    run = pipeline.with_options(build=build)()
    return str(client.create_run_template(name=name, deployment_id=run.deployment_id).id)


result["e2e"] = template(code.e2e_pipeline, "e2e", params["image"])
result["slow"] = template(code.slow_pipeline, "slow", params["image"])
result["broken"] = template(code.e2e_pipeline, "broken", params["missing_image"])
result["user"] = str(client.active_user.id)
'''

TRIGGER_SCENARIO = '''
import time
from uuid import UUID
from zenml.client import Client

from zenml.config.pipeline_run_configuration import PipelineRunConfiguration

config = PipelineRunConfiguration(steps=params["steps"]) if params.get("steps") else None
run = Client().trigger_pipeline(template_id=UUID(params["template"]), run_configuration=config, synchronous=False)
result["run"] = str(run.id)
result["deployment"] = str(run.deployment_id)
result["initial_status"] = str(run.status)
if params.get("wait"):
    deadline = time.monotonic() + params["wait"]
    while time.monotonic() < deadline:
        run = Client().get_pipeline_run(run.id)
        if run.status.is_finished:
            break
        time.sleep(1)
    result["status"] = str(run.status)
    if params.get("load"):
        result["output"] = run.steps["consumer"].output.load()
'''


class Worker:
    """`celery -A worker.main worker` in its own session, stopped by its pid."""

    def __init__(self, env: dict[str, str], log: Path, hostname: str):
        self.env, self.log, self.hostname = env, log, hostname
        self.process: subprocess.Popen | None = None

    def start(self) -> "Worker":
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "worker.main", "worker", "--concurrency", "1", "--loglevel",
             "INFO", "--hostname", self.hostname, "--without-mingle", "--without-gossip"],
            cwd=ROOT, env=self.env, stdout=open(self.log, "a"), stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        return self

    def kill(self) -> None:
        """SIGKILL, main process and pool children alike (its process group)."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def redis_keys() -> set[bytes]:
    import redis

    client = redis.Redis.from_url(REDIS)
    try:
        return set(client.scan_iter())
    finally:
        client.close()


def build_context(files: dict[str, str]) -> io.BytesIO:
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    context.seek(0)
    return context


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("docker-runs")
    engine = docker_env.DockerEngine().ensure()
    registry = docker_env.Registry(tmp / "registry").ensure()
    refusing = docker_env.Registry(tmp / "refusing", read_only=True).ensure()
    keys_before = redis_keys()
    started: list = [engine, registry, refusing]
    try:
        docker = engine.client()
        base = docker_env.base_image(docker)
        session = uuid.uuid4().hex[:10]
        image = f"{registry.address}/zenyard-e2e-pipeline:{session}"
        stream = docker.build(
            fileobj=build_context({
                "Dockerfile": f"FROM {base}\nWORKDIR /app\nCOPY zenyard_e2e_pipelines.py /app/\n",
                "zenyard_e2e_pipelines.py": PIPELINE_CODE,
            }), custom_context=True, tag=image, rm=True, forcerm=True, decode=True, network_mode="host",
        )
        list(docker_env.build_lines(stream))
        for chunk in docker.push(image, stream=True, decode=True):
            assert "error" not in chunk, chunk

        port = free_port()
        queue = f"e2e-{session}"
        data = tmp / "zenyard" / "data"
        env = {
            "ZENML_SERVER_URL": f"http://127.0.0.1:{port}",
            "ZENYARD_TEMPLATES_ALLOW_LOCAL_COMPONENTS": "true",
            "ZENYARD_RUNNER_REGISTRY": registry.address,
            "ZENYARD_RUNNER_IMAGE_REPOSITORY": f"zenyard-e2e-runner-{session}",
            "ZENYARD_DOCKER_HOST": engine.base_url,
            "ZENYARD_BROKER_URL": REDIS,
            "ZENYARD_TASK_QUEUE": queue,
            "ZENYARD_PASSWORD_HASH_ROUNDS": "4",
            "ZENYARD_WORKLOAD_HEARTBEAT_SECONDS": "1",
            "ZENYARD_WORKLOAD_STALE_SECONDS": "10",
        }
        server = ZenyardServer(data, port=port, env=env).start()
        started.append(server)
        worker_env = {**_clean_environ(), **env, "ZENYARD_DATA_DIR": str(data), "ZENYARD_AUTO_MIGRATE": "false"}
        worker = Worker(worker_env, tmp / "worker.log", f"e2e-{session}@%h").start()
        started.append(worker)

        client = ZenmlClient(ensure_zenml_venv(), tmp / "client", server)
        client.connect()
        (client.home / "zenyard_e2e_pipelines.py").write_text(PIPELINE_CODE)  # beside the scenarios: the source root
        store = tmp / "artifact-store"
        store.mkdir()
        made = client.run(SETUP_SCENARIO, timeout=300, store=str(store), image=image,
                          missing_image=f"{registry.address}/zenyard-e2e-missing:{session}")
        from app import create_app

        app = create_app({"DATA_DIR": str(data), "AUTO_MIGRATE": False, "PASSWORD_HASH_ROUNDS": 4,
                          "BROKER_URL": REDIS, "TASK_QUEUE": queue, **{
                              k: v for k, v in __import__("settings").load_settings(environ=env).items()
                              if k.startswith(("RUNNER_", "TEMPLATES_", "DOCKER_", "WORKLOAD_", "SERVER_URL"))}})
        yield {
            "engine": engine, "docker": docker, "registry": registry, "refusing": refusing, "server": server,
            "worker": worker, "client": client, "templates": made, "app": app, "tmp": tmp, "env": env,
            "session": session, "image": image, "data": data, "queue": queue,
        }
    finally:
        for thing in reversed(started):
            thing.stop()
        import redis

        leftover = redis_keys() - keys_before
        if leftover:
            connection = redis.Redis.from_url(REDIS)
            connection.delete(*leftover)
            connection.close()


def http(world):
    session = requests.Session()
    token = requests.post(f"{world['server'].url}/api/v1/login", data={"username": "default", "password": ""}).json()
    session.headers["Authorization"] = f"Bearer {token['access_token']}"
    return session


def deployment_log(world, deployment_id) -> str:
    response = http(world).get(f"{world['server'].url}/api/v1/pipeline_deployments/{deployment_id}/logs")
    assert response.status_code == 200, response.text
    return response.json()


def workload(world, deployment_id) -> dict:
    from store.workloads import workload_of_deployment

    return workload_of_deployment(world["app"].extensions["zenyard"]["db"], uuid.UUID(deployment_id))


def wait_for(predicate, timeout: float, what: str, interval: float = 0.3):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def containers_of(world, workload_id) -> list:
    return world["docker"].containers(all=True, filters={"label": f"zenyard.workload={workload_id}"})


def test_trigger_builds_pushes_runs_and_reuses_the_image(world):
    client = world["client"]
    first = client.run(TRIGGER_SCENARIO, timeout=RUN_TIMEOUT + 60, template=world["templates"]["e2e"],
                       wait=RUN_TIMEOUT, load=True)
    text = deployment_log(world, first["deployment"])
    assert first["initial_status"] == "initializing"
    assert first["status"] == "completed", text[-3000:]
    assert first["output"] == 42  # the artifact the container wrote, loaded on the host
    assert re.search(r"^Step 1/\d+ : FROM ", text, re.M) and "Successfully built" in text  # the build's own lines
    assert "pushed" in text
    assert "producer-step says hello from the runner container" in text  # the runner's step output
    assert "consumer-step got 41" in text
    # the runner reported the steps; the worker then records the container's exit
    state = wait_for(lambda: (w := workload(world, first["deployment"]))["state"] in ("completed", "failed") and w, 30,
                     "the workload to end")
    assert state["state"] == "completed" and state["attempt"] == 1
    assert state["image"].startswith(f"{world['registry'].address}/zenyard-e2e-runner-")
    assert containers_of(world, state["id"]) == []  # removed after success

    second = client.run(TRIGGER_SCENARIO, timeout=RUN_TIMEOUT + 60, template=world["templates"]["e2e"],
                        wait=RUN_TIMEOUT)
    again = deployment_log(world, second["deployment"])
    assert second["status"] == "completed", again[-3000:]
    assert "in the registry; no build" in again and not re.search(r"^Step 1/\d+ : FROM ", again, re.M)
    assert workload(world, second["deployment"])["image"] == state["image"]


def test_a_failing_build_fails_the_run_with_the_error_in_the_log(world):
    failed = world["client"].run(TRIGGER_SCENARIO, timeout=RUN_TIMEOUT + 60, template=world["templates"]["broken"],
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

    app = world["app"]
    user = uuid.UUID(world["templates"]["user"])
    actor = Actor(id=user, name="default", is_admin=True)
    return workloads.create_template_run(app.extensions["zenyard"]["db"], uuid.UUID(template_id), {}, actor,
                                         allow_local=True)


def test_a_push_the_registry_refuses_is_a_failure(world):
    from store import workloads
    from worker.docker_manager import RunTemplateRunner

    app = world["app"]
    settings = {**app.extensions["zenyard"]["settings"], "RUNNER_REGISTRY": world["refusing"].address,
                "DOCKER_HOST": world["engine"].base_url}
    run, workload_id = _queued_workload(world, world["templates"]["e2e"])
    with app.app_context():
        state = RunTemplateRunner(app.extensions["zenyard"]["db"], settings).run(str(workload_id), "push-test")
    db = app.extensions["zenyard"]["db"]
    text, _, _ = workloads.read_log(db, workload_id)
    assert state == "failed", text[-3000:]
    assert "push error:" in text and "template run failed: push of" in text
    assert workloads.get_workload(db, workload_id)["pushing_at"] is not None
    assert http(world).get(f"{world['server'].url}/api/v1/runs/{run['id']}").json()["body"]["status"] == "failed"


def test_cancelling_a_running_template_run_stops_its_container(world):
    slow = world["client"].run(TRIGGER_SCENARIO, timeout=120, template=world["templates"]["slow"],
                               steps={"sleeper": {"parameters": {"seconds": 600}}})
    state = wait_for(lambda: (w := workload(world, slow["deployment"]))["state"] == "running" and w, RUN_TIMEOUT,
                     "the slow run's container")
    # ZenML's own line (a step's prints may reach the log only when the step ends)
    wait_for(lambda: re.search(r"Step \W?sleeper\W? has started", deployment_log(world, slow["deployment"])), 120,
             "the step to start")
    assert len(containers_of(world, state["id"])) == 1
    asked = time.monotonic()
    response = http(world).put(f"{world['server'].url}/api/v1/runs/{slow['run']}/cancel")
    assert response.status_code == 200 and response.json()["cancel_requested"] is True
    wait_for(lambda: not [c for c in containers_of(world, state["id"]) if c["State"] == "running"], 10,
             "the container to stop")
    assert time.monotonic() - asked <= 10
    wait_for(lambda: workload(world, slow["deployment"])["state"] == "cancelled", 20, "the workload to be cancelled")
    run = http(world).get(f"{world['server'].url}/api/v1/runs/{slow['run']}").json()
    assert run["body"]["status"] == "failed"
    wait_for(lambda: containers_of(world, state["id"]) == [], 20, "the container to be removed")


def test_a_worker_killed_mid_build_is_redelivered_and_runs_once(world):
    """A worker of its own queue whose Dockerfile has a slow step: SIGKILLed
    during the build, restarted under the same name, it finishes the run."""
    from store import workloads
    from tasks import template_runs as tasks

    queue = f"{world['queue']}-kill"
    env = {**_clean_environ(), **world["env"], "ZENYARD_DATA_DIR": str(world["data"]), "ZENYARD_AUTO_MIGRATE": "false",
           "ZENYARD_TASK_QUEUE": queue,
           "ZENYARD_RUNNER_DOCKERFILE_EXTRA": f"RUN echo slow-step-{world['session']} && sleep 6 && echo slow-step-done"}
    hostname = f"kill-{world['session']}@%h"
    log = world["tmp"] / "kill-worker.log"
    worker = Worker(env, log, hostname).start()
    try:
        run, workload_id = _queued_workload(world, world["templates"]["e2e"])
        from app import create_app

        sender = create_app({"DATA_DIR": str(world["data"]), "AUTO_MIGRATE": False, "BROKER_URL": REDIS,
                             "TASK_QUEUE": queue, "PASSWORD_HASH_ROUNDS": 4})
        with sender.app_context():
            tasks.enqueue(workload_id)
        db = world["app"].extensions["zenyard"]["db"]
        wait_for(lambda: f"slow-step-{world['session']}" in workloads.read_log(db, workload_id)[0], 120,
                 "the slow build step")
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
        runs = http(world).get(f"{world['server'].url}/api/v1/runs",
                               params={"deployment_id": str(final["deployment_id"])}).json()
        assert [r["body"]["status"] for r in runs["items"]] == ["completed"]
        assert containers_of(world, workload_id) == []
    finally:
        worker.stop()
