"""The store on SQLite, PostgreSQL and MariaDB: migrations, bootstrap, the
unit of work, and the generic list grammar."""

from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import func, select

from store import crud, migrate
from store.errors import BadRequest, EntityExists, InvalidInput
from store.filtering import ListParams
from store.server import bootstrap
from store.tables import User, Workspace
from store.users import USERS, actor_of
from store.workspaces import WORKSPACES


def db_of(app):
    return app.extensions["zenyard"]["db"]


def admin(app):
    with db_of(app).reading() as session:
        return actor_of(session.scalars(select(User).where(User.name == "default")).one())


def add_users(app, names, **fields):
    with db_of(app).unit_of_work() as session:
        for name in names:
            session.add(User(name=name, active=True, **fields))
            session.flush()
            time.sleep(0.002)  # distinct creation times for sorting


def listing(app, **kw):
    filters = kw.pop("filters", {})
    return crud.list_entities(db_of(app), USERS, ListParams(filters=filters, **kw), admin(app))


def test_migrations_reach_head(app):
    assert migrate.current(db_of(app)) == migrate.head()


def test_bootstrap_is_idempotent(app):
    db = db_of(app)
    bootstrap(db, "default", "", active=True)
    bootstrap(db, "default", "", active=True)
    with db.reading() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 1
        assert session.scalars(select(Workspace.name)).all() == ["default"]


def test_unit_of_work_rolls_back_everything_on_error(app):
    db = db_of(app)
    with pytest.raises(RuntimeError):
        with db.unit_of_work() as session:
            session.add(User(name="half-written", active=True))
            session.flush()
            raise RuntimeError("boom")
    with db.reading() as session:
        assert session.scalar(select(User).where(User.name == "half-written")) is None


def test_unique_name_is_409_even_when_the_precheck_is_skipped(app):
    db = db_of(app)
    crud.create_entity(db, USERS, {"name": "twin", "is_admin": False, "password": "x"}, admin(app))
    with pytest.raises(EntityExists):
        crud.create_entity(db, USERS, {"name": "twin", "is_admin": False, "password": "x"}, admin(app))
    # a race: the database constraint answers the same way
    original = USERS.check_unique
    USERS.check_unique = lambda *a, **k: None
    try:
        with pytest.raises(EntityExists):
            crud.create_entity(db, USERS, {"name": "twin", "is_admin": False, "password": "x"}, admin(app))
    finally:
        USERS.check_unique = original


def test_string_operators(app):
    add_users(app, ["alpha-one", "alpha-two", "beta-one", "Gamma_%"])
    names = lambda page: sorted(item["name"] for item in page["items"])  # noqa: E731
    assert names(listing(app, filters={"name": "contains:one"})) == ["alpha-one", "beta-one"]
    assert names(listing(app, filters={"name": "startswith:alpha"})) == ["alpha-one", "alpha-two"]
    assert names(listing(app, filters={"name": "endswith:two"})) == ["alpha-two"]
    assert names(listing(app, filters={"name": "beta-one"})) == ["beta-one"]
    assert names(listing(app, filters={"name": "equals:beta-one"})) == ["beta-one"]
    # case-insensitive, wildcards literal
    assert names(listing(app, filters={"name": "contains:GAMMA_%"})) == ["Gamma_%"]
    assert names(listing(app, filters={"name": "contains:a_"})) == ["Gamma_%"]
    with pytest.raises(InvalidInput):
        listing(app, filters={"name": "gt:a"})


def test_logical_operator_or(app):
    add_users(app, ["one", "two", "three"])
    page = listing(app, logical_operator="or", filters={"name": "one", "full_name": "contains:nobody"})
    assert [i["name"] for i in page["items"]] == ["one"]
    page = listing(app, logical_operator="or", filters={"name": "one", "email": "startswith:x"})
    assert page["total"] == 1
    page = listing(app, logical_operator="and", filters={"name": "one", "full_name": "contains:nobody"})
    assert page["total"] == 0


def test_bool_uuid_and_datetime_filters(app):
    add_users(app, ["on"])
    with db_of(app).unit_of_work() as session:
        session.add(User(name="off", active=False))
    assert [i["name"] for i in listing(app, filters={"active": "false"})["items"]] == ["off"]
    everyone = listing(app, size=50)["items"]
    target = next(i for i in everyone if i["name"] == "on")
    prefix = str(target["id"])[:8]
    by_prefix = listing(app, filters={"id": f"startswith:{prefix}"})["items"]
    assert [i["name"] for i in by_prefix] == ["on"]
    assert listing(app, filters={"id": str(target["id"])})["total"] == 1
    with pytest.raises(InvalidInput):
        listing(app, filters={"id": "not-a-uuid"})
    created = target["body"]["created"]
    stamp = created.replace(microsecond=0).strftime("%Y-%m-%d %H:%M:%S")
    after = listing(app, filters={"created": f"gte:{stamp}"})["items"]
    assert "on" in [i["name"] for i in after]
    assert listing(app, filters={"created": "gt:2999-01-01 00:00:00"})["total"] == 0
    with pytest.raises(InvalidInput):
        listing(app, filters={"created": "gte:yesterday"})


def test_sorting_and_pages(app):
    add_users(app, [f"u{i:02d}" for i in range(7)])
    first = listing(app, sort_by="desc:name", size=3, page=1)
    assert [i["name"] for i in first["items"]] == ["u06", "u05", "u04"]
    assert (first["total"], first["total_pages"], first["index"], first["max_size"]) == (8, 3, 1, 3)
    last = listing(app, sort_by="desc:name", size=3, page=3)
    assert [i["name"] for i in last["items"]] == ["u00", "default"]
    ascending = listing(app, sort_by="asc:created", size=50)["items"]
    assert [i["name"] for i in ascending][1:] == [f"u{i:02d}" for i in range(7)]
    with pytest.raises(BadRequest):
        listing(app, size=3, page=4)
    with pytest.raises(InvalidInput):
        listing(app, sort_by="password_hash")


def test_empty_list_has_one_page(app):
    page = crud.list_entities(
        db_of(app), WORKSPACES, ListParams(filters={"name": "nothing-here"}), admin(app)
    )
    assert page == {"index": 1, "max_size": 20, "total_pages": 1, "total": 0, "items": []}


def test_hydration_controls_metadata(app):
    plain = listing(app)["items"][0]
    hydrated = listing(app, hydrate=True)["items"][0]
    assert plain["metadata"] is None
    assert hydrated["metadata"] == {"email": None, "external_user_id": None, "user_metadata": {}}
    assert isinstance(plain["id"], uuid.UUID)


STARTER = """
import sys
from app import create_app
create_app({"DATA_DIR": sys.argv[1], "DATABASE_URL": sys.argv[2], "PASSWORD_HASH_ROUNDS": 4})
"""


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "mysql"])
def test_processes_starting_at_once_on_a_new_database_migrate_it_once(backend, tmp_path):
    """gunicorn's workers or API replicas on a new database: one migrates
    (under the migration lock), the others wait and find it at head."""
    import subprocess
    import sys
    from pathlib import Path

    from sqlalchemy import create_engine, func, select

    from store.tables import User
    from tests.conftest import ServerDatabase

    server = None
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'new.db'}"
    else:
        server = ServerDatabase(backend)
        url = server.url
    try:
        root = Path(__file__).resolve().parent.parent
        starters = [
            subprocess.Popen([sys.executable, "-c", STARTER, str(tmp_path / f"data{n}"), url], cwd=root,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for n in range(4)
        ]
        outputs = [(p.wait(timeout=180), p.stdout.read()) for p in starters]
        assert [code for code, _ in outputs] == [0, 0, 0, 0], "\n".join(out[-2000:] for _, out in outputs)
        engine = create_engine(url)
        with engine.connect() as connection:
            assert connection.scalar(select(func.count()).select_from(User)) == 1
            assert connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == migrate.head()
        engine.dispose()
    finally:
        if server is not None:
            server.drop()
