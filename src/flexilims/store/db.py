"""Engines and schema upgrades for SQLite and PostgreSQL.

SQLite runs in WAL mode with a busy timeout and foreign keys on; write
transactions start with ``BEGIN IMMEDIATE`` so that concurrent writers wait
for each other instead of failing on a lock upgrade. Its file is created
readable by its owner only: it holds password hashes.

Both backends get the timeouts of :mod:`flexilims.settings` (connect,
statement, lock), pooled connections left unused for a moment are checked
before use (the server recovers by itself when the database returns), and a
database that cannot be reached, is frozen or is too busy raises
:class:`flexilims.errors.Unavailable` (HTTP 503 with ``Retry-After``), never a
driver error.
"""

import contextlib
import logging
import math
import os
import socket
import sqlite3
import threading
import time
import weakref
from pathlib import Path

import orjson
import sqlalchemy as sa

from .. import settings as settings_module
from ..errors import Unavailable
from ..writes import json_text

logger = logging.getLogger("flexilims.store")

MIGRATIONS = Path(__file__).parent / "migrations"

#: Execution option asking for a write transaction (``BEGIN IMMEDIATE`` on SQLite).
WRITE = "flexilims_write"
#: Execution option for reads: no BEGIN (autocommit statements).
READ = "flexilims_read"


def _configure_sqlite(engine: sa.Engine, busy_timeout_ms: int) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection):
        options = connection.get_execution_options()
        if options.get(READ) or options.get("isolation_level") == "AUTOCOMMIT":
            return
        connection.exec_driver_sql("BEGIN IMMEDIATE" if options.get(WRITE) else "BEGIN")


def _configure_postgres(engine: sa.Engine) -> None:
    """Connections in autocommit, so that reads (:data:`READ`) need no BEGIN
    and COMMIT and no switch of mode per request; every other transaction
    takes the connection out of autocommit until it ends, so that psycopg
    sends ``BEGIN`` itself before the transaction's first statement (a
    ``BEGIN`` sent through SQLAlchemy costs a statement's execution: a tenth
    of a ``save``'s CPU in the server)."""
    began: weakref.WeakSet = weakref.WeakSet()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection):
        # A connection given another isolation level (flexilims check's
        # snapshot) is out of autocommit: psycopg begins for itself.
        if connection.get_execution_options().get(READ):
            return
        driver = connection.connection.driver_connection
        if driver.autocommit:
            driver.autocommit = False
            began.add(driver)

    dialect = engine.dialect

    def then_autocommit(end):
        """``end`` (the dialect's commit or rollback), then the connection
        back in autocommit if :func:`_on_begin` took it out."""

        def ended(dbapi_connection):
            try:
                end(dialect, dbapi_connection)
            finally:
                driver = getattr(dbapi_connection, "driver_connection", None)
                driver = dbapi_connection if driver is None else driver
                if driver in began:
                    began.discard(driver)
                    with contextlib.suppress(Exception):
                        # A closed connection refuses; the pool drops it anyway.
                        driver.autocommit = True

        return ended

    dialect.do_commit = then_autocommit(type(dialect).do_commit)
    dialect.do_rollback = then_autocommit(type(dialect).do_rollback)


#: PostgreSQL error codes (SQLSTATE) after which the same request may succeed
#: later: connection exceptions (class 08), server shutting down or starting
#: (57P01-57P03), too many connections (53300), out of resources (53xxx),
#: statement or lock timeout (57014, 55P03). Serialization failures and
#: deadlocks (:data:`RETRYABLE`) are run again by
#: :meth:`flexilims.store.Store.transaction` first, and only become a 503
#: when they still fail.
RETRYABLE_SQLSTATES = ("57P01", "57P02", "57P03", "57014", "55P03")
RETRYABLE_SQLSTATE_CLASSES = ("08", "53")

#: SQLite result codes after which the same request may succeed later: busy
#: or locked past the busy timeout, I/O error, disk full. (A file that cannot
#: be opened is a mistake of configuration, not an outage.)
RETRYABLE_SQLITE_CODES = (
    sqlite3.SQLITE_BUSY,
    sqlite3.SQLITE_LOCKED,
    sqlite3.SQLITE_IOERR,
    sqlite3.SQLITE_FULL,
)


def _driver_error(error: BaseException) -> BaseException:
    return getattr(error, "orig", None) or error


def _why_unavailable(error: BaseException, conflicts: bool = True) -> str | None:
    """Why ``error`` means the database is unavailable (None if it does not).

    Decided by class and error code, never by message: SQLAlchemy's
    invalidated connections and pool timeouts, psycopg's operational errors
    without a code (no connection) and retryable SQLSTATEs, SQLite's busy,
    locked and I/O result codes.
    """
    if isinstance(error, Unavailable):
        return error.detail
    if isinstance(error, sa.exc.TimeoutError):
        return "every database connection is busy"
    if isinstance(error, sa.exc.DBAPIError) and error.connection_invalidated:
        return "the connection to the database was lost"
    original = _driver_error(error)
    if isinstance(original, sqlite3.Error):
        code = getattr(original, "sqlite_errorcode", None)
        if code is not None and code & 0xFF in RETRYABLE_SQLITE_CODES:
            return f"the database file is unavailable ({original})"
        return None
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return None
    if not isinstance(original, psycopg.Error):
        return None
    state = original.sqlstate
    if state is None:
        if isinstance(original, psycopg.OperationalError | psycopg.InterfaceError):
            return "the database cannot be reached"
        return None
    if state == "57014":
        return "a database statement took longer than its timeout"
    if state == "55P03":
        return "a write waited too long for another one's lock"
    if state in RETRYABLE:
        return "concurrent writes got in each other's way" if conflicts else None
    if state in RETRYABLE_SQLSTATES or state[:2] in RETRYABLE_SQLSTATE_CLASSES:
        return f"the database is unavailable (SQLSTATE {state})"
    return None


def unavailable(
    error: BaseException, retry_after: float, conflicts: bool = True
) -> Unavailable | None:
    """The :class:`Unavailable` a database error stands for, or None.

    Parameters
    ----------
    error : BaseException
        A SQLAlchemy or driver exception (or anything else: then None).
    retry_after : float
        Seconds after which clients may try again.
    conflicts : bool
        Count deadlocks and serialization failures (:data:`RETRYABLE`) too.
    """
    if isinstance(error, Unavailable):
        return error
    why = _why_unavailable(error, conflicts)
    if why is None:
        return None
    return Unavailable(
        f"The database is unavailable: {why}. Try again in {math.ceil(retry_after)} s.",
        retry_after=retry_after,
    )


#: SQLSTATEs of a connection the server ended: shutting down, terminated by
#: an administrator, crashed, or a connection exception (class 08).
CONNECTION_ENDED_SQLSTATES = ("57P01", "57P02", "57P03")


def connection_ended(error: BaseException) -> bool:
    """Whether the server ended the connection of a driver error."""
    state = getattr(_driver_error(error), "sqlstate", None)
    return state is not None and (
        state in CONNECTION_ENDED_SQLSTATES or state.startswith("08")
    )


def outage(engine: sa.Engine, error: BaseException) -> Unavailable | None:
    """The :class:`Unavailable` that a failed statement of ``engine`` stands
    for, or None: what its ``handle_error`` decides for statements through
    SQLAlchemy, for those sent on the driver past it (deadlocks stay driver
    errors: :meth:`flexilims.store.Store.transaction` runs them again)."""
    return unavailable(error, engine.pool.retry_after, conflicts=False)


def _raise_unavailable(engine: sa.Engine) -> None:
    @sa.event.listens_for(engine, "handle_error")
    def _on_error(context):
        # The server ended the connection (it shut down, or the connection was
        # terminated): the connection and every one pooled before it are
        # gone, whether or not the driver has noticed yet. Dropping them now
        # spares the next requests the same failure.
        if connection_ended(context.original_exception):
            context.is_disconnect = True
        # A failed pre-ping is how the pool finds a dead connection and opens
        # a new one: leave it to the pool.
        if context.is_pre_ping:
            return None
        replacement = outage(engine, context.original_exception)
        if replacement is not None:
            raise replacement from context.sqlalchemy_exception
        return None


class _Deadlines:
    """Ends database calls that outlive their deadline by shutting their
    connection's socket down.

    A frozen PostgreSQL server (its processes stopped, its host gone) never
    answers, and its own ``statement_timeout`` cannot fire: the client would
    wait forever. Statements get the statement timeout plus the connect
    timeout (the server's own timeout fires first when it can); the pool's
    check of a connection before use (``SELECT 1``) gets the connect timeout.
    The broken connection then fails as a lost connection: the pool drops
    it, and the request gets a 503.
    """

    def __init__(self, statement_seconds: float, ping_seconds: float):
        self.statement_seconds, self.ping_seconds = statement_seconds, ping_seconds
        self.lock = threading.Lock()
        self.running: dict[int, tuple[float, object]] = {}
        self.watcher: threading.Thread | None = None

    def begin(self, dbapi_connection, seconds: float) -> None:
        with self.lock:
            deadline = time.monotonic() + seconds
            self.running[id(dbapi_connection)] = (deadline, dbapi_connection)
            if self.watcher is None or not self.watcher.is_alive():
                self.watcher = threading.Thread(
                    target=self._watch, name="flexilims-db-deadlines", daemon=True
                )
                self.watcher.start()

    def end(self, dbapi_connection) -> None:
        with self.lock:
            self.running.pop(id(dbapi_connection), None)

    def _watch(self) -> None:
        """Look at the running calls four times a second; stop when there
        are none (the next call starts a new watcher)."""
        while True:
            time.sleep(0.25)
            now = time.monotonic()
            with self.lock:
                late = [key for key, (end, _) in self.running.items() if end < now]
                connections = [self.running.pop(key)[1] for key in late]
                idle = not self.running
                if idle:
                    self.watcher = None
            for connection in connections:
                _shut_down(connection)
            if idle:
                return

    def install(self, engine: sa.Engine) -> None:
        @sa.event.listens_for(engine, "before_cursor_execute")
        def _before(conn, cursor, statement, parameters, context, many):
            self.begin(conn.connection.dbapi_connection, self.statement_seconds)

        @sa.event.listens_for(engine, "after_cursor_execute")
        def _after(conn, cursor, statement, parameters, context, many):
            self.end(conn.connection.dbapi_connection)

        @sa.event.listens_for(engine, "handle_error")
        def _failed(context):
            try:
                dbapi_connection = context.connection.connection.dbapi_connection
            except (AttributeError, sa.exc.SQLAlchemyError):
                return
            if dbapi_connection is not None:
                self.end(dbapi_connection)

        dialect = engine.dialect
        ping = type(dialect).do_ping

        def do_ping(dbapi_connection):
            self.begin(dbapi_connection, self.ping_seconds)
            try:
                return ping(dialect, dbapi_connection)
            finally:
                self.end(dbapi_connection)

        dialect.do_ping = do_ping


#: The deadlines of each PostgreSQL engine, for the reads run on the
#: driver's cursor (:func:`flexilims.store.driver.fetch_all`).
DRIVER_READS: "weakref.WeakKeyDictionary[sa.Engine, _Deadlines]" = (
    weakref.WeakKeyDictionary()
)


def _shut_down(dbapi_connection) -> None:
    """Shut down a psycopg connection's socket (its blocked call returns)."""
    try:
        fileno = dbapi_connection.fileno()
        duplicate = socket.socket(fileno=os.dup(fileno))
    except (OSError, ValueError, AttributeError):
        return
    try:
        duplicate.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        duplicate.close()


class _Pool(sa.pool.QueuePool):
    """The queue pool, its timeout (every connection busy) an :class:`Unavailable`."""

    retry_after = 5.0

    def _do_get(self):
        try:
            return super()._do_get()
        except sa.exc.TimeoutError as error:
            raise unavailable(error, self.retry_after) from error


def _check_idle_connections(engine: sa.Engine, after_seconds: float) -> None:
    """Check a pooled connection (``SELECT 1``) before use when it has been
    unused for more than ``after_seconds``; trust one used more recently.

    A connection that fails the check is dropped with every connection
    pooled before it (the database restarted: they are all gone), and the
    pool opens a new one. Checking every connection before every use would
    cost each request a round trip to the database.
    """
    dialect = engine.dialect

    @sa.event.listens_for(engine.pool, "checkin")
    def _on_checkin(dbapi_connection, record):
        if record is not None:
            record.info[_LAST_USED] = time.monotonic()

    @sa.event.listens_for(engine.pool, "checkout")
    def _on_checkout(dbapi_connection, record, proxy):
        last_used = record.info.get(_LAST_USED)
        if last_used is None or time.monotonic() - last_used <= after_seconds:
            return
        try:
            alive = dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error:
            alive = False
        if not alive:
            raise sa.exc.InvalidatePoolError()


#: Where a pooled connection keeps when it was last given back.
_LAST_USED = "flexilims_last_used"


def create_owner_only(path: Path) -> None:
    """Create an empty file readable and writable by its owner only, unless
    it exists (database files and backups hold password hashes)."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass


#: A JSON string (skipped) or a number with a positive exponent (``1e+16``).
JSON_OPTIONS = {"json_serializer": json_text, "json_deserializer": orjson.loads}


def create_engine(url: str, settings=None) -> sa.Engine:
    """Create an engine for a database URL, creating SQLite's file if needed.

    Parameters
    ----------
    url : str
        ``sqlite:///path/to/file.db`` or ``postgresql://user@host/db`` (the
        psycopg 3 driver is used for plain ``postgresql://`` URLs).
    settings : flexilims.settings.Settings, optional
        Timeouts and Retry-After (default: :func:`flexilims.settings.load`).
    """
    settings = settings if settings is not None else settings_module.load()
    retry_after = settings.retry_after_seconds
    pool_options = {
        "poolclass": type("Pool", (_Pool,), {"retry_after": retry_after}),
        "pool_timeout": settings.connect_timeout_seconds,
    }
    parsed = sa.engine.make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            path = Path(database).expanduser()
            path.parent.mkdir(parents=True, exist_ok=True)
            create_owner_only(path)
            parsed = parsed.set(database=str(path))
        engine = sa.create_engine(parsed, **pool_options, **JSON_OPTIONS)
        _configure_sqlite(engine, int(settings.lock_timeout_seconds * 1000))
    else:
        engine = sa.create_engine(
            parsed,
            pool_recycle=3600,
            isolation_level="AUTOCOMMIT",
            connect_args=_postgres_connect_args(settings),
            **pool_options,
            **JSON_OPTIONS,
        )
        _configure_postgres(engine)
        deadlines = _Deadlines(
            settings.statement_timeout_seconds + settings.connect_timeout_seconds,
            settings.connect_timeout_seconds,
        )
        deadlines.install(engine)
        DRIVER_READS[engine] = deadlines
    _raise_unavailable(engine)
    _check_idle_connections(engine, settings.connection_check_after_seconds)
    return engine


def _postgres_connect_args(settings) -> dict:
    """libpq options: a connect timeout, statement and lock timeouts, and TCP
    keepalives so that a vanished server is noticed; psycopg's
    ``prepare_threshold`` (None: never prepare) when the ``prepared_statements``
    setting is off, for poolers in transaction mode."""
    statement_ms = int(settings.statement_timeout_seconds * 1000)
    lock_ms = int(settings.lock_timeout_seconds * 1000)
    args = {
        # libpq reads whole seconds, and anything below 2 as 2.
        "connect_timeout": max(2, math.ceil(settings.connect_timeout_seconds)),
        "options": f"-c statement_timeout={statement_ms} -c lock_timeout={lock_ms}",
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
    }
    if not settings.prepared_statements:
        args["prepare_threshold"] = None
    return args


#: The newest migration's revision: a database at it needs no Alembic at all
#: (a test checks that it is Alembic's head).
HEAD = "0004"


def alembic_config(engine: sa.Engine):
    """An Alembic configuration pointing at our migrations and this engine."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def current_revision(connection: sa.Connection) -> str | None:
    """The migration a database is at (None for a new database), in one query."""
    if not sa.inspect(connection).has_table("alembic_version"):
        return None
    return connection.exec_driver_sql(
        "SELECT version_num FROM alembic_version"
    ).scalar()


def schema_is_current(engine: sa.Engine) -> bool:
    """Whether the database is at the newest migration."""
    with engine.connect() as connection:
        current = current_revision(connection)
    return current == HEAD


def health(engine: sa.Engine) -> tuple[bool, dict]:
    """Whether the database answers and is at the newest migration.

    Returns
    -------
    tuple of (bool, dict)
        Healthy or not, and ``{"database": "reachable" | "unreachable",
        "migrations": "current" | "not current" | "unknown"}`` (with the
        revisions, or the reason it is unreachable).
    """
    head = HEAD
    try:
        with engine.connect() as connection:
            current = current_revision(connection)
    except (Unavailable, sa.exc.SQLAlchemyError) as error:
        why = error.detail if isinstance(error, Unavailable) else type(error).__name__
        return False, {
            "database": "unreachable",
            "migrations": "unknown",
            "message": why,
        }
    report = {
        "database": "reachable",
        "migrations": "current" if current == head else "not current",
        "revision": current,
        "head": head,
    }
    return current == head, report


def upgrade(engine: sa.Engine) -> None:
    """Bring the database schema to the newest migration (Alembic is loaded
    only when there is something to do)."""
    if not schema_is_current(engine):
        from alembic import command

        command.upgrade(alembic_config(engine), "head")


#: Entities created by one transaction from which PostgreSQL's statistics of
#: the table are renewed when it commits (:func:`analyze_after_commit`).
ANALYZE_AFTER_ROWS = 1000

_ANALYZE = "flexilims_analyze"


def analyze_after_commit(conn: sa.Connection, table: sa.Table) -> None:
    """Have PostgreSQL's statistics of ``table`` renewed once the transaction
    of ``conn`` commits (by :meth:`flexilims.store.Store.write`).

    After a large write the planner would otherwise plan from the table as it
    was until autovacuum's next pass (a minute or more): a table grown from a
    few rows to thousands within that minute is still "a few rows" to it, and
    a look-up by name is planned as a walk of every entity of the type per
    name (seconds per batch). ``ANALYZE`` samples at most 30,000 rows.
    """
    if conn.dialect.name == "postgresql":
        conn.info.setdefault(_ANALYZE, set()).add(table.name)


def begin(conn: sa.Connection) -> None:
    """Begin the transaction of ``conn`` unless it is under way (see
    :meth:`flexilims.store.Store.write` ``lazily``)."""
    if not conn.in_transaction():
        conn.begin()


def analyze_if_asked(conn: sa.Connection) -> None:
    """Run the ``ANALYZE`` that :func:`analyze_after_commit` asked for, outside
    any transaction (in autocommit, as reads are: :data:`READ`). The write has
    committed: an ``ANALYZE`` that fails is logged, not raised (the
    statistics stay as autovacuum left them)."""
    tables = sorted(conn.info.pop(_ANALYZE, ()))
    if tables:
        conn.execution_options(**{READ: True})
        for table in tables:
            try:
                conn.exec_driver_sql(f"ANALYZE {table}")
            except (sa.exc.DBAPIError, Unavailable) as error:
                logger.warning(
                    "ANALYZE %s after a large write failed: %s", table, error
                )


def forget_analyze(conn: sa.Connection) -> None:
    """Drop an ``ANALYZE`` asked for by a transaction that did not commit."""
    conn.info.pop(_ANALYZE, None)


#: SQLSTATEs after which the same transaction may succeed if run again.
RETRYABLE = ("40001", "40P01")  # serialization failure, deadlock detected


def is_retryable(error: sa.exc.DBAPIError) -> bool:
    """Whether a transaction failed only because of another one (a deadlock
    or a serialization failure) and may be run again."""
    return getattr(error.orig, "sqlstate", None) in RETRYABLE


class Snapshot:
    """A read transaction that sees one state of the database throughout
    (``with Snapshot(store) as conn``; ``store`` a :class:`flexilims.store.Store`)."""

    def __init__(self, store):
        self.store = store

    def __enter__(self) -> sa.Connection:
        self.conn = self.store.engine.connect()
        if self.store.is_postgres:
            self.conn = self.conn.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        self.transaction = self.conn.begin()
        return self.conn

    def __exit__(self, *exc):
        self.transaction.rollback()
        self.conn.close()
