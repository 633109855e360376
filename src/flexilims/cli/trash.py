"""``flexilims trash``: deleted entities, kept until restored or purged."""

import click

from ..errors import BadRequest
from .common import database_option, open_store
from .terminal import (
    TRASH_COLUMNS,
    confirm,
    emit_rows,
    output_options,
    plural,
    trash_rows,
)


@click.group("trash")
def trash_group():
    """Deleted entities, kept until restored or purged."""


@trash_group.command("list")
@click.option("--project", "project_name", help="Only this project (name or id).")
@output_options
@database_option
def trash_list(project_name, fmt, database):
    """List deleted batches, newest first."""
    from ..store.accounts import Accounts
    from ..store.writing import trash

    store = open_store(database)
    projects = {p.id: p.name for p in Accounts(store).projects()}
    project_id = Accounts(store).project(project_name).id if project_name else None
    rows = trash_rows(trash.batches(store, project_id), projects)
    emit_rows(rows, TRASH_COLUMNS, fmt, empty="The trash is empty.")


@trash_group.command("restore")
@click.argument("batch")
@database_option
def trash_restore(batch, database):
    """Put a deleted batch back as it was."""
    from ..store.writing import trash

    result = trash.restore(open_store(database), batch)
    message = f"Restored {plural(result['restored'], 'entity')}."
    if result["links_dropped"]:
        message += f" {result['links_dropped']} links to entities gone since dropped."
    click.echo(message)


@trash_group.command("purge")
@click.argument("batch", required=False)
@click.option(
    "--older-than", type=click.FloatRange(min=0), help="Purge batches older than DAYS."
)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@database_option
def trash_purge(batch, older_than, yes, database):
    """Delete a batch (or every batch older than --older-than days) for good.

    Says how many entities that is and asks first (--yes does not ask).
    """
    from ..store import now_ms
    from ..store.writing import trash

    if batch is None and older_than is None:
        raise BadRequest(
            "Say which batch to purge, or purge batches older than a date "
            "(--older-than DAYS)."
        )
    store = open_store(database)
    before = None
    if older_than is not None:
        before = now_ms() - int(older_than * 24 * 3600 * 1000)
    chosen = [
        found
        for found in trash.batches(store)
        if (batch is None or found["batch"] == batch)
        and (before is None or found["deleted_at"] < before)
    ]
    if batch is not None and not chosen:
        raise BadRequest(f"No batch {batch} in the trash.")
    count = sum(found["count"] for found in chosen)
    if not count:
        click.echo("Nothing to purge.")
        return
    confirm(
        f"Delete {plural(count, 'entity')} ({plural(len(chosen), 'batch')}) for "
        "good? They cannot be restored afterwards.",
        yes,
        nothing="Nothing was purged.",
    )
    purged = trash.purge(store, batch, before)
    click.echo(f"Purged {plural(purged, 'entity')}.")
