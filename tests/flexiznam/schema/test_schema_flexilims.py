"""Datasets against a real database: upload, read back, compare, update, reserve."""

import pytest
from acquisition import make_session_folder

from flexiznam import main as flz
from flexiznam.errors import DatasetError, FlexilimsError, NameNotUniqueError
from flexiznam.schema import Dataset, ScanimageData

MOUSE, SESSION, RECORDING = "PZAH6.4b", "S20210513", "R182159_retinotopy"
RECORDING_NAME = f"{MOUSE}_{SESSION}_{RECORDING}"


@pytest.fixture
def recording(flz_session, config_dir, tmp_path):
    """A mouse, session and recording online, and the recording's raw folder."""
    flz.add_mouse(MOUSE, project_id="test", flexilims_session=flz_session)
    session = flz.add_experimental_session(
        MOUSE, "2021-05-13", session_name=SESSION, flexilims_session=flz_session
    )
    entity = flz.add_recording(
        session["id"],
        "two_photon",
        "retinotopy",
        recording_name=RECORDING,
        flexilims_session=flz_session,
    )
    folder = make_session_folder(
        tmp_path / "raw" / "test",
        MOUSE,
        SESSION,
        recordings=[
            {
                "name": RECORDING,
                "datasets": ["scanimage", "camera", "harp", "visstim", "onix"],
            }
        ],
    )
    return {"entity": entity, "folder": folder / RECORDING}


def detected(recording, flz_session, name="overview_zoom1_00001"):
    dataset = Dataset.from_folder(recording["folder"])[name]
    dataset.origin_id = recording["entity"]["id"]
    dataset.flexilims_session = flz_session
    return dataset


def uploaded(recording, flz_session, name="overview_zoom1_00001"):
    dataset = detected(recording, flz_session, name)
    dataset.update_flexilims()
    return dataset


# --------------------------------------------------------------- uploading


def test_upload_a_detected_dataset(recording, flz_session):
    dataset = detected(recording, flz_session)
    assert dataset.flexilims_status() == "not online"
    assert dataset.flexilims_report() is None
    reply = dataset.update_flexilims()
    full_name = f"{RECORDING_NAME}_overview_zoom1_00001"
    assert reply["name"] == dataset.name == full_name
    assert dataset.genealogy == (MOUSE, SESSION, RECORDING, "overview_zoom1_00001")
    assert dataset.id == reply["id"]
    assert reply["origin_id"] == recording["entity"]["id"]
    attributes = reply["attributes"]
    assert attributes["path"] == f"test/{MOUSE}/{SESSION}/{RECORDING}"
    assert attributes["is_raw"] == "yes"
    assert attributes["dataset_type"] == "scanimage"
    assert attributes["tif_files"] == dataset.tif_files
    assert attributes["zoom"] == 2
    assert dataset.flexilims_status() == "up-to-date"
    assert dataset.flexilims_report().empty
    paths = flz.get_datasets(
        recording["entity"]["id"],
        dataset_type="scanimage",
        flexilims_session=flz_session,
    )
    assert paths == {RECORDING_NAME: [str(recording["folder"])]}


def test_upload_every_type_and_read_it_back(recording, flz_session):
    found = Dataset.from_folder(recording["folder"])
    assert len(found) == 5
    for dataset in found.values():
        dataset.origin_id = recording["entity"]["id"]
        dataset.flexilims_session = flz_session
        dataset.update_flexilims()
    for dataset in found.values():
        back = Dataset.from_flexilims(name=dataset.name, flexilims_session=flz_session)
        assert type(back) is type(dataset)
        assert back.format(mode="yaml") == dataset.format(mode="yaml")
        assert back.id == dataset.id
        assert back.is_valid(), back.is_valid(return_reason=True)
        assert back.flexilims_status() == "up-to-date"
    onix = Dataset.from_flexilims(
        name=f"{RECORDING_NAME}_onix_2021-06-04T12_00_00", flexilims_session=flz_session
    )
    assert onix.devices["onix-rhd2164"][1].endswith("_aux.raw")
    # rows of a DataFrame of several types (NaN where a type lacks a column)
    table = flz.get_entities(datatype="dataset", flexilims_session=flz_session)
    assert len(table) == 5
    for _, row in table.iterrows():
        back = Dataset.from_flexilims(data_series=row, flexilims_session=flz_session)
        original = next(ds for ds in found.values() if ds.name == row["name"])
        assert back.format(mode="yaml") == original.format(mode="yaml")


def test_uploading_again_changes_nothing(recording, flz_session):
    dataset = uploaded(recording, flz_session)
    again = detected(recording, flz_session)
    reply = again.update_flexilims()
    assert reply["id"] == dataset.id
    assert again.id == dataset.id
    entities = flz.get_entities(datatype="dataset", flexilims_session=flz_session)
    assert len(entities) == 1


def test_upload_needs_an_origin_and_a_relative_path(recording, flz_session, tmp_path):
    dataset = detected(recording, flz_session)
    dataset.origin_id = None
    with pytest.raises(DatasetError, match="origin_id"):
        dataset.update_flexilims()
    dataset.path = tmp_path / "outside"
    with pytest.raises(DatasetError, match="relative to the data root"):
        dataset.update_flexilims()
    with pytest.raises(AttributeError, match="mode"):
        dataset.update_flexilims(mode="replace")


# ------------------------------------------------------------------ reading


def test_from_flexilims_by_name_id_or_project(recording, flz_session):
    dataset = uploaded(recording, flz_session)
    by_name = Dataset.from_flexilims(name=dataset.name, flexilims_session=flz_session)
    by_id = ScanimageData.from_flexilims(id=dataset.id, flexilims_session=flz_session)
    by_project = Dataset.from_flexilims(project="test", name=dataset.name)
    for back in (by_name, by_id, by_project):
        assert isinstance(back, ScanimageData)
        assert back.name == dataset.name
        assert back.genealogy == dataset.genealogy
        assert back.origin_id == recording["entity"]["id"]
        assert back.project == flz_session.project_id
        assert back.created == dataset.created
        assert back.path_full == recording["folder"]
    assert by_project.flexilims_status() == "up-to-date"


def test_from_flexilims_errors(recording, flz_session):
    with pytest.raises(
        FlexilimsError, match="Cannot find a dataset named nothing in the project."
    ):
        Dataset.from_flexilims(name="nothing", flexilims_session=flz_session)
    with pytest.raises(AttributeError):
        Dataset.from_flexilims(flexilims_session=flz_session)
    with pytest.raises(DatasetError, match="flexilims_session or a project"):
        Dataset.from_flexilims(name="x")


def test_a_type_without_class_is_a_plain_dataset(recording, flz_session):
    flz.add_dataset(
        recording["entity"]["id"],
        "deeplabcut",
        "2021-05-14 10:00:00",
        "test/dlc_0",
        is_raw="no",
        flexilims_session=flz_session,
        dataset_name="dlc_0",
        attributes={"model": "resnet50"},
    )
    back = Dataset.from_flexilims(
        name=f"{RECORDING_NAME}_dlc_0", flexilims_session=flz_session
    )
    assert type(back) is Dataset
    assert back.dataset_type == "deeplabcut"
    assert not back.is_raw
    assert back.extra_attributes == {"model": "resnet50"}
    assert back.flexilims_status() == "up-to-date"


# ---------------------------------------------------------------- updating


def test_differences_and_update_modes(recording, flz_session):
    dataset = uploaded(recording, flz_session)
    dataset.extra_attributes["zoom"] = 3
    dataset.extra_attributes["objective"] = "16x"
    assert dataset.flexilims_status() == "different"
    report = dataset.flexilims_report()
    assert sorted(report.index) == ["objective", "zoom"]
    assert list(report.columns) == ["offline", "flexilims"]
    assert report.loc["zoom", "offline"] == 3
    assert report.loc["zoom", "flexilims"] == 2
    with pytest.raises(FlexilimsError, match="zoom"):
        dataset.update_flexilims()
    dataset.update_flexilims(mode="update")
    assert dataset.flexilims_status() == "up-to-date"

    del dataset.extra_attributes["objective"]
    assert dataset.flexilims_status() == "different"
    dataset.update_flexilims(mode="update")  # keeps what this object lacks
    assert dataset.flexilims_status() == "different"
    reply = dataset.update_flexilims(mode="overwrite")
    assert reply["attributes"].get("objective") is None
    assert dataset.flexilims_status() == "up-to-date"


def test_overwrite_renames(recording, flz_session):
    dataset = uploaded(recording, flz_session)
    back = Dataset.from_flexilims(id=dataset.id, flexilims_session=flz_session)
    back.genealogy = [MOUSE, SESSION, RECORDING, "main_fov"]
    assert "name" in back.flexilims_report().index
    back.update_flexilims(mode="overwrite")
    online = flz.get_entity(id=dataset.id, flexilims_session=flz_session)
    assert online["name"] == f"{RECORDING_NAME}_main_fov"
    assert online["genealogy"] == [MOUSE, SESSION, RECORDING, "main_fov"]


# --------------------------------------------------------------- reserving


def test_from_origin_reserves_a_processed_dataset(recording, flz_session, tmp_path):
    rec_id = recording["entity"]["id"]
    dataset = Dataset.from_origin(
        origin_id=rec_id, dataset_type="suite2p_rois", flexilims_session=flz_session
    )
    assert type(dataset) is Dataset
    assert dataset.name == f"{RECORDING_NAME}_suite2p_rois_0"
    assert dataset.genealogy == (MOUSE, SESSION, RECORDING, "suite2p_rois_0")
    assert not dataset.is_raw
    assert dataset.origin_id == rec_id
    assert dataset.path.as_posix() == (
        f"test/{MOUSE}/{SESSION}/{RECORDING}/suite2p_rois_0"
    )
    assert dataset.path_full == tmp_path / "processed" / dataset.path
    assert dataset.flexilims_status() == "not online"
    dataset.path_full.mkdir(parents=True)
    assert dataset.is_valid()
    dataset.extra_attributes["n_rois"] = 12
    dataset.update_flexilims()
    assert dataset.flexilims_status() == "up-to-date"

    for conflicts in ("skip", "overwrite"):
        again = Dataset.from_origin(
            origin_name=RECORDING_NAME,
            origin_type="recording",
            dataset_type="suite2p_rois",
            conflicts=conflicts,
            flexilims_session=flz_session,
        )
        assert again.id == dataset.id
        assert again.extra_attributes == {"n_rois": 12}
    for conflicts in (None, "abort"):
        with pytest.raises(NameNotUniqueError, match="suite2p_rois_0"):
            Dataset.from_origin(
                origin_id=rec_id,
                dataset_type="suite2p_rois",
                conflicts=conflicts,
                flexilims_session=flz_session,
            )
    second = Dataset.from_origin(
        origin_id=rec_id,
        dataset_type="suite2p_rois",
        conflicts="append",
        flexilims_session=flz_session,
    )
    assert second.name == f"{RECORDING_NAME}_suite2p_rois_1"
    second.update_flexilims()
    with pytest.raises(NameNotUniqueError, match="several"):
        Dataset.from_origin(
            origin_id=rec_id,
            dataset_type="suite2p_rois",
            conflicts="skip",
            flexilims_session=flz_session,
        )


def test_from_origin_ignores_raw_datasets(recording, flz_session):
    raw = uploaded(recording, flz_session)
    dataset = ScanimageData.from_origin(
        origin_id=recording["entity"]["id"], flexilims_session=flz_session
    )
    assert isinstance(dataset, ScanimageData)
    assert dataset.id is None and dataset.name != raw.name
    assert dataset.name == f"{RECORDING_NAME}_scanimage_0"


def test_from_origin_errors(recording, flz_session):
    rec_id = recording["entity"]["id"]
    with pytest.raises(DatasetError, match="Unknown dataset type"):
        Dataset.from_origin(
            origin_id=rec_id, dataset_type="nonsense", flexilims_session=flz_session
        )
    with pytest.raises(
        FlexilimsError, match="Cannot find a recording named nothing in the project."
    ):
        Dataset.from_origin(
            origin_name="nothing",
            origin_type="recording",
            dataset_type="suite2p_rois",
            flexilims_session=flz_session,
        )
    with pytest.raises(AttributeError, match="conflicts"):
        Dataset.from_origin(
            origin_id=rec_id,
            dataset_type="suite2p_rois",
            conflicts="replace",
            flexilims_session=flz_session,
        )
    with pytest.raises(AttributeError, match="dataset_type"):
        Dataset.from_origin(origin_id=rec_id, flexilims_session=flz_session)


def test_from_origin_extra_attributes_tell_datasets_apart(
    recording, flz_session, store, snapshot
):
    rec_id = recording["entity"]["id"]

    def reserve(conflicts, **extra):
        return Dataset.from_origin(
            origin_id=rec_id,
            dataset_type="suite2p_rois",
            conflicts=conflicts,
            extra_attributes=extra,
            flexilims_session=flz_session,
        )

    first = reserve("abort", diameter=8, tau=0.7)
    assert first.extra_attributes == {"diameter": 8, "tau": 0.7}
    first.update_flexilims()
    online = flz.get_entity(id=first.id, flexilims_session=flz_session)
    assert online["diameter"] == 8 and online["tau"] == 0.7
    for conflicts in ("skip", "overwrite"):
        assert reserve(conflicts, diameter=8, tau=0.7).id == first.id
        assert reserve(conflicts, Diameter=8).id == first.id
    with pytest.raises(NameNotUniqueError, match="suite2p_rois_0"):
        reserve("abort", diameter=8)
    other = reserve("skip", diameter=10)
    assert other.id is None and other.extra_attributes == {"diameter": 10}
    assert other.name == f"{RECORDING_NAME}_suite2p_rois_1"
    assert reserve("abort", diameter=10).name == other.name
    before = snapshot(store)
    with pytest.raises(DatasetError, match="cannot be extra attributes"):
        reserve("append", path="elsewhere")
    assert snapshot(store) == before


def test_from_dataseries_reads_an_entity_already_fetched(
    recording, flz_session, requests_of
):
    dataset = uploaded(recording, flz_session)
    series = flz.get_entity(id=dataset.id, flexilims_session=flz_session)
    row = flz.get_children(
        recording["entity"]["id"], "dataset", flexilims_session=flz_session
    ).loc[dataset.name]
    as_dict = flz.get_entity(
        id=dataset.id, flexilims_session=flz_session, format_reply=False
    )
    sent = requests_of(flz_session)
    for entity in (series, row, as_dict):
        back = Dataset.from_dataseries(entity, flexilims_session=flz_session)
        assert isinstance(back, ScanimageData)
        assert back.id == dataset.id and back.name == dataset.name
        assert back.genealogy == dataset.genealogy
        assert back.extra_attributes == dataset.extra_attributes
        assert back.path == dataset.path and back.is_raw
        assert back.flexilims_session is flz_session
    assert sent == []
    assert back.flexilims_status() == "up-to-date"
    unattached = Dataset.from_dataseries(series)
    assert unattached.project == flz_session.project_id


def test_from_dataseries_refuses_what_is_not_a_dataset(recording, flz_session):
    series = flz.get_entity(id=recording["entity"]["id"], flexilims_session=flz_session)
    with pytest.raises(DatasetError, match="is a recording"):
        Dataset.from_dataseries(series, flexilims_session=flz_session)
    with pytest.raises(AttributeError, match="Give the dataset's entity"):
        Dataset.from_dataseries(None)
