"""What every ``flexilims`` command shares: the database option, opening the
store, and turning store errors into a message and exit status 1."""

import click
import sqlalchemy as sa

from .. import settings as settings_module
from ..errors import FlexilimsError
from ..store import Store
from ..store.accounts import Accounts


class Group(click.Group):
    """A group whose commands print store errors as a message (exit status 1)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except FlexilimsError as error:
            raise click.ClickException(error.detail) from None
        except settings_module.SettingError as error:
            raise click.ClickException(str(error)) from None
        except sa.exc.OperationalError as error:
            raise click.ClickException(
                f"cannot use the database: {error.orig or error}"
            ) from None


database_option = click.option(
    "--database",
    envvar=settings_module.env_name("database_url"),
    default=lambda: settings_module.default_database_url(),
    help=settings_module.Settings.help("database_url"),
)


def open_store(database: str) -> Store:
    """Open the database; its connections close when the command ends."""
    store = Store.open(database)
    context = click.get_current_context(silent=True)
    if context is not None:
        context.call_on_close(store.engine.dispose)
    return store


def open_accounts(database: str) -> Accounts:
    return Accounts(open_store(database))


def shown(url: str) -> str:
    """A database URL with its password hidden."""
    return sa.engine.make_url(url).render_as_string(hide_password=True)
