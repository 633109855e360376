"""Bulk inserts (flexilims.store.inserts), on both backends: rows written in
order and in few statements, a refused row refusing all, and integrity errors
told apart by their code."""

import pytest
import sqlalchemy as sa

from flexilims.store import models as m
from flexilims.store.inserts import (
    COPY_FROM_ROWS,
    InsertBatch,
    Late,
    bulk_insert,
    is_unique_violation,
)


def counters(store, prefix: str) -> list[tuple]:
    with store.read() as conn:
        query = (
            sa.select(m.counters.c.name, m.counters.c.value)
            .where(m.counters.c.name.startswith(prefix))
            .order_by(m.counters.c.value)
        )
        return [tuple(row) for row in conn.execute(query)]


@pytest.mark.parametrize("count", [3, COPY_FROM_ROWS + 50])
def test_bulk_insert_writes_every_row(store, count):
    rows = [(f"bulk{i:04d}", i) for i in range(count)]
    with store.write() as conn:
        bulk_insert(conn, m.counters, rows)
    assert counters(store, "bulk") == rows


def test_a_batch_is_one_statement_on_postgres_and_refers_to_earlier_tables(
    store, project, sent_statements
):
    """The rows of a batch go in one statement on PostgreSQL (foreign keys
    checked at its end: a membership of a user of the same batch), one per
    table on SQLite; nothing before flush."""
    user = (777001, "batch_user", "Batch User", None, False, 1, False)
    with store.write() as conn:
        began = len(sent_statements)  # SQLite's BEGIN IMMEDIATE
        batch = InsertBatch(conn)
        batch.add(m.users, [user])
        batch.add(m.counters, [])
        batch.add(m.memberships, [(user[0], project.id)])
        assert len(sent_statements) == began
        batch.flush()
        batch.flush()
        assert len(sent_statements) - began == (1 if store.is_postgres else 2)
    with store.read() as conn:
        found = conn.execute(
            sa.select(m.memberships.c.project_id).where(
                m.memberships.c.user_id == user[0]
            )
        )
        assert found.scalars().all() == [project.id]


def test_a_refused_row_refuses_the_batch_with_the_error_of_its_table(store, snapshot):
    with store.write() as conn:
        bulk_insert(conn, m.counters, [("taken", 1)])
    before = snapshot(store)

    class Refused(Exception):
        pass

    with pytest.raises(Refused), store.write() as conn:
        batch = InsertBatch(conn)
        batch.add(m.counters, [("free", 1), ("taken", 2)], errors=Refused)
        batch.flush()
    assert snapshot(store) == before


def test_unique_violations_are_told_from_foreign_key_ones(store, project):
    with store.write() as conn:
        bulk_insert(conn, m.counters, [("once", 1)])
    with pytest.raises(sa.exc.IntegrityError) as unique, store.write() as conn:
        bulk_insert(conn, m.counters, [("once", 2)])
    assert is_unique_violation(unique.value)
    membership = [(project.id, 123456)]  # no such user
    columns = [m.memberships.c.project_id, m.memberships.c.user_id]
    with pytest.raises(sa.exc.IntegrityError) as foreign, store.write() as conn:
        bulk_insert(conn, m.memberships, membership, columns)
    assert not is_unique_violation(foreign.value)


@pytest.mark.parametrize("count", [2, 2000])
def test_a_batch_writes_the_values_its_statement_computes(
    store, project, sent_statements, count
):
    """Late cells take values computed by the batch's own statement (one
    statement on PostgreSQL for a few rows; for many, a statement for the
    values, then each table's ``COPY``), as text or as JSON; ``then`` is
    given the values."""
    if not store.is_postgres:
        pytest.skip("computed values are PostgreSQL's (SQLite has no round trip)")
    given = []
    with store.write() as conn:
        batch = InsertBatch(conn)
        first = batch.compute(
            "base AS (SELECT %s::int AS n)",
            (40,),
            [f"(SELECT (n + {k})::text FROM base)" for k in range(count)],
            f"(SELECT array_agg((n + k)::text ORDER BY k) FROM base, "
            f"generate_series(0, {count - 1}) AS k)",
            given.extend,
        )
        assert batch.computes and first == 0
        began = len(sent_statements)
        batch.add(m.counters, [(Late(k, "late", "x"), k) for k in range(count)])
        batch.add(
            m.trash,
            [
                (
                    "b",
                    "e",
                    project.id,
                    k,
                    Late(k, '{"n": ', ', "quote": "\\""}', json=True, cast="jsonb"),
                    None,
                    "alice",
                    1,
                )
                for k in range(count)
            ],
            [c for c in m.trash.columns if c.name != "id"],
        )
        batch.flush()
        statements = len(sent_statements) - began
    assert given == [str(40 + k) for k in range(count)]
    if count < COPY_FROM_ROWS:
        assert statements == 1
    assert counters(store, "late") == [(f"late{40 + k}x", k) for k in range(count)]
    with store.read() as conn:
        kept = conn.execute(sa.select(m.trash.c.entity).order_by(m.trash.c.position))
        assert kept.scalars().all() == [
            {"n": str(40 + k), "quote": '"'} for k in range(count)
        ]


def test_a_full_disk_while_inserting_is_an_outage_and_writes_nothing(
    store, project, snapshot
):
    """Rows go to SQLite past SQLAlchemy (:func:`driver_insert`), and its
    errors are classified as any statement's: a full disk is a 503 to try
    again, not a failure of the request, and the save leaves nothing."""
    if store.is_postgres:
        pytest.skip("a full disk is made with SQLite's max_page_count")
    from flexilims.errors import Unavailable
    from flexilims.store import Actor

    raw = store.engine.raw_connection()
    try:
        raw.driver_connection.execute("VACUUM")  # no free page left
        pages = raw.driver_connection.execute("PRAGMA page_count").fetchone()[0]
    finally:
        raw.close()

    def no_room(dbapi_connection, *args):
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    before = snapshot(store)
    sa.event.listen(store.engine.pool, "checkout", no_room)
    try:
        with pytest.raises(Unavailable, match="unavailable"):
            store.save(
                Actor("alice", "Alice", is_admin=True),
                datatype="sample",
                name="big",
                project_id=project.id,
                attributes={"notes": "x" * 200_000},
            )
    finally:
        sa.event.remove(store.engine.pool, "checkout", no_room)
        store.engine.dispose()  # the limit stays with the connections
    assert snapshot(store) == before
