"""The compatibility harness: the stock `zenml==0.66.0` client against Zenyard.

Three pieces, each a fixture built on a small class:

* `zenml_venv` (session): a separate virtual environment with the stock
  client, built once into `.cache/zenml-0.66.0` and reused across runs.
* `zenyard` (session): Zenyard's API as a real gunicorn process on a free
  loopback port with its own data dir and SQLite database.
  `zenyard_factory` starts more servers (e.g. one a test restarts).
* `client_factory` / `zenml_client`: an isolated client (its own
  `ZENML_CONFIG_PATH`) that runs the `zenml` CLI and Python scenario scripts
  with the venv's interpreter. `zenml_client` is already connected to
  `zenyard` as the default user.

A scenario is a snippet of client code that fills a dict named `result`;
`ZenmlClient.run(code)` executes it in the venv and returns that dict (parsed
from one JSON line). The test asserts on it:

    def test_something(zenml_client):
        out = zenml_client.run('''
            from zenml.client import Client
            result["user"] = Client().active_user.name
        ''')
        assert out["user"] == "default"

Inside a scenario, `params` holds the keyword arguments given to `run`,
`raises(fn, *args)` returns None or {"type": "module.Name", "message": ...},
and values in `result` that are pydantic models are dumped as JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.support import (  # noqa: F401  (re-exported for the suites built on this harness)
    ROOT, VENV_DIR, ZENML_VERSION, ZenmlVenv, clean_environ as _clean_environ, ensure_zenml_venv, free_port,
    stop_process, tail as _tail,
)

SERVER_START_TIMEOUT = 60
SCENARIO_TIMEOUT = 180
RESULT_MARKER = "__ZENYARD_COMPAT_RESULT__ "

def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Everything in tests/compat is a compat test, even if a module forgets the mark."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.compat)


# ---------------------------------------------------------------------------
# The zenml==0.66.0 virtual environment
# ---------------------------------------------------------------------------


# ---------------------------------------------------------------------------
# A Zenyard server process
# ---------------------------------------------------------------------------


def _gunicorn_version() -> tuple[int, ...]:
    import gunicorn

    return tuple(gunicorn.version_info)


class ZenyardServer:
    """Zenyard's API under gunicorn; stopped only through its own process id."""

    def __init__(self, data_dir: Path, port: int | None = None, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.env = dict(env or {})
        self.log_path = data_dir.parent / f"{data_dir.name}-server.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        cmd = [
            sys.executable, "-m", "gunicorn",
            "--bind", f"127.0.0.1:{self.port}",
            "--workers", "1",
            "--threads", "4",
            "--worker-class", "gthread",
            "--access-logfile", "-",
            "--graceful-timeout", "5",
        ]
        if _gunicorn_version() >= (25, 1):
            # The default control socket is one shared path under $HOME.
            cmd.append("--no-control-socket")
        return cmd + ["app:create_app()"]

    def start(self, env: dict[str, str] | None = None) -> "ZenyardServer":
        """Start (with `env` replacing the extra environment, if given) and wait for /health."""
        assert self.process is None or self.process.poll() is not None, "already running"
        if env is not None:
            self.env = dict(env)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        environ = _clean_environ()
        environ["ZENYARD_DATA_DIR"] = str(self.data_dir)
        environ.update(self.env)
        log = open(self.log_path, "a")
        log.write(f"\n===== start {time.strftime('%H:%M:%S')} env={sorted(self.env)} =====\n")
        log.flush()
        self.process = subprocess.Popen(
            self.command(), cwd=ROOT, env=environ, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        log.close()
        self._wait_healthy()
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"Zenyard exited with code {self.process.returncode} while starting; "
                    f"log:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"Zenyard did not answer /health in {SERVER_START_TIMEOUT}s; log:\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM the gunicorn master by its pid; SIGKILL its process group if it hangs."""
        process, self.process = self.process, None
        stop_process(process, timeout=15, group=True)  # the session it leads: master and workers

    def restart(self, env: dict[str, str] | None = None) -> "ZenyardServer":
        """Stop, then start again on the same port and data dir."""
        self.stop()
        return self.start(env)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 40) -> str:
        return _tail(self.log_text(), lines)

    def mark_log(self) -> int:
        """An offset into the log: pass it to `log_since` to see what a step did."""
        return len(self.log_text())

    def log_since(self, offset: int) -> str:
        return self.log_text()[offset:]


# ---------------------------------------------------------------------------
# An isolated client
# ---------------------------------------------------------------------------


class ScenarioFailed(AssertionError):
    """A client command or scenario failed; the message carries the evidence."""


_PRELUDE = '''\
import json as _json
import sys as _sys

params = _json.loads({params!r})
result = {{}}


def error_info(exc):
    return {{"type": f"{{type(exc).__module__}}.{{type(exc).__name__}}", "message": str(exc)}}


def raises(fn, *args, **kwargs):
    """None if fn(*args, **kwargs) returns, else what it raised."""
    try:
        fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the scenario reports it
        return error_info(exc)
    return None


def _jsonable(value):
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return str(value)

# ---- scenario ----
'''

_EPILOGUE = '''
# ---- end of scenario ----
_sys.stdout.flush()
print({marker!r} + _json.dumps(result, default=_jsonable), flush=True)
'''


class ZenmlClient:
    """One client installation's worth of state: a config dir and a work dir."""

    def __init__(self, venv: ZenmlVenv, home: Path, server: ZenyardServer | None = None) -> None:
        self.venv = venv
        self.home = home
        self.config_dir = home / "zenml-config"
        self.work_dir = home / "work"  # cwd: no .zen repository above it
        self.server = server
        self._scripts = 0
        self.config_dir.mkdir(parents=True, exist_ok=True)
        self.work_dir.mkdir(parents=True, exist_ok=True)

    def environ(self) -> dict[str, str]:
        env = _clean_environ()
        env.update(
            ZENML_CONFIG_PATH=str(self.config_dir),
            ZENML_ANALYTICS_OPT_IN="false",
            ZENML_LOGGING_VERBOSITY="WARN",
            AUTO_OPEN_DASHBOARD="false",
            ZENML_ENABLE_RICH_TRACEBACK="false",
            # Wide output so that CLI messages are not wrapped mid-word.
            COLUMNS="200",
            TERM="dumb",
        )
        return env

    def _log_mark(self) -> int:
        return self.server.mark_log() if self.server is not None else 0

    def _evidence(self, done: subprocess.CompletedProcess, what: str, log_mark: int) -> str:
        """The command's output and what the server logged meanwhile (its requests, its errors)."""
        parts = [
            f"{what} exited with code {done.returncode}",
            f"--- stdout ---\n{_tail(done.stdout or '')}",
            f"--- stderr ---\n{_tail(done.stderr or '')}",
        ]
        if self.server is not None:
            logged = _tail(self.server.log_since(log_mark), 80)
            parts.append(f"--- server log meanwhile ({self.server.log_path}) ---\n{logged}")
        return "\n".join(parts)

    def _cli(self, args: tuple[str, ...], timeout: int) -> tuple[subprocess.CompletedProcess, int]:
        mark = self._log_mark()
        done = subprocess.run(
            [str(self.venv.zenml), *args], cwd=self.work_dir, env=self.environ(),
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout,
        )
        return done, mark

    def cli(self, *args: str, check: bool = True, timeout: int = SCENARIO_TIMEOUT) -> subprocess.CompletedProcess:
        """Run the venv's `zenml` CLI with no terminal (a prompt reads EOF, never hangs)."""
        done, mark = self._cli(args, timeout)
        if check and done.returncode != 0:
            raise ScenarioFailed(self._evidence(done, f"`zenml {' '.join(args)}`", mark))
        return done

    def connect(self, url: str | None = None, username: str = "default", password: str = "") -> subprocess.CompletedProcess:
        """`zenml connect` with a username and password; fails unless the store was switched.

        `zenml connect` exits 0 even when the login is refused (it prints
        "Authorization error: ..."), so success is judged by the stored config.
        """
        url = url or self.server.url
        args = ("connect", "--url", url, "--username", username, "--password", password)
        done, mark = self._cli(args, SCENARIO_TIMEOUT)
        stored = self.stored_config().get("store") or {}
        if done.returncode != 0 or stored.get("url") != url or "Authorization error" in done.stdout + done.stderr:
            evidence = self._evidence(done, f"`zenml connect --url {url} --username {username}`", mark)
            raise ScenarioFailed(f"{evidence}\n--- stored store config ---\n{json.dumps(stored, indent=1)}")
        return done

    def stored_config(self) -> dict[str, Any]:
        """The client's config.yaml ({} if none), read with the venv's PyYAML."""
        path = self.config_dir / "config.yaml"
        if not path.exists():
            return {}
        done = subprocess.run(
            [str(self.venv.python), "-c",
             "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1])) or {}))", str(path)],
            capture_output=True, text=True, timeout=60, env=_clean_environ(),
        )
        if done.returncode != 0:
            raise ScenarioFailed(f"cannot read {path}: {done.stderr}")
        return json.loads(done.stdout)

    def run(self, code: str, timeout: int = SCENARIO_TIMEOUT, **params: Any) -> dict[str, Any]:
        """Run a scenario with the venv's python and return its `result` dict."""
        self._scripts += 1
        script = self.home / f"scenario_{self._scripts:03d}.py"
        script.write_text(
            _PRELUDE.format(params=json.dumps(params))
            + textwrap.dedent(code).strip("\n") + "\n"
            + _EPILOGUE.format(marker=RESULT_MARKER)
        )
        mark = self._log_mark()
        done = subprocess.run(
            [str(self.venv.python), str(script)], cwd=self.work_dir, env=self.environ(),
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout,
        )
        lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_MARKER)]
        if done.returncode != 0 or not lines:
            raise ScenarioFailed(self._evidence(done, f"scenario {script}", mark))
        return json.loads(lines[-1][len(RESULT_MARKER):])


# ---------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def zenml_venv() -> ZenmlVenv:
    """The stock zenml==0.66.0 client in its own cached venv."""
    return ensure_zenml_venv()


@pytest.fixture(scope="session")
def zenyard_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Start Zenyard servers: `zenyard_factory(env={...})`; all are stopped at the end."""
    servers: list[ZenyardServer] = []

    def start(env: dict[str, str] | None = None, name: str = "zenyard") -> ZenyardServer:
        server = ZenyardServer(tmp_path_factory.mktemp(name) / "data", env=env)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def zenyard(zenyard_factory: Any) -> ZenyardServer:
    """The shared Zenyard server: fresh data dir and SQLite database."""
    return zenyard_factory()


@pytest.fixture(scope="session")
def client_factory(zenml_venv: ZenmlVenv, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Make an isolated, not yet connected client: `client_factory(server)`."""

    def make(server: ZenyardServer | None = None, name: str = "client") -> ZenmlClient:
        return ZenmlClient(zenml_venv, tmp_path_factory.mktemp(name), server)

    return make


@pytest.fixture(scope="session")
def zenml_client(client_factory: Any, zenyard: ZenyardServer) -> ZenmlClient:
    """A client connected to the shared server as the default user."""
    client = client_factory(zenyard, name="default-client")
    client.connect()
    return client
