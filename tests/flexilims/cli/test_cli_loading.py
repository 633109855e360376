"""What the ``flexilims`` and ``flexiznam`` commands load: ``--help`` of every
command loads none of the heavy libraries, and a command loads only what it
uses (start-up time is paid by every command a lab runs)."""

import json

import click
import pytest

from flexilims.store.accounts import Accounts
from loading import run_and_list_modules

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


def run_code(database_url: str, *args: str) -> str:
    """Code that runs ``flexilims ARGS --database database_url``."""
    return (
        "from flexilims.cli import cli\n"
        f"cli.main({[*args, '--database', database_url]!r}, standalone_mode=False)"
    )


def test_listings_load_no_pandas(database_url, store, project):
    """Tables, CSV and JSON alike; the store and SQLAlchemy are loaded, as
    needed."""
    loaded, printed = loaded_after(
        run_code(database_url, "user", "add", "jane", "--password", "pw")
    )
    assert printed == "Added user jane."
    assert Accounts(store).authenticate("jane", "pw")
    assert "pandas" not in loaded and "numpy" not in loaded
    assert {"sqlalchemy", "flexilims.store"} <= loaded
    loaded, printed = loaded_after(run_code(database_url, "user", "list", "--json"))
    assert [user["username"] for user in json.loads(printed)] == ["jane"]
    assert "pandas" not in loaded and "numpy" not in loaded
    loaded, printed = loaded_after(run_code(database_url, "user", "list"))
    assert printed.splitlines()[1].startswith("jane")
    assert "pandas" not in loaded and "numpy" not in loaded
    for args in (
        ("user", "list", "--csv"),
        ("project", "list"),
        ("project", "list", "--csv"),
        ("history", "--project", project.name),
        ("history", "--project", project.name, "--csv"),
        ("trash", "list"),
    ):
        loaded, _ = loaded_after(run_code(database_url, *args))
        assert "pandas" not in loaded and "numpy" not in loaded, args
