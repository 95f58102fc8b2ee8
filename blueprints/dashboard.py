"""Serving the ZenML dashboard from the user's own `zenml[server]` install.

Zenyard does not ship the dashboard. Point `ZENYARD_DASHBOARD_DIR` at the
`zenml/zen_server/dashboard` folder of an installed `zenml[server]==0.66.0`
and Zenyard serves it at the root of the same origin as `/api/v1`, which is
where the build expects to be: `/assets/*` with the right content types,
root files such as `/favicon.ico`, and `index.html` for every other page
(`/login`, `/runs/<id>`, ...). API paths never fall through to it.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, Response, abort, current_app, send_from_directory
from werkzeug.routing import PathConverter

bp = Blueprint("dashboard", __name__)

# Module scripts are type-checked by browsers: JS must be text/javascript.
CONTENT_TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".svg": "image/svg+xml",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".json": "application/json",
}
NOT_DASHBOARD = ("api/", "docs", "openapi.json", "health")

HOW_TO_ENABLE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Zenyard</title></head>
<body style="font-family: sans-serif; max-width: 44em; margin: 3em auto">
<h1>Zenyard</h1>
<p>This is a ZenML-compatible server. The API is at <a href="/docs">/docs</a>.</p>
<p>To serve the ZenML dashboard here, install <code>zenml[server]==0.66.0</code>
and start Zenyard with</p>
<pre>ZENYARD_DASHBOARD_DIR=$(python -c "import zenml, os; print(os.path.join(os.path.dirname(zenml.__file__), 'zen_server', 'dashboard'))")</pre>
</body></html>
"""


def _directory() -> Path | None:
    configured = current_app.extensions["zenyard"]["settings"].get("DASHBOARD_DIR")
    return Path(configured) if configured else None


def _send(directory: Path, relative: str) -> Response:
    response = send_from_directory(directory, relative)
    kind = CONTENT_TYPES.get(Path(relative).suffix.lower())
    if kind:
        response.headers["Content-Type"] = kind + ("; charset=utf-8" if kind.startswith("text/") else "")
    if relative.startswith("assets/"):
        # file names carry a content hash: cache them for good
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


class PageConverter(PathConverter):
    """Any path but the API's: unknown API paths stay 404s and a wrong
    method on an API route stays a 405."""

    regex = r"(?!api/|api$)[^/].*?"


def register(app: Flask) -> None:
    app.url_map.converters["page"] = PageConverter
    app.register_blueprint(bp)


@bp.get("/", defaults={"path": ""})
@bp.get("/<page:path>")
def dashboard(path: str) -> Response:
    if path.startswith(NOT_DASHBOARD):
        abort(404)
    directory = _directory()
    if directory is None:
        if path:
            abort(404)
        return Response(HOW_TO_ENABLE, mimetype="text/html")
    if path and (directory / path).is_file() and ".." not in Path(path).parts:
        return _send(directory, path)
    if path.startswith("assets/"):
        abort(404)
    response = _send(directory, "index.html")
    response.headers["Cache-Control"] = "no-cache"
    return response
