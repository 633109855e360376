"""Shared fixtures: a real SQLite file and, when FLEXILIMS_TEST_POSTGRES_URL
names a server, a real PostgreSQL database, each fresh for every test."""

import os
import secrets
import shutil

import pytest
import sqlalchemy as sa

from flexilims import db, models
from flexilims.accounts import Accounts
from flexilims.store import Store

POSTGRES_ENV = "FLEXILIMS_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """A migrated SQLite file that each test copies (migrations run once)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = db.create_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_url():
    """A database of its own on the test server, migrated once, dropped at the end."""
    server = os.environ.get(POSTGRES_ENV)
    if not server:
        pytest.skip(f"PostgreSQL skipped: set {POSTGRES_ENV} to run these tests")
    name = f"flexilims_test_{secrets.token_hex(4)}"
    admin = sa.create_engine(db.create_engine(server).url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    url = db.create_engine(server).url.set(database=name)
    engine = db.create_engine(url.render_as_string(hide_password=False))
    db.upgrade(engine)
    engine.dispose()
    yield url.render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.dispose()


def _empty_postgres(url: str) -> None:
    engine = db.create_engine(url)
    tables = ", ".join(t.name for t in models.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path, sqlite_template):
    """URL of an empty, migrated database: SQLite file or PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "flexilims.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_url")
    _empty_postgres(url)
    return url


@pytest.fixture
def store(database_url):
    store = Store.open(database_url)
    yield store
    store.engine.dispose()


@pytest.fixture
def project(store):
    """A project named ``test`` in the store."""
    return Accounts(store).create_project("test")


def database_snapshot(store: Store) -> dict:
    """Every row of every table, to assert that a refused request changed nothing."""
    snapshot = {}
    with store.engine.connect() as conn:
        for table in models.metadata.sorted_tables:
            rows = conn.execute(sa.select(table)).all()
            snapshot[table.name] = sorted(repr(tuple(row)) for row in rows)
    return snapshot


@pytest.fixture
def snapshot():
    """``snapshot(store)``: the database's rows, for before/after comparisons."""
    return database_snapshot
