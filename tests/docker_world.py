"""A whole template-run world on this machine, for the Docker suite and the bench.

`TemplateWorld(tmp, workers=n).start()`: the Docker engine (started when none
answers), the runner registry on a loopback port, the cached base image
(Debian + zenml 0.66.0, `tests/docker_env.py`), an image of the pipeline code
pushed to that registry (the template build's image), Zenyard under gunicorn
and `n` Celery workers on Redis sharing a SQLite database, and the stock
client with a stack of the local orchestrator and a local artifact store that
the runner containers mount (the single-host setting). Three templates are
made through the client: `e2e` (two steps), `slow` (one step that sleeps as
long as its parameter says) and `broken` (its build's image does not exist).
`stop()` ends everything it started, by process id, and removes the Redis
keys it made.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path
from typing import Any

from tests import docker_env
from tests.compat.conftest import ZenmlClient, ZenyardServer
from tests.support import clean_environ, ensure_zenml_venv, free_port, stop_process

ROOT = Path(__file__).resolve().parent.parent
REDIS = "redis://127.0.0.1:6379/3"

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
        stop_process(self.process, timeout=20, group=True)


def redis_keys() -> set[bytes]:
    import redis

    client = redis.Redis.from_url(REDIS)
    try:
        return set(client.scan_iter())
    finally:
        client.close()


def forget_redis_keys(keys: set[bytes]) -> None:
    import redis

    if keys:
        client = redis.Redis.from_url(REDIS)
        try:
            client.delete(*keys)
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


class TemplateWorld:
    """Everything a template run needs, started here, stopped by `stop()`."""

    def __init__(self, tmp: Path, workers: int = 1, extra_env: dict[str, str] | None = None) -> None:
        self.tmp = tmp
        self.worker_count = workers
        self.extra_env = dict(extra_env or {})
        self.session = uuid.uuid4().hex[:10]
        self.queue = f"e2e-{self.session}"
        self.data = tmp / "zenyard" / "data"
        self.started: list = []
        self.workers: list[Worker] = []
        self.keys_before: set[bytes] | None = None

    def start(self) -> "TemplateWorld":
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        tmp = self.tmp
        self.engine = docker_env.DockerEngine().ensure()
        self.started.append(self.engine)
        self.registry = docker_env.Registry(tmp / "registry").ensure()
        self.started.append(self.registry)
        self.keys_before = redis_keys()
        self.docker = self.engine.client()
        base = docker_env.base_image(self.docker)
        self.image = f"{self.registry.address}/zenyard-e2e-pipeline:{self.session}"
        stream = self.docker.build(
            fileobj=build_context({
                "Dockerfile": f"FROM {base}\nWORKDIR /app\nCOPY zenyard_e2e_pipelines.py /app/\n",
                "zenyard_e2e_pipelines.py": PIPELINE_CODE,
            }), custom_context=True, tag=self.image, rm=True, forcerm=True, decode=True, network_mode="host",
        )
        list(docker_env.build_lines(stream))
        for chunk in self.docker.push(self.image, stream=True, decode=True):
            if "error" in chunk:
                raise RuntimeError(f"push of {self.image}: {chunk}")

        port = free_port()
        self.env = {
            "ZENML_SERVER_URL": f"http://127.0.0.1:{port}",
            "ZENYARD_TEMPLATES_ALLOW_LOCAL_COMPONENTS": "true",
            "ZENYARD_RUNNER_REGISTRY": self.registry.address,
            "ZENYARD_RUNNER_IMAGE_REPOSITORY": f"zenyard-e2e-runner-{self.session}",
            "ZENYARD_DOCKER_HOST": self.engine.base_url,
            "ZENYARD_BROKER_URL": REDIS,
            "ZENYARD_TASK_QUEUE": self.queue,
            "ZENYARD_PASSWORD_HASH_ROUNDS": "4",
            "ZENYARD_WORKLOAD_HEARTBEAT_SECONDS": "1",
            "ZENYARD_WORKLOAD_STALE_SECONDS": "10",
            **self.extra_env,
        }
        self.server = ZenyardServer(self.data, port=port, env=self.env).start()
        self.started.append(self.server)
        for number in range(self.worker_count):
            self.add_worker(f"w{number}")

        self.client = ZenmlClient(ensure_zenml_venv(), tmp / "client", self.server)
        self.client.connect()
        # beside the scenarios: the client's source root
        (self.client.home / "zenyard_e2e_pipelines.py").write_text(PIPELINE_CODE)
        self.store = tmp / "artifact-store"
        self.store.mkdir(exist_ok=True)
        self.templates = self.client.run(
            SETUP_SCENARIO, timeout=300, store=str(self.store), image=self.image,
            missing_image=f"{self.registry.address}/zenyard-e2e-missing:{self.session}",
        )
        from app import create_app
        from settings import load_settings

        shared = {k: v for k, v in load_settings(environ=self.env).items()
                  if k.startswith(("RUNNER_", "TEMPLATES_", "DOCKER_", "WORKLOAD_", "SERVER_URL"))}
        self.app = create_app({"DATA_DIR": str(self.data), "AUTO_MIGRATE": False, "PASSWORD_HASH_ROUNDS": 4,
                               "BROKER_URL": REDIS, "TASK_QUEUE": self.queue, **shared})

    def worker_env(self, **extra: str) -> dict[str, str]:
        return {**clean_environ(), **self.env, "ZENYARD_DATA_DIR": str(self.data), "ZENYARD_AUTO_MIGRATE": "false",
                **extra}

    def add_worker(self, name: str, **extra_env: str) -> Worker:
        worker = Worker(self.worker_env(**extra_env), self.tmp / f"worker-{name}.log",
                        f"{name}-{self.session}@%h").start()
        self.workers.append(worker)
        self.started.append(worker)
        return worker

    @property
    def db(self):
        return self.app.extensions["zenyard"]["db"]

    def stop(self) -> None:
        app = getattr(self, "app", None)
        if app is not None:
            app.extensions["zenyard"]["db"].dispose()
        for thing in reversed(self.started):
            thing.stop()
        self.started.clear()
        docker = getattr(self, "docker", None)
        if docker is not None:
            docker.close()
        if self.keys_before is not None:
            forget_redis_keys(redis_keys() - self.keys_before)

    def __enter__(self) -> "TemplateWorld":
        return self.start()

    def __exit__(self, *_exc: Any) -> None:
        self.stop()
