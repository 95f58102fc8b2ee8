"""Maintenance tasks."""

from __future__ import annotations

import socket

from celery import shared_task
from flask import current_app

from store.workers import record_heartbeat


def heartbeat(worker: str) -> int:
    """Record that `worker` is alive and ran a task; returns its task count."""
    return record_heartbeat(current_app.extensions["zenyard"]["db"], worker)


@shared_task(name="zenyard.heartbeat", ignore_result=True)
def heartbeat_task(requested_by: str | None = None) -> int:
    return heartbeat(socket.gethostname() + ":" + str(__import__("os").getpid()))
