"""The Celery app, bound to a Flask app so that tasks run in its context.

The embedded default uses kombu's SQLAlchemy transport on a SQLite file in
the data directory: no service to install. `ZENYARD_BROKER_URL=redis://...`
selects Redis. Results are never stored: the database holds all state.
"""

from __future__ import annotations

from pathlib import Path

from celery import Celery, Task
from flask import Flask


def init_celery(app: Flask) -> Celery:
    settings = app.extensions["zenyard"]["settings"]

    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(app.name, task_cls=FlaskTask)
    celery.conf.update(
        broker_url=settings["BROKER_URL"],
        task_default_queue=settings["TASK_QUEUE"],
        result_backend=None,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        imports=("tasks.maintenance", "tasks.template_runs"),
    )
    if settings["WORKLOAD_REAP_SECONDS"] > 0:
        # sent by `celery beat` (`zenyard beat`, or `zenyard worker --beat`):
        # workloads whose worker died and never came back are requeued or failed
        period = settings["WORKLOAD_REAP_SECONDS"]
        celery.conf.beat_schedule = {
            "zenyard-reap-workloads": {
                "task": "zenyard.reap_workloads", "schedule": period,
                "options": {"queue": settings["TASK_QUEUE"], "expires": period},
            },
        }
        celery.conf.beat_schedule_filename = str(Path(settings["DATA_DIR"]) / "celerybeat-schedule")
    if not settings["BROKER_URL"].startswith("sqla+"):
        # task events, for Flower: sent, started, succeeded or failed, with the
        # workload id as the task id (the embedded broker has no fanout for them)
        celery.conf.update(worker_send_task_events=True, task_send_sent_event=True)
    if settings["BROKER_URL"].startswith(("redis", "rediss")):
        # a task unacknowledged this long is given to another worker; the
        # workload time limits are checked to stay below it at start-up
        celery.conf.broker_transport_options = {"visibility_timeout": settings["BROKER_VISIBILITY_TIMEOUT"]}
    celery.set_default()
    app.extensions["celery"] = celery
    return celery
