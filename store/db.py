"""Engine, sessions and the unit of work.

One `Database` per app. A use case opens a unit of work, which commits once
at the end or rolls back on any error; repositories and queries never commit.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from store.errors import EntityExists


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers go on while one writer commits; busy_timeout makes a
    # second writer wait for the lock instead of failing at once.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str, echo: bool = False) -> Engine:
    """Create an engine with the settings each backend needs."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    kwargs: dict = {"echo": echo, "future": True}
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
    else:
        kwargs.update(pool_pre_ping=True, pool_recycle=3600)
    if backend == "mysql" and parsed.drivername == "mysql":
        # ZenML's URLs say mysql://; Zenyard's driver is PyMySQL.
        parsed = parsed.set(drivername="mysql+pymysql")
    if backend == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    engine = create_engine(parsed, **kwargs)
    if backend == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


class Database:
    """The app's engine and session factory."""

    def __init__(self, url: str, echo: bool = False):
        import store.models  # noqa: F401  (every table mapped before the first query)

        self.engine = make_engine(url, echo=echo)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # one read statement needs no transaction: on a server database that
        # saves the BEGIN and ROLLBACK round trips (SQLite has none to save,
        # and switching its connection's mode costs more than it gains)
        self._single_reads = (
            self.engine if self.backend == "sqlite" else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )

    @property
    def backend(self) -> str:
        return self.engine.url.get_backend_name()

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """A session that commits once at the end, or rolls back."""
        session = self.sessions()
        try:
            yield session
            session.commit()
        except IntegrityError as err:
            # A unique key taken between a use case's check and its commit
            # (another request won the race): the same 409 as the check.
            session.rollback()
            raise EntityExists(
                "Unable to save: an entity with the same unique values already exists."
            ) from err
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def single_read(self):
        """A connection for one read statement (`with db.single_read() as c:`)."""
        return self._single_reads.connect()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for queries only; nothing it holds is committed."""
        session = self.sessions()
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
