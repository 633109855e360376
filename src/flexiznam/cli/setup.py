"""``flexiznam config``, ``demo`` and ``add-password``: getting started."""

import click

from .. import config as config_module
from ..errors import ConfigurationError


@click.command("config")
@click.option(
    "--update", is_flag=True, help="Add new settings; change no existing one."
)
def config_command(update):
    """Write the default settings to the config file."""
    path, added = config_module.write_config(update=update)
    click.echo(f"Wrote {path}")
    if added:
        click.echo("Added: " + ", ".join(added))


@click.command()
@click.option("--project", default="demo", show_default=True, help="Project to fill.")
def demo(project):
    """Add a mouse with sessions, recordings, samples and datasets; print the tree.

    Uses the configured database (an embedded SQLite file by default).
    Running it again adds nothing new; a project that holds other data is
    refused.
    """
    from ..demo import run_demo

    click.echo(run_demo(project))


@click.command("add-password")
@click.option("--username", help="User on the server (default: flexilims_username).")
@click.password_option(help="The password (prompted when not given).")
def add_password(username, password):
    """Keep your server password in the system keyring (else an owner-only file)."""
    from ..remote import store_password

    settings = config_module.load_config()
    url = settings.get("flexilims_url")
    if not url:
        raise ConfigurationError(
            "No flexilims_url in the config: the embedded database needs no password."
        )
    if not url.endswith("/"):
        url += "/"
    where = store_password(url, username or settings["flexilims_username"], password)
    click.echo(f"Password stored in {where}.")


COMMANDS = (config_command, demo, add_password)
