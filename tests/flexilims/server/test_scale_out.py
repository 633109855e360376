"""Scale out: two ``flexilims serve`` instances (different ports) on one
PostgreSQL database serve the same users. A token from one works on the
other, and what one writes the other reads at once: the servers keep no state
of their own."""

import pytest
import requests

from flexilims import Flexilims
from flexilims.store.accounts import Accounts
from servers import ServerProcess

pytestmark = pytest.mark.slow


@pytest.fixture
def two_instances(database_url, store):
    """Two servers of two workers each on the test's PostgreSQL database."""
    if not store.is_postgres:
        pytest.skip("instances of a lab server share a PostgreSQL database")
    servers = [ServerProcess(database_url, "--workers", "2") for _ in range(2)]
    yield [server.base_url for server in servers]
    for server in servers:
        server.stop()


def test_a_token_from_one_instance_works_on_the_other(two_instances, store):
    first, second = two_instances
    project = Accounts(store).create_project("lab")
    Accounts(store).add_user("jane", "pw", "Jane Doe")
    Accounts(store).add_member("jane", "lab")
    token = requests.post(first + "authenticate", auth=("jane", "pw"), timeout=30).text
    headers = {"Authorization": f"Bearer {token}"}
    for base in (first, second, first, second):
        reply = requests.get(base + "projects", headers=headers, timeout=30)
        assert reply.status_code == 200, reply.text
        assert [p["id"] for p in reply.json()] == [project.id]
    # Revoked on one, refused by the other (which had not cached it).
    other = requests.post(first + "authenticate", auth=("jane", "pw"), timeout=30)
    other_headers = {"Authorization": f"Bearer {other.text}"}
    assert requests.post(first + "revoke", headers=other_headers, timeout=30).ok
    reply = requests.get(second + "projects", headers=other_headers, timeout=30)
    assert reply.status_code == 403


def test_a_write_on_one_instance_is_read_on_the_other_at_once(two_instances, store):
    first, second = two_instances
    project = Accounts(store).create_project("lab")
    Accounts(store).add_user("jane", "pw", "Jane Doe")
    Accounts(store).add_member("jane", "lab")
    writer = Flexilims("jane", "pw", project_id=project.id, base_url=first)
    reader = Flexilims(
        "jane", token=writer.token, project_id=project.id, base_url=second
    )
    for index in range(5):
        created = writer.post("mouse", f"mouse{index}", {"genotype": f"g{index}"})
        found = reader.get("mouse", id=created["id"])
        assert [entity["attributes"] for entity in found] == [{"genotype": f"g{index}"}]
        updated = reader.update_one(
            created["id"], "mouse", attributes={"genotype": "changed"}
        )
        assert updated["attributes"] == {"genotype": "changed"}
        again = writer.get("mouse", id=created["id"])
        assert again[0]["attributes"] == {"genotype": "changed"}
