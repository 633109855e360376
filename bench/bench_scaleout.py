"""Benchmark of scaling out (issue 11): ``get`` by id on one ``flexilims
serve`` instance, then on two instances (different ports) of the same
PostgreSQL database, loaded together.

Each instance runs ``--workers`` workers (1). wrk drives ``--connections``
connections (32) in all: all on the one instance, then half on each of the
two (two wrk processes at once); the figures are the sum of the two. Target:
two instances serve at least 1.7 times one instance's requests/s. It prints
requests/s, median and p99 latency and the CPU per request of the servers and
of the database's connections, for each of ``--repeat`` rounds (one instance,
then two) and their medians, and the ratio.

On a machine of 2 cores shared with the database, wrk and other work, the
ratio says how much CPU was left over for a second instance: it prints the
machine's load (``/proc/loadavg``) and the CPU the servers used per second
(in cores) beside it.

Run: ``python bench/bench_scaleout.py [--keep-database flexilims_bench_1m]
[--workers 1] [--duration 10]``.
"""

import shutil
import statistics
import sys
from pathlib import Path

from bench_server import (
    arguments,
    describe,
    get_script,
    measured_run,
    postgres_database,
    prepare,
    run_wrk,
    start_server,
)


def load_average() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def one_round(label, processes, url, bases, script, args) -> dict:
    for base in bases:
        run_wrk(base, script, args.warmup, args.connections // len(bases))
    result = measured_run(processes, url, bases, script, args)
    cores = result["cpu_ms"] * result["rate"] / 1000
    print(
        f"  {label}: {describe(result)}; servers busy {cores:.2f} cores; "
        f"load average {load_average()}",
        flush=True,
    )
    return result


def main():
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument(
        "--workers", type=int, default=1, help="worker processes per instance"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    url, drop = postgres_database(args.postgres, args.keep_database)
    servers = []
    try:
        _, ids = prepare(url, args.entities)
        servers = [start_server(url, args.workers) for _ in range(2)]
        (one, first), (two, second) = servers
        script = get_script(first, ids)
        singles, pairs = [], []
        for index in range(args.repeat):
            print(f"round {index + 1}", flush=True)
            singles.append(
                one_round("one instance ", [one], url, [first], script, args)
            )
            pairs.append(
                one_round(
                    "two instances", [one, two], url, [first, second], script, args
                )
            )
        single = statistics.median(r["rate"] for r in singles)
        pair = statistics.median(r["rate"] for r in pairs)
        print(
            f"get by id, {args.connections} connections, {args.workers} worker(s) "
            f"per instance, medians of {args.repeat} rounds: one instance "
            f"{single:.0f} requests/s "
            f"({statistics.median(r['cpu_ms'] for r in singles):.3f} ms server CPU/"
            f"request), two instances {pair:.0f} requests/s "
            f"({statistics.median(r['cpu_ms'] for r in pairs):.3f} ms); ratio "
            f"{pair / single:.2f} (target: >= 1.7)",
            flush=True,
        )
    finally:
        for process, _ in servers:
            process.terminate()
            process.wait(timeout=30)
        drop()


if __name__ == "__main__":
    main()
