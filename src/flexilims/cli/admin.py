"""``flexilims user|token|project|settings``: who may do what, and the lab settings."""

import click
import yaml

from ..store import labsettings
from .common import database_option, open_accounts, open_store


@click.group()
def user():
    """Users: who can log in, and the full name written as createdBy."""


@user.command("add")
@click.argument("username")
@click.option("--full-name", help="Shown as createdBy (default: the username).")
@click.option("--admin", is_flag=True, help="Sees and writes every project.")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Prompted for when not given.",
)
@database_option
def user_add(username, full_name, admin, password, database):
    """Add a user."""
    open_accounts(database).add_user(username, password, full_name, is_admin=admin)
    click.echo(f"Added user {username}.")


@user.command("passwd")
@click.argument("username")
@click.option(
    "--password",
    prompt="New password",
    hide_input=True,
    confirmation_prompt=True,
    help="Prompted for when not given.",
)
@database_option
def user_passwd(username, password, database):
    """Change a user's password (their tokens are revoked)."""
    open_accounts(database).set_password(username, password)
    click.echo(f"Changed the password of {username}; their tokens are revoked.")


@user.command("remove")
@click.argument("username")
@database_option
def user_remove(username, database):
    """Remove a user (what they created stays)."""
    open_accounts(database).remove_user(username)
    click.echo(f"Removed user {username}.")


@user.command("list")
@database_option
def user_list(database):
    """List users with their projects."""
    for account in open_accounts(database).users():
        role = " (admin)" if account["is_admin"] else ""
        projects = ", ".join(account["projects"]) or "-"
        click.echo(f"{account['username']}\t{account['full_name']}{role}\t{projects}")


# ----------------------------------------------------------------- tokens


@click.group()
def token():
    """Tokens issued by the server."""


@token.command("revoke")
@click.argument("username")
@database_option
def token_revoke(username, database):
    """Revoke every token of a user."""
    count = open_accounts(database).revoke_tokens(username)
    click.echo(f"Revoked {count} token{'s' if count != 1 else ''} of {username}.")


# --------------------------------------------------------------- projects


@click.group()
def project():
    """Projects and who may use them."""


@project.command("create")
@click.argument("name")
@click.option("--id", "project_id", help="Keep this 24-hex id (e.g. from Flexilims).")
@database_option
def project_create(name, project_id, database):
    """Create a project."""
    created = open_accounts(database).create_project(name, project_id)
    click.echo(f"Created project {created.name} with id {created.id}.")


@project.command("list")
@database_option
def project_list(database):
    """List projects with their ids."""
    for found in open_accounts(database).projects():
        click.echo(f"{found.id}\t{found.name}")


@project.command("add-member")
@click.argument("project_name", metavar="PROJECT")
@click.argument("username")
@database_option
def project_add_member(project_name, username, database):
    """Let a user see and write a project."""
    open_accounts(database).add_member(username, project_name)
    click.echo(f"{username} is a member of {project_name}.")


@project.command("remove-member")
@click.argument("project_name", metavar="PROJECT")
@click.argument("username")
@database_option
def project_remove_member(project_name, username, database):
    """Take a user out of a project."""
    open_accounts(database).remove_member(username, project_name)
    click.echo(f"{username} is no longer a member of {project_name}.")


# --------------------------------------------------------------- settings


@click.group()
def settings():
    """Lab settings: datatypes and the rules of their attributes."""


@settings.command("show")
@database_option
def settings_show(database):
    """Print the lab settings as YAML."""
    with open_store(database).read() as conn:
        current = labsettings.read_settings(conn)
    click.echo(yaml.safe_dump(current, sort_keys=False), nl=False)


@settings.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@database_option
def settings_load(path, database):
    """Replace the lab settings with those of a YAML file."""
    try:
        with open(path, encoding="utf-8") as stream:
            new = yaml.safe_load(stream)
    except yaml.YAMLError as error:
        raise click.ClickException(f"{path} is not valid YAML: {error}") from None
    with open_store(database).write() as conn:
        labsettings.write_settings(conn, new)
    click.echo(f"Loaded the lab settings of {path}.")
