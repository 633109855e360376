"""The trash: what was deleted, per batch; admins restore or purge."""

from ..errors import BadRequest
from ..store.accounts import Accounts
from ..store.writing import trash
from .app import Context


def trash_page(ctx: Context, *, status: int = 200, error: str | None = None):
    """``GET /trash``: batches of the user's projects (all for an admin)."""
    projects = {p.id: p for p in Accounts(ctx.store).projects(ctx.actor)}
    found = trash.batches(ctx.store, actor=ctx.actor)
    return ctx.render(
        "trash.html", status=status, batches=found, projects=projects, error=error
    )


def _batch(ctx: Context) -> str:
    return ctx.request.path_params["batch"]


def restore(ctx: Context):
    """``POST /trash/{batch}/restore`` (admins): put a batch back."""
    try:
        done = trash.restore(ctx.store, _batch(ctx), ctx.actor)
    except BadRequest as error:
        return trash_page(ctx, status=400, error=error.detail)
    message = f"Restored {done['restored']} entities."
    if done["restored"] == 1:
        message = "Restored 1 entity."
    if done["links_dropped"]:
        message += f" {done['links_dropped']} links to entities now gone were dropped."
    return ctx.redirect("/trash", message)


def purge(ctx: Context):
    """``POST /trash/{batch}/purge`` (admins): delete a batch for good."""
    try:
        if ctx.field("confirm") != "on":
            raise BadRequest("Tick the box to confirm: a purge cannot be undone.")
        count = trash.purge(ctx.store, _batch(ctx), actor=ctx.actor)
    except BadRequest as error:
        return trash_page(ctx, status=400, error=error.detail)
    return ctx.redirect("/trash", f"Purged {count} entities for good.")
