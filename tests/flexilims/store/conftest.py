"""Fixtures of the store's tests."""

import pytest
import sqlalchemy as sa


@pytest.fixture
def sent_statements(store, monkeypatch):
    """The statements the store sends while the test runs, counted where the
    driver receives them: on PostgreSQL some go past SQLAlchemy
    (:mod:`flexilims.store.driver`); psycopg's own BEGIN and COMMIT are not
    among them, SQLite's BEGIN IMMEDIATE is."""
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

    def record(conn, cursor, statement, *args):
        sent.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", record)
    yield sent
    sa.event.remove(store.engine, "before_cursor_execute", record)
