"""A throwaway Zenyard server: gunicorn on a free loopback port, fresh SQLite."""

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


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


class BenchServer:
    """Zenyard under gunicorn, started and stopped by this process.

    Use as a context manager: on exit (normal, error or Ctrl-C) the gunicorn
    master is stopped by its pid and the data directory is deleted.
    """

    def __init__(self, workers: int = 2, threads: int = 4, startup_timeout: float = 60.0):
        self.workers = workers
        self.threads = threads
        self.startup_timeout = startup_timeout
        self.port = 0
        self.data_dir: str | None = None
        self.process: subprocess.Popen | None = None
        self._log_file = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def description(self) -> str:
        return f"gunicorn {self.workers} workers x {self.threads} threads (gthread), sqlite"

    def _environment(self) -> dict[str, str]:
        # Only the bench's own settings: nothing inherited may point the
        # server at another database, broker or secret.
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("ZENML_", "ZENYARD_"))
        }
        env["ZENYARD_DATA_DIR"] = self.data_dir or ""
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def start(self) -> "BenchServer":
        self.data_dir = tempfile.mkdtemp(prefix="zenyard-bench-")
        env = self._environment()
        log(f"data dir {self.data_dir}")

        # Migrate and bootstrap once, before the workers start: two workers
        # on a fresh database would otherwise both run Alembic.
        log("migrating a fresh SQLite database")
        subprocess.run(
            [sys.executable, "-c", "from app import create_app; create_app()"],
            cwd=REPO_ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        env["ZENYARD_AUTO_MIGRATE"] = "false"

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
