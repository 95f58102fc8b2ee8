"""The database a bench server runs on: SQLite in its data dir, or a
throwaway PostgreSQL database created for the run and dropped after it."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy.engine import make_url

from bench.server import log

DATABASES = ("sqlite", "postgresql")
#: The machine's PostgreSQL (trust auth); the bench connects to its
#: `postgres` database only to create and drop its own.
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@contextmanager
def throwaway_database(kind: str, admin_url: str = DEFAULT_POSTGRES_URL) -> Iterator[str | None]:
    """Yield the server's database URL (None: SQLite in the data dir)."""
    if kind == "sqlite":
        yield None
        return
    if kind != "postgresql":
        raise ValueError(f"unknown database {kind!r}; use one of {', '.join(DATABASES)}")
    import psycopg

    admin = make_url(admin_url)
    name = f"zenyard_bench_{uuid.uuid4().hex[:12]}"
    conninfo = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    log(f"created PostgreSQL database {name}")
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as connection:
            # FORCE: a connection the server left behind must not keep it alive
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        log(f"dropped PostgreSQL database {name}")
