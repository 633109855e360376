"""Pooled PostgreSQL connections: one left unused for longer than
``connection_check_after_seconds`` is checked before use, so a connection the
database dropped meanwhile costs no request; one used more recently is
trusted (a dropped one then fails its request with a 503, and the pool
reconnects)."""

import time

import pytest
import sqlalchemy as sa

from flexilims.errors import Unavailable
from flexilims.settings import Settings
from flexilims.store import Store, db


def backend_pid(store: Store) -> int:
    with store.read() as conn:
        return conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()


def terminate(url: str, pid: int) -> None:
    """End a server connection from outside, as a database restart would."""
    admin = sa.create_engine(db.create_engine(url).url)
    with admin.connect() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()


@pytest.fixture
def postgres(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("connections dropped by a PostgreSQL server")
    return database_url


def test_an_idle_connection_dropped_by_the_database_is_replaced(postgres):
    store = Store(
        db.create_engine(postgres, Settings(connection_check_after_seconds=0.2))
    )
    try:
        terminate(postgres, backend_pid(store))
        time.sleep(0.3)
        # Checked before use, found dead, replaced: the request never sees it.
        assert backend_pid(store) > 0
    finally:
        store.engine.dispose()


def test_a_recently_used_connection_is_trusted_and_the_pool_recovers(postgres):
    store = Store(
        db.create_engine(postgres, Settings(connection_check_after_seconds=60))
    )
    try:
        terminate(postgres, backend_pid(store))
        with pytest.raises(Unavailable):
            backend_pid(store)
        assert backend_pid(store) > 0
    finally:
        store.engine.dispose()


def test_a_restart_costs_one_request_not_one_per_pooled_connection(postgres):
    """Every pooled connection is gone after a restart: the first request to
    meet one fails, and the pool drops the others with it."""
    store = Store(
        db.create_engine(postgres, Settings(connection_check_after_seconds=60))
    )
    try:
        connections = [store.engine.connect() for _ in range(3)]
        pids = [
            conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            for conn in connections
        ]
        for conn in connections:
            conn.close()
        for pid in pids:
            terminate(postgres, pid)
        with pytest.raises(Unavailable):
            backend_pid(store)
        assert [backend_pid(store) for _ in range(3)]
        assert not set(pids) & {backend_pid(store) for _ in range(3)}
    finally:
        store.engine.dispose()
