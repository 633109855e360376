"""Outages under a running server: a PostgreSQL of the test's own is stopped,
started, frozen and locked under a real ``flexilims serve``; SQLite is held
locked. Every request meanwhile gets a timely 503 with Retry-After, never a
500 and never a hang, and the server recovers by itself."""

import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import sqlalchemy as sa

from flexilims import Flexilims, Unavailable
from flexilims.store import Store
from flexilims.store.accounts import Accounts
from own_postgres import OwnPostgres, postgres_bin
from servers import ServerProcess

pytestmark = pytest.mark.slow

#: Short timeouts, so that the test waits seconds, not minutes; pooled
#: connections checked before every use, so that what one test leaves in a
#: worker's pool (connections ended by its restart) cannot fail the next
#: test's first request (tests/flexilims/store/test_db.py tests the window in
#: which a recently used connection is trusted).
TIMEOUTS = {
    "FLEXILIMS_CONNECTION_CHECK_AFTER_SECONDS": "0",
    "FLEXILIMS_CONNECT_TIMEOUT_SECONDS": "2",
    "FLEXILIMS_STATEMENT_TIMEOUT_SECONDS": "4",
    "FLEXILIMS_LOCK_TIMEOUT_SECONDS": "2",
    "FLEXILIMS_RETRY_AFTER_SECONDS": "3",
}
#: The longest an answer may take while the database is out (connect timeout,
#: libpq's minimum of 2 s per address, and a margin for a loaded machine).
TIMELY = 12.0


def setup_database(url: str) -> str:
    """A project and a member; returns the project's id."""
    store = Store.open(url)
    accounts = Accounts(store)
    project = accounts.create_project("lab")
    accounts.add_user("jane", "pw", "Jane Doe")
    accounts.add_member("jane", "lab")
    store.engine.dispose()
    return project.id


@pytest.fixture(scope="module")
def own_postgres():
    if postgres_bin() is None:
        pytest.skip("PostgreSQL's programs (initdb) are not installed")
    server = OwnPostgres()
    yield server
    server.destroy()


@pytest.fixture(scope="module")
def pg_server(own_postgres):
    """A real 2-worker server on the test's own PostgreSQL."""
    project_id = setup_database(own_postgres.url)
    process = ServerProcess(own_postgres.url, "--workers", "2", env=TIMEOUTS)
    yield process, project_id
    process.stop()


def assert_unavailable(reply: requests.Response) -> None:
    assert reply.status_code == 503, reply.text
    assert int(reply.headers["Retry-After"]) >= 1
    assert "unavailable" in reply.headers.get("X-Flexilims-Error", "") or (
        reply.headers["Content-Type"].startswith("application/json")
    )


def every_kind_of_request(base: str, token: str, project_id: str) -> list:
    """A read, a write, a batch, a login and the health check, sent at once
    (as a lab's clients would during an outage), each timed."""
    headers = {"Authorization": f"Bearer {token}"}
    requests_ = [
        ("GET", "get", {"params": {"type": "mouse", "project_id": project_id}}),
        (
            "POST",
            "save",
            {
                "json": {
                    "type": "mouse",
                    "name": f"m{time.time_ns()}",
                    "project_id": project_id,
                }
            },
        ),
        (
            "POST",
            "batch",
            {
                "params": {"project_id": project_id},
                "json": {
                    "operations": [{"type": "mouse", "name": f"b{time.time_ns()}"}]
                },
            },
        ),
        ("POST", "authenticate", {"auth": ("jane", "pw")}),
        ("GET", "health", {}),
    ]

    def send(method, operation, kwargs):
        if operation != "authenticate":
            kwargs = {**kwargs, "headers": headers}
        started = time.monotonic()
        reply = requests.request(method, base + operation, timeout=60, **kwargs)
        return operation, reply, time.monotonic() - started

    with ThreadPoolExecutor(len(requests_)) as pool:
        return list(pool.map(lambda request: send(*request), requests_))


def test_a_stopped_database_gives_503_then_the_server_recovers(own_postgres, pg_server):
    process, project_id = pg_server
    base = process.base_url
    client = Flexilims("jane", "pw", project_id=project_id, base_url=base)
    assert requests.get(base + "health", timeout=10).json()["database"] == "reachable"
    client.post("mouse", "before", {})

    own_postgres.stop()
    try:
        for operation, reply, seconds in every_kind_of_request(
            base, client.token, project_id
        ):
            assert_unavailable(reply)
            assert seconds < TIMELY, (operation, seconds)
        health = requests.get(base + "health", timeout=30)
        assert health.json()["database"] == "unreachable"
        with pytest.raises(Unavailable) as caught:
            client.get("mouse")
        assert caught.value.retry_after == 3
    finally:
        own_postgres.start()

    # No restart of ours: the same server answers as soon as the database is up.
    assert requests.get(base + "health", timeout=30).status_code == 200
    client.post("mouse", "after", {})
    names = {entity["name"] for entity in client.get("mouse")}
    assert {"before", "after"} <= names


def test_a_frozen_database_gives_a_timely_503(own_postgres, pg_server):
    """SIGSTOP of the postmaster: no new connection can be made. The
    server's pooled connections are ended first, as a restart would, so
    that every request needs a new one."""
    process, project_id = pg_server
    base = process.base_url
    client = Flexilims("jane", "pw", project_id=project_id, base_url=base)
    admin = sa.create_engine(
        own_postgres.url.replace("postgresql://", "postgresql+psycopg://"),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        conn.exec_driver_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
    admin.dispose()
    own_postgres.freeze()
    try:
        for operation, reply, seconds in every_kind_of_request(
            base, client.token, project_id
        ):
            assert_unavailable(reply)
            assert seconds < TIMELY, (operation, seconds)
    finally:
        own_postgres.thaw()
    client.post("mouse", "thawed", {})


def test_a_database_frozen_whole_gives_a_timely_503(own_postgres, pg_server):
    """SIGSTOP of every process of the database, pooled connections and all:
    its own timeouts cannot fire; the server's deadlines end the wait."""
    process, project_id = pg_server
    base = process.base_url
    client = Flexilims("jane", "pw", project_id=project_id, base_url=base)
    for _ in range(4):  # connections in both workers' pools
        client.get("mouse")
    own_postgres.freeze(everything=True)
    try:
        for operation, reply, seconds in every_kind_of_request(
            base, client.token, project_id
        ):
            assert_unavailable(reply)
            assert seconds < TIMELY, (operation, seconds)
    finally:
        own_postgres.thaw()
    client.post("mouse", "thawed whole", {})


def test_a_lock_held_too_long_gives_a_timely_503(own_postgres, pg_server):
    """A table locked by someone else: the lock timeout ends the wait."""
    process, project_id = pg_server
    client = Flexilims("jane", "pw", project_id=project_id, base_url=process.base_url)
    blocker = sa.create_engine(
        own_postgres.url.replace("postgresql://", "postgresql+psycopg://")
    )
    with blocker.connect() as conn:
        conn.exec_driver_sql("LOCK TABLE entities IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        with pytest.raises(Unavailable) as caught:
            client.post("mouse", "locked", {})
        assert time.monotonic() - started < TIMELY
        assert "lock" in caught.value.message
        conn.rollback()
    blocker.dispose()
    client.post("mouse", "unlocked", {})


def test_a_sqlite_file_locked_too_long_gives_a_timely_503(tmp_path):
    url = f"sqlite:///{tmp_path / 'lab.db'}"
    project_id = setup_database(url)
    process = ServerProcess(url, env=TIMEOUTS)
    try:
        client = Flexilims(
            "jane", "pw", project_id=project_id, base_url=process.base_url
        )
        holder = sqlite3.connect(tmp_path / "lab.db", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        with pytest.raises(Unavailable):
            client.post("mouse", "busy", {})
        assert time.monotonic() - started < TIMELY
        assert client.get("mouse") == []  # reads go on (WAL)
        holder.execute("ROLLBACK")
        holder.close()
        assert client.post("mouse", "free", {})["name"] == "free"
    finally:
        process.stop()
