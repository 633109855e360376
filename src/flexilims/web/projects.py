"""The projects a user sees, a project's page and its tree, level by level."""

from ..errors import NotFound
from ..store import EntityQuery, browse
from ..store.accounts import Accounts
from .app import Context
from .charts import Bar, bar_chart, column_chart

#: Entities per page of a level of the tree.
TREE_PAGE = 100
#: The datatype and date attribute behind "sessions per month".
SESSION_TYPE, SESSION_DATE = "session", "date"
#: The datatype whose kinds the "datasets per type" chart shows.
DATASET_TYPE = "dataset"


def offset_of(ctx: Context, name: str = "offset") -> int:
    """A non-negative integer query parameter (0 when absent or not one)."""
    text = ctx.query.get(name, "")
    return int(text) if text.isdigit() and len(text) < 10 else 0


def entity_or_404(ctx: Context, entity_id: str) -> dict:
    """The entity of an id, if the user may see it (else a 404 page)."""
    from ..writes import is_hex_id

    if not is_hex_id(entity_id):
        raise NotFound(f"no entity {entity_id}")
    found = ctx.store.get(ctx.actor, EntityQuery(id=entity_id))
    if not found:
        raise NotFound(f"no entity {entity_id}")
    return found[0]


def home(ctx: Context):
    """``GET /``: the user's projects (every project for an admin)."""
    projects = Accounts(ctx.store).projects(ctx.actor)
    totals = browse.project_totals(ctx.store, ctx.actor)
    return ctx.render("projects.html", projects=projects, totals=totals)


def summary(children: dict[str, int]) -> str:
    """``3 sessions, 1 sample``."""
    from .app import plural

    return ", ".join(plural(count, kind) for kind, count in children.items())


def project_page(ctx: Context):
    """``GET /projects/{project}``: counts, charts, recent changes, the tree."""
    project = browse.project(ctx.store, ctx.actor, ctx.request.path_params["project"])
    counts = browse.counts(ctx.store, ctx.actor, project.id)
    per_type: dict[str, int] = {}
    for row in counts:
        per_type[row["type"]] = per_type.get(row["type"], 0) + row["count"]
    kinds = sorted(
        (row for row in counts if row["type"] == DATASET_TYPE),
        key=lambda row: -row["count"],
    )
    dataset_chart = None
    if kinds:
        dataset_chart = bar_chart(
            [Bar(row["kind"] or "(no type)", row["count"]) for row in kinds],
            "Datasets per type",
            "datasets-chart",
        )
    months = browse.months(ctx.store, ctx.actor, project.id, SESSION_TYPE, SESSION_DATE)
    session_chart = None
    if months:
        session_chart = column_chart(
            [Bar(month, count) for month, count in months],
            "Sessions per month",
            "sessions-chart",
        )
    level = browse.tree_level(
        ctx.store, ctx.actor, project_id=project.id, limit=TREE_PAGE
    )
    changes = ctx.store.history(ctx.actor, project_id=project.id, limit=10)
    return ctx.render(
        "project.html",
        project=project,
        per_type=per_type,
        total=sum(per_type.values()),
        dataset_chart=dataset_chart,
        session_chart=session_chart,
        months=months,
        kinds=kinds,
        level=level,
        level_url=f"/projects/{project.id}/tree",
        offset=0,
        page=TREE_PAGE,
        changes=changes,
        summary=summary,
    )


def project_tree(ctx: Context):
    """``GET /projects/{project}/tree?offset=N``: a page of the top level."""
    project = browse.project(ctx.store, ctx.actor, ctx.request.path_params["project"])
    offset = offset_of(ctx)
    level = browse.tree_level(
        ctx.store, ctx.actor, project_id=project.id, offset=offset, limit=TREE_PAGE
    )
    return ctx.render(
        "fragments/tree_level.html",
        fragment=True,
        level=level,
        level_url=f"/projects/{project.id}/tree",
        offset=offset,
        page=TREE_PAGE,
        summary=summary,
    )


def children_tree(ctx: Context):
    """``GET /entities/{id}/tree?offset=N``: a page of an entity's children."""
    entity_id = entity_or_404(ctx, ctx.request.path_params["entity_id"])["id"]
    offset = offset_of(ctx)
    level = browse.tree_level(
        ctx.store, ctx.actor, parent_id=entity_id, offset=offset, limit=TREE_PAGE
    )
    return ctx.render(
        "fragments/tree_level.html",
        fragment=True,
        level=level,
        level_url=f"/entities/{entity_id}/tree",
        offset=offset,
        page=TREE_PAGE,
        summary=summary,
    )
