"""Serving a dashboard build: assets with the right types, index.html for
pages, JSON 404s for unknown API paths."""

from __future__ import annotations

import pytest

from tests.conftest import make_app


@pytest.fixture
def build(tmp_path):
    root = tmp_path / "dashboard"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><div id=root></div>")
    (root / "favicon.ico").write_bytes(b"\x00\x00\x01\x00")
    (root / "assets" / "index-abc.js").write_text("export const x = 1;")
    (root / "assets" / "index-abc.css").write_text("body{}")
    (root / "assets" / "font.woff2").write_bytes(b"wOF2")
    (root / "assets" / "pic.webp").write_bytes(b"RIFF")
    (root / "assets" / "logo.svg").write_text("<svg/>")
    return root


def test_without_a_dashboard_the_root_says_how_to_enable_it(sqlite_app):
    http = sqlite_app.test_client()
    page = http.get("/")
    assert page.status_code == 200 and b"ZENYARD_DASHBOARD_DIR" in page.data
    assert http.get("/runs/123").status_code == 404


def test_assets_pages_and_api_paths(tmp_path, server_databases, build):
    app = make_app("sqlite", tmp_path, server_databases, DASHBOARD_DIR=str(build))
    http = app.test_client()
    script = http.get("/assets/index-abc.js")
    assert script.status_code == 200 and script.headers["Content-Type"].startswith("text/javascript")
    assert "immutable" in script.headers["Cache-Control"]
    assert http.get("/assets/index-abc.css").headers["Content-Type"].startswith("text/css")
    assert http.get("/assets/font.woff2").headers["Content-Type"] == "font/woff2"
    assert http.get("/assets/pic.webp").headers["Content-Type"] == "image/webp"
    assert http.get("/assets/logo.svg").headers["Content-Type"] == "image/svg+xml"
    assert http.get("/favicon.ico").data == b"\x00\x00\x01\x00"
    for page in ("/", "/login", "/runs/8d78ec1c-a56d-40e3-b3aa-5e07b2610d11", "/survey"):
        response = http.get(page)
        assert response.status_code == 200 and b'id=root' in response.data, page
        assert response.headers["Content-Type"].startswith("text/html")
    assert http.get("/assets/missing.js").status_code == 404
    assert b"root:" not in http.get("/assets/../../etc/passwd").data
    missing_api = http.get("/api/v1/no-such-thing")
    assert missing_api.status_code == 404 and missing_api.json == {"detail": "Not Found"}
    assert http.post("/api/v1/no-such-thing").status_code == 404
    assert http.get("/api/v1/info").json["version"] == "0.66.0"
    assert http.get("/openapi.json").status_code == 200
