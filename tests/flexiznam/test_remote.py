"""Sessions on a server from the config: password sources and token reuse."""

import os
import time

import pytest
import yaml
from filelock import FileLock

import flexiznam.main as flz
from flexilims import Flexilims, LocalSession, ServerUnreachable
from flexilims.store.accounts import Accounts
from flexiznam import remote
from flexiznam.config import load_config
from flexiznam.errors import ConfigurationError, FlexilimsError


@pytest.fixture
def server_config(config_dir, store, project, database_url, monkeypatch, servers):
    """A config pointing at a real server; user ``ada`` is a member of ``test``."""
    accounts = Accounts(store)
    accounts.add_user("ada", "ada-password", full_name="Ada L")
    accounts.add_member("ada", project.name)
    # Tokens are revoked here, in another process than the server's: with its
    # token cache off, the server sees each revocation at once.
    base_url = servers(database_url, env={"FLEXILIMS_TOKEN_CACHE_SECONDS": "0"})
    config = yaml.safe_load((config_dir / "config.yml").read_text())
    config.update(flexilims_url=base_url, flexilims_username="ada")
    (config_dir / "config.yml").write_text(yaml.safe_dump(config))
    monkeypatch.setattr(remote, "keyring_password", lambda url, username: None)
    return base_url


def count_tokens(store) -> int:
    with store.engine.connect() as conn:
        return conn.exec_driver_sql("SELECT count(*) FROM tokens").scalar()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_password_from_the_secrets_file_and_token_reused(
    server_config, config_dir, store, project
):
    secrets = config_dir / remote.SECRETS_FILE
    secrets.write_text(yaml.safe_dump({"flexilims": {"ada": "ada-password"}}))
    os.chmod(secrets, 0o600)
    first = flz.get_flexilims_session("test")
    assert isinstance(first, Flexilims) and first.project_id == project.id
    second = flz.get_flexilims_session("test")
    assert second.token == first.token
    assert count_tokens(store) == 1
    flz.add_mouse("M1", "test", flexilims_session=second)
    assert flz.get_entity("mouse", name="M1", flexilims_session=first)["createdBy"] == (
        "Ada L"
    )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_secrets_readable_by_others_are_refused(server_config, config_dir):
    secrets = config_dir / remote.SECRETS_FILE
    secrets.write_text(yaml.safe_dump({"flexilims": {"ada": "ada-password"}}))
    os.chmod(secrets, 0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        flz.get_flexilims_session("test")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_revoked_day_token_is_replaced(server_config, store, monkeypatch):
    first = flz.get_flexilims_session("test", password="ada-password")
    Accounts(store).revoke_tokens("ada")
    monkeypatch.setattr("getpass.getpass", lambda prompt: "ada-password")
    second = flz.get_flexilims_session("test")
    assert second.token != first.token
    assert second.get_project_info()[0]["name"] == "test"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_unknown_project_names_are_reported(server_config, store):
    with pytest.raises(ConfigurationError, match="a project named 'nope' on http"):
        flz.get_flexilims_session("nope", password="ada-password")
    Accounts(store).create_project("lab1")
    with pytest.raises(ConfigurationError) as refused:
        flz.get_flexilims_session("lab1", password="ada-password")
    assert "ada cannot use a project named 'lab1'" in str(refused.value)
    assert "`flexilims project add-member lab1 ada`" in str(refused.value)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_wrong_password_says_how_to_store_the_new_one(server_config):
    with pytest.raises(ConfigurationError) as refused:
        flz.get_flexilims_session("test", password="old-password")
    assert str(refused.value) == (
        f"The server {server_config} refused the password of ada. If it changed, "
        "store the new one with `flexiznam add-password`."
    )


def test_store_password_falls_back_to_an_owner_only_file(tmp_path, monkeypatch):
    monkeypatch.setenv("FLEXIZNAM_CONFIG_DIR", str(tmp_path))

    def no_keyring(*args):
        raise RuntimeError("no keyring backend")

    monkeypatch.setattr(remote.keyring, "set_password", no_keyring)
    where = remote.store_password("http://x/flexilims/api/", "ada", "secret")
    assert where == str(tmp_path / remote.SECRETS_FILE)
    assert os.stat(where).st_mode & 0o077 == 0
    assert remote.file_password("ada") == "secret"


# ------------------------------------------------- later keywords of sessions


def test_reuse_token_false_logs_in_anew_and_keeps_the_day_token(
    server_config, config_dir, store
):
    shared = flz.get_flexilims_session("test", password="ada-password")
    token_file = remote.token_file(server_config, "ada")
    saved = token_file.read_text()
    fresh = flz.get_flexilims_session(
        "test", password="ada-password", reuse_token=False
    )
    assert fresh.token != shared.token
    assert count_tokens(store) == 2
    assert token_file.read_text() == saved
    again = flz.get_flexilims_session("test", password="ada-password")
    assert again.token == shared.token
    assert flz.get_entities(flexilims_session=fresh).empty


def test_a_locked_token_file_times_out_with_a_clear_error(server_config, store):
    lock = FileLock(str(remote.token_file(server_config, "ada")) + ".lock")
    lock.acquire()
    try:
        started = time.monotonic()
        with pytest.raises(FlexilimsError, match="reuse_token=False"):
            flz.get_flexilims_session("test", password="ada-password", timeout=0.3)
        assert time.monotonic() - started < 5
        assert count_tokens(store) == 0
        session = flz.get_flexilims_session(
            "test", password="ada-password", reuse_token=False, timeout=0.3
        )
        assert isinstance(session, Flexilims)
    finally:
        lock.release()


def test_offline_mode_opens_the_embedded_database(
    config_dir, store, project, set_config, monkeypatch
):
    # A server nobody answers at: offline mode must not try it.
    set_config(flexilims_url="http://127.0.0.1:9/flexilims/api/")
    monkeypatch.setattr(remote, "keyring_password", lambda url, username: None)
    session = flz.get_flexilims_session("test", offline_mode=True)
    assert isinstance(session, LocalSession)
    assert session.project_id == project.id
    flz.add_mouse("M1", "test", flexilims_session=session)
    assert list(flz.get_entities(flexilims_session=session).index) == ["M1"]
    set_config(offline_mode=True)
    assert isinstance(flz.get_flexilims_session("test"), LocalSession)
    with pytest.raises(FlexilimsError) as unreachable:
        flz.get_flexilims_session("test", password="x", offline_mode=False)
    assert str(unreachable.value).startswith(
        "Cannot reach the flexilims server at http://127.0.0.1:9/flexilims/api/: "
        "check that it is running"
    )
    assert "HTTPConnectionPool" not in str(unreachable.value)
    assert isinstance(unreachable.value.__cause__, ServerUnreachable)


def test_a_servers_config_checks_its_database_url_when_offline(
    config_dir, set_config, monkeypatch, tmp_path
):
    """Online, database_url is not used, so not parsed (that loads
    SQLAlchemy); a session that opens it offline refuses it all the same."""
    monkeypatch.chdir(tmp_path)
    set_config(
        flexilims_url="http://127.0.0.1:9/flexilims/api/", database_url="sqlite:///x.db"
    )
    assert load_config()["database_url"] == "sqlite:///x.db"
    with pytest.raises(ConfigurationError) as refused:
        flz.get_flexilims_session("test", offline_mode=True)
    assert str(refused.value).startswith(
        f"{config_dir / 'config.yml'}: database_url: 'sqlite:///x.db' is a "
        "relative SQLite path"
    )
    assert not (tmp_path / "x.db").exists()
    set_config(offline_mode=True)
    with pytest.raises(ConfigurationError, match="is a relative SQLite path"):
        load_config()


def test_offline_mode_must_be_a_boolean(config_dir, set_config):
    set_config(offline_mode="sometimes")
    with pytest.raises(ConfigurationError, match="offline_mode must be true or false"):
        flz.get_flexilims_session("test")
    with pytest.raises(ConfigurationError, match="offline_mode must be true or false"):
        flz.get_flexilims_session("test", offline_mode="yes")
