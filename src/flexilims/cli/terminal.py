"""What the ``flexilims`` and ``flexiznam`` commands share with people.

One table style for every listing (with ``--json`` and ``--csv`` instead),
one way to ask before destroying, times in local time, versions of the
history as one line each, and a click group that turns the errors people
make into one message and exit status 1 (``--debug`` shows the traceback).
"""

import json
import math
import warnings
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    import pandas as pd

#: Key of ``ctx.meta`` set by ``--debug``.
DEBUG = "flexilims.debug"

#: The longest value shown in a table cell, in characters.
CELL_WIDTH = 60


# ----------------------------------------------------------------- output


def paging_options(command):
    """``--limit`` and ``--before``: one page of versions of a history."""
    command = click.option(
        "--before", type=int, help="Only versions older than this one (paging)."
    )(command)
    return click.option(
        "--limit",
        type=click.IntRange(1, 1000),
        default=100,
        show_default=True,
        help="At most this many versions.",
    )(command)


def output_options(command):
    """``--json`` and ``--csv`` (and the default ``--table``) as ``fmt``."""
    for flag, what in (
        ("--csv", "CSV with a header line"),
        ("--json", "a JSON list of objects"),
    ):
        command = click.option(flag, "fmt", flag_value=flag[2:], help=f"Print {what}.")(
            command
        )
    return click.option(
        "--table",
        "fmt",
        flag_value="table",
        default=True,
        help="Print a table (the default).",
    )(command)


def cell(value, width: int | None = CELL_WIDTH) -> str:
    """A value as a table shows it: text as is, the rest as JSON, shortened
    to ``width`` characters (None: in full)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, datetime):  # pandas' Timestamp and NaT too
        return local_time(value)
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = " ".join(text.split())
    if width is not None and len(text) > width:
        text = text[: width - 1] + "…"
    return text


def table(frame: "pd.DataFrame") -> str:
    """Rows under a header line, text left-aligned, numbers right-aligned;
    long values are shortened, except in the last column."""
    import pandas as pd

    if frame.empty:
        return " ".join(str(column) for column in frame.columns)
    shown = pd.DataFrame(index=range(len(frame)))
    formatters = {}
    for position, column in enumerate(frame.columns):
        values = frame[column]
        numbers = pd.api.types.is_numeric_dtype(values) and not (
            pd.api.types.is_bool_dtype(values)
        )
        width = None if position == len(frame.columns) - 1 else CELL_WIDTH
        texts = [cell(value, width) for value in values]
        width = max([len(str(column))] + [len(text) for text in texts])
        shown[column] = pd.Series(texts, dtype=object)
        align = ">" if numbers else "<"
        formatters[column] = f"{{:{align}{width}}}".format
    text = shown.to_string(index=False, justify="left", formatters=formatters)
    return "\n".join(line.rstrip() for line in text.splitlines())


def emit(frame: "pd.DataFrame", fmt: str, empty: str | None = None) -> None:
    """Print ``frame`` as a table, JSON or CSV.

    Parameters
    ----------
    fmt : str
        ``table``, ``json`` or ``csv``.
    empty : str, optional
        Said (on standard error) instead of an empty table.
    """
    if fmt == "json":
        records = json.loads(frame.to_json(orient="records", date_format="iso"))
        click.echo(json.dumps(records, indent=2, ensure_ascii=False))
    elif fmt == "csv":
        click.echo(frame.to_csv(index=False), nl=False)
    elif frame.empty and empty:
        click.echo(empty, err=True)
    else:
        click.echo(table(frame))


def emit_rows(
    rows: list[dict], columns: list[str], fmt: str, empty: str | None = None
) -> None:
    """Print rows (dicts of text, numbers, booleans and None) as :func:`emit`
    prints them as a frame of ``columns``; JSON needs no pandas."""
    if fmt == "json":
        records = [{column: row.get(column) for column in columns} for row in rows]
        click.echo(json.dumps(records, indent=2, ensure_ascii=False))
        return
    import pandas as pd

    emit(pd.DataFrame(rows, columns=columns), fmt, empty)


def local_time(value) -> str:
    """A time (ms since the epoch, or a datetime) as local date and time."""
    if value is None or value != value:  # None, NaN or pandas' NaT
        return ""
    if not isinstance(value, datetime):
        value = datetime.fromtimestamp(value / 1000, UTC)
    if hasattr(value, "to_pydatetime"):  # a pandas Timestamp
        value = value.to_pydatetime()
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def plural(count: int, word: str) -> str:
    """``1 entity``, ``2 entities``, ``3 batches``."""
    if count == 1:
        return f"{count} {word}"
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return f"{count} {word[:-1]}ies"
    if word.endswith(("s", "sh", "ch", "x")):
        return f"{count} {word}es"
    return f"{count} {word}s"


def counts_text(counts: dict) -> str:
    """``{'session': 2, 'dataset': 5}`` as ``2 sessions, 5 datasets``."""
    return ", ".join(plural(count, word) for word, count in counts.items())


# ---------------------------------------------------------------- history


def _short(value) -> str:
    return "null" if value is None else cell(value)


#: Actions after which the entity is gone, and actions that bring one in.
GONE = {"delete": "deleted", "purge": "purged"}
ARRIVED = ("create", "import", "restore")


def changes_text(action: str, changes: dict) -> str:
    """What a version changed, on one line: ``path: a → b; sex: F → M``.

    A creation (import, restore) lists the attributes it set, a deletion
    says so.
    """
    if action in GONE:
        return GONE[action]
    parts = []
    for key, (old, new) in (changes or {}).items():
        key = key.removeprefix("attributes.")
        if action in ARRIVED:
            if key != "name":
                parts.append(f"{key}={_short(new)}")
        else:
            parts.append(f"{key}: {_short(old)} → {_short(new)}")
    return "; ".join(parts)


def versions_frame(versions: list[dict], with_entity: bool = False) -> "pd.DataFrame":
    """Versions (``session.history``) as rows: version, when (a UTC time),
    who, action, (the entity's type and name,) and ``changes``
    (``{field: [before, after]}``)."""
    import pandas as pd

    rows = []
    for version in versions:
        entity = version.get("after") or version.get("before") or {}
        row = {
            "version": version["version"],
            "changed_at": version["changed_at"],
            "changed_by": version["changed_by"],
            "action": version["action"],
            "type": entity.get("type"),
            "name": entity.get("name"),
            "changes": version.get("changes") or {},
        }
        rows.append(row)
    columns = ["version", "changed_at", "changed_by", "action"]
    columns += ["type", "name"] if with_entity else []
    frame = pd.DataFrame(rows, columns=[*columns, "changes"])
    frame["changed_at"] = pd.to_datetime(frame["changed_at"], unit="ms", utc=True)
    return frame


def emit_history(frame: "pd.DataFrame", fmt: str, empty: str | None = None) -> None:
    """Print versions (:func:`versions_frame`): ``changes`` as one line in a
    table, as JSON text in CSV, as objects in JSON."""
    frame = frame.copy()
    if fmt == "table":
        frame["changes"] = [
            changes_text(action, changes)
            for action, changes in zip(frame["action"], frame["changes"], strict=True)
        ]
    elif fmt == "csv":
        frame["changes"] = [json.dumps(changes) for changes in frame["changes"]]
    emit(frame, fmt, empty)


#: The columns of :func:`trash_rows`.
TRASH_COLUMNS = ["batch", "deleted_at", "deleted_by", "project", "root", "count"]


def trash_rows(batches: list[dict], project_names: dict) -> list[dict]:
    """Batches of the trash (``session.trash``) as rows of
    :data:`TRASH_COLUMNS` (for :func:`emit_rows`); projects by name."""
    return [
        {
            "batch": batch["batch"],
            "deleted_at": local_time(batch["deleted_at"]),
            "deleted_by": batch["deleted_by"],
            "project": project_names.get(batch["project"], batch["project"]),
            "root": batch["root"],
            "count": batch["count"],
        }
        for batch in batches
    ]


# -------------------------------------------------------------- questions


def confirm(question: str, yes: bool, nothing: str = "Nothing was changed.") -> None:
    """Ask ``question`` (default no) unless ``yes``; on no, say ``nothing``
    and exit with status 1."""
    if yes:
        return
    try:
        agreed = click.confirm(question, default=False, err=True)
    except click.Abort:
        agreed = False
    if not agreed:
        click.echo(nothing, err=True)
        click.get_current_context().exit(1)


# ----------------------------------------------------------------- errors


def _set_debug(ctx, param, value):
    if value:
        ctx.meta[DEBUG] = True


class FriendlyGroup(click.Group):
    """A group whose commands print errors as one message, exit status 1.

    Subclasses say, in :meth:`user_message`, the message of the errors
    people make; anything else is reported as unexpected, in one line too.
    ``--debug`` (on the group) lets every error through with its traceback.
    Warnings are shown as ``Warning: message``.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.params.append(
            click.Option(
                ["--debug"],
                is_flag=True,
                expose_value=False,
                is_eager=True,
                callback=_set_debug,
                help="Show the traceback of errors.",
            )
        )

    def parse_args(self, ctx, args):
        # --debug anywhere on the line, not only before the command's name.
        end = args.index("--") if "--" in args else len(args)
        if "--debug" in args[:end]:
            ctx.meta[DEBUG] = True
            args = [arg for arg in args[:end] if arg != "--debug"] + args[end:]
        return super().parse_args(ctx, args)

    def user_message(self, error: Exception) -> str | None:
        """The message of an error people make; None for a bug."""
        return None

    def invoke(self, ctx):
        with shown_warnings():
            try:
                return super().invoke(ctx)
            except (click.ClickException, click.exceptions.Exit, click.Abort):
                raise
            except Exception as error:
                if ctx.meta.get(DEBUG):
                    raise
                message = self.user_message(error)
                if message is None:
                    message = (
                        f"unexpected {type(error).__name__}: {error}\nRun the "
                        "command again with --debug to see where, and report it."
                    )
                raise click.ClickException(message) from None


@contextmanager
def shown_warnings():
    """Warnings in the block printed as ``Warning: message`` on standard error."""

    def show(message, category, filename, lineno, file=None, line=None):
        click.echo(f"Warning: {message}", err=True)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield
