"""PostgreSQL databases of their own for tests (imported by the conftest
files and by tests that need a database no other test has touched)."""

import os
import secrets
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from flexilims.store import db

#: The server the PostgreSQL tests run on; without it they are skipped.
POSTGRES_ENV = "FLEXILIMS_TEST_POSTGRES_URL"


@contextmanager
def new_postgres_database(prefix: str = "flexilims_test"):
    """A new, empty database on the test server (skipped without one), with
    commits that do not wait for the disk (``synchronous_commit=off``: a crash
    of the test server may lose the last transactions, never corrupt); its
    URL, dropped at the end."""
    server = os.environ.get(POSTGRES_ENV)
    if not server:
        pytest.skip(f"PostgreSQL skipped: set {POSTGRES_ENV} to run these tests")
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = sa.create_engine(db.create_engine(server).url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
        conn.exec_driver_sql(f"ALTER DATABASE {name} SET synchronous_commit = off")
    url = db.create_engine(server).url.set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()
