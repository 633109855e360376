"""check_paths and check_names: a project against its data and its conventions."""

from acquisition import make_microscopy
from camp_setup import MOUSE, PROJECT, SESSION

import flexiznam.main as flz
from flexiznam.camp import check_names, check_paths, upload
from flexiznam.camp.audit import name_problems

DAY = f"{MOUSE}_{SESSION}"


def uploaded(acquisition, session):
    upload(acquisition, flexilims_session=session, progress=False)
    return {entity["name"]: entity for entity in session.get("dataset")}


def test_a_fresh_upload_has_no_problem(acquisition, flz_session, mouse):
    uploaded(acquisition, flz_session)
    assert check_paths(flexilims_session=flz_session) == {
        "missing": [],
        "unreferenced": [],
    }
    assert check_names(flexilims_session=flz_session) == []


def test_missing_files(acquisition, session_folder, flz_session, mouse):
    datasets = uploaded(acquisition, flz_session)
    (session_folder / "R182159_retinotopy" / "overview_zoom1_00001_00001.tif").unlink()
    (session_folder / "slide1.czi").unlink()
    missing = check_paths(flexilims_session=flz_session)["missing"]
    missing = sorted(missing, key=lambda item: item["name"])
    assert [item["name"] for item in missing] == [
        f"{DAY}_R182159_retinotopy_overview_zoom1_00001",
        f"{DAY}_slide1",
    ]
    scanimage = missing[0]
    assert scanimage["id"] == datasets[scanimage["name"]]["id"]
    assert "overview_zoom1_00001_00001.tif" in scanimage["reason"]
    assert scanimage["path"] == f"{PROJECT}/{MOUSE}/{SESSION}/R182159_retinotopy"


def test_folders_no_entity_points_to(
    acquisition, session_folder, raw_root, tmp_path, flz_session, mouse
):
    uploaded(acquisition, flz_session)
    make_microscopy(raw_root / PROJECT / MOUSE / "S20210514" / "R1", name="x")
    (session_folder / "R182159_retinotopy" / "extra" / "deeper").mkdir(parents=True)
    (raw_root / PROJECT / "another_mouse").mkdir()
    processed = tmp_path / "processed" / PROJECT / MOUSE / SESSION
    (processed / "suite2p" / "plane0").mkdir(parents=True)
    (processed / "stray").mkdir()
    day = flz_session.get("session", name=DAY)[0]
    flz.add_dataset(
        day["id"],
        "suite2p_rois",
        "2021-05-14 10:00:00",
        f"{PROJECT}/{MOUSE}/{SESSION}/suite2p",
        is_raw="no",
        flexilims_session=flz_session,
    )
    unreferenced = check_paths(flexilims_session=flz_session)["unreferenced"]
    assert sorted(unreferenced) == sorted(
        [
            raw_root / PROJECT / MOUSE / "S20210514",
            session_folder / "R182159_retinotopy" / "extra",
            raw_root / PROJECT / "another_mouse",
            processed / "stray",
        ]
    )


def test_check_paths_opens_the_project(acquisition, flz_session, mouse, project):
    uploaded(acquisition, flz_session)
    assert check_paths(PROJECT)["missing"] == []


def test_names_that_break_the_convention(acquisition, flz_session, mouse):
    uploaded(acquisition, flz_session)

    def add(datatype, name, origin=None, **attributes):
        return flz_session.post(
            datatype,
            name,
            attributes,
            origin_id=origin,
            strict_validation=False,
        )

    day = flz_session.get("session", name=DAY)[0]
    add("session", "wrong", mouse["id"], genealogy=[MOUSE, "S20210101"])
    add("recording", f"{DAY}_R1", day["id"], genealogy=["other", SESSION, "R1"])
    add("dataset", f"{DAY}_ds", day["id"], path="x")
    add("session", "lonely", None, genealogy=["lonely"])
    add("mouse", "M2", None, genealogy=["M3"])
    problems = {
        (item["name"], item["problem"]) for item in check_names(PROJECT, flz_session)
    }
    assert problems == {
        ("wrong", "name should be PZAH6.4b_S20210101 (its genealogy)"),
        ("wrong", "name does not start with its parent's, PZAH6.4b_"),
        (f"{DAY}_R1", "name should be other_S20210513_R1 (its genealogy)"),
        (
            f"{DAY}_R1",
            "genealogy ['other', 'S20210513', 'R1'] does not continue its "
            "parent's ['PZAH6.4b', 'S20210513']",
        ),
        (f"{DAY}_ds", "no genealogy attribute"),
        ("lonely", "a session without parent"),
        ("M2", "name should be M3 (its genealogy)"),
        ("M2", "genealogy ['M3'] of a top entity is not [M2]"),
    }
    assert all(item["id"] for item in check_names(flexilims_session=flz_session))


def test_a_genealogy_that_is_not_a_list():
    entity = {
        "id": "a" * 24,
        "type": "sample",
        "name": "M_s1",
        "origin_id": None,
        "attributes": {"genealogy": "M_s1"},
    }
    assert name_problems([entity]) == [
        {
            "type": "sample",
            "name": "M_s1",
            "id": "a" * 24,
            "problem": "genealogy 'M_s1' is not a list of names",
        }
    ]


def test_paths_outside_the_data_root_are_refused_and_never_looked_at(
    flz_session, mouse, store
):
    """The store refuses such paths (the default lab settings give ``path`` the
    type ``path``); one stored by another server is reported, not probed."""
    import pytest

    from flexiznam.errors import FlexilimsError

    for bad in ("../../../../etc/shadow", "/etc/passwd"):
        with pytest.raises(FlexilimsError, match="relative to the data root"):
            flz.add_dataset(
                mouse["id"], "harp", "2021-01-01 10:00:00", bad,
                flexilims_session=flz_session,
            )  # fmt: skip
    made = flz.add_dataset(
        mouse["id"], "harp", "2021-01-01 10:00:00", "fine/harp",
        flexilims_session=flz_session,
    )  # fmt: skip
    with store.write() as conn:  # written by another server, behind the rules
        conn.exec_driver_sql(
            'UPDATE entities SET attributes = \'{"path": "../../../etc"}\' '
            f"WHERE id = '{made['id']}'"
        )
    (item,) = [
        found
        for found in check_paths(flexilims_session=flz_session)["missing"]
        if found["id"] == made["id"]
    ]
    assert item["reason"] == "the path leads outside the data root: not looked at"
