"""Read-only questions of people browsing a project (the web pages).

One statement per question, each served by an index, none with a round trip
per row: counts per datatype, months of sessions, a level of the hierarchy
with its children's counts, the parent chain, links both ways, what a delete
takes along, searches, and history. Rights are those of
:meth:`flexilims.store.Store.get`: an admin sees every project, anyone else
the projects they are a member of; a project they cannot see is reported as
not found (:class:`flexilims.errors.ProjectNotFound`), as if it did not exist.
Rows of other projects (a child, a link or an ancestor across projects) are
left out after the query, not by a condition on the project in it: such a
condition can lead the planner to scan a project's index instead of the
parent's or the link's.
"""

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa

from ..errors import BadRequest, ProjectNotFound
from ..writes import is_hex_id
from . import Store, labsettings
from . import models as m
from .entities import ENTITY_COLUMNS, MAX_DEPTH, Actor, entity_replies, query_texts

e = m.entities

#: Largest number of entities a level of the tree, a search or a link list
#: counts exactly; beyond it pages say "more than".
COUNT_LIMIT = 10_000
#: Links listed per direction on an entity page.
LINK_LIMIT = 100
#: Fewest characters of a name substring search (the trigram indexes need 3).
MIN_SUBSTRING = 3

_FTS = sa.table(m.SQLITE_NAME_SEARCH, sa.column("rowid"), sa.column("name"))
_FTS_ROWS = sa.table(
    f"{m.SQLITE_NAME_SEARCH}_rows", sa.column("rowid"), sa.column("entity_id")
)
_MONTH = re.compile(r"^\d{4}-\d{2}$")


@dataclass(frozen=True)
class ProjectRef:
    """A project the actor can see."""

    id: str
    name: str
    date_created: int


def project(store: Store, actor: Actor, name_or_id: str) -> ProjectRef:
    """A project by name or id, if ``actor`` may see it.

    Raises
    ------
    ProjectNotFound
        No such project, or one the actor is not a member of (the same
        error: a page must not tell that a project exists).
    """
    with store.read() as conn:
        row = conn.execute(_PROJECT, {"key": name_or_id}).first()
    if row is None or not actor.can_access(row.id):
        raise ProjectNotFound(f"No project named '{name_or_id}'.", project=name_or_id)
    return ProjectRef(row.id, row.name, row.date_created)


# Statements built once and bound per call (building one costs more than
# running it on an index).
_PROJECT = sa.select(m.projects).where(
    sa.or_(
        m.projects.c.name == sa.bindparam("key"),
        m.projects.c.id == sa.bindparam("key"),
    )
)
_COUNTS = (
    sa.select(m.entity_counts.c.type, m.entity_counts.c.kind, m.entity_counts.c.count)
    .where(
        m.entity_counts.c.project_id == sa.bindparam("project_id"),
        m.entity_counts.c.count > 0,
    )
    .order_by(m.entity_counts.c.type, m.entity_counts.c.kind)
)


def _visible_params(actor: Actor) -> dict:
    """The bound value of :func:`_visible` statements for ``actor``."""
    return {} if actor.is_admin else {"visible": sorted(actor.project_ids)}


def _check_project(actor: Actor, project_id: str) -> None:
    if not is_hex_id(project_id) or not actor.can_access(project_id):
        raise ProjectNotFound(f"No project {project_id}.", project=project_id)


def counts(store: Store, actor: Actor, project_id: str) -> list[dict]:
    """Entities of a project per datatype and kind (``<datatype>_type``).

    Returns
    -------
    list of dict
        ``type``, ``kind`` ('' for none) and ``count``, by type then kind;
        only non-zero counts.
    """
    _check_project(actor, project_id)
    with store.read() as conn:
        rows = conn.execute(_COUNTS, {"project_id": project_id})
        return [dict(row._mapping) for row in rows]


def project_totals(store: Store, actor: Actor) -> dict[str, int]:
    """Entities per project the actor can see (by project id)."""
    with store.read() as conn:
        rows = conn.execute(
            _project_totals(actor.is_admin), _visible_params(actor)
        ).all()
    return {project_id: int(total or 0) for project_id, total in rows}


@functools.cache
def _project_totals(admin: bool) -> sa.Select:
    c = m.entity_counts
    query = sa.select(c.c.project_id, sa.func.sum(c.c.count)).group_by(c.c.project_id)
    return query if admin else _visible(query, c.c.project_id)


def months(
    store: Store,
    actor: Actor,
    project_id: str,
    datatype: str,
    key: str,
    span: int = 24,
) -> list[tuple[str, int]]:
    """Entities of a type per month of an ISO date attribute (``YYYY-MM...``).

    The ``span`` months up to the latest date, from the attribute index: two
    index range reads, however many entities the project holds.

    Returns
    -------
    list of (str, int)
        ``("YYYY-MM", count)`` for every month of the span, oldest first
        (empty when no entity of that type has such a date).
    """
    _check_project(actor, project_id)
    where = {"project_id": project_id, "type": datatype, "key": key}
    with store.read() as conn:
        latest = conn.execute(_LATEST_DATE, where).scalar()
        if latest is None or not _MONTH.match(latest[:7]):
            return []
        year, month = int(latest[:4]), int(latest[5:7])
        first = year * 12 + month - 1 - (span - 1)
        start = f"{first // 12:04d}-{first % 12 + 1:02d}"
        end = f"{(year * 12 + month) // 12:04d}-{(year * 12 + month) % 12 + 1:02d}"
        rows = conn.execute(_MONTHS, {**where, "start": start, "end": end}).all()
    found: dict[str, int] = {}
    for value, count in rows:
        if _MONTH.match(value[:7]):
            found[value[:7]] = found.get(value[:7], 0) + count
    result = []
    for index in range(first, first + span):
        name = f"{index // 12:04d}-{index % 12 + 1:02d}"
        result.append((name, found.get(name, 0)))
    return result


_AV = m.attribute_values
_AV_WHERE = (
    _AV.c.project_id == sa.bindparam("project_id"),
    _AV.c.type == sa.bindparam("type"),
    _AV.c.key == sa.bindparam("key"),
)
_LATEST_DATE = sa.select(sa.func.max(_AV.c.value_prefix)).where(
    *_AV_WHERE, _AV.c.value_prefix >= "0000", _AV.c.value_prefix < "9999-99"
)
#: Counts per date (grouped in the index's order: no sort), summed per month.
_MONTHS = (
    sa.select(_AV.c.value_prefix, sa.func.count())
    .where(
        *_AV_WHERE,
        _AV.c.value_prefix >= sa.bindparam("start"),
        _AV.c.value_prefix < sa.bindparam("end"),
    )
    .group_by(_AV.c.value_prefix)
)


def _visible(stmt: sa.Select, column=e.c.project_id) -> sa.Select:
    """Keep only rows of the projects of the ``visible`` bound parameter
    (:func:`_visible_params`)."""
    return stmt.where(column.in_(sa.bindparam("visible", expanding=True)))


def _bounded_count(stmt: sa.Select, limit: int = COUNT_LIMIT) -> sa.Select:
    """The statement counting the rows of ``stmt`` up to ``limit + 1`` (more
    means "over limit")."""
    sub = stmt.with_only_columns(sa.literal(1)).order_by(None).limit(limit + 1)
    return sa.select(sa.func.count()).select_from(sub.subquery())


_NODE_COLUMNS = (e.c.id, e.c.type, e.c.name, e.c.project_id, e.c.date_created)


def tree_level(
    store: Store,
    actor: Actor,
    *,
    project_id: str | None = None,
    parent_id: str | None = None,
    offset: int = 0,
    limit: int = 100,
) -> dict:
    """One level of the hierarchy, a page at a time, oldest first.

    Parameters
    ----------
    project_id : str, optional
        The top level of this project (entities without a parent).
    parent_id : str, optional
        The children of this entity (give one of the two).
    offset, limit : int
        The page.

    Returns
    -------
    dict
        ``entities``: per entity ``id``, ``type``, ``name``, ``project``,
        ``dateCreated`` and ``children`` (a dict of counts by type);
        ``total``: entities of the level, counted up to :data:`COUNT_LIMIT`
        (``COUNT_LIMIT + 1`` means more).
    """
    if parent_id is not None:
        if not is_hex_id(parent_id):
            raise BadRequest("id not valid, please provide a hexadecimal value")
        params = {"parent": parent_id}
        page, count = _tree_level(True)
    else:
        _check_project(actor, project_id)
        params = {"project_id": project_id}
        page, count = _tree_level(False)
        if not store.is_postgres:
            page, count = _SQLITE_ROOTS
    params.update(offset=max(0, offset), limit=max(1, limit))
    with store.read() as conn:
        if parent_id is not None:
            parent = conn.execute(_PROJECT_OF, {"id": parent_id}).scalar()
            if parent is None or not actor.can_access(parent):
                return {"entities": [], "total": 0}
        rows = conn.execute(page, params).all()
        rows = [row for row in rows if actor.can_access(row.project_id)]
        total = conn.execute(count, params).scalar()
        children = _children_by_type(conn, actor, [row.id for row in rows])
    return {
        "entities": [
            {
                "id": row.id,
                "type": row.type,
                "name": row.name,
                "project": row.project_id,
                "dateCreated": row.date_created,
                "children": children.get(row.id, {}),
            }
            for row in rows
        ],
        "total": total,
    }


@functools.cache
def _tree_level(children: bool) -> tuple[sa.Select, sa.Select]:
    """A page of a level of the tree, and its bounded count."""
    if children:
        level = sa.select(*_NODE_COLUMNS).where(e.c.origin_id == sa.bindparam("parent"))
    else:
        level = sa.select(*_NODE_COLUMNS).where(
            e.c.project_id == sa.bindparam("project_id"), e.c.origin_id.is_(None)
        )
    page = (
        level.order_by(e.c.date_created, e.c.id)
        .offset(sa.bindparam("offset", type_=sa.Integer))
        .limit(sa.bindparam("limit", type_=sa.Integer))
    )
    return page, _bounded_count(level)


#: The top of a project on SQLite, on its partial index by name: SQLite's
#: statistics of ``ix_entities_origin_id`` count rows per origin, so that it
#: takes "no origin" for a few rows and would read every project's roots.
_ROOTS_WHERE = (
    "FROM entities INDEXED BY ix_entities_roots "
    "WHERE project_id = :project_id AND origin_id IS NULL"
)
_SQLITE_ROOTS = (
    sa.text(
        f"SELECT id, type, name, project_id, date_created {_ROOTS_WHERE} "
        "ORDER BY date_created, id LIMIT :limit OFFSET :offset"
    ),
    sa.text(f"SELECT count(*) FROM (SELECT 1 {_ROOTS_WHERE} LIMIT {COUNT_LIMIT + 1})"),
)
_PROJECT_OF = sa.select(e.c.project_id).where(e.c.id == sa.bindparam("id"))
_CHILDREN_BY_TYPE = (
    sa.select(e.c.origin_id, e.c.type, e.c.project_id, sa.func.count())
    .where(e.c.origin_id.in_(sa.bindparam("ids", expanding=True)))
    .group_by(e.c.origin_id, e.c.type, e.c.project_id)
    .order_by(e.c.origin_id, e.c.type)
)


def _children_by_type(conn, actor: Actor, ids: Sequence[str]) -> dict:
    """Children counts by type of each entity of ``ids``, in one statement."""
    if not ids:
        return {}
    found: dict[str, dict[str, int]] = {}
    rows = conn.execute(_CHILDREN_BY_TYPE, {"ids": list(ids)})
    for origin, datatype, project_id, count in rows:
        if actor.can_access(project_id):
            by_type = found.setdefault(origin, {})
            by_type[datatype] = by_type.get(datatype, 0) + count
    return found


def ancestors(store: Store, actor: Actor, entity_id: str) -> list[dict]:
    """The parent chain of an entity, top first (``id``, ``type``, ``name``,
    ``project``); ancestors the actor cannot see are left out."""
    if not is_hex_id(entity_id):
        return []
    with store.read() as conn:
        rows = conn.execute(_ANCESTORS, {"id": entity_id}).all()
    return [
        {"id": r.id, "type": r.type, "name": r.name, "project": r.project_id}
        for r in rows
        if actor.can_access(r.project_id)
    ]


def _ancestors() -> sa.Select:
    up = (
        sa.select(e.c.origin_id.label("id"), sa.literal(1).label("depth"))
        .where(e.c.id == sa.bindparam("id"))
        .cte("up", recursive=True)
    )
    parent = e.alias("parent")
    up = up.union_all(
        sa.select(parent.c.origin_id, up.c.depth + 1).where(
            parent.c.id == up.c.id, up.c.depth < MAX_DEPTH
        )
    )
    query = (
        sa.select(e.c.id, e.c.type, e.c.name, e.c.project_id)
        .join(up, up.c.id == e.c.id)
        .order_by(up.c.depth.desc())
    )
    return query


_ANCESTORS = _ancestors()


def links(store: Store, actor: Actor, entity_id: str) -> dict:
    """Entities linked to and from an entity (``other_relations``).

    Returns
    -------
    dict
        ``to`` (this entity's links) and ``from`` (entities linking to it):
        up to :data:`LINK_LIMIT` each, as ``id``, ``type``, ``name``,
        ``project``; ``more_to`` / ``more_from`` tell whether there are more.
    """
    if not is_hex_id(entity_id):
        return {"to": [], "from": [], "more_to": False, "more_from": False}
    found: dict[str, list] = {"to": [], "from": []}
    with store.read() as conn:
        for row in conn.execute(_LINKS, {"id": entity_id}):
            if not actor.can_access(row.project_id):
                continue
            found[row.direction].append(
                {
                    "id": row.id,
                    "type": row.type,
                    "name": row.name,
                    "project": row.project_id,
                }
            )
    return {
        "to": found["to"][:LINK_LIMIT],
        "from": found["from"][:LINK_LIMIT],
        "more_to": len(found["to"]) > LINK_LIMIT,
        "more_from": len(found["from"]) > LINK_LIMIT,
    }


def _links() -> sa.Select:
    el = m.entity_links
    columns = (e.c.id, e.c.type, e.c.name, e.c.project_id)
    to = (
        sa.select(sa.literal("to").label("direction"), *columns)
        .join(el, el.c.linked_id == e.c.id)
        .where(el.c.entity_id == sa.bindparam("id"))
    )
    back = (
        sa.select(sa.literal("from").label("direction"), *columns)
        .join(el, el.c.entity_id == e.c.id)
        .where(el.c.linked_id == sa.bindparam("id"))
    )
    to = to.order_by(e.c.type, e.c.name).limit(LINK_LIMIT + 1)
    back = back.order_by(e.c.type, e.c.name).limit(LINK_LIMIT + 1)
    return sa.union_all(sa.select(to.subquery()), sa.select(back.subquery()))


_LINKS = _links()


def descendant_counts(store: Store, actor: Actor, entity_id: str) -> dict[str, int]:
    """How many entities of each type lie below an entity (what a delete of
    it takes along), in one recursive statement."""
    if not is_hex_id(entity_id):
        return {}
    down = (
        sa.select(e.c.id, e.c.type, sa.literal(1).label("depth"))
        .where(e.c.origin_id == entity_id)
        .cte("down", recursive=True)
    )
    child = e.alias("child")
    down = down.union_all(
        sa.select(child.c.id, child.c.type, down.c.depth + 1).where(
            child.c.origin_id == down.c.id, down.c.depth < MAX_DEPTH
        )
    )
    query = (
        sa.select(down.c.type, sa.func.count(sa.distinct(down.c.id)))
        .group_by(down.c.type)
        .order_by(down.c.type)
    )
    with store.read() as conn:
        return {datatype: count for datatype, count in conn.execute(query)}


@dataclass
class Search:
    """What a search asks for; every filter optional, combined with AND.

    Attributes
    ----------
    name : str, optional
        A substring of the name (case-insensitive, at least
        :data:`MIN_SUBSTRING` characters).
    type : str, optional
        The datatype.
    attributes : list of (str, str)
        Attribute key and value pairs, each matched exactly as ``query_key``
        / ``query_value`` of the protocol.
    created_by : str, optional
        The creator's full name.
    created_from, created_to : int, optional
        Creation time range (ms since the epoch, both inclusive).
    """

    name: str | None = None
    type: str | None = None
    attributes: list[tuple[str, str]] = field(default_factory=list)
    created_by: str | None = None
    created_from: int | None = None
    created_to: int | None = None


def _name_filter(conn, stmt: sa.Select, text: str) -> sa.Select:
    """``stmt`` (over ``entities``) keeping names holding a substring, found
    by index: a trigram ``ILIKE`` on PostgreSQL, a join with the FTS5 table
    on SQLite (matches stream in, so a bounded count stops early)."""
    if len(text) < MIN_SUBSTRING:
        raise BadRequest(
            f"Type at least {MIN_SUBSTRING} characters of a name to search for it."
        )
    if conn.dialect.name == "postgresql":
        escaped = re.sub(r"([\\%_])", r"\\\1", text)
        return stmt.where(e.c.name.ilike(f"%{escaped}%", escape="\\"))
    phrase = '"' + text.replace('"', '""') + '"'
    return (
        stmt.join(_FTS_ROWS, _FTS_ROWS.c.entity_id == e.c.id)
        .join(_FTS, _FTS.c.rowid == _FTS_ROWS.c.rowid)
        .where(sa.literal_column(m.SQLITE_NAME_SEARCH).op("MATCH")(phrase))
    )


#: Matches a search counts exactly; beyond, it says "more than".
SEARCH_COUNT_LIMIT = 1000
#: Matches from which a search reads the project in result order, checking
#: each entity, instead of sorting every match found by the indexes.
SCAN_FROM = SEARCH_COUNT_LIMIT


def _scan_statement(project_id: str, search: Search):
    """The entities of a search in result order (type, creation), each checked
    against the filters: fast when matches are many (the first page is found
    early), where :func:`_search_statement` would sort them all."""
    stmt = sa.select(*ENTITY_COLUMNS).where(e.c.project_id == project_id)
    if search.type:
        stmt = stmt.where(e.c.type == search.type)
    for key, value in search.attributes:
        av = m.attribute_values.alias()
        stmt = stmt.where(
            sa.exists().where(
                av.c.entity_id == e.c.id,
                av.c.key == key,
                av.c.value.in_(query_texts(value)),
            )
        )
    if search.created_by:
        stmt = stmt.where(e.c.created_by == search.created_by)
    if search.created_from is not None:
        stmt = stmt.where(e.c.date_created >= search.created_from)
    if search.created_to is not None:
        stmt = stmt.where(e.c.date_created <= search.created_to)
    if search.name:
        escaped = re.sub(r"([\\%_])", r"\\\1", search.name)
        stmt = stmt.where(e.c.name.ilike(f"%{escaped}%", escape="\\"))
    return stmt


def _search_statement(conn, project_id: str, search: Search, types: list[str]):
    stmt = sa.select(*ENTITY_COLUMNS).where(e.c.project_id == project_id)
    if search.type:
        stmt = stmt.where(e.c.type == search.type)
    for key, value in search.attributes:
        av = m.attribute_values.alias()
        texts = query_texts(value)
        stmt = stmt.join(av, av.c.entity_id == e.c.id).where(
            av.c.project_id == project_id,
            av.c.type.in_([search.type] if search.type else types),
            av.c.key == key,
            av.c.value_prefix.in_([text[:200] for text in texts]),
            av.c.value.in_(texts),
        )
    if search.created_by:
        stmt = stmt.where(e.c.created_by == search.created_by)
    if search.created_from is not None:
        stmt = stmt.where(e.c.date_created >= search.created_from)
    if search.created_to is not None:
        stmt = stmt.where(e.c.date_created <= search.created_to)
    if search.name:
        stmt = _name_filter(conn, stmt, search.name)
    return stmt


def search(
    store: Store,
    actor: Actor,
    project_id: str,
    query: Search,
    *,
    offset: int = 0,
    limit: int | None = 50,
    count: bool = True,
) -> dict:
    """Entities of a project matching ``query``, by type then creation.

    Returns
    -------
    dict
        ``entities`` (the protocol's replies) and ``total`` (counted up to
        :data:`SEARCH_COUNT_LIMIT`; ``SEARCH_COUNT_LIMIT + 1`` means more;
        None when ``count`` is false).
    """
    _check_project(actor, project_id)
    with store.read() as conn:
        types = labsettings.datatype_names(conn)
        stmt = _search_statement(conn, project_id, query, types)
        total = conn.execute(_bounded_count(stmt, SEARCH_COUNT_LIMIT)).scalar()
        if total > SCAN_FROM and (query.name or query.attributes):
            page = _scan_statement(project_id, query)
        else:
            page = stmt
        page = page.order_by(e.c.type, e.c.date_created, e.c.id)
        if offset:
            page = page.offset(offset)
        if limit is not None:
            page = page.limit(limit)
        rows = conn.execute(page).all()
    if not count:
        total = None
    return {"entities": entity_replies(rows), "total": total}


def search_batches(
    store: Store, actor: Actor, project_id: str, query: Search, size: int = 1000
) -> Iterable[list[dict]]:
    """Every entity matching ``query`` (as :func:`search`), a batch at a time
    (for downloads: memory stays bounded)."""
    _check_project(actor, project_id)
    # A server-side cursor, which PostgreSQL keeps in a transaction only.
    with store.engine.connect() as conn, conn.begin():
        types = labsettings.datatype_names(conn)
        stmt = _search_statement(conn, project_id, query, types)
        stmt = stmt.order_by(e.c.type, e.c.date_created, e.c.id)
        result = conn.execution_options(yield_per=size).execute(stmt)
        for rows in result.partitions(size):
            yield entity_replies(rows)


def names_like(
    store: Store, actor: Actor, project_id: str, text: str, limit: int = 20
) -> list[dict]:
    """Entities of a project whose name contains ``text`` (``id``, ``type``,
    ``name``), for choosing a parent; empty for fewer than 3 characters."""
    _check_project(actor, project_id)
    if len(text) < MIN_SUBSTRING:
        return []
    with store.read() as conn:
        stmt = sa.select(e.c.id, e.c.type, e.c.name).where(e.c.project_id == project_id)
        stmt = _name_filter(conn, stmt, text).limit(limit)
        found = [dict(row._mapping) for row in conn.execute(stmt)]
    return sorted(found, key=lambda row: (row["name"], row["type"]))


def by_name(store: Store, actor: Actor, project_id: str, name: str) -> list[dict]:
    """Entities of a project with exactly this name (one per type at most)."""
    _check_project(actor, project_id)
    stmt = (
        sa.select(e.c.id, e.c.type, e.c.name)
        .where(e.c.name == name, e.c.project_id == project_id)
        .order_by(e.c.type)
    )
    with store.read() as conn:
        return [dict(row._mapping) for row in conn.execute(stmt)]


def attribute_keys(store: Store) -> list[str]:
    """Attribute names of the lab settings, for suggestions."""
    with store.read() as conn:
        settings = labsettings.read_settings(conn)
    keys = {
        name
        for definition in settings["datatypes"].values()
        for name in definition["attributes"]
    }
    return sorted(keys)
