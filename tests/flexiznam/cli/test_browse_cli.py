"""``flexiznam ls``, ``find``, ``show``, ``tree`` and ``settings show`` with
the user's config:
the embedded database and a real server, SQLite and PostgreSQL."""

import io
import json

import pandas as pd
import pytest
import yaml

import flexiznam.main as flz

MOUSE = "PZAH6.4b"


def ok(result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def fails(result, message: str) -> None:
    assert result.exit_code == 1, result.output
    assert message in result.output, result.output
    assert "Traceback" not in result.output


@pytest.fixture
def hierarchy(flz_session):
    """A mouse with a session, two recordings with a dataset each, a sample."""
    s = flz_session
    mouse = flz.add_mouse(MOUSE, "test", flexilims_session=s, attributes={"sex": "F"})
    day = flz.add_experimental_session(MOUSE, "2021-04-20", flexilims_session=s)
    recordings = [
        flz.add_recording(day["id"], "two_photon", protocol, flexilims_session=s)
        for protocol in ("retinotopy", "sparse_noise")
    ]
    for recording in recordings:
        flz.add_dataset(
            recording["id"],
            "scanimage",
            "2021-04-20 10:15:12",
            f"{recording['attributes']['path']}/scan",
            flexilims_session=s,
        )
    sample = flz.add_sample(
        mouse["id"],
        sample_name="brain",
        attributes={"sample_type": "brain", "slices": 3},
        flexilims_session=s,
    )
    return {"mouse": mouse, "day": day, "recordings": recordings, "sample": sample}


def test_ls_counts_types_then_lists_one(flz_cli, hierarchy):
    assert ok(flz_cli("ls")).splitlines() == [
        "type      count",
        "mouse         1",
        "session       1",
        "recording     2",
        "dataset       2",
        "sample        1",
    ]
    lines = ok(flz_cli("ls", "recording")).splitlines()
    assert lines[0].split() == ["type", "name", "id", "created_by", "created"]
    assert [line.split()[1] for line in lines[1:]] == [
        f"{MOUSE}_S20210420_retinotopy_0",
        f"{MOUSE}_S20210420_sparse_noise_0",
    ]
    listed = json.loads(ok(flz_cli("ls", "recording", "--json")))
    assert [row["id"] for row in listed] == [r["id"] for r in hierarchy["recordings"]]
    assert {row["created_by"] for row in listed} == {"tester"}
    frame = pd.read_csv(io.StringIO(ok(flz_cli("ls", "dataset", "--csv"))))
    assert list(frame.columns) == ["type", "name", "id", "created_by", "created"]
    assert len(frame) == 2
    below = ok(flz_cli("ls", "dataset", "--parent", f"{MOUSE}_S20210420_retinotopy_0"))
    assert len(below.splitlines()) == 2
    empty = flz_cli("ls", "session", "--parent", "PZAH6.4b_brain")
    assert ok(empty) == "No sessions below PZAH6.4b_brain.\n" and empty.stdout == ""


def test_ls_mistakes(flz_cli, hierarchy, store, snapshot):
    before = snapshot(store)
    fails(
        flz_cli("ls", "mousee"),
        "Error: Type 'mousee' is not defined in the lab settings (did you mean "
        "mouse?). Defined types: mouse, session, recording, sample, dataset.",
    )
    fails(flz_cli("ls", "--project", "nope"), "project named 'nope'")
    fails(flz_cli("ls", "dataset", "--parent", "nobody"), "No entity named nobody")
    assert snapshot(store) == before


def test_find_by_name_and_attributes(flz_cli, hierarchy):
    lines = ok(flz_cli("find", "RETINO")).splitlines()
    assert [line.split()[:2] for line in lines[1:]] == [
        ["recording", f"{MOUSE}_S20210420_retinotopy_0"],
        ["dataset", f"{MOUSE}_S20210420_retinotopy_0_scanimage_0"],
    ]
    assert len(ok(flz_cli("find", "retino", "--type", "dataset")).splitlines()) == 2
    found = json.loads(ok(flz_cli("find", "--where", "slices=3", "--json")))
    assert [(row["name"], row["slices"]) for row in found] == [(f"{MOUSE}_brain", 3)]
    assert json.loads(ok(flz_cli("find", "--where", "slices=4", "--json"))) == []
    two = flz_cli("find", "--where", "sex=F", "--where", 'genealogy=["PZAH6.4b"]')
    assert ok(two).splitlines()[1].split()[:2] == ["mouse", MOUSE]
    nothing = flz_cli("find", "nothing-like-this")
    assert ok(nothing) == "Nothing matches.\n" and nothing.stdout == ""
    assert flz_cli("find").exit_code == 2
    assert "is not KEY=VALUE" in flz_cli("find", "--where", "slices").output


def test_show_one_entity(flz_cli, hierarchy):
    output = ok(flz_cli("show", f"{MOUSE}_S20210420"))
    lines = output.splitlines()
    assert lines[0] == f"session {MOUSE}_S20210420"
    assert lines[1].split() == ["field", "value"]
    assert f"parents        mouse {MOUSE}" in output
    assert "date           2021-04-20" in output
    assert "Children: 2 recordings" in output
    shown = json.loads(ok(flz_cli("show", hierarchy["day"]["id"], "--json")))
    assert shown["name"] == f"{MOUSE}_S20210420"
    assert shown["parents"] == [
        {"type": "mouse", "name": MOUSE, "id": hierarchy["mouse"]["id"]}
    ]
    assert [child["type"] for child in shown["children"]] == ["recording"] * 2


def test_show_mistakes(flz_cli, hierarchy, flz_session):
    fails(
        flz_cli("show", f"{MOUSE}_S2021042"),
        f"No entity named {MOUSE}_S2021042 in the project. Close names: "
        f"{MOUSE}_S20210420",
    )
    flz.add_entity("sample", "twin", flexilims_session=flz_session)
    flz.add_entity("mouse", "twin", flexilims_session=flz_session)
    fails(
        flz_cli("show", "twin"),
        "Several entities are named twin (mouse, sample): choose one with --type.",
    )
    assert ok(flz_cli("show", "twin", "--type", "sample")).startswith("sample twin")
    fails(flz_cli("show", "twin", "--type", "smaple"), "(did you mean sample?)")


def test_tree_depth_types_and_root(flz_cli, hierarchy):
    full = ok(flz_cli("tree"))
    assert full.splitlines() == [
        f"mouse {MOUSE}",
        "├── session S20210420",
        "│   ├── recording retinotopy_0 (retinotopy)",
        "│   │   └── dataset scanimage_0 (scanimage)",
        "│   └── recording sparse_noise_0 (sparse_noise)",
        "│       └── dataset scanimage_0 (scanimage)",
        "└── sample brain",
    ]
    assert ok(flz_cli("tree", "test")) == full
    assert ok(flz_cli("tree", "--depth", "1")).splitlines() == [
        f"mouse {MOUSE}",
        "├── session S20210420 (+4 below)",
        "└── sample brain",
    ]
    assert ok(flz_cli("tree", "--type", "mouse", "--type", "dataset")).splitlines() == [
        f"mouse {MOUSE}",
        "├── dataset scanimage_0 (scanimage)",
        "└── dataset scanimage_0 (scanimage)",
    ]
    root = hierarchy["recordings"][0]
    by_name = ok(flz_cli("tree", "--root", root["name"]))
    assert by_name == ok(flz_cli("tree", "--root", root["id"]))
    assert by_name.splitlines() == [
        "recording retinotopy_0 (retinotopy)",
        "└── dataset scanimage_0 (scanimage)",
    ]
    rows = json.loads(ok(flz_cli("tree", "--depth", "1", "--json")))
    assert [(row["level"], row["type"], row["hidden_below"]) for row in rows] == [
        (0, "mouse", 0),
        (1, "session", 4),
        (1, "sample", 0),
    ]
    frame = pd.read_csv(io.StringIO(ok(flz_cli("tree", "--csv"))))
    assert len(frame) == 7


def test_tree_mistakes(flz_cli, hierarchy, store, snapshot):
    before = snapshot(store)
    fails(flz_cli("tree", "--root", "NOPE"), "No entity named NOPE in the project.")
    fails(flz_cli("tree", "nope"), "project named 'nope'")
    assert flz_cli("tree", "--depth", "-1").exit_code == 2
    fails(
        flz_cli("tree", "--type", "mouse", "--type", "cell"),
        "Type 'cell' is not defined in the lab settings. Defined types: mouse,",
    )
    fails(flz_cli("tree", "--type", "sesion"), "(did you mean session?)")
    nothing = flz_cli("tree", "--root", "PZAH6.4b_brain", "--type", "session")
    assert ok(nothing) == "Nothing to show.\n"
    assert snapshot(store) == before


def test_settings_show_reads_the_lab_settings_with_the_users_rights(
    flz_cli, store, project
):
    """A member with only the server's URL reads the lab settings (the HTTP
    session is a member of the project, not an admin)."""
    shown = yaml.safe_load(ok(flz_cli("settings", "show")))
    assert shown == store.lab_settings()
    one = yaml.safe_load(ok(flz_cli("settings", "show", "recording")))
    assert list(one["datatypes"]) == ["recording"]
    assert one["datatypes"]["recording"]["allowed_parents"] == ["session"]
    as_json = json.loads(ok(flz_cli("settings", "show", "--json")))
    assert as_json == shown


def test_settings_show_mistakes(flz_cli, store, snapshot):
    before = snapshot(store)
    fails(
        flz_cli("settings", "show", "recordin"),
        "Type 'recordin' is not defined in the lab settings (did you mean "
        "recording?). Defined types: mouse, session, recording, sample, dataset.",
    )
    assert snapshot(store) == before
