"""The token cache of a server worker: a token checked lately is trusted for
``token_cache_seconds`` without the database; a revocation made elsewhere
takes effect within that time, one made through the worker at once, and a
cached token never outlives its expiry."""

import time

import pytest
import requests

from flexilims.errors import Forbidden
from flexilims.store.accounts import Accounts, TokenCache, token_cache
from flexilims.store.entities import Actor

JANE = Actor(username="jane", full_name="Jane Doe")


def get(base: str, token: str) -> requests.Response:
    return requests.get(
        base + "projects", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


@pytest.mark.slow
def test_a_token_revoked_elsewhere_stops_working_within_the_window(
    database_url, store, project, servers
):
    accounts = Accounts(store)
    accounts.add_user("jane", "pw", "Jane Doe")
    accounts.add_member("jane", "test")
    # One worker: every request meets the same cache.
    base = servers(
        database_url, "--workers", "1", env={"FLEXILIMS_TOKEN_CACHE_SECONDS": "2"}
    )
    token = accounts.authenticate("jane", "pw")
    assert get(base, token).status_code == 200
    accounts.revoke_token(token)
    revoked_at = time.monotonic()
    # Trusted from the worker's cache for a moment (no database lookup)...
    first = get(base, token)
    seen_within = time.monotonic() - revoked_at
    if seen_within < 1.5:
        assert first.status_code == 200
    # ... and refused within the window.
    while get(base, token).status_code == 200:
        assert time.monotonic() - revoked_at < 2 + 2, "revocation not seen"
        time.sleep(0.1)
    reply = get(base, token)
    assert reply.status_code == 403
    assert "token not valid or expired" in reply.text


def test_revoking_through_the_server_ends_the_token_at_once(
    database_url, store, project, servers
):
    accounts = Accounts(store)
    accounts.add_user("jane", "pw", "Jane Doe")
    base = servers(
        database_url, "--workers", "1", env={"FLEXILIMS_TOKEN_CACHE_SECONDS": "60"}
    )
    token = accounts.authenticate("jane", "pw")
    assert get(base, token).status_code == 200
    reply = requests.post(
        base + "revoke",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert reply.status_code == 200
    assert get(base, token).status_code == 403


def test_a_cached_token_never_outlives_its_expiry(
    database_url, store, project, servers
):
    accounts = Accounts(store)
    accounts.add_user("jane", "pw", "Jane Doe")
    base = servers(
        database_url, "--workers", "1", env={"FLEXILIMS_TOKEN_CACHE_SECONDS": "60"}
    )
    token = accounts.authenticate("jane", "pw", lifetime_ms=1500)
    assert get(base, token).status_code == 200
    time.sleep(1.6)
    assert get(base, token).status_code == 403


def test_changes_made_in_the_process_empty_its_cache(store, project):
    accounts = Accounts(store)
    accounts.add_user("jane", "pw", "Jane Doe")
    token = accounts.authenticate("jane", "pw")
    assert accounts.actor_for_token(token).project_ids == frozenset()
    accounts.add_member("jane", "test")
    assert accounts.actor_for_token(token).project_ids == {project.id}
    # Another Accounts of the same store shares its cache.
    Accounts(store).set_disabled("jane")
    with pytest.raises(Forbidden, match="token not valid"):
        accounts.actor_for_token(token)
    assert token_cache(store) is accounts.tokens


def test_the_cache_keeps_nothing_when_off_and_stays_small():
    off = TokenCache(0)
    off.put("digest", JANE, expires_at_ms=2**62)
    assert off.get("digest") is None
    small = TokenCache(60, size=2)
    for digest in ("a", "b", "c"):
        small.put(digest, JANE, expires_at_ms=2**62)
    assert len(small.entries) <= 2 and small.get("c") is JANE
    small.forget("c")
    assert small.get("c") is None
