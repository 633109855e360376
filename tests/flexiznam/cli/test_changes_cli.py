"""``flexiznam rm``, ``history``, ``revert``, ``trash`` and ``export`` with
the user's config and rights: the embedded database and a real server (as a
member who has only its URL), SQLite and PostgreSQL."""

import io
import json

import pandas as pd
import pytest

import flexiznam.main as flz
from flexilims import LocalSession
from flexilims.store.accounts import Accounts

MOUSE = "PZAH6.4b"


def ok(result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def fails(result, message: str) -> None:
    assert result.exit_code == 1, result.output
    assert message in result.output, result.output
    assert "Traceback" not in result.output


@pytest.fixture
def mouse(flz_session):
    """A mouse with a session and a recording; then update_entity erased its
    attributes (its default mode)."""
    s = flz_session
    mouse = flz.add_mouse(MOUSE, "test", flexilims_session=s, attributes={"sex": "F"})
    day = flz.add_experimental_session(MOUSE, "2021-04-20", flexilims_session=s)
    flz.add_recording(day["id"], "two_photon", "retinotopy", flexilims_session=s)
    flz.update_entity(
        "mouse", name=MOUSE, attributes={"alive": True}, flexilims_session=s
    )
    return mouse


def test_rm_says_what_goes_and_asks(flz_cli, flz_session, mouse, store, snapshot):
    before = snapshot(store)
    declined = flz_cli("rm", MOUSE, input="n\n")
    fails(
        declined,
        f"Move mouse {MOUSE} and the 2 entities below it (1 session, 1 recording) "
        "to the trash? [y/N]: n\nNothing was deleted.",
    )
    assert snapshot(store) == before
    output = ok(flz_cli("rm", MOUSE, input="y\n"))
    assert flz_session.get("mouse") == []
    batch = output.split("`flexiznam trash restore ")[1].split("`")[0]
    assert output.endswith(
        f"Moved 3 entities to the trash: `flexiznam trash restore {batch}` puts "
        "them back.\n"
    )
    lines = ok(flz_cli("trash", "list")).splitlines()
    assert lines[0].split() == [
        "batch",
        "deleted_at",
        "deleted_by",
        "project",
        "root",
        "count",
    ]
    assert lines[1].startswith(batch)
    assert lines[1].split()[-3:] == ["mouse", MOUSE, "3"]
    listed = json.loads(ok(flz_cli("trash", "list", "--json", "-p", "test")))
    assert [(row["batch"], row["project"]) for row in listed] == [(batch, "test")]
    assert ok(flz_cli("trash", "restore", batch)) == "Restored 3 entities.\n"
    assert flz_session.get("mouse")[0]["id"] == mouse["id"]
    fails(flz_cli("trash", "restore", batch), f"No batch {batch} in the trash.")
    assert ok(flz_cli("trash", "list")) == "The trash is empty.\n"


def test_rm_with_yes_and_mistakes(flz_cli, flz_session, mouse, store, snapshot):
    before = snapshot(store)
    fails(flz_cli("rm", "nobody", "--yes"), "No entity named nobody in the project.")
    fails(flz_cli("rm", MOUSE, "--type", "session", "--yes"), "No session named")
    assert snapshot(store) == before
    recording = flz_session.get("recording")[0]
    assert ok(flz_cli("rm", recording["id"], "--yes")).startswith(
        "Moved 1 entity to the trash"
    )
    assert flz_session.get("recording") == []


def test_history_and_revert_undo_an_overwrite(flz_cli, flz_session, mouse):
    lines = ok(flz_cli("history", MOUSE)).splitlines()
    assert lines[0].split() == [
        "version",
        "changed_at",
        "changed_by",
        "action",
        "changes",
    ]
    assert lines[1].split()[3:5] == ["tester", "update"]
    assert "path: test/PZAH6.4b → null" in lines[1]
    assert lines[2].split()[3:5] == ["tester", "create"]
    versions = json.loads(ok(flz_cli("history", MOUSE, "--json")))
    assert versions[0]["changes"]["attributes.path"] == ["test/PZAH6.4b", None]
    assert versions[0]["changed_at"].endswith("Z")
    frame = pd.read_csv(io.StringIO(ok(flz_cli("history", MOUSE, "--csv"))))
    assert list(frame["action"]) == ["update", "create"]
    created = versions[-1]["version"]
    output = ok(flz_cli("revert", MOUSE, str(created)))
    assert output.startswith(f"Reverted mouse {MOUSE} to version {created}: this is")
    assert "path: null → test/PZAH6.4b" in output
    assert flz.get_entity("mouse", name=MOUSE, flexilims_session=flz_session)[
        "path"
    ] == ("test/PZAH6.4b")
    project = ok(flz_cli("history", "--limit", "2")).splitlines()
    assert project[0].split()[4:6] == ["type", "name"]
    assert project[1].split()[4:6] == ["revert", "mouse"]


def test_history_of_a_deleted_entity_by_its_id(flz_cli, flz_session, mouse):
    recording = flz_session.get("recording")[0]
    ok(flz_cli("rm", recording["id"], "--yes"))
    lines = ok(flz_cli("history", recording["id"])).splitlines()
    assert [line.split()[4] for line in lines[1:]] == ["delete", "create"]
    assert lines[1].endswith("deleted")


def test_history_and_revert_mistakes(flz_cli, mouse, store, snapshot):
    before = snapshot(store)
    fails(flz_cli("history", "nobody"), "No entity named nobody in the project.")
    fails(flz_cli("revert", MOUSE, "999"), "has no version 999")
    assert flz_cli("revert", MOUSE, "latest").exit_code == 2
    fails(flz_cli("history", MOUSE, "--type", "mousse"), "(did you mean mouse?)")
    assert snapshot(store) == before


def test_export(flz_cli, flz_session, mouse, tmp_path):
    path = tmp_path / "dump.json"
    assert ok(flz_cli("export", path)) == (
        f"Exported 3 entities of project test to {path}.\n"
    )
    assert json.loads(path.read_text()) == flz_session.export()
    printed = flz_cli("export", "-")
    assert json.loads(printed.stdout) == flz_session.export()
    fails(flz_cli("export", path, "-p", "nope"), "project named 'nope'")


@pytest.mark.parametrize("flz_session", ["http"], indirect=True)
def test_trash_and_export_keep_to_the_members_projects(
    flz_cli, flz_session, mouse, store, snapshot
):
    """Over a server a member sees, restores and exports their projects only."""
    other = Accounts(store).create_project("other")
    admin = LocalSession(store, project_id=other.id)
    theirs = admin.post("mouse", "THEIRS", {})
    admin.delete(theirs["id"])
    (batch,) = [b["batch"] for b in admin.trash() if b["root"] == "mouse THEIRS"]
    ok(flz_cli("rm", MOUSE, "--yes"))
    listed = json.loads(ok(flz_cli("trash", "list", "--json")))
    assert [row["root"] for row in listed] == [f"mouse {MOUSE}"]
    before = snapshot(store)
    fails(flz_cli("trash", "restore", batch), f"No batch {batch} in the trash.")
    fails(flz_cli("export", "-", "-p", "other"), "tester cannot use a project named")
    assert snapshot(store) == before
