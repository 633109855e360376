"""Benchmark of the ``flexiznam`` terminal commands on a large project.

Fills a project with 10 mice x 10 sessions x 10 recordings x 5 datasets
(6,110 entities, one batch request) on the embedded database, then times the
commands a lab member types, in this process through click's runner (no
interpreter start-up): ``ls``, ``ls dataset``, ``find``, ``show``, ``tree``
(whole project and ``--depth 2``), ``history`` and ``tree --json``.

Each line prints the median and p99 wall-clock time and the median CPU time
of this process per command, and the number of requests the command sent.

Run: ``python bench/bench_terminal.py [--runs 20] [--database URL]``.
"""

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import yaml
from click.testing import CliRunner

from flexilims import LocalSession, Store, dispatch
from flexilims.store.accounts import Accounts

MICE, SESSIONS, RECORDINGS, DATASETS = 10, 10, 10, 5


def fill(session) -> int:
    """The project's entities, created in one batch request; how many."""
    operations = []

    def create(datatype, name, parent_ref, attributes):
        ref = f"e{len(operations)}"
        operation = {
            "op": "create",
            "ref": ref,
            "type": datatype,
            "name": name,
            "attributes": attributes,
        }
        if parent_ref is not None:
            operation["origin_ref"] = parent_ref
        operations.append(operation)
        return ref

    for m in range(MICE):
        mouse = f"M{m:03d}"
        mouse_ref = create("mouse", mouse, None, {"path": f"bench/{mouse}"})
        for s in range(SESSIONS):
            day = f"{mouse}_S202105{s + 1:02d}"
            day_ref = create(
                "session", day, mouse_ref, {"date": f"2021-05-{s + 1:02d}"}
            )
            for r in range(RECORDINGS):
                recording = f"{day}_R{r:02d}_retinotopy"
                attributes = {"recording_type": "two_photon", "protocol": "retinotopy"}
                rec_ref = create("recording", recording, day_ref, attributes)
                for d in range(DATASETS):
                    create(
                        "dataset",
                        f"{recording}_scanimage_{d}",
                        rec_ref,
                        {"path": f"bench/{recording}/{d}", "dataset_type": "scanimage"},
                    )
    session.batch(operations)
    return len(operations)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--database", help="Database URL (default: a temporary file)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench_terminal_"))
    url = args.database or f"sqlite:///{folder / 'bench.db'}"
    store = Store.open(url)
    project = Accounts(store).create_project(f"bench_{os.getpid()}")
    session = LocalSession(store, project_id=project.id, username="bench")
    count = fill(session)
    config = {"database_url": url, "default_project": project.name}
    (folder / "config.yml").write_text(yaml.safe_dump(config))
    os.environ["FLEXIZNAM_CONFIG_DIR"] = str(folder)

    from flexiznam.cli import cli

    sent = []
    call = dispatch.call

    def counting(store, actor, operation, params, body=None):
        sent.append(operation)
        return call(store, actor, operation, params, body)

    dispatch.call = counting
    commands = [
        ["ls"],
        ["ls", "dataset"],
        ["find", "S20210505_R05"],
        ["show", "M005_S20210505"],
        ["tree"],
        ["tree", "--depth", "2"],
        ["tree", "--json"],
        ["history", "M005"],
    ]
    print(f"{count} entities in project {project.name} ({url})")
    runner = CliRunner()
    for command in commands:
        walls, cpus = [], []
        for _ in range(args.runs):
            sent.clear()
            wall, cpu = time.perf_counter(), time.process_time()
            result = runner.invoke(cli, command)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
            assert result.exit_code == 0, result.output
        walls.sort()
        p99 = walls[min(len(walls) - 1, int(len(walls) * 0.99))]
        median, cpu = statistics.median(walls), statistics.median(cpus)
        print(
            f"flexiznam {' '.join(command):28} median {median * 1e3:7.1f} ms  "
            f"p99 {p99 * 1e3:7.1f} ms  CPU {cpu * 1e3:7.1f} ms  "
            f"requests {len(sent)} ({', '.join(sorted(set(sent)))})"
        )


if __name__ == "__main__":
    main()
