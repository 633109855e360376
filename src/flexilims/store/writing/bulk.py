"""Bulk loading: rows written by a second thread, and SQLite's per-row
triggers of ``entities`` set aside.

:class:`BackgroundInserts` inserts rows on the same connection from a thread
of its own, while the caller parses and checks the next chunk: the driver
inserts without holding Python's global lock (on SQLite, many rows per
statement: :func:`flexilims.store.inserts.sqlite_inserts`), so a large import uses
both the database's time and Python's at once. An import on SQLite hands it
every row: the entities (urgent: before the rows of earlier chunks still
queued, since the caller waits for them before looking up the next chunk),
the attribute index, history and links, and the work of the triggers set
aside after each chunk. The caller's own look-ups go before the thread's next
statement (:meth:`BackgroundInserts.first`).

On SQLite, triggers of migration 0003 keep two derived tables in step with
``entities`` row by row: ``entity_counts`` (entities per project, type and
kind) and the FTS5 name index (``entity_name_search_rows`` and its trigram
table). Run once per inserted row they cost four times the insert itself; a
transaction that inserts many entities (an import) drops them inside the
transaction, inserts, does their work in three set-based statements over the
rows inserted since it last did (:class:`DeferredTriggers`), and creates them
again from their own stored SQL at the end.
Everything is in the caller's transaction: a refusal or a killed process
rolls the triggers back with the rest, and other connections never see the
database without them.

The statements here are the set-based form of those triggers. They are used
only when the triggers in the database are exactly the ones they mirror
(:data:`MIRRORED`, a digest of each trigger's SQL): a later migration that
changes a trigger makes :func:`deferred_entity_triggers` leave the triggers in
place (correct, only slower) until this module is brought in line with it (a
test checks that the deferral is in use on a fresh database). PostgreSQL's
triggers run once per statement already and are left alone.
"""

import hashlib
import queue
import sqlite3
import threading
from contextlib import contextmanager

import sqlalchemy as sa

from ..inserts import driver_insert
from ..models import SQLITE_NAME_SEARCH

#: The triggers set aside, and the SHA-256 of the SQL they must have (that of
#: migration 0003) for the statements below to do their work.
MIRRORED = {
    "entity_counts_insert": (
        "65b8646cf9a25216e7882f07cd163ce54e5c34c0d99769d879031326f479c4ae"
    ),
    f"{SQLITE_NAME_SEARCH}_insert": (
        "651ff62498cced75ee4416bbae9232e67d3111a75c4687a7b0c0bbbcb359ac99"
    ),
}


def _kind(row: str) -> str:
    """The kind of an entity as the ``entity_counts`` trigger computes it."""
    path = f"""'$."' || {row}.type || '_type"'"""
    return (
        f"CASE WHEN instr({row}.type, '\"') > 0 THEN '' "
        f"WHEN json_type({row}.attributes, {path}) = 'text' "
        f"THEN substr(json_extract({row}.attributes, {path}), 1, 100) ELSE '' END"
    )


# NOT INDEXED: the rows since the mark by their rowid; without it SQLite
# grouped them by walking the whole (project_id, type, ...) index, every entity
# of the database at each call (an import's 1,000,000 took 7.6 s of CPU).
_COUNTS = f"""
INSERT INTO entity_counts (project_id, type, kind, count)
SELECT project_id, type, kind, count(*) FROM (
    SELECT new.project_id AS project_id, new.type AS type, {_kind("new")} AS kind
    FROM entities AS new NOT INDEXED WHERE new.rowid > ?
) AS inserted
GROUP BY project_id, type, kind
ON CONFLICT (project_id, type, kind) DO UPDATE SET count = count + excluded.count
"""
_SEARCH_ROWS = f"""
INSERT INTO {SQLITE_NAME_SEARCH}_rows (entity_id, name)
SELECT id, name FROM entities WHERE rowid > ? ORDER BY rowid
"""
_SEARCH_INDEX = f"""
INSERT INTO {SQLITE_NAME_SEARCH} (rowid, name)
SELECT rowid, name FROM {SQLITE_NAME_SEARCH}_rows WHERE rowid > ? ORDER BY rowid
"""


#: The statements of :meth:`DeferredTriggers.catch_up`, whose one parameter
#: is a mark (the last rowid done).
CATCH_UP = (_COUNTS, _SEARCH_ROWS, _SEARCH_INDEX)


def digest(sql: str) -> str:
    """SHA-256 of a trigger's SQL, white space folded."""
    return hashlib.sha256(" ".join(sql.split()).encode()).hexdigest()


def _triggers(conn) -> dict[str, str]:
    names = ", ".join("?" for _ in MIRRORED)
    rows = conn.exec_driver_sql(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
        f"AND tbl_name = 'entities' AND name IN ({names})",
        tuple(MIRRORED),
    )
    return dict(rows.all())


def can_defer(conn) -> bool:
    """Whether the triggers of this SQLite database are those mirrored here."""
    found = _triggers(conn)
    return set(found) == set(MIRRORED) and all(
        digest(sql) == MIRRORED[name] for name, sql in found.items()
    )


class DeferredTriggers:
    """The work of the triggers set aside, done for the entities inserted
    since the last call (:meth:`catch_up`)."""

    def __init__(self, conn):
        self.mark = _last_rowid(conn, "entities")
        self.search_mark = _last_rowid(conn, f"{SQLITE_NAME_SEARCH}_rows")

    def catch_up(self, execute) -> None:
        """Count and index the entities inserted since the last call;
        ``execute(sql, values)`` runs a statement and returns its cursor (a
        driver connection's ``execute``, or a SQLAlchemy connection's
        ``exec_driver_sql``), on the transaction's connection."""
        last = execute("SELECT coalesce(max(rowid), 0) FROM entities", ()).fetchone()
        if last[0] == self.mark:
            return
        execute(_COUNTS, (self.mark,))
        execute(_SEARCH_ROWS, (self.mark,))
        execute(_SEARCH_INDEX, (self.search_mark,))
        self.mark = last[0]
        self.search_mark = execute(
            f"SELECT coalesce(max(rowid), 0) FROM {SQLITE_NAME_SEARCH}_rows", ()
        ).fetchone()[0]


@contextmanager
def deferred_entity_triggers(conn):
    """Inside the caller's write transaction: insert entities without the
    per-row triggers; their work is done in bulk as the caller asks
    (:meth:`DeferredTriggers.catch_up`, e.g. after each chunk from
    :meth:`BackgroundInserts.call`) and for the rest when the block ends
    without an error (on an error the caller's transaction must roll back).

    Yields
    ------
    DeferredTriggers or None
        None when the triggers stay (PostgreSQL, or not the mirrored ones).
    """
    if conn.dialect.name != "sqlite" or not can_defer(conn):
        yield None
        return
    saved = _triggers(conn)
    deferred = DeferredTriggers(conn)
    for name in saved:
        conn.exec_driver_sql(f"DROP TRIGGER {name}")
    yield deferred
    deferred.catch_up(conn.exec_driver_sql)
    for sql in saved.values():
        conn.exec_driver_sql(sql)


#: SQLite's page cache of a connection that writes in bulk (KiB): the pages
#: of the tables and indexes being filled stay in memory instead of being
#: written to the log and read back again and again (the default is 2 MiB).
LARGE_CACHE_KIB = 256 * 1024


@contextmanager
def large_cache(conn):
    """A large page cache for the caller's SQLite connection (its own setting
    is put back when the block ends, whatever happens); nothing elsewhere."""
    if conn.dialect.name != "sqlite":
        yield
        return
    saved = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size = -{LARGE_CACHE_KIB}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size = {int(saved)}")


def _last_rowid(conn, table: str) -> int:
    return conn.exec_driver_sql(f"SELECT coalesce(max(rowid), 0) FROM {table}").scalar()


class _Turns:
    """One connection used by two threads, the caller's statements first:
    the thread starts no statement while the caller waits for one, or runs
    its own (the drivers do not queue them fairly: the caller could wait for
    many of the thread's statements in a row)."""

    def __init__(self):
        self.changed = threading.Condition()
        self.callers = 0
        self.busy = False

    @contextmanager
    def caller(self):
        with self.changed:
            self.callers += 1
            while self.busy:
                self.changed.wait()
        try:
            yield
        finally:
            with self.changed:
                self.callers -= 1
                self.changed.notify_all()

    @contextmanager
    def thread(self):
        with self.changed:
            while self.callers:
                self.changed.wait()
            self.busy = True
        try:
            yield
        finally:
            with self.changed:
                self.busy = False
                self.changed.notify_all()


class BackgroundInserts:
    """Inserts (and other statements) done by one thread, in the caller's
    transaction: in order, except the urgent ones, which go before the
    others still queued.

    Only for rows that nothing in the transaction reads before the caller
    waits for them (:meth:`mark`, :meth:`wait`); the caller's own statements
    on the connection wait for the driver while an insert runs (both drivers
    serialize the use of a connection; :meth:`first`).

    Parameters
    ----------
    conn : sqlalchemy.Connection
        A connection in a write transaction.
    depth : int
        Batches that may wait (bounding memory): :meth:`insert` blocks beyond.
        An import queues up to six per chunk (entities, their counts and name
        index, attribute index, history, links, links to earlier entities):
        room for two chunks, so that the caller does not wait for the thread
        in the middle of a chunk.
    """

    def __init__(self, conn: sa.Connection, depth: int = 12):
        self.driver = conn.connection.driver_connection
        #: ``(0 if urgent else 1, number, item)``; ``(2, number, None)`` stops.
        self.queue: queue.PriorityQueue = queue.PriorityQueue(maxsize=depth)
        self.error: BaseException | None = None
        self.stopped = False
        #: Items queued; urgent items queued, and done (run, skipped or failed).
        self.queued = 0
        self.urgent = 0
        self.urgent_done = 0
        self.progress = threading.Condition()
        self.turns = _Turns()
        self.thread = threading.Thread(
            target=self._run, name="flexilims-inserts", daemon=True
        )
        self.thread.start()

    def _run(self) -> None:
        while (entry := self.queue.get())[2] is not None:
            if self.error is None and not self.stopped:
                try:
                    self._do(*entry[2])
                except BaseException as error:  # noqa: BLE001 - raised by the caller
                    self.error = error
            if entry[0] == 0:
                with self.progress:
                    self.urgent_done += 1
                    self.progress.notify_all()

    def _do(self, work, table, rows, columns, errors) -> None:
        if work is not None:
            work(self._execute)
            return
        try:
            driver_insert(self.driver, table, rows, columns, self.turns.thread)
        except sa.exc.IntegrityError as error:
            if errors is None:
                raise
            raise errors(error) from error

    def _execute(self, sql: str, values):
        """One statement of queued work, in the thread's turn (a caller's
        look-up waits for one statement at most); its cursor."""
        with self.turns.thread():
            return self.driver.execute(sql, values)

    def _raise(self) -> None:
        if self.error is not None:
            # The transaction is given up: the thread skips what follows.
            error, self.error, self.stopped = self.error, None, True
            driver = isinstance(error, sqlite3.Error) or hasattr(error, "sqlstate")
            if not driver:
                raise error
            raise sa.exc.DBAPIError.instance(None, None, error, type(error)) from error

    def insert(
        self, table: sa.Table, rows: list, columns=None, errors=None, urgent=False
    ) -> None:
        """Queue rows to insert (:func:`flexilims.store.inserts.bulk_insert`'s
        arguments, without the connection); raise the error of an earlier
        insert, if any. ``errors(integrity_error)`` gives the exception to
        raise instead of an integrity error of these rows; ``urgent`` rows go
        before the others still queued (:meth:`mark`)."""
        self._raise()
        if rows:
            self._put((None, table, rows, columns, errors), urgent)

    def call(self, work) -> None:
        """Queue ``work(execute)``, run in turn with the inserts
        (``execute(sql, values)`` runs a statement on the driver's connection
        and returns its cursor)."""
        self._raise()
        self._put((work, None, None, None, None), False)

    def _put(self, item, urgent: bool) -> None:
        self.queued += 1
        self.urgent += urgent
        self.queue.put((0 if urgent else 1, self.queued, item))

    def first(self):
        """A block in which the caller's statements on the connection do not
        wait behind the thread's (it waits for one statement at most, then
        starts none until the block ends). The block must not wait for the
        thread (:meth:`wait`, :meth:`finish`, a full queue)."""
        return self.turns.caller()

    def mark(self) -> int:
        """A mark of the urgent inserts queued so far, for :meth:`wait`."""
        return self.urgent

    def wait(self, mark: int) -> None:
        """Wait until the urgent inserts queued before ``mark`` are done;
        raise the first error."""
        with self.progress:
            while self.urgent_done < mark and self.thread.is_alive():
                self.progress.wait()
        self._raise()

    def finish(self) -> None:
        """Wait for every queued insert; raise the first error."""
        self._stop()
        self._raise()

    def close(self) -> None:
        """Stop the thread, skipping what is still queued (the transaction is
        given up); raise nothing."""
        self.stopped = True
        self._stop()

    def _stop(self) -> None:
        if self.thread.is_alive():
            self.queued += 1
            self.queue.put((2, self.queued, None))
            self.thread.join()
