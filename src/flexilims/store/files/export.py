"""Export: a project as the nested JSON of the Flexilims offline mode, streamed.

:func:`export_roots` yields the project's root entities one at a time, each
with its whole subtree, reading the database a batch of roots at a time in
one snapshot: the roots in one query, then per batch one query per level of
the hierarchy for the entities below them and one for their links. Memory
holds a batch, not the project; :func:`flexilims.store.files.dumpfile.write_roots`
writes them as they come. :func:`export_project` gathers them into one dict.
"""

from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from ...errors import ProjectNotFound
from .. import db
from .. import models as m
from ..entities import ENTITY_COLUMNS, Actor, entity_replies

#: Roots read and built together.
ROOTS_PER_BATCH = 500
#: Entity ids per query (of their children or their links).
LINK_IDS = 5000

_E = m.entities
_PARENT = _E.alias("parent")


def _free_key(siblings, entity: dict) -> str:
    """The entity's name, or ``name (type)`` when a sibling of another type
    already has that name (the import reads the ``name`` field, not the key)."""
    key = entity["name"]
    if key in siblings:
        key = f"{entity['name']} ({entity['type']})"
        number = 2
        while key in siblings:
            key = f"{entity['name']} ({entity['type']} {number})"
            number += 1
    return key


def _cycle_cuts(by_id: dict[str, dict]) -> set[str]:
    """Entities of origin cycles to write as roots, one per cycle."""
    done: set[str] = set()
    cuts: set[str] = set()
    for start in by_id:
        chain: list[str] = []
        on_chain: set[str] = set()
        current = start
        while current in by_id and current not in done and current not in on_chain:
            chain.append(current)
            on_chain.add(current)
            current = by_id[current]["origin_id"]
        if current in on_chain:
            cuts.add(current)
        done.update(chain)
    return cuts


def _with_parent_in(project_id: str):
    """Entities joined to their parent when it is of ``project_id`` (no
    parent row: a root of the project)."""
    return _E.outerjoin(
        _PARENT,
        sa.and_(_PARENT.c.id == _E.c.origin_id, _PARENT.c.project_id == project_id),
    )


def _roots(project_id: str) -> sa.Select:
    """Ids and creation dates of the project's roots: entities without an
    origin, or whose origin is in another project, oldest first."""
    return (
        sa.select(_E.c.id, _E.c.date_created)
        .select_from(_with_parent_in(project_id))
        .where(_E.c.project_id == project_id, _PARENT.c.id.is_(None))
        .order_by(_E.c.date_created, _E.c.id)
    )


def _subtrees(conn, project_id: str, root_ids: list[str]) -> list:
    """The rows of ``root_ids`` and of every entity of the project below them,
    oldest first: one query per level (and per 5,000 parents), each an index
    lookup of the parents' ids (no origin cycle is below a root: each entity
    below one leads up to it)."""
    rows = _rows(conn, _E.c.id, root_ids)
    parents = root_ids
    while parents:
        # Children in other projects are not exported (nor what is below them).
        level = [
            row
            for row in _rows(conn, _E.c.origin_id, parents)
            if row.project_id == project_id
        ]
        rows += level
        parents = [row.id for row in level]
    rows.sort(key=lambda row: (row.date_created, row.id))
    return rows


def _rows(conn, column, values: list[str]) -> list:
    """Entities whose ``column`` is one of ``values`` (an indexed column:
    nothing else in the condition, so that the database uses its index)."""
    found = []
    for start in range(0, len(values), LINK_IDS):
        found += conn.execute(
            sa.select(*ENTITY_COLUMNS).where(
                _among(conn, column, values[start : start + LINK_IDS])
            )
        ).all()
    return found


def _among(conn, column, values: list[str]):
    """``column IN values``: one array parameter on PostgreSQL (``= ANY``),
    whose plan does not depend on the number of values."""
    if conn.dialect.name == "postgresql":
        return column == sa.any_(
            sa.bindparam("values", values, type_=postgresql.ARRAY(sa.String))
        )
    return column.in_(values)


def _unreached(conn, project_id: str) -> list:
    """Entities no root leads to (in or below an origin cycle), oldest first;
    empty unless the project holds a cycle."""
    tree = (
        sa.select(_E.c.id)
        .select_from(_with_parent_in(project_id))
        .where(_E.c.project_id == project_id, _PARENT.c.id.is_(None))
        .cte("reached", recursive=True)
    )
    tree = tree.union_all(
        sa.select(_E.c.id).where(
            _E.c.origin_id == tree.c.id, _E.c.project_id == project_id
        )
    )
    total = conn.execute(
        sa.select(sa.func.count()).where(_E.c.project_id == project_id)
    ).scalar_one()
    reached = conn.execute(sa.select(sa.func.count()).select_from(tree)).scalar_one()
    if reached == total:
        return []
    return conn.execute(
        sa.select(*ENTITY_COLUMNS)
        .where(_E.c.project_id == project_id, _E.c.id.not_in(sa.select(tree.c.id)))
        .order_by(_E.c.date_created, _E.c.id)
    ).all()


def _entities(conn, rows) -> dict[str, dict]:
    """Replies by id, in row order, with their links and an empty
    ``children``."""
    linked: dict[str, list[str]] = {}
    ids = [row.id for row in rows]
    for start in range(0, len(ids), LINK_IDS):
        for entity_id, linked_id in conn.execute(
            _links_of(conn, ids[start : start + LINK_IDS])
        ):
            linked.setdefault(entity_id, []).append(linked_id)
    by_id = {}
    for entity in entity_replies(rows):
        entity["customEntities"] = linked.get(entity["id"], [])
        entity["children"] = {}
        by_id[entity["id"]] = entity
    return by_id


def _links_of(conn, ids: list[str]) -> sa.Select:
    links = m.entity_links
    return (
        sa.select(links.c.entity_id, links.c.linked_id)
        .where(_among(conn, links.c.entity_id, ids))
        .order_by(links.c.entity_id, links.c.linked_id)
    )


def _nest(by_id: dict[str, dict], roots: set[str]) -> None:
    """Put every entity that is not a root in its parent's ``children``, in
    ``by_id`` order (oldest first)."""
    for entity in by_id.values():
        if entity["id"] not in roots:
            siblings = by_id[entity["origin_id"]]["children"]
            siblings[_free_key(siblings, entity)] = entity


def export_roots(
    store, project_name: str, actor: Actor | None = None
) -> Iterator[tuple[str, dict]]:
    """A project's root entities, each with its subtree, one at a time.

    Parameters
    ----------
    store : Store
        The database.
    project_name : str
        The project's name or id.
    actor : Actor, optional
        Who asks: only a project they can see (default: any).

    Yields
    ------
    (str, dict)
        The root's key and the root, with the fields of
        :data:`flexilims.protocol.EXPORT_FIELDS` and a ``children`` dict keyed
        by name, oldest first. An entity whose origin is in another project
        is a root that keeps its ``origin_id``; one entity of each origin
        cycle is a root too. When two siblings of different types share a
        name, the later one's key is ``name (type)``.

    Raises
    ------
    ProjectNotFound
        There is no such project (raised before anything is yielded).
    """
    snapshot = db.Snapshot(store)
    conn = snapshot.__enter__()
    try:
        project = conn.execute(
            sa.select(m.projects).where(
                sa.or_(
                    m.projects.c.name == project_name, m.projects.c.id == project_name
                )
            )
        ).first()
        if project is None or (actor is not None and not actor.can_access(project.id)):
            raise ProjectNotFound(
                f"No project named '{project_name}'.", project=project_name
            )
    except BaseException:
        snapshot.__exit__()
        raise
    return _stream(snapshot, conn, project.id)


def _stream(snapshot, conn, project_id: str) -> Iterator[tuple[str, dict]]:
    try:
        in_cycles = _cycle_roots(conn, project_id)
        roots = conn.execute(_roots(project_id)).all()
        order = sorted(
            [(row.date_created, row.id, None) for row in roots]
            + [(root["dateCreated"], root["id"], root) for root in in_cycles]
        )
        keys: set[str] = set()
        for start in range(0, len(order), ROOTS_PER_BATCH):
            batch = order[start : start + ROOTS_PER_BATCH]
            built = _batch(
                conn, project_id, [i for _, i, tree in batch if tree is None]
            )
            for _, root_id, tree in batch:
                root = built[root_id] if tree is None else tree
                key = _free_key(keys, root)
                keys.add(key)
                yield key, root
    finally:
        snapshot.__exit__()


def _batch(conn, project_id: str, root_ids: list[str]) -> dict[str, dict]:
    """Roots by id, each with its subtree."""
    if not root_ids:
        return {}
    by_id = _entities(conn, _subtrees(conn, project_id, root_ids))
    roots = set(root_ids)
    _nest(by_id, roots)
    return {root_id: by_id[root_id] for root_id in root_ids}


def _cycle_roots(conn, project_id: str) -> list[dict]:
    """The roots cut out of origin cycles (with their subtrees), if any."""
    rows = _unreached(conn, project_id)
    if not rows:
        return []
    by_id = _entities(conn, rows)
    cuts = _cycle_cuts(by_id)
    _nest(by_id, cuts)
    return [entity for entity in by_id.values() if entity["id"] in cuts]


def export_project(store, project_name: str, actor: Actor | None = None) -> dict:
    """A project as nested JSON in the Flexilims offline format: the roots of
    :func:`export_roots` in one dict.

    Raises
    ------
    ProjectNotFound
        There is no such project.
    """
    return dict(export_roots(store, project_name, actor))
