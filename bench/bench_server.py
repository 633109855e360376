"""Benchmark of the REST server under load (issue 11: server, PostgreSQL).

Fills a PostgreSQL database with 1,000,000 entities (150,000 through the
store's write path, then copies of them made in SQL; kept between runs with
``--keep-database NAME``: filling takes minutes), starts ``flexilims serve``
with 2 workers and loads it from a separate process with wrk (Debian package
``wrk``) at 32 concurrent connections:

- ``GET get?id=...`` (target: at least 3,000 requests/s, at most 0.35 ms of
  worker CPU per request);
- ``POST save`` of new entities (target: at least 800 requests/s, at most
  1.0 ms of worker CPU per request);
- ``PUT update-one`` of one attribute of existing entities (``--requests
  update``: 200 samples saved for it, updated in turn; target: as ``save``);
- p99 at most 4 times the median in a quiet run.

For each run it prints requests/s, the median and p99 latency, and the CPU
time the server's processes spent per request (user + system time of the
server and its workers from ``/proc``, before and after the run, divided by
the requests wrk completed): on a machine shared with other work, CPU per
request is the figure that moves least. It prints each of ``--repeat`` runs
(3) and their median. The runs follow a few seconds of the same load, not
measured (``--warmup``), so that the figures are those of a server in steady
state (pools filled, statements prepared).

Run: ``python bench/bench_server.py [--entities 1000000] [--duration 10]
[--keep-database flexilims_bench_1m] [--backends postgresql,sqlite]``.
"""

import argparse
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
import sqlalchemy as sa
from bench_core import populate

from flexilims import Store
from flexilims.store import db
from flexilims.store.accounts import Accounts

API = "/flexilims/api/"

GET_SCRIPT = """
ids = {%(ids)s}
counter = 0
request = function()
  counter = counter + 1
  local id = ids[(counter %% #ids) + 1]
  return wrk.format("GET", "%(api)sget?id=" .. id,
                    {["Authorization"] = "Bearer %(token)s"})
end
"""

SAVE_SCRIPT = """
local threads = 0
setup = function(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
init = function(args)
  n = 0
end
request = function()
  n = n + 1
  local body = '{"type": "sample", "name": "wrk_' .. tid .. '_' .. n ..
               '", "project_id": "%(project)s", "attributes": {"sample_type": "slice"}}'
  return wrk.format("POST", "%(api)ssave?strict_validation=false",
                    {["Authorization"] = "Bearer %(token)s",
                     ["Content-Type"] = "application/json"}, body)
end
"""

UPDATE_SCRIPT = """
ids = {%(ids)s}
counter = 0
request = function()
  counter = counter + 1
  local id = ids[(counter %% #ids) + 1]
  local body = '{"attributes": {"note": "wrk_' .. counter .. '"}}'
  return wrk.format("PUT", "%(api)supdate-one?type=sample&id=" .. id,
                    {["Authorization"] = "Bearer %(token)s",
                     ["Content-Type"] = "application/json"}, body)
end
"""

#: Clock ticks per second of /proc's CPU times.
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(
    url: str, workers: int, env: dict | None = None
) -> tuple[subprocess.Popen, str]:
    """``flexilims serve`` on a free port; the process and its base URL."""
    port = free_port()
    command = [sys.executable, "-m", "flexilims.cli", "serve", "--database", url]
    command += ["--port", str(port), "--workers", str(workers), "--no-access-log"]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, env={**os.environ, **(env or {})}
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(base + API + "openapi.json", timeout=1).ok:
                return process, base
        except requests.ConnectionError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the server did not start")


def process_tree(pid: int) -> list[int]:
    """A process and all its descendants (from /proc's children lists)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                children = Path(f"/proc/{current}/task/{task}/children").read_text()
                queue += [int(child) for child in children.split()]
        except OSError:
            continue
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of processes, in seconds (those gone count 0)."""
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        # Fields after the command name (which may hold spaces): utime is the
        # 14th field of the line, stime the 15th.
        fields = stat.rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / TICKS


def run_wrk(
    base: str, script: str, duration: int, connections: int, threads: int = 1
) -> dict:
    """One wrk run: requests, requests/s, median and p99 latency, errors."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as stream:
        stream.write(script)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s"]
    command += ["--latency", "-s", stream.name, base]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    os.unlink(stream.name)

    def latency(percent: str) -> float:
        found = re.search(rf"\s{percent}%\s+([\d.]+)(us|ms|s)\b", output)
        scale = {"us": 0.001, "ms": 1, "s": 1000}[found.group(2)]
        return float(found.group(1)) * scale

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    failures = re.search(r"Socket errors: (.*)", output)
    return {
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "rate": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "median_ms": latency("50"),
        "p99_ms": latency("99"),
        "errors": int(errors.group(1)) if errors else 0,
        "socket_errors": failures.group(1) if failures else "",
    }


def backend_pids(url: str) -> list[int]:
    """The PostgreSQL server processes connected to a database (empty for
    SQLite): the connections of the server's pools, once warmed up."""
    if not url.startswith("postgresql"):
        return []
    engine = sa.create_engine(db.create_engine(url).url)
    with engine.connect() as conn:
        pids = conn.execute(
            sa.text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            )
        ).scalars()
        pids = list(pids)
    engine.dispose()
    return pids


def measured_run(processes, url: str, bases: list[str], script: str, args) -> dict:
    """wrk runs at once on each base URL (``args.connections`` split among
    them), with the CPU time the servers' processes and the database's
    connections spent on them.

    Parameters
    ----------
    processes : list of subprocess.Popen
        The servers (their workers are found among their children).
    url : str
        The database (PostgreSQL connections are found by its name).
    bases : list of str
        The servers' base URLs.
    """
    from concurrent.futures import ThreadPoolExecutor

    pids = [pid for process in processes for pid in process_tree(process.pid)]
    backends = backend_pids(url)
    before, before_db = cpu_seconds(pids), cpu_seconds(backends)
    connections = max(1, args.connections // len(bases))
    with ThreadPoolExecutor(len(bases)) as pool:
        results = list(
            pool.map(
                lambda base: run_wrk(
                    base, script, args.duration, connections, args.wrk_threads
                ),
                bases,
            )
        )
    spent, spent_db = cpu_seconds(pids) - before, cpu_seconds(backends) - before_db
    requests_ = sum(r["requests"] for r in results)
    return {
        "requests": requests_,
        "rate": sum(r["rate"] for r in results),
        "median_ms": statistics.median(r["median_ms"] for r in results),
        "p99_ms": max(r["p99_ms"] for r in results),
        "errors": sum(r["errors"] for r in results),
        "socket_errors": "; ".join(
            r["socket_errors"] for r in results if r["socket_errors"]
        ),
        "cpu_ms": 1000 * spent / max(1, requests_),
        "db_cpu_ms": 1000 * spent_db / max(1, requests_),
    }


def describe(result: dict) -> str:
    text = (
        f"{result['rate']:.0f} requests/s, median {result['median_ms']:.2f} ms, "
        f"p99 {result['p99_ms']:.2f} ms "
        f"({result['p99_ms'] / result['median_ms']:.1f}x median), "
        f"CPU/request: {result['cpu_ms']:.3f} ms server, "
        f"{result['db_cpu_ms']:.3f} ms database; {result['errors']} errors"
    )
    if result["socket_errors"]:
        text += f", socket errors: {result['socket_errors']}"
    return text


def median_of(runs: list[dict]) -> dict:
    """Each figure's median over runs (errors summed)."""
    summary = {
        key: statistics.median(run[key] for run in runs)
        for key in ("rate", "median_ms", "p99_ms", "cpu_ms", "db_cpu_ms")
    }
    summary["errors"] = sum(run["errors"] for run in runs)
    summary["socket_errors"] = "; ".join(
        r["socket_errors"] for r in runs if r["socket_errors"]
    )
    return summary


def measure(label, what, script, processes, url, bases, args, target):
    """Warm up, then run ``args.repeat`` measured runs; print each and the median.

    The warm-up (``args.warmup`` seconds, not kept) puts the server in steady
    state: connection pools filled, statements prepared. Repeated runs show how
    much the figures move on a shared machine.
    """
    if args.warmup:
        for base in bases:
            run_wrk(
                base,
                script.replace("wrk_", f"warm{secrets.token_hex(3)}_"),
                args.warmup,
                args.connections,
                args.wrk_threads,
            )
    runs = []
    for index in range(args.repeat):
        # Saves name their entities per run, so that runs do not clash.
        tag = f"run{secrets.token_hex(3)}{index}_"
        result = measured_run(processes, url, bases, script.replace("wrk_", tag), args)
        runs.append(result)
        print(f"[{label}]   {what} run {index + 1}: {describe(result)}", flush=True)
    summary = median_of(runs)
    print(
        f"[{label}] {what}, {args.connections} connections, {args.workers} workers, "
        f"median of {len(runs)} runs: {describe(summary)} (target: {target})",
        flush=True,
    )
    return summary


#: Entities written through the store's write path before a PostgreSQL
#: database is cloned up to its size (filling a million entities one
#: transaction of 20,000 at a time takes most of an hour on a shared machine).
SEED_ENTITIES = 150_000


def clone_postgres(engine: sa.Engine, entities: int) -> int:
    """Copy a PostgreSQL database's entities (with their attribute index,
    links to parents and history) in SQL until there are ``entities``.

    Clone ``k`` of an entity has the id ``c<k>`` + the id's last 22
    characters, the name ``<name>_c<k>``, and its parent's clone as parent:
    each clone is a copy of the whole hierarchy. Counters are raised past the
    copied incremental ids. Returns the number of entities.
    """
    with engine.begin() as conn:
        count = conn.execute(sa.text("SELECT count(*) FROM entities")).scalar()
        originals = conn.execute(
            sa.text("SELECT count(*) FROM entities WHERE id NOT LIKE 'c%'")
        ).scalar()
        clone = (count - originals) // max(1, originals)
        while count < entities and clone < 15:
            clone += 1
            prefix = f"c{clone:x}"
            params = {"prefix": prefix, "suffix": f"_c{clone}", "shift": clone * 10**6}
            conn.execute(
                sa.text(
                    "INSERT INTO entities SELECT :prefix || substr(id, 3), "
                    "project_id, type, name || :suffix, upper(type) || lpad(("
                    "substr(incremental_id, length(type) + 1)::bigint + :shift)"
                    "::text, 7, '0'), attributes, created_by, date_created, "
                    "date_updated, CASE WHEN origin_id IS NULL THEN NULL ELSE "
                    ":prefix || substr(origin_id, 3) END FROM entities "
                    "WHERE id NOT LIKE 'c%'"
                ),
                params,
            )
            conn.execute(
                sa.text(
                    "INSERT INTO attribute_values SELECT :prefix || "
                    "substr(entity_id, 3), key, project_id, type, value_prefix, "
                    "value FROM attribute_values WHERE entity_id NOT LIKE 'c%'"
                ),
                params,
            )
            conn.execute(
                sa.text(
                    "INSERT INTO history (entity_id, project_id, action, "
                    "changed_by, changed_at, before, after) SELECT :prefix || "
                    "substr(entity_id, 3), project_id, action, changed_by, "
                    "changed_at, before, after FROM history "
                    "WHERE entity_id NOT LIKE 'c%'"
                ),
                params,
            )
            count += originals
            print(f"cloned the entities: {count:,}", flush=True)
        conn.execute(
            sa.text(
                "UPDATE counters SET value = greatest(value, (SELECT max(substr("
                "incremental_id, length(counters.name) + 1)::bigint) FROM entities "
                "WHERE type = counters.name))"
            )
        )
    return count


def prepare(url: str, entities: int) -> tuple[str, list[str]]:
    """A database with user ``bench`` in project ``bench`` and ``entities``
    entities (filled unless it already is); the project id and 2,000 random
    entity ids.

    SQLite is filled through the store's write path; PostgreSQL with
    :data:`SEED_ENTITIES` that way, then cloned in SQL (:func:`clone_postgres`).
    """
    store = Store.open(url)
    accounts = Accounts(store)
    existing = [p for p in accounts.projects() if p.name == "bench"]
    if existing:
        project = existing[0]
    else:
        project = accounts.create_project("bench")
        accounts.add_user("bench", "bench-password", full_name="Bench Mark")
        accounts.add_member("bench", "bench")
    with store.engine.connect() as conn:
        count = conn.execute(sa.text("SELECT count(*) FROM entities")).scalar()
    if count < entities:
        start = time.perf_counter()
        if count == 0:
            seed = min(entities, SEED_ENTITIES) if store.is_postgres else entities
            _, count = populate(store, project.id, seed)
            print(f"populated {count:,} entities", flush=True)
        if store.is_postgres:
            count = clone_postgres(store.engine, entities)
            # What autovacuum does to a lab's database long before anyone
            # measures it; done here so that it does not run during the load.
            vacuum = sa.create_engine(store.engine.url, isolation_level="AUTOCOMMIT")
            with vacuum.connect() as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
            vacuum.dispose()
        print(
            f"filled {count:,} entities in {time.perf_counter() - start:.1f} s",
            flush=True,
        )
    else:
        print(f"reusing {count:,} entities", flush=True)
    with store.engine.connect() as conn:
        ids = (
            conn.execute(
                sa.text("SELECT id FROM entities TABLESAMPLE SYSTEM (1) LIMIT 2000")
                if store.is_postgres
                else sa.text("SELECT id FROM entities ORDER BY random() LIMIT 2000")
            )
            .scalars()
            .all()
        )
    store.engine.dispose()
    return project.id, ids


def token_of(base: str) -> str:
    reply = requests.post(
        base + API + "authenticate", auth=("bench", "bench-password"), timeout=30
    )
    reply.raise_for_status()
    return reply.text


def get_script(base: str, ids: list[str]) -> str:
    values = {"api": API, "token": token_of(base)}
    return GET_SCRIPT % {**values, "ids": ", ".join(f'"{i}"' for i in ids)}


def save_script(base: str, project_id: str) -> str:
    return SAVE_SCRIPT % {"api": API, "token": token_of(base), "project": project_id}


def update_script(base: str, project_id: str, count: int = 200) -> str:
    """Saves ``count`` samples, then the script updating them in turn."""
    token = token_of(base)
    tag = secrets.token_hex(3)
    ids = []
    for index in range(count):
        reply = requests.post(
            base + API + "save",
            json={
                "type": "sample",
                "name": f"updated_{tag}_{index}",
                "project_id": project_id,
                "attributes": {"sample_type": "slice"},
            },
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        reply.raise_for_status()
        ids.append(reply.json()["id"])
    values = {"api": API, "token": token, "ids": ", ".join(f'"{i}"' for i in ids)}
    return UPDATE_SCRIPT % values


def bench_database(label: str, url: str, args) -> None:
    project_id, ids = prepare(url, args.entities)
    process, base = start_server(url, args.workers)
    try:
        if "get" in args.requests:
            measure(
                label,
                "get by id",
                get_script(base, ids),
                [process],
                url,
                [base],
                args,
                ">= 3000/s, <= 0.35 ms CPU/request, p99 <= 4x median",
            )
        if "save" in args.requests:
            measure(
                label,
                "save",
                save_script(base, project_id),
                [process],
                url,
                [base],
                args,
                ">= 800/s, <= 1.0 ms CPU/request, p99 <= 4x median",
            )
        if "update" in args.requests:
            measure(
                label,
                "update-one",
                update_script(base, project_id),
                [process],
                url,
                [base],
                args,
                "<= 1.0 ms CPU/request, p99 <= 4x median",
            )
    finally:
        process.terminate()
        process.wait(timeout=30)


def postgres_database(server: str, keep: str | None):
    """The URL of a benchmark database on ``server`` and a function that
    drops it afterwards (nothing to drop for a kept one)."""
    name = keep or f"flexilims_bench_{secrets.token_hex(4)}"
    admin = sa.create_engine(db.create_engine(server).url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        ).first()
        if exists is None:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
    url = db.create_engine(server).url.set(database=name)

    def drop():
        if keep is None:
            with admin.connect() as conn:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()

    return url.render_as_string(hide_password=False), drop


def arguments(description: str) -> argparse.ArgumentParser:
    """The options shared with :mod:`bench_scaleout`."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--entities", type=int, default=1_000_000)
    parser.add_argument("--duration", type=int, default=10, help="seconds per run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--wrk-threads",
        type=int,
        default=1,
        help="wrk's threads (one drives 32 connections well and leaves the "
        "server more of a 2-core machine)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=3,
        help="seconds of unmeasured load before the runs of each request",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="measured runs of each request"
    )
    parser.add_argument(
        "--postgres",
        default="postgresql://postgres@127.0.0.1/test",
        help="a PostgreSQL server URL (a database is made on it)",
    )
    parser.add_argument(
        "--keep-database",
        metavar="NAME",
        help="fill (once) and keep this PostgreSQL database instead of a fresh "
        "one dropped at the end",
    )
    return parser


def main():
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--requests",
        default="get,save",
        help="which loads, comma-separated: get, save, update",
    )
    parser.add_argument(
        "--backends",
        default="postgresql",
        help="postgresql, sqlite or both (comma-separated)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    backends = args.backends.split(",")
    if "postgresql" in backends:
        url, drop = postgres_database(args.postgres, args.keep_database)
        try:
            bench_database("postgresql", url, args)
        finally:
            drop()
    if "sqlite" in backends:
        folder = Path(tempfile.mkdtemp(prefix="flexilims-bench-"))
        bench_database("sqlite", f"sqlite:///{folder / 'bench.db'}", args)


if __name__ == "__main__":
    main()
