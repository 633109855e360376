"""Benchmark of get_datasets_recursively (flexiznam's later API).

Fills a database with about 100,000 entities (the filler of bench_core.py),
plus one mouse with 20 sessions x 10 recordings x 5 datasets, then times,
through flexiznam.main and the in-process session, every dataset below that
mouse (1,000 datasets, 1,220 entities):

- as Dataset objects (target: median under 30 ms, one store request);
- filtered by parent type, parent attributes and dataset type;
- as full paths (``return_paths``).

Each line prints the median and p99 of the runs (wall clock), the median CPU
time of this process per call (steadier on a shared machine) and the number
of requests the session sent per call.

Run: ``python bench/bench_recursive.py [--entities 100000] [--database URL]
[--runs 200]``.
"""

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import yaml
from bench_core import _entity, populate

from flexilims import LocalSession, Store
from flexilims.store.accounts import Accounts

SESSIONS, RECORDINGS, DATASETS = 20, 10, 5


def add_mouse(store: Store, project_id: str) -> dict:
    """The mouse of interest, inserted in one transaction; returns it."""
    mouse = _entity(project_id, "mouse", "DEEP", ["DEEP"], None, {"path": "p/DEEP"})
    rows = [mouse]
    for s in range(SESSIONS):
        short = f"S202105{s + 1:02d}"
        day = _entity(
            project_id,
            "session",
            f"DEEP_{short}",
            ["DEEP", short],
            mouse["id"],
            {"path": f"p/DEEP/{short}", "date": f"2021-05-{s + 1:02d}"},
        )
        rows.append(day)
        for r in range(RECORDINGS):
            protocol = "retinotopy" if r % 2 == 0 else "sparse_noise"
            rec_short = f"{protocol}_{r}"
            rec = _entity(
                project_id,
                "recording",
                f"{day['name']}_{rec_short}",
                ["DEEP", short, rec_short],
                day["id"],
                {"recording_type": "two_photon", "protocol": protocol},
            )
            rows.append(rec)
            for d in range(DATASETS):
                kind = "scanimage" if d < 3 else "suite2p_rois"
                rows.append(
                    _entity(
                        project_id,
                        "dataset",
                        f"{rec['name']}_{kind}_{d}",
                        ["DEEP", short, rec_short, f"{kind}_{d}"],
                        rec["id"],
                        {
                            "path": f"p/DEEP/{short}/{rec_short}/{kind}_{d}",
                            "dataset_type": kind,
                            "is_raw": "yes" if kind == "scanimage" else "no",
                            "created": "2021-05-01 10:00:00",
                        },
                    )
                )
    with store.write() as conn:
        store._insert(conn, rows)
    return mouse


def measure(label: str, call, sent: list, runs: int, target: str = "") -> None:
    call()  # warm-up: caches, prepared statements
    sent.clear()
    durations, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        call()
        cpu.append((time.process_time() - start_cpu) * 1000)
        durations.append((time.perf_counter() - start) * 1000)
    per_call = len(sent) / runs
    p99 = statistics.quantiles(durations, n=100)[98]
    print(
        f"{label}: median {statistics.median(durations):.2f} ms, p99 {p99:.2f} ms, "
        f"CPU median {statistics.median(cpu):.2f} ms, "
        f"{per_call:g} request(s) per call{target}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200)
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
    mouse = add_mouse(store, project.id)
    deep = 1 + SESSIONS * (1 + RECORDINGS * (1 + DATASETS))
    _, count = populate(store, project.id, args.entities - deep)
    if store.engine.dialect.name == "postgresql":
        with store.engine.connect().execution_options(
            isolation_level="AUTOCOMMIT"
        ) as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    print(
        f"populated {count + deep:,} entities in {time.perf_counter() - start:.1f} s "
        f"({store.engine.url.render_as_string()})"
    )
    session = LocalSession(store, project_id=project.id, username="bench")
    sent = []
    send = session._request

    def counting(method, operation, params, body=None):
        sent.append(operation)
        return send(method, operation, params, body)

    session._request = counting

    everything = flz.get_datasets_recursively(
        origin_id=mouse["id"], flexilims_session=session
    )
    assert len(everything) == SESSIONS * RECORDINGS
    assert sum(len(found) for found in everything.values()) == 1000
    print(f"below the mouse: {deep - 1} entities, 1000 datasets")
    measure(
        "get_datasets_recursively, Dataset objects",
        lambda: flz.get_datasets_recursively(
            origin_id=mouse["id"], flexilims_session=session
        ),
        sent,
        args.runs,
        " (target: median < 30 ms, 1 request)",
    )
    measure(
        "  parent_type + filter_parents + dataset_type (300 datasets)",
        lambda: flz.get_datasets_recursively(
            origin_id=mouse["id"],
            dataset_type="scanimage",
            parent_type="recording",
            filter_parents={"protocol": "retinotopy"},
            flexilims_session=session,
        ),
        sent,
        args.runs,
    )
    measure(
        "  return_paths",
        lambda: flz.get_datasets_recursively(
            origin_id=mouse["id"], return_paths=True, flexilims_session=session
        ),
        sent,
        args.runs,
    )


if __name__ == "__main__":
    main()
