"""What the ``flexilims`` and ``flexiznam`` commands load: ``--help`` of every
command loads none of the heavy libraries, and a command loads only what it
uses (start-up time is paid by every command a lab runs)."""

import json

import click
import pytest

from flexilims.store.accounts import Accounts
from loading import run_and_list_modules, run_commands_and_list_modules

#: Libraries (and parts of flexilims) that cost tens to hundreds of
#: milliseconds to import.
HEAVY = (
    "pandas",
    "numpy",
    "sqlalchemy",
    "alembic",
    "requests",
    "tqdm",
    "uvicorn",
    "fastapi",
    "flexilims.store",
    "flexilims.server",
)


def loaded_after(code: str) -> tuple[set[str], str]:
    """The heavy modules a fresh interpreter has loaded after ``code``, and
    what it printed before."""
    modules, printed = run_and_list_modules(code)
    return set(HEAVY) & modules, printed


def command_paths(group: click.Group, path=()) -> list[tuple[str, ...]]:
    """Every group and command below ``group``, as the words that name it."""
    paths = [path]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            paths += command_paths(command, (*path, name))
        else:
            paths.append((*path, name))
    return paths


def every_help(package: str) -> str:
    """Code that prints the ``--help`` of every command of ``package``'s cli."""
    return (
        "import click\n"
        f"from {package}.cli import cli\n"
        "def walk(group, path):\n"
        "    yield path\n"
        "    for name, command in group.commands.items():\n"
        "        if isinstance(command, click.Group):\n"
        "            yield from walk(command, [*path, name])\n"
        "        else:\n"
        "            yield [*path, name]\n"
        "for path in list(walk(cli, [])):\n"
        f"    cli.main([*path, '--help'], prog_name='{package}', "
        "standalone_mode=False)\n"
    )


@pytest.mark.parametrize("package", ["flexilims", "flexiznam"])
def test_help_of_every_command_loads_no_heavy_library(package):
    cli = __import__(f"{package}.cli", fromlist=["cli"]).cli
    commands = command_paths(cli)
    assert len(commands) > 15
    loaded, printed = loaded_after(every_help(package))
    assert printed.count("Usage: ") == len(commands)
    assert loaded == set()


def test_listings_load_no_pandas(database_url, store, project):
    """Tables, CSV and JSON alike; the store and SQLAlchemy are loaded, as
    needed. (All commands run in one interpreter, each checked in turn.)"""
    commands = [
        ("user", "add", "jane", "--password", "pw"),
        ("user", "list", "--json"),
        ("user", "list"),
        ("user", "list", "--csv"),
        ("project", "list"),
        ("project", "list", "--csv"),
        ("history", "--project", project.name),
        ("history", "--project", project.name, "--csv"),
        ("trash", "list"),
    ]
    ran = run_commands_and_list_modules(
        "flexilims.cli:cli",
        [[*args, "--database", database_url] for args in commands],
        HEAVY,
    )
    for args, (loaded, _) in zip(commands, ran, strict=True):
        assert "pandas" not in loaded and "numpy" not in loaded, args
        assert {"sqlalchemy", "flexilims.store"} <= loaded, args
    (_, added), (_, listed_json), (_, table) = ran[:3]
    assert added == "Added user jane."
    assert Accounts(store).authenticate("jane", "pw")
    assert [user["username"] for user in json.loads(listed_json)] == ["jane"]
    assert table.splitlines()[1].startswith("jane")
