"""An entity's page: fields, attributes, children, links, parent chain, and
for a dataset its files on the server."""

from starlette.responses import Response

from ..errors import NotFound
from ..store import browse
from . import files
from .app import Context
from .projects import TREE_PAGE, entity_or_404, offset_of, summary

#: The dataset type whose first frame is shown.
SCANIMAGE = "scanimage"


def entity_context(ctx: Context, entity: dict) -> dict:
    """What every page about one entity shows: its project and parent chain."""
    project = browse.project(ctx.store, ctx.actor, entity["project"])
    chain = browse.ancestors(ctx.store, ctx.actor, entity["id"])
    return {"entity": entity, "project": project, "chain": chain}


def entity_page(ctx: Context):
    """``GET /entities/{id}``."""
    entity = entity_or_404(ctx, ctx.request.path_params["entity_id"])
    offset = offset_of(ctx)
    children = browse.tree_level(
        ctx.store, ctx.actor, parent_id=entity["id"], offset=offset, limit=TREE_PAGE
    )
    linked = browse.links(ctx.store, ctx.actor, entity["id"])
    is_dataset = entity["type"] == "dataset"
    return ctx.render(
        "entity.html",
        **entity_context(ctx, entity),
        children=children,
        offset=offset,
        page=TREE_PAGE,
        links=linked,
        show_files=is_dataset and bool(ctx.web.settings.data_root),
        summary=summary,
    )


def entity_files(ctx: Context):
    """``GET /entities/{id}/files``: a dataset's files (loaded after the page:
    a walk may take up to a second)."""
    entity = entity_or_404(ctx, ctx.request.path_params["entity_id"])
    location = files.locate(ctx.web.settings.data_root, entity["attributes"])
    found = files.inspect(location) if location is not None else None
    scanimage = entity["attributes"].get("dataset_type") == SCANIMAGE
    has_frame = bool(
        scanimage and location is not None and files.first_tiff(location) is not None
    )
    return ctx.render(
        "fragments/files.html",
        fragment=True,
        entity=entity,
        location=location,
        found=found,
        has_frame=has_frame,
        human_size=files.human_size,
    )


def entity_thumbnail(ctx: Context):
    """``GET /entities/{id}/thumbnail.png``: the first frame of a ScanImage
    dataset inside the data root, else 404."""
    entity = entity_or_404(ctx, ctx.request.path_params["entity_id"])
    if entity["attributes"].get("dataset_type") != SCANIMAGE:
        raise NotFound("not a ScanImage dataset")
    location = files.locate(ctx.web.settings.data_root, entity["attributes"])
    png = None
    if location is not None and location.inside:
        png = files.thumbnail(location, ctx.web.settings.cache_folder)
    if png is None:
        raise NotFound("no frame to show")
    return Response(
        png, media_type="image/png", headers={"Cache-Control": "private, max-age=300"}
    )
