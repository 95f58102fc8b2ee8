"""Rows read for presentation with Core statements instead of ORM entities.

The presentations of runs, steps and artifact versions answer every
request the client makes while it records a run, and every page people
read afterwards. Loaded as ORM entities, their rows cost most of that
time: an entity select through the session takes about five times as long
as the same select on the session's connection (identity map, row
processors, eager loads of `user` and `workspace` on every scoped row).

A `Record` is such a row read with Core: its columns as attributes, under
the same names as the entity's, so the resources' `present` methods take
either. The users and workspaces that presentations nest (`row.user`,
`row.workspace`) are loaded once per request (`open_scope`; outside a
request, once per session), and each one is presented once (`brief`).
"""

from __future__ import annotations

import functools
from contextvars import ContextVar, Token
from typing import Any, Iterable, Mapping

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select


class Record:
    """A row's columns as attributes, and what the loader attached to it."""

    def __init__(self, mapping: Mapping[str, Any]):
        self.__dict__.update(mapping)

    def __repr__(self) -> str:
        return f"Record(id={self.__dict__.get('id')!r})"


def _record(keys: list[str], values: Any) -> Record:
    record = Record.__new__(Record)
    record.__dict__ = dict(zip(keys, values))
    return record


@functools.cache
def by_ids(table: Any, column: str = "id", order_by: tuple[str, ...] = ()) -> Select:
    """`SELECT * FROM table WHERE column IN :ids [ORDER BY ...]`, built once
    (building a select and its cache key costs more than SQLite running it)."""
    core = table.__table__
    query = select(core).where(core.c[column].in_(bindparam("ids", expanding=True)))
    if order_by:
        query = query.order_by(*(core.c[name] for name in order_by))
    return query


def connection(session: Session):
    """The session's connection, after flushing what the session holds
    (as `Session.execute` autoflushes; a plain connection does not)."""
    if session.autoflush:
        session.flush()
    return session.connection()


def fetch(session: Session, query: Select, parameters: Mapping[str, Any] | None = None) -> list[Record]:
    """The rows of a Core select, run on the session's connection, with
    their owners attached (see `attach_owners`)."""
    result = connection(session).execute(query, parameters or {})
    keys = list(result.keys())
    return attach_owners(session, [_record(keys, row) for row in result])


def fetch_by_ids(session: Session, table: Any, ids: Iterable, column: str = "id",
                 order_by: tuple[str, ...] = ()) -> list[Record]:
    """The rows of `table` whose `column` is one of `ids`."""
    ids = list({i for i in ids if i is not None})
    if not ids:
        return []
    return fetch(session, by_ids(table, column, order_by), {"ids": ids})


def fetch_one(session: Session, table: Any, row_id: Any) -> Record | None:
    found = fetch_by_ids(session, table, [row_id])
    return found[0] if found else None


#: The users and workspaces read in the current request: {attribute: {id: Record}}.
_SCOPE: ContextVar[dict | None] = ContextVar("zenyard_record_scope", default=None)


def open_scope() -> Token:
    """Start a request's cache of users and workspaces (the API opens one
    per request: a request reads in two or three sessions, and its users
    and workspaces are the same in each)."""
    return _SCOPE.set({})


def close_scope(token: Token) -> None:
    _SCOPE.reset(token)


def remember(attribute: str, record: Record) -> None:
    """Add a row read elsewhere in the request (the authenticated user)."""
    scope = _SCOPE.get()
    if scope is not None:
        scope.setdefault(attribute, {})[record.id] = record


def _owners(session: Session, attribute: str) -> dict:
    scope = _SCOPE.get()
    return (scope if scope is not None else session.info.setdefault("records", {})).setdefault(attribute, {})


def attach_owners(session: Session, records: list[Record]) -> list[Record]:
    """Set `user` and `workspace` on records whose table has `user_id` and
    `workspace_id`; each user and workspace is read once per request (a
    request's rows are read within milliseconds of each other)."""
    if not records:
        return records
    sample = records[0].__dict__
    for attribute, column, table in _OWNERS:
        if column not in sample:
            continue
        cache = _owners(session, attribute)
        missing = {r.__dict__[column] for r in records} - cache.keys() - {None}
        for found in fetch_by_ids(session, table(), missing):
            cache[found.id] = found
        for record in records:
            record.__dict__[attribute] = cache.get(record.__dict__[column])
    return records


def owner(session: Session, attribute: str, owner_id: Any) -> Record | None:
    """The user (`attribute` "user") or workspace ("workspace") with this
    id, or None; read once per request."""
    cache = _owners(session, attribute)
    if owner_id not in cache:
        table = next(table for name, _, table in _OWNERS if name == attribute)
        found = fetch_by_ids(session, table(), [owner_id])
        if not found:
            return None
        cache[owner_id] = found[0]
    return cache[owner_id]


def _user_table():
    from store.tables import User

    return User


def _workspace_table():
    from store.tables import Workspace

    return Workspace


_OWNERS = (("user", "user_id", _user_table), ("workspace", "workspace_id", _workspace_table))


def brief(record: Record, present) -> dict:
    """`present(record)`, once per record: the same user or workspace is
    nested in every row of an answer."""
    presented = record.__dict__.get("_brief")
    if presented is None:
        presented = record.__dict__["_brief"] = present(record)
    return presented
