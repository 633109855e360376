"""SQLite's per-row triggers set aside by an import, and their work done in
bulk: the same counts and name index as the triggers keep, and the triggers
back afterwards, whether the import succeeds or is refused."""

import sqlite3

import pytest
import sqlalchemy as sa

from flexilims import BadRequest
from flexilims.store import Actor, Store, browse, db
from flexilims.store import models as m
from flexilims.store.accounts import Accounts
from flexilims.store.files.transfer import import_project
from flexilims.store.inserts import bulk_insert, driver_insert
from flexilims.store.writing import bulk

ADMIN = Actor("root", "Root", is_admin=True)
HEX = "6094f7212597df357fa24a8"


@pytest.fixture
def sqlite_store(store):
    if store.is_postgres:
        pytest.skip("PostgreSQL's triggers run once per statement already")
    return store


def triggers(store) -> list:
    with store.read() as conn:
        return conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
        ).all()


def dump() -> dict:
    """Kinds the counts trigger reads in every way: a text kind, a long one
    (cut at 100 characters), a number (no kind), none."""
    datasets = {
        f"D{index}": {"type": "dataset", "attributes": {"path": "p", **attributes}}
        for index, attributes in enumerate(
            [
                {"dataset_type": "scanimage"},
                {"dataset_type": "scanimage"},
                {"dataset_type": "k" * 150},
                {"dataset_type": 3},
                {},
                {"dataset_type": "caméra"},
            ]
        )
    }
    return {
        "M1": {
            "type": "mouse",
            "children": {"R1": {"type": "session", "children": datasets}},
        },
        "M2 é": {"type": "mouse", "attributes": {"mouse_type": "wild"}},
    }


def name_index_is_whole(conn) -> bool:
    """Whether every entity has its row in the name search index, by its
    current name."""
    rows = conn.exec_driver_sql(
        "SELECT count(*) FROM entity_name_search_rows r "
        "JOIN entities e ON e.id = r.entity_id AND e.name = r.name"
    ).scalar()
    total = conn.execute(sa.select(sa.func.count()).select_from(m.entities))
    return rows == total.scalar()


def test_the_triggers_mirrored_are_those_of_a_new_database(sqlite_store):
    with sqlite_store.read() as conn:
        assert bulk.can_defer(conn)


def test_bulk_work_is_what_the_triggers_do(sqlite_store, monkeypatch):
    store = sqlite_store
    before = triggers(store)
    with monkeypatch.context() as patch:
        patch.setattr(bulk, "can_defer", lambda conn: False)
        by_triggers = import_project(store, dump(), "by-triggers", progress=False)
        assert triggers(store) == before
    imported = import_project(store, dump(), "imported", progress=False)
    # A second import into the same project adds to the counts it holds.
    again = dump()
    again = {f"{key}b": {**root, "name": f"{key}b"} for key, root in again.items()}
    for index, dataset in enumerate(
        again["M1b"]["children"]["R1"]["children"].values()
    ):
        dataset["name"] = f"E{index}"
    again["M1b"]["children"]["R1"]["name"] = "R1b"
    import_project(store, again, "imported", progress=False)
    expected = browse.counts(store, ADMIN, by_triggers["project_id"])
    counts = browse.counts(store, ADMIN, imported["project_id"])
    assert counts == [{**row, "count": 2 * row["count"]} for row in expected]
    assert {"type": "dataset", "kind": "k" * 100, "count": 2} in counts
    project = browse.project(store, ADMIN, "imported")
    found = sorted(
        e["name"] for e in browse.names_like(store, ADMIN, project.id, "M2 ")
    )
    assert found == ["M2 é", "M2 éb"]
    with store.read() as conn:
        assert name_index_is_whole(conn)
    assert triggers(store) == before


@pytest.mark.parametrize("statement", bulk.CATCH_UP)
def test_bulk_work_reads_only_the_rows_since_its_mark(sqlite_store, statement):
    """Each chunk's work reads the rows inserted since the last, by rowid,
    not every row of the database (which made an import quadratic: the
    counts walked the whole index of projects and types at each chunk)."""
    with sqlite_store.read() as conn:
        plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", (0,)).all()
    reads = [row[3] for row in plan if "TEMP B-TREE" not in row[3]]
    assert reads and all("INTEGER PRIMARY KEY (rowid>?)" in read for read in reads)


def test_a_refused_import_leaves_the_triggers(sqlite_store, snapshot):
    store = sqlite_store
    before, rows = triggers(store), snapshot(store)
    bad = dump()
    bad["M2 é"]["children"] = {"x": {"type": "widget"}}
    with pytest.raises(BadRequest, match="widget"):
        import_project(store, bad, "imported", progress=False)
    assert triggers(store) == before
    assert snapshot(store) == rows
    # The triggers work: a save counts and indexes as before.
    project = Accounts(store).create_project("later")
    store.save(ADMIN, datatype="mouse", name="Mx", project_id=project.id, attributes={})
    assert browse.counts(store, ADMIN, project.id) == [
        {"type": "mouse", "kind": "", "count": 1}
    ]


def test_background_inserts_raise_the_driver_error_in_the_caller(store, snapshot):
    """A row the database refuses, inserted by the second thread, fails the
    caller's transaction with the same error as an insert of its own."""
    before = snapshot(store)
    with pytest.raises(sa.exc.IntegrityError):
        with store.write() as conn:
            inserts = bulk.BackgroundInserts(conn)
            try:
                inserts.insert(m.entity_links, [(HEX + "1", HEX + "2")])
                inserts.finish()
            finally:
                inserts.close()
    assert snapshot(store) == before


def test_background_inserts_are_in_the_transaction(store, project):
    with store.write() as conn:
        inserts = bulk.BackgroundInserts(conn)
        try:
            inserts.insert(
                m.counters, [(f"kind{index}", index) for index in range(500)]
            )
            inserts.insert(m.counters, [("last", 1)])
            inserts.finish()
        finally:
            inserts.close()
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(m.counters)).scalar()
            >= 501
        )
    with store.read() as conn:
        names = set(conn.execute(sa.select(m.counters.c.name)).scalars())
    assert {"kind0", "kind499", "last"} <= names


@pytest.fixture
def low_limit_store(sqlite_store):
    """The test database through an engine of its own whose connections take
    at most 15 parameters per statement (the shared engine's connections
    keep SQLite's limit)."""
    engine = db.create_engine(str(sqlite_store.engine.url))

    @sa.event.listens_for(engine, "connect")
    def _lower_the_limit(dbapi_connection, record):
        dbapi_connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 15)

    yield Store(engine, sqlite_store.settings)
    engine.dispose()


def test_many_rows_go_in_order_in_statements_within_the_parameter_limit(
    low_limit_store, snapshot
):
    """SQLite: rows are inserted several per statement, in order (a history
    row's id is its version number), each statement within the database's
    limit of parameters; a refused row in a later statement fails the
    transaction."""
    store = low_limit_store
    rows = [(f"kind{index:04d}", index) for index in range(2500)]
    with store.write() as conn:
        bulk_insert(conn, m.counters, rows[:1200])
        inserts = bulk.BackgroundInserts(conn)
        try:
            inserts.insert(m.counters, rows[1200:])
            inserts.finish()
        finally:
            inserts.close()
        found = conn.exec_driver_sql(
            "SELECT name, value FROM counters WHERE name LIKE 'kind%' ORDER BY rowid"
        ).all()
    assert [tuple(row) for row in found] == rows
    before = snapshot(store)
    for insert in (bulk_insert, driver_insert):
        with pytest.raises(sa.exc.IntegrityError), store.write() as conn:
            target = (
                conn if insert is bulk_insert else conn.connection.driver_connection
            )
            insert(target, m.counters, [(f"new{i}", i) for i in range(1500)] + rows[:1])
        assert snapshot(store) == before


def test_bulk_work_chunk_by_chunk_is_what_the_triggers_do(sqlite_store, monkeypatch):
    """An import of several chunks: the work of the triggers done after each
    chunk by the insert thread gives the counts and name index the triggers
    give, and the history lists the entities in the order of the file (the
    entities of a chunk go before the history rows still queued)."""
    from flexilims.store.files import transfer

    store = sqlite_store
    with monkeypatch.context() as patch:
        patch.setattr(bulk, "can_defer", lambda conn: False)
        by_triggers = import_project(store, dump(), "by-triggers", progress=False)
    monkeypatch.setattr(transfer, "CHUNK", 2)
    imported = import_project(store, dump(), "imported", progress=False)
    assert browse.counts(store, ADMIN, imported["project_id"]) == browse.counts(
        store, ADMIN, by_triggers["project_id"]
    )
    with store.read() as conn:
        assert name_index_is_whole(conn)
        order = conn.exec_driver_sql(
            "SELECT e.name FROM history h JOIN entities e ON e.id = h.entity_id "
            "WHERE h.project_id = ? ORDER BY h.id",
            (imported["project_id"],),
        ).scalars()
        names = list(order)
    assert names == ["M1", "R1", *(f"D{index}" for index in range(6)), "M2 é"]


def test_urgent_inserts_go_first_and_can_be_waited_for(store, project):
    """Urgent rows go before the others still queued (the thread may have
    taken one already: it waits for the caller's block to end); the caller's
    statements in ``first`` run while the thread waits."""
    names = ("taken", "late", "early")
    among = "SELECT {} FROM counters WHERE name IN ('taken', 'late', 'early')"
    with store.write() as conn:
        inserts = bulk.BackgroundInserts(conn)
        try:
            with inserts.first():
                for name in names:
                    inserts.insert(m.counters, [(name, 1)], urgent=name == "early")
                mark = inserts.mark()
                assert conn.exec_driver_sql(among.format("count(*)")).scalar() == 0
            inserts.wait(mark)
            inserts.finish()
        finally:
            inserts.close()
        if not store.is_postgres:
            order = list(
                conn.exec_driver_sql(among.format("name") + " ORDER BY rowid").scalars()
            )
            assert order.index("early") < order.index("late")
        assert conn.exec_driver_sql(among.format("count(*)")).scalar() == 3
