"""``flexiznam rm``, ``history``, ``revert``, ``trash`` and ``export``:
change the database, and undo.

Through the session of the user's config, with the user's own rights: a
member of a server can do all of this with only its URL.
"""

from collections import Counter

import click
import orjson

from flexilims.cli.terminal import (
    PROJECT_VERSION_COLUMNS,
    TRASH_COLUMNS,
    VERSION_COLUMNS,
    changes_text,
    confirm,
    counts_text,
    emit_history,
    emit_rows,
    output_options,
    paging_options,
    plural,
    trash_rows,
)
from flexilims.errors import FlexilimsError as StoreError
from flexilims.protocol import version_rows

from ..api.history import history_versions
from ..api.history import revert as revert_entity
from ..api.queries import descendants_in_one_request
from ..api.subtrees import delete_recursively
from ..errors import translated
from .common import (
    chosen_project,
    find_one,
    open_session,
    project_option,
    type_option,
)


@click.command("rm")
@click.argument("name")
@type_option()
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@project_option()
def rm_command(name, datatype, yes, project):
    """Move entity NAME (or id) and everything below it to the trash.

    Says what goes with it and asks first. `flexiznam trash restore` puts it
    back.
    """
    session = open_session(chosen_project(project))
    entity = find_one(session, name, datatype)
    below, _ = descendants_in_one_request(session, entity["id"])
    what = f"{entity['type']} {entity['name']}"
    if below:
        counts = counts_text(Counter(e["type"] for e in below))
        what += f" and the {plural(len(below), 'entity')} below it ({counts})"
    confirm(f"Move {what} to the trash?", yes, nothing="Nothing was deleted.")
    with translated(entity["type"]):
        delete_recursively(entity["id"], session, do_it=True)
    total = plural(len(below) + 1, "entity")
    batch = _batch_of(session, entity)
    if batch is None:
        click.echo(f"Deleted {total}.")
    else:
        click.echo(
            f"Moved {total} to the trash: `flexiznam trash restore {batch}` puts "
            "them back."
        )


def _batch_of(session, entity: dict) -> str | None:
    """The trash batch a deletion made (None on a server without a trash)."""
    try:
        batches = session.trash(project_id=entity["project"])
    except (StoreError, AttributeError):  # a Flexilims server: no trash
        return None
    root = f"{entity['type']} {entity['name']}"
    return next((b["batch"] for b in batches if b["root"] == root), None)


@click.command("history")
@click.argument("name", required=False)
@type_option()
@paging_options
@project_option()
@output_options
def history_command(name, datatype, limit, before, project, fmt):
    """Versions of entity NAME (or id; without NAME: of the whole project),
    newest first: when, who, what changed.

    The id of a deleted entity gives its history too. `flexiznam revert NAME
    VERSION` makes the entity as it was after a version.
    """
    session = open_session(chosen_project(project))
    entity_id = None
    if name is not None:
        entity_id = find_one(session, name, datatype, allow_gone=True)["id"]
    versions = history_versions(
        id=entity_id, flexilims_session=session, before=before, limit=limit
    )
    columns = VERSION_COLUMNS if entity_id is not None else PROJECT_VERSION_COLUMNS
    emit_history(version_rows(versions), columns, fmt, empty="No versions.")
    if fmt == "table" and len(versions) == limit:
        click.echo(f"More with --before {versions[-1]['version']}.", err=True)


@click.command("revert")
@click.argument("name")
@click.argument("version", type=int)
@type_option()
@project_option()
def revert_command(name, version, datatype, project):
    """Make entity NAME (or id) as it was after VERSION (`flexiznam history
    NAME` lists them).

    Its name, parent and attributes become those of that version. The revert
    is a version of its own: it can be reverted in turn.
    """
    session = open_session(chosen_project(project))
    found = find_one(session, name, datatype)
    entity = revert_entity(version=version, id=found["id"], flexilims_session=session)
    latest = session.history(id=entity["id"], limit=1)[0]
    click.echo(
        f"Reverted {entity['type']} {entity['name']} to version {version}: this "
        f"is version {latest['version']}."
    )
    changed = changes_text(latest["action"], latest["changes"])
    click.echo(f"Changed: {changed}" if changed else "Nothing changed.")


@click.group("trash")
def trash_group():
    """Deleted entities: list them, put them back."""


@trash_group.command("list")
@project_option(required=False)
@output_options
def trash_list(project, fmt):
    """Deleted batches of your projects, newest first."""
    session = open_session(project)
    with translated():
        batches = session.trash(project_id=session.project_id)
        names = {
            p.get("id") or p.get("uuid"): p["name"] for p in session.get_project_info()
        }
    rows = trash_rows(batches, names)
    emit_rows(rows, TRASH_COLUMNS, fmt, empty="The trash is empty.")


@trash_group.command("restore")
@click.argument("batch")
def trash_restore(batch):
    """Put a deleted BATCH back as it was (`flexiznam trash list`)."""
    session = open_session(None)
    with translated():
        result = session.restore(batch)
    message = f"Restored {plural(result['restored'], 'entity')}."
    if result["links_dropped"]:
        message += f" {result['links_dropped']} links to entities gone since dropped."
    click.echo(message)


@click.command("export")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@project_option()
def export_command(file, project):
    """Write a project as nested JSON (the Flexilims offline format) to FILE
    (`-`: standard output)."""
    project = chosen_project(project)
    session = open_session(project)
    with translated():
        data = session.export(project_id=session.project_id)
    text = orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n"
    if file == "-":
        click.get_binary_stream("stdout").write(text)
    else:
        with open(file, "wb") as stream:
            stream.write(text)
    count, stack = 0, list(data.values())
    while stack:
        entity = stack.pop()
        count += 1
        stack.extend((entity.get("children") or {}).values())
    click.echo(
        f"Exported {plural(count, 'entity')} of project {project} to {file}.",
        err=file == "-",
    )


COMMANDS = (rm_command, history_command, revert_command, trash_group, export_command)
