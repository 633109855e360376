"""Fixtures of the server tests: users with tokens, the app in-process, and a
real ``flexilims serve`` process on 127.0.0.1."""

import warnings
from dataclasses import dataclass

import pytest

from flexilims import protocol
from flexilims.server import create_app
from flexilims.store.accounts import Accounts
from servers import API


@dataclass
class User:
    username: str
    password: str
    full_name: str
    token: str | None = None

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def make_user(store):
    """Factory: ``make_user(username, projects=(), admin=False)`` adds a user
    (member of the named projects) and returns a :class:`User`."""

    def make(username, *, projects=(), admin=False, password=None) -> User:
        accounts = Accounts(store)
        password = password or f"{username}-secret"
        full_name = f"{username.capitalize()} Doe"
        accounts.add_user(username, password, full_name, is_admin=admin)
        for name in projects:
            accounts.add_member(username, name)
        return User(username, password, full_name)

    return make


@pytest.fixture
def app(database_url):
    """The server application on the test database, in-process."""
    app = create_app(database_url)
    yield app
    app.state.store.engine.dispose()


@pytest.fixture
def api(app):
    """A Starlette test client of :func:`app` (no cookies kept)."""
    with warnings.catch_warnings():
        # Starlette warns that its test client will move to httpx2.
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    with TestClient(app, base_url="http://testserver") as client:
        yield client


@pytest.fixture
def login(api):
    """Factory: ``login(user)`` authenticates through the endpoint and sets
    ``user.token`` (the test client keeps no cookie)."""

    def authenticate(user: User) -> User:
        reply = api.post(API + "authenticate", auth=(user.username, user.password))
        assert reply.status_code == 200, reply.text
        api.cookies.clear()
        user.token = reply.text
        return user

    return authenticate


@pytest.fixture
def jane(project, make_user, login):
    """A member of project ``test``, logged in."""
    return login(make_user("jane", projects=["test"]))


@pytest.fixture
def start_server(database_url, store, servers):
    """Factory: ``start_server(*serve_options, env=None)``: the base URL of a
    ``flexilims serve`` process on the test database (with ``env`` added to its
    environment), shared with the other tests asking for the same."""

    def start(*args: str, env: dict | None = None) -> str:
        return servers(database_url, *args, env=env)

    return start


@pytest.fixture
def server(start_server):
    """A real server process on the test database; its base URL."""
    return start_server()


class Caller:
    """Requests as one user: ``call(operation, params, body)``."""

    def __init__(self, api, user):
        self.api = api
        self.user = user

    def __call__(self, operation, params=None, body=None, *, method=None, **kwargs):
        headers = self.user.headers if self.user else {}
        return self.api.request(
            method or protocol.METHODS[operation],
            API + operation,
            params=params,
            json=body,
            headers=headers,
            **kwargs,
        )

    def as_(self, user) -> "Caller":
        return Caller(self.api, user)


@pytest.fixture
def call(api, jane):
    return Caller(api, jane)


@pytest.fixture
def save(call, project):
    """``save(type, name, attributes, **body)``: create an entity, return it."""

    def create(datatype, name, attributes=None, strict=False, **body):
        body = {
            "type": datatype,
            "name": name,
            "project_id": project.id,
            "attributes": attributes or {},
            **body,
        }
        params = {"strict_validation": "true" if strict else "false"}
        reply = call("save", params, body)
        assert reply.status_code == 200, reply.text
        return reply.json()

    return create


@pytest.fixture
def tree(save):
    """mouse > session > recording > dataset, and mouse > sample."""
    mouse = save("mouse", "PZAH6.4b", {"sex": "F", "birth_date": "2021-05-05"})
    session = save(
        "session", "PZAH6.4b_S20210513", {"date": "2021-05-13"}, origin_id=mouse["id"]
    )
    recording = save(
        "recording",
        "R101",
        {"recording_type": "two_photon"},
        origin_id=session["id"],
    )
    dataset = save(
        "dataset",
        "ds1",
        {"path": "a/b", "dataset_type": "scanimage"},
        origin_id=recording["id"],
    )
    sample = save("sample", "brain", {}, origin_id=mouse["id"])
    return {
        "mouse": mouse,
        "session": session,
        "recording": recording,
        "dataset": dataset,
        "sample": sample,
    }
