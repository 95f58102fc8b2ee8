"""Alembic, driven from code: `upgrade(db)` brings a database to head.

Several processes may start on one new database at once (gunicorn's workers,
API replicas, `zenyard up`): `upgrade` holds a lock for the database while it
migrates, so the first one migrates and the others find it at head.
PostgreSQL: an advisory lock; MySQL/MariaDB: `GET_LOCK`; SQLite: an
exclusive `flock` on a file beside the database.
"""

from __future__ import annotations

import fcntl
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from store.db import Database

LOCK_NAME = "zenyard-migrations"
LOCK_TIMEOUT_SECONDS = 600

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(db: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = db.engine
    return config


@contextmanager
def migration_lock(db: Database) -> Iterator[None]:
    """Hold the database's migration lock (waits for another holder)."""
    backend = db.backend
    if backend == "sqlite":
        database = db.engine.url.database
        if not database or database == ":memory:":
            yield
            return
        with open(f"{database}.migrate-lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    with db.engine.connect() as connection:
        if backend == "postgresql":
            key = zlib.crc32(LOCK_NAME.encode())
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
            connection.commit()
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                connection.commit()
        elif backend == "mysql":
            got = connection.execute(text("SELECT GET_LOCK(:name, :timeout)"),
                                     {"name": LOCK_NAME, "timeout": LOCK_TIMEOUT_SECONDS}).scalar()
            if got != 1:
                raise RuntimeError(f"another process held the migration lock for {LOCK_TIMEOUT_SECONDS}s")
            try:
                yield
            finally:
                connection.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": LOCK_NAME})
        else:
            yield


def upgrade(db: Database, revision: str = "head") -> None:
    with migration_lock(db):
        command.upgrade(alembic_config(db), revision)


def current(db: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head() -> str:
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()
