"""The ZenML dashboard in a real browser against a real Zenyard.

* `dashboard_dir`: the `zenml/zen_server/dashboard` folder of the cached
  `zenml==0.66.0` venv (tests/compat; the wheel ships the built dashboard,
  `[server]` only adds server dependencies).
* `dashboard_server`: Zenyard under gunicorn with `ZENYARD_DASHBOARD_DIR`.
* `seeded_run`: a two-step pipeline run by the real client, so the run page
  has a graph, steps, logs and a visualization.
* `browser`: Debian's Chromium, headless, driven by Playwright, with a new
  profile; every API answer is recorded and every request that would leave
  127.0.0.1 is blocked and recorded (`Browser.traffic`).

Screenshots and the record of API calls go to `test-output/browser/`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from tests.compat.conftest import (
    ZenmlClient,
    ZenmlVenv,
    ZenyardServer,
    _clean_environ,
    ensure_zenml_venv,
)

ROOT = Path(__file__).resolve().parents[2]
OUTPUT_DIR = ROOT / "test-output" / "browser"
CHROMIUM = "/usr/bin/chromium"
# Chromium's own background traffic (updates, sync, field trials) stays off.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 900}
LOOPBACK = "127.0.0.1"

SEED = """
from typing import Annotated, Tuple

from zenml import log_artifact_metadata, pipeline, step
from zenml.client import Client
from zenml.lineage_graph.lineage_graph import LineageGraph
from zenml.types import MarkdownString

p = params


@step
def load_data() -> Annotated[dict, "dataset"]:
    print(f"loading {p['marker']}: 3 rows")
    log_artifact_metadata({"rows": 3})
    return {"x": [1, 2, 3], "y": [0, 1, 1]}


@step
def train(dataset: dict) -> Tuple[Annotated[float, "accuracy"], Annotated[MarkdownString, "report"]]:
    print(f"training {p['marker']} on {len(dataset['x'])} rows")
    return 0.9, MarkdownString("# Training report\\n\\nAccuracy reached **0.9**.")


@pipeline(name=p["pipeline"])
def training():
    train(load_data())


training.with_options(run_name=p["run"])()
run = Client().get_pipeline_run(p["run"])
result["run_id"] = str(run.id)
result["status"] = str(run.status.value)
result["steps"] = {name: {"id": str(s.id), "status": str(s.status.value)} for name, s in run.steps.items()}
result["artifacts"] = {
    name: str(version.id) for s in run.steps.values() for name, version in s.outputs.items()
}
# the graph as ZenML's own code draws it from what this server answers
graph = LineageGraph()
graph.generate_run_nodes_and_edges(run)
result["graph"] = graph.model_dump(mode="json")
"""


def dashboard_folder(venv: ZenmlVenv) -> Path:
    """The built dashboard inside the venv's zenml package."""
    done = subprocess.run(
        [str(venv.python), "-c",
         "import os, zenml; print(os.path.join(os.path.dirname(zenml.__file__), 'zen_server', 'dashboard'))"],
        capture_output=True, text=True, timeout=120, env=_clean_environ(), check=True,
    )
    return Path(done.stdout.strip())


@pytest.fixture(scope="session")
def output_dir() -> Path:
    shutil.rmtree(OUTPUT_DIR, ignore_errors=True)
    OUTPUT_DIR.mkdir(parents=True)
    return OUTPUT_DIR


@pytest.fixture(scope="session")
def zenml_venv() -> ZenmlVenv:
    return ensure_zenml_venv()


@pytest.fixture(scope="session")
def dashboard_dir(zenml_venv: ZenmlVenv) -> Path:
    folder = dashboard_folder(zenml_venv)
    if not (folder / "index.html").is_file():
        pytest.fail(f"no dashboard build in the zenml==0.66.0 venv: {folder}/index.html is missing")
    return folder


@pytest.fixture(scope="session")
def dashboard_server(tmp_path_factory: pytest.TempPathFactory, dashboard_dir: Path) -> Iterator[ZenyardServer]:
    server = ZenyardServer(
        tmp_path_factory.mktemp("dashboard-server") / "data",
        env={"ZENYARD_DASHBOARD_DIR": str(dashboard_dir)},
    )
    server.start()
    yield server
    server.stop()


@dataclass
class SeededRun:
    pipeline: str
    name: str
    marker: str
    id: str
    steps: dict
    artifacts: dict
    graph: dict


@pytest.fixture(scope="session")
def seeded_run(zenml_venv, dashboard_server, tmp_path_factory) -> SeededRun:
    client = ZenmlClient(zenml_venv, tmp_path_factory.mktemp("dashboard-client"), dashboard_server)
    client.connect()
    names = {"pipeline": "quickstart_training", "run": "first-training-run", "marker": "seeded-for-the-dashboard"}
    out = client.run(SEED, timeout=300, **names)
    assert out["status"] == "completed", out
    return SeededRun(names["pipeline"], names["run"], names["marker"], out["run_id"], out["steps"],
                     out["artifacts"], out["graph"])


@pytest.fixture(scope="session")
def api(dashboard_server) -> requests.Session:
    """The API as the default user (bearer token), to check what the browser wrote."""
    session = requests.Session()
    login = session.post(dashboard_server.url + "/api/v1/login", data={"username": "default", "password": ""})
    login.raise_for_status()
    session.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
    session.cookies.clear()
    return session


@dataclass
class Traffic:
    """What the dashboard asked for: API answers, and what was kept from leaving the machine."""

    api_calls: list[dict] = field(default_factory=list)
    #: other answers of 400 and more (a missing asset, a page)
    failed_files: list[dict] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    #: uncaught JavaScript errors of the page
    page_errors: list[str] = field(default_factory=list)

    def record(self, response: Any) -> None:
        url = urlsplit(response.url)
        call = {
            "method": response.request.method,
            "path": url.path + (f"?{url.query}" if url.query else ""),
            "status": response.status,
        }
        if url.path.startswith("/api/"):
            self.api_calls.append(call)
        elif response.status >= 400:
            self.failed_files.append(call)

    def route(self, route: Any) -> None:
        url = urlsplit(route.request.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.hostname != LOOPBACK:
            self.blocked.append(route.request.url)
            route.abort("blockedbyclient")
        else:
            route.continue_()

    def with_status(self, low: int, high: int) -> list[dict]:
        return [c for c in self.api_calls if low <= c["status"] <= high]

    def blocked_hosts(self) -> set[str]:
        return {urlsplit(u).hostname for u in self.blocked}

    def save(self, path: Path) -> None:
        path.write_text(json.dumps({
            "api_calls": self.api_calls, "failed_files": self.failed_files,
            "blocked": self.blocked, "page_errors": self.page_errors,
        }, indent=1))


@dataclass
class Browser:
    context: Any
    page: Any
    traffic: Traffic
    base_url: str
    output_dir: Path

    def screenshot(self, name: str) -> Path:
        path = self.output_dir / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path


@pytest.fixture
def browser(dashboard_server, output_dir, tmp_path) -> Iterator[Browser]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is missing: pip install -e '.[test]' installs it")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/test-deps.sh installs Debian's chromium")
    traffic = Traffic()
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),  # a new --user-data-dir
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport=VIEWPORT,
        )
        context.set_default_timeout(30_000)
        context.route("**/*", traffic.route)
        page = context.pages[0] if context.pages else context.new_page()
        page.on("response", traffic.record)
        page.on("pageerror", lambda error: traffic.page_errors.append(str(error)))
        try:
            yield Browser(context, page, traffic, dashboard_server.url, output_dir)
        finally:
            traffic.save(output_dir / "api-calls.json")
            context.close()
