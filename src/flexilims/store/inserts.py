"""Bulk inserts: many rows in few statements, as fast as each driver allows.

``COPY`` on PostgreSQL for many rows, ``INSERT`` statements of many rows each
on SQLite, and :class:`InsertBatch`, which sends the rows of one write to
several tables in one round trip on PostgreSQL, values its statement
computes included (:class:`Late`).
"""

import contextlib
import functools
import itertools
import sqlite3
from collections.abc import Callable
from typing import NamedTuple

import sqlalchemy as sa

from ..writes import json_text
from . import db
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
    each on SQLite (:func:`sqlite_inserts`), both on the driver's cursor
    (:func:`driver_insert`: SQLAlchemy's execution of a statement costs more
    than SQLite's insert of a save's rows); one driver-level ``executemany``
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
    flexilims.errors.Unavailable
        An outage (a full disk, a lost connection), as through SQLAlchemy.
    """
    if not rows:
        return
    if conn.dialect.name != "postgresql" or len(rows) >= COPY_FROM_ROWS:
        try:
            driver_insert(conn.connection.driver_connection, table, rows, columns)
        except sa.exc.DBAPIError as error:
            outage = db.outage(conn.engine, error)
            if outage is None:
                raise
            raise outage from error
        return
    columns = list(table.columns if columns is None else columns)
    marks = ", ".join("%s" for _ in columns)
    names = ", ".join(column.name for column in columns)
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", rows)


class Late(NamedTuple):
    """A cell of a row given to :class:`InsertBatch` that its statement
    computes: ``prefix + value + suffix``, where value is the result ``key``
    of :meth:`InsertBatch.compute` (as a JSON string if ``json``), cast to
    the SQL type ``cast`` if given (a text made into ``jsonb``).

    So that a value known only inside the statement (an incremental id from
    the counter it bumps) can be written in the very statement that inserts
    the rows, with no round trip before it.
    """

    key: int
    prefix: str = ""
    suffix: str = ""
    json: bool = False
    cast: str = ""

    def sql(self, expressions: list[str]) -> str:
        """The cell as SQL (``%s`` for the prefix and the suffix)."""
        value = expressions[self.key]
        if self.json:
            value = f"to_json({value})::text"
        text = f"%s || {value} || %s"
        return f"CAST({text} AS {self.cast})" if self.cast else f"({text})"

    def resolved(self, values: list[str]) -> str:
        """The cell's value, once ``values`` (of every key) are known."""
        value = values[self.key]
        return self.prefix + (json_text(value) if self.json else value) + self.suffix


class _Computed(NamedTuple):
    ctes: str
    params: tuple
    expressions: list[str]
    array: str
    then: Callable[[list[str]], None]


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

    On PostgreSQL the statement may also compute values of the rows
    (:meth:`compute`, :class:`Late` cells): written by the statement that
    inserts them, they are known from it on, and locks their computing takes
    (a counter's row) are held only from then until the transaction ends.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        A connection in a write transaction.
    """

    def __init__(self, conn: sa.Connection):
        self.conn = conn
        self.pending: list[tuple] = []
        self.computed: list[_Computed] = []
        #: Whether :meth:`compute` may be used (PostgreSQL).
        self.computes = conn.dialect.name == "postgresql"

    def add(self, table: sa.Table, rows: list, columns=None, errors=None) -> None:
        """Insert ``rows`` (as :func:`bulk_insert`) at the next :meth:`flush`.

        ``errors(integrity_error)`` gives the exception to raise instead of
        an integrity error of this table (default: the error itself).
        """
        if rows:
            columns = tuple(table.columns if columns is None else columns)
            self.pending.append((table, rows, columns, errors))

    def compute(
        self, ctes: str, params: tuple, expressions: list[str], array: str, then
    ) -> int:
        """Values the next :meth:`flush` computes (PostgreSQL only).

        ``ctes``: common table expressions (SQL with ``%s`` for ``params``)
        that the flush's statement begins with; ``expressions``: SQL of the
        values over them, which :class:`Late` cells of the rows added refer
        to by key (the first expression's key is returned, the others
        follow); ``array``: SQL of an array of them all, in order, which the
        statement returns; ``then(values)`` is called with the values once
        written.
        """
        first = sum(len(c.expressions) for c in self.computed)
        computed = _Computed(ctes, tuple(params), list(expressions), array, then)
        self.computed.append(computed)
        return first

    def flush(self) -> None:
        """Write every row added since the last flush."""
        pending, self.pending = self.pending, []
        computed, self.computed = self.computed, []
        if not pending and not computed:
            return
        expressions = [e for c in computed for e in c.expressions]
        postgres = self.conn.dialect.name == "postgresql"
        if not postgres or any(len(rows) >= COPY_FROM_ROWS for _, rows, *_ in pending):
            db.begin(self.conn)  # statements one after the other: all or nothing
            if computed:
                values = self._compute_alone(computed)
                pending = [
                    (table, _resolved(rows, values), columns, errors)
                    for table, rows, columns, errors in pending
                ]
            for table, rows, columns, errors in pending:
                try:
                    bulk_insert(self.conn, table, rows, columns)
                except sa.exc.IntegrityError as error:
                    raise (error if errors is None else errors(error)) from error
            return
        inserts, params = [], []
        for computing in computed:
            params += computing.params
        for table, rows, columns, _ in pending:
            if computed:
                text, values = _late_values_insert(table, columns, rows, expressions)
                inserts.append(text)
                params += values
                continue
            inserts.append(_values_insert(table, columns, len(rows)))
            for row in rows:
                params += row
        if computed:
            # Every insert a common table expression; the statement returns
            # the values computed.
            inner, last = inserts, _select(computed)
        else:
            *inner, last = inserts
        ctes = [c.ctes for c in computed]
        ctes += [f"i{n} AS ({text})" for n, text in enumerate(inner)]
        statement = f"WITH {', '.join(ctes)} {last}" if ctes else last
        try:
            if computed:
                (arrays,) = execute_in(self.conn, statement, tuple(params), fetch=True)
                _then(computed, arrays)
            else:
                execute_in(self.conn, statement, tuple(params))
        except sa.exc.IntegrityError as error:
            table_name = getattr(getattr(error.orig, "diag", None), "table_name", None)
            for table, _, _, errors in pending:
                if table.name == table_name and errors is not None:
                    raise errors(error) from error
            raise

    def _compute_alone(self, computed: list[_Computed]) -> list[str]:
        """The computed values, by a statement of their own (before inserts
        sent one table at a time)."""
        ctes = ", ".join(c.ctes for c in computed)
        params = tuple(p for c in computed for p in c.params)
        statement = f"WITH {ctes} {_select(computed)}"
        arrays = self.conn.exec_driver_sql(statement, params).one()
        return _then(computed, arrays)


def _select(computed: list[_Computed]) -> str:
    """``SELECT`` of the values computed: an array per :meth:`InsertBatch.compute`."""
    return "SELECT " + ", ".join(f"{c.array} AS a{n}" for n, c in enumerate(computed))


def _then(computed: list[_Computed], arrays) -> list[str]:
    """Hand each computing its values; all the values, by key."""
    values = []
    for computing, array in zip(computed, arrays, strict=True):
        computing.then(list(array))
        values += array
    return values


def _resolved(rows: list, values: list[str]) -> list:
    """Rows with their :class:`Late` cells replaced by their values."""
    return [
        tuple(c.resolved(values) if type(c) is Late else c for c in row)
        if any(type(c) is Late for c in row)
        else row
        for row in rows
    ]


def _late_values_insert(table: sa.Table, columns: tuple, rows: list, expressions):
    """``INSERT INTO table (columns) VALUES ...`` of rows that may hold
    :class:`Late` cells, and its parameters."""
    names = ", ".join(column.name for column in columns)
    texts, params = [], []
    for row in rows:
        cells = []
        for cell in row:
            if type(cell) is Late:
                cells.append(cell.sql(expressions))
                params += (cell.prefix, cell.suffix)
            else:
                cells.append("%s")
                params.append(cell)
        texts.append("(" + ", ".join(cells) + ")")
    return f"INSERT INTO {table.name} ({names}) VALUES " + ", ".join(texts), params


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
    sqlalchemy.exc.DBAPIError
        The driver's error as SQLAlchemy's (``IntegrityError`` when a row
        breaks a constraint).
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
                except sqlite3.Error as error:
                    raise _as_sqlalchemy(error, statement, sqlite3.Error) from error
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
    except psycopg.Error as error:
        raise _as_sqlalchemy(error, statement, psycopg.Error) from error
    finally:
        cursor.close()


def _as_sqlalchemy(error: Exception, statement: str, base: type) -> sa.exc.DBAPIError:
    """The driver's error as SQLAlchemy raises it (``IntegrityError`` for a
    broken constraint, ``OperationalError`` for a lost connection, ...), so
    that callers classify it as any other statement's."""
    return sa.exc.DBAPIError.instance(statement, None, error, base)
