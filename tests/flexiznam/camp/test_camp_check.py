"""check_yaml: every problem of an acquisition YAML, each with its place."""

import pytest
from camp_setup import MOUSE, PROJECT, SESSION

import flexiznam.main as flz
from flexiznam.camp import check_yaml, upload, write
from flexiznam.errors import SyncYmlError

RETINOTOPY = "R182159_retinotopy"
S = f"{SESSION}"
R = f"{SESSION} > {RETINOTOPY}"
SCANIMAGE = f"{R} > overview_zoom1_00001"


def node(data, *chain):
    """The mapping of the entity at ``chain`` (short names from the top)."""
    for name in chain:
        data = data["children"][name]
    return data


def offline(data, **kwargs):
    return check_yaml(data, online=False, raise_error=False, **kwargs)


def found(problems, place, message) -> bool:
    return any(p.place == place and message in p.message for p in problems)


def _set(key, value, *chain):
    def edit(data):
        node(data, *chain)[key] = value

    return edit


def _drop(key, *chain):
    def edit(data):
        node(data, *chain).pop(key)

    return edit


def _child(key, value, *chain):
    def edit(data):
        node(data, *chain)["children"][key] = value

    return edit


def _attribute(key, value, *chain):
    def edit(data):
        node(data, *chain).setdefault("attributes", {})[key] = value

    return edit


def _extra(key, value):
    def edit(data):
        node(data, S, RETINOTOPY, "overview_zoom1_00001")["extra_attributes"][key] = (
            value
        )

    return edit


def _rename(old, new, *chain):
    def edit(data):
        children = node(data, *chain)["children"]
        children[new] = children.pop(old)

    return edit


def _move_recording_to_top(data):
    data["origin_type"] = "mouse"
    data["children"]["R191500"] = node(data, S)["children"].pop("R191500")


def _sample_in_session(data):
    node(data, S)["children"]["brain"] = {"type": "sample", "children": {}}


def _delete_tiff(data, raw_root):
    recording = raw_root / node(data, S, RETINOTOPY)["path"]
    (recording / "overview_zoom1_00001_00002.tif").unlink()


TOP = [
    (_set("colour", "blue"), "colour", "unknown key; the top level has"),
    (_drop("version"), "version", "missing: add 'version: 1'"),
    (_set("version", "one"), "version", "must be a whole number"),
    (_set("version", 2), "version", "version 2 is newer than this flexiznam"),
    (_set("version", 0), "version", "unknown version 0"),
    (_drop("project"), "project", "missing"),
    (_set("origin", ""), "origin", "missing"),
    (_set("origin_type", "unicorn"), "origin_type", "unknown type 'unicorn'"),
    (_drop("children"), "children", "missing: a mapping"),
    (_set("children", {}), "children", "empty: nothing to upload"),
]

ENTITIES = [
    (_child("R191500", "text", S), f"{S} > R191500", "must be a mapping"),
    (_drop("type", S), S, "no type (session, recording"),
    (_set("type", "unicorn", S), S, "unknown type 'unicorn'"),
    (_set("type", "mouse", S), S, "unknown type 'mouse'"),
    (_move_recording_to_top, "R191500", "a recording cannot be inside a mouse"),
    (_sample_in_session, f"{S} > brain", "a sample cannot be inside a session"),
    (_set("colour", "blue", S), S, "unknown key 'colour'; a session has"),
    (_set("attributes", "text", S), S, "attributes must be a mapping"),
    (_attribute("id", 1, S), S, "attribute 'id' is a reserved name"),
    (
        _attribute("genealogy", [MOUSE, "S20210514"], S),
        S,
        "genealogy ['PZAH6.4b', 'S20210514'] does not match its place",
    ),
    (_attribute("genealogy", "PZAH6.4b", S), S, "genealogy must be a list"),
    (_set("path", 3, S), S, "path must be a folder name"),
    (_set("path", "/data/raw/S20210513", S), S, "is not below the raw data root"),
    (_set("path", "test/PZAH6.4b/S20990101", S), S, "S20990101 does not exist"),
    (_set("children", 3, S), S, "children must be a mapping of names"),
    (
        _rename(S, f"{MOUSE}_{S}"),
        f"{MOUSE}_{S}",
        "repeats its parent's name PZAH6.4b: keys are short names (use S20210513)",
    ),
    (
        _rename(RETINOTOPY, f"{MOUSE}_{S}_{RETINOTOPY}", S),
        f"{S} > {MOUSE}_{S}_{RETINOTOPY}",
        "repeats its parent's name PZAH6.4b_S20210513",
    ),
    (_rename("R191500", "R19/1500", S), f"{S} > R19/1500", "must not hold '/'"),
    (_rename("R191500", " ", S), f"{S} >  ", "an entity needs a non-empty name"),
    (_attribute("date", "2021-05-14", S), S, "date 2021-05-14 does not match"),
    (_attribute("protocol", "sphere", S, RETINOTOPY), R, "protocol sphere does not"),
]

DATASETS = [
    (
        _set("attributes", {}, S, RETINOTOPY, "overview_zoom1_00001"),
        SCANIMAGE,
        "unknown key 'attributes' (datasets have extra_attributes)",
    ),
    (
        _set("children", {}, S, RETINOTOPY, "overview_zoom1_00001"),
        SCANIMAGE,
        "(datasets have no children)",
    ),
    (_drop("dataset_type", S, RETINOTOPY, "overview_zoom1_00001"), SCANIMAGE, "no "),
    (
        _set("dataset_type", "hologram", S, RETINOTOPY, "overview_zoom1_00001"),
        SCANIMAGE,
        "unknown dataset type 'hologram': add it to dataset_types",
    ),
    (_extra("id", 1), SCANIMAGE, "attribute 'id' is a reserved name"),
    (_extra("path", "x"), SCANIMAGE, "invalid dataset: path cannot be extra"),
    (
        _set("genealogy", [MOUSE, S, "R1", "x"], S, RETINOTOPY, "overview_zoom1_00001"),
        SCANIMAGE,
        "does not match its place below PZAH6.4b",
    ),
    (
        _set("is_raw", "maybe", S, RETINOTOPY, "overview_zoom1_00001"),
        SCANIMAGE,
        "invalid dataset: is_raw must be",
    ),
    (
        _set("path", "/elsewhere/data", S, RETINOTOPY, "overview_zoom1_00001"),
        SCANIMAGE,
        "path /elsewhere/data is not below a data root",
    ),
    (
        _set("path", "test/PZAH6.4b/nothing", S, RETINOTOPY, "overview_zoom1_00001"),
        SCANIMAGE,
        "invalid dataset:",
    ),
]


@pytest.mark.parametrize("edit, place, message", TOP + ENTITIES + DATASETS)
def test_each_problem_is_found_at_its_place(acquisition, edit, place, message):
    assert offline(acquisition) == []
    edit(acquisition)
    problems = offline(acquisition)
    assert found(problems, place, message), problems


def test_missing_data_files(acquisition, raw_root):
    _delete_tiff(acquisition, raw_root)
    problems = offline(acquisition)
    assert found(problems, SCANIMAGE, "invalid dataset:"), problems
    assert "overview_zoom1_00001_00002.tif" in problems[0].message


def test_a_right_genealogy_is_no_problem(acquisition):
    node(acquisition, S)["attributes"]["genealogy"] = [MOUSE, S]
    scanimage = node(acquisition, S, RETINOTOPY, "overview_zoom1_00001")
    scanimage["genealogy"] = [MOUSE, S, RETINOTOPY, "overview_zoom1_00001"]
    assert offline(acquisition) == []


def test_not_a_mapping():
    problems = offline(["a", "list"])
    assert [(p.place, p.message) for p in problems] == [
        ("file", "not a mapping of version, project...")
    ]


def test_every_problem_at_once_with_its_line(acquisition, tmp_path, raw_root):
    _set("version", 7)(acquisition)
    _set("type", "unicorn", S, "R191500")(acquisition)
    _attribute("id", 1, S, RETINOTOPY)(acquisition)
    _delete_tiff(acquisition, raw_root)
    path = write(acquisition, tmp_path / "broken.yml")
    lines = path.read_text().splitlines()
    with pytest.raises(SyncYmlError) as error:
        check_yaml(path, online=False)
    problems = error.value.problems
    assert len(problems) == 4
    message = str(error.value)
    assert message.startswith(f"{path} has 4 problem(s):")
    for problem in problems:
        assert f"line {problem.line}, {problem.place}: {problem.message}" in message
    by_place = {p.place: p for p in problems}
    assert lines[by_place["version"].line - 1] == "version: 7"
    assert lines[by_place[f"{S} > R191500"].line - 1].strip() == "type: unicorn"
    assert lines[by_place[R].line - 1].strip() == "attributes:"
    assert lines[by_place[SCANIMAGE].line - 1].strip() == "overview_zoom1_00001:"


def test_check_yaml_returns_nothing_for_a_good_file(acquisition_file):
    assert check_yaml(acquisition_file, online=False) == []


def test_unknown_conflicts_mode(acquisition):
    with pytest.raises(AttributeError, match="conflicts must be one of"):
        check_yaml(acquisition, conflicts="append")


# ------------------------------------------------------------------ online


def online(data, session, **kwargs):
    return check_yaml(data, flexilims_session=session, raise_error=False, **kwargs)


def test_online_check_of_a_good_file(acquisition, flz_session, mouse):
    assert online(acquisition, flz_session) == []


def test_the_session_is_opened_from_the_project(acquisition, project, mouse):
    assert check_yaml(acquisition) == []


def test_the_origin_must_exist(acquisition, flz_session):
    problems = online(acquisition, flz_session)
    assert found(problems, "origin", "no entity named PZAH6.4b in the project")


def test_an_ambiguous_origin(acquisition, flz_session, mouse):
    genealogy = {"genealogy": [MOUSE]}
    flz.add_entity("sample", MOUSE, attributes=genealogy, flexilims_session=flz_session)
    problems = online(acquisition, flz_session)
    assert found(problems, "origin", "several entities are named PZAH6.4b")
    acquisition["origin_type"] = "mouse"
    assert online(acquisition, flz_session) == []


def test_children_must_fit_the_origin_type(acquisition, flz_session, mouse):
    acquisition["children"]["R191500"] = node(acquisition, S)["children"].pop("R191500")
    problems = online(acquisition, flz_session)
    assert found(problems, "R191500", "a recording cannot be inside a mouse")


def test_the_project_must_be_the_sessions(acquisition, flz_session, mouse):
    acquisition["project"] = "other"
    problems = online(acquisition, flz_session)
    assert found(problems, "project", "project other is not the session's project")


def test_names_taken_are_problems_when_aborting(acquisition, flz_session, mouse):
    upload(acquisition, flexilims_session=flz_session, progress=False)
    problems = online(acquisition, flz_session)
    assert len(problems) == 12
    assert found(
        problems,
        S,
        "A session named PZAH6.4b_S20210513 already exists in project test. "
        "(upload with conflicts skip, update or overwrite)",
    )
    for mode in ("skip", "update", "overwrite"):
        assert online(acquisition, flz_session, conflicts=mode) == []


def test_the_database_refuses_attribute_names(acquisition, flz_session, mouse):
    _attribute("bad key", 1, S)(acquisition)
    _extra("also bad", 1)(acquisition)
    problems = online(acquisition, flz_session)
    assert found(problems, S, "'bad key' is not a valid attribute name: use only")
    assert found(problems, SCANIMAGE, "'also bad' is not a valid attribute name")


def test_the_lab_settings_refuse_values(acquisition, flz_session, mouse):
    node(acquisition, S, RETINOTOPY)["attributes"]["recording_type"] = "humpy"
    node(acquisition, S)["attributes"]["notes"] = "fine unless strict"
    problems = online(acquisition, flz_session)
    assert [(p.place, p.message) for p in problems] == [
        (
            R,
            "Save failed. 'humpy' is not a valid value for recording_type. "
            "Allowed: two_photon, widefield, intrinsic, ephys, behaviour, "
            "unspecified.",
        )
    ]
    strict = online(acquisition, flz_session, strict_validation=True)
    assert found(strict, S, "'notes' is not defined in lab settings")
    assert found(strict, R, "'humpy' is not a valid value for recording_type")
    assert len(strict) > 2  # every entity with attributes the settings lack


def test_online_and_offline_problems_together(acquisition, flz_session, mouse):
    node(acquisition, S, RETINOTOPY)["attributes"]["recording_type"] = "humpy"
    node(acquisition, S, "R191500")["colour"] = "blue"
    with pytest.raises(SyncYmlError) as error:
        check_yaml(acquisition, flexilims_session=flz_session)
    assert len(error.value.problems) == 2
    assert str(error.value).startswith("The acquisition YAML has 2 problem(s):")


def test_no_database_check_when_the_top_level_is_broken(acquisition, flz_session):
    acquisition.pop("origin")
    problems = online(acquisition, flz_session)
    assert [p.place for p in problems] == ["origin"]


def test_the_project_of_the_file_without_session(acquisition, project, mouse):
    acquisition["project"] = "nothing"
    with pytest.raises(Exception, match="No project named 'nothing'"):
        check_yaml(acquisition)


def test_project_given_as_id(acquisition, flz_session, project, mouse):
    acquisition["project"] = project.id
    assert online(acquisition, flz_session) == []


def test_upload_of_a_good_file_after_check(acquisition, flz_session, mouse):
    assert online(acquisition, flz_session) == []
    report = upload(acquisition, flexilims_session=flz_session, progress=False)
    assert len(report.created) == 12
    assert PROJECT == "test"
