"""Fixtures: a fresh app and database per test, on SQLite, PostgreSQL and
MariaDB (all three run on this machine; `ZENYARD_TEST_BACKENDS=sqlite`
narrows the set).

SQLite gets a new file per test. PostgreSQL and MariaDB get one database
per test session, migrated once and emptied before each test.
"""

from __future__ import annotations

import os
import uuid
from typing import Iterator

import pytest
from sqlalchemy import create_engine, text

from app import create_app
from store.models import Base

SERVER_URLS = {
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432/{db}",
    "mysql": "mysql+pymysql://root@127.0.0.1:3306/{db}",
}
ADMIN_DB = {"postgresql": "postgres", "mysql": "mysql"}


def _backends() -> list[str]:
    wanted = os.environ.get("ZENYARD_TEST_BACKENDS", "sqlite,postgresql,mysql")
    return [b.strip() for b in wanted.split(",") if b.strip()]


class ServerDatabase:
    """A throwaway database on a real server, created once per session."""

    def __init__(self, backend: str):
        self.backend = backend
        self.name = f"zenyard_test_{uuid.uuid4().hex[:10]}"
        self.admin = create_engine(
            SERVER_URLS[backend].format(db=ADMIN_DB[backend]), isolation_level="AUTOCOMMIT"
        )
        with self.admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {self.name}"))
        self.url = SERVER_URLS[backend].format(db=self.name)
        self.migrated = False

    def empty(self) -> None:
        engine = create_engine(self.url)
        with engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())
        engine.dispose()

    def drop(self) -> None:
        with self.admin.connect() as conn:
            if self.backend == "postgresql":
                conn.execute(text(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)"))
            else:
                conn.execute(text(f"DROP DATABASE IF EXISTS {self.name}"))
        self.admin.dispose()


@pytest.fixture(scope="session")
def server_databases() -> Iterator[dict[str, ServerDatabase]]:
    made: dict[str, ServerDatabase] = {}

    def get(backend: str) -> ServerDatabase:
        if backend not in made:
            made[backend] = ServerDatabase(backend)
        return made[backend]

    yield get  # type: ignore[misc]
    for database in made.values():
        database.drop()


# Tests run with a cheap bcrypt work factor; the server default is 12.
TEST_SETTINGS = {"PASSWORD_HASH_ROUNDS": 4}


def make_app(backend: str, tmp_path, server_databases, **overrides):
    """A new app (with its own settings) on a fresh database of `backend`."""
    config = {"DATA_DIR": str(tmp_path / "data"), **TEST_SETTINGS, **overrides}
    if backend != "sqlite":
        database = server_databases(backend)
        if database.migrated:
            database.empty()
        config["DATABASE_URL"] = database.url
        config["AUTO_MIGRATE"] = not database.migrated
        database.migrated = True
    app = create_app(config)
    app.config["TESTING"] = True
    return app


def reset_database(app) -> None:
    """Empty every table but the server's own row, then bootstrap again."""
    from store.server import bootstrap
    from store.tables import ServerSettings

    settings = app.extensions["zenyard"]["settings"]
    db = app.extensions["zenyard"]["db"]
    with db.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name != ServerSettings.__tablename__:
                conn.execute(table.delete())
        conn.execute(
            ServerSettings.__table__.update().values(
                server_name="default", logo_url=None, active=True, enable_analytics=False,
                display_announcements=False, display_updates=False, onboarding_state=[],
            )
        )
    bootstrap(db, settings["DEFAULT_USER_NAME"], settings["DEFAULT_USER_PASSWORD"], active=True)


@pytest.fixture(scope="session")
def shared_apps(tmp_path_factory, server_databases):
    """One app per backend for the whole session: building an app (routes,
    OpenAPI document) costs seconds; emptying its database costs little."""
    apps: dict = {}

    def get(backend: str):
        if backend not in apps:
            apps[backend] = make_app(backend, tmp_path_factory.mktemp(f"app-{backend}"), server_databases)
        return apps[backend]

    yield get
    for app in apps.values():
        app.extensions["zenyard"]["db"].dispose()


@pytest.fixture(params=_backends())
def backend(request) -> str:
    return request.param


@pytest.fixture
def app(backend, shared_apps):
    app = shared_apps(backend)
    reset_database(app)
    return app


@pytest.fixture
def sqlite_app(shared_apps):
    """For tests whose subject is not the database."""
    app = shared_apps("sqlite")
    reset_database(app)
    return app


class ApiClient:
    """A test client that logs in and sends the bearer token."""

    def __init__(self, app, username: str = "default", password: str = ""):
        self.app = app
        self.http = app.test_client(use_cookies=False)
        self.token = self.login(username, password)

    def login(self, username: str, password: str) -> str:
        response = self.http.post("/api/v1/login", data={"username": username, "password": password})
        assert response.status_code == 200, response.json
        return response.json["access_token"]

    def _headers(self, extra=None):
        headers = {"Authorization": f"Bearer {self.token}"}
        headers.update(extra or {})
        return headers

    def get(self, path, **kw):
        return self.http.get(path, headers=self._headers(kw.pop("headers", None)), **kw)

    def post(self, path, **kw):
        return self.http.post(path, headers=self._headers(kw.pop("headers", None)), **kw)

    def put(self, path, **kw):
        return self.http.put(path, headers=self._headers(kw.pop("headers", None)), **kw)

    def delete(self, path, **kw):
        return self.http.delete(path, headers=self._headers(kw.pop("headers", None)), **kw)


@pytest.fixture
def client(app) -> ApiClient:
    return ApiClient(app)


@pytest.fixture
def make_user(client):
    """Create a user through the API; returns its response model."""

    def create(name: str | None = None, password: str | None = "secret", **fields):
        body = {"name": name or f"user-{uuid.uuid4().hex[:8]}", "is_admin": False, **fields}
        if password is not None:
            body["password"] = password
        response = client.post("/api/v1/users", json=body)
        assert response.status_code == 200, response.json
        return response.json

    return create


@pytest.fixture
def count_queries(app):
    """Count the SQL statements run inside a block:

        with count_queries() as counted:
            client.get(...)
        assert counted.n < 10
    """
    from contextlib import contextmanager

    from sqlalchemy import event

    engine = app.extensions["zenyard"]["db"].engine

    class Counted:
        n = 0
        statements: list[str] = []

    @contextmanager
    def counting():
        counted = Counted()
        counted.statements = []

        def before(conn, cursor, statement, parameters, context, executemany):
            counted.n += 1
            counted.statements.append(statement)

        event.listen(engine, "before_cursor_execute", before)
        try:
            yield counted
        finally:
            event.remove(engine, "before_cursor_execute", before)

    return counting
