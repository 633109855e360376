"""``python -m flexilims.cli``: the ``flexilims`` command."""

from . import cli

cli()
