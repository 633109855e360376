"""Accounts: projects, users, memberships, tokens and failed-login throttling,
through the module's public methods (the server and CLI tests cover the same
rules end to end); every refusal is a typed error that leaves the database
unchanged."""

import time
from dataclasses import replace

import pytest
import sqlalchemy as sa

from flexilims.errors import (
    AuthenticationFailed,
    BadRequest,
    Forbidden,
    ProjectNotFound,
    TooManyRequests,
)
from flexilims.store import Store
from flexilims.store import models as m
from flexilims.store.accounts import Accounts, hasher

HEX_ID = "0123456789abcdef01234567"


@pytest.fixture
def accounts(store):
    return Accounts(store)


@pytest.fixture
def jane(accounts, project):
    """User ``jane`` (password ``pw``), member of project ``test``."""
    accounts.add_user("jane", "pw", "Jane Doe")
    accounts.add_member("jane", "test")
    return "jane"


def rows(store, table) -> list:
    with store.engine.connect() as conn:
        return conn.execute(sa.select(table)).all()


def throttled(store, **limits) -> Accounts:
    """Accounts of the same database with other login limits."""
    return Accounts(Store(store.engine, replace(store.settings, **limits)))


# ------------------------------------------------------------------ projects


def test_create_project_and_find_it_by_name_or_id(accounts):
    made = accounts.create_project("alpha")
    assert len(made.id) == 24 and made.date_created > 0
    assert accounts.project("alpha") == made
    assert accounts.project(made.id) == made
    kept = accounts.create_project("beta", project_id=HEX_ID)
    assert kept.id == HEX_ID
    assert [p.name for p in accounts.projects()] == ["alpha", "beta"]
    assert made.reply() == {
        "id": made.id,
        "uuid": made.id,
        "name": "alpha",
        "dateCreated": made.date_created,
    }


@pytest.mark.parametrize(
    "name, project_id, message",
    [
        ("", None, "needs a name"),
        ("   ", None, "needs a name"),
        ("other", "ABCDEF0123456789abcdef01", "24 lower-case hex"),
        ("other", "1234", "24 lower-case hex"),
        ("other", "zz23456789abcdef01234567", "24 lower-case hex"),
        ("test", None, "already exists"),
        ("other", "use the test project's id", "already exists"),
    ],
)
def test_bad_projects_are_refused_and_change_nothing(
    accounts, project, store, snapshot, name, project_id, message
):
    if project_id == "use the test project's id":
        project_id = project.id
    before = snapshot(store)
    with pytest.raises(BadRequest, match=message):
        accounts.create_project(name, project_id=project_id)
    assert snapshot(store) == before


def test_an_unknown_project_is_a_typed_error_naming_it(accounts, project):
    with pytest.raises(ProjectNotFound, match="flexilims project create nope") as err:
        accounts.project("nope")
    assert err.value.project == "nope"
    assert isinstance(err.value, BadRequest) and err.value.status == 400


# ------------------------------------------------------- users and members


def test_add_user_stores_a_hash_and_lists_users_with_projects(accounts, project):
    accounts.add_user("jane", "secret-pw", "Jane Doe")
    accounts.add_user("bob", "bob-pw", is_admin=True)
    accounts.add_member("jane", "test")
    accounts.add_member("jane", project.id)  # by id, twice: still one membership
    jane = {r.username: r for r in rows(accounts.store, m.users)}["jane"]
    assert jane.password_hash.startswith("$argon2") and "secret-pw" not in str(jane)
    assert len(rows(accounts.store, m.memberships)) == 1
    assert accounts.users() == [
        {
            "username": "bob",
            "full_name": "bob",  # the username when no full name is given
            "is_admin": True,
            "disabled": False,
            "projects": [],
        },
        {
            "username": "jane",
            "full_name": "Jane Doe",
            "is_admin": False,
            "disabled": False,
            "projects": ["test"],
        },
    ]


def test_actor_carries_projects_and_admin_sees_every_project(accounts, project):
    other = accounts.create_project("other")
    accounts.add_user("jane", "pw", "Jane Doe")
    accounts.add_user("root", "pw", is_admin=True)
    accounts.add_member("jane", "test")
    jane, root = accounts.actor("jane"), accounts.actor("root")
    assert (jane.username, jane.full_name, jane.is_admin) == ("jane", "Jane Doe", False)
    assert jane.project_ids == {project.id}
    assert jane.can_access(project.id) and not jane.can_access(other.id)
    assert root.project_ids == frozenset() and root.can_access(other.id)
    assert [p.name for p in accounts.projects(jane)] == ["test"]
    assert [p.name for p in accounts.projects(root)] == ["other", "test"]
    accounts.remove_member("jane", "test")
    assert accounts.actor("jane").project_ids == frozenset()
    assert accounts.projects(accounts.actor("jane")) == []


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda a: a.add_user("jane", "other"), BadRequest, "already exists"),
        (lambda a: a.add_user("", "pw"), BadRequest, "needs a username"),
        (lambda a: a.add_user("  ", "pw"), BadRequest, "needs a username"),
        (lambda a: a.add_member("ghost", "test"), BadRequest, "No user named ghost"),
        (lambda a: a.add_member("jane", "nope"), ProjectNotFound, "nope"),
        (lambda a: a.remove_member("ghost", "test"), BadRequest, "No user"),
        (lambda a: a.remove_member("jane", "nope"), ProjectNotFound, "nope"),
        (lambda a: a.set_password("ghost", "pw"), BadRequest, "No user"),
        (lambda a: a.set_password("jane", ""), BadRequest, "password"),
        (lambda a: a.set_disabled("ghost"), BadRequest, "No user"),
        (lambda a: a.remove_user("ghost"), BadRequest, "No user"),
        (lambda a: a.revoke_tokens("ghost"), BadRequest, "No user"),
        (lambda a: a.actor("ghost"), BadRequest, "No user named ghost"),
    ],
)
def test_bad_user_requests_are_refused_and_change_nothing(
    accounts, jane, store, snapshot, call, error, message
):
    accounts.authenticate("jane", "pw")
    before = snapshot(store)
    with pytest.raises(error, match=message):
        call(accounts)
    assert snapshot(store) == before


def test_remove_user_removes_their_tokens_and_memberships(accounts, jane, project):
    token = accounts.authenticate("jane", "pw")
    accounts.add_user("bob", "pw")
    accounts.add_member("bob", "test")
    accounts.remove_user("jane")
    assert [u["username"] for u in accounts.users()] == ["bob"]
    assert len(rows(accounts.store, m.memberships)) == 1
    assert rows(accounts.store, m.tokens) == []
    with pytest.raises(Forbidden):
        accounts.actor_for_token(token)
    with pytest.raises(AuthenticationFailed):
        accounts.authenticate("jane", "pw")
    assert accounts.project("test") == project  # the project stays


# -------------------------------------------------------------------- tokens


def test_authenticate_issues_a_token_stored_only_as_a_digest(accounts, jane, project):
    token = accounts.authenticate("jane", "pw")
    second = accounts.authenticate("jane", "pw")
    assert token != second and len(token) >= 40
    stored = rows(accounts.store, m.tokens)
    assert len(stored) == 2
    assert all(token not in str(row) and second not in str(row) for row in stored)
    actor = accounts.actor_for_token(token)
    assert (actor.username, actor.full_name) == ("jane", "Jane Doe")
    assert actor.project_ids == {project.id} and not actor.is_admin


@pytest.mark.parametrize("token", [None, "", "not-a-token"])
def test_missing_or_unknown_tokens_are_forbidden(accounts, jane, token):
    with pytest.raises(Forbidden) as err:
        accounts.actor_for_token(token)
    assert err.value.status == 403


def test_a_token_ends_at_its_lifetime(accounts, jane):
    token = accounts.authenticate("jane", "pw", lifetime_ms=300)
    assert accounts.actor_for_token(token).username == "jane"
    time.sleep(0.35)
    with pytest.raises(Forbidden, match="expired"):
        accounts.actor_for_token(token)


def test_revoking_ends_tokens_at_once(accounts, jane):
    first, second, third = (accounts.authenticate("jane", "pw") for _ in range(3))
    accounts.actor_for_token(first)  # cached: revoking must still end it
    accounts.revoke_token(first)
    with pytest.raises(Forbidden):
        accounts.actor_for_token(first)
    assert accounts.actor_for_token(second).username == "jane"
    accounts.revoke_token("never-issued")  # nothing to end: no error
    assert accounts.revoke_tokens("jane") == 2
    assert accounts.revoke_tokens("jane") == 0
    for token in (second, third):
        with pytest.raises(Forbidden):
            accounts.actor_for_token(token)
    assert accounts.authenticate("jane", "pw")  # logging in again still works


def test_a_new_password_ends_tokens_and_the_old_password(accounts, jane):
    token = accounts.authenticate("jane", "pw")
    accounts.actor_for_token(token)
    accounts.set_password("jane", "new-pw")
    with pytest.raises(Forbidden):
        accounts.actor_for_token(token)
    with pytest.raises(AuthenticationFailed):
        accounts.authenticate("jane", "pw")
    assert accounts.actor_for_token(accounts.authenticate("jane", "new-pw"))


def test_a_disabled_user_cannot_log_in_until_enabled(accounts, jane, store, snapshot):
    token = accounts.authenticate("jane", "pw")
    accounts.set_disabled("jane")
    assert accounts.users()[0]["disabled"] is True
    with pytest.raises(Forbidden):
        accounts.actor_for_token(token)
    before = snapshot(store)
    with pytest.raises(AuthenticationFailed, match="disabled"):
        accounts.authenticate("jane", "pw")
    assert snapshot(store) == before  # the right password counts no failure
    accounts.set_disabled("jane", False)
    assert accounts.actor_for_token(accounts.authenticate("jane", "pw"))
    with pytest.raises(Forbidden):
        accounts.actor_for_token(token)  # enabling does not revive old tokens


def test_a_user_without_a_password_cannot_log_in(accounts):
    accounts.add_user("robot", None)
    accounts.add_user("empty", "")
    for username in ("robot", "empty"):
        for password in ("", "x"):
            with pytest.raises(AuthenticationFailed, match="Wrong username"):
                accounts.authenticate(username, password)


def test_failed_logins_write_only_their_count(accounts, jane, store, snapshot):
    before = snapshot(store)
    for username, password in (("jane", "bad"), ("ghost", "pw")):
        with pytest.raises(AuthenticationFailed, match="Wrong username or password"):
            accounts.authenticate(username, password, client="10.0.0.1")
    after = snapshot(store)
    assert len(after.pop("login_failures")) == 4  # per username and per address
    before.pop("login_failures")
    assert after == before


# ---------------------------------------------------------------- throttling


def test_failed_logins_are_throttled_per_user_until_the_window_passes(store, jane):
    accounts = throttled(
        store, failed_logins_per_user=2, failed_login_window_seconds=0.5
    )
    for _ in range(2):
        with pytest.raises(AuthenticationFailed):
            accounts.authenticate("jane", "bad")
    with pytest.raises(TooManyRequests, match="try again in 1 s") as err:
        accounts.authenticate("jane", "pw")  # refused unchecked
    assert err.value.retry_after == 1 and err.value.status == 429
    accounts.add_user("bob", "bob-pw")
    assert accounts.authenticate("bob", "bob-pw")  # others go on
    time.sleep(0.55)
    assert accounts.authenticate("jane", "pw")


def test_failed_logins_are_throttled_per_address(store, jane):
    accounts = throttled(store, failed_logins_per_user=100, failed_logins_per_address=3)
    for name in ("a", "b", "c"):
        with pytest.raises(AuthenticationFailed):
            accounts.authenticate(name, "x", client="10.0.0.9")
    with pytest.raises(TooManyRequests):
        accounts.authenticate("jane", "pw", client="10.0.0.9")
    assert accounts.authenticate("jane", "pw", client="10.0.0.8")
    assert accounts.authenticate("jane", "pw")  # no address: not throttled by it


def test_successful_logins_count_nothing(store, jane):
    accounts = throttled(store, failed_logins_per_user=1)
    for _ in range(5):
        accounts.authenticate("jane", "pw", client="10.0.0.1")
    assert rows(store, m.login_failures) == []


# --------------------------------------------------------------- hashing


def test_an_unknown_password_hashing_setting_is_refused(store):
    with pytest.raises(BadRequest, match="password_hashing must be one of"):
        hasher("quick")
    with pytest.raises(BadRequest, match="'quick'"):
        Accounts(Store(store.engine, replace(store.settings, password_hashing="quick")))
