"""``flexiznam ls``, ``find``, ``show``, ``tree`` and ``settings show``: look
at the database.

Each is one request (``show`` one more per parent level), through the
session of the user's config; every listing prints a table, or ``--json``
or ``--csv``.
"""

import json
from collections import Counter

import click

from flexilims.cli.terminal import (
    emit_rows,
    local_time,
    output_options,
    plural,
    text_table,
)
from flexilims.errors import NotFound

from ..api.tree import TREE_COLUMNS, format_tree, subtree, tree_table_rows
from ..errors import FlexilimsError, type_not_defined_message
from .common import (
    chosen_project,
    find_one,
    open_session,
    project_option,
    type_option,
)

#: The columns of an entity listing.
ENTITY_COLUMNS = ["type", "name", "id", "created_by", "created"]

#: The most children ``show`` lists.
SHOWN_CHILDREN = 30


def _detail(entity: dict) -> str:
    attributes = entity.get("attributes") or {}
    return str(attributes.get("dataset_type") or attributes.get("protocol") or "")


def entity_rows(entities: list[dict], keys=()) -> list[dict]:
    """Entities as rows of :data:`ENTITY_COLUMNS` (type, name, id, who
    created them and when) and the attributes ``keys``."""
    rows = []
    for entity in entities:
        attributes = entity.get("attributes") or {}
        row = {
            "type": entity["type"],
            "name": entity["name"],
            "id": entity["id"],
            "created_by": entity.get("createdBy"),
            "created": local_time(entity.get("dateCreated")),
        }
        row.update({key: attributes.get(key) for key in keys})
        rows.append(row)
    return rows


@click.command("ls")
@click.argument("datatype", metavar="[TYPE]", required=False)
@click.option("--parent", help="Only the children of this entity (a name).")
@project_option()
@output_options
def ls_command(datatype, parent, project, fmt):
    """List the entities of TYPE (mouse, session...); without TYPE, how many
    entities of each type the project has."""
    session = open_session(chosen_project(project))
    filters = {}
    if parent is not None:
        filters["origin_id"] = find_one(session, parent)["id"]
    entities = session.get(datatype, **filters)
    if datatype is None and parent is None:
        counts = Counter(entity["type"] for entity in entities)
        rows = [{"type": kind, "count": count} for kind, count in counts.items()]
        emit_rows(rows, ["type", "count"], fmt, empty="The project is empty.")
        return
    what = f"{datatype}s" if datatype else "entities"
    what += f" below {parent}" if parent else ""
    emit_rows(entity_rows(entities), ENTITY_COLUMNS, fmt, empty=f"No {what}.")


def _where(conditions) -> dict:
    wanted = {}
    for condition in conditions:
        key, equals, value = condition.partition("=")
        if not equals or not key:
            raise click.BadParameter(
                f"{condition!r} is not KEY=VALUE", param_hint="'--where'"
            )
        wanted[key] = value
    return wanted


def _matches(value, text: str) -> bool:
    """An attribute's value equals ``text`` as text, or as the JSON value it
    reads as (``3``, ``true``, ``null``)."""
    if isinstance(value, str):
        return value == text
    try:
        parsed = json.loads(text)
    except ValueError:
        return False
    return value == parsed and isinstance(value, bool) == isinstance(parsed, bool)


@click.command("find")
@click.argument("text", required=False)
@type_option("Only entities of this type.")
@click.option(
    "--where",
    "conditions",
    multiple=True,
    metavar="KEY=VALUE",
    help="Only entities whose attribute KEY is VALUE (repeat for several).",
)
@project_option()
@output_options
def find_command(text, datatype, conditions, project, fmt):
    """Find entities whose name contains TEXT (any case) and whose attributes
    have the values of --where."""
    wanted = _where(conditions)
    if text is None and not wanted and datatype is None:
        raise click.UsageError("Give a TEXT to look for in names, --where or --type.")
    session = open_session(chosen_project(project))
    found = []
    for entity in session.get(datatype):
        if text is not None and text.lower() not in entity["name"].lower():
            continue
        attributes = entity.get("attributes") or {}
        if all(
            key in attributes and _matches(attributes[key], value)
            for key, value in wanted.items()
        ):
            found.append(entity)
    columns = [*ENTITY_COLUMNS, *wanted]
    emit_rows(entity_rows(found, list(wanted)), columns, fmt, empty="Nothing matches.")


def _parents(session, entity: dict) -> list[dict]:
    """The entity's parents, top first (one request per level)."""
    chain, seen = [], {entity["id"]}
    parent_id = entity.get("origin_id")
    while parent_id and parent_id not in seen:
        seen.add(parent_id)
        found = session.get(None, id=parent_id)
        if not found:
            break
        chain.insert(0, found[0])
        parent_id = found[0].get("origin_id")
    return chain


def _brief(entity: dict) -> dict:
    return {"type": entity["type"], "name": entity["name"], "id": entity["id"]}


@click.command("show")
@click.argument("name")
@type_option()
@project_option()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show_command(name, datatype, project, as_json):
    """Show entity NAME (or id): its fields, attributes, parents and children."""
    session = open_session(chosen_project(project))
    entity = find_one(session, name, datatype)
    parents = _parents(session, entity)
    children = session.get_children(entity["id"])
    if as_json:
        shown = dict(entity)
        shown["parents"] = [_brief(parent) for parent in parents]
        shown["children"] = [_brief(child) for child in children]
        click.echo(json.dumps(shown, indent=2, ensure_ascii=False))
        return
    fields = [
        ("id", entity["id"]),
        ("incremental id", entity.get("incrementalId")),
        (
            "created",
            f"{local_time(entity.get('dateCreated'))} by {entity.get('createdBy')}",
        ),
        ("updated", local_time(entity.get("dateUpdated"))),
        ("parents", " > ".join(f"{p['type']} {p['name']}" for p in parents) or "-"),
    ]
    fields += [(key, value) for key, value in (entity.get("attributes") or {}).items()]
    click.echo(f"{entity['type']} {entity['name']}")
    rows = [{"field": field, "value": value} for field, value in fields]
    click.echo(text_table(rows, ["field", "value"]))
    if not children:
        click.echo("No children.")
        return
    counts = Counter(child["type"] for child in children)
    click.echo("Children: " + ", ".join(plural(n, kind) for kind, n in counts.items()))
    shown = entity_rows(children[:SHOWN_CHILDREN])
    click.echo(text_table(shown, ENTITY_COLUMNS[:-1]))
    if len(children) > SHOWN_CHILDREN:
        click.echo(
            f"… and {len(children) - SHOWN_CHILDREN} more: "
            f"`flexiznam ls TYPE --parent {entity['name']}` lists them."
        )


def _check_types(session, types, entities) -> None:
    """Refuse a type the lab settings do not define (one request, only when a
    type given has no entity: a typo shows nothing otherwise)."""
    absent = set(types or ()) - {entity["type"] for entity in entities}
    if not absent:
        return
    try:
        defined = list(session.lab_settings()["datatypes"])
    except NotFound:  # a Flexilims server: no lab settings to check against
        return
    for datatype in sorted(absent):
        if datatype not in defined:
            raise FlexilimsError(type_not_defined_message(datatype, defined))


@click.command("tree")
@click.argument("project_argument", metavar="[PROJECT]", required=False)
@project_option()
@click.option("--root", help="Start from this entity (a name or an id).")
@click.option(
    "--depth", type=click.IntRange(min=0), help="Levels shown below the top ones."
)
@click.option(
    "--type",
    "-t",
    "types",
    multiple=True,
    help="Show only this type (repeat for several).",
)
@output_options
def tree_command(project_argument, project, root, depth, types, fmt):
    """Print the hierarchy of a project (PROJECT: the same as --project).

    Entities whose children the depth hides say how many are below them.
    """
    session = open_session(chosen_project(project or project_argument))
    top = None if root is None else find_one(session, root)
    entities = subtree(session, top)
    types = list(types) or None
    _check_types(session, types, entities)
    if fmt == "table":
        text = format_tree(entities, depth, types)
        click.echo(text if text else "Nothing to show.", err=not text)
        return
    emit_rows(tree_table_rows(entities, depth, types), TREE_COLUMNS, fmt)


@click.group("settings")
def settings_group():
    """The lab settings: datatypes, their parents and their attributes."""


@settings_group.command("show")
@click.argument("datatype", metavar="[TYPE]", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def settings_show(datatype, as_json):
    """Print the lab settings as YAML (only those of TYPE, if given).

    Any user can read them, on the embedded database or a server. Changing
    them is for an admin: `flexilims settings load FILE`.
    """
    import yaml

    settings = open_session(None).lab_settings()
    if datatype is not None:
        defined = list(settings["datatypes"])
        if datatype not in defined:
            raise FlexilimsError(type_not_defined_message(datatype, defined))
        settings = {"datatypes": {datatype: settings["datatypes"][datatype]}}
    if as_json:
        click.echo(json.dumps(settings, indent=2, ensure_ascii=False))
    else:
        click.echo(yaml.safe_dump(settings, sort_keys=False), nl=False)


COMMANDS = (ls_command, find_command, show_command, tree_command, settings_group)
