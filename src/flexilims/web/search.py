"""Search a project: name substring, type, attribute values, creator, dates;
results a page at a time, or all of them as CSV."""

import csv
import io
import urllib.parse
from datetime import date, datetime, time, timedelta

from starlette.responses import Response

from ..errors import BadRequest
from ..store import browse
from .app import Context, iso_time, project_path, show_value
from .projects import offset_of

#: Results per page.
PAGE = 50
#: Most rows of a CSV download.
MAX_CSV_ROWS = 200_000
#: Empty attribute rows the form shows below the filled ones.
SPARE_ROWS = 2
#: Characters that make a spreadsheet read a cell as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _day_ms(text: str, end: bool) -> int:
    """A ``YYYY-MM-DD`` date as ms: its first (or last) millisecond, local time."""
    day = date.fromisoformat(text)
    if end:
        day += timedelta(days=1)
    stamp = int(datetime.combine(day, time()).astimezone().timestamp() * 1000)
    return stamp - 1 if end else stamp


def read_query(ctx: Context) -> tuple[browse.Search, dict, dict]:
    """The search of the query string, the form's values, and the errors of
    values the page cannot read (by field)."""
    params = ctx.query
    keys, values = params.getlist("key"), params.getlist("value")
    pairs = []
    for index in range(max(len(keys), len(values))):
        key = keys[index].strip() if index < len(keys) else ""
        value = values[index] if index < len(values) else ""
        if key or value:
            pairs.append((key, value))
    form = {
        "name": params.get("name", ""),
        "type": params.get("type", ""),
        "created_by": params.get("created_by", ""),
        "from": params.get("from", ""),
        "to": params.get("to", ""),
        "pairs": pairs,
    }
    errors = {}
    for index, (key, _value) in enumerate(pairs):
        if not key:
            errors[f"key{index}"] = "Name the attribute to match."
    dates = {}
    for name in ("from", "to"):
        text = form[name].strip()
        if text:
            try:
                dates[name] = _day_ms(text, end=name == "to")
            except ValueError:
                errors[name] = f"'{text}' is not a date: use YYYY-MM-DD."
    query = browse.Search(
        name=form["name"].strip() or None,
        type=form["type"] or None,
        attributes=[(key, value) for key, value in pairs if key],
        created_by=form["created_by"].strip() or None,
        created_from=dates.get("from"),
        created_to=dates.get("to"),
    )
    return query, form, errors


def _asked(query: browse.Search) -> bool:
    return any(
        (
            query.name,
            query.type,
            query.attributes,
            query.created_by,
            query.created_from is not None,
            query.created_to is not None,
        )
    )


def search_page(ctx: Context):
    """``GET /projects/{project}/search``: the form and a page of results;
    ``format=csv`` downloads every result."""
    project = browse.project(ctx.store, ctx.actor, ctx.request.path_params["project"])
    query, form, errors = read_query(ctx)
    if ctx.query.get("format") == "csv" and not errors:
        return csv_download(ctx, project, query)
    with ctx.store.read() as conn:
        from ..store import labsettings

        types = labsettings.datatype_names(conn)
    if form["type"] and form["type"] not in types:
        errors["type"] = f"There is no datatype {form['type']}."
    offset = offset_of(ctx)
    result = None
    if _asked(query) and not errors:
        try:
            result = browse.search(
                ctx.store, ctx.actor, project.id, query, offset=offset, limit=PAGE
            )
        except BadRequest as error:
            errors["name"] = error.detail
    shown_keys = [key for key, _value in query.attributes]
    base = [(k, v) for k, v in ctx.query.multi_items() if k not in ("offset", "format")]
    return ctx.render(
        "search.html",
        status=400 if errors else 200,
        project=project,
        form=form,
        errors=errors,
        types=types,
        attribute_keys=browse.attribute_keys(ctx.store),
        spare=SPARE_ROWS,
        result=result,
        offset=offset,
        page=PAGE,
        shown_keys=shown_keys,
        count_limit=browse.SEARCH_COUNT_LIMIT,
        page_url=lambda new_offset: (
            "?" + urllib.parse.urlencode(base + [("offset", str(new_offset))])
        ),
        csv_url="?" + urllib.parse.urlencode(base + [("format", "csv")]),
        max_csv=MAX_CSV_ROWS,
    )


def csv_cell(value) -> str:
    """A value as a CSV cell: text as it is (guarded against being read as a
    spreadsheet formula), the rest as JSON, null as empty."""
    if value is None:
        return ""
    text = show_value(value)
    if isinstance(value, str) and text.startswith(FORMULA_START):
        try:
            float(text)
        except ValueError:
            return "'" + text
    return text


def csv_download(ctx: Context, project, query: browse.Search) -> Response:
    """Every result (up to :data:`MAX_CSV_ROWS`) as CSV: the entity's fields,
    then one column per attribute."""
    rows, keys = [], {}
    for batch in browse.search_batches(ctx.store, ctx.actor, project.id, query):
        for entity in batch:
            rows.append(entity)
            for key in entity["attributes"]:
                keys.setdefault(key, None)
        if len(rows) >= MAX_CSV_ROWS:
            rows = rows[:MAX_CSV_ROWS]
            break
    output = io.StringIO()
    writer = csv.writer(output)
    fields = ["id", "type", "name", "incrementalId", "origin_id", "createdBy"]
    writer.writerow(fields + ["dateCreated", "dateUpdated", *keys])
    for entity in rows:
        writer.writerow(
            [csv_cell(entity[name]) for name in fields]
            + [iso_time(entity["dateCreated"]), iso_time(entity["dateUpdated"])]
            + [csv_cell(entity["attributes"].get(key)) for key in keys]
        )
    filename = f"{project_path(project)}-search.csv".replace('"', "")
    return Response(
        output.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": "attachment; filename*=UTF-8''"
            + urllib.parse.quote(filename)
        },
    )
