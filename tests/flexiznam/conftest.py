"""Fixtures of the flexiznam tests: a configured flexiznam folder and a session,
in-process or over HTTP to a real server process."""

import os
import stat

import keyring
import keyring.backends.fail
import pytest
import yaml
from click.testing import CliRunner

from flexilims import Flexilims, LocalSession
from flexilims.store.accounts import Accounts

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
        send = session.request

        def recording(method, operation, params, body=None):
            sent.append((method, operation))
            return send(method, operation, params, body)

        session.request = recording
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


@pytest.fixture
def flz_cli(flz_session, config_dir, project, set_config):
    """``flz_cli(*args, input=None)``: the ``flexiznam`` command as user
    ``tester`` through the config, on the same database as ``flz_session``:
    the embedded database, or (with the HTTP session) the server's URL with
    the password in the secrets file (no system keyring). ``default_project``
    is the test project."""
    from flexiznam.cli import cli
    from flexiznam.remote import SECRETS_FILE

    settings = {"default_project": project.name}
    if isinstance(flz_session, Flexilims):
        settings["flexilims_url"] = flz_session.base_url
        secrets = config_dir / SECRETS_FILE
        secrets.write_text(yaml.safe_dump({"flexilims": {"tester": "tester-password"}}))
        os.chmod(secrets, stat.S_IRUSR | stat.S_IWUSR)
    set_config(**settings)
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    if isinstance(flz_session, Flexilims):
        from flexiznam.sessions import get_flexilims_session

        # Log in once (the day's token): a snapshot taken now stays the same
        # through commands that write nothing.
        get_flexilims_session(project.name)

    def run(*args, input=None):
        return CliRunner().invoke(cli, [str(arg) for arg in args], input=input)

    yield run
    keyring.set_keyring(previous)
