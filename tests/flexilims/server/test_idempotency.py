"""Safe retries: ``batch`` with an idempotency key replays its first reply
instead of applying twice, refuses the key with another request, and keys
are per user and kept a day; over a real server and in-process."""

import concurrent.futures
import uuid

import pytest
import requests
import sqlalchemy as sa

from flexilims import Flexilims, LocalSession
from flexilims.errors import BadRequest, IdempotencyKeyReused
from flexilims.store import models as m
from flexilims.store.accounts import Accounts
from flexilims.store.idempotency import HEADER, LIFETIME_MS, REPLAY_HEADER

KEY = HEADER
SERVER_API = "/flexilims/api/"


def count(store, datatype="mouse") -> int:
    with store.read() as conn:
        return conn.execute(
            sa.select(sa.func.count())
            .select_from(m.entities)
            .where(m.entities.c.type == datatype)
        ).scalar()


def keyed(call, params, body, key):
    """``POST batch`` with an idempotency key, as ``call``'s user."""
    headers = {**call.user.headers, KEY: key}
    return call.api.post(
        SERVER_API + "batch", params=params, json=body, headers=headers
    )


def mice(n: int, prefix: str = "M") -> dict:
    return {"operations": [{"type": "mouse", "name": f"{prefix}{i}"} for i in range(n)]}


def test_a_retry_replays_the_first_reply(call, project, store, snapshot):
    params = {"project_id": project.id}
    first = keyed(call, params, mice(3), "k-1")
    assert first.status_code == 200 and REPLAY_HEADER not in first.headers
    before = snapshot(store)
    again = keyed(call, params, mice(3), "k-1")
    assert again.status_code == 200, again.text
    assert again.headers[REPLAY_HEADER] == "true"
    assert again.json() == first.json()
    assert snapshot(store) == before and count(store) == 3
    # The same JSON written in another key order is the same request.
    body = {"operations": [{"name": f"M{i}", "type": "mouse"} for i in range(3)]}
    assert keyed(call, params, body, "k-1").json() == first.json()
    # Another request with the key: a clear 422, nothing written.
    other = keyed(call, params, mice(4), "k-1")
    assert other.status_code == 422
    assert "idempotency_key_reused" in other.headers["X-Flexilims-Error"]
    assert "was used for another request" in other.text
    assert (
        keyed(call, {**params, "conflicts": "skip"}, mice(3), "k-1").status_code == 422
    )
    assert snapshot(store) == before
    # Without a key, the same batch is applied again (here: refused, taken names).
    assert call("batch", params, mice(3)).status_code == 400


def test_keys_are_per_user_and_kept_a_day(call, project, store, make_user, login):
    params = {"project_id": project.id}
    bob = login(make_user("bob", projects=["test"]))
    assert keyed(call, params, mice(1, "J"), "shared").status_code == 200
    reply = keyed(call.as_(bob), params, mice(1, "B"), "shared")
    assert reply.status_code == 200 and REPLAY_HEADER not in reply.headers
    assert count(store) == 2
    # A day later the key is forgotten: the same key may name a new request.
    with store.write() as conn:
        conn.execute(
            sa.update(m.idempotency_keys).values(
                created_at=m.idempotency_keys.c.created_at - LIFETIME_MS - 1
            )
        )
    reply = keyed(call, params, mice(1, "K"), "shared")
    assert reply.status_code == 200 and REPLAY_HEADER not in reply.headers
    with store.read() as conn:
        rows = conn.execute(sa.select(m.idempotency_keys.c.username)).scalars().all()
    assert sorted(rows) == ["jane"]  # expired keys are cleaned up


def test_refused_batches_and_dry_runs_keep_no_key(call, project, store, snapshot):
    params = {"project_id": project.id}
    call("batch", params, mice(1))
    before = snapshot(store)
    refused = keyed(call, params, mice(2), "k-2")
    assert refused.status_code == 400 and snapshot(store) == before
    dry = keyed(call, {**params, "dry_run": "true"}, mice(2, "N"), "k-2")
    assert dry.status_code == 200 and snapshot(store) == before
    applied = keyed(call, params, mice(2, "N"), "k-2")
    assert applied.status_code == 200 and count(store) == 3
    # A batch that writes nothing (every creation skipped) keeps no key.
    before = snapshot(store)
    skipped = keyed(call, {**params, "conflicts": "skip"}, mice(2, "N"), "k-3")
    assert skipped.status_code == 200 and skipped.json()["skipped"] == 2
    assert snapshot(store) == before


@pytest.mark.parametrize("key", ["", " ", "a b", "x" * 201, "é"])
def test_malformed_keys_are_refused(call, project, store, snapshot, key):
    before = snapshot(store)
    try:
        reply = keyed(call, {"project_id": project.id}, mice(1), key)
    except UnicodeEncodeError:
        return  # the HTTP client cannot even send it
    assert reply.status_code == 400, reply.text
    assert HEADER in reply.text
    assert snapshot(store) == before


def test_concurrent_retries_apply_once(server, store, project, make_user):
    """Eight copies of one keyed batch at once on a real server: applied
    once, every reply the same."""
    user = make_user("jane", projects=["test"])
    client = Flexilims(user.username, user.password, project.id, base_url=server)
    body = mice(200, "C")["operations"]
    key = uuid.uuid4().hex
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        replies = list(
            pool.map(lambda _: client.batch(body, idempotency_key=key), range(8))
        )
    assert all(reply == replies[0] for reply in replies)
    assert replies[0]["created"] == 200 and count(store) == 200
    with pytest.raises(IdempotencyKeyReused):
        client.batch(body[:10], idempotency_key=key)


def test_sessions_take_a_key(server, store, project, make_user):
    user = make_user("jane", projects=["test"])
    client = Flexilims(user.username, user.password, project.id, base_url=server)
    first = client.batch(mice(2)["operations"], idempotency_key="s-1")
    assert client.batch(mice(2)["operations"], idempotency_key="s-1") == first
    with pytest.raises(BadRequest):
        client.batch(mice(2)["operations"], idempotency_key="no spaces")
    # In-process there is no reply to lose: the key is accepted and ignored.
    local = LocalSession(store, project_id=project.id)
    assert (
        local.batch(mice(1, "L")["operations"], idempotency_key="s-1")["created"] == 1
    )
    assert count(store) == 3
    assert requests.get(server + "health", timeout=10).ok
    assert Accounts(store).users()
