"""History: every version of every entity, and going back to one.

Every write leaves one row per entity it changed in the ``history`` table
(:func:`flexilims.store.writing.changes.record_history`): the action (``create``,
``update``, ``delete``, ``restore``, ``revert``, ``import``, ``purge``), who
and when, and the entity before and after, in the protocol's reply shape. The
row's id is the version number. :func:`versions` reads them;
:func:`revert` makes an entity as it was after a version, through the one
write path, as a new version: history only grows.
"""

import sqlalchemy as sa

from ..errors import BadRequest, Forbidden
from ..writes import is_hex_id, same_json
from . import models as m
from .entities import Actor
from .writing.changes import Operation

#: Versions a page holds at most.
MAX_PAGE = 1000


def versions(
    store,
    actor: Actor,
    *,
    entity_id: str | None = None,
    project_id: str | None = None,
    before: int | None = None,
    limit: int = 100,
) -> list[dict]:
    """Versions of an entity, or of every entity of a project, newest first.

    Parameters
    ----------
    entity_id, project_id : str
        One of them: whose versions.
    before : int, optional
        Only versions older than this version number (the next page).
    limit : int
        At most this many (up to :data:`MAX_PAGE`).

    Returns
    -------
    list of dict
        Per version: ``version``, ``id`` (the entity's), ``project``,
        ``action``, ``changed_by``, ``changed_at`` (ms), ``before`` and
        ``after`` (the entity, or None before a creation and after a
        deletion) and ``changes``: the attributes and fields that differ, each
        ``[before, after]``.

    Raises
    ------
    BadRequest
        Neither or a malformed id given.
    Forbidden
        The user cannot see that project.
    """
    h = m.history
    if (entity_id is None) == (project_id is None):
        raise BadRequest("give the id of an entity or of a project")
    for value, name in ((entity_id, "id"), (project_id, "project_id")):
        if value is not None and not is_hex_id(value):
            raise BadRequest(f"please provide a valid hexadecimal value for {name}")
    if project_id is not None and not actor.can_access(project_id):
        raise Forbidden(
            f"user {actor.username} is not a member of project {project_id}"
        )
    if not isinstance(limit, int) or not 0 < limit <= MAX_PAGE:
        raise BadRequest(f"limit must be a whole number from 1 to {MAX_PAGE}")
    query = sa.select(h).order_by(h.c.id.desc()).limit(limit)
    if entity_id is not None:
        query = query.where(h.c.entity_id == entity_id)
    else:
        query = query.where(h.c.project_id == project_id)
    if before is not None:
        # Bound as a 64-bit integer: a version beyond the column's range
        # matches nothing (PostgreSQL would refuse to compare it otherwise).
        query = query.where(h.c.id < sa.literal(before, sa.BigInteger))
    if not actor.is_admin and entity_id is not None:
        query = query.where(h.c.project_id.in_(sorted(actor.project_ids)))
    with store.read() as conn:
        rows = conn.execute(query).all()
    return [_version(row) for row in rows]


def _version(row) -> dict:
    return {
        "version": row.id,
        "id": row.entity_id,
        "project": row.project_id,
        "action": row.action,
        "changed_by": row.changed_by,
        "changed_at": row.changed_at,
        "before": row.before,
        "after": row.after,
        "changes": differences(row.before, row.after),
    }


#: The fields of an entity a version may change, besides its attributes.
_FIELDS = ("name", "origin_id", "customEntities")


def differences(before: dict | None, after: dict | None) -> dict:
    """What changed from ``before`` to ``after``: ``{key: [old, new]}`` for
    each field and attribute (``attributes.KEY``) that differs."""
    before, after = before or {}, after or {}
    found = {}
    for key in _FIELDS:
        if not same_json(before.get(key), after.get(key)) and (
            key in before or key in after
        ):
            found[key] = [before.get(key), after.get(key)]
    old = before.get("attributes") or {}
    new = after.get("attributes") or {}
    for key in [*old, *(k for k in new if k not in old)]:
        if not same_json(old.get(key), new.get(key)) or (key in old) != (key in new):
            found[f"attributes.{key}"] = [old.get(key), new.get(key)]
    return found


def revert(store, actor: Actor, entity_id, version) -> dict:
    """Make an entity as it was after ``version``: its name, parent and
    attributes, exactly (attributes added since are removed).

    The change goes through the one write path (the same rules as
    ``update-one``: names, loops, allowed parents) and is a new version of
    its own, so history only grows.

    Returns
    -------
    dict
        The entity after the revert.

    Raises
    ------
    BadRequest
        No such version of that entity, a version after which the entity did
        not exist (a deletion), or the rules refuse the change (the name has
        been taken since, the old parent is gone...).
    """
    if not is_hex_id(entity_id):
        raise BadRequest("please provide a valid hexadecimal value for id")
    try:
        version = int(version)
    except (TypeError, ValueError):
        raise BadRequest(f"version must be a whole number, not '{version}'") from None
    h = m.history
    with store.read() as conn:
        row = conn.execute(
            sa.select(h).where(
                h.c.id == sa.literal(version, sa.BigInteger), h.c.entity_id == entity_id
            )
        ).first()
    if row is None or not actor.can_access(row.project_id):
        raise BadRequest(f"Revert failed. Entity {entity_id} has no version {version}.")
    if row.after is None:
        raise BadRequest(
            f"Revert failed. Version {version} is the {row.action} of entity "
            f"{entity_id}: choose a version after which it existed (a deleted "
            "entity comes back from the trash)."
        )
    target = row.after
    operation = Operation(
        index=0,
        op="update",
        type=target["type"],
        id=entity_id,
        name=target["name"],
        origin_id=target["origin_id"],
        attributes=target["attributes"] or {},
        replace=True,
        action="revert",
    )
    changes = store.apply(actor, [operation], allow_nulls=True)
    return changes.reply(entity_id)
