"""Commands of ``flexiznam`` for acquisition YAML files and project checks.

``create-yaml``, ``check-yaml``, ``upload``, ``check-paths`` and
``check-names``; :func:`register` adds them to the ``flexiznam`` group.
The checks exit with status 1 when they find problems.
"""

from pathlib import Path

import click

from flexilims.cli.terminal import emit, emit_rows, output_options, table

from ..cli.common import chosen_project, project_option
from ..config import config_file
from ..errors import SyncYmlError
from .acquisition_yaml import CONFLICT_MODES

CONFLICTS = click.Choice(CONFLICT_MODES)

#: The columns of ``check-paths --json`` and ``--csv`` (with ``problem``).
PATH_COLUMNS = ["name", "id", "path", "reason"]


def _fail(message: str) -> None:
    click.echo(message, err=True)
    raise SystemExit(1)


@click.command("create-yaml")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@project_option()
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
@click.option("--force", is_flag=True, help="Overwrite the output file if it exists.")
def create_yaml_command(folder, project, origin, origin_type, output, force):
    """Describe the acquisition FOLDER (a session folder) as an acquisition YAML.

    Sessions (S20210420), recordings (R152356_protocol) and samples come from
    folder names, datasets from the files. The origin must exist in the
    project. Check the result with check-yaml, edit it if needed, then upload
    it.
    """
    from ..sessions import get_flexilims_session
    from .acquisition_yaml import count, dump, write
    from .create import create_yaml
    from .operations import find_origin

    project = chosen_project(project)
    if output is not None and Path(output).exists() and not force:
        _fail(
            f"{output} exists already (edited by hand?): give another file, or "
            "--force to overwrite it."
        )
    try:
        data = create_yaml(folder, project, origin, origin_type=origin_type)
        find_origin(get_flexilims_session(project), origin, origin_type)
    except SyncYmlError as error:
        message = str(error).removeprefix("origin: ")
        _fail(f"{message} (project {project}, --origin {origin})")
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
    checked = (
        "the file and its data, not the database"
        if offline
        else "the file, its data and the database"
    )
    click.echo(
        f"{file}: no problem found (checked {checked}); "
        f"{count(source.data)} entities to upload."
    )


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
@click.option("--verbose", "-v", is_flag=True, help="List every entity.")
@click.option("--progress/--no-progress", default=True, help="Show a progress bar.")
def upload_command(file, conflicts, strict, quiet, verbose, progress):
    """Create the entities of the acquisition YAML FILE, all or nothing.

    Ends with what was created, updated and skipped per type (--verbose
    lists every entity). Once the database has committed the upload, it is
    complete, even if interrupted afterwards.
    """
    from .upload_yaml import UploadReport, upload

    report = UploadReport()
    try:
        try:
            upload(
                file,
                conflicts=conflicts,
                strict_validation=strict,
                progress=progress,
                report=report,
            )
        except SyncYmlError as error:
            _fail(str(error))
        _print_report(file, report, quiet, verbose)
    except KeyboardInterrupt:
        if not report.committed:
            _fail(
                "Interrupted before the database confirmed the upload. It is all "
                f"or nothing: `flexiznam upload {file} --conflicts skip` completes "
                "it if it was written meanwhile."
            )
        click.echo(
            f"Interrupted after the upload was committed: everything in {file} "
            "was written.",
            err=True,
        )


def _print_report(file, report, quiet: bool, verbose: bool) -> None:
    counts = report.summary()
    if quiet:
        click.echo(counts)
        return
    if verbose:
        emit(report.entities(), "table", empty="Nothing to upload.")
    elif report.created or report.updated or report.skipped:
        click.echo(table(report.by_type()))
    click.echo(f"Uploaded {file}: {counts}.")


@click.command("check-paths")
@project_option()
@output_options
def check_paths_command(project, fmt):
    """List datasets whose files are missing and folders no entity points to."""
    from .audit import check_paths, missing_roots

    project = chosen_project(project)
    for which, root in missing_roots():
        message = (
            f"The {which} data root {root} does not exist: set data_root in the "
            f"config file ({config_file()}), or mount the data."
        )
        if which == "raw":
            _fail(message)
        click.echo(f"Warning: {message}", err=True)
    result = check_paths(project)
    if fmt == "table":
        for item in result["missing"]:
            click.echo(f"missing      {item['name']}: {item['reason']}")
        for folder in result["unreferenced"]:
            click.echo(f"unreferenced {folder}")
    else:
        rows = [
            {"problem": "missing", **{key: item.get(key) for key in PATH_COLUMNS}}
            for item in result["missing"]
        ]
        rows += [
            {"problem": "unreferenced", "path": str(folder)}
            for folder in result["unreferenced"]
        ]
        emit_rows(rows, ["problem", *PATH_COLUMNS], fmt)
    total = len(result["missing"]) + len(result["unreferenced"])
    if total:
        _fail(
            f"{len(result['missing'])} dataset(s) with missing data, "
            f"{len(result['unreferenced'])} folder(s) no entity points to."
        )
    click.echo(
        f"{project}: every dataset has its data and every folder an entity.",
        err=fmt != "table",
    )


@click.command("check-names")
@project_option()
@output_options
def check_names_command(project, fmt):
    """List entities whose names break the genealogy convention."""
    from .audit import check_names

    project = chosen_project(project)
    problems = check_names(project)
    if fmt == "table":
        for item in problems:
            click.echo(f"{item['type']:10} {item['name']}: {item['problem']}")
    else:
        emit_rows(problems, ["type", "name", "id", "problem"], fmt)
    if problems:
        count = len({item["id"] for item in problems})
        _fail(f"{count} entit{'y' if count == 1 else 'ies'} to fix.")
    click.echo(
        f"{project}: every name follows the genealogy convention.",
        err=fmt != "table",
    )


COMMANDS = (
    create_yaml_command,
    check_yaml_command,
    upload_command,
    check_paths_command,
    check_names_command,
)
