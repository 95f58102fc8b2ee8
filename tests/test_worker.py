"""A real Celery worker process runs a real task, on Redis and on the
embedded SQLAlchemy broker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from app import create_app
from store.workers import live_workers
from tests.support import stop_process

ROOT = Path(__file__).resolve().parent.parent


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "worker.main", "worker", "--concurrency", "1",
         "--loglevel", "INFO", "--hostname", f"test-{uuid.uuid4().hex[:6]}@%h", "--without-mingle",
         "--without-gossip"],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


def stop(process: subprocess.Popen) -> None:
    stop_process(process, timeout=20)


def redis_keys(url: str) -> set[bytes]:
    import redis

    client = redis.Redis.from_url(url)
    try:
        return set(client.scan_iter())
    finally:
        client.close()


def forget_keys(url: str, keys: set[bytes]) -> None:
    """Remove the keys kombu made in Redis for the test."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.mark.worker
@pytest.mark.parametrize("broker", ["redis", "embedded"])
def test_a_worker_process_runs_the_heartbeat_task(tmp_path, broker):
    data = tmp_path / "data"
    overrides = {"DATA_DIR": str(data), "TASK_QUEUE": f"test-{uuid.uuid4().hex[:8]}"}
    if broker == "redis":
        overrides["BROKER_URL"] = "redis://127.0.0.1:6379/0"
    app = create_app(overrides)
    env = dict(os.environ, ZENYARD_DATA_DIR=str(data), ZENYARD_TASK_QUEUE=overrides["TASK_QUEUE"],
               ZENYARD_AUTO_MIGRATE="false")
    if broker == "redis":
        env["ZENYARD_BROKER_URL"] = overrides["BROKER_URL"]
    else:
        env.pop("ZENYARD_BROKER_URL", None)
    keys_before = redis_keys(overrides["BROKER_URL"]) if broker == "redis" else set()
    log = tmp_path / "worker.log"
    worker = start_worker(env, log)
    try:
        # sent before the worker is up: the broker keeps it
        app.extensions["celery"].send_task("zenyard.heartbeat", queue=overrides["TASK_QUEUE"])
        db = app.extensions["zenyard"]["db"]
        deadline = time.monotonic() + 60
        seen = []
        while time.monotonic() < deadline and not seen:
            assert worker.poll() is None, log.read_text()[-3000:]
            seen = live_workers(db, timedelta(minutes=5))
            time.sleep(0.3)
        assert seen, log.read_text()[-3000:]
        assert seen[0]["tasks_run"] == 1
    finally:
        stop(worker)
        app.extensions["zenyard"]["db"].dispose()
        if broker == "redis":
            forget_keys(overrides["BROKER_URL"], redis_keys(overrides["BROKER_URL"]) - keys_before)
    assert "zenyard.heartbeat" in log.read_text()


@pytest.mark.worker
def test_a_worker_with_beat_reaps_a_dead_workers_template_run(tmp_path):
    """`zenyard worker --beat`: the reaper is sent every
    ZENYARD_WORKLOAD_REAP_SECONDS; a workload whose worker stopped beating
    (and never restarted) is failed after its last attempt."""
    from store import workloads
    from store.resources import Actor
    from tests.conftest import ApiClient
    from tests.test_template_runs import PARAMETERS, make_template

    data = tmp_path / "data"
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = dict(os.environ, ZENYARD_DATA_DIR=str(data), ZENYARD_TASK_QUEUE=queue, ZENYARD_AUTO_MIGRATE="false",
               ZENYARD_WORKLOAD_REAP_SECONDS="1", ZENYARD_WORKLOAD_STALE_SECONDS="2", ZENYARD_WORKLOAD_MAX_ATTEMPTS="1",
               ZENML_SERVER_URL="http://127.0.0.1:9")
    env.pop("ZENYARD_BROKER_URL", None)
    app = create_app({"DATA_DIR": str(data), "TASK_QUEUE": queue, "SERVER_URL": "http://127.0.0.1:9"})
    db = app.extensions["zenyard"]["db"]
    client = ApiClient(app)
    made = make_template(client)
    me = client.get("/api/v1/current-user").json
    run, workload_id = workloads.create_template_run(
        db, uuid.UUID(made["template"]), {"steps": {"load": {"parameters": PARAMETERS}}}, Actor(id=uuid.UUID(me["id"]), name=me["name"], is_admin=True),
        allow_local=False,
    )
    assert workloads.claim(db, workload_id, "gone@host", timedelta(seconds=60))["attempt"] == 1
    log = tmp_path / "worker.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "worker", "--beat"], cwd=ROOT, env=env, stdout=log.open("w"),
        stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and workloads.get_workload(db, workload_id)["state"] == "building":
            assert process.poll() is None, log.read_text()[-3000:]
            time.sleep(0.5)
        state = workloads.get_workload(db, workload_id)
        assert state["state"] == "failed", log.read_text()[-3000:]
        assert "worker gone@host stopped" in state["error"] and "gave up after 1 attempts" in state["error"]
        assert client.get(f"/api/v1/runs/{run['id']}").json["body"]["status"] == "failed"
    finally:
        stop(process)
        db.dispose()
    text = log.read_text()
    assert "Scheduler: Sending due task zenyard-reap-workloads" in text


@pytest.mark.worker
def test_flower_shows_the_workers_and_their_tasks(tmp_path):
    """Flower on the same broker (Redis): the worker and the task it ran, with
    its task id (a template run's is its workload id), through Flower's API."""
    import requests

    from tests.support import free_port

    data = tmp_path / "data"
    queue = f"test-{uuid.uuid4().hex[:8]}"
    broker = "redis://127.0.0.1:6379/4"
    app = create_app({"DATA_DIR": str(data), "TASK_QUEUE": queue, "BROKER_URL": broker})
    env = dict(os.environ, ZENYARD_DATA_DIR=str(data), ZENYARD_TASK_QUEUE=queue, ZENYARD_AUTO_MIGRATE="false",
               ZENYARD_BROKER_URL=broker, FLOWER_UNAUTHENTICATED_API="true")
    keys_before = redis_keys(broker)
    port = free_port()
    flower = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "worker.main", "flower", f"--port={port}", "--address=127.0.0.1"],
        cwd=ROOT, env=env, stdout=(tmp_path / "flower.log").open("w"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        task_id = str(uuid.uuid4())
        deadline = time.monotonic() + 60
        tasks: dict = {}
        sent = False
        while time.monotonic() < deadline:
            assert flower.poll() is None, (tmp_path / "flower.log").read_text()[-3000:]
            try:
                workers = requests.get(f"http://127.0.0.1:{port}/api/workers?refresh=1", timeout=10).json()
            except (requests.ConnectionError, ValueError):
                time.sleep(0.5)
                continue
            if not sent and workers:  # Flower listens to the events: now the task
                app.extensions["celery"].send_task("zenyard.heartbeat", queue=queue, task_id=task_id)
                sent = True
            tasks = requests.get(f"http://127.0.0.1:{port}/api/tasks", timeout=10).json()
            if tasks.get(task_id, {}).get("state") == "SUCCESS":
                break
            time.sleep(0.5)
        assert tasks.get(task_id, {}).get("state") == "SUCCESS", (tasks, (tmp_path / "flower.log").read_text()[-2000:])
        assert tasks[task_id]["name"] == "zenyard.heartbeat" and tasks[task_id]["worker"].startswith("test-")
        assert any(name.startswith("test-") for name in workers)
    finally:
        stop(worker)
        stop(flower)
        app.extensions["zenyard"]["db"].dispose()
        forget_keys(broker, redis_keys(broker) - keys_before)
