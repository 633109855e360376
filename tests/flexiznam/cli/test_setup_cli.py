"""The ``flexiznam`` command as a whole: --version, --debug, and one clear
message (exit status 1, no traceback, nothing written) for the ordinary
mistakes of configuration, passwords, servers and projects."""

import importlib.metadata

import pytest
from click.testing import CliRunner

import flexiznam.main as flz
from flexilims.store.accounts import Accounts
from flexiznam.cli import cli
from flexiznam.errors import FlexilimsError
from flexiznam.remote import SECRETS_FILE


def ok(result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def fails(result, message: str) -> None:
    assert result.exit_code == 1, result.output
    assert message in result.output, result.output
    assert "Traceback" not in result.output


def test_version():
    version = importlib.metadata.version("flexiznam")
    output = ok(CliRunner().invoke(cli, ["--version"], prog_name="flexiznam"))
    assert output == f"flexiznam, version {version}\n"


def test_debug_shows_the_traceback(flz_cli):
    plain = flz_cli("tree", "--root", "NOPE")
    fails(plain, "No entity named NOPE in the project.")
    assert isinstance(plain.exception, SystemExit)
    for arguments in (["--debug", "tree", "--root", "NOPE"], ["tree", "--debug"]):
        debug = flz_cli(*arguments, "--root", "NOPE")
        assert isinstance(debug.exception, FlexilimsError), debug.output


def test_unknown_settings_are_named_in_a_warning(flz_cli, set_config):
    set_config(data_rot={"raw": "/x"})
    result = flz_cli("ls")
    assert result.exit_code == 0, result.output
    assert "Warning: " in result.output
    assert "unknown setting 'data_rot' (did you mean data_root?)" in result.output


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"data_root": "/tmp/x"}, "data_root must hold a raw and a processed folder"),
        ({"database_url": "/tmp/foo.db"}, "is a path, not a database URL: use"),
        ({"offline_mode": "sometimes"}, "offline_mode must be true or false"),
    ],
)
def test_configuration_mistakes(
    flz_cli, set_config, store, snapshot, settings, message
):
    before = snapshot(store)
    set_config(**settings)
    for arguments in (["check-paths"], ["ls"], ["tree"]):
        fails(flz_cli(*arguments), message)
    assert snapshot(store) == before


@pytest.mark.parametrize("flz_session", ["http"], indirect=True)
def test_a_changed_password_says_how_to_store_the_new_one(
    flz_cli, flz_session, store, config_dir
):
    Accounts(store).set_password("tester", "new-password")
    for token in (config_dir / "tokens").iterdir():
        token.unlink()
    fails(
        flz_cli("ls"),
        f"The server {flz_session.base_url} refused the password of tester. If it "
        "changed, store the new one with `flexiznam add-password`.",
    )
    stored = flz_cli("add-password", input="new-password\nnew-password\n")
    assert ok(stored).endswith(f"Password stored in {config_dir / SECRETS_FILE}.\n")
    ok(flz_cli("ls"))


@pytest.mark.parametrize("flz_session", ["http"], indirect=True)
def test_an_unreachable_server_is_one_sentence(flz_cli, set_config):
    set_config(flexilims_url="http://127.0.0.1:9/flexilims/api/")
    result = flz_cli("ls")
    fails(
        result,
        "Cannot reach the flexilims server at http://127.0.0.1:9/flexilims/api/: "
        "check that it is running",
    )
    assert "HTTPConnectionPool" not in result.output
    assert "Max retries" not in result.output


@pytest.mark.parametrize("flz_session", ["http"], indirect=True)
def test_a_project_of_which_one_is_not_a_member_is_named(flz_cli, store):
    Accounts(store).create_project("lab1")
    fails(
        flz_cli("ls", "-p", "lab1"),
        "tester cannot use a project named 'lab1' on http",
    )
    assert (
        "`flexilims project add-member lab1 tester`"
        in flz_cli("ls", "-p", "lab1").output
    )


@pytest.mark.parametrize("flz_session", ["local"], indirect=True)
def test_a_project_of_which_one_is_not_a_member_on_the_embedded_database(
    flz_cli, store, snapshot
):
    """A user of the embedded database has the rights of their account there."""
    accounts = Accounts(store)
    accounts.create_project("lab1")
    accounts.add_user("tester", "pw", "tester")
    before = snapshot(store)
    fails(
        flz_cli("ls", "-p", "lab1"),
        "Error: user tester is not a member of project lab1: an admin adds you "
        "with `flexilims project add-member lab1 tester`.",
    )
    fails(flz_cli("ls", "-p", "lab2"), "No project named 'lab2'")
    assert snapshot(store) == before


def test_a_missing_project_is_asked_for(flz_cli, set_config, config_dir):
    set_config(default_project=None)
    fails(
        flz_cli("ls"),
        "Which project? Give it with --project NAME, or set default_project in "
        f"{config_dir / 'config.yml'}.",
    )


def test_demo_refuses_a_project_with_data_of_its_own(
    flz_cli, flz_session, store, snapshot
):
    flz.add_mouse("M001", "test", flexilims_session=flz_session)
    before = snapshot(store)
    fails(
        flz_cli("demo", "--project", "test"),
        "Project test holds data of its own (1 entity: M001); the demo adds",
    )
    assert snapshot(store) == before


def test_demo_fills_an_empty_project(flz_cli):
    first = ok(flz_cli("demo", "--project", "test"))
    assert first.splitlines()[0] == "mouse PZAH6.4b"
    assert ok(flz_cli("demo", "--project", "test")) == first
