"""Projects, users, memberships and tokens.

Passwords are hashed with argon2; tokens are random strings of which only a
SHA-256 digest is stored, so a copy of the database gives no working token.
Everything lives in the database: any number of servers can share it.
"""

import functools
import hashlib
import secrets
import threading
import time
import weakref
from dataclasses import dataclass

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError

from ..errors import (
    AuthenticationFailed,
    BadRequest,
    Forbidden,
    ProjectNotFound,
    TooManyRequests,
)
from ..writes import is_hex_id
from . import Actor, Store, new_id, now_ms
from . import models as m

DAY_MS = 24 * 3600 * 1000

#: argon2 parameters per ``password_hashing`` setting. ``fast`` is for test
#: suites only: it makes a stolen database easy to crack.
HASHERS = {
    "default": PasswordHasher(),
    "fast": PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
}


@functools.lru_cache(maxsize=len(HASHERS))
def _dummy_hash(profile: str) -> str:
    """A hash of a random password at the cost of ``profile`` (once per process)."""
    return hasher(profile).hash(secrets.token_urlsafe(16))


def hasher(profile: str) -> PasswordHasher:
    """The password hasher of a ``password_hashing`` setting."""
    try:
        return HASHERS[profile]
    except KeyError:
        raise BadRequest(
            f"password_hashing must be one of {', '.join(HASHERS)}, not {profile!r}"
        ) from None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _throttle_key(kind: str, value: str) -> str:
    """The key of a throttled username or address: a digest, so that a huge
    or strange username costs nothing to store."""
    return hashlib.sha256(f"{kind}\0{value}".encode("utf-8", "replace")).hexdigest()


#: The user and projects of a live token; built once, bound per request.
_TOKEN_QUERY = (
    sa.select(
        m.users.c.id,
        m.users.c.username,
        m.users.c.full_name,
        m.users.c.is_admin,
        m.tokens.c.expires_at,
        m.memberships.c.project_id,
    )
    .select_from(
        m.tokens.join(m.users, m.users.c.id == m.tokens.c.user_id).outerjoin(
            m.memberships, m.memberships.c.user_id == m.users.c.id
        )
    )
    .where(
        m.tokens.c.token_hash == sa.bindparam("digest"),
        m.tokens.c.revoked.is_(False),
        m.tokens.c.expires_at > sa.bindparam("now"),
        m.users.c.disabled.is_(False),
    )
)


class TokenCache:
    """The actors of tokens a process checked lately, trusted for a few seconds.

    One per store (so per server worker): a request whose token was checked
    less than ``seconds`` ago skips the database. A token revoked, a user
    disabled or a membership changed by another process takes effect here
    within ``seconds``; changes made through this process's
    :class:`Accounts` take effect at once (they empty the cache). Only valid
    tokens are kept, never past their own expiry, and at most ``size`` of
    them.

    Parameters
    ----------
    seconds : float
        How long an entry is trusted (0: never, every request checks).
    size : int
        Most tokens kept; the cache is emptied when it is full.
    """

    def __init__(self, seconds: float, size: int = 10_000):
        self.seconds, self.size = seconds, size
        self.entries: dict[str, tuple[Actor, float]] = {}
        self.lock = threading.Lock()

    def get(self, digest: str) -> Actor | None:
        """The actor of a token checked less than ``seconds`` ago, or None."""
        entry = self.entries.get(digest)
        if entry is None:
            return None
        actor, until = entry
        if time.monotonic() < until:
            return actor
        self.entries.pop(digest, None)
        return None

    def put(self, digest: str, actor: Actor, expires_at_ms: int) -> None:
        """Trust a token just checked for ``seconds``, at most until it expires."""
        if self.seconds <= 0:
            return
        left = min(self.seconds, (expires_at_ms - now_ms()) / 1000)
        with self.lock:
            if len(self.entries) >= self.size:
                self.entries.clear()
            self.entries[digest] = (actor, time.monotonic() + left)

    def forget(self, digest: str | None = None) -> None:
        """Forget one token (all of them without a digest)."""
        with self.lock:
            if digest is None:
                self.entries.clear()
            else:
                self.entries.pop(digest, None)


#: The token cache of each open store.
_TOKEN_CACHES: "weakref.WeakKeyDictionary[Store, TokenCache]" = (
    weakref.WeakKeyDictionary()
)
_TOKEN_CACHES_LOCK = threading.Lock()


def token_cache(store: Store) -> TokenCache:
    """The :class:`TokenCache` of a store (made on first use, with the
    store's ``token_cache_seconds``)."""
    cache = _TOKEN_CACHES.get(store)
    if cache is None:
        with _TOKEN_CACHES_LOCK:
            cache = _TOKEN_CACHES.get(store)
            if cache is None:
                cache = TokenCache(store.settings.token_cache_seconds)
                _TOKEN_CACHES[store] = cache
    return cache


@dataclass(frozen=True)
class Project:
    id: str
    name: str
    date_created: int

    def reply(self) -> dict:
        """The protocol's object for ``GET projects``."""
        return {
            "id": self.id,
            "uuid": self.id,
            "name": self.name,
            "dateCreated": self.date_created,
        }


class Accounts:
    """Projects, users and tokens of a store's database."""

    def __init__(self, store: Store):
        self.store = store
        self.hasher = hasher(store.settings.password_hashing)
        self.tokens = token_cache(store)

    # --------------------------------------------------------------- projects

    def create_project(self, name: str, project_id: str | None = None) -> Project:
        """Create a project; ``project_id`` keeps an id from another system."""
        if not name or not name.strip():
            raise BadRequest("A project needs a name.")
        if project_id is None:
            project_id = new_id()
        if not is_hex_id(project_id):
            raise BadRequest(
                f"'{project_id}' is not a project id: use 24 lower-case hex characters."
            )
        with self.store.write() as conn:
            clash = conn.execute(
                sa.select(m.projects).where(
                    sa.or_(m.projects.c.name == name, m.projects.c.id == project_id)
                )
            ).first()
            if clash is not None:
                raise BadRequest(
                    f"A project named {clash.name} with id {clash.id} already exists."
                )
            project = Project(project_id, name, now_ms())
            conn.execute(m.projects.insert().values(**project.__dict__))
        return project

    def projects(self, actor: Actor | None = None) -> list[Project]:
        """Projects ``actor`` can see (all of them without an actor)."""
        with self.store.read() as conn:
            rows = conn.execute(sa.select(m.projects).order_by(m.projects.c.name))
            return [
                Project(r.id, r.name, r.date_created)
                for r in rows
                if actor is None or actor.can_access(r.id)
            ]

    def project(self, name_or_id: str) -> Project:
        """A project by name or id; a clear error when there is none."""
        with self.store.read() as conn:
            row = conn.execute(
                sa.select(m.projects).where(
                    sa.or_(
                        m.projects.c.name == name_or_id, m.projects.c.id == name_or_id
                    )
                )
            ).first()
        if row is None:
            raise ProjectNotFound(
                f"No project named '{name_or_id}'. Create it with "
                f"`flexilims project create {name_or_id}`.",
                project=name_or_id,
            )
        return Project(row.id, row.name, row.date_created)

    def add_member(self, username: str, project: str) -> None:
        """Let a user see and write a project."""
        user_id = self._user_id(username)
        project_id = self.project(project).id
        with self.store.write() as conn:
            exists = conn.execute(
                sa.select(m.memberships).where(
                    m.memberships.c.user_id == user_id,
                    m.memberships.c.project_id == project_id,
                )
            ).first()
            if exists is None:
                conn.execute(
                    m.memberships.insert().values(
                        user_id=user_id, project_id=project_id
                    )
                )
        self.tokens.forget()

    def remove_member(self, username: str, project: str) -> None:
        user_id = self._user_id(username)
        project_id = self.project(project).id
        with self.store.write() as conn:
            conn.execute(
                m.memberships.delete().where(
                    m.memberships.c.user_id == user_id,
                    m.memberships.c.project_id == project_id,
                )
            )
        self.tokens.forget()

    # ------------------------------------------------------------------ users

    def add_user(
        self,
        username: str,
        password: str | None,
        full_name: str | None = None,
        is_admin: bool = False,
    ) -> None:
        """Create a user; ``full_name`` is the ``createdBy`` of what they create."""
        if not username or not username.strip():
            raise BadRequest("A user needs a username.")
        with self.store.write() as conn:
            if self._find_user(conn, username) is not None:
                raise BadRequest(f"User {username} already exists.")
            conn.execute(
                m.users.insert().values(
                    username=username,
                    full_name=full_name or username,
                    password_hash=self.hasher.hash(password) if password else None,
                    is_admin=is_admin,
                    date_created=now_ms(),
                )
            )

    def set_password(self, username: str, password: str) -> None:
        """Change a user's password and revoke their tokens (an empty
        password is refused: it would let anyone log in)."""
        if not password:
            raise BadRequest(f"Give {username} a password that is not empty.")
        user_id = self._user_id(username)
        with self.store.write() as conn:
            conn.execute(
                sa.update(m.users)
                .where(m.users.c.id == user_id)
                .values(password_hash=self.hasher.hash(password))
            )
            conn.execute(
                sa.update(m.tokens)
                .where(m.tokens.c.user_id == user_id)
                .values(revoked=True)
            )
        self.tokens.forget()

    def set_disabled(self, username: str, disabled: bool = True) -> None:
        """Stop (or let again) a user from logging in; disabling ends their
        tokens. What they created stays."""
        user_id = self._user_id(username)
        with self.store.write() as conn:
            conn.execute(
                sa.update(m.users)
                .where(m.users.c.id == user_id)
                .values(disabled=disabled)
            )
            if disabled:
                conn.execute(
                    sa.update(m.tokens)
                    .where(m.tokens.c.user_id == user_id)
                    .values(revoked=True)
                )
        self.tokens.forget()

    def remove_user(self, username: str) -> None:
        user_id = self._user_id(username)
        with self.store.write() as conn:
            conn.execute(m.tokens.delete().where(m.tokens.c.user_id == user_id))
            conn.execute(
                m.memberships.delete().where(m.memberships.c.user_id == user_id)
            )
            conn.execute(m.users.delete().where(m.users.c.id == user_id))
        self.tokens.forget()

    def users(self) -> list[dict]:
        """Every user with their projects."""
        query = (
            sa.select(
                m.users.c.username,
                m.users.c.full_name,
                m.users.c.is_admin,
                m.users.c.disabled,
                m.projects.c.name.label("project"),
            )
            .select_from(
                m.users.outerjoin(
                    m.memberships, m.memberships.c.user_id == m.users.c.id
                ).outerjoin(m.projects, m.projects.c.id == m.memberships.c.project_id)
            )
            .order_by(m.users.c.username, m.projects.c.name)
        )
        users: dict[str, dict] = {}
        with self.store.read() as conn:
            for row in conn.execute(query):
                user = users.setdefault(
                    row.username,
                    {
                        "username": row.username,
                        "full_name": row.full_name,
                        "is_admin": row.is_admin,
                        "disabled": row.disabled,
                        "projects": [],
                    },
                )
                if row.project:
                    user["projects"].append(row.project)
        return list(users.values())

    def actor(self, username: str) -> Actor:
        """The actor of a user, with their projects."""
        with self.store.read() as conn:
            user = self._find_user(conn, username)
            if user is None:
                raise BadRequest(f"No user named {username}.")
            return self._actor(conn, user)

    @staticmethod
    def _find_user(conn, username: str):
        return conn.execute(
            sa.select(m.users).where(m.users.c.username == username)
        ).first()

    def _user_id(self, username: str) -> int:
        with self.store.read() as conn:
            user = self._find_user(conn, username)
        if user is None:
            raise BadRequest(
                f"No user named {username}. Add one with `flexilims user add`."
            )
        return user.id

    @staticmethod
    def _actor(conn, user) -> Actor:
        projects = conn.execute(
            sa.select(m.memberships.c.project_id).where(
                m.memberships.c.user_id == user.id
            )
        ).scalars()
        return Actor(
            username=user.username,
            full_name=user.full_name,
            is_admin=user.is_admin,
            project_ids=frozenset(projects),
        )

    # ----------------------------------------------------------------- tokens

    def authenticate(
        self,
        username: str,
        password: str,
        lifetime_ms: int = DAY_MS,
        client: str | None = None,
    ) -> str:
        """Check a password and issue a new token good for ``lifetime_ms``.

        Failed logins are counted per username and per client address, in the
        database (every worker and instance shares the count); past the
        settings' limits within their window, logins of that username or from
        that address are refused at once, the password unchecked, until the
        window has passed. Successful logins are never slowed and count
        nothing. Unknown usernames are checked against a dummy hash and
        counted alike, so neither the answer nor its time tells whether a
        user exists.

        Parameters
        ----------
        username, password : str
            The credentials.
        lifetime_ms : int
            How long the token stays valid.
        client : str, optional
            The client's address (the server's peer), throttled as a whole.

        Raises
        ------
        AuthenticationFailed
            Wrong username or password.
        TooManyRequests
            Too many failed logins of this username or from this address
            (``retry_after`` says when to try again).
        """
        limits = [(_throttle_key("user", username), self._per_user)]
        if client:
            limits.append((_throttle_key("address", client), self._per_address))
        stamp = now_ms()
        self._check_throttle(limits, stamp)
        with self.store.read() as conn:
            user = self._find_user(conn, username)
        try:
            if user is None or not user.password_hash:
                # As long as a wrong password: the time tells nobody who exists.
                dummy = _dummy_hash(self.store.settings.password_hashing)
                self.hasher.verify(dummy, password)
                raise VerifyMismatchError
            self.hasher.verify(user.password_hash, password)
        except (VerifyMismatchError, InvalidHashError):
            self._record_failure([key for key, _ in limits], stamp)
            raise AuthenticationFailed("Wrong username or password") from None
        if user.disabled:
            raise AuthenticationFailed(
                f"User {username} is disabled: ask an admin to enable it."
            )
        token = secrets.token_urlsafe(32)
        stamp = now_ms()
        with self.store.write() as conn:
            conn.execute(
                m.tokens.insert().values(
                    token_hash=_digest(token),
                    user_id=user.id,
                    issued_at=stamp,
                    expires_at=stamp + lifetime_ms,
                    revoked=False,
                )
            )
        return token

    @property
    def _window_ms(self) -> int:
        return int(self.store.settings.failed_login_window_seconds * 1000)

    @property
    def _per_user(self) -> int:
        return self.store.settings.failed_logins_per_user

    @property
    def _per_address(self) -> int:
        return self.store.settings.failed_logins_per_address

    def _check_throttle(self, limits: list[tuple[str, int]], stamp: int) -> None:
        """Refuse a login whose username or address failed too often lately
        (one query for both)."""
        window = self._window_ms
        table = m.login_failures
        with self.store.read() as conn:
            rows = conn.execute(
                sa.select(table.c.key_hash, table.c.failed_at)
                .where(
                    table.c.key_hash.in_([key for key, _ in limits]),
                    table.c.failed_at > stamp - window,
                )
                .order_by(table.c.failed_at.desc())
            ).all()
        wait_ms = 0
        for key, limit in limits:
            times = [row.failed_at for row in rows if row.key_hash == key]
            if len(times) >= limit:
                # Logins resume once fewer than ``limit`` failures remain in
                # the window: when the limit-th newest one leaves it.
                wait_ms = max(wait_ms, times[limit - 1] + window - stamp)
        if wait_ms > 0:
            seconds = max(1, -(-wait_ms // 1000))
            raise TooManyRequests(
                f"Too many failed logins: try again in {seconds} s.",
                retry_after=seconds,
            )

    def _record_failure(self, keys: list[str], stamp: int) -> None:
        """Count a failed login (and forget failures older than the window)."""
        table = m.login_failures
        with self.store.write() as conn:
            conn.execute(
                table.delete().where(table.c.failed_at <= stamp - self._window_ms)
            )
            conn.execute(
                table.insert(), [{"key_hash": key, "failed_at": stamp} for key in keys]
            )

    def actor_for_token(self, token: str | None) -> Actor:
        """The actor a token belongs to, in one query (none if this process
        checked it less than ``token_cache_seconds`` ago: :class:`TokenCache`);
        403 if it is not valid."""
        if not token:
            raise Forbidden("a valid token is required: authenticate first")
        digest = _digest(token)
        actor = self.tokens.get(digest)
        if actor is not None:
            return actor
        with self.store.read() as conn:
            rows = conn.execute(_TOKEN_QUERY, {"digest": digest, "now": now_ms()}).all()
        if not rows:
            raise Forbidden("token not valid or expired: authenticate again")
        first = rows[0]
        actor = Actor(
            username=first.username,
            full_name=first.full_name,
            is_admin=first.is_admin,
            project_ids=frozenset(r.project_id for r in rows if r.project_id),
        )
        self.tokens.put(digest, actor, first.expires_at)
        return actor

    def revoke_tokens(self, username: str) -> int:
        """Revoke every token of a user; returns how many were live."""
        user_id = self._user_id(username)
        with self.store.write() as conn:
            result = conn.execute(
                sa.update(m.tokens)
                .where(m.tokens.c.user_id == user_id, m.tokens.c.revoked.is_(False))
                .values(revoked=True)
            )
        self.tokens.forget()
        return result.rowcount

    def revoke_token(self, token: str) -> None:
        """End a token (at once in this process, within
        ``token_cache_seconds`` in others)."""
        digest = _digest(token)
        with self.store.write() as conn:
            conn.execute(
                sa.update(m.tokens)
                .where(m.tokens.c.token_hash == digest)
                .values(revoked=True)
            )
        self.tokens.forget(digest)
