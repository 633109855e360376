"""``flexilims``: run the server and administer its database.

A thin layer over the store (:mod:`flexilims.store`): the rules live there.
Every command takes ``--database URL`` (default: ``$FLEXILIMS_DATABASE_URL``,
else the SQLite file ``flexilims.db`` of the flexiznam folder); errors print
their message and exit with 1 (``--debug`` shows the traceback).

``cli`` (the group, in :mod:`flexilims.cli.commands`) is loaded when first
used, so that the ``flexiznam`` command can share :mod:`flexilims.cli.terminal`
without loading the store and the server.
"""

import importlib


def __getattr__(name: str):
    if name == "cli":
        return importlib.import_module(".commands", __name__).cli
    raise AttributeError(f"module 'flexilims.cli' has no attribute {name!r}")
