"""Admin pages: users, projects and their members, the lab settings."""

from ..errors import BadRequest, NotFound
from ..store import labsettings
from .app import Context


def users_page(ctx: Context, *, status: int = 200, errors=None, sent=None):
    """``GET /admin/users``: every user, with forms to add, reset, disable."""
    return ctx.render(
        "admin_users.html",
        status=status,
        users=ctx.accounts.users(),
        errors=errors or {},
        sent=sent or {},
    )


def _refused(ctx: Context, place: str, error: BadRequest, sent=None):
    return users_page(ctx, status=400, errors={place: error.detail}, sent=sent)


def add_user(ctx: Context):
    """``POST /admin/users``: a new user (with a password to give them)."""
    username = ctx.field("username").strip()
    full_name = ctx.field("full_name").strip()
    password = ctx.field("password")
    sent = {"username": username, "full_name": full_name}
    try:
        if not password:
            raise BadRequest("Give the new user a password.")
        ctx.accounts.add_user(
            username, password, full_name or None, is_admin=ctx.field("admin") == "on"
        )
    except BadRequest as error:
        return _refused(ctx, "new", error, sent)
    return ctx.redirect("/admin/users", f"Added user {username}.")


def set_password(ctx: Context):
    """``POST /admin/users/{username}/password``: a new password (their
    sessions and tokens end)."""
    username = ctx.request.path_params["username"]
    password = ctx.field("password")
    try:
        if not password:
            raise BadRequest("Type the new password.")
        ctx.accounts.set_password(username, password)
    except BadRequest as error:
        return _refused(ctx, f"password:{username}", error)
    return ctx.redirect("/admin/users", f"Changed the password of {username}.")


def set_disabled(ctx: Context):
    """``POST /admin/users/{username}/disable`` (or ``enable``)."""
    username = ctx.request.path_params["username"]
    action = ctx.request.path_params["action"]
    if action not in ("disable", "enable"):
        raise NotFound(f"no page {ctx.request.url.path}")
    disable = action == "disable"
    try:
        if disable and username == ctx.actor.username:
            raise BadRequest("You cannot disable yourself.")
        ctx.accounts.set_disabled(username, disable)
    except BadRequest as error:
        return _refused(ctx, f"state:{username}", error)
    verb = "Disabled" if disable else "Enabled"
    return ctx.redirect("/admin/users", f"{verb} {username}.")


def projects_page(ctx: Context, *, status: int = 200, errors=None, sent=None):
    """``GET /admin/projects``: projects, their members, forms to change them."""
    users = ctx.accounts.users()
    members: dict[str, list[str]] = {}
    for user in users:
        for name in user["projects"]:
            members.setdefault(name, []).append(user["username"])
    return ctx.render(
        "admin_projects.html",
        status=status,
        projects=ctx.accounts.projects(),
        members=members,
        users=users,
        errors=errors or {},
        sent=sent or {},
    )


def create_project(ctx: Context):
    """``POST /admin/projects``."""
    name = ctx.field("name").strip()
    try:
        ctx.accounts.create_project(name)
    except BadRequest as error:
        return projects_page(
            ctx, status=400, errors={"new": error.detail}, sent={"name": name}
        )
    return ctx.redirect("/admin/projects", f"Created project {name}.")


def membership(ctx: Context):
    """``POST /admin/projects/{project}/members`` (add) or
    ``.../members/remove``."""
    project = ctx.request.path_params["project"]
    username = ctx.field("username")
    adding = not ctx.request.url.path.endswith("/remove")
    try:
        if not username:
            raise BadRequest("Choose a user.")
        if adding:
            ctx.accounts.add_member(username, project)
        else:
            ctx.accounts.remove_member(username, project)
    except BadRequest as error:
        return projects_page(ctx, status=400, errors={project: error.detail})
    if adding:
        return ctx.redirect("/admin/projects", f"{username} is a member of {project}.")
    return ctx.redirect(
        "/admin/projects", f"{username} is no longer a member of {project}."
    )


def settings_page(ctx: Context):
    """``GET /admin/settings``: datatypes and the rules of their attributes."""
    with ctx.store.read() as conn:
        settings = labsettings.read_settings(conn)
    return ctx.render("admin_settings.html", datatypes=settings["datatypes"])
