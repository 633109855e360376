"""The ``flexilims`` group and its commands, one module per group of
commands (see :mod:`flexilims.cli`)."""

import click

from .admin import project, settings, token, user
from .common import Group
from .history import history_command, revert_command
from .maintenance import backup_command, check_command, restore_command
from .serve import serve
from .transfer import export_command, import_command
from .trash import trash_group


@click.group(cls=Group)
@click.version_option(package_name="flexiznam")
def cli():
    """Serve and administer a flexilims database."""


for command in (
    serve,
    user,
    token,
    project,
    settings,
    trash_group,
    history_command,
    revert_command,
    import_command,
    export_command,
    check_command,
    backup_command,
    restore_command,
):
    cli.add_command(command)
