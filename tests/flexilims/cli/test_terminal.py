"""What both commands share: the table style, plurals, the one-line history,
and errors and warnings without tracebacks (a small group of test commands)."""

import json
import subprocess
import sys
import warnings
from datetime import datetime

import click
import pandas as pd
from click.testing import CliRunner

from flexilims.cli.terminal import (
    EXIT_BROKEN_PIPE,
    PROJECT_VERSION_COLUMNS,
    FriendlyGroup,
    changes_text,
    emit_history,
    emit_rows,
    plural,
    table,
)
from flexilims.protocol import version_rows


@click.group(cls=FriendlyGroup)
def group():
    """Commands that fail in the ways commands fail."""


@group.command()
def bug():
    raise TypeError("unsupported operand")


@group.command()
def warns():
    warnings.warn("data_rot is not a setting", stacklevel=1)
    click.echo("done")


def test_a_bug_is_one_line_that_says_how_to_see_more():
    result = CliRunner().invoke(group, ["bug"])
    assert result.exit_code == 1
    assert result.output == (
        "Error: unexpected TypeError: unsupported operand\n"
        "Run the command again with --debug to see where, and report it.\n"
    )
    debug = CliRunner().invoke(group, ["bug", "--debug"])
    assert isinstance(debug.exception, TypeError)


def test_warnings_are_one_line():
    result = CliRunner().invoke(group, ["warns"])
    assert result.exit_code == 0
    assert result.output == "Warning: data_rot is not a setting\ndone\n"


def test_tables_align_text_left_and_numbers_right():
    frame = pd.DataFrame(
        {
            "name": ["a", "longer name"],
            "count": [3, 12],
            "attributes": [{"x": [1]}, None],
            "note": ["x" * 70, "short"],
        }
    )
    assert table(frame).splitlines() == [
        "name        count attributes note",
        'a               3 {"x": [1]} ' + "x" * 70,
        "longer name    12            short",
    ]
    assert table(frame[["name"]].iloc[:0]) == "name"
    long = pd.DataFrame({"value": ["y" * 70], "last": [1]})
    assert table(long).splitlines()[1] == "y" * 59 + "…    1"


def test_plurals_and_history_lines():
    assert [plural(n, "entity") for n in (1, 2)] == ["1 entity", "2 entities"]
    assert plural(2, "batch") == "2 batches"
    assert plural(3, "day") == "3 days"
    changes = {"name": [None, "m1"], "attributes.sex": [None, "F"]}
    assert changes_text("create", changes) == "sex=F"
    assert changes_text("delete", {}) == "deleted"
    updated = {"attributes.path": ["a/b", None], "attributes.tags": [[1], [1, 2]]}
    assert changes_text("update", updated) == "path: a/b → null; tags: [1] → [1, 2]"


@click.command()
@click.option("--fmt", default="table")
@click.option("--empty", is_flag=True)
def listing(fmt, empty):
    """Rows with every kind of cell a listing has."""
    rows = [
        {
            "name": "a",
            "count": 3,
            "ratio": 1,
            "flag": True,
            "attributes": {"x": [1, "é"]},
            "note": "x" * 70,
        },
        {
            "name": "ünïcode " * 9,
            "count": None,
            "ratio": 2.5,
            "flag": None,
            "attributes": None,
            "note": 'a, "quoted"\nline',
        },
        {"name": None, "count": 12, "ratio": float("nan"), "flag": False},
    ]
    columns = ["name", "count", "ratio", "flag", "attributes", "note"]
    emit_rows([] if empty else rows, columns, fmt, empty="Nothing.")


def test_listings_as_tables_and_csv():
    """Integers among missing values show as floats; a missing value is an
    empty cell; text is shortened, except in the last column; other values
    are JSON in a table (ASCII), Python's text in CSV."""
    table_text = CliRunner().invoke(listing).output
    assert table_text.splitlines() == [
        "name" + " " * 57 + "count ratio flag  attributes           note",
        "a" + " " * 62 + '3.0   1.0 true  {"x": [1, "\\u00e9"]} ' + "x" * 70,
        "ünïcode " * 7 + "ünï…         2.5" + " " * 28 + 'a, "quoted" line',
        " " * 62 + "12.0       false",
    ]
    csv_text = CliRunner().invoke(listing, ["--fmt", "csv"]).output
    assert csv_text == (
        "name,count,ratio,flag,attributes,note\n"
        "a,3.0,1.0,True,\"{'x': [1, 'é']}\","
        + "x" * 70
        + "\n"
        + "ünïcode " * 9
        + ',,2.5,,,"a, ""quoted""\nline"\n'
        ",12.0,,False,,\n"
    )
    empty = CliRunner().invoke(listing, ["--empty"])
    assert (empty.stdout, empty.stderr) == ("", "Nothing.\n")
    empty_csv = CliRunner().invoke(listing, ["--empty", "--fmt", "csv"])
    assert empty_csv.stdout == "name,count,ratio,flag,attributes,note\n"


def _versions(*times: int) -> list[dict]:
    return [
        {
            "version": number,
            "changed_at": ms,
            "changed_by": "zoë",
            "action": "update",
            "id": "ab" * 12,
            "after": {"type": "mouse", "name": "m1"},
            "changes": {"attributes.w": [0.123456789012345, None]},
        }
        for number, ms in enumerate(times, start=1)
    ]


def _history(versions: list[dict], fmt: str) -> str:
    @click.command()
    def history():
        emit_history(version_rows(versions), PROJECT_VERSION_COLUMNS, fmt)

    return CliRunner().invoke(history).output


def test_history_times_in_csv_json_and_tables():
    """CSV shows milliseconds only if a version has some; JSON always, and
    floats in full; a table, local time."""
    whole = _versions(1733097600000, 1733100000000)
    changes = '"{""attributes.w"": [0.123456789012345, null]}"'
    assert _history(whole, "csv") == (
        "version,changed_at,changed_by,action,type,name,changes\n"
        f"1,2024-12-02 00:00:00+00:00,zoë,update,mouse,m1,{changes}\n"
        f"2,2024-12-02 00:40:00+00:00,zoë,update,mouse,m1,{changes}\n"
    )
    some = _history(_versions(1733097600000, 1733100000007), "csv").splitlines()
    assert [line.split(",")[1] for line in some[1:]] == [
        "2024-12-02 00:00:00.000+00:00",
        "2024-12-02 00:40:00.007+00:00",
    ]
    records = json.loads(_history(whole, "json"))
    assert records[0]["changed_at"] == "2024-12-02T00:00:00.000Z"
    assert records[0]["changes"] == {"attributes.w": [0.123456789012345, None]}
    local = datetime.fromtimestamp(1733097600).strftime("%Y-%m-%d %H:%M:%S")
    assert _history(whole[:1], "table") == (
        "version changed_at          changed_by action type  name changes\n"
        f"      1 {local} zoë        update mouse m1   "
        "w: 0.123456789012345 → null\n"
    )


def test_a_reader_that_stops_reading_ends_the_command_quietly():
    """``flexiznam ls ... | head -1``: no error message, no traceback, the
    shell's exit status for a closed pipe."""
    program = (
        "import click\n"
        "from flexilims.cli.terminal import FriendlyGroup\n"
        "@click.group(cls=FriendlyGroup)\n"
        "def cli(): pass\n"
        "@cli.command()\n"
        "def many():\n"
        "    for number in range(200_000):\n"
        "        click.echo(f'line {number}')\n"
        "cli()\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", program, "many"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout.readline() == b"line 0\n"
    process.stdout.close()
    assert process.wait(timeout=60) == EXIT_BROKEN_PIPE
    assert process.stderr.read() == b""
