"""``flexilims import`` and ``flexilims export``: move a project as nested JSON.

Registered on the ``flexilims`` group by :mod:`flexilims.cli`, whose error
handling turns a refused import into its message and exit status 1. The work
is done by :mod:`flexilims.store.files.transfer`, which reads the file as it imports
and writes the export as it reads the database.
"""

import json
import os

import click

from .common import database_option, open_store


def _plural(count: int, word: str) -> str:
    if count == 1:
        return f"{count} {word}"
    return f"{count} {word[:-1]}ies" if word.endswith("y") else f"{count} {word}s"


@click.command("import")
@click.argument("file", type=click.File("rb"))
@click.option("--project", "project_name", required=True, help="Name or id.")
@click.option(
    "--create-project/--no-create-project",
    default=True,
    show_default=True,
    help="Create the project when there is none of that name.",
)
@click.option(
    "--created-by",
    help="createdBy of entities that have none (default: your login name).",
)
@click.option("--progress/--no-progress", default=True, help="Show a progress bar.")
@database_option
def import_command(file, project_name, create_project, created_by, progress, database):
    """Load a Flexilims project dump (nested JSON) into a project.

    FILE holds root entities keyed by name, each with its fields and a
    `children` object (the Flexilims offline format; `-` reads standard
    input). Ids, names, dates, createdBy and incremental ids are kept. The
    file is read as it is imported, in one transaction: a problem names the
    entity and writes nothing.
    """
    from ..store.files.transfer import import_project

    try:
        summary = import_project(
            open_store(database),
            file,
            project_name,
            progress=progress,
            create_project=create_project,
            created_by=created_by,
        )
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        name = getattr(file, "name", "-")
        raise click.ClickException(f"{name} is not valid JSON: {error}") from None
    created = " (created)" if summary["project_created"] else ""
    click.echo(
        f"Imported {_plural(summary['entities'], 'entity')} and "
        f"{_plural(summary['links'], 'link')} into project {summary['project']}"
        f"{created} with id {summary['project_id']}."
    )
    for datatype, count in sorted(summary["by_type"].items()):
        click.echo(f"  {datatype}\t{count}")
    if summary["defaults"]:
        filled = ", ".join(
            f"{key} of {_plural(count, 'entity')}"
            for key, count in sorted(summary["defaults"].items())
        )
        click.echo(f"Filled in missing {filled}.")
    if summary["nans"]:
        click.echo(
            f"Read {summary['nans']} NaN value{'s' if summary['nans'] != 1 else ''} "
            "(pandas' missing values) as null."
        )


@click.command("export")
@click.option("--project", "project_name", required=True, help="Name or id.")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, allow_dash=True))
@database_option
def export_command(project_name, file, database):
    """Write a project as nested JSON (the Flexilims offline format).

    `flexilims import` reads it back; `-` writes to standard output.
    """
    from ..store.files.dumpfile import write_roots
    from ..store.files.transfer import export_roots

    entities = 0

    def counted(roots):
        nonlocal entities
        for key, root in roots:
            stack = [root]
            while stack:
                entities += 1
                stack.extend(stack.pop()["children"].values())
            yield key, root

    roots = counted(export_roots(open_store(database), project_name))
    if file == "-":
        write_roots(click.get_binary_stream("stdout"), roots)
    else:
        partial = f"{file}.partial"
        try:
            with open(partial, "wb") as stream:
                write_roots(stream, roots)
            os.replace(partial, file)
        finally:
            if os.path.exists(partial):
                os.remove(partial)
    click.echo(
        f"Exported {_plural(entities, 'entity')} of project {project_name} to {file}.",
        err=file == "-",
    )
