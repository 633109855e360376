"""Fixtures of the web page tests: the application in-process with a data
root, users of several kinds, a small project, and a browser-like client that
keeps cookies and logs in through the form."""

import re
import warnings
from dataclasses import replace

import pytest

from flexilims.server import create_app
from flexilims.settings import load as load_settings
from flexilims.store import Actor
from flexilims.store.accounts import Accounts

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

CSRF = re.compile(r'name="csrf" value="([^"]*)"')


@pytest.fixture
def data_root(tmp_path):
    root = tmp_path / "data"
    (root / "raw").mkdir(parents=True)
    (root / "processed").mkdir()
    return root


@pytest.fixture
def web_app(database_url, data_root, tmp_path):
    settings = replace(
        load_settings(),
        database_url=database_url,
        data_root=str(data_root),
        cache_dir=str(tmp_path / "cache"),
    )
    app = create_app(settings=settings)
    yield app
    app.state.store.engine.dispose()


@pytest.fixture
def wstore(web_app):
    """The store the pages serve."""
    return web_app.state.store


class Browser:
    """A client that keeps cookies, as a browser does."""

    def __init__(self, app, base_url="http://testserver"):
        self.client = TestClient(app, base_url=base_url, follow_redirects=False)
        self.csrf = ""

    def get(self, url, **kwargs):
        reply = self.client.get(url, **kwargs)
        found = (
            CSRF.search(reply.text)
            if "text/html" in reply.headers.get("content-type", "")
            else None
        )
        if found:
            self.csrf = found.group(1)
        return reply

    def post(self, url, data=None, *, csrf=True, **kwargs):
        data = dict(data or {})
        if csrf and "csrf" not in data:
            data["csrf"] = self.csrf
        return self.client.post(url, data=data, **kwargs)

    def login(self, username, password=None):
        self.get("/login")
        reply = self.post(
            "/login",
            {"username": username, "password": password or f"{username}-secret"},
        )
        assert reply.status_code == 303, reply.text
        self.get("/")
        return reply

    def close(self):
        self.client.close()


@pytest.fixture
def browser(web_app):
    """Factory: ``browser()`` is a new client; ``browser("jane")`` one logged
    in as jane."""
    made = []

    def make(username=None, base_url="http://testserver"):
        client = Browser(web_app, base_url)
        made.append(client)
        if username:
            client.login(username)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def people(wstore):
    """Projects ``test`` and ``other``; users ``ada`` (admin), ``jane``
    (member of test) and ``olga`` (member of other). Returns the projects."""
    accounts = Accounts(wstore)
    test = accounts.create_project("test")
    other = accounts.create_project("other")
    accounts.add_user("ada", "ada-secret", "Ada Admin", is_admin=True)
    accounts.add_user("jane", "jane-secret", "Jane Doe")
    accounts.add_user("olga", "olga-secret", "Olga Other")
    accounts.add_member("jane", "test")
    accounts.add_member("olga", "other")
    return {"test": test, "other": other}


def actor_of(store, username) -> Actor:
    return Accounts(store).actor(username)


@pytest.fixture
def lab(wstore, people):
    """mouse > session > recording > dataset, mouse > sample, in project test;
    the dataset links to the mouse. Returns the entities by role."""
    jane = actor_of(wstore, "jane")
    pid = people["test"].id

    def save(datatype, name, attributes, origin=None, links=None):
        return wstore.save(
            jane,
            datatype=datatype,
            name=name,
            project_id=pid,
            attributes=attributes,
            origin_id=origin,
            other_relations=links,
        )

    mouse = save("mouse", "PZAH6.4b", {"sex": "F", "birth_date": "2021-05-05"})
    session = save("session", "PZAH6.4b_S20210513", {"date": "2021-05-13"}, mouse["id"])
    recording = save(
        "recording", "R101", {"recording_type": "two_photon"}, session["id"]
    )
    dataset = save(
        "dataset",
        "R101_scan",
        {"path": "PZAH6.4b/S20210513/R101", "dataset_type": "scanimage"},
        recording["id"],
        [mouse["id"]],
    )
    sample = save("sample", "brain", {"sample_type": "brain"}, mouse["id"])
    return {
        "project": people["test"],
        "mouse": mouse,
        "session": session,
        "recording": recording,
        "dataset": dataset,
        "sample": sample,
        "save": save,
        "jane": jane,
    }
