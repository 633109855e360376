"""Behind PgBouncer in transaction mode: a statement prepared on one server
connection is not there on the next, so the ``prepared_statements`` setting
turns psycopg's server-side prepared statements off; a real server then
serves reads and writes through a real PgBouncer."""

from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
import requests

from flexilims.settings import Settings
from flexilims.store import Store, db
from flexilims.store.accounts import Accounts
from pgbouncer import OwnPgBouncer, pgbouncer_bin
from servers import ServerProcess

pytestmark = pytest.mark.slow


def test_the_setting_reaches_the_connections(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("prepared statements are PostgreSQL's")
    for prepared, threshold in ((True, 5), (False, None)):
        engine = db.create_engine(database_url, Settings(prepared_statements=prepared))
        with engine.connect() as conn:
            assert conn.connection.driver_connection.prepare_threshold == threshold
        engine.dispose()


@pytest.fixture
def bouncer(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("PgBouncer pools PostgreSQL connections")
    if pgbouncer_bin() is None:
        pytest.skip("pgbouncer is not installed (Debian package pgbouncer)")
    # One server connection: every client's transactions take turns on it.
    bouncer = OwnPgBouncer(database_url, pool_size=1)
    yield bouncer
    bouncer.stop()


def bounced_url(bouncer, database_url) -> str:
    return bouncer.url(database_url.rsplit("/", 1)[1])


def test_prepared_statements_break_behind_the_pooler(bouncer, database_url):
    """Why the setting exists: two clients that prepare their statements on
    the one server connection clash (the hazard the other tests avoid)."""
    url = bounced_url(bouncer, database_url)
    clients = [psycopg.connect(url, autocommit=True) for _ in range(2)]
    try:
        with pytest.raises(psycopg.Error):
            for _ in range(10):
                for client in clients:
                    client.execute("SELECT %s::int", (1,)).fetchall()
    finally:
        for client in clients:
            client.close()


def test_a_server_behind_pgbouncer_in_transaction_mode(bouncer, database_url, store):
    url = bounced_url(bouncer, database_url)
    accounts = Accounts(store)
    project = accounts.create_project("lab")
    accounts.add_user("jane", "pw", "Jane Doe")
    accounts.add_member("jane", "lab")
    server = ServerProcess(
        url, "--workers", "2", env={"FLEXILIMS_PREPARED_STATEMENTS": "false"}
    )
    try:
        base = server.base_url
        token = requests.post(base + "authenticate", auth=("jane", "pw"), timeout=30)
        headers = {"Authorization": f"Bearer {token.text}"}

        def save_and_read(index):
            saved = requests.post(
                base + "save",
                json={
                    "type": "mouse",
                    "name": f"mouse{index}",
                    "project_id": project.id,
                    "attributes": {"genotype": f"g{index}"},
                },
                headers=headers,
                timeout=60,
            )
            assert saved.status_code == 200, saved.text
            for _ in range(6):
                found = requests.get(
                    base + "get",
                    params={"id": saved.json()["id"]},
                    headers=headers,
                    timeout=60,
                )
                assert found.status_code == 200, found.text
                assert found.json()[0]["attributes"] == {"genotype": f"g{index}"}

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(save_and_read, range(40)))
        listed = requests.get(
            base + "get",
            params={"type": "mouse", "project_id": project.id},
            headers=headers,
            timeout=60,
        )
        assert sorted(e["name"] for e in listed.json()) == sorted(
            f"mouse{index}" for index in range(40)
        )
    finally:
        server.stop()
    # Opening a store through the pooler (schema check included) works too.
    through = Store.open(url, Settings(prepared_statements=False))
    with through.read() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM entities").scalar() == 40
    through.engine.dispose()
