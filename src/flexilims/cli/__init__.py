"""``flexilims``: run the server and administer its database.

A thin layer over the store (:mod:`flexilims.store`): the rules live there.
Every command takes ``--database URL`` (default: ``$FLEXILIMS_DATABASE_URL``,
else the SQLite file ``flexilims.db`` of the flexiznam folder); errors print
their message and exit with 1. One module per group of commands.
"""

import click

from .admin import project, settings, token, user
from .common import Group
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
    import_command,
    export_command,
    check_command,
    backup_command,
    restore_command,
):
    cli.add_command(command)
