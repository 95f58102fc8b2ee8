"""What the Celery workers report about themselves."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from store.base import utcnow
from store.db import Database
from store.tables import WorkerHeartbeat


def record_heartbeat(db: Database, worker: str) -> int:
    """Note that `worker` ran a task now; returns its task count."""
    with db.unit_of_work() as session:
        row = session.get(WorkerHeartbeat, worker)
        if row is None:
            row = WorkerHeartbeat(worker=worker, tasks_run=0)
            session.add(row)
        row.seen_at = utcnow()
        row.tasks_run = (row.tasks_run or 0) + 1
        return row.tasks_run


def live_workers(db: Database, within: timedelta) -> list[dict]:
    with db.reading() as session:
        rows = session.scalars(
            select(WorkerHeartbeat).where(WorkerHeartbeat.seen_at >= utcnow() - within)
        ).all()
        return [{"worker": r.worker, "seen_at": r.seen_at, "tasks_run": r.tasks_run} for r in rows]
