"""The trash: what ``delete`` removed, kept until restored or purged.

:func:`delete` moves an entity and everything below it into the ``trash``
table as one *batch* (one row per entity, with its links). :func:`restore`
puts a batch back as it was (same ids, names, attributes, dates and
incremental ids) through the one write path; :func:`purge` deletes batches
for good. Each of them leaves a history row per entity.
"""

import secrets
from datetime import UTC, datetime

import sqlalchemy as sa

from ...errors import BadRequest, FlexilimsError, Forbidden, NameTaken
from ...writes import is_hex_id
from .. import db
from .. import models as m
from ..entities import ENTITY_COLUMNS, Actor, entity_reply, now_ms
from ..inserts import bulk_insert
from .changes import Changes, Operation, record_history

#: Who restores and purges when no actor is given (the command line).
ADMIN = Actor(username="flexilims", full_name="flexilims admin", is_admin=True)

#: The reply of ``delete``, as Flexilims words it.
DELETED = "deleted successfully null"


# ------------------------------------------------------------------ delete


def delete(store, actor: Actor, entity_id) -> str:
    """Move an entity and everything below it to the trash, in one transaction.

    Deleting an id that is already in the trash succeeds (clients that delete
    a tree delete the parent, then each descendant by id).

    Raises
    ------
    BadRequest
        No such entity; the entity is in a parent loop; or something below it
        belongs to a project the user cannot write (the message says how many
        entities and which project; nothing is deleted).
    """
    if not is_hex_id(entity_id):
        raise BadRequest("please provide a valid hexadecimal value for id")
    return store.transaction(lambda conn: _delete(conn, actor, entity_id))


def _delete(conn, actor: Actor, entity_id: str) -> str:
    root = conn.execute(
        sa.select(*ENTITY_COLUMNS).where(m.entities.c.id == entity_id)
    ).first()
    if root is None:
        if _in_trash(conn, actor, entity_id):
            return DELETED
        raise BadRequest(f"Delete failed. No entity with id {entity_id}.")
    if not actor.can_access(root.project_id):
        raise Forbidden(f"user {actor.username} has no access to entity {entity_id}")
    rows = _subtree(conn, entity_id)
    if root.origin_id in {row.id for row in rows}:
        raise BadRequest(
            f"Delete failed. {root.type.capitalize()} {root.name} is in a loop of "
            "parents (one of its descendants is also its parent): move one of "
            "them out of the loop with update-one first (`flexilims check` lists "
            "loops)."
        )
    _check_writable(conn, actor, root, rows)
    try:
        _to_trash(conn, actor, rows)
    except sa.exc.IntegrityError as error:
        raise BadRequest(
            "Delete failed. An entity was added below it at the same time; try again."
        ) from error
    return DELETED


def _in_trash(conn, actor: Actor, entity_id: str) -> bool:
    project = conn.execute(
        sa.select(m.trash.c.project_id).where(m.trash.c.entity_id == entity_id).limit(1)
    ).scalar()
    return project is not None and actor.can_access(project)


def _subtree(conn, entity_id: str) -> list:
    """The entity and everything below it, parents before children.

    ``UNION`` keeps each id once, so the walk ends even where the database
    holds a loop of parents.
    """
    e = m.entities
    tree = sa.select(e.c.id).where(e.c.id == entity_id).cte(recursive=True)
    tree = tree.union(sa.select(e.c.id).where(e.c.origin_id == tree.c.id))
    rows = conn.execute(sa.select(*ENTITY_COLUMNS).join(tree, tree.c.id == e.c.id))
    return _parents_first(
        [row for row in rows], key=lambda row: (row.id, row.origin_id)
    )


def _check_writable(conn, actor: Actor, root, rows) -> None:
    """Refuse a delete that would take entities of projects the user cannot
    write with it."""
    outside: dict[str, int] = {}
    for row in rows:
        if not actor.can_access(row.project_id):
            outside[row.project_id] = outside.get(row.project_id, 0) + 1
    if not outside:
        return
    names = dict(
        conn.execute(
            sa.select(m.projects.c.id, m.projects.c.name).where(
                m.projects.c.id.in_(sorted(outside))
            )
        ).all()
    )
    parts = [
        f"{count} in project {names.get(project, project)}"
        for project, count in sorted(outside.items())
    ]
    total = sum(outside.values())
    raise Forbidden(
        f"Delete failed. {total} entit{'y' if total == 1 else 'ies'} below "
        f"{root.type} {root.name} belong to a project you cannot write "
        f"({', '.join(parts)}): nothing was deleted. Ask a member of that project "
        "to move or delete them first."
    )


def _to_trash(conn, actor: Actor, rows) -> None:
    ids = [row.id for row in rows]
    links = m.entity_links
    pairs = []
    for chunk in _chunks(ids):
        pairs += conn.execute(
            sa.select(links.c.entity_id, links.c.linked_id).where(
                sa.or_(links.c.entity_id.in_(chunk), links.c.linked_id.in_(chunk))
            )
        ).all()
    inside = set(ids)
    by_entity: dict[str, list] = {}
    for owner, linked in set(pairs):
        where = owner if owner in inside else linked
        by_entity.setdefault(where, []).append([owner, linked])
    batch = secrets.token_hex(16)
    stamp = now_ms()
    replies = [entity_reply(row._mapping) for row in rows]
    bulk_insert(
        conn,
        m.trash,
        [
            (
                batch,
                reply["id"],
                reply["project"],
                position,
                db.json_text(reply),
                db.json_text(sorted(by_entity[reply["id"]]))
                if reply["id"] in by_entity
                else None,
                actor.full_name,
                stamp,
            )
            for position, reply in enumerate(replies)
        ],
        columns=[c for c in m.trash.columns if c.name != "id"],
    )
    for chunk in _chunks(ids):
        conn.execute(
            links.delete().where(
                sa.or_(links.c.entity_id.in_(chunk), links.c.linked_id.in_(chunk))
            )
        )
        conn.execute(
            m.attribute_values.delete().where(m.attribute_values.c.entity_id.in_(chunk))
        )
    # Children first: each row's parent is still there when it goes.
    for chunk in _chunks(ids[::-1]):
        conn.execute(m.entities.delete().where(m.entities.c.id.in_(chunk)))
    record_history(conn, actor, [("delete", reply, None) for reply in replies], stamp)


def _chunks(values: list, size: int = 5000):
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _parents_first(items: list, key) -> list:
    """Order items so that every one comes after its parent (``key`` gives an
    item's id and its parent's id); items of a loop come last, as found."""
    ids = {key(item)[0] for item in items}
    placed: set[str] = set()
    ordered: list = []
    waiting = list(items)
    while waiting:
        ready = [
            item
            for item in waiting
            if key(item)[1] not in ids or key(item)[1] in placed
        ]
        if not ready:
            return ordered + waiting
        ordered += ready
        placed.update(key(item)[0] for item in ready)
        waiting = [item for item in waiting if key(item)[0] not in placed]
    return ordered


# ------------------------------------------------------------------ list


def batches(store, project: str | None = None, actor: Actor = ADMIN) -> list[dict]:
    """The batches in the trash, newest first.

    Parameters
    ----------
    store : Store
        The database.
    project : str, optional
        Only batches of this project (24-hex id).
    actor : Actor, optional
        Only batches of projects this user can write (default: every batch).

    Returns
    -------
    list of dict
        Per batch: ``batch``, ``deleted_at`` (ms), ``deleted_by``,
        ``project``, ``count`` (entities) and ``root`` (the deleted entity,
        as ``type name``).
    """
    t = m.trash
    query = sa.select(t).order_by(t.c.deleted_at.desc(), t.c.batch_id, t.c.position)
    if project is not None:
        if not is_hex_id(project):
            raise BadRequest("please provide a valid hexadecimal value for project_id")
        query = query.where(t.c.project_id == project)
    if not actor.is_admin:
        query = query.where(t.c.project_id.in_(sorted(actor.project_ids)))
    found: dict[str, dict] = {}
    with store.read() as conn:
        for row in conn.execute(query):
            batch = found.get(row.batch_id)
            if batch is None:
                batch = found[row.batch_id] = {
                    "batch": row.batch_id,
                    "deleted_at": row.deleted_at,
                    "deleted_by": row.deleted_by,
                    "project": row.project_id,
                    "count": 0,
                    "root": None,
                }
            batch["count"] += 1
            if row.position == 0:
                batch["root"] = f"{row.entity['type']} {row.entity['name']}"
    return list(found.values())


# ----------------------------------------------------------------- restore


def restore(store, batch_id: str, actor: Actor = ADMIN) -> dict:
    """Put a deleted batch back, in one transaction.

    The entities go through the one write path with their ids, names,
    attributes, dates and incremental ids kept; the lab settings are not
    checked again (they may have changed since: a restore puts back what was).

    Parameters
    ----------
    store : Store
        The database.
    batch_id : str
        A batch of :func:`batches`.
    actor : Actor, optional
        Recorded in the history as who restored.

    Returns
    -------
    dict
        ``restored`` (entities put back) and ``links_dropped`` (links to
        entities that no longer exist).

    Raises
    ------
    BadRequest
        No such batch, its project or parent is gone, or one of its names has
        been taken since.
    """
    with store.write() as conn:
        rows = conn.execute(
            sa.select(m.trash)
            .where(m.trash.c.batch_id == batch_id)
            .order_by(m.trash.c.position)
        ).all()
        if not rows or not all(actor.can_access(row.project_id) for row in rows):
            raise BadRequest(f"No batch {batch_id} in the trash.")
        entities = _parents_first(
            [dict(row.entity) for row in rows],
            key=lambda entity: (entity["id"], entity["origin_id"]),
        )
        _check_restorable(conn, entities)
        operations = [
            Operation(
                index=index,
                op="create",
                type=entity["type"],
                name=entity["name"],
                project_id=entity["project"],
                origin_id=entity["origin_id"],
                attributes=entity["attributes"],
                kept={
                    "id": entity["id"],
                    "incremental_id": entity["incrementalId"],
                    "created_by": entity["createdBy"],
                    "date_created": entity["dateCreated"],
                    "date_updated": entity["dateUpdated"],
                },
                check_settings=False,
                action="restore",
            )
            for index, entity in enumerate(entities)
        ]
        changes = Changes(store, conn, actor)
        changes.prepare(operations)
        try:
            for operation in operations:
                changes.apply(operation)
        except NameTaken as error:
            raise BadRequest(
                f"Restore failed. {error.datatype.capitalize()} {error.name} already "
                f"exist in the project {error.project}: rename or delete it first."
            ) from None
        except FlexilimsError as error:
            raise BadRequest(f"Restore failed. {error.detail}") from None
        changes.write()
        dropped = _restore_links(conn, rows, {entity["id"] for entity in entities})
        conn.execute(m.trash.delete().where(m.trash.c.batch_id == batch_id))
    return {"restored": len(entities), "links_dropped": dropped}


def _check_restorable(conn, entities: list[dict]) -> None:
    """Refuse, with a message saying what to do, a batch whose project or
    parent is gone."""
    project = entities[0]["project"]
    found = conn.execute(
        sa.select(m.projects.c.id).where(m.projects.c.id == project)
    ).first()
    if found is None:
        raise BadRequest(f"Restore failed. Project {project} no longer exists.")
    ids = {entity["id"] for entity in entities}
    outside = {e["origin_id"] for e in entities} - ids - {None}
    existing = set(
        conn.execute(
            sa.select(m.entities.c.id).where(m.entities.c.id.in_(sorted(outside)))
        ).scalars()
    )
    for entity in entities:
        origin = entity["origin_id"]
        if origin is not None and origin not in ids and origin not in existing:
            raise BadRequest(
                f"Restore failed. The parent {origin} of {entity['type']} "
                f"{entity['name']} no longer exists: restore it first."
            )


def _restore_links(conn, rows, ids: set) -> int:
    """Put back the links of a batch whose both ends exist; how many were not."""
    pairs = {tuple(pair) for row in rows for pair in (row.links or [])}
    ends = sorted({i for pair in pairs for i in pair if i not in ids})
    existing = set()
    if ends:
        existing = set(
            conn.execute(
                sa.select(m.entities.c.id).where(m.entities.c.id.in_(ends))
            ).scalars()
        )
    kept = [p for p in sorted(pairs) if all(i in ids or i in existing for i in p)]
    bulk_insert(conn, m.entity_links, kept)
    return len(pairs) - len(kept)


# ------------------------------------------------------------------- purge


def purge(
    store,
    batch_id: str | None = None,
    before: int | None = None,
    actor: Actor = ADMIN,
) -> int:
    """Delete batches from the trash for good (a history row per entity).

    Parameters
    ----------
    batch_id : str, optional
        Only this batch.
    before : int, optional
        Only batches deleted before this time (ms since the epoch).
    actor : Actor, optional
        Recorded in the history as who purged.

    Returns
    -------
    int
        How many entities were purged.
    """
    if batch_id is None and before is None:
        raise BadRequest(
            "Say which batch to purge, or purge batches older than a date."
        )
    t = m.trash
    where = []
    if batch_id is not None:
        where.append(t.c.batch_id == batch_id)
    if before is not None:
        where.append(t.c.deleted_at < before)
    with store.write() as conn:
        purged = conn.execute(sa.select(t.c.entity).where(*where)).scalars().all()
        conn.execute(t.delete().where(*where))
        record_history(
            conn, actor, [("purge", entity, None) for entity in purged], now_ms()
        )
    if batch_id is not None and not purged:
        raise BadRequest(f"No batch {batch_id} in the trash.")
    return len(purged)


def format_time(ms: int) -> str:
    """A trash time (ms since the epoch) as local ISO date and time."""
    return (
        datetime.fromtimestamp(ms / 1000, UTC)
        .astimezone()
        .isoformat(sep=" ", timespec="seconds")
    )
