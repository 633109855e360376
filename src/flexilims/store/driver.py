"""Reads run on the database driver's cursor, past SQLAlchemy's execution.

SQLAlchemy's execution of the one small select of a ``get`` by id (events,
the execution context, the cursor's description, result objects) took
several times what psycopg itself needs: a quarter of the request's CPU in
the server. On PostgreSQL a select
whose parameters and columns need no conversion by SQLAlchemy (no expanding
list, no type processor: true of the entity selects, whose JSONB psycopg
decodes itself with the engine's loader) runs on the pooled connection's own
cursor instead: the same SQL text, the same parameters, the same rows.

The connection comes from the same pool (with its check before use), the
statement gets the same deadline (:class:`flexilims.store.db._Deadlines`),
and a failure is classified by :func:`flexilims.store.db.unavailable` as any
other is: a 503 for an outage; a lost connection drops the pool's
connections, as SQLAlchemy does. Everything else, SQLite included, goes
through SQLAlchemy.
"""

import functools

import sqlalchemy as sa

from . import db


@functools.lru_cache(maxsize=256)
def _driver_form(statement: sa.Select, dialect):
    """The compiled form of a select the driver can run as it is, or None."""
    compiled = statement.compile(dialect=dialect)
    if compiled.escaped_bind_names or compiled.literal_execute_params:
        return None
    for bind in compiled.binds.values():
        if bind.expanding or _converts(bind.type, dialect):
            return None
    for column in statement.selected_columns:
        if column.type.dialect_impl(dialect).result_processor(dialect, None):
            return None
    return compiled


def _converts(bind_type, dialect) -> bool:
    """Whether SQLAlchemy converts a parameter of this type before the driver
    sees it: an array of plain items it does not (it makes the list a list)."""
    if isinstance(bind_type, sa.ARRAY):
        bind_type = bind_type.item_type
    return bind_type.dialect_impl(dialect).bind_processor(dialect) is not None


def fetch_all(store, statement: sa.Select, params: dict) -> list:
    """Every row of a select, read outside a transaction: tuples from the
    driver's cursor where it can run the statement (PostgreSQL), else
    SQLAlchemy's rows.

    Parameters
    ----------
    store : flexilims.store.Store
        Whose engine (from :func:`flexilims.store.db.create_engine`) to read.
    statement : sqlalchemy.Select
        Built once and bound per call (its compiled form is kept).
    params : dict
        The values of its bound parameters.

    Raises
    ------
    flexilims.errors.Unavailable
        The database is unreachable, stopped or frozen, or the statement
        outlived its timeout (as through SQLAlchemy).
    """
    engine = store.engine
    deadlines = db.DRIVER_READS.get(engine)
    compiled = None if deadlines is None else _driver_form(statement, engine.dialect)
    if compiled is None:
        with store.read() as conn:
            return conn.execute(statement, params).all()
    failure = engine.dialect.loaded_dbapi.Error
    try:
        pooled = engine.raw_connection()
    except failure as error:
        raise _failure(error, "", None, engine, lost=False) from error
    driver = pooled.driver_connection
    deadlines.begin(driver, deadlines.statement_seconds)
    try:
        values = compiled.construct_params(params)
        return driver.execute(compiled.string, values).fetchall()
    except failure as error:
        lost = driver.closed or db.connection_ended(error)
        if lost:
            # As SQLAlchemy does when a connection is lost: drop it and every
            # connection pooled with it (a restarted server ended them all).
            pooled.invalidate(error)
            engine.dispose()
        raise _failure(error, compiled.string, values, engine, lost) from error
    finally:
        deadlines.end(driver)
        pooled.close()


def _failure(error: Exception, sql: str, values, engine, lost: bool) -> Exception:
    """What SQLAlchemy raises for a driver error: the 503 of an outage, else
    SQLAlchemy's error of the driver's (by which a deadlock is run again)."""
    failure = engine.dialect.loaded_dbapi.Error
    wrapped = sa.exc.DBAPIError.instance(
        sql, values, error, failure, connection_invalidated=lost
    )
    return db.outage(engine, wrapped) or wrapped


def fetch_in(conn: sa.Connection, statement: sa.Select, params: dict) -> list:
    """Every row of a select run in the transaction of ``conn``, as
    :func:`fetch_all` runs it: on the driver's cursor where it can, rows as
    named tuples (their columns by name, as SQLAlchemy's rows give them).

    A failure is what SQLAlchemy would have raised: :class:`Unavailable` for
    an outage, else SQLAlchemy's error of the driver's (a deadlock among
    them, which :meth:`flexilims.store.Store.transaction` runs again); a lost
    connection is invalidated with every pooled one.
    """
    engine = conn.engine
    deadlines = db.DRIVER_READS.get(engine)
    compiled = None if deadlines is None else _driver_form(statement, engine.dialect)
    if compiled is None:
        return conn.execute(statement, params).all()
    values = compiled.construct_params(params)
    return _in_transaction(conn, deadlines, compiled.string, values, fetch=True)


def execute_in(conn: sa.Connection, sql: str, values: tuple, *, fetch=False):
    """Run a statement of SQL text with ``%s`` parameters (PostgreSQL) in the
    transaction of ``conn``, as :func:`fetch_in` runs selects: on the
    driver's cursor, its failures SQLAlchemy's. Returns its rows if ``fetch``
    (else None)."""
    deadlines = db.DRIVER_READS.get(conn.engine)
    if deadlines is None:
        result = conn.exec_driver_sql(sql, values)
        return result.all() if fetch else None
    return _in_transaction(conn, deadlines, sql, values, fetch=fetch)


def _in_transaction(conn: sa.Connection, deadlines, sql: str, values, *, fetch: bool):
    """``sql`` run on the driver's cursor of ``conn`` with the engine's
    ``deadlines`` (:data:`flexilims.store.db.DRIVER_READS`); its rows if
    ``fetch``."""
    from psycopg.rows import namedtuple_row

    engine = conn.engine
    failure = engine.dialect.loaded_dbapi.Error
    driver = conn.connection.driver_connection
    deadlines.begin(driver, deadlines.statement_seconds)
    try:
        with driver.cursor(row_factory=namedtuple_row) as cursor:
            cursor.execute(sql, values)
            return cursor.fetchall() if fetch else None
    except failure as error:
        lost = driver.closed or db.connection_ended(error)
        raised = _failure(error, sql, values, engine, lost)
        if lost:
            conn.invalidate(raised)
            engine.dispose()
        raise raised from error
    finally:
        deadlines.end(driver)
