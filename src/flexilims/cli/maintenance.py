"""``flexilims check``, ``backup`` and ``restore``: keep a database sound and safe."""

import click

from .common import database_option, open_store, shown

#: Problems listed per kind (the count is always complete).
SHOWN_PER_KIND = 20


@click.command("check")
@click.option(
    "--fix",
    is_flag=True,
    help="Repair what can be repaired mechanically (index rows, counters), "
    "in one transaction.",
)
@click.option(
    "--data-root",
    "data_roots",
    multiple=True,
    type=click.Path(file_okay=False),
    help="A folder dataset paths are relative to (repeat for several); "
    "without it, paths on disk are not checked.",
)
@database_option
def check_command(fix, data_roots, database):
    """Check the database's integrity; exit 1 if anything is wrong.

    Looks for orphans, loops of origins, attribute index rows that disagree
    with the attributes, counters behind the highest incremental id, names
    that break the genealogy convention, attribute values the lab settings
    refuse and, with --data-root, dataset paths missing on disk.
    """
    from ..store.check import KINDS, check

    report = check(open_store(database), data_roots=data_roots, fix=fix)
    click.echo(f"Checked {report.entities} entities of {shown(database)}.")
    for kind, (meaning, fixable) in KINDS.items():
        found = report.problems[kind]
        status = "ok" if not found else f"{len(found)} ({meaning})"
        click.echo(f"{kind}: {status}")
        for problem in found[:SHOWN_PER_KIND]:
            click.echo(f"  {problem.subject}: {problem.message}")
        if len(found) > SHOWN_PER_KIND:
            click.echo(f"  ... and {len(found) - SHOWN_PER_KIND} more")
        if not found:
            continue
        if report.fixed.get(kind):
            click.echo(f"  fixed: {report.fixed[kind]}")
        elif fixable:
            click.echo("  repairable: run `flexilims check --fix`")
        else:
            click.echo("  needs a person: no mechanical repair is safe")
    for skipped in report.skipped:
        click.echo(f"skipped {skipped}")
    if not report.ok:
        raise SystemExit(1)


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False))
@database_option
def backup_command(file, database):
    """Write a backup of the whole database to FILE (the server may run).

    Users, memberships, lab settings, projects, entities, links, history,
    trash and counters; tokens are left out. SQLite: a SQLite file (online
    backup API); PostgreSQL: a pg_dump archive (needs pg_dump). FILE is
    readable by its owner only.
    """
    from ..store.files import backup as backup_module

    written = backup_module.backup(database, file)
    click.echo(f"Backed up {shown(database)} to {written}.")


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--force", is_flag=True, help="Replace a database that holds data already."
)
@database_option
def restore_command(file, force, database):
    """Replace the database with the backup in FILE.

    Refused when the database holds data, unless --force. Stop the servers
    of the database first: their tokens are gone after a restore.
    """
    from ..store.files import backup as backup_module

    backup_module.restore(database, file, force=force)
    click.echo(f"Restored {file} into {shown(database)}.")
