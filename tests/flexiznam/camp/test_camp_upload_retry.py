"""The upload survives a lost reply: its batch carries an idempotency key and
is sent once more when the server could not be reached."""

import pytest
from camp_setup import MOUSE, PROJECT

import flexiznam.main as flz
from flexilims import Flexilims
from flexilims.errors import ServerUnreachable
from flexilims.store.accounts import Accounts
from flexiznam.camp import upload


class LosesFirstBatchReply(Flexilims):
    """An HTTP client whose network drops the reply of its first batch: the
    request reaches the real server and is applied; the client never hears."""

    lost = 0

    def _send(self, method, operation, **kwargs):
        reply = super()._send(method, operation, **kwargs)
        if operation == "batch" and not self.lost:
            self.lost += 1
            raise ServerUnreachable("connection reset by peer (injected)")
        return reply


@pytest.fixture
def lossy(store, project, config_dir, database_url, servers):
    accounts = Accounts(store)
    accounts.add_user("tester", "tester-password", full_name="tester")
    accounts.add_member("tester", project.name)
    return LosesFirstBatchReply(
        "tester", "tester-password", project.id, base_url=servers(database_url)
    )


def test_a_lost_reply_is_retried_and_applied_once(acquisition, lossy, store):
    flz.add_entity(
        "mouse",
        MOUSE,
        attributes={"genealogy": [MOUSE], "path": f"{PROJECT}/{MOUSE}"},
        flexilims_session=lossy,
    )
    report = upload(acquisition, flexilims_session=lossy, progress=False)
    assert lossy.lost == 1
    assert report.counts() == {"created": 12, "updated": 0, "skipped": 0}
    names = [entity["name"] for entity in lossy.get("dataset")]
    assert len(names) == len(set(names)) == 8
