"""Fixtures of the store's tests."""

import pytest
import sqlalchemy as sa


@pytest.fixture
def sent_statements(store, monkeypatch):
    """The statements the store sends while the test runs, counted where the
    driver receives them (some go past SQLAlchemy: :mod:`flexilims.store.driver`,
    :func:`flexilims.store.inserts.driver_insert`). psycopg's own BEGIN and
    COMMIT are not among them; SQLite's BEGIN IMMEDIATE and COMMIT are (its
    triggers are not)."""
    sent = []
    if store.is_postgres:
        import psycopg

        execute = psycopg.Cursor.execute

        def counted(cursor, query, *args, **kwargs):
            sent.append(query)
            return execute(cursor, query, *args, **kwargs)

        monkeypatch.setattr(psycopg.Cursor, "execute", counted)
        yield sent
        return

    def record(statement):
        # Each trigger a statement fires is traced as the statement again,
        # and the full-text index's own statements as comments.
        if not statement.startswith("--") and (not sent or statement != sent[-1]):
            sent.append(statement)

    def traced(dbapi_connection, *args):
        dbapi_connection.set_trace_callback(record)

    def untraced(dbapi_connection, *args):
        dbapi_connection.set_trace_callback(None)

    pool = store.engine.pool
    sa.event.listen(pool, "checkout", traced)
    sa.event.listen(pool, "checkin", untraced)
    yield sent
    sa.event.remove(pool, "checkout", traced)
    sa.event.remove(pool, "checkin", untraced)
