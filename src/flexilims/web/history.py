"""History: every version of an entity or of a project, what changed from one
to the next, and "restore this version" (a new version: history only grows).

Versions are the store's (:meth:`flexilims.store.Store.history`, numbered by
the store) and restoring is :meth:`flexilims.store.Store.revert`."""

from dataclasses import dataclass

from ..errors import BadRequest, NotFound
from ..store import EntityQuery, browse
from ..writes import is_hex_id
from .app import Context

#: Versions per page.
PAGE = 50


@dataclass
class Change:
    """One difference between two versions of an entity."""

    field: str
    before: object
    after: object
    kind: str  # "added", "removed" or "changed"

    @property
    def label(self) -> str:
        return {"added": "added", "removed": "removed", "changed": "changed"}[self.kind]


_MISSING = object()


def differences(before: dict | None, after: dict | None) -> list[Change]:
    """What differs between two versions: name, parent, then each attribute
    (existing ones in their order, then new ones); a creation lists its
    attributes as added, a deletion nothing."""
    if after is None:
        return []
    if before is None:  # a creation: its attributes, as added
        before = {"name": after["name"], "origin_id": after["origin_id"]}
    changes = []
    for field, label in (("name", "name"), ("origin_id", "parent")):
        if before.get(field) != after.get(field):
            changes.append(
                Change(label, before.get(field), after.get(field), "changed")
            )
    old, new = before.get("attributes") or {}, after.get("attributes") or {}
    for key in list(old) + [key for key in new if key not in old]:
        was, now = old.get(key, _MISSING), new.get(key, _MISSING)
        if was is _MISSING:
            changes.append(Change(key, None, now, "added"))
        elif now is _MISSING:
            changes.append(Change(key, was, None, "removed"))
        elif was != now or type(was) is not type(now):
            kind = "removed" if now is None else "added" if was is None else "changed"
            changes.append(Change(key, was, now, kind))
    return changes


def _before_of(ctx: Context) -> int | None:
    text = ctx.query.get("before", "")
    return int(text) if text.isdigit() and len(text) < 18 else None


def _versions(rows: list[dict]) -> list[dict]:
    """The store's versions, with their differences as :class:`Change` rows."""
    return [
        {
            **row,
            "entity_id": row["id"],
            "changes": differences(row["before"], row["after"]),
        }
        for row in rows
    ]


def entity_history(ctx: Context, *, status: int = 200, error: str | None = None):
    """``GET /entities/{id}/history``: the entity's versions, newest first.

    The history of an entity in the trash is still shown (to members of its
    project).
    """
    entity_id = ctx.request.path_params["entity_id"]
    if not is_hex_id(entity_id):
        raise NotFound(f"no entity {entity_id}")
    before = _before_of(ctx)
    rows = ctx.store.history(
        ctx.actor, entity_id=entity_id, before=before, limit=PAGE + 1
    )
    found = ctx.store.get(ctx.actor, EntityQuery(id=entity_id))
    entity = found[0] if found else None
    if entity is None and not rows:
        raise NotFound(f"no entity {entity_id}")
    last = entity or (rows[0]["after"] or rows[0]["before"])
    project = browse.project(ctx.store, ctx.actor, last["project"])
    chain = browse.ancestors(ctx.store, ctx.actor, entity_id) if entity else []
    newest = rows[0]["version"] if rows and before is None else None
    return ctx.render(
        "history.html",
        status=status,
        error=error,
        entity=entity,
        last=last,
        project=project,
        chain=chain,
        versions=_versions(rows[:PAGE]),
        newest=newest,
        next_before=rows[PAGE - 1]["version"] if len(rows) > PAGE else None,
        can_restore=entity is not None,
    )


def project_history(ctx: Context):
    """``GET /projects/{project}/history``: every change in the project."""
    project = browse.project(ctx.store, ctx.actor, ctx.request.path_params["project"])
    rows = ctx.store.history(
        ctx.actor, project_id=project.id, before=_before_of(ctx), limit=PAGE + 1
    )
    return ctx.render(
        "project_history.html",
        project=project,
        versions=_versions(rows[:PAGE]),
        next_before=rows[PAGE - 1]["version"] if len(rows) > PAGE else None,
    )


def revert(ctx: Context):
    """``POST /entities/{id}/revert``: make the entity as it was after a
    version (:meth:`flexilims.store.Store.revert`), which writes a new one."""
    entity_id = ctx.request.path_params["entity_id"]
    text = ctx.field("version")
    found = (
        ctx.store.get(ctx.actor, EntityQuery(id=entity_id))
        if is_hex_id(entity_id)
        else []
    )
    if not found:
        raise NotFound(f"no entity {entity_id}")
    if not text.isdigit():
        return entity_history(ctx, status=400, error="Choose a version to restore.")
    try:
        ctx.store.revert(ctx.actor, entity_id, int(text))
    except BadRequest as error:
        return entity_history(ctx, status=400, error=error.detail)
    return ctx.redirect(f"/entities/{entity_id}/history", f"Restored version {text}.")
