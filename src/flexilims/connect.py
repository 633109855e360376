"""Opening a session: on a database in this process, or on a server over HTTP.

:func:`open_session` is the one way in for code above flexilims (flexiznam's
included): it takes a database URL or a server URL and a project name or id,
and returns a :class:`~flexilims.session.Session` whose methods are the same
either way. The store (SQLAlchemy) is loaded for databases only, the HTTP
client (requests) for servers only.
"""

from functools import lru_cache
from typing import TYPE_CHECKING

from .errors import Forbidden, ProjectNotFound
from .session import Session
from .settings import check_database_url, default_database_url
from .writes import is_hex_id

if TYPE_CHECKING:
    from .client import Flexilims
    from .local import LocalSession
    from .store import Store

#: The project a new embedded database starts with, so that a new user can
#: try everything at once.
DEMO_PROJECT = "demo"

#: URL schemes of servers; anything else is a database URL.
SERVER_SCHEMES = ("http://", "https://")


def is_server_url(url: str) -> bool:
    """Whether ``url`` names a server (HTTP) rather than a database."""
    return url.lower().startswith(SERVER_SCHEMES)


@lru_cache(maxsize=8)
def open_store(database_url: str) -> "Store":
    """The store at ``database_url``, opened once per process.

    A database without projects gets a ``demo`` project.

    Raises
    ------
    SettingError
        ``database_url`` is a path or a relative SQLite URL (the message
        gives the URL to use), or not a database URL at all.
    """
    from .store import Store
    from .store.accounts import Accounts

    check_database_url(database_url)
    store = Store.open(database_url)
    accounts = Accounts(store)
    if not accounts.projects():
        accounts.create_project(DEMO_PROJECT)
    return store


def open_session(
    url: str | None = None,
    project: str | None = None,
    *,
    username: str | None = None,
    password: str | None = None,
    token: str | None = None,
    timeout: float = 60,
) -> Session:
    """A session on a database or a server.

    Parameters
    ----------
    url : str, optional
        A database URL (``sqlite:////path.db``, ``postgresql://...``: a session
        in this process) or a server's base URL (``http(s)://.../api/``: the
        HTTP client). Default: the settings' database.
    project : str, optional
        The default project of the session: its name or 24-hex id.
    username : str, optional
        Who the requests are made as. On a database, a user of that name
        brings their memberships; another name sees every project.
    password, token : str, optional
        For a server: a token from an earlier login, and the password to get
        a new one when there is none or it has expired.
    timeout : float
        Seconds to wait for a server's reply.

    Raises
    ------
    ProjectNotFound
        No project of that name or id that the user can see.
    Forbidden
        The project exists but the user is not a member (on a database).
    AuthenticationFailed, ServerUnreachable
        From a server.
    SettingError
        ``url`` is neither a server URL nor a database URL that can be used
        as it is (a path, a relative SQLite URL): the message gives the URL
        to use.
    """
    url = url or default_database_url()
    if is_server_url(url):
        from .client import Flexilims

        client = Flexilims(
            username, password, base_url=url, token=token, timeout=timeout
        )
        if project is not None:
            client.project_id = _project_on_server(client, project)
        return client
    from .local import LocalSession

    session = LocalSession(open_store(url), username=username)
    if project is not None:
        session.project_id = _project_in_database(session, project)
    return session


def _project_in_database(session: "LocalSession", project: str) -> str:
    from .store.accounts import Accounts

    accounts = Accounts(session.store)
    try:
        found = accounts.project(project)
    except ProjectNotFound:
        raise ProjectNotFound(
            f"No project named '{project}' in {session.store.engine.url}: create "
            f"it with `flexilims project create {project}`.",
            project=project,
        ) from None
    if not session.actor.can_access(found.id):
        raise Forbidden(
            f"user {session.username} is not a member of project {found.name}: "
            f"an admin adds you with `flexilims project add-member {found.name} "
            f"{session.username}`."
        )
    return found.id


def _project_on_server(client: "Flexilims", project: str) -> str:
    projects = client.get_project_info()
    for info in projects:
        if project in (info.get("id"), info.get("uuid"), info.get("name")):
            return info.get("id") or info["uuid"]
    if is_hex_id(project):
        return project
    visible = ", ".join(sorted(str(info.get("name")) for info in projects))
    raise ProjectNotFound(
        f"No project named '{project}' on {client.base_url} for "
        f"{client.username} (projects you can see: {visible or 'none'}): ask an "
        "admin to add you to it.",
        project=project,
    )
