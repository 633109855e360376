"""The exact text of the listings of ``flexiznam``: tables and CSV (and JSON)
of ``ls``, ``find``, ``show``, ``history``, ``tree`` and ``trash list``,
byte for byte: long cells, missing values, numbers, non-ASCII text and times
(local in tables, UTC in CSV and JSON)."""

import json
from datetime import UTC, datetime

import pytest

import flexiznam.main as flz

LONG = "ünïcode " + "long " * 14


def ok(result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def local(ms: int) -> str:
    """A time (ms since the epoch) as a table shows it: local time."""
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


@pytest.fixture
def mouse(flz_session):
    """A mouse with a long non-ASCII note and a session; a sample below the
    mouse with a number, a float, a boolean, a list and a null."""
    s = flz_session
    mouse = flz.add_mouse("M1", "test", flexilims_session=s, attributes={"note": LONG})
    day = flz.add_experimental_session("M1", "2021-04-20", flexilims_session=s)
    sample = flz.add_sample(
        mouse["id"],
        sample_name="brain",
        attributes={
            "slices": 3,
            "weight": 1.5,
            "fixed": True,
            "tags": ["a", "é"],
            "stain": None,
        },
        flexilims_session=s,
    )
    return {"mouse": mouse, "day": day, "sample": sample}


def test_ls_table_csv_and_json(flz_cli, flz_session, mouse):
    (entity,) = flz_session.get("mouse")
    when = local(entity["dateCreated"])
    assert ok(flz_cli("ls", "mouse")) == (
        "type  name id                       created_by created\n"
        f"mouse M1   {entity['id']} tester     {when}\n"
    )
    assert ok(flz_cli("ls", "mouse", "--csv")) == (
        f"type,name,id,created_by,created\nmouse,M1,{entity['id']},tester,{when}\n"
    )
    assert json.loads(ok(flz_cli("ls", "mouse", "--json"))) == [
        {
            "type": "mouse",
            "name": "M1",
            "id": entity["id"],
            "created_by": "tester",
            "created": when,
        }
    ]
    empty = flz_cli("ls", "recording")
    assert ok(empty) == "No recordings.\n" and empty.stdout == ""
    assert ok(flz_cli("ls", "recording", "--csv")) == (
        "type,name,id,created_by,created\n"
    )
    assert ok(flz_cli("ls", "recording", "--json")) == "[]\n"


def test_find_shows_the_attributes_asked_for(flz_cli, flz_session, mouse):
    (sample,) = flz_session.get("sample")
    when = local(sample["dateCreated"])
    found = flz_cli("find", "--where", "slices=3", "--where", "fixed=true")
    assert ok(found) == (
        "type   name     id                       created_by created"
        "             slices fixed\n"
        f"sample M1_brain {sample['id']} tester     {when}      3 true\n"
    )
    csv = flz_cli(
        "find", "--where", "weight=1.5", "--where", 'tags=["a", "é"]', "--csv"
    )
    assert ok(csv) == (
        "type,name,id,created_by,created,weight,tags\n"
        f"sample,M1_brain,{sample['id']},tester,{when},1.5,\"['a', 'é']\"\n"
    )
    nulls = flz_cli("find", "brain", "--where", "stain=null")
    assert ok(nulls).splitlines()[0].endswith("created             stain")
    assert (
        ok(nulls).splitlines()[1] == f"sample M1_brain {sample['id']} tester     {when}"
    )


def test_show_fields_and_children(flz_cli, flz_session, mouse):
    entity = flz_session.get("mouse")[0]
    day, sample = mouse["day"], mouse["sample"]
    created = local(entity["dateCreated"])
    updated = local(entity["dateUpdated"])
    assert ok(flz_cli("show", "M1")) == (
        "mouse M1\n"
        "field          value\n"
        f"id             {entity['id']}\n"
        f"incremental id {entity['incrementalId']}\n"
        f"created        {created} by tester\n"
        f"updated        {updated}\n"
        "parents        -\n"
        f"note           {LONG.strip()}\n"
        "path           test/M1\n"
        f'genealogy      ["M1"]\n'
        "Children: 1 session, 1 sample\n"
        "type    name         id                       created_by\n"
        f"session M1_S20210420 {day['id']} tester\n"
        f"sample  M1_brain     {sample['id']} tester\n"
    )


def test_tree_csv_and_json(flz_cli, mouse):
    mouse_id, day, sample = mouse["mouse"]["id"], mouse["day"], mouse["sample"]
    assert ok(flz_cli("tree", "--depth", "0", "--csv")) == (
        f"level,type,name,id,parent_id,hidden_below\n0,mouse,M1,{mouse_id},,2\n"
    )
    assert (
        ok(flz_cli("tree", "--json"))
        == json.dumps(
            [
                {
                    "level": 0,
                    "type": "mouse",
                    "name": "M1",
                    "id": mouse_id,
                    "parent_id": None,
                    "hidden_below": 0,
                },
                *(
                    {
                        "level": 1,
                        "type": child["type"],
                        "name": child["name"],
                        "id": child["id"],
                        "parent_id": mouse_id,
                        "hidden_below": 0,
                    }
                    for child in (day, sample)
                ),
            ],
            indent=2,
        )
        + "\n"
    )


def _csv_time(values: list[int]) -> list[str]:
    """Times (ms since the epoch) as CSV shows them: UTC, with milliseconds
    if any of them has some."""
    shown = []
    for ms in values:
        text = datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
        if any(value % 1000 for value in values):
            text += f".{ms % 1000:03d}"
        shown.append(text + "+00:00")
    return shown


def test_history_table_csv_and_json(flz_cli, flz_session, mouse):
    entity_id = mouse["mouse"]["id"]
    flz.update_entity(
        "mouse",
        id=entity_id,
        mode="update",
        attributes={"note": None, "weight": 21.5},
        flexilims_session=flz_session,
    )
    versions = flz_session.history(id=entity_id)
    new, old = versions
    times = [version["changed_at"] for version in versions]
    changes = f"note: {LONG.strip()[:59]}… → null; weight: null → 21.5"
    created = f'note={LONG.strip()[:59]}…; path=test/M1; genealogy=["M1"]'
    assert ok(flz_cli("history", "M1")) == (
        "version changed_at          changed_by action changes\n"
        f"{new['version']:>7} {local(times[0])} tester     update {changes}\n"
        f"{old['version']:>7} {local(times[1])} tester     create {created}\n"
    )
    csv_times = _csv_time(times)
    assert ok(flz_cli("history", "M1", "--csv")) == (
        "version,changed_at,changed_by,action,changes\n"
        f'{new["version"]},{csv_times[0]},tester,update,"'
        + json.dumps(new["changes"]).replace('"', '""')
        + '"\n'
        f'{old["version"]},{csv_times[1]},tester,create,"'
        + json.dumps(old["changes"]).replace('"', '""')
        + '"\n'
    )
    iso = [
        datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        + f".{ms % 1000:03d}Z"
        for ms in times
    ]
    assert json.loads(ok(flz_cli("history", "M1", "--json"))) == [
        {
            "version": version["version"],
            "changed_at": when,
            "changed_by": "tester",
            "action": version["action"],
            "changes": version["changes"],
        }
        for version, when in zip(versions, iso, strict=True)
    ]
    project = ok(flz_cli("history", "--csv")).splitlines()
    assert project[0] == "version,changed_at,changed_by,action,type,name,changes"
    assert project[1].split(",")[4:6] == ["mouse", "M1"]


def test_trash_list_table_and_csv(flz_cli, flz_session, mouse):
    ok(flz_cli("rm", "M1_brain", "--yes"))
    (batch,) = flz_session.trash(project_id=flz_session.project_id)
    when = local(batch["deleted_at"])
    assert ok(flz_cli("trash", "list")) == (
        "batch"
        + " " * (len(batch["batch"]) - 4)
        + "deleted_at          deleted_by project root            count\n"
        f"{batch['batch']} {when} tester     test    sample M1_brain     1\n"
    )
    assert ok(flz_cli("trash", "list", "--csv")) == (
        "batch,deleted_at,deleted_by,project,root,count\n"
        f"{batch['batch']},{when},tester,test,sample M1_brain,1\n"
    )
