"""Commands of ``flexiznam`` for acquisition YAML files and project checks.

``create-yaml``, ``check-yaml``, ``upload``, ``check-paths`` and
``check-names``; :func:`register` adds them to the ``flexiznam`` group.
The checks exit with status 1 when they find problems.
"""

import click

from ..errors import SyncYmlError
from .acquisition_yaml import CONFLICT_MODES

CONFLICTS = click.Choice(CONFLICT_MODES)


def _fail(message: str) -> None:
    click.echo(message, err=True)
    raise SystemExit(1)


@click.command("create-yaml")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option("--project", "-p", required=True, help="Name of the project.")
@click.option(
    "--origin", required=True, help="Existing mouse (or sample) the data is from."
)
@click.option("--origin-type", help="Type of the origin, if its name is ambiguous.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    help="File to write (default: print the YAML).",
)
def create_yaml_command(folder, project, origin, origin_type, output):
    """Describe the acquisition FOLDER (a session folder) as an acquisition YAML.

    Sessions (S20210420), recordings (R152356_protocol) and samples come from
    folder names, datasets from the files. Check the result with check-yaml,
    edit it if needed, then upload it.
    """
    from .acquisition_yaml import count, dump, write
    from .create import create_yaml

    try:
        data = create_yaml(folder, project, origin, origin_type=origin_type)
    except SyncYmlError as error:
        _fail(str(error))
    if output is None:
        click.echo(dump(data), nl=False)
        return
    write(data, output)
    click.echo(f"Wrote {output}: {count(data)} entities below {origin}.")


@click.command("check-yaml")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--conflicts",
    type=CONFLICTS,
    default="abort",
    show_default=True,
    help="Conflicts mode of the planned upload (abort: existing names are problems).",
)
@click.option("--offline", is_flag=True, help="Do not check against the database.")
@click.option("--strict", is_flag=True, help="Refuse attributes the lab settings lack.")
def check_yaml_command(file, conflicts, offline, strict):
    """Report every problem of the acquisition YAML FILE, with its line."""
    from .acquisition_yaml import count, load
    from .check import check_yaml

    try:
        source = load(file)
        check_yaml(
            source, conflicts=conflicts, online=not offline, strict_validation=strict
        )
    except SyncYmlError as error:
        _fail(str(error))
    where = "" if offline else " and the database"
    click.echo(f"{file}: no problem found{where}; {count(source.data)} entities.")


@click.command("upload")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--conflicts",
    type=CONFLICTS,
    default="abort",
    show_default=True,
    help="When a name is taken: abort (write nothing), skip, update (set the "
    "file's attributes) or overwrite (attributes not in the file become null).",
)
@click.option("--strict", is_flag=True, help="Refuse attributes the lab settings lack.")
@click.option("--quiet", "-q", is_flag=True, help="Print the counts only.")
def upload_command(file, conflicts, strict, quiet):
    """Create the entities of the acquisition YAML FILE, all or nothing."""
    from .upload_yaml import upload

    try:
        report = upload(file, conflicts=conflicts, strict_validation=strict)
    except SyncYmlError as error:
        _fail(str(error))
    click.echo(report.summary() if quiet else str(report))


@click.command("check-paths")
@click.option("--project", "-p", required=True, help="Name of the project.")
def check_paths_command(project):
    """List datasets whose files are missing and folders no entity points to."""
    from .audit import check_paths

    result = check_paths(project)
    for item in result["missing"]:
        click.echo(f"missing      {item['name']}: {item['reason']}")
    for folder in result["unreferenced"]:
        click.echo(f"unreferenced {folder}")
    total = len(result["missing"]) + len(result["unreferenced"])
    if total:
        _fail(
            f"{len(result['missing'])} dataset(s) with missing data, "
            f"{len(result['unreferenced'])} folder(s) no entity points to."
        )
    click.echo(f"{project}: every dataset has its data and every folder an entity.")


@click.command("check-names")
@click.option("--project", "-p", required=True, help="Name of the project.")
def check_names_command(project):
    """List entities whose names break the genealogy convention."""
    from .audit import check_names

    problems = check_names(project)
    for item in problems:
        click.echo(f"{item['type']:10} {item['name']}: {item['problem']}")
    if problems:
        count = len({item["id"] for item in problems})
        _fail(f"{count} entit{'y' if count == 1 else 'ies'} to fix.")
    click.echo(f"{project}: every name follows the genealogy convention.")


COMMANDS = (
    create_yaml_command,
    check_yaml_command,
    upload_command,
    check_paths_command,
    check_names_command,
)


def register(group: click.Group) -> None:
    """Add the commands of this module to a click group (``flexiznam``)."""
    for command in COMMANDS:
        group.add_command(command)
