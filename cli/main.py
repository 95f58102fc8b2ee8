"""`zenyard up` (API and worker on the embedded default), `zenyard serve`,
`zenyard worker`, `zenyard beat` and `zenyard db upgrade`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

import click

from settings import load_settings


def _environment(data_dir: str | None, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    if data_dir:
        env["ZENYARD_DATA_DIR"] = os.path.abspath(os.path.expanduser(data_dir))
    env.update(extra or {})
    return env


def _prepare(env: dict[str, str]) -> dict[str, Any]:
    """Migrate and bootstrap once, before any worker process starts."""
    from app import create_app

    app = create_app(load_settings(environ=env))
    app.extensions["zenyard"]["db"].dispose()
    return app.extensions["zenyard"]["settings"]


def _gunicorn(host: str, port: int, workers: int, threads: int) -> list[str]:
    return [
        sys.executable, "-m", "gunicorn",
        "--bind", f"{host}:{port}",
        "--workers", str(workers),
        "--threads", str(threads),
        "--worker-class", "gthread",
        "--access-logfile", "-",
        "--graceful-timeout", "10",
        "app:create_app()",
    ]


def _celery(concurrency: int, beat: bool = False) -> list[str]:
    command = [
        sys.executable, "-m", "celery", "-A", "worker.main", "worker",
        "--loglevel", "INFO", "--concurrency", str(concurrency),
        "--hostname", f"zenyard-{os.getpid()}@%h",
    ]
    # the periodic reaper, inside this worker (one such worker per deployment)
    return command + ["--beat"] if beat else command


@click.group()
def cli() -> None:
    """Zenyard: a ZenML 0.66.0 compatible server on Flask and Celery."""


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--data-dir", default=None, help="Where the embedded default keeps its files (default: ~/.zenyard).")
@click.option("--workers", default=2, show_default=True, type=int, help="API worker processes.")
@click.option("--concurrency", default=1, show_default=True, type=int, help="Celery worker processes.")
def up(host: str, port: int, data_dir: str | None, workers: int, concurrency: int) -> None:
    """Start the API and a worker on the embedded default (SQLite, no broker)."""
    env = _environment(data_dir)
    settings = _prepare(env)
    env["ZENYARD_AUTO_MIGRATE"] = "false"
    children = [
        subprocess.Popen(_gunicorn(host, port, workers, 4), env=env),
        subprocess.Popen(_celery(concurrency, beat=True), env=env),
    ]
    password = settings["DEFAULT_USER_PASSWORD"]
    click.echo(
        f"\nZenyard is starting on http://{host}:{port} (data in {settings['DATA_DIR']}).\n"
        f"Connect the ZenML client with:\n\n"
        f"    zenml connect --url http://{host}:{port} "
        f"--username {settings['DEFAULT_USER_NAME']} --password '{password}'\n"
    )
    _supervise(children)


@cli.command()
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
@click.option("--threads", default=4, show_default=True, type=int)
def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Run only the API under gunicorn (production: one per replica)."""
    env = _environment(None)
    _prepare(env)
    env["ZENYARD_AUTO_MIGRATE"] = "false"
    os.execve(sys.executable, _gunicorn(host, port, workers, threads), env)


@cli.command()
@click.option("--concurrency", default=1, show_default=True, type=int)
@click.option("--beat", is_flag=True, help="Also send the periodic tasks (the reaper); one such worker at most.")
def worker(concurrency: int, beat: bool) -> None:
    """Run only a Celery worker."""
    env = _environment(None, {"ZENYARD_AUTO_MIGRATE": "false"})
    os.execve(sys.executable, _celery(concurrency, beat), env)


@cli.command()
def beat() -> None:
    """Send the periodic tasks (the workload reaper); run exactly one."""
    env = _environment(None, {"ZENYARD_AUTO_MIGRATE": "false"})
    os.execve(sys.executable, [sys.executable, "-m", "celery", "-A", "worker.main", "beat", "--loglevel", "INFO"], env)


@cli.group()
def db() -> None:
    """Database migrations."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every Alembic migration up to head."""
    from store import migrate
    from store.db import Database

    settings = load_settings()
    database = Database(settings["DATABASE_URL"])
    migrate.upgrade(database)
    click.echo(f"database at revision {migrate.current(database)}")


@cli.group()
def secrets() -> None:
    """The secrets store."""


@secrets.command("rotate-key")
@click.option(
    "--old-key", "old_keys", multiple=True,
    help="A key the secrets may be encrypted with now (repeatable). Default: the data directory's key file.",
)
def rotate_key(old_keys: tuple[str, ...]) -> None:
    """Re-encrypt every secret under ZENML_SECRETS_STORE_ENCRYPTION_KEY.

    Stop the servers first; start them again with the new key.
    """
    from pathlib import Path

    from store.crypto import KEY_FILE
    from store.db import Database
    from store.secrets import rotate_encryption_key

    settings = load_settings()
    new_key = settings["SECRETS_ENCRYPTION_KEY"]
    if not new_key:
        raise click.UsageError("set ZENML_SECRETS_STORE_ENCRYPTION_KEY to the new key")
    candidates = list(old_keys)
    key_file = Path(settings["DATA_DIR"]) / KEY_FILE
    if not candidates and key_file.exists():
        candidates.append(key_file.read_text().strip())
    database = Database(settings["DATABASE_URL"])
    changed = rotate_encryption_key(database, new_key, candidates)
    click.echo(f"re-encrypted {changed} secrets under the new key")


def _supervise(children: list[subprocess.Popen]) -> None:
    """Wait for the children; stop all of them when one ends or on a signal."""
    stopping = False

    def stop(*_: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping and all(child.poll() is None for child in children):
        time.sleep(0.5)
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    codes = [child.returncode for child in children]
    sys.exit(0 if stopping else max(abs(c) for c in codes))


if __name__ == "__main__":
    cli()
