"""Opening a flexilims session from the configuration.

With ``flexilims_url`` in the config (and ``offline_mode`` off), the session
is the HTTP client of that server (:mod:`flexiznam.remote` finds the password
and reuses the day's token); otherwise it is the in-process session on the
embedded database of ``database_url`` (a SQLite file in the flexiznam folder
by default), which is created on first use with a ``demo`` project. Opening
either is flexilims' job (:func:`flexilims.open_session`).
"""

import flexilims
from flexilims.errors import FlexilimsError as StoreError
from flexilims.errors import Forbidden, ProjectNotFound

from .config import check_database_setting, config_file, current_config, load_config
from .errors import ConfigurationError, from_store


def project_from_config(project_id, config: dict) -> str | None:
    """A project name as its id when the config's ``project_ids`` lists it."""
    if project_id is None:
        return None
    return (config.get("project_ids") or {}).get(project_id, project_id)


def lookup_project(project_id, prm=None):
    """The name of a project from its hexadecimal id, using the config's list.

    Lab code keeps ids in its records; this names them without a request.

    Parameters
    ----------
    project_id : str
        hexadecimal id of the project.
    prm : dict, optional
        settings whose ``project_ids`` maps names to ids (default: the loaded
        config, :func:`flexiznam.config.load_config`).

    Returns
    -------
    str or None
        the name, or None if the settings do not list that id.
    """
    if prm is None:
        prm = current_config()
    for name, hex_id in (prm.get("project_ids") or {}).items():
        if hex_id == project_id:
            return name
    return None


def get_flexilims_session(
    project_id,
    username=None,
    password=None,
    reuse_token=True,
    timeout=10,
    offline_mode=None,
):
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
    reuse_token : bool
        On a server: reuse the day's token shared by this user's processes
        (default). False logs in anew and leaves the shared token alone.
    timeout : float
        On a server: seconds to wait for the lock of the token file while
        another process logs in.
    offline_mode : bool, optional
        True opens a session on the embedded database (``database_url``) even
        when ``flexilims_url`` is set; default: the config's ``offline_mode``.

    Returns
    -------
    flexilims.Session
        the HTTP client of ``flexilims_url``, or the in-process session on the
        embedded database.

    Raises
    ------
    ConfigurationError
        If the project does not exist or the user is not one of its members,
        or the server refused the password.
    FlexilimsError
        If the server cannot be reached, or the token file stayed locked for
        ``timeout`` seconds.
    """
    config = load_config()
    if offline_mode is None:
        offline_mode = config.get("offline_mode") or False
    if not isinstance(offline_mode, bool):
        raise ConfigurationError(
            f"offline_mode must be true or false, not {offline_mode!r}"
        )
    username = username or config["flexilims_username"]
    project = project_from_config(project_id, config)
    remote = bool(config.get("flexilims_url")) and not offline_mode
    try:
        if remote:
            from .remote import remote_session

            return remote_session(
                config,
                project,
                username,
                password,
                reuse_token=reuse_token,
                timeout=timeout,
            )
        if config.get("flexilims_url"):  # checked when used, see check_config
            check_database_setting(config, config_file())
        return flexilims.open_session(
            config["database_url"], project, username=username
        )
    except (ProjectNotFound, Forbidden) as error:
        if not remote:
            raise ConfigurationError(error.detail) from error
        raise ConfigurationError(
            f"{username} cannot use a project named '{project_id}' on "
            f"{config['flexilims_url']}: it does not exist, or {username} is not "
            "one of its members. An admin of the server adds you with "
            f"`flexilims project add-member {project_id} {username}`."
        ) from error
    except StoreError as error:
        raise from_store(error) from error
