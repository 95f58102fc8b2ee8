"""What several test suites share: the cached zenml==0.66.0 virtual
environment (the compatibility harness, the catalog checks, the Docker and
browser suites and `make bench` use the same one), a clean environment for
child processes, file locks and free loopback ports."""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import sys
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


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
