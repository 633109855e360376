"""What both commands share: the table style, plurals, the one-line history,
and errors and warnings without tracebacks (a small group of test commands)."""

import warnings

import click
import pandas as pd
from click.testing import CliRunner

from flexilims.cli.terminal import (
    FriendlyGroup,
    changes_text,
    plural,
    table,
)


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
