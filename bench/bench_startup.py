"""Benchmark of start-up: what a new Python process pays before its first answer.

Each figure is the median (and worst) of several fresh subprocesses, with the
CPU time the child used beside the wall time:

- ``import flexiznam.main`` (target: at most 0.6 s);
- on a fresh HOME (a new temporary folder, no config, no database): the first
  ``get_flexilims_session('demo')`` plus one ``get_entities`` (target: at most
  0.9 s, the import included);
- the same on a HOME whose database exists already (every later process);
- the commands: ``flexilims --help`` and ``flexiznam --help`` (target: at most
  0.25 s each; a bare ``python -c pass`` is printed beside them), a
  ``flexilims user list`` on a small SQLite database and ``flexiznam tree
  demo --depth 2`` on a HOME whose demo project exists.

``python -X importtime`` shows where an import's time goes:
``python -X importtime -c "import flexiznam.main" 2>&1 | sort -t'|' -k2 -n``.

``python -X importtime -m flexilims.cli --help`` does the same for a command.

Run: ``python bench/bench_startup.py [--runs 7] [--python PATH]``. Measure
with the Python of an environment that has flexiznam installed without its
test extras (``--python``) to see what a user gets: pytest brings Pygments,
which Alembic's Mako loads (about 0.1 s) when a new database is migrated.
The commands are the scripts installed beside that interpreter.
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

IMPORT = "import flexiznam.main"
FIRST_CALL = (
    "import flexiznam.main as flz\n"
    "session = flz.get_flexilims_session('demo')\n"
    "flz.get_entities('mouse', flexilims_session=session)\n"
)
#: The same with the session's own ``get`` (a list of dicts: no pandas).
FIRST_GET = (
    "import flexiznam.main as flz\n"
    "session = flz.get_flexilims_session('demo')\n"
    "session.get('mouse')\n"
)


#: Listings measured on a HOME with the demo project: ``flexiznam`` commands,
#: and ``flexilims`` commands on that HOME's database.
LISTINGS = (
    ("flexiznam", "ls", "-p", "demo"),
    ("flexiznam", "ls", "recording", "-p", "demo", "--csv"),
    ("flexiznam", "ls", "dataset", "-p", "demo"),
    ("flexiznam", "find", "retinotopy", "-p", "demo"),
    ("flexiznam", "show", "PZAH6.4b_S20210420", "-p", "demo"),
    ("flexiznam", "history", "-p", "demo"),
    ("flexiznam", "history", "PZAH6.4b", "-p", "demo", "--csv"),
    ("flexiznam", "trash", "list"),
    ("flexiznam", "tree", "demo", "--csv"),
    ("flexilims", "project", "list"),
    ("flexilims", "user", "list"),
    ("flexilims", "history", "--project", "demo"),
)

#: The database of the demo HOME, for ``flexilims`` commands.
HOME_DATABASE = ("--database", "sqlite:///{home}/.flexiznam/flexilims.db")


def _environment(home: str) -> dict:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FLEXIZNAM", "FLEXILIMS"))
    }
    environment["HOME"] = home
    return environment


PYTHON = [sys.executable]


def command(name: str, *args: str) -> list[str]:
    """The command line of the script ``name`` installed beside the Python."""
    return [str(Path(PYTHON[0]).parent / name), *args]


def run_once(code: str | list, home: str) -> tuple[float, float]:
    """Wall and CPU seconds of one ``python -c code`` (or of the command line
    ``code``, a list; ``{home}`` in it is the home) with ``HOME=home``."""
    if isinstance(code, str):
        line = [*PYTHON, "-c", code]
    else:
        line = [part.format(home=home) for part in code]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        line,
        env=_environment(home),
        check=True,
        cwd=home,
        stdout=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def measure(
    label: str, code, runs: int, fresh_home: bool, target=None, setup=()
) -> None:
    """Print the median and worst wall time and the median CPU time of
    ``runs`` runs of ``code`` (see :func:`run_once`); ``setup`` (commands)
    runs first on the shared HOME of a measure whose HOME is not fresh."""
    walls, cpus = [], []
    with tempfile.TemporaryDirectory(prefix="flexiznam-startup-") as shared:
        if not fresh_home:
            for step in setup:
                run_once(step, shared)
            run_once(code, shared)  # create the config folder and the database
        for _ in range(runs):
            if fresh_home:
                with tempfile.TemporaryDirectory(prefix="flexiznam-home-") as home:
                    wall, cpu = run_once(code, home)
            else:
                wall, cpu = run_once(code, shared)
            walls.append(wall)
            cpus.append(cpu)
    goal = f" (target: <= {target} s)" if target else ""
    print(
        f"{label}: median {statistics.median(walls):.3f} s, "
        f"max {max(walls):.3f} s, CPU median {statistics.median(cpus):.3f} s{goal}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--python", default=sys.executable, help="the interpreter to start"
    )
    args = parser.parse_args()
    PYTHON[0] = args.python
    measure("import flexiznam.main", IMPORT, args.runs, True, target=0.6)
    measure(
        "fresh HOME: import + get_flexilims_session('demo') + get_entities",
        FIRST_CALL,
        args.runs,
        True,
        target=0.9,
    )
    measure(
        "fresh HOME: import + get_flexilims_session('demo') + session.get",
        FIRST_GET,
        args.runs,
        True,
        target=0.9,
    )
    measure(
        "existing HOME: import + get_flexilims_session('demo') + get_entities",
        FIRST_CALL,
        args.runs,
        False,
    )
    measure("python -c pass", "pass", args.runs, True)
    for name in ("flexilims", "flexiznam"):
        measure(f"{name} --help", command(name, "--help"), args.runs, True, 0.25)
    database = ["--database", "sqlite:///{home}/small.db"]
    measure(
        "flexilims user list (small SQLite database)",
        command("flexilims", "user", "list", *database),
        args.runs,
        False,
        setup=[
            command("flexilims", "project", "create", "demo", *database),
            command("flexilims", "user", "add", "jane", "--password", "pw", *database),
        ],
    )
    measure(
        "flexiznam tree demo --depth 2 (existing HOME)",
        command("flexiznam", "tree", "demo", "--depth", "2"),
        args.runs,
        False,
        setup=[command("flexiznam", "demo")],
    )
    for name, *words in LISTINGS:
        database = HOME_DATABASE if name == "flexilims" else ()
        measure(
            f"{name} {' '.join(words)} (existing HOME)",
            command(name, *words, *database),
            args.runs,
            False,
            setup=[command("flexiznam", "demo")],
        )


if __name__ == "__main__":
    main()
