"""Benchmark of the REST server under load (issue: server).

Fills a database with about 100,000 entities, starts ``flexilims serve`` with
2 workers and loads it from a separate process with wrk (Debian package
``wrk``) at 32 concurrent connections:

- ``GET get?id=...`` (target: at least 1,000 requests/s, p99 under 50 ms);
- ``POST save`` of new entities (target: at least 400 requests/s).

Runs on PostgreSQL (a fresh database on the server of ``--postgres``) and on
SQLite, and prints the figures of both: each of ``--repeat`` runs (3) and their
median, since a shared machine's figures move from one run to the next. The
runs follow a few seconds of the same load, not measured (``--warmup``), so
that the figures are those of a server in steady state (pools filled,
statements prepared).

Run: ``python bench/bench_server.py [--entities 100000] [--duration 10]``.
"""

import argparse
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


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(url: str, workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [sys.executable, "-m", "flexilims.cli", "serve", "--database", url]
    command += ["--port", str(port), "--workers", str(workers), "--no-access-log"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
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


def run_wrk(base: str, script: str, duration: int, connections: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as stream:
        stream.write(script)
    command = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency"]
    output = subprocess.run(
        command + ["-s", stream.name, base], capture_output=True, text=True, check=True
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", output)
    scale = {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "rate": rate,
        "p99_ms": float(p99.group(1)) * scale,
        "errors": int(errors.group(1)) if errors else 0,
    }


def measure(label: str, what: str, script: str, base: str, args, target: str):
    """Warm up, then run ``args.repeat`` measured runs; print each and the median.

    The warm-up (``args.warmup`` seconds, not kept) puts the server in steady
    state: connection pools filled, statements prepared. Repeated runs show how
    much the figures move on a shared machine.
    """
    if args.warmup:
        run_wrk(base, script.replace("wrk_", "warm_"), args.warmup, args.connections)
    runs = []
    for index in range(args.repeat):
        # Saves name their entities per run, so that runs do not clash.
        result = run_wrk(
            base,
            script.replace("wrk_", f"run{index}_"),
            args.duration,
            args.connections,
        )
        runs.append(result)
        print(
            f"[{label}]   {what} run {index + 1}: {result['rate']:.0f} requests/s, "
            f"p99 {result['p99_ms']:.1f} ms, {result['errors']} errors"
        )
    rate = statistics.median(r["rate"] for r in runs)
    p99 = statistics.median(r["p99_ms"] for r in runs)
    errors = sum(r["errors"] for r in runs)
    print(
        f"[{label}] {what}, {args.connections} connections, {args.workers} workers, "
        f"median of {len(runs)} runs: {rate:.0f} requests/s, p99 {p99:.1f} ms, "
        f"{errors} errors (target: {target})"
    )


def bench_database(label: str, url: str, args) -> None:
    store = Store.open(url)
    project = Accounts(store).create_project("bench")
    Accounts(store).add_user("bench", "bench-password", full_name="Bench Mark")
    Accounts(store).add_member("bench", "bench")
    start = time.perf_counter()
    _, count = populate(store, project.id, args.entities)
    print(
        f"[{label}] populated {count:,} entities in {time.perf_counter() - start:.1f} s"
    )
    with store.engine.connect() as conn:
        ids = (
            conn.execute(
                sa.text("SELECT id FROM entities ORDER BY random() LIMIT 2000")
            )
            .scalars()
            .all()
        )
    store.engine.dispose()
    if store.is_postgres:
        # What autovacuum does to a lab's database long before anyone measures
        # it; done here so that it does not run during the measured load.
        vacuum = sa.create_engine(store.engine.url, isolation_level="AUTOCOMMIT")
        with vacuum.connect() as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
        vacuum.dispose()
    process, base = start_server(url, args.workers)
    try:
        token = requests.post(
            base + API + "authenticate", auth=("bench", "bench-password"), timeout=10
        ).text
        values = {"api": API, "token": token, "project": project.id}
        get_script = GET_SCRIPT % {**values, "ids": ", ".join(f'"{i}"' for i in ids)}
        measure(label, "get by id", get_script, base, args, ">= 1000/s, p99 < 50 ms")
        measure(label, "save", SAVE_SCRIPT % values, base, args, ">= 400/s")
    finally:
        process.terminate()
        process.wait(timeout=30)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--duration", type=int, default=10, help="seconds per run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--warmup",
        type=int,
        default=3,
        help="seconds of unmeasured load before the runs of each request",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--repeat", type=int, default=3, help="measured runs of each request"
    )
    parser.add_argument(
        "--postgres",
        default="postgresql://postgres@127.0.0.1/test",
        help="a PostgreSQL server URL (a fresh database is made on it)",
    )
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")

    name = f"flexilims_bench_{secrets.token_hex(4)}"
    admin = sa.create_engine(
        db.create_engine(args.postgres).url, isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        url = db.create_engine(args.postgres).url.set(database=name)
        bench_database("postgresql", url.render_as_string(hide_password=False), args)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    if not args.skip_sqlite:
        folder = Path(tempfile.mkdtemp(prefix="flexilims-bench-"))
        bench_database("sqlite", f"sqlite:///{folder / 'bench.db'}", args)


if __name__ == "__main__":
    main()
