"""Bulk inserts: many rows in few statements, as fast as each driver allows.

``COPY`` on PostgreSQL for many rows, ``INSERT`` statements of many rows each
on SQLite, and :class:`InsertBatch`, which sends the rows of one write to
several tables in one round trip on PostgreSQL.
"""

import contextlib
import functools
import itertools
import sqlite3

import sqlalchemy as sa

from .driver import execute_in

#: Rows from which :func:`bulk_insert` uses ``COPY`` on PostgreSQL.
COPY_FROM_ROWS = 100


def is_unique_violation(error: sa.exc.IntegrityError) -> bool:
    """Whether an integrity error is a unique constraint's (not a foreign key's),
    from the driver's error code."""
    orig = error.orig
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate is not None:
        return sqlstate == "23505"
    return getattr(orig, "sqlite_errorname", "") in (
        "SQLITE_CONSTRAINT_UNIQUE",
        "SQLITE_CONSTRAINT_PRIMARYKEY",
    )


def bulk_insert(conn: sa.Connection, table: sa.Table, rows: list, columns=None) -> None:
    """Insert rows in the caller's transaction, as fast as the driver allows.

    ``COPY`` on PostgreSQL for many rows, ``INSERT`` statements of many rows
    each on SQLite (:func:`sqlite_inserts`), one driver-level ``executemany``
    otherwise: no per-row work in SQLAlchemy.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        A connection in a write transaction.
    table : sqlalchemy.Table
        Where to insert.
    rows : list of sequences
        Values in the order of ``columns``; JSON columns as JSON text.
    columns : sequence of sqlalchemy.Column, optional
        The columns given (default: all of the table's).

    Raises
    ------
    sqlalchemy.exc.IntegrityError
        When a row breaks a constraint (nothing of the transaction should be
        kept then).
    """
    if not rows:
        return
    postgres = conn.dialect.name == "postgresql"
    if postgres and len(rows) >= COPY_FROM_ROWS:
        driver_insert(conn.connection.driver_connection, table, rows, columns)
        return
    columns = list(table.columns if columns is None else columns)
    if not postgres:
        driver = conn.connection.driver_connection
        for statement, values in sqlite_inserts(driver, table, columns, rows):
            conn.exec_driver_sql(statement, values)
        return
    marks = ", ".join("%s" for _ in columns)
    names = ", ".join(column.name for column in columns)
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", rows)


class InsertBatch:
    """Inserts into several tables gathered by :meth:`add`, then written by
    :meth:`flush` in as few round trips as the database allows.

    On PostgreSQL, inserts of fewer than :data:`COPY_FROM_ROWS` rows each go
    in one statement: a ``WITH`` of one ``INSERT ... VALUES`` per table (its
    text made once per table and number of rows, so that the few shapes of
    everyday writes are prepared once). Its foreign keys are checked when the
    statement ends, so rows may refer to rows of an earlier table of the same
    batch. Larger inserts, and every insert on SQLite (where a statement costs
    no round trip), go one table at a time as :func:`bulk_insert` does, in the
    order they were added.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        A connection in a write transaction.
    """

    def __init__(self, conn: sa.Connection):
        self.conn = conn
        self.pending: list[tuple] = []

    def add(self, table: sa.Table, rows: list, columns=None, errors=None) -> None:
        """Insert ``rows`` (as :func:`bulk_insert`) at the next :meth:`flush`.

        ``errors(integrity_error)`` gives the exception to raise instead of
        an integrity error of this table (default: the error itself).
        """
        if rows:
            columns = tuple(table.columns if columns is None else columns)
            self.pending.append((table, rows, columns, errors))

    def flush(self) -> None:
        """Write every row added since the last flush."""
        pending, self.pending = self.pending, []
        if not pending:
            return
        postgres = self.conn.dialect.name == "postgresql"
        if not postgres or any(len(rows) >= COPY_FROM_ROWS for _, rows, *_ in pending):
            for table, rows, columns, errors in pending:
                try:
                    bulk_insert(self.conn, table, rows, columns)
                except sa.exc.IntegrityError as error:
                    raise (error if errors is None else errors(error)) from error
            return
        inserts, params = [], []
        for table, rows, columns, _ in pending:
            inserts.append(_values_insert(table, columns, len(rows)))
            for row in rows:
                params += row
        *first, last = inserts
        ctes = ", ".join(f"i{n} AS ({text})" for n, text in enumerate(first))
        statement = f"WITH {ctes} {last}" if first else last
        try:
            execute_in(self.conn, statement, tuple(params))
        except sa.exc.IntegrityError as error:
            table_name = getattr(getattr(error.orig, "diag", None), "table_name", None)
            for table, _, _, errors in pending:
                if table.name == table_name and errors is not None:
                    raise errors(error) from error
            raise


@functools.lru_cache(maxsize=1024)
def _values_insert(table: sa.Table, columns: tuple, count: int) -> str:
    """``INSERT INTO table (columns) VALUES (%s, ...), ...`` of ``count``
    rows, on PostgreSQL."""
    names = ", ".join(column.name for column in columns)
    row = "(" + ", ".join("%s" for _ in columns) + ")"
    return f"INSERT INTO {table.name} ({names}) VALUES " + ", ".join([row] * count)


#: Most rows in one ``INSERT`` on SQLite (fewer when the row is wide: a
#: statement holds at most SQLite's limit of parameters).
SQLITE_ROWS_PER_INSERT = 5000


def sqlite_inserts(driver_connection, table: sa.Table, columns, rows: list):
    """``(statement, values)`` of ``INSERT`` statements of many rows each
    (``VALUES (...), (...), ...``, the values flattened in row order).

    Cheaper per row than an ``executemany`` of a row per statement, and the
    driver releases Python's global lock for the whole statement, not for
    each row: another thread runs Python meanwhile (see
    :class:`flexilims.store.writing.bulk.BackgroundInserts`).
    """
    names = tuple(column.name for column in columns)
    limit = driver_connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    per_statement = max(1, min(SQLITE_ROWS_PER_INSERT, limit // len(names)))
    for start in range(0, len(rows), per_statement):
        part = rows[start : start + per_statement]
        statement = _sqlite_insert(table.name, names, len(part))
        yield statement, tuple(itertools.chain.from_iterable(part))


@functools.lru_cache(maxsize=64)
def _sqlite_insert(table_name: str, names: tuple, count: int) -> str:
    """``INSERT INTO table (names) VALUES (?, ...), ...`` of ``count`` rows,
    on SQLite (made once per shape: a save's inserts are the same few)."""
    row = "(" + ", ".join("?" for _ in names) + ")"
    return f"INSERT INTO {table_name} ({', '.join(names)}) VALUES " + ", ".join(
        [row] * count
    )


def driver_insert(
    driver_connection, table: sa.Table, rows: list, columns=None, turn=None
):
    """Insert rows with the driver alone: ``COPY`` on PostgreSQL (psycopg),
    ``INSERT`` statements of many rows each on SQLite (:func:`sqlite_inserts`).
    ``turn()``, a context manager, is entered around each statement (the
    ``COPY``, or each ``INSERT``).

    Raises
    ------
    sqlalchemy.exc.IntegrityError
        When a row breaks a constraint.
    """
    columns = list(table.columns if columns is None else columns)
    if isinstance(driver_connection, sqlite3.Connection):
        cursor = driver_connection.cursor()
        try:
            for statement, values in sqlite_inserts(
                driver_connection, table, columns, rows
            ):
                try:
                    with turn() if turn is not None else contextlib.nullcontext():
                        cursor.execute(statement, values)
                except sqlite3.IntegrityError as error:
                    raise sa.exc.IntegrityError(statement, None, error) from error
        finally:
            cursor.close()
        return
    import psycopg

    names = ", ".join(column.name for column in columns)
    statement = f"COPY {table.name} ({names}) FROM STDIN"
    cursor = driver_connection.cursor()
    try:
        with (
            turn() if turn is not None else contextlib.nullcontext(),
            cursor.copy(statement) as copy,
        ):
            for row in rows:
                copy.write_row(row)
    except psycopg.IntegrityError as error:
        raise sa.exc.IntegrityError(statement, None, error) from error
    finally:
        cursor.close()
