"""``flexilims history`` and ``flexilims revert``: every version of an entity
or a project, and going back to one (as a new version: history only grows)."""

import click

from ..errors import BadRequest
from ..protocol import version_rows
from .common import database_option, open_store
from .terminal import (
    PROJECT_VERSION_COLUMNS,
    VERSION_COLUMNS,
    changes_text,
    emit_history,
    output_options,
    paging_options,
)


@click.command("history")
@click.argument("entity_id", metavar="[ID]", required=False)
@click.option("--project", "project_name", help="Every entity of a project instead.")
@paging_options
@output_options
@database_option
def history_command(entity_id, project_name, limit, before, fmt, database):
    """Versions of entity ID (or of a project), newest first: who, when, what.

    `flexilims revert ID VERSION` makes the entity as it was after a version.
    """
    from ..store.accounts import Accounts
    from ..store.writing.trash import ADMIN

    if (entity_id is None) == (project_name is None):
        raise BadRequest("Give the id of an entity, or --project (not both).")
    store = open_store(database)
    project_id = Accounts(store).project(project_name).id if project_name else None
    versions = store.history(
        ADMIN, entity_id=entity_id, project_id=project_id, before=before, limit=limit
    )
    columns = PROJECT_VERSION_COLUMNS if project_name else VERSION_COLUMNS
    what = f"entity {entity_id}" if entity_id else f"project {project_name}"
    emit_history(version_rows(versions), columns, fmt, empty=f"No versions of {what}.")
    if fmt == "table" and len(versions) == limit:
        click.echo(f"More with --before {versions[-1]['version']}.", err=True)


@click.command("revert")
@click.argument("entity_id", metavar="ID")
@click.argument("version", type=int)
@database_option
def revert_command(entity_id, version, database):
    """Make entity ID as it was after VERSION (see `flexilims history ID`).

    The entity's name, parent and attributes become those of that version;
    the revert is a version of its own, so it can be reverted too.
    """
    from ..store.writing.trash import ADMIN

    store = open_store(database)
    entity = store.revert(ADMIN, entity_id, version)
    latest = store.history(ADMIN, entity_id=entity_id, limit=1)[0]
    click.echo(
        f"Reverted {entity['type']} {entity['name']} to version {version}: "
        f"this is version {latest['version']}."
    )
    changed = changes_text(latest["action"], latest["changes"])
    click.echo(f"Changed: {changed}" if changed else "Nothing changed.")
