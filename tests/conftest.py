"""Shared fixtures: a real SQLite file and, when FLEXILIMS_TEST_POSTGRES_URL
names a server, a real PostgreSQL database, each fresh for every test."""

import os
import secrets

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings

from flexilims.store import Store, db, models
from flexilims.store.accounts import Accounts

# Passwords hashed at argon2's lowest cost: the tests create hundreds of users
# (server processes started by the tests inherit it).
os.environ["FLEXILIMS_PASSWORD_HASHING"] = "fast"

POSTGRES_ENV = "FLEXILIMS_TEST_POSTGRES_URL"

# Property tests (hypothesis, schemathesis): no deadline (a shared machine and
# real databases make times vary), fixtures shared by the examples of a test.
# HYPOTHESIS_PROFILE=thorough tries ten times as many inputs.
for _name, _examples in (("flexilims", 100), ("thorough", 1000)):
    settings.register_profile(
        _name,
        max_examples=_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "flexilims"))
BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory):
    """A migrated SQLite file shared by the tests, emptied before each one."""
    path = tmp_path_factory.mktemp("sqlite") / "flexilims.db"
    url = f"sqlite:///{path}"
    engine = db.create_engine(url)
    db.upgrade(engine)
    engine.dispose()
    return url


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


def empty_database(url: str) -> None:
    """Delete every row of every table (servers on the database may stay up)."""
    engine = db.create_engine(url)
    tables = [t.name for t in reversed(models.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(
                f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"
            )
        else:
            for table in tables:
                conn.exec_driver_sql(f"DELETE FROM {table}")
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request):
    """URL of an empty, migrated database: SQLite file or PostgreSQL."""
    url = request.getfixturevalue(f"{request.param}_url")
    empty_database(url)
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
