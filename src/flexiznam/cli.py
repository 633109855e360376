"""The ``flexiznam`` command: a thin layer over the flexiznam library."""

import click

from . import config as config_module
from .errors import ConfigurationError, FlexilimsError, NameNotUniqueError

USER_ERRORS = (ConfigurationError, FlexilimsError, NameNotUniqueError, OSError)


class Group(click.Group):
    """Print the message of a user error and exit 1, without a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except USER_ERRORS as error:
            raise click.ClickException(str(error)) from error


@click.group(cls=Group)
def cli():
    """flexiznam: record mice, sessions, recordings, samples and datasets."""


@cli.command("config")
@click.option(
    "--update", is_flag=True, help="Add new settings; change no existing one."
)
def config_command(update):
    """Write the default settings to the config file."""
    path, added = config_module.write_config(update=update)
    click.echo(f"Wrote {path}")
    if added:
        click.echo("Added: " + ", ".join(added))


@cli.command()
@click.option("--project", default="demo", show_default=True, help="Project to fill.")
def demo(project):
    """Add a mouse with sessions, recordings, samples and datasets; print the tree.

    Uses the configured database (an embedded SQLite file by default).
    Running it again adds nothing new.
    """
    from .demo import run_demo

    click.echo(run_demo(project))


@cli.command()
@click.argument("project")
@click.option("--root", help="Name of the entity to start from (default: all).")
def tree(project, root):
    """Print the hierarchy of PROJECT."""
    from .main import get_flexilims_session
    from .tree import project_tree

    click.echo(project_tree(get_flexilims_session(project), root))


@cli.command("add-password")
@click.option("--username", help="User on the server (default: flexilims_username).")
@click.password_option(help="The password (prompted when not given).")
def add_password(username, password):
    """Keep your server password in the system keyring (else an owner-only file)."""
    from .remote import store_password

    settings = config_module.load_config()
    url = settings.get("flexilims_url")
    if not url:
        raise click.ClickException(
            "No flexilims_url in the config: the embedded database needs no password."
        )
    where = store_password(url, username or settings["flexilims_username"], password)
    click.echo(f"Password stored in {where}.")


def _register_camp() -> None:
    """create-yaml, check-yaml, upload, check-paths, check-names."""
    from .camp.cli import register

    register(cli)


_register_camp()
