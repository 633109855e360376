"""The ``flexiznam`` command: a thin layer over the flexiznam library.

Everything goes through the session of the user's config (the embedded
database, or a server with the user's own rights). Ordinary mistakes print
one message and exit with status 1 (``--debug`` shows the traceback).
"""

import click

from ..camp.cli import COMMANDS as CAMP_COMMANDS
from .browse import COMMANDS as BROWSE_COMMANDS
from .changes import COMMANDS as CHANGE_COMMANDS
from .common import Group
from .setup import COMMANDS as SETUP_COMMANDS


@click.group(cls=Group)
@click.version_option(package_name="flexiznam")
def cli():
    """flexiznam: record mice, sessions, recordings, samples and datasets."""


for command in (
    *SETUP_COMMANDS,
    *BROWSE_COMMANDS,
    *CHANGE_COMMANDS,
    *CAMP_COMMANDS,
):
    cli.add_command(command)
