"""Benchmark of ``flexilims import`` / ``export`` (issue 3, migration).

Generates a Flexilims project dump in the nested offline JSON format (by
default about 20,000 entities: mice > sessions > recordings > datasets, with
ids, dates, incremental ids and a link per dataset), writes it to a file, then
times on each database:

- reading the JSON file;
- ``import_project`` of the whole dump, in one transaction;
- ``export_project`` of the imported project;

and checks that the export gives back the dump. Databases: a temporary SQLite
file and, when ``FLEXILIMS_TEST_POSTGRES_URL`` names a server, a temporary
database on it (or the ``--database`` URLs given).

Run: ``python bench/bench_import.py [--entities 20000] [--database URL ...]``.
"""

import argparse
import json
import os
import secrets
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from flexilims.store import Store, db, new_id
from flexilims.store.transfer import export_project, import_project

#: Entities per mouse: 1 + 4 sessions x (1 + 4 recordings x (1 + 5 datasets)).
PER_MOUSE = 1 + 4 * (1 + 4 * (1 + 5))


def make_dump(entities: int) -> dict:
    """A nested dump of about ``entities`` entities, every field given."""
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

    dump = {}
    for m in range(max(1, round(entities / PER_MOUSE))):
        mouse_name = f"PZAH{m}"
        mouse = entity(
            "mouse",
            mouse_name,
            {"genealogy": [mouse_name], "sex": "F", "birth_date": "2021-05-05"},
        )
        dump[mouse_name] = mouse
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
    return dump


def count(dump: dict) -> int:
    stack, total = list(dump.values()), 0
    while stack:
        total += 1
        stack.extend(stack.pop()["children"].values())
    return total


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


def bench(url: str, path: Path, total: int) -> None:
    store = Store.open(url)
    try:
        start = time.perf_counter()
        with open(path, encoding="utf-8") as stream:
            data = json.load(stream)
        read = time.perf_counter() - start
        project = f"bench-{secrets.token_hex(3)}"
        start = time.perf_counter()
        summary = import_project(store, data, project, progress=True)
        imported = time.perf_counter() - start
        start = time.perf_counter()
        exported = export_project(store, project)
        export_time = time.perf_counter() - start
    finally:
        store.engine.dispose()
    assert summary["entities"] == total, summary
    expected = json.loads(path.read_text())
    stack = list(expected.values())
    while stack:
        entity = stack.pop()
        entity["project"] = summary["project_id"]
        entity["attributes"] = {
            key: None if value == [] else value
            for key, value in entity["attributes"].items()
        }
        stack.extend(entity["children"].values())
    same = exported == expected
    backend = sa.engine.make_url(url).get_backend_name()
    print(
        f"{backend:10s} read JSON {read:6.2f} s   import {imported:6.2f} s "
        f"({total / imported:8.0f} entities/s, {summary['links']} links)   "
        f"export {export_time:6.2f} s   export == dump: {same}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entities", type=int, default=20_000)
    parser.add_argument(
        "--database", action="append", help="Database URL (repeatable)."
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "dump.json"
        dump = make_dump(args.entities)
        total = count(dump)
        path.write_text(json.dumps(dump))
        size = path.stat().st_size / 1e6
        print(f"dump: {total} entities, {size:.1f} MB of JSON")
        cleanups = []
        urls = args.database
        if not urls:
            urls = [f"sqlite:///{Path(folder) / 'bench.db'}"]
            server = os.environ.get("FLEXILIMS_TEST_POSTGRES_URL")
            if server:
                url, drop = postgres_database(server)
                urls.append(url)
                cleanups.append(drop)
        try:
            for url in urls:
                bench(url, path, total)
        finally:
            for cleanup in cleanups:
                cleanup()


if __name__ == "__main__":
    main()
