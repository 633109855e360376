"""``flexilims user|token|project|settings``: who may do what, and the lab settings."""

import warnings

import click

from ..errors import BadRequest
from .common import database_option, open_accounts, open_store
from .terminal import confirm, emit_rows, output_options, plural, text_table


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
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@database_option
def user_remove(username, yes, database):
    """Remove a user (what they created stays; their tokens end)."""
    accounts = open_accounts(database)
    found = [u for u in accounts.users() if u["username"] == username]
    if not found:
        raise BadRequest(f"No user named {username}.")
    projects = found[0]["projects"]
    member = f", member of {plural(len(projects), 'project')}" if projects else ""
    confirm(f"Remove user {username}{member}?", yes)
    accounts.remove_user(username)
    click.echo(f"Removed user {username}.")


@user.command("disable")
@click.argument("username")
@database_option
def user_disable(username, database):
    """Stop a user from logging in (their tokens end; what they created stays)."""
    open_accounts(database).set_disabled(username, True)
    click.echo(
        f"Disabled user {username}: they cannot log in, and their tokens are "
        f"revoked. `flexilims user enable {username}` lets them in again."
    )


@user.command("enable")
@click.argument("username")
@database_option
def user_enable(username, database):
    """Let a disabled user log in again."""
    open_accounts(database).set_disabled(username, False)
    click.echo(f"Enabled user {username}: they can log in again.")


@user.command("list")
@output_options
@database_option
def user_list(fmt, database):
    """List users with their projects (and whether they are disabled)."""
    rows = [
        {
            "username": account["username"],
            "full_name": account["full_name"],
            "admin": bool(account["is_admin"]),
            "disabled": bool(account["disabled"]),
            "projects": ", ".join(account["projects"]),
        }
        for account in open_accounts(database).users()
    ]
    columns = ["username", "full_name", "admin", "disabled", "projects"]
    emit_rows(rows, columns, fmt, empty="No users.")


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
@output_options
@database_option
def project_list(fmt, database):
    """List projects with their ids."""
    rows = [{"id": p.id, "name": p.name} for p in open_accounts(database).projects()]
    emit_rows(rows, ["id", "name"], fmt, empty="No projects.")


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
    import yaml

    current = open_store(database).lab_settings()
    click.echo(yaml.safe_dump(current, sort_keys=False), nl=False)


@settings.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--dry-run", is_flag=True, help="Say what would change; change nothing.")
@database_option
def settings_load(path, yes, dry_run, database):
    """Replace the lab settings with those of a YAML file.

    The file is the whole of the lab settings (`flexilims settings show`
    prints the current ones in its format): datatypes and attributes it
    leaves out are removed. What it adds, changes and removes is listed
    first; removing a datatype that entities use asks for confirmation.
    """
    import yaml

    from ..store import labsettings

    try:
        with open(path, encoding="utf-8") as stream:
            new = yaml.safe_load(stream)
    except yaml.YAMLError as error:
        raise click.ClickException(f"{path} is not valid YAML: {error}") from None
    labsettings.check_settings(new)
    for place, key, close in labsettings.unknown_keys(new):
        where = f" in {place}" if place else ""
        hint = f" (did you mean {close}?)" if close else ""
        warnings.warn(f"{path}: unknown key {key!r}{where}{hint}", stacklevel=1)
    store = open_store(database)
    with store.read() as conn:
        changes = labsettings.compare_settings(labsettings.read_settings(conn), new)
        removed = [c["datatype"] for c in changes if _removes_datatype(c)]
        usage = labsettings.datatype_usage(conn, removed)
    if not changes:
        click.echo(f"The lab settings are already those of {path}.")
        return
    for change in changes:
        if _removes_datatype(change) and usage.get(change["datatype"]):
            count = plural(usage[change["datatype"]], "entity")
            change["detail"] = f"used by {count}"
    columns = ["change", "datatype", "attribute", "detail"]
    click.echo(text_table(changes, columns))
    if dry_run:
        click.echo("Nothing was changed (--dry-run).")
        return
    used = {datatype: count for datatype, count in usage.items() if count}
    if used:
        listed = ", ".join(f"{t} ({plural(n, 'entity')})" for t, n in used.items())
        confirm(
            f"Remove datatypes that entities use: {listed}? Those entities stay, "
            "with a type the lab settings no longer define.",
            yes,
        )
    with store.write() as conn:
        labsettings.write_settings(conn, new)
    counts = {kind: 0 for kind in ("add", "change", "remove")}
    for change in changes:
        counts[change["change"]] += 1
    click.echo(
        f"Loaded the lab settings of {path}: {counts['add']} added, "
        f"{counts['change']} changed, {counts['remove']} removed."
    )


def _removes_datatype(change: dict) -> bool:
    return change["change"] == "remove" and change["attribute"] is None
