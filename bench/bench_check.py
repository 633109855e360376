"""Benchmark of ``flexilims check``: a database of a million entities must be
checkable in minutes (one query per check, no query per entity).

Fills a temporary SQLite file (and, when ``FLEXILIMS_TEST_POSTGRES_URL``
names a server, a temporary PostgreSQL database) with mice > sessions >
recordings > datasets through ``import_project`` (the dump of
``bench_import.py``), then times ``check`` and ``check --fix`` and prints the
figures: entities, seconds, entities per second, problems found.

Run: ``python bench/bench_check.py [--entities 1000000]``.
"""

import argparse
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_import import count, make_dump  # noqa: E402

from flexilims.store import Store, db  # noqa: E402
from flexilims.store.check import check  # noqa: E402
from flexilims.store.files.transfer import import_project  # noqa: E402


def one_database(url: str, dump: dict, total: int) -> None:
    store = Store.open(url)
    started = time.perf_counter()
    import_project(store, dump, "bench", progress=False)
    filled = time.perf_counter() - started
    started = time.perf_counter()
    report = check(store)
    took = time.perf_counter() - started
    started = time.perf_counter()
    check(store, fix=True)
    fixing = time.perf_counter() - started
    found = {kind: len(items) for kind, items in report.problems.items() if items}
    print(
        f"{store.engine.dialect.name}: {report.entities} entities (of {total}) "
        f"imported in {filled:.1f} s; check {took:.1f} s "
        f"({report.entities / took:,.0f} entities/s); check --fix {fixing:.1f} s; "
        f"problems {found or 'none'}"
    )
    store.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=1_000_000)
    parser.add_argument(
        "--postgres", default=os.environ.get("FLEXILIMS_TEST_POSTGRES_URL")
    )
    args = parser.parse_args()
    dump = make_dump(args.entities)
    total = count(dump)
    with tempfile.TemporaryDirectory() as folder:
        one_database(f"sqlite:///{folder}/check.db", dump, total)
    if not args.postgres:
        print("PostgreSQL skipped: give --postgres URL")
        return
    name = f"flexilims_bench_check_{secrets.token_hex(4)}"
    admin = sa.create_engine(
        db.create_engine(args.postgres).url, isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        url = db.create_engine(args.postgres).url.set(database=name)
        one_database(url.render_as_string(hide_password=False), dump, total)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


if __name__ == "__main__":
    main()
