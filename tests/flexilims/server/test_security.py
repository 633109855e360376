"""Nobody let in: every route of a real server with no, malformed, expired
and revoked tokens, a member of another project trying every write, failed
logins throttled, and answers that do not tell who exists."""

import statistics
import time
from dataclasses import replace

import pytest
import requests
import sqlalchemy as sa

from flexilims import LocalSession, protocol
from flexilims.errors import AuthenticationFailed, TooManyRequests
from flexilims.server.api import Api
from flexilims.store import Store
from flexilims.store import models as m
from flexilims.store.accounts import Accounts
from servers import ServerProcess

#: Routes that need no token.
PUBLIC = {"authenticate", "openapi.json", "health"}


def route_names(store) -> set:
    return {route.path.rsplit("/", 1)[1] for route in Api(store).routes()}


def hierarchy(store, project_id: str) -> dict:
    session = LocalSession(store, project_id=project_id, username="jane")
    mouse = session.post("mouse", "M1", {"sex": "F"})
    day = session.post("session", "M1_S1", {"date": "d"}, origin_id=mouse["id"])
    data = session.post("dataset", "M1_S1_ds", {"path": "a"}, origin_id=day["id"])
    return {"mouse": mouse, "session": day, "dataset": data}


def request_for(operation: str, tree: dict, project_id: str) -> dict:
    """A plausible request of each route, aimed at jane's data."""
    mouse = tree["mouse"]
    params = {
        "get": {"type": "mouse", "project_id": project_id},
        "get-children": {"id": mouse["id"]},
        "get-descendants": {"id": mouse["id"]},
        "projects": {},
        "save": {"strict_validation": "false"},
        "update-one": {"type": "mouse", "id": mouse["id"]},
        "update-many": {
            "type": "mouse",
            "project_id": project_id,
            "update_key": "sex",
            "update_value": "X",
        },
        "delete": {"id": mouse["id"]},
        "batch": {"project_id": project_id},
        "revoke": {},
        "history": {"id": mouse["id"]},
        "revert": {"id": mouse["id"], "version": "1"},
        "trash": {"project_id": project_id},
        "restore": {"batch": "0" * 32},
        "export": {"project_id": project_id},
    }.get(operation, {"id": mouse["id"], "project_id": project_id})
    body = {
        "save": {"type": "mouse", "name": "intruder", "project_id": project_id},
        "update-one": {"attributes": {"sex": "X"}, "name": "renamed"},
        "batch": {
            "operations": [
                {"type": "mouse", "name": "intruder"},
                {
                    "op": "update",
                    "type": "mouse",
                    "id": mouse["id"],
                    "attributes": {"sex": "X"},
                },
            ]
        },
    }.get(operation)
    return {
        "method": protocol.METHODS.get(operation, "POST"),
        "params": params,
        "json": body,
    }


def without(snapshot: dict, *tables: str) -> dict:
    return {name: rows for name, rows in snapshot.items() if name not in tables}


@pytest.fixture
def lab(store, start_server):
    """Jane's project with a hierarchy, Bob's project, and a real server."""
    accounts = Accounts(store)
    project = accounts.create_project("lab")
    accounts.create_project("bobs")
    accounts.add_user("jane", "jane-pw", "Jane Doe")
    accounts.add_user("bob", "bob-pw", "Bob Doe")
    accounts.add_member("jane", "lab")
    accounts.add_member("bob", "bobs")
    tree = hierarchy(store, project.id)
    base = start_server()
    return base, project.id, tree


def test_every_route_refuses_bad_tokens_and_writes_nothing(store, lab, snapshot):
    base, project_id, tree = lab
    names = route_names(store)
    assert names == set(protocol.METHODS) | {"revoke"} | PUBLIC
    accounts = Accounts(store)
    expired = accounts.authenticate("jane", "jane-pw", lifetime_ms=1)
    revoked = accounts.authenticate("jane", "jane-pw")
    accounts.revoke_token(revoked)
    time.sleep(0.01)
    bad = {
        "none": {},
        "empty": {"Authorization": "Bearer "},
        "malformed": {"Authorization": "Bearer not a token;\"' or 1=1"},
        "huge": {"Authorization": "Bearer " + "x" * 4000},
        "wrong scheme": {"Authorization": "Token abc"},
        "expired": {"Authorization": f"Bearer {expired}"},
        "revoked": {"Authorization": f"Bearer {revoked}"},
        "revoked cookie": {"Cookie": f"flexilims_token={revoked}"},
    }
    before = snapshot(store)
    tried = 0
    for operation in sorted(names - PUBLIC):
        request = request_for(operation, tree, project_id)
        for kind, headers in bad.items():
            try:
                reply = requests.request(
                    request["method"],
                    base + operation,
                    params=request["params"],
                    json=request["json"],
                    headers=headers,
                    timeout=30,
                )
            except requests.exceptions.InvalidHeader:
                continue  # requests itself refuses to send a control character
            tried += 1
            assert reply.status_code == 403, (operation, kind, reply.text)
            assert "forbidden" in reply.headers["X-Flexilims-Error"]
    assert tried >= len(names - PUBLIC) * (len(bad) - 1)
    assert snapshot(store) == before
    assert requests.get(base + "health", timeout=30).json()["database"] == "reachable"
    assert requests.get(base + "openapi.json", timeout=30).status_code == 200


def test_a_member_of_another_project_writes_nothing(store, lab, snapshot):
    base, project_id, tree = lab
    token = requests.post(
        base + "authenticate", auth=("bob", "bob-pw"), timeout=30
    ).text
    headers = {"Authorization": f"Bearer {token}"}
    # Something of hers in the trash, for bob to try to restore.
    jane = LocalSession(store, project_id=project_id, username="jane")
    jane.delete(jane.post("sample", "M1_gone", {}, origin_id=tree["mouse"]["id"])["id"])
    (batch,) = jane.trash()
    before = snapshot(store)
    writes = ["save", "update-one", "update-many", "delete", "batch", "revert"]
    for operation in [*writes, "restore"]:
        request = request_for(operation, tree, project_id)
        if operation == "restore":
            request["params"] = {"batch": batch["batch"]}
        if operation == "revert":
            version = jane.history(id=tree["mouse"]["id"])[-1]["version"]
            request["params"]["version"] = str(version)
        reply = requests.request(
            request["method"],
            base + operation,
            params=request["params"],
            json=request["json"],
            headers=headers,
            timeout=30,
        )
        # revert and restore answer as if her version or trash batch did not
        # exist (400: they name no project); every other write is a 403.
        expected = (400, 403) if operation in ("revert", "restore") else (403,)
        assert reply.status_code in expected, (operation, reply.text[200:900])
    # A batch in his own project that reaches into hers: refused whole.
    bobs = Accounts(store).project("bobs").id
    reply = requests.post(
        base + "batch",
        params={"project_id": bobs},
        json={
            "operations": [
                {"type": "sample", "name": "mine"},
                {"type": "sample", "name": "M1_s", "origin_id": tree["mouse"]["id"]},
            ]
        },
        headers=headers,
        timeout=30,
    )
    assert reply.status_code == 403
    assert snapshot(store) == before
    # Reads: refused when they name her project, empty otherwise.
    reply = requests.get(
        base + "get",
        params={"type": "mouse", "project_id": project_id},
        headers=headers,
    )
    assert reply.status_code == 403
    for operation in ("get-children", "get-descendants"):
        reply = requests.get(
            base + operation, params={"id": tree["mouse"]["id"]}, headers=headers
        )
        assert reply.status_code == 200 and reply.json() == []
    reply = requests.get(
        base + "get", params={"id": tree["mouse"]["id"]}, headers=headers
    )
    assert reply.json() == []


def failures(store) -> int:
    with store.read() as conn:
        return conn.execute(
            sa.select(sa.func.count()).select_from(m.login_failures)
        ).scalar()


@pytest.mark.slow
def test_failed_logins_are_throttled_per_user_and_per_address(
    database_url, store, snapshot
):
    accounts = Accounts(store)
    for name in ("jane", "bob", "carl"):
        accounts.add_user(name, f"{name}-pw")
    process = ServerProcess(
        database_url, env={"FLEXILIMS_FAILED_LOGIN_WINDOW_SECONDS": "3"}
    )
    base = process.base_url
    try:
        login = lambda user, password: requests.post(  # noqa: E731
            base + "authenticate", auth=(user, password), timeout=30
        )
        # Successful logins are never slowed nor counted.
        started = time.monotonic()
        assert all(login("bob", "bob-pw").status_code == 200 for _ in range(30))
        assert time.monotonic() - started < 15
        assert failures(store) == 0
        # Five wrong passwords of jane, then her logins are refused at once,
        # even with the right password, until the window has passed.
        assert [login("jane", "bad").status_code for _ in range(5)] == [401] * 5
        refused = login("jane", "jane-pw")
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= 3
        assert "throttled" in refused.headers["X-Flexilims-Error"]
        assert login("jane", "bad").status_code == 429
        # One row per username and one per address for each failure; the
        # refused attempts are not even counted.
        assert failures(store) == 10
        assert login("bob", "bob-pw").status_code == 200  # others go on
        # The same for a user that does not exist: nothing tells them apart.
        assert [login("ghost", "x").status_code for _ in range(5)] == [401] * 5
        assert login("ghost", "x").status_code == 429
        time.sleep(3.2)
        assert login("jane", "jane-pw").status_code == 200
        # Per address: 20 failures from 127.0.0.1, whatever the names.
        statuses = [login(f"user{i}", "x").status_code for i in range(20)]
        assert statuses == [401] * 20
        assert login("carl", "carl-pw").status_code == 429
        time.sleep(3.2)
        assert login("carl", "carl-pw").status_code == 200
    finally:
        process.stop()


@pytest.mark.slow
def test_unknown_users_and_wrong_passwords_take_the_same_time(tmp_path):
    """With the real argon2 cost: medians within 20 %. (The code path is the
    same on both backends; timed once, on SQLite.)"""
    store = Store.open(f"sqlite:///{tmp_path / 'timing.db'}")
    settings = replace(
        store.settings,
        password_hashing="default",
        failed_logins_per_user=10_000,
        failed_logins_per_address=10_000,
    )
    accounts = Accounts(Store(store.engine, settings))
    accounts.add_user("jane", "the-right-password")
    times = {"unknown": [], "wrong": []}
    for round_ in range(13):
        for kind, username in (("unknown", f"nobody{round_}"), ("wrong", "jane")):
            started = time.perf_counter()
            with pytest.raises(AuthenticationFailed):
                accounts.authenticate(username, "a-wrong-password", client="10.1.1.1")
            times[kind].append(time.perf_counter() - started)
    unknown, wrong = (statistics.median(times[k][2:]) for k in ("unknown", "wrong"))
    print(
        f"median login: unknown user {unknown * 1000:.1f} ms, "
        f"wrong password {wrong * 1000:.1f} ms"
    )
    assert abs(unknown - wrong) / max(unknown, wrong) < 0.2, times
    assert wrong > 0.005  # the real cost, not the tests' fast hashing
    store.engine.dispose()


def test_throttling_is_shared_by_every_accounts_object(store):
    """The count lives in the database: a second server (here, a second
    Accounts on its own engine) sees the failures of the first."""
    Accounts(store).add_user("jane", "pw")
    for _ in range(5):
        with pytest.raises(AuthenticationFailed):
            Accounts(store).authenticate("jane", "bad")
    other = Store.open(str(store.engine.url.render_as_string(hide_password=False)))
    try:
        with pytest.raises(TooManyRequests) as caught:
            Accounts(other).authenticate("jane", "pw")
        assert 0 < caught.value.retry_after <= 300
    finally:
        other.engine.dispose()
