"""The trash: what ``delete`` removed, kept until restored or purged.

:meth:`flexilims.store.Store.delete` moves an entity and everything below it
into the ``trash`` table as one *batch* (one row per entity, with its links).
Here an admin lists the batches, puts a batch back as it was (same ids,
names, attributes, dates and incremental ids) or purges it for good.
"""

from datetime import UTC, datetime

import sqlalchemy as sa

from ..errors import BadRequest
from . import Actor, Store, attribute_value_rows, entity_reply
from . import models as m

#: Who restores when no actor is given (the command line).
ADMIN = Actor(username="flexilims", full_name="flexilims admin", is_admin=True)


def batches(store: Store, project: str | None = None) -> list[dict]:
    """The batches in the trash, newest first.

    Parameters
    ----------
    store : Store
        The database.
    project : str, optional
        Only batches of this project (24-hex id).

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
        query = query.where(t.c.project_id == project)
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


def _parents_first(entities: list[dict]) -> list[dict]:
    """Order a batch so that every entity comes after its parent."""
    ids = {e["id"] for e in entities}
    placed: set[str] = set()
    ordered: list[dict] = []
    waiting = list(entities)
    while waiting:
        ready = [
            e for e in waiting if e["origin_id"] not in ids or e["origin_id"] in placed
        ]
        if not ready:
            raise BadRequest("Restore failed. The batch's hierarchy has a cycle.")
        ordered += ready
        placed.update(e["id"] for e in ready)
        waiting = [e for e in waiting if e["id"] not in placed]
    return ordered


def restore(store: Store, batch_id: str, actor: Actor = ADMIN) -> dict:
    """Put a deleted batch back, in one transaction.

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
    e = m.entities
    with store.write() as conn:
        rows = conn.execute(
            sa.select(m.trash)
            .where(m.trash.c.batch_id == batch_id)
            .order_by(m.trash.c.position)
        ).all()
        if not rows:
            raise BadRequest(f"No batch {batch_id} in the trash.")
        entities = [dict(row.entity) for row in rows]
        ids = {entity["id"] for entity in entities}
        project = conn.execute(
            sa.select(m.projects).where(m.projects.c.id == rows[0].project_id)
        ).first()
        if project is None:
            raise BadRequest(
                f"Restore failed. Project {rows[0].project_id} no longer exists."
            )
        for entity in entities:
            origin = entity["origin_id"]
            if origin is not None and origin not in ids:
                parent = conn.execute(sa.select(e.c.id).where(e.c.id == origin)).first()
                if parent is None:
                    raise BadRequest(
                        f"Restore failed. The parent {origin} of {entity['type']} "
                        f"{entity['name']} no longer exists: restore it first."
                    )
            clash = conn.execute(
                sa.select(e.c.id).where(
                    sa.or_(
                        e.c.id == entity["id"],
                        sa.and_(
                            e.c.project_id == entity["project"],
                            e.c.type == entity["type"],
                            e.c.name == entity["name"],
                        ),
                    )
                )
            ).first()
            if clash is not None:
                raise BadRequest(
                    f"Restore failed. {entity['type'].capitalize()} "
                    f"{entity['name']} already exist in the project {project.name}: "
                    "rename or delete it first."
                )
        columns = [
            {
                "id": entity["id"],
                "project_id": entity["project"],
                "type": entity["type"],
                "name": entity["name"],
                "incremental_id": entity["incrementalId"],
                "attributes": entity["attributes"] or {},
                "created_by": entity["createdBy"],
                "date_created": entity["dateCreated"],
                "date_updated": entity["dateUpdated"],
                "origin_id": entity["origin_id"],
            }
            for entity in _parents_first(entities)
        ]
        for row in columns:
            conn.execute(e.insert().values(row))
        index = [
            r for row in columns for r in attribute_value_rows(row, row["attributes"])
        ]
        if index:
            conn.execute(m.attribute_values.insert(), index)
        pairs = {tuple(pair) for row in rows for pair in (row.links or [])}
        ends = {i for pair in pairs for i in pair if i not in ids}
        existing = set()
        if ends:
            existing = set(
                conn.execute(
                    sa.select(e.c.id).where(e.c.id.in_(sorted(ends)))
                ).scalars()
            )
        kept = [p for p in sorted(pairs) if all(i in ids or i in existing for i in p)]
        if kept:
            conn.execute(
                m.entity_links.insert(),
                [{"entity_id": a, "linked_id": b} for a, b in kept],
            )
        store._record_history(
            conn,
            actor,
            "restore",
            [(None, entity_reply(row)) for row in columns],
        )
        conn.execute(m.trash.delete().where(m.trash.c.batch_id == batch_id))
    return {"restored": len(columns), "links_dropped": len(pairs) - len(kept)}


def purge(store: Store, batch_id: str | None = None, before: int | None = None) -> int:
    """Delete batches from the trash for good.

    Parameters
    ----------
    batch_id : str, optional
        Only this batch.
    before : int, optional
        Only batches deleted before this time (ms since the epoch).

    Returns
    -------
    int
        How many entities were purged.
    """
    if batch_id is None and before is None:
        raise BadRequest(
            "Say which batch to purge, or purge batches older than a date."
        )
    statement = m.trash.delete()
    if batch_id is not None:
        statement = statement.where(m.trash.c.batch_id == batch_id)
    if before is not None:
        statement = statement.where(m.trash.c.deleted_at < before)
    with store.write() as conn:
        count = conn.execute(statement).rowcount
    if batch_id is not None and count == 0:
        raise BadRequest(f"No batch {batch_id} in the trash.")
    return count


def format_time(ms: int) -> str:
    """A trash time (ms since the epoch) as local ISO date and time."""
    return (
        datetime.fromtimestamp(ms / 1000, UTC)
        .astimezone()
        .isoformat(sep=" ", timespec="seconds")
    )
