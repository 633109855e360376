"""Benchmark of ``flexilims import`` / ``export`` (issues 3 and 11).

Writes a Flexilims project dump in the nested offline JSON format, root by
root (mice > sessions > recordings > datasets, with ids, dates, incremental
ids, a link per dataset and one ``NaN`` origin per mouse, as the Flexilims
client's pandas writes them), then on each database runs, each in a process
of its own as a user would:

- ``flexilims import DUMP --project bench`` into a fresh database;
- ``flexilims export --project bench OUT`` of what was imported;

and prints the wall time, the CPU time (user + system) and the peak resident
memory of each command (from the child's resource usage), on PostgreSQL the
CPU time of the server processes of the bench's database too (sampled from
``/proc`` every 0.1 s when the server runs on this machine, else ``n/a``),
the medians over ``--repeat`` runs, and whether the export gives back the
dump (compared root by root, so the check itself stays small). Target
(issue 11): 1,000,000 entities imported in at most 60 s on SQLite with a peak
under 1 GB.

Databases: a temporary SQLite file and, on the PostgreSQL server named by
``--database-url`` (default: ``FLEXILIMS_TEST_POSTGRES_URL``), a database of
the bench's own for each run, dropped after it.

Run: ``python bench/bench_import.py [--entities 100000] [--repeat 3]
[--backend sqlite|postgresql ...] [--database-url SERVER] [--dump FILE]``.
"""

import argparse
import json
import math
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import sqlalchemy as sa

from flexilims.store import Store, db, new_id
from flexilims.store import models as m

#: Entities per mouse: 1 + 4 sessions x (1 + 4 recordings x (1 + 5 datasets)).
PER_MOUSE = 1 + 4 * (1 + 4 * (1 + 5))
PROJECT = "bench"


def mice(entities: int):
    """``(name, mouse)`` roots of a dump of about ``entities`` entities, one at a
    time (every field given; a mouse's ``origin_id`` is ``NaN``)."""
    counters: dict[str, int] = {}
    stamp = 1_620_375_329_769

    def entity(datatype, name, attributes, origin=None, links=()):
        counters[datatype] = counters.get(datatype, 0) + 1
        number = sum(counters.values())
        return {
            "id": new_id(),
            "type": datatype,
            "name": name,
            "incrementalId": f"{datatype.upper()}{counters[datatype]:07d}",
            "attributes": attributes,
            "createdBy": "Jane Doe",
            "dateCreated": stamp + number,
            "dateUpdated": stamp + number + 1000,
            "project": None,
            "origin_id": origin,
            "customEntities": list(links),
            "children": {},
        }

    for index in range(max(1, round(entities / PER_MOUSE))):
        mouse_name = f"PZAH{index}"
        mouse = entity(
            "mouse",
            mouse_name,
            {"genealogy": [mouse_name], "sex": "F", "birth_date": "2021-05-05"},
            math.nan,
        )
        for s in range(4):
            session_name = f"{mouse_name}_S2021050{s}"
            session = entity(
                "session",
                session_name,
                {"genealogy": [mouse_name, session_name], "date": "2021-05-05"},
                mouse["id"],
            )
            mouse["children"][session_name] = session
            for r in range(4):
                rec_name = f"{session_name}_R{r}"
                recording = entity(
                    "recording",
                    rec_name,
                    {"protocol": "retinotopy", "recording_type": "two_photon"},
                    session["id"],
                )
                session["children"][rec_name] = recording
                for d in range(5):
                    ds_name = f"{rec_name}_D{d}"
                    recording["children"][ds_name] = entity(
                        "dataset",
                        ds_name,
                        {
                            "path": f"{mouse_name}/{session_name}/{ds_name}",
                            "dataset_type": "scanimage",
                            "is_raw": "yes",
                            "frame_rate": 30.5,
                            "channels": [1, 2],
                            "empty": [],
                        },
                        recording["id"],
                        links=[mouse["id"]],
                    )
        yield mouse_name, mouse


def write_dump(path: Path, entities: int) -> int:
    """Write a dump root by root; the number of entities written."""
    total = 0
    with open(path, "w", encoding="utf-8") as stream:
        stream.write("{")
        for index, (name, mouse) in enumerate(mice(entities)):
            if index:
                stream.write(", ")
            stream.write(f"{json.dumps(name)}: {json.dumps(mouse)}")
            total += PER_MOUSE
        stream.write("}")
    return total


def roots(path: Path):
    """The roots of a dump file, one at a time (the store's own reader)."""
    from flexilims.store.files.dumpfile import read_roots

    with open(path, "rb") as stream:
        yield from read_roots(stream)


def same_as_dump(exported: Path, dump: Path, project_id: str) -> bool:
    """Whether an export holds the dump's entities as the store keeps them:
    the project's id filled in, NaN origins as null and empty lists as null."""
    for (key, entity), (dump_key, expected) in zip(
        roots(exported), roots(dump), strict=True
    ):
        stack = [expected]
        while stack:
            item = stack.pop()
            item["project"] = project_id
            if isinstance(item["origin_id"], float):
                item["origin_id"] = None
            item["attributes"] = {
                name: None if value == [] else value
                for name, value in item["attributes"].items()
            }
            stack.extend(item["children"].values())
        if key != dump_key or entity != expected:
            return False
    return True


def postgres_database(server: str) -> tuple[str, callable]:
    """A new database on a PostgreSQL server; its URL and a function dropping it."""
    name = f"flexilims_bench_{secrets.token_hex(4)}"
    admin = sa.create_engine(db.create_engine(server).url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    url = db.create_engine(server).url.set(database=name)

    def drop():
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()

    return url.render_as_string(hide_password=False), drop


def fresh_database(backend: str, folder: Path, server: str | None):
    """A new database with the store's schema (made before the clock starts);
    its URL and a function removing it."""
    if backend == "sqlite":
        path = folder / f"bench-{secrets.token_hex(3)}.db"
        url, drop = f"sqlite:///{path}", lambda: _remove_sqlite(path)
    else:
        url, drop = postgres_database(server)
    Store.open(url).engine.dispose()
    return url, drop


def _remove_sqlite(path: Path) -> None:
    for name in (path.name, path.name + "-wal", path.name + "-shm"):
        (path.parent / name).unlink(missing_ok=True)


class ServerCpu:
    """CPU seconds of the PostgreSQL processes serving one database, sampled
    from ``/proc`` (their command line names the database) until stopped; the
    last sample of each process is kept (at most 0.1 s of each is missed)."""

    def __init__(self, database: str):
        self.marker = f" {database} "
        self.seen: dict[int, float] = {}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self) -> None:
        tick = os.sysconf("SC_CLK_TCK")
        while not self.done.wait(0.1):
            for pid in (int(p) for p in os.listdir("/proc") if p.isdigit()):
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as stream:
                        cmdline = stream.read().decode(errors="replace")
                    if self.marker not in cmdline.replace("\0", " ") + " ":
                        continue
                    with open(f"/proc/{pid}/stat") as stream:
                        fields = stream.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                self.seen[pid] = (int(fields[11]) + int(fields[12])) / tick

    def stop(self) -> float | None:
        self.done.set()
        self.thread.join()
        return sum(self.seen.values()) if self.seen else None


def run(*args: str, database: str | None = None) -> dict:
    """Run ``flexilims ARGS`` in a child process: its wall and CPU seconds and
    its peak resident memory (MB), from the child's own resource usage; and
    the CPU seconds of the PostgreSQL processes serving ``database``."""
    command = [sys.executable, "-m", "flexilims.cli", *args]
    with tempfile.TemporaryFile("w+") as out:
        server = ServerCpu(database) if database else None
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        time.sleep(0.2 if server else 0)
        server_cpu = server.stop() if server else None
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    if process.returncode:
        raise SystemExit(f"flexilims {args[0]} failed:\n{text}")
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss": usage.ru_maxrss / 1024,
        "server_cpu": server_cpu,
        "out": text,
    }


def project_id(url: str) -> str:
    store = Store.open(url)
    try:
        with store.read() as conn:
            return conn.execute(
                sa.select(m.projects.c.id).where(m.projects.c.name == PROJECT)
            ).scalar_one()
    finally:
        store.engine.dispose()


def line(backend: str, what: str, figures: dict) -> str:
    server = figures.get("server_cpu")
    if backend == "sqlite":
        server = ""
    elif server is None:
        server = "   server CPU     n/a"
    else:
        server = f"   server CPU {server:7.2f} s"
    return (
        f"{backend:10s} {what:14s} wall {figures['wall']:7.2f} s   "
        f"CPU {figures['cpu']:7.2f} s   peak RSS {figures['rss']:7.0f} MB{server}"
    )


def median(runs: list[dict]) -> dict:
    figures = {}
    for key in ("wall", "cpu", "rss", "server_cpu"):
        values = [r[key] for r in runs if r.get(key) is not None]
        figures[key] = statistics.median(values) if values else None
    return figures


def bench(backend, folder, server, dump, total, repeat, check) -> None:
    imports, exports = [], []
    for attempt in range(repeat):
        url, drop = fresh_database(backend, folder, server)
        database = sa.make_url(url).database if backend == "postgresql" else None
        try:
            figures = run(
                "import",
                str(dump),
                "--project",
                PROJECT,
                "--no-progress",
                "--database",
                url,
                database=database,
            )
            assert f"Imported {total} entities" in figures["out"], figures["out"]
            imports.append(figures)
            print(line(backend, f"import #{attempt + 1}", figures), flush=True)
            exported = folder / "export.json"
            figures = run(
                "export",
                "--project",
                PROJECT,
                str(exported),
                "--database",
                url,
                database=database,
            )
            exports.append(figures)
            same = ""
            if check and attempt == 0:
                same = same_as_dump(exported, dump, project_id(url))
                same = f"   export == dump: {same}"
            print(line(backend, f"export #{attempt + 1}", figures) + same, flush=True)
            exported.unlink()
        finally:
            drop()
    wall = median(imports)["wall"]
    print(
        line(backend, "import median", median(imports))
        + f"   {total / wall:,.0f} entities/s"
    )
    print(line(backend, "export median", median(exports)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="Runs per database.")
    parser.add_argument("--dump", type=Path, help="Write the dump here (kept).")
    parser.add_argument(
        "--backend",
        action="append",
        choices=("sqlite", "postgresql"),
        help="Default: SQLite, and PostgreSQL when a server is named.",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("FLEXILIMS_TEST_POSTGRES_URL"),
        help="PostgreSQL server on which each run creates, then drops, a "
        "database of its own (default: FLEXILIMS_TEST_POSTGRES_URL).",
    )
    parser.add_argument(
        "--no-check",
        dest="check",
        action="store_false",
        help="Skip comparing the export with the dump.",
    )
    args = parser.parse_args()
    server = args.database_url
    if "postgresql" in (args.backend or []) and not server:
        parser.error("PostgreSQL needs --database-url (or FLEXILIMS_TEST_POSTGRES_URL)")
    backends = args.backend or ["sqlite"] + (["postgresql"] if server else [])
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        dump = args.dump or folder / "dump.json"
        total = write_dump(dump, args.entities)
        size = dump.stat().st_size / 1e6
        print(f"dump: {total:,} entities, {size:,.0f} MB of JSON", flush=True)
        for backend in backends:
            bench(backend, folder, server, dump, total, args.repeat, args.check)


if __name__ == "__main__":
    main()
