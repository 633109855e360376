"""``flexilims trash``: deleted entities, kept until restored or purged."""

import click

from ..store import now_ms, trash
from ..store.accounts import Accounts
from .common import database_option, open_store


@click.group("trash")
def trash_group():
    """Deleted entities, kept until restored or purged."""


@trash_group.command("list")
@click.option("--project", "project_name", help="Only this project (name or id).")
@database_option
def trash_list(project_name, database):
    """List deleted batches, newest first."""
    store = open_store(database)
    projects = {p.id: p.name for p in Accounts(store).projects()}
    project_id = Accounts(store).project(project_name).id if project_name else None
    for batch in trash.batches(store, project_id):
        click.echo(
            "\t".join(
                [
                    batch["batch"],
                    trash.format_time(batch["deleted_at"]),
                    batch["deleted_by"],
                    projects.get(batch["project"], batch["project"]),
                    f"{batch['root']} ({batch['count']} entities)",
                ]
            )
        )


@trash_group.command("restore")
@click.argument("batch")
@database_option
def trash_restore(batch, database):
    """Put a deleted batch back as it was."""
    result = trash.restore(open_store(database), batch)
    message = f"Restored {result['restored']} entities."
    if result["links_dropped"]:
        message += f" {result['links_dropped']} links to entities gone since dropped."
    click.echo(message)


@trash_group.command("purge")
@click.argument("batch", required=False)
@click.option(
    "--older-than", type=click.FloatRange(min=0), help="Purge batches older than DAYS."
)
@database_option
def trash_purge(batch, older_than, database):
    """Delete a batch (or every batch older than --older-than days) for good."""
    before = None
    if older_than is not None:
        before = now_ms() - int(older_than * 24 * 3600 * 1000)
    count = trash.purge(open_store(database), batch, before)
    click.echo(f"Purged {count} entities.")
