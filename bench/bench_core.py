"""Benchmark of the seed API on the embedded SQLite store (issue: core).

Fills a SQLite database with about 100,000 entities (mice, sessions,
recordings, datasets), then times, through flexiznam.main and the in-process
session:

- ``add_dataset`` with name generation (target: median under 2 ms);
- ``get_entities`` filtered by ``query_key``/``query_value`` (under 10 ms);
- ``get_datasets`` on a session of 200 recordings with 5 datasets each
  (under 20 ms).

Run: ``python bench/bench_core.py [--entities 100000] [--database URL]``.
"""

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import fill
import yaml

from flexilims import LocalSession, Store
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


def timed(function, repeats):
    durations = []
    for index in range(repeats):
        start = time.perf_counter()
        function(index)
        durations.append((time.perf_counter() - start) * 1000)
    return statistics.median(durations), max(durations)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument(
        "--database", help="database URL (default: a temporary SQLite file)"
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

    store = Store.open(url)
    project = Accounts(store).create_project("bench")
    start = time.perf_counter()
    big, count = populate(store, project.id, args.entities)
    print(
        f"populated {count:,} entities in {time.perf_counter() - start:.1f} s ({url})"
    )
    session = LocalSession(store, project_id=project.id, username="bench")
    recordings = big["recordings"]

    median, worst = timed(
        lambda i: flz.add_dataset(
            recordings[i]["id"],
            "suite2p_rois",
            "2021-04-20",
            f"p/rois{i}",
            is_raw="no",
            flexilims_session=session,
        ),
        200,
    )
    print(
        f"add_dataset with name generation: median {median:.2f} ms, max {worst:.2f} ms"
        " (target: median < 2 ms)"
    )
    median, worst = timed(
        lambda i: flz.get_entities(
            "dataset",
            query_key="path",
            query_value=f"M{i:04d}_S20210500_R1/cam2",
            flexilims_session=session,
        ),
        200,
    )
    print(
        f"get_entities by query_key/query_value: median {median:.2f} ms, "
        f"max {worst:.2f} ms (target: < 10 ms)"
    )
    median, worst = timed(
        lambda i: flz.get_datasets(
            big["session"]["id"], dataset_type="scanimage", flexilims_session=session
        ),
        50,
    )
    result = flz.get_datasets(
        big["session"]["id"], dataset_type="scanimage", flexilims_session=session
    )
    assert len(result) == 200 and all(len(v) == 5 for v in result.values())
    print(
        f"get_datasets, 200 recordings x 5 datasets: median {median:.2f} ms, "
        f"max {worst:.2f} ms (target: < 20 ms)"
    )


if __name__ == "__main__":
    main()
