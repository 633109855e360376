"""Whole-database backups, taken while the server runs, and their restore.

A backup holds everything: users and memberships, lab settings, projects,
entities, links, history, trash, counters and the schema's revision. Tokens
and failed-login counts are left out (a restored database has no live
session). It is consistent: one state of the database, whatever the server
writes meanwhile.

- SQLite: the online backup API of the ``sqlite3`` module, into a SQLite file.
- PostgreSQL: ``pg_dump`` / ``pg_restore`` in their custom format (the
  programs of PostgreSQL's client package must be installed).

Backup files are created readable by their owner only (they hold password
hashes), written beside the target and renamed into place, so that a failed
backup never leaves half a file under the name given. A restore refuses a
database that holds data unless ``force`` is given, and then replaces it.
"""

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa

from ...errors import BadRequest, FlexilimsError
from .. import db
from .. import models as m

#: Tables whose rows a backup leaves out: live tokens and failed logins.
LEFT_OUT = ("tokens", "login_failures")
#: Tables whose rows make a database "not empty" for :func:`restore`.
DATA_TABLES = ("users", "projects", "entities", "history", "trash")

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"


class BackupError(FlexilimsError):
    """A backup or restore that could not be carried out (its message says
    why and what to do)."""

    status = 500
    code = "backup_failed"


def _backend(url: str) -> str:
    return sa.engine.make_url(url).get_backend_name()


def _sqlite_path(url: str) -> Path:
    database = sa.engine.make_url(url).database
    if not database or database == ":memory:":
        raise BadRequest("Backups need a database file, not an in-memory database.")
    return Path(database).expanduser()


def _partial(target: Path) -> Path:
    """A fresh owner-only file beside ``target``, to be renamed onto it."""
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    db.create_owner_only(partial)
    return partial


def backup(url: str, file: str | Path) -> Path:
    """Write a backup of the database at ``url`` to ``file``.

    Parameters
    ----------
    url : str
        The database (SQLite or PostgreSQL); a server may be using it.
    file : str or Path
        Where to write; replaced if it exists.

    Returns
    -------
    Path
        The backup file.

    Raises
    ------
    BackupError
        ``pg_dump`` missing or failing.
    """
    target = Path(file).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = _partial(target)
    try:
        if _backend(url) == "sqlite":
            _sqlite_backup(_sqlite_path(url), partial)
        else:
            _pg_dump(url, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def _sqlite_backup(source_path: Path, partial: Path) -> None:
    if not source_path.is_file():
        raise BadRequest(f"There is no database file at {source_path}.")
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
    target = sqlite3.connect(partial)
    try:
        source.backup(target)
        target.execute("PRAGMA journal_mode=DELETE")
        target.execute("PRAGMA secure_delete=ON")
        for table in LEFT_OUT:
            target.execute(f"DELETE FROM {table}")
        target.commit()
    finally:
        target.close()
        source.close()


def _program(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} is not installed (or not on PATH): backups of PostgreSQL "
            "need PostgreSQL's client programs, at the server's major version "
            "or newer (Debian/Ubuntu: apt install postgresql-client)."
        )
    return path


def _libpq(url: str) -> tuple[str, dict]:
    """A libpq connection URI for ``url`` (without its password) and the
    environment that carries the password, so that it shows in no command
    line."""
    parsed = sa.engine.make_url(url)
    user = quote(parsed.username or "", safe="")
    host = parsed.host or ""
    port = f":{parsed.port}" if parsed.port else ""
    auth = f"{user}@" if user else ""
    query = "&".join(
        f"{quote(key)}={quote(str(value))}" for key, value in parsed.query.items()
    )
    uri = f"postgresql://{auth}{host}{port}/{quote(parsed.database or '')}"
    if query:
        uri += f"?{query}"
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = parsed.password
    return uri, env


def _run(command: list[str], env: dict, what: str) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{what} failed: {result.stderr.strip()}")


def _pg_dump(url: str, partial: Path) -> None:
    uri, env = _libpq(url)
    command = [
        _program("pg_dump"),
        "--format=custom",
        "--no-owner",
        "--no-privileges",
        *(f"--exclude-table-data={table}" for table in LEFT_OUT),
        f"--file={partial}",
        f"--dbname={uri}",
    ]
    _run(command, env, "pg_dump")


def backup_kind(file: str | Path) -> str:
    """``sqlite`` or ``postgresql``: the kind of a backup file.

    Raises
    ------
    BadRequest
        Not a backup of ours.
    """
    path = Path(file).expanduser()
    try:
        with open(path, "rb") as stream:
            head = stream.read(len(SQLITE_MAGIC))
    except OSError as error:
        raise BadRequest(f"Cannot read the backup {path}: {error.strerror}.") from None
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_DUMP_MAGIC):
        return "postgresql"
    raise BadRequest(
        f"{path} is not a flexilims backup (neither a SQLite file nor a "
        "pg_dump custom archive)."
    )


def holds_data(engine: sa.Engine) -> bool:
    """Whether a database has users, projects, entities, history or trash."""
    inspector = sa.inspect(engine)
    tables = [name for name in DATA_TABLES if inspector.has_table(name)]
    if not tables:
        return False
    query = sa.select(
        sa.or_(*(sa.exists().select_from(m.metadata.tables[name]) for name in tables))
    )
    with engine.connect() as conn:
        return bool(conn.execute(query).scalar())


def restore(url: str, file: str | Path, *, force: bool = False) -> None:
    """Replace the database at ``url`` with the backup in ``file``.

    The database is brought to the newest migration afterwards (a backup of
    an older version is upgraded).

    Parameters
    ----------
    url : str
        The database to restore into (of the backup's kind).
    file : str or Path
        A file written by :func:`backup`.
    force : bool
        Replace a database that holds data (otherwise refused).

    Raises
    ------
    BadRequest
        A database that holds data without ``force``, a backup of the other
        backend, or a file that is no backup.
    BackupError
        ``pg_restore`` missing or failing.
    """
    path = Path(file).expanduser()
    kind = backup_kind(path)
    backend = _backend(url)
    if kind != backend:
        raise BadRequest(
            f"{path} is a {kind} backup and the database is {backend}: restore it "
            f"into a {kind} database (to move projects between the two, use "
            "`flexilims export` and `flexilims import`)."
        )
    engine = db.create_engine(url)
    try:
        if not force and holds_data(engine):
            raise BadRequest(
                "The database holds data already: restoring would replace it. "
                "Give --force to replace it with the backup."
            )
        if kind == "sqlite":
            engine.dispose()
            _sqlite_restore(path, _sqlite_path(url))
        else:
            _pg_restore(url, path)
        engine.dispose()
        db.upgrade(engine)
    finally:
        engine.dispose()


def _sqlite_restore(path: Path, database: Path) -> None:
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    target = sqlite3.connect(database)
    try:
        source.backup(target)
        target.execute("PRAGMA journal_mode=WAL")
    finally:
        target.close()
        source.close()


def _pg_restore(url: str, path: Path) -> None:
    uri, env = _libpq(url)
    command = [
        _program("pg_restore"),
        "--clean",
        "--if-exists",
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
        "--exit-on-error",
        f"--dbname={uri}",
        str(path),
    ]
    _run(command, env, "pg_restore")
