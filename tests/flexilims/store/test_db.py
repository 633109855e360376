"""Pooled PostgreSQL connections: one left unused for longer than
``connection_check_after_seconds`` is checked before use, so a connection the
database dropped meanwhile costs no request; one used more recently is
trusted (a dropped one then fails its request with a 503, and the pool
reconnects). Reads on the driver's cursor (:mod:`flexilims.store.driver`)
give the rows SQLAlchemy gives, and meet outages as any other statement."""

import functools
import time

import pytest
import sqlalchemy as sa

from flexilims.errors import Unavailable
from flexilims.settings import Settings
from flexilims.store import Actor, EntityQuery, Store, db
from flexilims.store.accounts import Accounts
from flexilims.store.driver import _driver_form, fetch_all, fetch_in
from flexilims.store.entities import entity_statement, select_entities
from flexilims.store.writing import rows


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


def end_pooled_connections(store, postgres: str, count: int) -> list[int]:
    """Pool ``count`` connections, then end them from the server's side (as a
    restart does); their backends' process ids."""
    connections = [store.engine.connect() for _ in range(count)]
    pids = [
        conn.exec_driver_sql("SELECT pg_backend_pid()").scalar() for conn in connections
    ]
    for conn in connections:
        conn.close()
    for pid in pids:
        terminate(postgres, pid)
    return pids


def test_a_restart_costs_one_request_not_one_per_pooled_connection(postgres):
    """Every pooled connection is gone after a restart: the first request to
    meet one fails, and the pool drops the others with it."""
    store = Store(
        db.create_engine(postgres, Settings(connection_check_after_seconds=60))
    )
    try:
        pids = end_pooled_connections(store, postgres, 3)
        with pytest.raises(Unavailable):
            backend_pid(store)
        assert [backend_pid(store) for _ in range(3)]
        assert not set(pids) & {backend_pid(store) for _ in range(3)}
    finally:
        store.engine.dispose()


def test_entity_selects_give_the_rows_sqlalchemy_gives(store):
    admin = Actor("admin", "Admin", is_admin=True)
    project = Accounts(store).create_project("p").id
    for index in range(3):
        store.save(
            admin,
            datatype="mouse",
            name=f"m{index}",
            project_id=project,
            attributes={"n": index, "nested": {"b": [1, 2.5, None], "a": "x"}},
        )
    first = store.get(admin, EntityQuery(type="mouse", project_id=project))[0]
    member = Actor("jane", "Jane", project_ids=frozenset([project]))
    queries = [
        EntityQuery(id=first["id"]),
        EntityQuery(type="mouse", project_id=project, offset=1, limit=1),
        EntityQuery(type="mouse", name="m2"),
    ]
    for query in queries:
        stmt, params = entity_statement(member, query)
        with store.read() as conn:
            expected = [tuple(row) for row in conn.execute(stmt, params).all()]
        assert [tuple(row) for row in fetch_all(store, stmt, params)] == expected
        assert expected


def test_which_selects_the_driver_runs(store):
    dialect = store.engine.dialect
    on_postgres = dialect.name == "postgresql"
    by_id = select_entities(("id",))
    # Driver's cursor on PostgreSQL; SQLite's JSON text is decoded by SQLAlchemy.
    assert (_driver_form(by_id, dialect) is not None) == on_postgres
    # An expanding list of projects: SQLAlchemy renders it.
    assert _driver_form(select_entities(("member_projects",)), dialect) is None
    # A value SQLAlchemy writes into the text when the statement runs.
    rendered = sa.select(sa.literal(1, literal_execute=True))
    assert _driver_form(rendered, dialect) is None


def test_a_restart_met_by_a_get_costs_one_request(postgres):
    """Pooled connections ended by the server: the first get to meet one fails
    with a 503, and the pool drops the others with it."""
    store = Store(
        db.create_engine(postgres, Settings(connection_check_after_seconds=60))
    )
    admin = Actor("admin", "Admin", is_admin=True)
    try:
        pids = end_pooled_connections(store, postgres, 3)
        with pytest.raises(Unavailable):
            store.get(admin, EntityQuery(id="b" * 24))
        for _ in range(3):
            assert store.get(admin, EntityQuery(id="b" * 24)) == []
        assert not set(pids) & {backend_pid(store) for _ in range(3)}
    finally:
        store.engine.dispose()


def test_a_read_past_its_statement_timeout_gives_a_503(postgres):
    store = Store(db.create_engine(postgres, Settings(statement_timeout_seconds=0.2)))
    backend = sa.select(sa.func.pg_backend_pid())
    try:
        [(pid,)] = fetch_all(store, backend, {})
        with pytest.raises(Unavailable) as caught:
            fetch_all(store, sa.select(sa.func.pg_sleep(2)), {})
        assert "longer than its timeout" in caught.value.message
        # The connection itself is fine and stays in the pool.
        assert fetch_all(store, backend, {}) == [(pid,)]
    finally:
        store.engine.dispose()


def test_a_read_from_an_unreachable_database_gives_a_503(postgres):
    url = sa.engine.make_url(postgres).set(host="127.0.0.1", port=1)
    store = Store(
        db.create_engine(url.render_as_string(hide_password=False), Settings())
    )
    try:
        with pytest.raises(Unavailable) as caught:
            fetch_all(store, select_entities(("id",)), {"id": "b" * 24})
        assert "cannot be reached" in caught.value.message
    finally:
        store.engine.dispose()


def test_the_first_look_up_of_a_save_reads_what_the_others_read(store, project):
    """A save's first look-up (the project, the names, the parent), run on
    the driver's cursor in the write's own transaction on PostgreSQL, reads
    the rows the look-ups through SQLAlchemy read."""
    admin = Actor("admin", "Admin", is_admin=True)
    mouse = store.save(
        admin,
        datatype="mouse",
        name="M1",
        project_id=project.id,
        attributes={"n": 1, "nested": {"b": [1, 2.5, None]}},
    )
    with store.write() as conn:
        found = rows.project_and_named(
            conn, project.id, "mouse", ["M1", "M2"], set(), origin_id=mouse["id"]
        )
        expected = rows.entities(conn, [mouse["id"]], lock=False)
    assert list(found.projects) == [project.id]
    assert found.named == [expected[mouse["id"]]]
    assert found.origin == expected[mouse["id"]]
    assert found.origin["attributes"] == {"n": 1, "nested": {"b": [1, 2.5, None]}}


def test_a_save_meeting_an_ended_connection_gives_a_503_then_saves(
    store, postgres, snapshot
):
    """The first look-up of a save runs on the driver's cursor: a connection
    the server ended is an outage there too (503, nothing written), and the
    pool drops the others with it."""
    store = Store(
        db.create_engine(postgres, Settings(connection_check_after_seconds=60))
    )
    admin = Actor("admin", "Admin", is_admin=True)
    project = Accounts(store).create_project("ended").id
    save = functools.partial(
        store.save, admin, datatype="mouse", project_id=project, attributes={}
    )
    try:
        save(name="M0")
        before = snapshot(store)
        end_pooled_connections(store, postgres, 3)
        with pytest.raises(Unavailable):
            save(name="M1")
        assert snapshot(store) == before
        assert save(name="M1")["incrementalId"] == "MOUSE0000002"
    finally:
        store.engine.dispose()


def test_a_failed_statement_in_a_write_is_sqlalchemy_s_error(postgres):
    """On the driver's cursor, a statement past its timeout is a 503 and any
    other failure SQLAlchemy's error of the driver's (by which a deadlock is
    run again); the transaction is rolled back, the connection kept."""
    store = Store(db.create_engine(postgres, Settings(statement_timeout_seconds=0.2)))
    try:
        with pytest.raises(Unavailable) as caught, store.write() as conn:
            fetch_in(conn, sa.select(sa.func.pg_sleep(2)), {})
        assert "longer than its timeout" in caught.value.message
        with pytest.raises(sa.exc.DataError) as failed, store.write() as conn:
            fetch_in(conn, sa.select(sa.literal_column("1 / 0")), {})
        assert failed.value.orig.sqlstate == "22012"
        with store.write() as conn:
            assert fetch_in(conn, sa.select(sa.literal(7).label("n")), {})[0].n == 7
    finally:
        store.engine.dispose()


def test_a_write_begins_with_its_first_statement_and_ends_in_autocommit(postgres):
    """psycopg sends BEGIN before a write's first statement; after its commit
    or rollback the connection is back in autocommit, so that the reads that
    follow on it open no transaction."""
    from psycopg.pq import TransactionStatus

    store = Store(db.create_engine(postgres, Settings()))
    try:
        with store.write() as conn:
            driver = conn.connection.driver_connection
            assert driver.info.transaction_status == TransactionStatus.IDLE
            conn.exec_driver_sql("SELECT 1")
            assert driver.info.transaction_status == TransactionStatus.INTRANS
        assert driver.autocommit
        with pytest.raises(ZeroDivisionError), store.write() as conn:
            conn.exec_driver_sql("SELECT 1")
            raise ZeroDivisionError
        assert driver.autocommit
        with store.read() as conn:
            assert conn.connection.driver_connection is driver
            conn.exec_driver_sql("SELECT 1")
            assert driver.info.transaction_status == TransactionStatus.IDLE
    finally:
        store.engine.dispose()
