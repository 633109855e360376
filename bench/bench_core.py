"""Benchmark of the seed API on the embedded SQLite store (issue 11: embedded).

Fills a SQLite database with entities (mice, sessions, recordings, datasets;
1,000,000 by default), then times, through flexiznam.main and the in-process
session, each call with its median, p99 and CPU time per call:

- ``get_entities`` by ``query_key``/``query_value`` and ``get_entity`` by name
  (target: median at most 0.5 ms), formatted and with ``format_reply=False``;
- ``add_dataset`` with append naming (target: median at most 1.0 ms);
- ``get_datasets`` on a session of 200 recordings with 5 datasets each
  (target: median at most 8 ms, p99 at most twice the median);

and the floor of each question: the same query through bare ``sqlite3`` and
``orjson`` (target: ``format_reply=False`` paths within 15 times of it).

Run: ``python bench/bench_core.py [--entities 1000000] [--database URL]``. A
database filled by an earlier run (``--database sqlite:////path.db``) is used
again as it is.
"""

import argparse
import gc
import os
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import fill
import orjson
import yaml

from flexilims import LocalSession, Store
from flexilims.errors import ProjectNotFound
from flexilims.protocol import ENTITY_FIELDS
from flexilims.store import new_id, now_ms
from flexilims.store.accounts import Accounts


def _entity(project, datatype, name, genealogy, origin, attributes, actor="bench"):
    stamp = now_ms()
    return {
        "id": new_id(),
        "project_id": project,
        "type": datatype,
        "name": name,
        "attributes": {"genealogy": genealogy, **attributes},
        "created_by": actor,
        "date_created": stamp,
        "date_updated": stamp,
        "origin_id": origin,
        "links": [],
    }


def populate(store: Store, project_id: str, total: int) -> dict:
    """Insert about ``total`` entities in batches; return the big session."""
    rows, big = [], {}

    def flush():
        if rows:
            fill.insert(store, rows)
            rows.clear()

    # The session of interest: 200 recordings of 5 datasets each.
    mouse = _entity(project_id, "mouse", "BIG", ["BIG"], None, {"path": "p/BIG"})
    day = _entity(
        project_id,
        "session",
        "BIG_S20210420",
        ["BIG", "S20210420"],
        mouse["id"],
        {"path": "p/BIG/S20210420"},
    )
    rows += [mouse, day]
    big = {"session": day, "recordings": []}
    for r in range(200):
        short = f"R{r:03d}_retinotopy"
        rec = _entity(
            project_id,
            "recording",
            f"BIG_S20210420_{short}",
            ["BIG", "S20210420", short],
            day["id"],
            {"recording_type": "two_photon", "protocol": "retinotopy"},
        )
        rows.append(rec)
        big["recordings"].append(rec)
        for d in range(5):
            rows.append(
                _entity(
                    project_id,
                    "dataset",
                    f"{rec['name']}_scanimage_{d}",
                    rec["attributes"]["genealogy"] + [f"scanimage_{d}"],
                    rec["id"],
                    {
                        "path": f"p/BIG/{short}/scan{d}",
                        "dataset_type": "scanimage",
                        "is_raw": "yes",
                        "created": "2021-04-20",
                    },
                )
            )
    flush()
    count = 2 + 200 * 6
    m = 0
    while count < total:
        mouse_name = f"M{m:04d}"
        mouse = _entity(project_id, "mouse", mouse_name, [mouse_name], None, {})
        rows.append(mouse)
        count += 1
        for s in range(4):
            sname = f"{mouse_name}_S2021050{s}"
            day = _entity(
                project_id,
                "session",
                sname,
                [mouse_name, f"S2021050{s}"],
                mouse["id"],
                {},
            )
            rows.append(day)
            count += 1
            for r in range(5):
                rec = _entity(
                    project_id,
                    "recording",
                    f"{sname}_R{r}",
                    [],
                    day["id"],
                    {"recording_type": "two_photon"},
                )
                rows.append(rec)
                count += 1
                for d in range(4):
                    rows.append(
                        _entity(
                            project_id,
                            "dataset",
                            f"{rec['name']}_camera_{d}",
                            [],
                            rec["id"],
                            {
                                "path": f"{rec['name']}/cam{d}",
                                "dataset_type": "camera",
                                "is_raw": "yes",
                            },
                        )
                    )
                    count += 1
        if len(rows) > 5000:
            flush()
        m += 1
    flush()
    return big, count


def timed(label: str, function, repeats: int, target: str = "") -> dict:
    """Run ``function(index)`` ``repeats`` times; print and return the median,
    p99 and worst wall time and the median and p99 CPU time per call (ms), and
    the full garbage collections that ran meanwhile. On a shared machine the
    wall times carry the other processes' load; CPU time much less."""
    walls, cpus, collections = [], [], []

    def on_gc(phase, info):
        if info["generation"] == 2:
            collections.append(time.perf_counter())

    gc.callbacks.append(on_gc)
    try:
        for index in range(repeats):
            cpu = time.process_time()
            start = time.perf_counter()
            function(index)
            walls.append((time.perf_counter() - start) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
    finally:
        gc.callbacks.remove(on_gc)
    figures = {
        "median": statistics.median(walls),
        "p99": statistics.quantiles(walls, n=100)[98],
        "max": max(walls),
        "cpu": statistics.median(cpus),
        "cpu_p99": statistics.quantiles(cpus, n=100)[98],
        "full_gc": len(collections) // 2,
        "gc_ms": 1000 * sum(collections[1::2]) - 1000 * sum(collections[0::2]),
    }
    print(
        f"{label}: median {figures['median']:.3f} ms, p99 {figures['p99']:.3f} ms, "
        f"max {figures['max']:.2f} ms, CPU {figures['cpu']:.3f} ms/call "
        f"(p99 {figures['cpu_p99']:.3f}); "
        f"{figures['full_gc']} full GC in {repeats} calls, "
        f"{figures['gc_ms']:.1f} ms in all" + (f" (target: {target})" if target else "")
    )
    return figures


# ------------------------------------------------------------------ the floor

_FIELDS = tuple(field.name for field in ENTITY_FIELDS)
_SELECT = "SELECT " + ", ".join(f"e.{field.column}" for field in ENTITY_FIELDS)
_ATTRIBUTES_AT = _FIELDS.index("attributes")
_DATE_CREATED_AT = _FIELDS.index("dateCreated")


def _replies(rows) -> list[dict]:
    """Rows as the protocol's entity objects, attributes decoded by orjson."""
    replies = []
    for row in rows:
        reply = dict(zip(_FIELDS, row, strict=True))
        reply["attributes"] = orjson.loads(row[_ATTRIBUTES_AT])
        replies.append(reply)
    return replies


class Floor:
    """The questions of the benchmark through bare sqlite3 and orjson: the
    same indexes, no library between the driver and the dicts."""

    BY_ATTRIBUTE = (
        f"{_SELECT} FROM entities e JOIN attribute_values av ON av.entity_id = e.id"
        " WHERE e.type = ? AND e.project_id = ? AND av.key = ?"
        " AND av.value_prefix = ? AND av.value = ? AND av.project_id = ?"
        " AND av.type = ? ORDER BY e.date_created, e.id"
    )
    BY_NAME = (
        f"{_SELECT} FROM entities e WHERE e.project_id = ? AND e.type = ?"
        " AND e.name = ? ORDER BY e.date_created, e.id"
    )
    #: The statements of the store's own ``get_descendants``: one per level.
    LEVELS = tuple(
        f"{_SELECT} FROM entities e"
        + "".join(
            f" JOIN entities up{n} ON {'e' if n == 1 else f'up{n - 1}'}.origin_id"
            f" = up{n}.id"
            for n in range(1, depth)
        )
        + f" WHERE {'e' if depth == 1 else f'up{depth - 1}'}.origin_id = ?"
        for depth in range(1, 33)
    )

    def __init__(self, path: str, project_id: str):
        self.connection = sqlite3.connect(path, isolation_level=None)
        self.project_id = project_id

    def by_attribute(self, datatype, key, value) -> list[dict]:
        project = self.project_id
        rows = self.connection.execute(
            self.BY_ATTRIBUTE, (datatype, project, key, value, value, project, datatype)
        ).fetchall()
        return _replies(rows)

    def by_name(self, datatype, name) -> list[dict]:
        rows = self.connection.execute(
            self.BY_NAME, (self.project_id, datatype, name)
        ).fetchall()
        return _replies(rows)

    def descendants(self, origin_id) -> list[dict]:
        rows = []
        for statement in self.LEVELS:
            level = self.connection.execute(statement, (origin_id,)).fetchall()
            if not level:
                break
            rows += level
        rows.sort(key=lambda row: row[_DATE_CREATED_AT])
        return _replies(rows)

    def datasets(self, origin_id, dataset_type, root) -> dict:
        below = self.descendants(origin_id)
        names = {e["id"]: e["name"] for e in below if e["type"] == "recording"}
        paths = {name: [] for name in names.values()}
        for entity in below:
            attributes = entity["attributes"]
            if (
                entity["type"] == "dataset"
                and entity["origin_id"] in names
                and attributes.get("dataset_type") == dataset_type
            ):
                paths[names[entity["origin_id"]]].append(
                    os.path.join(root, attributes.get("path") or "")
                )
        return paths


# ------------------------------------------------------------------ the runs


def open_or_fill(url: str, total: int):
    """The bench project's id and its big session, filling the database
    unless an earlier run did."""
    store = Store.open(url)
    accounts = Accounts(store)
    try:
        project = accounts.project("bench")
    except ProjectNotFound:
        project = accounts.create_project("bench")
        start = time.perf_counter()
        _, count = populate(store, project.id, total)
        print(
            f"populated {count:,} entities in "
            f"{time.perf_counter() - start:.1f} s ({url})"
        )
    session = LocalSession(store, project_id=project.id, username="bench")
    (day,) = session.get("session", name="BIG_S20210420")
    # Datasets are added below other mice's recordings: the big session keeps
    # its 200 x 5 datasets from one run to the next.
    recordings = []
    for mouse in range(10):
        (found,) = session.get("mouse", name=f"M{mouse:04d}")
        for day_of_mouse in session.get("session", origin_id=found["id"]):
            recordings += session.get("recording", origin_id=day_of_mouse["id"])
    with store.read() as conn:
        count = conn.exec_driver_sql("SELECT count(*) FROM entities").scalar()
    print(f"{count:,} entities in {url}")
    return store, session, day, recordings


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=1_000_000)
    parser.add_argument(
        "--database", help="database URL (default: a temporary SQLite file)"
    )
    parser.add_argument(
        "--repeats", type=int, default=2000, help="calls per fast measure"
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="flexiznam-bench-"))
    url = args.database or f"sqlite:///{workdir / 'bench.db'}"
    (workdir / "config.yml").write_text(
        yaml.safe_dump(
            {
                "database_url": url,
                "data_root": {"raw": "/data/raw", "processed": "/data/processed"},
            }
        )
    )
    os.environ["FLEXIZNAM_CONFIG_DIR"] = str(workdir)
    import flexiznam.main as flz

    store, session, day, recordings = open_or_fill(url, args.entities)
    mice = max(1, (args.entities - 1202) // 105)
    repeats = args.repeats
    floor = Floor(store.engine.url.database, session.project_id)
    flz.get_entities("mouse", name="BIG", flexilims_session=session)  # warm up

    def path_of(i):
        return f"M{i % mice:04d}_S20210500_R1/cam2"

    def name_of(i):
        return f"M{i % mice:04d}_S20210500_R1_camera_2"

    found = flz.get_entities(
        "dataset", query_key="path", query_value=path_of(1), flexilims_session=session
    )
    assert len(found) == 1, found
    print()
    floors = {
        "by attribute": timed(
            "floor, by attribute (sqlite3 + orjson)",
            lambda i: floor.by_attribute("dataset", "path", path_of(i)),
            repeats,
        ),
        "by name": timed(
            "floor, by name (sqlite3 + orjson)",
            lambda i: floor.by_name("dataset", name_of(i)),
            repeats,
        ),
        "get_datasets": timed(
            "floor, datasets of 200 recordings (sqlite3 + orjson)",
            lambda i: floor.datasets(day["id"], "scanimage", "/data/raw"),
            repeats // 10,
        ),
    }
    print()
    by_attribute = {
        reply: timed(
            f"get_entities by query_key/query_value, format_reply={reply}",
            lambda i, reply=reply: flz.get_entities(
                "dataset",
                query_key="path",
                query_value=path_of(i),
                flexilims_session=session,
                format_reply=reply,
            ),
            repeats,
            "median <= 0.5 ms" if reply else "<= 15x the floor",
        )
        for reply in (True, False)
    }
    by_name = {
        reply: timed(
            f"get_entity by name, format_reply={reply}",
            lambda i, reply=reply: flz.get_entity(
                "dataset",
                name=name_of(i),
                flexilims_session=session,
                format_reply=reply,
            ),
            repeats,
            "median <= 0.5 ms" if reply else "<= 15x the floor",
        )
        for reply in (True, False)
    }
    run = time.strftime("%Y%m%d%H%M%S")  # names of this run's datasets
    timed(
        "add_dataset, append naming",
        lambda i: flz.add_dataset(
            recordings[i % len(recordings)]["id"],
            "suite2p_rois",
            "2021-04-20",
            f"p/rois{i}",
            is_raw="no",
            flexilims_session=session,
            dataset_name=f"rois{run}_0",
        ),
        repeats // 2,
        "median <= 1.0 ms",
    )
    result = flz.get_datasets(
        day["id"], dataset_type="scanimage", flexilims_session=session
    )
    assert len(result) == 200 and all(len(v) == 5 for v in result.values())
    assert result == floor.datasets(day["id"], "scanimage", "/data/raw")
    datasets = timed(
        "get_datasets, 200 recordings x 5 datasets",
        lambda i: flz.get_datasets(
            day["id"], dataset_type="scanimage", flexilims_session=session
        ),
        max(repeats // 10, 100),
        "median <= 8 ms, p99 <= 2x median",
    )
    print()
    for label, figures, base in (
        ("get_entities by attribute", by_attribute[False], floors["by attribute"]),
        ("get_entity by name", by_name[False], floors["by name"]),
        ("get_datasets", datasets, floors["get_datasets"]),
    ):
        print(
            f"{label} / floor: {figures['median'] / base['median']:.1f}x median, "
            f"{figures['cpu'] / base['cpu']:.1f}x CPU"
        )
    print(
        f"get_datasets p99 / median: {datasets['p99'] / datasets['median']:.2f} "
        f"(CPU {datasets['cpu_p99'] / datasets['cpu']:.2f}; the floor's: "
        f"{floors['get_datasets']['p99'] / floors['get_datasets']['median']:.2f})"
    )


if __name__ == "__main__":
    main()
