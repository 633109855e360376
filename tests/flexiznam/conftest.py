"""Fixtures of the flexiznam tests: a configured flexiznam folder and a session,
in-process or over HTTP to a real server process."""

import os

import pytest
import yaml

from flexilims import Flexilims, LocalSession
from flexilims.store.accounts import Accounts
from servers import ServerProcess

TRANSPORTS = ["local", "http"]


@pytest.fixture
def config_dir(tmp_path, monkeypatch, database_url):
    """A flexiznam folder whose config points at the test database and data roots."""
    folder = tmp_path / "flexiznam_config"
    folder.mkdir()
    config = {
        "database_url": database_url,
        "flexilims_username": "tester",
        "data_root": {
            "raw": str(tmp_path / "raw"),
            "processed": str(tmp_path / "processed"),
        },
    }
    (folder / "config.yml").write_text(yaml.safe_dump(config))
    monkeypatch.setenv("FLEXIZNAM_CONFIG_DIR", str(folder))
    return folder


@pytest.fixture(scope="session")
def servers():
    """One server process per database, started when first needed."""
    running: dict[str, ServerProcess] = {}

    def server_for(database_url: str) -> str:
        if database_url not in running:
            running[database_url] = ServerProcess(database_url)
        return running[database_url].base_url

    yield server_for
    for process in running.values():
        process.stop()


@pytest.fixture(params=TRANSPORTS)
def flz_session(request, store, project, config_dir, database_url):
    """A session on the test project as user ``tester``, with flexiznam
    configured: the in-process session, or the HTTP client of a real server."""
    if request.param == "local":
        return LocalSession(store, project_id=project.id, username="tester")
    accounts = Accounts(store)
    accounts.add_user("tester", "tester-password", full_name="tester")
    accounts.add_member("tester", project.name)
    base_url = request.getfixturevalue("servers")(database_url)
    return Flexilims("tester", "tester-password", project.id, base_url=base_url)


@pytest.fixture
def set_config(config_dir):
    """``set_config(**settings)``: change settings of the test's config file."""
    path = config_dir / "config.yml"

    def change(**settings):
        config = yaml.safe_load(path.read_text())
        config.update(settings)
        stamp = path.stat().st_mtime_ns
        path.write_text(yaml.safe_dump(config))
        # A distinct modification time even within one clock tick: the config
        # is cached while its time is unchanged.
        os.utime(path, ns=(stamp + 1_000_000, stamp + 1_000_000))
        return config

    return change


@pytest.fixture
def requests_of():
    """``requests_of(session)``: a list that records every request the
    session sends from then on, as ``(method, operation)`` (the session still
    sends them: the list only watches)."""

    def watch(session):
        sent = []
        send = session._request

        def recording(method, operation, params, body=None):
            sent.append((method, operation))
            return send(method, operation, params, body)

        session._request = recording
        return sent

    return watch


class ProtocolOnlyClient:
    """A session that has only the methods of the Flexilims protocol, as a
    third-party client has (no ``get_descendants``, no ``batch``), sending
    each through one of our real sessions."""

    METHODS = (
        "get",
        "get_children",
        "get_project_info",
        "post",
        "update_one",
        "update_many",
        "delete",
    )

    def __init__(self, session):
        self._session = session
        self.project_id = session.project_id
        self.username = session.username
        for name in self.METHODS:
            setattr(self, name, getattr(session, name))


@pytest.fixture
def protocol_only_client(flz_session):
    """``flz_session`` seen through :class:`ProtocolOnlyClient`."""
    return ProtocolOnlyClient(flz_session)
