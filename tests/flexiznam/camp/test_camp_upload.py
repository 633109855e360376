"""upload: the entities of an acquisition YAML in one transaction, all or nothing,
in-process and over HTTP, on SQLite and PostgreSQL."""

import pytest
from acquisition import make_microscopy, make_recording_folder
from camp_setup import MOUSE, PROJECT, SESSION, database_rows

import flexiznam.main as flz
from flexilims.store import labsettings
from flexiznam.camp import create_yaml, upload, write
from flexiznam.errors import SyncYmlError

DAY = f"{MOUSE}_{SESSION}"
RETINOTOPY = f"{DAY}_R182159_retinotopy"


def send(source, session, **kwargs):
    return upload(source, flexilims_session=session, progress=False, **kwargs)


def by_name(session, datatype) -> dict:
    return {entity["name"]: entity for entity in session.get(datatype)}


def test_upload_creates_the_hierarchy(acquisition, flz_session, mouse):
    report = send(acquisition, flz_session)
    assert report.counts() == {"created": 12, "updated": 0, "skipped": 0}
    assert report.created[0][:2] == ("session", DAY)
    assert report.summary() == "created 12, updated 0, skipped 0"
    assert f"created  session    {DAY}" in str(report)
    day = by_name(flz_session, "session")[DAY]
    assert day["origin_id"] == mouse["id"]
    assert day["attributes"] == {
        "date": "2021-05-13",
        "genealogy": [MOUSE, SESSION],
        "path": f"{PROJECT}/{MOUSE}/{SESSION}",
    }
    recordings = by_name(flz_session, "recording")
    assert sorted(recordings) == [
        RETINOTOPY,
        f"{DAY}_R190000_sphere",
        f"{DAY}_R191500",
    ]
    retinotopy = recordings[RETINOTOPY]
    assert retinotopy["origin_id"] == day["id"]
    assert retinotopy["attributes"]["genealogy"] == [
        MOUSE,
        SESSION,
        "R182159_retinotopy",
    ]
    assert retinotopy["attributes"]["recording_type"] == "two_photon"
    datasets = by_name(flz_session, "dataset")
    assert len(datasets) == 8
    scanimage = datasets[f"{RETINOTOPY}_overview_zoom1_00001"]
    assert scanimage["origin_id"] == retinotopy["id"]
    attributes = scanimage["attributes"]
    assert attributes["dataset_type"] == "scanimage"
    assert attributes["is_raw"] == "yes"
    assert attributes["path"] == retinotopy["attributes"]["path"]
    assert attributes["genealogy"] == [
        MOUSE,
        SESSION,
        "R182159_retinotopy",
        "overview_zoom1_00001",
    ]
    assert attributes["zoom"] == 2
    assert attributes["tif_files"] == [
        "overview_zoom1_00001_00001.tif",
        "overview_zoom1_00001_00002.tif",
    ]
    slide = datasets[f"{DAY}_slide1"]
    assert slide["origin_id"] == day["id"]
    paths = flz.get_datasets(
        day["id"], dataset_type="scanimage", flexilims_session=flz_session
    )
    assert len(paths[RETINOTOPY]) == 1


def test_upload_from_a_file(acquisition_file, flz_session, mouse):
    report = send(acquisition_file, flz_session)
    assert len(report.created) == 12
    assert [name for _, name, _ in report.created][:2] == [DAY, RETINOTOPY]


def test_the_session_is_opened_from_the_project(acquisition, project, mouse):
    report = upload(acquisition, progress=False)
    assert len(report.created) == 12


def test_a_file_with_problems_uploads_nothing(acquisition, flz_session, mouse, store):
    acquisition["children"][SESSION]["attributes"]["id"] = 1
    acquisition["version"] = 2
    before = database_rows(store)
    with pytest.raises(SyncYmlError) as error:
        send(acquisition, flz_session)
    assert len(error.value.problems) == 2
    assert database_rows(store) == before


def test_the_origin_must_exist(acquisition, flz_session, store):
    with pytest.raises(SyncYmlError, match="no entity named PZAH6.4b"):
        send(acquisition, flz_session)


def test_unknown_conflicts_mode(acquisition, flz_session):
    with pytest.raises(AttributeError, match="conflicts must be one of"):
        send(acquisition, flz_session, conflicts="append")


# -------------------------------------------------------------- re-uploads


def test_reupload_abort_lists_what_exists_and_writes_nothing(
    acquisition, flz_session, mouse, store
):
    send(acquisition, flz_session)
    before = database_rows(store)
    with pytest.raises(SyncYmlError) as error:
        send(acquisition, flz_session, conflicts="abort")
    assert len(error.value.problems) == 12
    assert f"a session named {DAY} exists already" in str(error.value)
    assert "upload with conflicts skip, update or overwrite" in str(error.value)
    assert database_rows(store) == before


def test_reupload_skip_changes_nothing(acquisition, flz_session, mouse, store):
    send(acquisition, flz_session)
    before = database_rows(store)
    report = send(acquisition, flz_session, conflicts="skip")
    assert report.counts() == {"created": 0, "updated": 0, "skipped": 12}
    assert database_rows(store) == before


def test_reupload_skip_adds_what_is_new(
    acquisition, session_folder, flz_session, mouse
):
    send(acquisition, flz_session)
    datasets = by_name(flz_session, "dataset")
    flz_session.delete(datasets[f"{DAY}_slide1"]["id"])
    make_recording_folder(session_folder / "R200000_flash", ["camera", "visstim"])
    again = create_yaml(session_folder, PROJECT, MOUSE)
    report = send(again, flz_session, conflicts="skip")
    assert report.counts() == {"created": 4, "updated": 0, "skipped": 11}
    created = {name for _, name, _ in report.created}
    assert created == {
        f"{DAY}_slide1",
        f"{DAY}_R200000_flash",
        f"{DAY}_R200000_flash_face_camera",
        f"{DAY}_R200000_flash_visstim",
    }
    day = by_name(flz_session, "session")[DAY]
    flash = by_name(flz_session, "recording")[f"{DAY}_R200000_flash"]
    assert flash["origin_id"] == day["id"]
    assert by_name(flz_session, "dataset")[f"{DAY}_slide1"]["origin_id"] == day["id"]


def test_reupload_update_and_overwrite(acquisition, flz_session, mouse):
    send(acquisition, flz_session)
    day = by_name(flz_session, "session")[DAY]
    flz_session.update_one(
        day["id"], "session", attributes={"notes": "by hand"}, strict_validation=False
    )
    acquisition["children"][SESSION]["attributes"]["weight"] = 21.5
    report = send(acquisition, flz_session, conflicts="update")
    assert report.counts() == {"created": 0, "updated": 12, "skipped": 0}
    updated = by_name(flz_session, "session")[DAY]
    assert updated["id"] == day["id"]
    assert updated["attributes"]["weight"] == 21.5
    assert updated["attributes"]["notes"] == "by hand"
    report = send(acquisition, flz_session, conflicts="overwrite")
    assert report.counts() == {"created": 0, "updated": 12, "skipped": 0}
    overwritten = by_name(flz_session, "session")[DAY]
    assert overwritten["attributes"]["notes"] is None
    assert overwritten["attributes"]["weight"] == 21.5
    assert overwritten["attributes"]["genealogy"] == [MOUSE, SESSION]
    assert len(by_name(flz_session, "dataset")) == 8


# ----------------------------------------------------------- all or nothing


@pytest.fixture
def big_acquisition(raw_root, tmp_path):
    """A session whose recording holds 950 single-file datasets."""
    recording = raw_root / PROJECT / MOUSE / SESSION / "R120000_slides"
    for index in range(950):
        make_microscopy(recording, name=f"slide{index:03d}")
    path = tmp_path / "big.yml"
    create_yaml(recording.parent, PROJECT, MOUSE, outfile=path)
    return path


NINE_HUNDREDTH = f"{DAY}_R120000_slides_slide899"


def test_a_failure_in_the_900th_dataset_leaves_nothing_behind(
    big_acquisition, flz_session, mouse, store
):
    # the name is taken elsewhere in the project: only the database sees it
    genealogy = {"genealogy": ["other"]}
    other = flz.add_entity(
        "mouse", "other", attributes=genealogy, flexilims_session=flz_session
    )
    flz_session.post(
        "dataset",
        NINE_HUNDREDTH,
        {"path": "x", "dataset_type": "microscopy", "is_raw": "yes"},
        origin_id=other["id"],
        strict_validation=False,
    )
    before = database_rows(store)
    with pytest.raises(SyncYmlError) as error:
        send(big_acquisition, flz_session)
    message = str(error.value)
    assert "S20210513 > R120000_slides > slide899" in message
    assert f"A dataset named {NINE_HUNDREDTH} already exists in project test" in message
    assert "nothing was written" in message
    assert error.value.problems[0].line is not None
    assert database_rows(store) == before


def test_a_refusal_of_the_lab_settings_in_the_900th_dataset(
    big_acquisition, flz_session, mouse, store
):
    with store.write() as conn:
        settings = labsettings.read_settings(conn)
        objective = {"type": "string", "allowed": ["10x", "20x"]}
        settings["datatypes"]["dataset"]["attributes"]["objective"] = objective
        labsettings.write_settings(conn, settings)
    text = big_acquisition.read_text()
    lines = text.splitlines()
    start = [line.strip() for line in lines].index("slide899:")
    for index in range(start, start + 8):
        if lines[index].strip() == "extra_attributes: {}":
            lines[index] = lines[index].replace("{}", "{objective: 63x}")
    big_acquisition.write_text("\n".join(lines) + "\n")
    before = database_rows(store)
    with pytest.raises(SyncYmlError) as error:
        send(big_acquisition, flz_session)
    problem = error.value.problems[0]
    assert problem.place == "S20210513 > R120000_slides > slide899"
    assert "'63x' is not a valid value for objective" in problem.message
    assert problem.line == start + 1
    assert database_rows(store) == before


def test_the_big_acquisition_goes_in_one_request(big_acquisition, flz_session, mouse):
    calls = []
    original = flz_session.batch

    def batch(*args, **kwargs):
        calls.append(len(args[0]))
        return original(*args, **kwargs)

    flz_session.batch = batch
    report = send(big_acquisition, flz_session)
    assert report.counts()["created"] == 952
    assert calls == [952]


def test_write_then_upload(acquisition, tmp_path, flz_session, mouse):
    path = write(acquisition, tmp_path / "copy.yml")
    assert len(send(path, flz_session).created) == 12
