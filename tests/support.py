"""What several test suites share: the cached zenml==0.66.0 virtual
environment (the compatibility harness, the catalog checks, the Docker and
browser suites and `make bench` use the same one), a clean environment for
child processes, file locks, free loopback ports and a local Docker
registry."""

from __future__ import annotations

import base64
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parents[1]
ZENML_VERSION = "0.66.0"
VENV_DIR = ROOT / ".cache" / f"zenml-{ZENML_VERSION}"
VENV_BUILD_TIMEOUT = 1200

# Environment variables that must never leak from the caller into a server
# or a client: they would redirect the database, the store or the config.
_SCRUBBED_PREFIXES = ("ZENML_", "ZENYARD_")
_SCRUBBED_NAMES = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "AUTO_OPEN_DASHBOARD")


def clean_environ() -> dict[str, str]:
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(_SCRUBBED_PREFIXES) and key not in _SCRUBBED_NAMES
    }


def tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.splitlines()[-lines:])


class ZenmlVenv:
    """A virtual environment holding the stock client."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.python = path / "bin" / "python"
        self.zenml = path / "bin" / "zenml"
        self.marker = path / ".zenyard-compat-complete"

    def is_ready(self) -> bool:
        """Complete (marker written after a successful build) and importable."""
        if not (self.marker.exists() and self.zenml.exists() and self.python.exists()):
            return False
        check = subprocess.run(
            [str(self.python), "-c", "import zenml, sys; sys.stdout.write(zenml.__version__)"],
            capture_output=True, text=True, timeout=120, env=clean_environ(),
        )
        return check.returncode == 0 and check.stdout.strip() == ZENML_VERSION


def base_python() -> str:
    """An interpreter zenml 0.66.0 supports (>=3.8,<3.13) to build the venv with."""
    if sys.version_info < (3, 13):
        return sys.executable
    for name in ("python3.12", "python3.11", "python3.10"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("zenml==0.66.0 needs Python < 3.13 and none was found on PATH")


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_zenml_venv(path: Path = VENV_DIR) -> ZenmlVenv:
    """Return the cached venv, building it first if it is missing or incomplete.

    A venv cannot be renamed after it is built (its scripts name their own
    interpreter by absolute path), so it is built in place under an exclusive
    file lock, and a marker file is written only once the install succeeded
    and `import zenml` reports the right version. A directory without the
    marker (an interrupted build) is deleted and built again.
    """
    venv = ZenmlVenv(path)
    if venv.is_ready():
        return venv
    with file_lock(path.with_name(path.name + ".lock")):
        if venv.is_ready():  # another process built it while we waited
            return venv
        shutil.rmtree(path, ignore_errors=True)
        log = path.with_name(path.name + ".build.log")
        steps = [
            [base_python(), "-m", "venv", str(path)],
            [str(venv.python), "-m", "pip", "install", "--disable-pip-version-check",
             "--no-input", f"zenml=={ZENML_VERSION}"],
        ]
        with open(log, "w") as out:
            for step in steps:
                out.write(f"$ {' '.join(step)}\n")
                out.flush()
                done = subprocess.run(
                    step, stdout=out, stderr=subprocess.STDOUT,
                    timeout=VENV_BUILD_TIMEOUT, env=clean_environ(),
                )
                if done.returncode != 0:
                    shutil.rmtree(path, ignore_errors=True)
                    pytest.fail(
                        f"building the zenml=={ZENML_VERSION} venv failed "
                        f"({' '.join(step[:4])}...); log:\n{tail(log.read_text())}"
                    )
        venv.marker.write_text(f"zenml=={ZENML_VERSION}\n")
        if not venv.is_ready():
            venv.marker.unlink()
            pytest.fail(f"the venv at {path} does not import zenml {ZENML_VERSION}; see {log}")
    return venv


def stop_process(process: subprocess.Popen | None, timeout: float, group: bool = False) -> None:
    """End a child this suite started, by its pid: SIGTERM, then SIGKILL after
    `timeout` seconds (to its whole process group when `group`, for a child
    started with `start_new_session` that has children of its own)."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            if group:
                os.killpg(process.pid, signal.SIGKILL)
            else:
                process.kill()
        except ProcessLookupError:
            pass
        process.wait(timeout=10)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


REGISTRY_BINARY = "/usr/bin/docker-registry"
REGISTRY_START_TIMEOUT = 30


class LocalRegistry:
    """`docker-registry serve` on a loopback port, stopped by its own pid.

    `users` turns on basic auth (an htpasswd file with bcrypt hashes);
    `read_only` makes every push fail, as a registry in maintenance does.
    """

    def __init__(self, root: Path, users: dict[str, str] | None = None, read_only: bool = False,
                 port: int | None = None) -> None:
        self.root = root
        self.users = users or {}
        self.read_only = read_only
        self.port = port or free_port()
        self.log = root / "registry.log"
        self.process: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        """What a user passes as `--registry`: host:port, as for `docker login`."""
        return f"127.0.0.1:{self.port}"

    def _config(self) -> str:
        config = (
            "version: 0.1\n"
            "log:\n  level: warn\n"
            f"storage:\n  filesystem:\n    rootdirectory: {self.root / 'storage'}\n"
            "  delete:\n    enabled: true\n"
            f"  maintenance:\n    uploadpurging:\n      enabled: false\n"
            f"    readonly:\n      enabled: {str(self.read_only).lower()}\n"
            f"http:\n  addr: {self.address}\n  secret: zenyard-test\n"
        )
        if self.users:
            import bcrypt

            htpasswd = self.root / "htpasswd"
            htpasswd.write_text("".join(
                f"{user}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode().replace('$2b$', '$2y$', 1)}\n"
                for user, password in self.users.items()
            ))
            config += f"auth:\n  htpasswd:\n    realm: zenyard-test\n    path: {htpasswd}\n"
        return config

    def status(self, user: str | None = None, password: str | None = None) -> int | None:
        """The status of `GET /v2/` (None if nothing answers)."""
        request = urllib.request.Request(f"http://{self.address}/v2/")
        if user is not None:
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                return response.status
        except urllib.error.HTTPError as err:
            return err.code
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return None

    def start(self) -> "LocalRegistry":
        if not Path(REGISTRY_BINARY).exists():
            pytest.fail(f"{REGISTRY_BINARY} is missing: apt-get install docker-registry (scripts/test-deps.sh)")
        self.root.mkdir(parents=True, exist_ok=True)
        config = self.root / "config.yml"
        config.write_text(self._config())
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                [REGISTRY_BINARY, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )
        deadline = time.monotonic() + REGISTRY_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"docker-registry exited with {self.process.returncode}:\n{self.log.read_text()}")
            if self.status() in (200, 401):
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"docker-registry did not answer in {REGISTRY_START_TIMEOUT}s:\n{self.log.read_text()}")

    def stop(self) -> None:
        process, self.process = self.process, None
        stop_process(process, timeout=10)
