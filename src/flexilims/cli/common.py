"""What every ``flexilims`` command shares: the database option, opening the
store, and turning store errors into a message and exit status 1.

The store, SQLAlchemy and pandas are imported by the commands that use them,
so that ``--help`` and the commands that need neither start at once.
"""

from typing import TYPE_CHECKING

import click

from .. import settings as settings_module
from ..errors import FlexilimsError
from .terminal import FriendlyGroup

if TYPE_CHECKING:
    from ..store import Store
    from ..store.accounts import Accounts


class Group(FriendlyGroup):
    """A group whose commands print store errors as a message (exit status 1)."""

    def user_message(self, error: Exception) -> str | None:
        if isinstance(error, FlexilimsError):
            return error.detail
        if isinstance(error, settings_module.SettingError):
            return str(error)
        import sqlalchemy as sa

        if isinstance(error, sa.exc.OperationalError):
            return f"cannot use the database: {error.orig or error}"
        return None


database_option = click.option(
    "--database",
    envvar=settings_module.env_name("database_url"),
    default=lambda: settings_module.default_database_url(),
    help=settings_module.Settings.help("database_url"),
)


#: flexilims commands that a member does with a flexiznam command of the same
#: name, through the server's URL and their own rights.
MEMBER_TWINS = frozenset(
    {"settings show", "trash list", "trash restore", "export", "history", "revert"}
)


def _member_twin() -> str:
    """`` (here: flexiznam COMMAND)`` for a command that has a twin."""
    context = click.get_current_context(silent=True)
    if context is None:
        return ""
    command = " ".join(context.command_path.split()[1:])
    return f" (here: `flexiznam {command}`)" if command in MEMBER_TWINS else ""


def open_store(database: str) -> "Store":
    """Open the database; its connections close when the command ends.

    Raises
    ------
    SettingError
        ``database`` is a server's URL, a path or a relative SQLite URL.
    """
    if database.lower().startswith(("http://", "https://")):
        raise settings_module.SettingError(
            f"{database} is a server's URL: flexilims commands work on the "
            f"database itself ({settings_module.DATABASE_URL_FORMS}); members "
            f"of a server use the flexiznam commands{_member_twin()}."
        )
    settings_module.check_database_url(database)
    from ..store import Store

    store = Store.open(database)
    context = click.get_current_context(silent=True)
    if context is not None:
        context.call_on_close(store.engine.dispose)
    return store


def open_accounts(database: str) -> "Accounts":
    from ..store.accounts import Accounts

    return Accounts(open_store(database))


def shown(url: str) -> str:
    """A database URL with its password hidden."""
    import sqlalchemy as sa

    return sa.engine.make_url(url).render_as_string(hide_password=True)
