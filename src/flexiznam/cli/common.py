"""What the ``flexiznam`` commands share: errors in flexiznam's words, the
project option, the session, and finding one entity by name.

Every command works through the session of the user's config (the embedded
database, or a server with the user's own rights), never on the store.
"""

import difflib

import click

from flexilims.cli.terminal import FriendlyGroup
from flexilims.errors import FlexilimsError as StoreError
from flexilims.settings import SettingError

from ..config import config_file, current_config
from ..errors import ConfigurationError, FlexilimsError, FlexiznamError, from_store


class Group(FriendlyGroup):
    """The ``flexiznam`` group: flexiznam's errors and the database's refusals
    as one message, exit status 1 (``--debug`` shows the traceback)."""

    def user_message(self, error: Exception) -> str | None:
        if isinstance(error, StoreError):
            return str(from_store(error))
        if isinstance(error, FlexiznamError | SettingError):
            return str(error)
        if isinstance(error, OSError):
            return str(error)
        return None


def project_option(required: bool = True):
    """``--project/-p``: the project's name (or id); default: the config's
    ``default_project``."""
    what = "" if required else " (default: every project you can write)"
    return click.option(
        "--project",
        "-p",
        help=f"Project name or id (default: default_project of the config){what}.",
    )


def chosen_project(project: str | None, required: bool = True) -> str | None:
    """The project of a command: given, or the config's ``default_project``.

    Raises
    ------
    ConfigurationError
        None given nor configured, for a command that needs one.
    """
    project = project or current_config().get("default_project")
    if project is None and required:
        raise ConfigurationError(
            "Which project? Give it with --project NAME, or set default_project "
            f"in {config_file()}."
        )
    return project


def open_session(project: str | None):
    """The session of the user's config on ``project``."""
    from ..sessions import get_flexilims_session

    return get_flexilims_session(project)


def type_option(help: str = "Type of the entity, if several types share its name."):
    return click.option("--type", "-t", "datatype", help=help)


def is_id(text: str) -> bool:
    """Whether ``text`` reads as an entity's 24-hex id."""
    return len(text) == 24 and all(c in "0123456789abcdef" for c in text)


def find_one(
    session, name: str, datatype: str | None = None, allow_gone: bool = False
) -> dict:
    """The one entity of that name (and type), or of that id.

    Parameters
    ----------
    name : str
        A name, or an id.
    allow_gone : bool
        An id that no entity has is returned as ``{"id": name}`` (for the
        history of deleted entities).

    Raises
    ------
    FlexilimsError
        No such entity (the message names the closest names), or several
        types share the name (it names them).
    """
    if is_id(name) and datatype is None:
        found = session.get(None, id=name)
        if found:
            return found[0]
        if allow_gone:
            return {"id": name}
    found = session.get(datatype, name=name)
    if len(found) == 1:
        return found[0]
    kind = datatype or "entity"
    if not found:
        names = [entity["name"] for entity in session.get(datatype)]
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
        hint = f" Close names: {', '.join(close)}." if close else ""
        raise FlexilimsError(
            f"No {kind} named {name} in the project.{hint} `flexiznam find TEXT` "
            "lists names containing a text."
        )
    types = ", ".join(sorted(entity["type"] for entity in found))
    raise FlexilimsError(
        f"Several entities are named {name} ({types}): choose one with --type."
    )
