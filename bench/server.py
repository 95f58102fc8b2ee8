"""A throwaway Zenyard server: gunicorn on a free loopback port, on a fresh
database (SQLite in its data dir, or the URL it is given)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import requests

REPO_ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _gunicorn_version() -> tuple[int, ...]:
    from gunicorn import version_info

    return tuple(version_info)


_STARTED = time.monotonic()


def log(message: str) -> None:
    print(f"[bench {time.monotonic() - _STARTED:6.1f}s] {message}", file=sys.stderr, flush=True)


class BenchServer:
    """Zenyard under gunicorn, started and stopped by this process.

    Use as a context manager: on exit (normal, error or Ctrl-C) the gunicorn
    master is stopped by its pid and the data directory is deleted.
    """

    def __init__(
        self,
        workers: int = 2,
        threads: int = 4,
        startup_timeout: float = 60.0,
        database_url: str | None = None,
        prepare: Callable[[str], None] | None = None,
    ):
        """`database_url`: an empty database (None: SQLite in the data dir).
        `prepare(url)` runs once the database is migrated and bootstrapped,
        before the server starts (seeding)."""
        self.workers = workers
        self.threads = threads
        self.startup_timeout = startup_timeout
        self.database_url = database_url
        self.prepare = prepare
        self.port = 0
        self.data_dir: str | None = None
        self.process: subprocess.Popen | None = None
        self._log_file = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def backend(self) -> str:
        if not self.database_url:
            return "sqlite"
        from sqlalchemy.engine import make_url

        return make_url(self.database_url).get_backend_name()

    @property
    def description(self) -> str:
        return f"gunicorn {self.workers} workers x {self.threads} threads (gthread), {self.backend}"

    def resolved_database_url(self) -> str:
        """The URL the server uses, as its settings resolve it."""
        from settings import load_settings

        return load_settings(environ=self._environment())["DATABASE_URL"]

    def _environment(self) -> dict[str, str]:
        # Only the bench's own settings: nothing inherited may point the
        # server at another database, broker or secret.
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("ZENML_", "ZENYARD_"))
        }
        env["ZENYARD_DATA_DIR"] = self.data_dir or ""
        if self.database_url:
            env["ZENYARD_DATABASE_URL"] = self.database_url
        # bcrypt's lowest work factor: no figure measures a password hash,
        # and seeding 200 users at the default 12 took a minute of the bench.
        env["ZENYARD_PASSWORD_HASH_ROUNDS"] = "4"
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def start(self) -> "BenchServer":
        self.data_dir = tempfile.mkdtemp(prefix="zenyard-bench-")
        env = self._environment()
        log(f"data dir {self.data_dir}")

        # Migrate and bootstrap once, before the workers start: two workers
        # on a fresh database would otherwise both run Alembic.
        log(f"migrating a fresh {self.backend} database")
        subprocess.run(
            [sys.executable, "-c", "from app import create_app; create_app()"],
            cwd=REPO_ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        env["ZENYARD_AUTO_MIGRATE"] = "false"
        if self.prepare is not None:
            self.prepare(self.resolved_database_url())

        self.port = free_port()
        command = [
            sys.executable, "-m", "gunicorn",
            "--bind", f"{HOST}:{self.port}",
            "--workers", str(self.workers),
            "--threads", str(self.threads),
            "--worker-class", "gthread",
            "app:create_app()",
        ]
        if _gunicorn_version() >= (25, 1):
            # Otherwise gunicorn takes the per-user control socket
            # (~/.gunicorn/gunicorn.ctl) from a server already running,
            # e.g. `make up`. It plays no part in serving requests.
            command[-1:-1] = ["--no-control-socket"]
        self._log_file = open(Path(self.data_dir) / "gunicorn.log", "wb")
        log(f"starting {self.description} on {self.url}")
        self.process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            # Its own session: Ctrl-C reaches only the bench, which then
            # stops the server itself (and its workers) in order.
            start_new_session=True,
        )
        self._wait_healthy()
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if requests.get(f"{self.url}/health", timeout=2).status_code == 200:
                    log("server is healthy")
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server not healthy after {self.startup_timeout:.0f}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        if not self.data_dir:
            return ""
        path = Path(self.data_dir) / "gunicorn.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            log(f"stopping gunicorn (pid {process.pid})")
            process.send_signal(signal.SIGTERM)  # the master stops its workers
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self.data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None

    def __enter__(self) -> "BenchServer":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *_exc) -> None:
        self.stop()
