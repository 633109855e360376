"""Changing an entity: attributes, name, parent; deleting it to the trash.

Every change goes through the store (:meth:`flexilims.store.Store.update_one`,
:meth:`~flexilims.store.Store.delete`), which applies the lab settings exactly
as for the API; a refusal is shown beside its field with the store's message,
and nothing is written. The page only turns typed text into a value of the
kind the user chose (text, number, true/false, JSON, null).
"""

import math
import re

import orjson

from ..errors import BadRequest
from ..store import EntityQuery, browse, labsettings
from ..writes import is_hex_id
from .app import Context, plural, project_path
from .entities import entity_context
from .projects import entity_or_404

#: Kinds of value an attribute form can write, in menu order.
KINDS = {
    "text": "text",
    "number": "number",
    "boolean": "true / false",
    "json": "list or object (JSON)",
    "null": "null (empty)",
}
_INTEGER = re.compile(r"^[+-]?\d+$")
#: The kind of value a lab-settings type suggests for a new attribute.
KIND_OF_RULE = {
    "string": "text",
    "number": "number",
    "integer": "number",
    "boolean": "boolean",
    "list": "json",
    "dict": "json",
}


class FieldError(BadRequest):
    """A value the page cannot turn into what the user chose."""


def kind_of(value) -> str:
    """The kind of an existing value (what its form starts with)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "text"
    return "json"


def form_text(value) -> str:
    """An existing value as the text of its form field."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def parse_value(text: str, kind: str):
    """Typed text as a value of ``kind``.

    Raises
    ------
    FieldError
        The text is not a value of that kind.
    """
    if kind == "text":
        return text
    if kind == "null":
        return None
    if kind == "boolean":
        lowered = text.strip().lower()
        if lowered in ("true", "yes", "1"):
            return True
        if lowered in ("false", "no", "0"):
            return False
        raise FieldError(f"'{text}' is not true or false.")
    if kind == "number":
        stripped = text.strip()
        if _INTEGER.match(stripped):
            return int(stripped)
        try:
            number = float(stripped)
        except ValueError:
            raise FieldError(f"'{text}' is not a number.") from None
        if not math.isfinite(number):
            raise FieldError(f"'{text}' is not a finite number.")
        return number
    if kind == "json":
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError as error:
            raise FieldError(f"This is not valid JSON: {error}.") from None
    raise FieldError(f"Choose the kind of value ({', '.join(KINDS)}).")


def _rules(ctx: Context, datatype: str) -> dict:
    with ctx.store.read() as conn:
        rules = labsettings.rules_of(conn, [datatype]).get(datatype)
    return rules.attributes if rules is not None else {}


def edit_page(ctx: Context, entity=None, *, status=200, errors=None, sent=None):
    """``GET /entities/{id}/edit``: a form per attribute, to add one, to
    rename, to move; after a refusal, the same with the message beside the
    field that caused it and the text the user typed."""
    if entity is None:
        entity = entity_or_404(ctx, ctx.request.path_params["entity_id"])
    rules = _rules(ctx, entity["type"])
    suggested = [name for name in rules if name not in entity["attributes"]]
    return ctx.render(
        "edit.html",
        status=status,
        **entity_context(ctx, entity),
        rules=rules,
        kinds=KINDS,
        kind_of=kind_of,
        form_text=form_text,
        kind_of_rule=KIND_OF_RULE,
        suggested=suggested,
        errors=errors or {},
        sent=sent or {},
    )


def _write(ctx: Context, entity: dict, place: str, sent: dict, **changes):
    """Update through the store; on a refusal, the edit page with its message
    beside ``place`` (status 400)."""
    try:
        ctx.store.update_one(
            ctx.actor,
            datatype=entity["type"],
            entity_id=entity["id"],
            allow_nulls=True,
            **changes,
        )
    except BadRequest as error:
        return edit_page(
            ctx, entity, status=400, errors={place: error.detail}, sent=sent
        )
    return None


def set_attribute(ctx: Context):
    """``POST /entities/{id}/attributes``: add or change one attribute."""
    entity = entity_or_404(ctx, ctx.request.path_params["entity_id"])
    key = ctx.field("key").strip()
    place = ctx.field("place") or "new"
    kind = ctx.field("kind", "text")
    text = ctx.field("value")
    sent = {"place": place, "key": key, "kind": kind, "value": text}
    if not key:
        return edit_page(
            ctx, entity, status=400, errors={place: "Name the attribute."}, sent=sent
        )
    try:
        value = parse_value(text, kind)
    except FieldError as error:
        return edit_page(
            ctx, entity, status=400, errors={place: error.detail}, sent=sent
        )
    refused = _write(ctx, entity, place, sent, attributes={key: value})
    if refused is not None:
        return refused
    verb = "Changed" if key in entity["attributes"] else "Added"
    return ctx.redirect(f"/entities/{entity['id']}/edit", f"{verb} {key}.")


def remove_attribute(ctx: Context):
    """``POST /entities/{id}/attributes/remove``: set an attribute to null
    (what the protocol calls removing)."""
    entity = entity_or_404(ctx, ctx.request.path_params["entity_id"])
    key = ctx.field("key")
    if key not in entity["attributes"]:
        return edit_page(
            ctx,
            entity,
            status=400,
            errors={f"attr:{key}": f"There is no attribute {key}."},
        )
    refused = _write(ctx, entity, f"attr:{key}", {}, attributes={key: None})
    if refused is not None:
        return refused
    return ctx.redirect(f"/entities/{entity['id']}/edit", f"Removed {key}.")


def rename(ctx: Context):
    """``POST /entities/{id}/rename``."""
    entity = entity_or_404(ctx, ctx.request.path_params["entity_id"])
    name = ctx.field("name")
    sent = {"name": name}
    if name == entity["name"]:
        return edit_page(
            ctx,
            entity,
            status=400,
            errors={"name": f"It is already named {name}."},
            sent=sent,
        )
    refused = _write(ctx, entity, "name", sent, name=name)
    if refused is not None:
        return refused
    return ctx.redirect(f"/entities/{entity['id']}/edit", f"Renamed to {name}.")


def resolve_parent(ctx: Context, project_id: str, text: str) -> str:
    """The id of the parent a user named: an id, or a name in the project.

    Raises
    ------
    FieldError
        No entity, or several, by that name.
    """
    text = text.strip()
    if not text:
        raise FieldError("Name the new parent (its name or id).")
    if is_hex_id(text):
        return text
    found = browse.by_name(ctx.store, ctx.actor, project_id, text)
    if not found:
        raise FieldError(f"No entity is named {text} in this project.")
    if len(found) > 1:
        types = ", ".join(row["type"] for row in found)
        raise FieldError(
            f"Several entities are named {text} ({types}): give the id of one."
        )
    return found[0]["id"]


def move(ctx: Context):
    """``POST /entities/{id}/move``: put the entity under another parent."""
    entity = entity_or_404(ctx, ctx.request.path_params["entity_id"])
    text = ctx.field("parent")
    sent = {"parent": text}
    try:
        origin = resolve_parent(ctx, entity["project"], text)
    except FieldError as error:
        return edit_page(
            ctx, entity, status=400, errors={"parent": error.detail}, sent=sent
        )
    if origin == entity["origin_id"]:
        return edit_page(
            ctx,
            entity,
            status=400,
            errors={"parent": "It is already there."},
            sent=sent,
        )
    refused = _write(ctx, entity, "parent", sent, origin_id=origin)
    if refused is not None:
        return refused
    return ctx.redirect(f"/entities/{entity['id']}/edit", f"Moved under {text}.")


def parent_names(ctx: Context):
    """``GET /projects/{project}/names?parent=TEXT``: suggestions of parents
    (``<option>`` elements for a datalist)."""
    project = browse.project(ctx.store, ctx.actor, ctx.request.path_params["project"])
    text = ctx.query.get("parent", "").strip()
    found = browse.names_like(ctx.store, ctx.actor, project.id, text)
    return ctx.render("fragments/names.html", fragment=True, found=found)


def delete_page(ctx: Context):
    """``GET /entities/{id}/delete``: what goes with it, before doing it."""
    entity = entity_or_404(ctx, ctx.request.path_params["entity_id"])
    below = browse.descendant_counts(ctx.store, ctx.actor, entity["id"])
    return ctx.render(
        "delete.html",
        **entity_context(ctx, entity),
        below=below,
        below_total=sum(below.values()),
    )


def delete(ctx: Context):
    """``POST /entities/{id}/delete``: move it and what is below to the trash."""
    entity = entity_or_404(ctx, ctx.request.path_params["entity_id"])
    below = sum(browse.descendant_counts(ctx.store, ctx.actor, entity["id"]).values())
    ctx.store.delete(ctx.actor, entity["id"])
    parent = entity["origin_id"]
    if parent and ctx.store.get(ctx.actor, EntityQuery(id=parent)):
        target = f"/entities/{parent}"
    else:
        project = browse.project(ctx.store, ctx.actor, entity["project"])
        target = f"/projects/{project_path(project)}"
    message = f"Moved {entity['type']} {entity['name']}"
    if below:
        message += f" and the {plural(below, 'entity')} below it"
    return ctx.redirect(target, message + " to the trash.")
