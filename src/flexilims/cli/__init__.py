"""``flexilims``: run the server and administer its database.

A thin layer over :mod:`flexilims.accounts`, :mod:`flexilims.labsettings` and
:mod:`flexilims.trash`: the rules live there. Every command takes
``--database URL`` (default: ``$FLEXILIMS_DATABASE_URL``, else the SQLite file
``~/.flexiznam/flexilims.db``); errors print their message and exit with 1.
"""

import os

import click
import sqlalchemy as sa
import yaml

from ..errors import FlexilimsError
from ..server import (
    API_PREFIX,
    DATABASE_ENV,
    DEFAULT_DATABASE_URL,
    TOKEN_LIFETIME_ENV,
)
from ..store import Store, labsettings, now_ms, trash
from ..store.accounts import Accounts


class _Group(click.Group):
    """The root group: store errors become a message and exit status 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except FlexilimsError as error:
            raise click.ClickException(error.message) from None
        except sa.exc.OperationalError as error:
            raise click.ClickException(
                f"cannot use the database: {error.orig or error}"
            ) from None


database_option = click.option(
    "--database",
    envvar=DATABASE_ENV,
    default=DEFAULT_DATABASE_URL,
    show_default=True,
    help=f"Database URL (sqlite:///FILE or postgresql://...); env {DATABASE_ENV}.",
)


def _store(database: str) -> Store:
    """Open the database; its connections close when the command ends."""
    store = Store.open(database)
    context = click.get_current_context(silent=True)
    if context is not None:
        context.call_on_close(store.engine.dispose)
    return store


def _accounts(database: str) -> Accounts:
    return Accounts(_store(database))


def _shown(url: str) -> str:
    return sa.engine.make_url(url).render_as_string(hide_password=True)


@click.group(cls=_Group)
@click.version_option(package_name="flexiznam")
def cli():
    """Serve and administer a flexilims database."""


# ------------------------------------------------------------------ serve


@cli.command()
@database_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port.")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Worker processes (use PostgreSQL for more than one).",
)
@click.option(
    "--token-lifetime",
    "token_lifetime",
    envvar=TOKEN_LIFETIME_ENV,
    default=24.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Hours a token stays valid.",
)
@click.option("--access-log/--no-access-log", default=True, help="Log every request.")
def serve(database, host, port, workers, token_lifetime, access_log):
    """Serve the Flexilims REST API with uvicorn."""
    import uvicorn

    # Create or upgrade the schema once, before the workers start.
    _store(database).engine.dispose()
    os.environ[DATABASE_ENV] = database
    os.environ[TOKEN_LIFETIME_ENV] = str(token_lifetime)
    click.echo(
        f"Serving {_shown(database)} at http://{host}:{port}{API_PREFIX}", err=True
    )
    uvicorn.run(
        "flexilims.server:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=access_log,
    )


# ------------------------------------------------------------------ users


@cli.group()
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
    _accounts(database).add_user(username, password, full_name, is_admin=admin)
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
    _accounts(database).set_password(username, password)
    click.echo(f"Changed the password of {username}; their tokens are revoked.")


@user.command("remove")
@click.argument("username")
@database_option
def user_remove(username, database):
    """Remove a user (what they created stays)."""
    _accounts(database).remove_user(username)
    click.echo(f"Removed user {username}.")


@user.command("list")
@database_option
def user_list(database):
    """List users with their projects."""
    for account in _accounts(database).users():
        role = " (admin)" if account["is_admin"] else ""
        projects = ", ".join(account["projects"]) or "-"
        click.echo(f"{account['username']}\t{account['full_name']}{role}\t{projects}")


# ----------------------------------------------------------------- tokens


@cli.group()
def token():
    """Tokens issued by the server."""


@token.command("revoke")
@click.argument("username")
@database_option
def token_revoke(username, database):
    """Revoke every token of a user."""
    count = _accounts(database).revoke_tokens(username)
    click.echo(f"Revoked {count} token{'s' if count != 1 else ''} of {username}.")


# --------------------------------------------------------------- projects


@cli.group()
def project():
    """Projects and who may use them."""


@project.command("create")
@click.argument("name")
@click.option("--id", "project_id", help="Keep this 24-hex id (e.g. from Flexilims).")
@database_option
def project_create(name, project_id, database):
    """Create a project."""
    created = _accounts(database).create_project(name, project_id)
    click.echo(f"Created project {created.name} with id {created.id}.")


@project.command("list")
@database_option
def project_list(database):
    """List projects with their ids."""
    for found in _accounts(database).projects():
        click.echo(f"{found.id}\t{found.name}")


@project.command("add-member")
@click.argument("project_name", metavar="PROJECT")
@click.argument("username")
@database_option
def project_add_member(project_name, username, database):
    """Let a user see and write a project."""
    _accounts(database).add_member(username, project_name)
    click.echo(f"{username} is a member of {project_name}.")


@project.command("remove-member")
@click.argument("project_name", metavar="PROJECT")
@click.argument("username")
@database_option
def project_remove_member(project_name, username, database):
    """Take a user out of a project."""
    _accounts(database).remove_member(username, project_name)
    click.echo(f"{username} is no longer a member of {project_name}.")


# --------------------------------------------------------------- settings


@cli.group()
def settings():
    """Lab settings: datatypes and the rules of their attributes."""


@settings.command("show")
@database_option
def settings_show(database):
    """Print the lab settings as YAML."""
    with _store(database).read() as conn:
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
    with _store(database).write() as conn:
        labsettings.write_settings(conn, new)
    click.echo(f"Loaded the lab settings of {path}.")


# ------------------------------------------------------------------ trash


@cli.group("trash")
def trash_group():
    """Deleted entities, kept until restored or purged."""


@trash_group.command("list")
@click.option("--project", "project_name", help="Only this project (name or id).")
@database_option
def trash_list(project_name, database):
    """List deleted batches, newest first."""
    store = _store(database)
    projects = {p.id: p.name for p in Accounts(store).projects()}
    project_id = Accounts(store).project(project_name).id if project_name else None
    for batch in trash.batches(store, project_id):
        click.echo(
            "\t".join(
                [
                    batch["batch"],
                    trash.format_time(batch["deleted_at"]),
                    batch["deleted_by"],
                    projects.get(batch["project"], batch["project"]),
                    f"{batch['root']} ({batch['count']} entities)",
                ]
            )
        )


@trash_group.command("restore")
@click.argument("batch")
@database_option
def trash_restore(batch, database):
    """Put a deleted batch back as it was."""
    result = trash.restore(_store(database), batch)
    message = f"Restored {result['restored']} entities."
    if result["links_dropped"]:
        message += f" {result['links_dropped']} links to entities gone since dropped."
    click.echo(message)


@trash_group.command("purge")
@click.argument("batch", required=False)
@click.option(
    "--older-than", type=click.FloatRange(min=0), help="Purge batches older than DAYS."
)
@database_option
def trash_purge(batch, older_than, database):
    """Delete a batch (or every batch older than --older-than days) for good."""
    before = None
    if older_than is not None:
        before = now_ms() - int(older_than * 24 * 3600 * 1000)
    count = trash.purge(_store(database), batch, before)
    click.echo(f"Purged {count} entities.")


from .transfer import export_command, import_command  # noqa: E402

cli.add_command(import_command)
cli.add_command(export_command)

