"""What the ``flexilims`` and ``flexiznam`` commands share with people.

One table style for every listing (with ``--json`` and ``--csv`` instead),
one way to ask before destroying, times in local time, versions of the
history as one line each, and a click group that turns the errors people
make into one message and exit status 1 (``--debug`` shows the traceback).
"""

import csv
import io
import json
import math
import os
import sys
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


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def column_values(values: list) -> tuple[list, bool]:
    """The values of a column as a listing shows them, and whether they are
    numbers (aligned right).

    A column of numbers and missing values holds numbers; with a float or a
    missing value among them, its integers are shown as floats (``3.0``). A
    column with any other value (text, a boolean, a list), or integers that
    do not fit one 64-bit type, shows each value as it is.
    """
    present = [value for value in values if not _missing(value)]
    if not present or not all(_number(value) for value in present):
        return values, False
    integers = [value for value in present if isinstance(value, int)]
    if any(not -(2**63) <= value < 2**64 for value in integers) or (
        any(value >= 2**63 for value in integers) and any(v < 0 for v in integers)
    ):
        return values, False
    if len(integers) == len(values):
        return values, True
    return [float(value) if _number(value) else value for value in values], True


def _aligned(headers: list[str], columns: list[list[str]], right: list[bool]) -> str:
    """Cells under a header line, one column each, left-aligned (or right)."""
    widths = [
        max([len(header)] + [len(text) for text in texts])
        for header, texts in zip(headers, columns, strict=True)
    ]
    lines = [" ".join(f"{h:<{w}}" for h, w in zip(headers, widths, strict=True))]
    for texts in zip(*columns, strict=True):
        lines.append(
            " ".join(
                f"{text:{'>' if numbers else '<'}{width}}"
                for text, numbers, width in zip(texts, right, widths, strict=True)
            )
        )
    return "\n".join(line.rstrip() for line in lines)


def text_table(rows: list[dict], columns: list[str]) -> str:
    """Rows under a header line, text left-aligned, numbers right-aligned
    (:func:`column_values`); long values are shortened, except in the last
    column; a key a row lacks is a missing value."""
    if not rows:
        return " ".join(columns)
    texts, right = [], []
    for position, column in enumerate(columns):
        values, numbers = column_values([row.get(column) for row in rows])
        width = None if position == len(columns) - 1 else CELL_WIDTH
        texts.append([cell(value, width) for value in values])
        right.append(numbers)
    return _aligned(columns, texts, right)


def csv_text(rows: list[dict], columns: list[str]) -> str:
    """Rows as CSV with a header line: missing values empty, numbers as
    :func:`column_values` makes them, anything else as Python's text."""
    stream = io.StringIO()
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(columns)
    values = [column_values([row.get(column) for row in rows])[0] for column in columns]
    for row in zip(*values, strict=True):
        writer.writerow(["" if _missing(value) else value for value in row])
    return stream.getvalue()


def table(frame: "pd.DataFrame") -> str:
    """A data frame as :func:`text_table` prints rows: numbers are the
    columns of a numeric type (booleans are not)."""
    import pandas as pd

    if frame.empty:
        return " ".join(str(column) for column in frame.columns)
    texts, right = [], []
    for position, column in enumerate(frame.columns):
        values = frame[column]
        width = None if position == len(frame.columns) - 1 else CELL_WIDTH
        texts.append([cell(value, width) for value in values])
        right.append(
            pd.api.types.is_numeric_dtype(values)
            and not pd.api.types.is_bool_dtype(values)
        )
    return _aligned([str(column) for column in frame.columns], texts, right)


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
    """Print rows (dicts of text, numbers, booleans, None and JSON-like
    values) of ``columns`` as a table (:func:`text_table`), JSON or CSV
    (:func:`csv_text`), without pandas.

    Parameters
    ----------
    fmt : str
        ``table``, ``json`` or ``csv``.
    empty : str, optional
        Said (on standard error) instead of an empty table.
    """
    if fmt == "json":
        records = [{column: row.get(column) for column in columns} for row in rows]
        click.echo(json.dumps(records, indent=2, ensure_ascii=False))
    elif fmt == "csv":
        click.echo(csv_text(rows, columns), nl=False)
    elif not rows and empty:
        click.echo(empty, err=True)
    else:
        click.echo(text_table(rows, columns))


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


#: The columns of a listing of versions (``protocol.version_rows``): with
#: ``type`` and ``name`` before ``changes`` for a whole project.
VERSION_COLUMNS = ["version", "changed_at", "changed_by", "action", "changes"]
PROJECT_VERSION_COLUMNS = [*VERSION_COLUMNS[:-1], "type", "name", "changes"]


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms // 1000, UTC).replace(microsecond=ms % 1000 * 1000)


def emit_history(
    rows: list[dict], columns: list[str], fmt: str, empty: str | None = None
) -> None:
    """Print versions (``protocol.version_rows``) as :func:`emit_rows` does.

    ``changed_at`` is local time in a table; UTC in CSV (with milliseconds
    if any version has some) and JSON (ISO, with milliseconds). ``changes``
    is one line in a table, JSON text in CSV, objects in JSON.
    """
    times = [_utc(row["changed_at"]) for row in rows]
    if fmt == "table":
        changes = [changes_text(row["action"], row["changes"]) for row in rows]
    elif fmt == "csv":
        spec = (
            "milliseconds"
            if any(row["changed_at"] % 1000 for row in rows)
            else "seconds"
        )
        times = [when.isoformat(sep=" ", timespec=spec) for when in times]
        changes = [json.dumps(row["changes"]) for row in rows]
    else:
        times = [
            when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            for when in times
        ]
        changes = [row["changes"] for row in rows]
    shown = [
        {**row, "changed_at": when, "changes": change}
        for row, when, change in zip(rows, times, changes, strict=True)
    ]
    emit_rows(shown, columns, fmt, empty)


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


#: The exit status of a command whose reader closed the pipe: 128 + SIGPIPE,
#: what a shell reports for its own tools (``yes | head -1``).
EXIT_BROKEN_PIPE = 141


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
            except BrokenPipeError:
                # The reader stopped reading (``| head``, a pager quit): stop
                # quietly, as the shell's tools do, with their exit status.
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                ctx.exit(EXIT_BROKEN_PIPE)
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
