"""Opening a flexilims session from the configuration.

With ``flexilims_url`` in the config, the session is the HTTP client of that
server (:mod:`flexiznam.remote` finds the password and reuses the day's
token); otherwise it is the in-process session on the embedded database of
``database_url`` (a SQLite file in the flexiznam folder by default), which is
created on first use with a ``demo`` project. Opening either is flexilims' job
(:func:`flexilims.open_session`).
"""

import flexilims
from flexilims.errors import Forbidden, ProjectNotFound

from .config import load_config
from .errors import ConfigurationError


def project_from_config(project_id, config: dict) -> str | None:
    """A project name as its id when the config's ``project_ids`` lists it."""
    if project_id is None:
        return None
    return (config.get("project_ids") or {}).get(project_id, project_id)


def lookup_project(project_id, prm=None):
    """The name of a project from its hexadecimal id, using the config's list.

    Parameters
    ----------
    project_id : str
        hexadecimal id of the project.
    prm : dict, optional
        settings (default: :func:`flexiznam.config.load_config`).

    Returns
    -------
    str or None
        the name, or None if the config does not list that id.
    """
    prm = prm or load_config()
    for name, hex_id in (prm.get("project_ids") or {}).items():
        if hex_id == project_id:
            return name
    return None


def get_flexilims_session(project_id, username=None, password=None):
    """Open a new flexilims session.

    Parameters
    ----------
    project_id : str
        name of the project (converted to its hexadecimal id with the config
        file's ``project_ids`` or the database) or its hexadecimal id.
    username : str
        (optional) flexilims username. If not provided, it is read from the
        config file.
    password : str
        (optional) flexilims password for a server. If not provided, it is read
        from the system keyring or the secrets file, or failing that triggers
        an input prompt.

    Returns
    -------
    flexilims.Session
        the HTTP client of ``flexilims_url``, or the in-process session on the
        embedded database.
    """
    config = load_config()
    username = username or config["flexilims_username"]
    project = project_from_config(project_id, config)
    try:
        if config.get("flexilims_url"):
            from .remote import remote_session

            return remote_session(config, project, username, password)
        return flexilims.open_session(
            config["database_url"], project, username=username
        )
    except (ProjectNotFound, Forbidden) as error:
        raise ConfigurationError(error.detail) from error
