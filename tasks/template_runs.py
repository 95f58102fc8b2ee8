"""Template runs: `zenyard.run_template` and `zenyard.reap_workloads`.

Thin adapters over `worker.docker_manager.RunTemplateRunner` and
`store.workloads.reap`. The run task is sent with the workload id as its
task id, after the workload row is committed in `queued`; `acks_late`,
`task_reject_on_worker_lost` and prefetch 1 are the worker's defaults, and
the time limits travel with each message (from the settings), below the
broker's visibility timeout. Only transient errors (registry or engine
hiccups) are retried; a failed build or push is final.

A worker that starts asks for a reaping with its own name: what a worker of
that name held before it restarted is orphaned and is requeued (or failed
after too many attempts). Workloads whose heartbeat went stale are reaped
too, and a redelivered message may claim such a workload by itself.
"""

from __future__ import annotations

import logging
import socket
from datetime import timedelta

from celery import shared_task
from celery.signals import worker_ready
from flask import current_app

from store import workloads as store
from worker.images import TransientError

log = logging.getLogger("zenyard.template_runs")

RUN_TASK = "zenyard.run_template"
REAP_TASK = "zenyard.reap_workloads"


def _settings() -> dict:
    return current_app.extensions["zenyard"]["settings"]


def enqueue(workload_id, countdown: float | None = None) -> None:
    """Send the run task of a committed, queued workload."""
    conf = _settings()
    current_app.extensions["celery"].send_task(
        RUN_TASK, args=[str(workload_id)], task_id=str(workload_id), queue=conf["TASK_QUEUE"],
        soft_time_limit=conf["WORKLOAD_SOFT_TIME_LIMIT"], time_limit=conf["WORKLOAD_TIME_LIMIT"],
        countdown=countdown,
    )


def run_template(workload_id: str, worker: str) -> str | None:
    """Claim and run one workload; its final state, or None if not ours."""
    from worker.docker_manager import RunTemplateRunner

    return RunTemplateRunner.from_app(current_app).run(workload_id, worker)


@shared_task(bind=True, name=RUN_TASK, ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def run_template_task(self, workload_id: str) -> str | None:
    worker = self.request.hostname or socket.gethostname()
    try:
        return run_template(workload_id, worker)
    except TransientError as err:
        # the runner put the workload back in `queued`; try again later
        retries = self.request.retries
        log.warning("workload=%s transient=%s retry=%s", workload_id, err, retries + 1)
        raise self.retry(exc=err, countdown=min(60, 5 * 2 ** retries), max_retries=None)


def reap_workloads(restarted_worker: str | None = None) -> list[tuple[str, str]]:
    """Requeue (and send again) or fail the workloads of dead workers."""
    conf = _settings()
    db = current_app.extensions["zenyard"]["db"]
    reaped = store.reap(
        db, timedelta(seconds=conf["WORKLOAD_STALE_SECONDS"]), conf["WORKLOAD_MAX_ATTEMPTS"], restarted_worker,
    )
    for workload_id, state in reaped:
        log.warning("workload=%s reaped state=%s restarted_worker=%s", workload_id, state, restarted_worker)
        if state == "queued":
            enqueue(workload_id)
    return [(str(w), s) for w, s in reaped]


@shared_task(name=REAP_TASK, ignore_result=True)
def reap_workloads_task(restarted_worker: str | None = None) -> list[tuple[str, str]]:
    return reap_workloads(restarted_worker)


@worker_ready.connect
def _reap_when_ready(sender=None, **_kwargs) -> None:
    """A worker (re)started: what a worker of its name held is orphaned."""
    if sender is None:
        return
    app = sender.app
    app.send_task(REAP_TASK, kwargs={"restarted_worker": sender.hostname}, queue=app.conf.task_default_queue)
