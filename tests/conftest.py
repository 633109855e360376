"""Shared fixtures: a real SQLite file and, when FLEXILIMS_TEST_POSTGRES_URL
names a server, a real PostgreSQL database, each fresh for every test."""

import os

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings

from databases import new_postgres_database
from flexilims.store import Store, db, models
from flexilims.store.accounts import Accounts
from servers import ServerProcess

# Passwords hashed at argon2's lowest cost: the tests create hundreds of users
# (server processes started by the tests inherit it).
os.environ["FLEXILIMS_PASSWORD_HASHING"] = "fast"


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


def pytest_xdist_auto_num_workers(config):
    """``-n auto``: one worker more than the cores this process may use. Many
    tests wait on a server process, a browser or a timeout, and the spare
    worker runs others on the core they leave idle."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) + 1
    return (os.cpu_count() or 1) + 1


def pytest_collection_modifyitems(items):
    """The files holding a test marked ``slow`` first (each file's tests kept
    together, in order): pytest-xdist hands files to its workers in this
    order, so that no long test starts when the others are nearly done."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)


#: The one engine of each test database for the whole run: a new engine per
#: test would open a connection each time (and SQLite checkpoints at close).
_ENGINES: dict[str, sa.Engine] = {}


def engine_of(url: str) -> sa.Engine:
    """The shared engine of a test database (fixtures and :func:`store`)."""
    if url not in _ENGINES:
        _ENGINES[url] = db.create_engine(url)
    return _ENGINES[url]


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory):
    """A migrated SQLite file shared by the tests, emptied before each one."""
    path = tmp_path_factory.mktemp("sqlite") / "flexilims.db"
    url = f"sqlite:///{path}"
    db.upgrade(engine_of(url))
    yield url
    _ENGINES.pop(url).dispose()


@pytest.fixture(scope="session")
def postgres_url():
    """A database of its own on the test server, migrated once, dropped at the
    end (:func:`new_postgres_database`)."""
    with new_postgres_database() as url:
        db.upgrade(engine_of(url))
        yield url
        _ENGINES.pop(url).dispose()


#: Tables in an order that deletes children before the rows they point to.
_TABLES = [table.name for table in reversed(models.metadata.sorted_tables)]

#: One query naming the tables that hold rows (most tests fill only a few).
_FILLED = " UNION ALL ".join(
    f"SELECT '{table}' WHERE EXISTS (SELECT 1 FROM {table})" for table in _TABLES
)

#: The sequences of PostgreSQL's serial columns, with their tables.
_SEQUENCES = """
SELECT table_name, pg_get_serial_sequence(quote_ident(table_name), column_name)
FROM information_schema.columns
WHERE table_schema = current_schema() AND starts_with(column_default, 'nextval')
"""
_sequences: dict[str, list] = {}


def empty_database(url: str) -> None:
    """Delete every row of the tables that hold any, and restart PostgreSQL's
    sequences, in one transaction (servers on the database may stay up)."""
    engine = engine_of(url)
    with engine.begin() as conn:
        filled = {name for (name,) in conn.exec_driver_sql(_FILLED)}
        for table in _TABLES:
            if table in filled:
                conn.exec_driver_sql(f"DELETE FROM {table}")
        if engine.dialect.name == "postgresql":
            if url not in _sequences:
                _sequences[url] = conn.exec_driver_sql(_SEQUENCES).all()
            for table, sequence in _sequences[url]:
                if table in filled:
                    conn.exec_driver_sql(f"ALTER SEQUENCE {sequence} RESTART")


@pytest.fixture(params=BACKENDS)
def database_url(request):
    """URL of an empty, migrated database: SQLite file or PostgreSQL."""
    url = request.getfixturevalue(f"{request.param}_url")
    empty_database(url)
    return url


@pytest.fixture
def store(database_url):
    """A store on the test database, with the default lab settings."""
    store = Store(engine_of(database_url))
    store.ensure_lab_settings()
    return store


@pytest.fixture(scope="session")
def servers(tmp_path_factory):
    """``servers(database_url, *serve_options, env=None)``: the base URL of a
    ``flexilims serve`` process on a test database, started when first asked
    for and shared by every test asking for the same options and environment
    (the database is emptied under it between tests). Its standard error goes
    to a file of the run's temporary folder."""
    logs = tmp_path_factory.mktemp("servers")
    running: dict[tuple, ServerProcess] = {}

    def server_for(database_url: str, *options: str, env: dict | None = None):
        key = (database_url, options, tuple(sorted((env or {}).items())))
        if key not in running:
            log = logs / f"server-{len(running)}.log"
            running[key] = ServerProcess(database_url, *options, env=env, log=log)
        return running[key].base_url

    yield server_for
    for process in running.values():
        process.stop()


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
