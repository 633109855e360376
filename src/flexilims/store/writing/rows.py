"""The statements of the write path (:mod:`.changes`): the batched look-ups
that :meth:`.Changes.prepare` makes, and the bulk writes of
:meth:`.Changes.write` (entities, updates, attribute index, history,
incremental-id counters).

Look-ups take many ids or names at once, ``CHUNK`` at a time; on PostgreSQL
the rows an update or a creation may change are locked ``FOR NO KEY UPDATE``.
The first look-up of a write also reads the lab settings' version
(:data:`.labsettings.SETTINGS_VERSION`), so that their cached rules are
checked without a statement of their own.
"""

import functools
from collections.abc import Iterable, Iterator
from typing import NamedTuple

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ... import protocol
from ...errors import BadRequest
from .. import db, labsettings
from .. import models as m
from ..driver import fetch_in
from ..entities import (
    COUNTER_BUMPS,
    ENTITY_COLUMN_NAMES,
    ENTITY_COLUMNS,
    Actor,
    entity_reply,
    entity_row,
    index_rows,
)
from ..inserts import InsertBatch, Late, bulk_insert, is_unique_violation

#: Most values in one ``IN (...)`` list (well below SQLite's and psycopg's limits).
CHUNK = 5000


def chunks(values: list) -> Iterable[list]:
    """``values`` in lists of at most :data:`CHUNK`."""
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


# ------------------------------------------------------------- look-ups


def _json_list(parameter: str) -> sa.Select:
    """The values of one parameter holding a JSON array, as a subquery (on
    SQLite: a list of thousands of ids is one parameter, and the statement is
    compiled once, not once per call for as many parameters as values)."""
    return sa.select(
        sa.func.json_each(sa.bindparam(parameter)).table_valued("value").c.value
    )


def _values(conn, values: list):
    """``values`` bound as the look-ups of the connection's dialect take them:
    a list (PostgreSQL), or a JSON array (SQLite: :func:`_json_list`)."""
    return values if _postgres(conn) else orjson.dumps(values).decode()


# The look-ups of :meth:`.Changes.prepare`, built once and bound per call.
PROJECTS = sa.select(m.projects).where(
    m.projects.c.id.in_(sa.bindparam("ids", expanding=True))
)
ENTITIES = sa.select(*ENTITY_COLUMNS).where(m.entities.c.id.in_(_json_list("ids")))
IDS = sa.select(m.entities.c.id).where(m.entities.c.id.in_(_json_list("ids")))
PROJECTS_VERSIONED = PROJECTS.add_columns(labsettings.SETTINGS_VERSION)
LINKS = sa.select(m.entity_links.c.entity_id, m.entity_links.c.linked_id).where(
    m.entity_links.c.entity_id.in_(sa.bindparam("ids", expanding=True))
)
NAMED = sa.select(*ENTITY_COLUMNS).where(
    m.entities.c.project_id == sa.bindparam("project_id"),
    m.entities.c.type == sa.bindparam("type"),
    m.entities.c.name.in_(_json_list("names")),
)


def _unnested(parameter: str, column: str):
    """The values of one array parameter, as a table of one column."""
    values = sa.bindparam(parameter, type_=postgresql.ARRAY(sa.String))
    return (
        sa.func.unnest(values)
        .table_valued(sa.column(column, sa.String))
        .render_derived()
        .alias("wanted")
    )


def _each_probe(wanted, found) -> sa.Select:
    """The rows ``found`` (a ``LATERAL`` subquery) for each of ``wanted``."""
    return sa.select(*found.c).select_from(wanted.join(found, sa.true()))


def _named_postgres() -> sa.Select:
    """The entities of a project and type holding some names, locked (``FOR
    NO KEY UPDATE``), on PostgreSQL: one index probe per name of one array
    parameter, whatever the statistics of the table (there are none inside a
    large import's transaction).

    Written so that no scan is possible or cheaper: ``name IN (...)`` or a
    join on ``name =`` was planned as a scan of every entity of the type per
    call without statistics, and after ``ANALYZE`` as probes of the pg_trgm
    index (which serves ``=`` and is costed as nearly free for a value known
    only at run time: 15 ms per name of a large table). So: a ``LATERAL``
    subquery with ``LIMIT 1`` (a nested loop, one probe per name), the name
    as the range ``>= name AND <= name`` (the rows of ``=`` under the
    database's deterministic collation; only a btree serves it), ordered by
    name (which the unique (project_id, type, name) index gives after its two
    equality columns, so that it beats the (project_id, type, date_created)
    index when both look alike without statistics). The probe is of the
    unique index, or on a small table of the name index filtered by project
    and type (a name is held by at most one entity per project and type).
    Each row found is locked as it is found, in the order of the names.
    """
    e = m.entities
    wanted = _unnested("names", "name")
    found = (
        sa.select(*ENTITY_COLUMNS)
        .where(
            e.c.project_id == sa.bindparam("project_id"),
            e.c.type == sa.bindparam("type"),
            e.c.name >= wanted.c.name,
            e.c.name <= wanted.c.name,
        )
        .order_by(e.c.name)
        .limit(sa.literal_column("1"))
        .with_for_update(key_share=True)
        .correlate(wanted)
        .lateral("found")
    )
    return _each_probe(wanted, found)


#: The look-up of names on PostgreSQL.
NAMED_POSTGRES = _named_postgres()


def _by_id_postgres(*columns, lock: bool) -> sa.Select:
    """``columns`` of the entities of the ids of one array parameter, on
    PostgreSQL: one probe of the primary key per id (a ``LATERAL`` subquery
    with ``LIMIT 1``), also without statistics, where ``id IN (...)`` of
    5,000 ids is planned as a scan of the whole table (inside a large import).
    With ``lock``, rows are locked until the transaction ends as they are
    found, in the order of the ids (sorted by the caller: two transactions
    locking the same rows queue instead of deadlocking), with ``FOR NO KEY
    UPDATE``: inserts of children (whose foreign key check shares the
    parent's key) need not wait."""
    e = m.entities
    wanted = _unnested("ids", "id")
    found = sa.select(*columns).where(e.c.id == wanted.c.id)
    found = found.limit(sa.literal_column("1"))
    if lock:
        found = found.with_for_update(key_share=True)
    found = found.correlate(wanted).lateral("found")
    return _each_probe(wanted, found)


ENTITIES_POSTGRES = _by_id_postgres(*ENTITY_COLUMNS, lock=False)
ENTITIES_LOCKED_POSTGRES = _by_id_postgres(*ENTITY_COLUMNS, lock=True)
IDS_POSTGRES = _by_id_postgres(m.entities.c.id, lock=False)


@functools.cache
def _entity_lookup(postgres: bool, lock: bool, versioned: bool, links: bool):
    """The look-up of entities by id (:data:`ENTITIES` or its PostgreSQL
    forms), with the lab settings' version in each row
    (:data:`.labsettings.SETTINGS_VERSION`: the rules cached are checked
    without a statement of their own) and the ids each entity links to, as
    text separated by commas."""
    query = ENTITIES
    if postgres:
        query = ENTITIES_LOCKED_POSTGRES if lock else ENTITIES_POSTGRES
    if versioned:
        query = query.add_columns(labsettings.SETTINGS_VERSION)
    if links:
        table = m.entity_links
        # The separator as SQL text, not a parameter rendered when the
        # statement runs: the driver's cursor can run it as compiled.
        comma = sa.literal_column("','")
        linked = sa.select(sa.func.aggregate_strings(table.c.linked_id, comma))
        linked = linked.where(table.c.entity_id == query.selected_columns.id)
        query = query.add_columns(linked.scalar_subquery().label("links"))
    return query


@functools.cache
def _project_lookup(postgres: bool, with_origin: bool) -> sa.Select:
    """:func:`project_and_named`'s statement: one project (``project_id``)
    with the settings' version, and the entities of :data:`NAMED` (or
    :data:`NAMED_POSTGRES`) beside it: a row per entity found, or one row
    without an entity; none when there is no such project. ``with_origin``:
    the entity ``origin_id`` too, its columns prefixed ``o_``."""
    p, e = m.projects, m.entities
    found = (NAMED_POSTGRES if postgres else NAMED).subquery("named")
    columns = [
        p.c.id.label("p_id"),
        p.c.name.label("p_name"),
        p.c.date_created.label("p_date_created"),
        labsettings.SETTINGS_VERSION,
        *found.c,
    ]
    joined = p.outerjoin(found, sa.true())
    if with_origin:
        origin = (
            sa.select(*ENTITY_COLUMNS)
            .where(e.c.id == sa.bindparam("origin_id"))
            .subquery("origin")
        )
        columns += [column.label(f"o_{column.name}") for column in origin.c]
        joined = joined.outerjoin(origin, sa.true())
    return (
        sa.select(*columns)
        .select_from(joined)
        .where(p.c.id == sa.bindparam("project_id"))
    )


def _postgres(conn) -> bool:
    return conn.dialect.name == "postgresql"


def projects(conn, ids: list[str], versions: set | None = None) -> dict[str, sa.Row]:
    """The projects of these ids, by id (with ``versions``, the lab settings'
    version is read too, and added to it)."""
    if versions is None:
        return {row.id: row for row in conn.execute(PROJECTS, {"ids": ids})}
    found = {}
    for row in conn.execute(PROJECTS_VERSIONED, {"ids": ids}):
        versions.add(row.settings_version)
        found[row.id] = row
    return found


def entities(
    conn,
    ids: list[str],
    *,
    lock: bool,
    versions: set | None = None,
    links: dict | None = None,
) -> dict[str, dict]:
    """The entities of these ids (sorted), by id; locked on PostgreSQL if
    ``lock``. With ``versions``, the lab settings' version is read too, and
    added to it; with ``links``, the ids each entity links to are read too,
    and put in it (as :func:`links` does)."""
    query = _entity_lookup(
        _postgres(conn), lock, versions is not None, links is not None
    )
    found = {}
    for chunk in chunks(ids):
        for row in fetch_in(conn, query, {"ids": _values(conn, chunk)}):
            entity = row._asdict()
            if versions is not None:
                versions.add(entity.pop("settings_version"))
            if links is not None:
                linked = entity.pop("links")
                links[row.id] = set(linked.split(",")) if linked else set()
            found[row.id] = entity
    return found


class ProjectRow(NamedTuple):
    id: str
    name: str
    date_created: int


class ProjectLookup(NamedTuple):
    """What :func:`project_and_named` found."""

    #: The project by id (empty if there is no such project).
    projects: dict[str, ProjectRow]
    #: The entities holding the names.
    named: list[dict]
    #: The entity of ``origin_id`` (None if none was asked for or found).
    origin: dict | None


def project_and_named(
    conn,
    project_id: str,
    datatype: str,
    names: list[str],
    versions: set,
    *,
    origin_id: str | None = None,
) -> ProjectLookup:
    """:func:`projects` of one project and :func:`named` in it, in one
    statement (at most :data:`CHUNK` names), with the settings' version
    (added to ``versions``); with ``origin_id``, that entity too.
    """
    query = _project_lookup(_postgres(conn), origin_id is not None)
    values = {
        "project_id": project_id,
        "type": datatype,
        "names": _values(conn, names),
    }
    if origin_id is not None:
        values["origin_id"] = origin_id
    found, named, origin = {}, [], None
    for row in fetch_in(conn, query, values):
        found[row.p_id] = ProjectRow(row.p_id, row.p_name, row.p_date_created)
        versions.add(row.settings_version)
        if row.id is not None:
            named.append({name: getattr(row, name) for name in ENTITY_COLUMN_NAMES})
        if origin_id is not None and row.o_id is not None:
            origin = {name: getattr(row, f"o_{name}") for name in ENTITY_COLUMN_NAMES}
    return ProjectLookup(found, named, origin)


def existing(conn, ids: list[str]) -> set[str]:
    """Those of these ids that are ids of entities."""
    query = IDS_POSTGRES if _postgres(conn) else IDS
    found = set()
    for chunk in chunks(ids):
        found.update(conn.execute(query, {"ids": _values(conn, chunk)}).scalars())
    return found


def links(conn, ids: list[str]) -> dict[str, set]:
    """The ids each of these entities links to (an empty set for none)."""
    found: dict[str, set] = {entity_id: set() for entity_id in ids}
    for chunk in chunks(ids):
        for entity_id, linked_id in conn.execute(LINKS, {"ids": chunk}):
            found[entity_id].add(linked_id)
    return found


def named(conn, project_id: str, datatype: str, names: list[str]) -> Iterator[dict]:
    """The entities of a project and type that hold these names (locked on
    PostgreSQL, :data:`NAMED_POSTGRES`)."""
    query = NAMED_POSTGRES if _postgres(conn) else NAMED
    for chunk in chunks(names):
        values = {
            "project_id": project_id,
            "type": datatype,
            "names": _values(conn, chunk),
        }
        for row in conn.execute(query, values):
            yield dict(row._mapping)


def parents(conn, ids: list[str]) -> dict[str, str | None]:
    """The parent of every entity above ``ids`` (a walk that ends even on a
    database that holds a loop: ``UNION`` keeps each id once)."""
    found: dict[str, str | None] = {}
    e = m.entities
    for chunk in chunks(ids):
        up = (
            sa.select(e.c.id, e.c.origin_id)
            .where(e.c.id.in_(chunk))
            .cte("up", recursive=True)
        )
        up = up.union(
            sa.select(e.c.id, e.c.origin_id).join(up, e.c.id == up.c.origin_id)
        )
        for entity_id, origin_id in conn.execute(sa.select(up)):
            found[entity_id] = origin_id
    return found


# ----------------------------------------------------------- bulk writes


def insert_entities(
    conn,
    rows: list[dict],
    project_names: dict,
    texts: dict | None = None,
    inserts=None,
    batch: InsertBatch | None = None,
    *,
    background: bool = False,
) -> None:
    """Insert entity rows (in order: parents first) with their index rows.

    ``project_names`` gives the name of each project (for the message of a
    name taken meanwhile: PostgreSQL reads nothing more after an error);
    ``texts`` the attributes' JSON text already made (see
    :attr:`.Changes.texts`); ``inserts`` inserts the index rows (default:
    :func:`flexilims.store.inserts.bulk_insert` at once); with ``batch``, the
    entities go in it too (written, and refused, when it is flushed); with
    ``background``, they go through ``inserts`` too (an import's
    :class:`.bulk.BackgroundInserts`: refused when its error is raised).

    Raises
    ------
    NameTaken
        One row whose name another transaction took meanwhile.
    BadRequest
        Several rows, one of which clashed with a concurrent write.
    """
    if not rows:
        return
    if len(rows) >= db.ANALYZE_AFTER_ROWS:
        db.analyze_after_commit(conn, m.entities)
    entity_rows = [entity_row(row, _text_of(row, texts)) for row in rows]
    refusal = functools.partial(_insert_refused, rows, project_names)
    if batch is not None:
        batch.add(m.entities, entity_rows, errors=refusal)
    elif background:
        inserts(m.entities, entity_rows, errors=refusal)
    else:
        try:
            bulk_insert(conn, m.entities, entity_rows)
        except sa.exc.IntegrityError as error:
            raise refusal(error) from error
    (inserts or functools.partial(bulk_insert, conn))(
        m.attribute_values,
        [r for row in rows for r in index_rows(row, row["attributes"])],
    )


def _insert_refused(rows: list[dict], project_names: dict, error) -> Exception:
    """What to say when inserting entity rows broke a constraint."""
    if len(rows) == 1 and is_unique_violation(error):
        row = rows[0]
        project = project_names.get(row["project_id"], row["project_id"])
        return protocol.name_taken("Save", row["type"], row["name"], project)
    return BadRequest(
        "Save failed. An entity was created or deleted at the same time "
        f"({type(error.orig).__name__}); try again."
    )


_UPDATE = (
    sa.update(m.entities)
    .where(m.entities.c.id == sa.bindparam("b_id"))
    .values(
        name=sa.bindparam("b_name", type_=m.entities.c.name.type),
        origin_id=sa.bindparam("b_origin_id", type_=m.entities.c.origin_id.type),
        attributes=sa.bindparam("b_attributes", type_=m.entities.c.attributes.type),
        date_updated=sa.bindparam("b_date_updated", type_=sa.BigInteger),
    )
)


def update_entities(conn, rows: list[dict]) -> None:
    """Write the name, origin, attributes and update date of changed entities."""
    values = [
        {
            "b_id": row["id"],
            "b_name": row["name"],
            "b_origin_id": row["origin_id"],
            "b_attributes": row["attributes"],
            "b_date_updated": row["date_updated"],
        }
        for row in rows
    ]
    # One row as a plain execution: an executemany of one costs more.
    conn.execute(_UPDATE, values[0] if len(values) == 1 else values)


_DELETE_INDEX = m.attribute_values.delete().where(
    m.attribute_values.c.entity_id.in_(sa.bindparam("ids", expanding=True))
)


def reindex(conn, rows: list[dict], inserts=None) -> None:
    """Rebuild the attribute index rows of updated entities (``inserts``
    inserts the new ones: default :func:`flexilims.store.inserts.bulk_insert` at
    once)."""
    ids = [row["id"] for row in rows]
    for chunk in chunks(ids):
        conn.execute(_DELETE_INDEX, {"ids": chunk})
    (inserts or functools.partial(bulk_insert, conn))(
        m.attribute_values,
        [r for row in rows for r in index_rows(row, row["attributes"])],
    )


#: Columns of a history row as :func:`record_history` writes them (the id is
#: the version number, given by the database).
HISTORY_COLUMNS = tuple(c for c in m.history.columns if c.name != "id")


def record_history(
    conn,
    actor: Actor,
    changes: list[tuple],
    stamp: int,
    texts: dict | None = None,
    inserts=None,
) -> None:
    """One history row per change: ``(action, before, after)`` with rows or
    entity replies (None for a creation's before or a deletion's after);
    ``texts`` the attributes' JSON text already made (see
    :attr:`.Changes.texts`); ``inserts`` inserts the rows (default:
    :func:`flexilims.store.inserts.bulk_insert` at once)."""
    rows = []
    author = actor.full_name
    for action, before, after in changes:
        text = _text_of(after, texts) if after is not None else None
        before = _as_reply(before)
        reply = _as_reply(after)
        entity = before or reply
        rows.append(
            (
                entity["id"],
                entity["project"],
                action,
                author,
                stamp,
                db.json_text(before) if before is not None else None,
                _reply_json(reply, text, reply is not after)
                if reply is not None
                else None,
            )
        )
    (inserts or functools.partial(bulk_insert, conn))(m.history, rows, HISTORY_COLUMNS)


def _as_reply(entity):
    if entity is None or "incrementalId" in entity:
        return entity
    return entity_reply(entity)


def _text_of(row: dict, texts: dict | None) -> str | None:
    """The JSON text of a row's attributes, if made already for these very
    attributes."""
    known = texts.get(row["id"]) if texts else None
    if known is not None and known[0] is row.get("attributes"):
        return known[1]
    return None


def _reply_json(
    reply: dict, attributes_text: str | None, own: bool = False
) -> "str | Late":
    """A reply as JSON text, its attributes spliced in from their text (in
    ``reply`` itself if it is the caller's ``own``); a :class:`.Late` cell
    when its incremental id is one (:func:`number_late`)."""
    late = reply["incrementalId"]
    if type(late) is not Late:
        late = None
    if not own and (attributes_text is not None or late is not None):
        reply = dict(reply)
    if attributes_text is not None:
        reply["attributes"] = orjson.Fragment(attributes_text)
    if late is None:
        return db.json_text(reply)
    # A NUL byte marks the id's place: JSON text holds none elsewhere (a
    # string's control characters are escaped).
    reply["incrementalId"] = _PLACE
    prefix, suffix = db.json_text(reply).split("\x00")
    return Late(late.key, prefix, suffix, json=True, cast="jsonb")


_PLACE = orjson.Fragment(b"\x00")


# -------------------------------------------------------------- counters


#: The prefix of a type's incremental ids (its name upper-cased).
_prefix = functools.lru_cache(maxsize=1024)(str.upper)


def incremental_number(datatype: str, incremental: str) -> int | None:
    """The counter value of an incremental id in the store's format, if it is."""
    prefix = _prefix(datatype)
    digits = incremental[len(prefix) :]
    if incremental.startswith(prefix) and digits.isascii() and digits.isdigit():
        return int(digits)
    return None


def number_late(batch: InsertBatch, datatype: str, new: list[dict]) -> None:
    """Give new entity rows the next incremental ids of their type, reserved
    by the statement of ``batch`` that inserts them (PostgreSQL,
    :meth:`.InsertBatch.compute`): :class:`.Late` cells until it has run,
    their values after.

    Writes of one type queue on its counter's row: it is locked only from
    that statement to the end of the transaction, not from the write's first
    look-up on. The ids are those of :func:`reserve_numbers`, made in SQL
    (the prefix, and the number in at least 7 digits).
    """
    tag = len(batch.computed)
    ctes = (
        f"bump{tag} AS (INSERT INTO counters (name, value) VALUES (%s, %s) "
        "ON CONFLICT (name) DO UPDATE SET value = counters.value + excluded.value "
        f"RETURNING value), numbers{tag} AS (SELECT k, %s || "
        "lpad(n, greatest(7, length(n)), '0') AS incremental FROM "
        f"(SELECT k, (value - %s + k)::text AS n FROM bump{tag}, "
        "generate_series(1, %s) AS k) AS counted)"
    )
    count = len(new)
    expressions = [
        f"(SELECT incremental FROM numbers{tag} WHERE k = {k})"
        for k in range(1, count + 1)
    ]

    def then(values: list[str]) -> None:
        for row, value in zip(new, values, strict=True):
            row["incremental_id"] = value

    params = (datatype, count, _prefix(datatype), count, count)
    array = f"(SELECT array_agg(incremental ORDER BY k) FROM numbers{tag})"
    first = batch.compute(ctes, params, expressions, array, then)
    for k, row in enumerate(new):
        row["incremental_id"] = Late(first + k)


def reserve_numbers(conn, datatype: str, count: int) -> list[str]:
    """Reserve ``count`` incremental ids of a type in one atomic upsert."""
    bump = COUNTER_BUMPS[conn.dialect.name]
    last = conn.execute(bump, {"name": datatype, "count": count}).scalar_one()
    return _numbers(datatype, last, count)


def _numbers(datatype: str, last: int, count: int) -> list[str]:
    """The ``count`` incremental ids of a type up to counter value ``last``."""
    prefix = datatype.upper()
    return [f"{prefix}{n:07d}" for n in range(last - count + 1, last + 1)]


def raise_counters(conn, highest: dict[str, int]) -> None:
    """Raise each type's counter to at least the given number."""
    c = m.counters
    postgres = conn.dialect.name == "postgresql"
    insert = (postgresql.insert if postgres else sqlite.insert)(c)
    larger = sa.func.greatest if postgres else sa.func.max
    for datatype, number in highest.items():
        conn.execute(
            insert.values(name=datatype, value=number).on_conflict_do_update(
                index_elements=[c.c.name],
                set_={"value": larger(c.c.value, insert.excluded.value)},
            )
        )
