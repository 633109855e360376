"""``flexilims`` administration commands (click's runner) on a real database."""

import json

import pytest
import yaml
from click.testing import CliRunner

from flexilims import (
    AuthenticationFailed,
    BadRequest,
    Flexilims,
    Forbidden,
    LocalSession,
)
from flexilims.cli import cli
from flexilims.store import labsettings
from flexilims.store.accounts import Accounts


@pytest.fixture
def run(database_url, store):
    """``run(*args, input=None)``: the command on the test database."""

    def invoke(*args, input=None, database=True):
        extra = ["--database", database_url] if database else []
        return CliRunner().invoke(cli, [*args, *extra], input=input)

    return invoke


def ok(result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def fails(result, message: str) -> None:
    assert result.exit_code == 1, result.output
    assert message in result.output


# ------------------------------------------------------------------ users


def test_user_add_list_remove(run, store):
    assert ok(run("user", "add", "jane", "--full-name", "Jane Doe", "--password", "pw"))
    assert ok(run("user", "add", "root", "--admin", "--password", "pw"))
    ok(run("project", "create", "test"))
    ok(run("project", "add-member", "test", "jane"))
    assert ok(run("user", "list")).splitlines() == [
        "username full_name admin disabled projects",
        "jane     Jane Doe  false false    test",
        "root     root      true  false",
    ]
    assert Accounts(store).authenticate("jane", "pw")
    assert Accounts(store).actor("jane").full_name == "Jane Doe"
    assert Accounts(store).actor("root").is_admin
    fails(run("user", "add", "jane", "--password", "x"), "User jane already exists.")
    asked = run("user", "remove", "jane", input="n\n")
    fails(asked, "Remove user jane, member of 1 project? [y/N]: n\nNothing was")
    assert len(Accounts(store).users()) == 2
    assert ok(run("user", "remove", "jane", input="y\n")).endswith(
        "Removed user jane.\n"
    )
    assert [u["username"] for u in Accounts(store).users()] == ["root"]
    fails(run("user", "remove", "jane", "--yes"), "No user named jane.")


def test_user_list_empty_and_as_csv(run, store):
    empty = run("user", "list")
    assert ok(empty) == "No users.\n" and empty.stdout == ""
    header = "username,full_name,admin,disabled,projects\n"
    assert ok(run("user", "list", "--csv")) == header
    ok(run("user", "add", "zoë", "--full-name", "Zoë, Q.", "--password", "pw"))
    assert ok(run("user", "list", "--csv")) == header + 'zoë,"Zoë, Q.",False,False,\n'
    assert ok(run("user", "list")) == (
        "username full_name admin disabled projects\nzoë      Zoë, Q.   false false\n"
    )


def test_user_add_prompts_for_a_hidden_confirmed_password(run, store):
    result = run("user", "add", "jane", input="first\nsecond\npw\npw\n")
    output = ok(result)
    assert "do not match" in output
    assert "first" not in output and "second" not in output
    assert Accounts(store).authenticate("jane", "pw")


def test_user_passwd_changes_the_password_and_revokes_tokens(run, store):
    accounts = Accounts(store)
    accounts.add_user("jane", "old")
    token = accounts.authenticate("jane", "old")
    ok(run("user", "passwd", "jane", input="new\nnew\n"))
    with pytest.raises(Forbidden):
        accounts.actor_for_token(token)
    with pytest.raises(Exception, match="Wrong username or password"):
        accounts.authenticate("jane", "old")
    assert accounts.authenticate("jane", "new")
    fails(run("user", "passwd", "nobody", "--password", "x"), "No user named nobody")


def test_user_disable_and_enable(run, store, project, snapshot):
    accounts = Accounts(store)
    accounts.add_user("jane", "pw", "Jane Doe")
    token = accounts.authenticate("jane", "pw")
    assert ok(run("user", "disable", "jane")) == (
        "Disabled user jane: they cannot log in, and their tokens are revoked. "
        "`flexilims user enable jane` lets them in again.\n"
    )
    with pytest.raises(Forbidden):
        accounts.actor_for_token(token)
    with pytest.raises(AuthenticationFailed, match="User jane is disabled"):
        accounts.authenticate("jane", "pw")
    listed = json.loads(ok(run("user", "list", "--json")))
    assert [(u["username"], u["disabled"]) for u in listed] == [("jane", True)]
    assert ok(run("user", "enable", "jane")) == (
        "Enabled user jane: they can log in again.\n"
    )
    assert accounts.authenticate("jane", "pw")
    before = snapshot(store)
    for action in ("disable", "enable"):
        fails(
            run("user", action, "nobody"),
            "No user named nobody. Add one with `flexilims user add`.",
        )
    assert snapshot(store) == before


def test_a_disabled_member_is_refused_by_a_running_server(
    run, store, project, start_server, snapshot
):
    """Over a real server: the member's next request fails (tokens revoked,
    the password no longer logs in); enabled again, the same client goes on.
    (The server checks every token anew here: by default a disable from
    another process takes effect within ``token_cache_seconds``.)"""
    server = start_server(env={"FLEXILIMS_TOKEN_CACHE_SECONDS": "0"})
    accounts = Accounts(store)
    accounts.add_user("jane", "pw", "Jane Doe")
    accounts.add_member("jane", "test")
    client = Flexilims("jane", "pw", project.id, base_url=server)
    client.post("mouse", "M1", {})
    ok(run("user", "disable", "jane"))
    before = snapshot(store)
    with pytest.raises(AuthenticationFailed) as raised:
        client.post("mouse", "M2", {})
    assert raised.value.detail == "User jane is disabled: ask an admin to enable it."
    assert snapshot(store) == before
    ok(run("user", "enable", "jane"))
    assert [m["name"] for m in client.get("mouse")] == ["M1"]


def test_token_revoke(run, store):
    accounts = Accounts(store)
    accounts.add_user("jane", "pw")
    tokens = [accounts.authenticate("jane", "pw") for _ in range(2)]
    assert ok(run("token", "revoke", "jane")) == "Revoked 2 tokens of jane.\n"
    for token in tokens:
        with pytest.raises(Forbidden):
            accounts.actor_for_token(token)
    assert ok(run("token", "revoke", "jane")) == "Revoked 0 tokens of jane.\n"
    fails(run("token", "revoke", "nobody"), "No user named nobody")


# --------------------------------------------------------------- projects


def test_projects(run, store):
    output = ok(run("project", "create", "test"))
    created = Accounts(store).project("test")
    assert output == f"Created project test with id {created.id}.\n"
    fixed = "606df1ac08df4d77c72c9aa4"
    ok(run("project", "create", "kept", "--id", fixed))
    assert Accounts(store).project("kept").id == fixed
    assert ok(run("project", "list")).splitlines() == [
        "id                       name",
        f"{fixed} kept",
        f"{created.id} test",
    ]
    assert ok(run("project", "list", "--csv")).splitlines() == [
        "id,name",
        f"{fixed},kept",
        f"{created.id},test",
    ]
    assert json.loads(ok(run("project", "list", "--json"))) == [
        {"id": fixed, "name": "kept"},
        {"id": created.id, "name": "test"},
    ]
    fails(run("project", "create", "bad", "--id", "XYZ"), "is not a project id")
    fails(run("project", "create", "test"), "A project named test")
    fails(run("project", "create", "again", "--id", fixed), "already exists")


def test_membership(run, store, project):
    Accounts(store).add_user("jane", "pw")
    assert ok(run("project", "add-member", "test", "jane")) == (
        "jane is a member of test.\n"
    )
    ok(run("project", "add-member", project.id, "jane"))  # by id, twice: no error
    assert Accounts(store).actor("jane").project_ids == {project.id}
    ok(run("project", "remove-member", "test", "jane"))
    assert Accounts(store).actor("jane").project_ids == frozenset()
    fails(run("project", "add-member", "nope", "jane"), "No project named 'nope'")
    fails(run("project", "add-member", "test", "bob"), "No user named bob")


# --------------------------------------------------------------- settings


def test_settings_show_and_load(run, store, project, tmp_path):
    shown = yaml.safe_load(ok(run("settings", "show")))
    with store.read() as conn:
        assert shown == labsettings.read_settings(conn)
    assert list(shown["datatypes"])[:2] == ["mouse", "session"]
    shown["datatypes"]["slice"] = {
        "project_scoped": True,
        "attributes": {"thickness": {"type": "number", "required": True}},
    }
    path = tmp_path / "settings.yml"
    path.write_text(yaml.safe_dump(shown, sort_keys=False))
    assert ok(run("settings", "load", str(path))).splitlines() == [
        "change datatype attribute detail",
        "add    slice              1 attribute",
        f"Loaded the lab settings of {path}: 1 added, 0 changed, 0 removed.",
    ]
    assert ok(run("settings", "load", str(path))) == (
        f"The lab settings are already those of {path}.\n"
    )
    reloaded = yaml.safe_load(ok(run("settings", "show")))
    assert reloaded == shown
    session = LocalSession(store, project_id=project.id)
    assert session.post("slice", "s1", {"thickness": 50})["name"] == "s1"
    with pytest.raises(BadRequest, match="'thickness' is a necessary attribute"):
        session.post("slice", "s2", {})


def test_settings_load_says_what_it_changes_and_asks_before_removing_used_types(
    run, store, project, tmp_path, snapshot
):
    session = LocalSession(store, project_id=project.id)
    mouse = session.post("mouse", "m1", {})
    for name in ("s1", "s2"):
        session.post("session", name, {}, origin_id=mouse["id"])
    shown = yaml.safe_load(ok(run("settings", "show")))
    partial = {"datatypes": {"mouse": shown["datatypes"]["mouse"]}}
    partial["datatypes"]["mouse"]["attributes"]["weight"] = {"type": "number"}
    del partial["datatypes"]["mouse"]["attributes"]["alive"]
    partial["datatypes"]["mouse"]["attributes"]["sex"]["allowed"] = ["F", "M"]
    path = tmp_path / "partial.yml"
    path.write_text(yaml.safe_dump(partial, sort_keys=False))
    kept = snapshot(store)
    dry = ok(run("settings", "load", str(path), "--dry-run")).splitlines()
    assert dry[:4] == [
        "change datatype  attribute detail",
        "change mouse     sex       allowed: None → ['F', 'M']",
        "add    mouse     weight    type number",
        "remove mouse     alive",
    ]
    assert "remove session             used by 2 entities" in dry
    assert "remove recording" in dry
    assert dry[-1] == "Nothing was changed (--dry-run)."
    declined = run("settings", "load", str(path), input="n\n")
    fails(declined, "Remove datatypes that entities use: session (2 entities)?")
    assert "Nothing was changed." in declined.output
    assert snapshot(store) == kept
    loaded = ok(run("settings", "load", str(path), input="y\n"))
    assert loaded.endswith("1 added, 1 changed, 5 removed.\n")
    with store.read() as conn:
        assert list(labsettings.read_settings(conn)["datatypes"]) == ["mouse"]


def test_settings_load_warns_of_unknown_keys(run, store, tmp_path):
    shown = yaml.safe_load(ok(run("settings", "show")))
    shown["datatypes"]["mouse"]["atributes"] = {}
    shown["datatypes"]["session"]["attributes"]["date"]["requird"] = True
    path = tmp_path / "typos.yml"
    path.write_text(yaml.safe_dump(shown, sort_keys=False))
    output = ok(run("settings", "load", str(path), "--dry-run"))
    assert (
        f"Warning: {path}: unknown key 'atributes' in datatypes.mouse "
        "(did you mean attributes?)"
    ) in output
    assert (
        "unknown key 'requird' in datatypes.session.attributes.date "
        "(did you mean required?)"
    ) in output


def test_settings_load_refuses_bad_files(run, store, tmp_path):
    bad_type = tmp_path / "bad.yml"
    bad_type.write_text("datatypes:\n  mouse:\n    attributes:\n      x: {type: odd}\n")
    fails(run("settings", "load", str(bad_type)), "'mouse.x' has type 'odd'")
    not_yaml = tmp_path / "broken.yml"
    not_yaml.write_text("datatypes: [unclosed\n")
    fails(run("settings", "load", str(not_yaml)), "is not valid YAML")
    empty = tmp_path / "empty.yml"
    empty.write_text("")
    fails(run("settings", "load", str(empty)), "Lab settings need a 'datatypes'")
    result = run("settings", "load", str(tmp_path / "missing.yml"))
    assert result.exit_code == 2
    with store.read() as conn:
        assert "mouse" in labsettings.read_settings(conn)["datatypes"]


# ------------------------------------------------------------------ trash


def test_trash_list_restore_and_purge(run, store, project, snapshot):
    session = LocalSession(store, project_id=project.id)
    mouse = session.post("mouse", "m1", {"sex": "F"})
    child = session.post("session", "s1", {}, origin_id=mouse["id"])
    other = session.post("mouse", "m2", {})
    before = session.get_descendants(mouse["id"])
    session.delete(mouse["id"])
    session.delete(other["id"])
    assert ok(run("trash", "list")) == ok(run("trash", "list", "--project", "test"))
    lines = ok(run("trash", "list")).splitlines()
    assert lines[0].split() == [
        "batch",
        "deleted_at",
        "deleted_by",
        "project",
        "root",
        "count",
    ]
    assert len(lines) == 3
    listed = json.loads(ok(run("trash", "list", "--json")))
    batches = {row["root"]: row["batch"] for row in listed}
    assert {row["root"]: row["count"] for row in listed} == {
        "mouse m1": 2,
        "mouse m2": 1,
    }
    assert {(row["deleted_by"], row["project"]) for row in listed} == {
        ("local", "test")
    }
    assert ok(run("trash", "restore", batches["mouse m1"])) == (
        "Restored 2 entities.\n"
    )
    assert session.get_descendants(mouse["id"]) == before
    assert session.get(id=child["id"])[0]["name"] == "s1"
    fails(run("trash", "restore", batches["mouse m1"]), "No batch")
    kept = snapshot(store)
    declined = run("trash", "purge", batches["mouse m2"], input="n\n")
    fails(declined, "Delete 1 entity (1 batch) for good?")
    assert "Nothing was purged." in declined.output
    assert snapshot(store) == kept
    assert ok(run("trash", "purge", batches["mouse m2"], input="y\n")).endswith(
        "Purged 1 entity.\n"
    )
    empty = run("trash", "list")
    assert ok(empty) == "The trash is empty.\n" and empty.stdout == ""
    fails(run("trash", "purge"), "Say which batch to purge")
    fails(run("trash", "purge", "nope", "--yes"), "No batch nope in the trash.")


def test_purge_older_than_names_the_count_and_asks(run, store, project, snapshot):
    session = LocalSession(store, project_id=project.id)
    for index in range(3):
        mouse = session.post("mouse", f"m{index}", {})
        session.post("session", f"s{index}", {}, origin_id=mouse["id"])
        session.delete(mouse["id"])
    kept = snapshot(store)
    result = run("trash", "purge", "--older-than", "0")
    fails(result, "Delete 6 entities (3 batches) for good?")
    assert snapshot(store) == kept
    assert ok(run("trash", "purge", "--older-than", "0", "--yes")) == (
        "Purged 6 entities.\n"
    )
    assert ok(run("trash", "purge", "--older-than", "0")) == "Nothing to purge.\n"


# ----------------------------------------------------------------- global


def test_the_database_comes_from_the_environment(database_url, store, monkeypatch):
    monkeypatch.setenv("FLEXILIMS_DATABASE_URL", database_url)
    result = CliRunner().invoke(cli, ["project", "create", "from-env"])
    assert result.exit_code == 0, result.output
    assert Accounts(store).project("from-env").name == "from-env"


@pytest.mark.parametrize(
    "url, message",
    [
        ("/tmp/foo.db", "is a path, not a database URL: use sqlite:////tmp/foo.db"),
        ("foo.db", "is a path, not a database URL: use sqlite:////"),
        ("sqlite:///rel/x.db", "is a relative SQLite path"),
        ("postgres://u@h/db", "use postgresql://u@h/db"),
        ("nonsense://", "is not a database URL this program can use"),
        ("http://127.0.0.1:9/flexilims/api/", "is a server's URL"),
    ],
)
def test_database_urls_that_are_mistakes(tmp_path, monkeypatch, url, message):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["project", "list", "--database", url])
    fails(result, message)
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "command, twin",
    [
        (["settings", "show"], "`flexiznam settings show`"),
        (["trash", "list"], "`flexiznam trash list`"),
        (["export", "--project", "p", "-"], "`flexiznam export`"),
    ],
)
def test_a_server_url_names_the_members_command(command, twin):
    url = "http://127.0.0.1:9/flexilims/api/"
    result = CliRunner().invoke(cli, [*command, "--database", url])
    fails(result, f"members of a server use the flexiznam commands (here: {twin}).")


def test_debug_shows_the_traceback():
    arguments = ["project", "list", "--database", "/tmp/foo.db"]
    plain = CliRunner().invoke(cli, arguments)
    assert plain.exit_code == 1 and isinstance(plain.exception, SystemExit)
    for debug in (["--debug", *arguments], [*arguments, "--debug"]):
        result = CliRunner().invoke(cli, debug)
        assert isinstance(result.exception, ValueError)
        assert "sqlite:////tmp/foo.db" in str(result.exception)


def test_an_unusable_database_is_an_error(tmp_path):
    folder = tmp_path / "folder.db"
    folder.mkdir()
    result = CliRunner().invoke(
        cli, ["project", "list", "--database", f"sqlite:///{folder}"]
    )
    assert result.exit_code == 1
    assert "cannot use the database" in result.output


def test_help_lists_every_command():
    output = CliRunner().invoke(cli, ["--help"]).output
    for command in ("serve", "user", "token", "project", "settings", "trash"):
        assert command in output
    serve = CliRunner().invoke(cli, ["serve", "--help"]).output
    for option in ("--database", "--host", "--port", "--workers", "--token-lifetime"):
        assert option in serve
