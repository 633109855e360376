"""Load for the issue's full minute: 32 clients of mixed reads and writes
against a 2-worker server on PostgreSQL, 8 on SQLite; prints the figures
(requests, statuses, 5xx, latency, writes acknowledged and found).

    python bench/bench_load.py [--seconds 60] [--postgres postgresql://postgres@127.0.0.1/test]

The test suite runs the same load for a few seconds
(``tests/flexilims/server/test_load.py``).
"""

import argparse
import os
import secrets
import sys
import tempfile
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from flexilims.store import Store, db  # noqa: E402
from flexilims.store.accounts import Accounts  # noqa: E402
from load_driver import run_load, verify  # noqa: E402
from servers import ServerProcess  # noqa: E402


def one_backend(url: str, clients: int, seconds: float) -> None:
    store = Store.open(url)
    accounts = Accounts(store)
    project = accounts.create_project("load")
    users = [(f"user{i}", f"pw{i}") for i in range(4)]
    for name, password in users:
        accounts.add_user(name, password)
        accounts.add_member(name, "load")
    server = ServerProcess(url, "--workers", "2")
    try:
        figures = run_load(server.base_url, project.id, users, clients, seconds)
    finally:
        server.stop()
    found = verify(store.engine, project.id, figures)
    store.engine.dispose()
    print(f"{store.engine.dialect.name}, {clients} clients: {figures.summary()}")
    print(
        f"  writes acknowledged {found['acknowledged']}, found {found['found']}, "
        f"missing {len(found['missing'])}, doubled {len(found['doubled'])}, "
        f"unacknowledged {len(found['unacknowledged'])}, "
        f"stale updates {len(found['stale_updates'])}"
    )
    for operation, status, text in figures.unexpected[:5]:
        print(f"  unexpected: {operation} {status} {text}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument(
        "--postgres", default=os.environ.get("FLEXILIMS_TEST_POSTGRES_URL")
    )
    args = parser.parse_args()
    os.environ.setdefault("FLEXILIMS_PASSWORD_HASHING", "fast")
    with tempfile.TemporaryDirectory() as folder:
        one_backend(f"sqlite:///{folder}/load.db", 8, args.seconds)
    if not args.postgres:
        print("PostgreSQL skipped: give --postgres URL")
        return
    name = f"flexilims_bench_load_{secrets.token_hex(4)}"
    admin = sa.create_engine(
        db.create_engine(args.postgres).url, isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        url = db.create_engine(args.postgres).url.set(database=name)
        one_backend(url.render_as_string(hide_password=False), 32, args.seconds)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


if __name__ == "__main__":
    main()
