"""The in-process session: the session methods, calling the store directly."""

import json

from . import dispatch
from .session import Session
from .store import Actor, Store
from .store.accounts import Accounts


def _as_on_the_wire(params: dict) -> dict:
    """Query parameters as the server would receive them: strings."""
    return {key: str(value) for key, value in params.items()}


class LocalSession(Session):
    """A flexilims session on a database opened in this process.

    Requests take the same path as on a server (the same parsing, JSON
    encoding and errors), without HTTP.

    Parameters
    ----------
    store : Store
        The open database.
    project_id : str, optional
        Default project (24-hex id).
    username : str, optional
        Recorded as ``createdBy``. A user of that name in the database gives
        their full name and project memberships; otherwise the local user sees
        every project.
    """

    def __init__(
        self, store: Store, project_id: str | None = None, username: str | None = None
    ):
        self.store = store
        self.project_id = project_id
        self.username = username or "local"
        self.actor = self._actor()

    @classmethod
    def open(cls, database_url: str, project_id=None, username=None) -> "LocalSession":
        """Open the database at ``database_url`` and return a session on it."""
        return cls(Store.open(database_url), project_id=project_id, username=username)

    def _actor(self) -> Actor:
        for user in Accounts(self.store).users():
            if user["username"] == self.username:
                return Accounts(self.store).actor(self.username)
        return Actor(username=self.username, full_name=self.username, is_admin=True)

    def request(
        self, method: str, operation: str, params: dict, body=None, headers=None
    ):
        """Carry out one request in this process (an idempotency key in
        ``headers`` is ignored: there is no reply to lose)."""
        if body is not None:
            body = json.loads(json.dumps(body))
        return dispatch.call(
            self.store, self.actor, operation, _as_on_the_wire(params), body
        )

    def __repr__(self) -> str:
        return (
            f"LocalSession({self.store.engine.url!r}, project_id={self.project_id!r})"
        )
