"""Engines and schema upgrades for SQLite and PostgreSQL.

SQLite runs in WAL mode with a busy timeout and foreign keys on; write
transactions start with ``BEGIN IMMEDIATE`` so that concurrent writers wait
for each other instead of failing on a lock upgrade.
"""

from pathlib import Path

import orjson
import sqlalchemy as sa

MIGRATIONS = Path(__file__).parent / "migrations"

#: Execution option asking for a write transaction (``BEGIN IMMEDIATE`` on SQLite).
WRITE = "flexilims_write"
#: Execution option for reads on SQLite: no BEGIN (autocommit statements).
READ = "flexilims_read"


def _configure_sqlite(engine: sa.Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection):
        options = connection.get_execution_options()
        if options.get(READ) or options.get("isolation_level") == "AUTOCOMMIT":
            return
        connection.exec_driver_sql("BEGIN IMMEDIATE" if options.get(WRITE) else "BEGIN")


def json_text(value) -> str:
    """A JSON document as text, as the store writes it."""
    return orjson.dumps(value).decode()


JSON_OPTIONS = {"json_serializer": json_text, "json_deserializer": orjson.loads}


def create_engine(url: str) -> sa.Engine:
    """Create an engine for a database URL, creating SQLite's folder if needed.

    Parameters
    ----------
    url : str
        ``sqlite:///path/to/file.db`` or ``postgresql://user@host/db`` (the
        psycopg 3 driver is used for plain ``postgresql://`` URLs).
    """
    parsed = sa.engine.make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            parsed = parsed.set(database=str(Path(database).expanduser()))
        engine = sa.create_engine(parsed, poolclass=sa.pool.QueuePool, **JSON_OPTIONS)
        _configure_sqlite(engine)
        return engine
    return sa.create_engine(parsed, pool_recycle=3600, **JSON_OPTIONS)


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


def current_revision(engine: sa.Engine) -> str | None:
    """The database's migration (None for a new database), in one query."""
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table("alembic_version"):
            return None
        return connection.exec_driver_sql(
            "SELECT version_num FROM alembic_version"
        ).scalar()


def schema_is_current(engine: sa.Engine) -> bool:
    """Whether the database is at the newest migration."""
    return current_revision(engine) == HEAD


def upgrade(engine: sa.Engine) -> None:
    """Bring the database schema to the newest migration (Alembic is loaded
    only when there is something to do)."""
    if not schema_is_current(engine):
        from alembic import command

        command.upgrade(alembic_config(engine), "head")


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


#: SQLSTATEs after which the same transaction may succeed if run again.
RETRYABLE = ("40001", "40P01")  # serialization failure, deadlock detected


def is_retryable(error: sa.exc.DBAPIError) -> bool:
    """Whether a transaction failed only because of another one (a deadlock
    or a serialization failure) and may be run again."""
    return getattr(error.orig, "sqlstate", None) in RETRYABLE


def bulk_insert(conn: sa.Connection, table: sa.Table, rows: list, columns=None) -> None:
    """Insert rows in the caller's transaction, as fast as the driver allows.

    ``COPY`` on PostgreSQL for many rows, one driver-level ``executemany``
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
    columns = list(table.columns if columns is None else columns)
    marks = ", ".join(
        ("%s" if conn.dialect.name == "postgresql" else "?") for _ in columns
    )
    columns = ", ".join(column.name for column in columns)
    postgres = conn.dialect.name == "postgresql"
    if postgres and len(rows) >= COPY_FROM_ROWS:
        import psycopg

        statement = f"COPY {table.name} ({columns}) FROM STDIN"
        cursor = conn.connection.driver_connection.cursor()
        try:
            with cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
        except psycopg.IntegrityError as error:
            raise sa.exc.IntegrityError(statement, None, error) from error
        finally:
            cursor.close()
        return
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({columns}) VALUES ({marks})", rows)
