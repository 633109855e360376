"""Opening a flexilims session from the configuration.

With ``flexilims_url`` in the config, the session is the HTTP client of that
server; otherwise it is the in-process session on the embedded database of
``database_url`` (a SQLite file in the flexiznam folder by default), which is
created on first use with a ``demo`` project.
"""

from functools import lru_cache

from flexilims import LocalSession, Store
from flexilims.errors import BadRequest
from flexilims.store.accounts import Accounts
from flexilims.writes import is_hex_id

from .config import load_config
from .errors import ConfigurationError

DEMO_PROJECT = "demo"


@lru_cache(maxsize=8)
def open_store(database_url: str) -> Store:
    """The embedded store at ``database_url``, opened once per process.

    A database without projects gets a ``demo`` project, so that a new user
    can start at once.
    """
    store = Store.open(database_url)
    accounts = Accounts(store)
    if not accounts.projects():
        accounts.create_project(DEMO_PROJECT)
    return store


def _project_from_config(project_id, config: dict) -> str | None:
    if project_id is None:
        return None
    ids = config.get("project_ids") or {}
    if project_id in ids:
        return ids[project_id]
    return project_id


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
    if config.get("flexilims_url"):
        from .remote import remote_session

        return remote_session(config, project_id, username, password)
    store = open_store(config["database_url"])
    project_hex = _project_from_config(project_id, config)
    if project_hex is not None and not is_hex_id(project_hex):
        try:
            project_hex = Accounts(store).project(project_hex).id
        except BadRequest as error:
            raise ConfigurationError(
                f"No project named '{project_id}' in {config['database_url']}. "
                f"Create it with `flexilims project create {project_id} --database "
                f"{config['database_url']}`."
            ) from error
    return LocalSession(store, project_id=project_hex, username=username)
