"""Benchmark of the web pages on a project of 1,000,000 entities (issue 10).

Fills a database with one big project (mice > sessions > recordings >
datasets, sessions dated over three years, six dataset types, and one session
of 1,000 recordings) and a small one, then times requests to the web
interface in-process (the ASGI application, no network), logged in as a
member:

- the project page (big and small: target under 50 ms);
- an entity page (a dataset, and the session of 1,000 recordings: under 50 ms);
- a tree level of 1,000 children, first page (under 50 ms);
- a search by attribute value and by name substring (under 150 ms), with a
  selective and a common value each.

Prints per request the median, the 99th percentile and the CPU time per
request. Databases: a temporary SQLite file and, when
``FLEXILIMS_TEST_POSTGRES_URL`` names a server, a temporary database there
(or the ``--database`` URLs given).

Run: ``python bench/bench_web.py [--entities 1000000] [--repeat 50]``.
"""

import argparse
import os
import re
import secrets
import statistics
import tempfile
import time
import warnings
from dataclasses import replace
from pathlib import Path

import sqlalchemy as sa

from flexilims.server import create_app
from flexilims.settings import load as load_settings
from flexilims.store import Store, db, new_id, now_ms
from flexilims.store.accounts import Accounts
from flexilims.store.writing.changes import insert_entities

os.environ.setdefault("FLEXILIMS_PASSWORD_HASHING", "fast")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

DATASET_TYPES = ("scanimage", "camera", "harp", "suite2p", "ephys", "behaviour")
#: Entities per mouse: 1 + 4 sessions x (1 + 5 recordings x (1 + 8 datasets)).
PER_MOUSE = 1 + 4 * (1 + 5 * (1 + 8))


def _entity(project_id, datatype, name, origin, attributes, stamp):
    return {
        "id": new_id(),
        "project_id": project_id,
        "type": datatype,
        "name": name,
        "attributes": attributes,
        "created_by": "Bench Lab",
        "date_created": stamp,
        "date_updated": stamp,
        "origin_id": origin,
        "links": [],
    }


def fill(store: Store, project_id: str, total: int) -> dict:
    """About ``total`` entities in ``project_id``, inserted in bulk as an
    import does (the counters of incremental ids are not advanced: the
    database is for reading); returns ids to ask for."""
    rows, found, stamp = [], {}, now_ms() - 10**9
    started = time.perf_counter()
    numbers: dict[str, int] = {}

    def flush(conn):
        for row in rows:
            numbers[row["type"]] = numbers.get(row["type"], 0) + 1
            row["incremental_id"] = f"{row['type'].upper()}{numbers[row['type']]:07d}"
        insert_entities(conn, rows, {})
        rows.clear()

    with store.write() as conn:
        big_mouse = _entity(project_id, "mouse", "BIG", None, {}, stamp)
        big = _entity(
            project_id,
            "session",
            "BIG_S20230301",
            big_mouse["id"],
            {"date": "2023-03-01"},
            stamp,
        )
        rows += [big_mouse, big]
        found["big_session"] = big["id"]
        for index in range(1000):
            rows.append(
                _entity(
                    project_id,
                    "recording",
                    f"BIG_S20230301_R{index:04d}",
                    big["id"],
                    {"recording_type": "two_photon", "protocol": "sparse_noise"},
                    stamp,
                )
            )
        flush(conn)
        count, mouse = 1002, 0
        chosen = min(1234, max(0, total // PER_MOUSE // 2))
        while count < total:
            stamp += 1
            name = f"M{mouse:05d}"
            m = _entity(project_id, "mouse", name, None, {"sex": "F"}, stamp)
            rows.append(m)
            for s in range(4):
                month = (mouse * 4 + s) % 36
                date = f"{2021 + month // 12}-{month % 12 + 1:02d}-1{s}"
                day = date.replace("-", "")
                session = _entity(
                    project_id,
                    "session",
                    f"{name}_S{day}",
                    m["id"],
                    {"date": date, "path": f"{name}/S{day}"},
                    stamp,
                )
                rows.append(session)
                for r in range(5):
                    recording = _entity(
                        project_id,
                        "recording",
                        f"{session['name']}_R{r}",
                        session["id"],
                        {"recording_type": "two_photon", "protocol": f"proto{r}"},
                        stamp,
                    )
                    rows.append(recording)
                    for d in range(8):
                        kind = DATASET_TYPES[(r + d) % len(DATASET_TYPES)]
                        rows.append(
                            _entity(
                                project_id,
                                "dataset",
                                f"{recording['name']}_{kind}_{d}",
                                recording["id"],
                                {
                                    "path": f"{name}/S{day}/R{r}/{kind}_{d}",
                                    "dataset_type": kind,
                                    "is_raw": "yes",
                                },
                                stamp,
                            )
                        )
            count += PER_MOUSE
            if mouse == chosen:
                found["dataset"] = rows[-1]["id"]
                found["recording"] = recording["id"]
                found["mouse"] = name
                found["session_path"] = session["attributes"]["path"]
            if len(rows) > 20_000:
                flush(conn)
                print(f"  {count:>9,} entities ({time.perf_counter() - started:.0f} s)")
            mouse += 1
        flush(conn)
    found["count"] = count
    return found


def postgres_database(server: str) -> tuple[str, callable]:
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


def login(client: TestClient) -> None:
    page = client.get("/login").text
    nonce = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    reply = client.post(
        "/login",
        data={"username": "bench", "password": "bench", "csrf": nonce},
        follow_redirects=False,
    )
    assert reply.status_code == 303, reply.text


def timed(client: TestClient, url: str, repeat: int) -> tuple[float, float, float]:
    """Median and 99th percentile of the wall time, and mean CPU time (ms)."""
    for _ in range(3):
        reply = client.get(url)
        assert reply.status_code == 200, (url, reply.status_code, reply.text[:500])
    walls, cpus = [], []
    for _ in range(repeat):
        cpu, wall = time.process_time(), time.perf_counter()
        client.get(url)
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    walls.sort()
    p99 = walls[min(len(walls) - 1, round(0.99 * (len(walls) - 1)))]
    return statistics.median(walls), p99, statistics.mean(cpus)


def find(store: Store) -> dict:
    """The ids to ask for, in a database filled by an earlier run."""
    big = Accounts(store).project("big")
    with store.read() as conn:

        def first(query, **values):
            return conn.execute(sa.text(query), values).scalar()

        session = first("SELECT id FROM entities WHERE name = 'BIG_S20230301'")
        mouse = first(
            "SELECT name FROM entities WHERE project_id = :p AND type = 'mouse' "
            "AND name = 'M01234'",
            p=big.id,
        )
        day = conn.execute(
            sa.text(
                "SELECT name, attributes FROM entities WHERE project_id = :p "
                "AND origin_id = (SELECT id FROM entities WHERE project_id = :p "
                "AND type = 'mouse' AND name = 'M01234') ORDER BY name DESC"
            ),
            {"p": big.id},
        ).first()
        recording = first(
            "SELECT id FROM entities WHERE project_id = :p AND name = :n",
            p=big.id,
            n=day.name + "_R4",
        )
        dataset = first(
            "SELECT id FROM entities WHERE origin_id = :r ORDER BY name DESC",
            r=recording,
        )
        path = day.attributes
        count = first("SELECT count(*) FROM entities WHERE project_id = :p", p=big.id)
    path = path if isinstance(path, dict) else __import__("json").loads(path)
    return {
        "big_session": session,
        "mouse": mouse,
        "recording": recording,
        "dataset": dataset,
        "session_path": path["path"],
        "count": count,
    }


def bench(url: str, total: int, repeat: int) -> None:
    backend = sa.engine.make_url(url).get_backend_name()
    store = Store.open(url)
    accounts = Accounts(store)
    if any(p.name == "big" for p in accounts.projects()):
        print(f"{backend}: reusing the filled database")
        found = find(store)
        store.engine.dispose()
        measure(url, backend, found, repeat)
        return
    big = accounts.create_project("big")
    small = accounts.create_project("small")
    accounts.add_user("bench", "bench", "Bench Lab")
    accounts.add_member("bench", "big")
    accounts.add_member("bench", "small")
    print(f"{backend}: filling {total:,} entities")
    started = time.perf_counter()
    found = fill(store, big.id, total)
    fill(store, small.id, 2000)
    took = time.perf_counter() - started
    print(f"{backend}: {found['count']:,} entities in {took:.0f} s")
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE" if store.is_postgres else "ANALYZE")
    store.engine.dispose()
    measure(url, backend, found, repeat)


def measure(url: str, backend: str, found: dict, repeat: int) -> None:
    """Time each request on a filled database."""
    settings = replace(load_settings(), database_url=url)
    app = create_app(settings=settings)
    with TestClient(app) as client:
        login(client)
        cases = [
            ("project page, 1,000,000 entities", "/projects/big", 50),
            ("project page, 2,000 entities", "/projects/small", 50),
            ("entity page, a dataset", f"/entities/{found['dataset']}", 50),
            ("entity page, a recording", f"/entities/{found['recording']}", 50),
            (
                "entity page, session of 1,000 recordings",
                f"/entities/{found['big_session']}",
                50,
            ),
            (
                "tree level of 1,000 children, first page",
                f"/entities/{found['big_session']}/tree",
                50,
            ),
            (
                "search attribute, 1 match (a session's path)",
                "/projects/big/search?key=path&value="
                + found["session_path"].replace("/", "%2F"),
                150,
            ),
            (
                "search attribute, ~140,000 matches (dataset_type)",
                "/projects/big/search?key=dataset_type&value=scanimage",
                150,
            ),
            (
                "search name substring, 184 matches (a mouse's)",
                f"/projects/big/search?name={found['mouse']}_",
                150,
            ),
            (
                "search name substring, ~140,000 matches",
                "/projects/big/search?name=scanimage",
                150,
            ),
        ]
        print(f"{'request':54s} {'median':>8s} {'p99':>8s} {'CPU':>8s}  target")
        for label, path, target in cases:
            median, p99, cpu = timed(client, path, repeat)
            mark = "ok" if median < target else "SLOW"
            print(
                f"{backend + ': ' + label:54s} {median:6.1f}ms {p99:6.1f}ms "
                f"{cpu:6.1f}ms  <{target} ms {mark}"
            )
    app.state.store.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entities", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--database", action="append", help="Database URL.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        cleanups, urls = [], args.database
        if not urls:
            urls = [f"sqlite:///{Path(folder) / 'bench.db'}"]
            server = os.environ.get("FLEXILIMS_TEST_POSTGRES_URL")
            if server:
                url, drop = postgres_database(server)
                urls.append(url)
                cleanups.append(drop)
        try:
            for url in urls:
                bench(url, args.entities, args.repeat)
        finally:
            for cleanup in cleanups:
                cleanup()


if __name__ == "__main__":
    main()
