"""``flexilims history`` and ``flexilims revert`` on a real database."""

import io
import json
from datetime import UTC, datetime

import pandas as pd
import pytest
from click.testing import CliRunner

from flexilims import LocalSession
from flexilims.cli import cli


@pytest.fixture
def run(database_url, store):
    def invoke(*args, input=None):
        return CliRunner().invoke(cli, [*args, "--database", database_url], input=input)

    return invoke


def ok(result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def fails(result, message: str) -> None:
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.fixture
def edited(store, project):
    """A mouse created, then overwritten (its path set to null), then renamed."""
    session = LocalSession(store, project_id=project.id, username="jane")
    mouse = session.post("mouse", "m1", {"sex": "F", "path": "test/m1"})
    session.update_one(
        mouse["id"], "mouse", attributes={"sex": "M", "path": None}, allow_nulls=True
    )
    session.update_one(mouse["id"], "mouse", name="m1b")
    return session, mouse["id"]


def test_history_shows_who_when_and_what(run, edited):
    session, mouse_id = edited
    lines = ok(run("history", mouse_id)).splitlines()
    assert lines[0].split() == [
        "version",
        "changed_at",
        "changed_by",
        "action",
        "changes",
    ]
    assert [line.split()[3:] for line in lines[1:]] == [
        ["jane", "update", "name:", "m1", "→", "m1b"],
        ["jane", "update", "sex:", "F", "→", "M;", "path:", "test/m1", "→", "null"],
        ["jane", "create", "sex=F;", "path=test/m1"],
    ]
    frame = pd.read_csv(io.StringIO(ok(run("history", mouse_id, "--csv"))))
    assert list(frame["action"]) == ["update", "update", "create"]
    versions = pd.read_json(io.StringIO(ok(run("history", mouse_id, "--json"))))
    assert list(versions["version"]) == sorted(versions["version"], reverse=True)


def test_history_as_csv_and_json_exactly(run, edited):
    """Times in UTC, with milliseconds if any version has some; changes as
    JSON text in CSV, as objects in JSON."""
    session, mouse_id = edited
    versions = session.history(id=mouse_id)
    times = [datetime.fromtimestamp(v["changed_at"] // 1000, UTC) for v in versions]
    millis = [f".{v['changed_at'] % 1000:03d}" for v in versions]
    shown_millis = millis if any(v["changed_at"] % 1000 for v in versions) else [""] * 3
    lines = ["version,changed_at,changed_by,action,changes"]
    for version, when, ms in zip(versions, times, shown_millis, strict=True):
        changes = json.dumps(version["changes"]).replace('"', '""')
        lines.append(
            f"{version['version']},{when:%Y-%m-%d %H:%M:%S}{ms}+00:00,jane,"
            f'{version["action"]},"{changes}"'
        )
    assert ok(run("history", mouse_id, "--csv")) == "\n".join(lines) + "\n"
    assert (
        ok(run("history", mouse_id, "--json"))
        == json.dumps(
            [
                {
                    "version": version["version"],
                    "changed_at": f"{when:%Y-%m-%dT%H:%M:%S}{ms}Z",
                    "changed_by": "jane",
                    "action": version["action"],
                    "changes": version["changes"],
                }
                for version, when, ms in zip(versions, times, millis, strict=True)
            ],
            indent=2,
            ensure_ascii=False,
        )
        + "\n"
    )


def test_project_history_pages(run, edited):
    session, mouse_id = edited
    session.post("mouse", "m2", {})
    first = ok(run("history", "--project", "test", "--limit", "2")).splitlines()
    assert first[0].split()[4:6] == ["type", "name"]
    assert [line.split()[6] for line in first[1:3]] == ["m2", "m1b"]
    oldest_shown = int(first[2].split()[0])
    assert first[3] == f"More with --before {oldest_shown}."
    rest = ok(run("history", "--project", "test", "--before", str(oldest_shown)))
    assert [line.split()[6] for line in rest.splitlines()[1:]] == ["m1", "m1"]


def test_revert_makes_a_new_version(run, edited, store, snapshot):
    session, mouse_id = edited
    created = session.history(id=mouse_id)[-1]["version"]
    output = ok(run("revert", mouse_id, str(created)))
    assert output.startswith(f"Reverted mouse m1 to version {created}: this is ")
    assert "path: null → test/m1" in output and "name: m1b → m1" in output
    entity = session.get(id=mouse_id)[0]
    assert (entity["name"], entity["attributes"]) == (
        "m1",
        {"sex": "F", "path": "test/m1"},
    )
    history = session.history(id=mouse_id)
    assert [version["action"] for version in history] == [
        "revert",
        "update",
        "update",
        "create",
    ]


def test_history_and_revert_mistakes(run, edited, store, snapshot):
    session, mouse_id = edited
    kept = snapshot(store)
    fails(run("history"), "Give the id of an entity, or --project")
    fails(run("history", mouse_id, "--project", "test"), "not both")
    fails(run("history", "nothex"), "please provide a valid hexadecimal value for id")
    fails(run("history", "--project", "nope"), "No project named 'nope'")
    fails(run("revert", mouse_id, "999"), f"Entity {mouse_id} has no version 999.")
    fails(run("revert", "nothex", "1"), "valid hexadecimal value for id")
    missing = "0" * 24
    assert ok(run("history", missing)) == f"No versions of entity {missing}.\n"
    assert snapshot(store) == kept
