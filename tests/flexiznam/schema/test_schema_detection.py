"""Dataset detection in generated acquisition folders, validity and formats."""

from pathlib import Path

import pytest
import tifffile
import yaml
from acquisition import (
    make_camera,
    make_harp,
    make_microscopy,
    make_onix,
    make_scanimage,
    make_sequencing,
    make_session_folder,
    make_visstim,
)

from flexiznam.errors import DatasetError
from flexiznam.schema import (
    CameraData,
    Dataset,
    HarpData,
    MicroscopyData,
    OnixData,
    ScanimageData,
    SequencingData,
    VisStimData,
)
from flexiznam.schema.scanimage_data import parse_assignments, read_header
from flexiznam.utils import clean_dictionary_recursively

MOUSE, SESSION, RECORDING = "PZAH6.4b", "S20210513", "R182159_retinotopy"


def types_of(found: dict) -> dict:
    return {name: ds.dataset_type for name, ds in found.items()}


@pytest.fixture
def session_folder(data_config):
    return make_session_folder(
        data_config["raw"] / "demo",
        MOUSE,
        SESSION,
        recordings=[
            RECORDING,
            {"name": "R190000_ephys", "datasets": ["onix", "camera"]},
        ],
        datasets=["microscopy", "sequencing"],
    )


# ----------------------------------------------------------------- registry


def test_every_type_is_registered():
    assert Dataset.SUBCLASSES == {
        "scanimage": ScanimageData,
        "camera": CameraData,
        "harp": HarpData,
        "microscopy": MicroscopyData,
        "sequencing": SequencingData,
        "visstim": VisStimData,
        "onix": OnixData,
    }


def test_a_lab_adds_a_type_in_one_small_class(data_config):
    class WidefieldData(Dataset):
        DATASET_TYPE = "widefield_test"

        @classmethod
        def detect(cls, folder, filenames, verbose=False):
            return [
                cls(path=folder / name, name=name[: -len(".dcimg")])
                for name in filenames
                if name.endswith(".dcimg")
            ]

    try:
        folder = data_config["raw"] / "wf"
        folder.mkdir(parents=True)
        (folder / "wf_run1.dcimg").write_bytes(b"DCIMG")
        make_camera(folder, camera="wf_run1_cam")
        found = Dataset.from_folder(folder)
        assert types_of(found) == {
            "wf_run1": "widefield_test",
            "wf_run1_cam": "camera",
        }
        assert isinstance(found["wf_run1"], WidefieldData)
        assert found["wf_run1"].path == Path("wf/wf_run1.dcimg")
        assert found["wf_run1"].is_valid()
        assert Dataset.SUBCLASSES["widefield_test"] is WidefieldData
    finally:
        Dataset.SUBCLASSES.pop("widefield_test", None)


# ---------------------------------------------------------- whole folders


def test_recording_folder_finds_each_type(session_folder, data_config):
    found = Dataset.from_folder(session_folder / RECORDING)
    assert types_of(found) == {
        "overview_zoom1_00001": "scanimage",
        "face_camera": "camera",
        f"{RECORDING}_harpmessage": "harp",
        "visstim": "visstim",
    }
    for dataset in found.values():
        assert dataset.path == Path("demo", MOUSE, SESSION, RECORDING)
        assert dataset.is_raw
        assert dataset.path_full == session_folder / RECORDING
        assert dataset.is_valid(), dataset.is_valid(return_reason=True)
        assert dataset.is_valid(return_reason=True) == ""
        assert dataset.genealogy is None
        assert len(dataset.created) == len("2021-05-24 14:56:41")


def test_session_and_ephys_folders(session_folder):
    found = Dataset.from_folder(session_folder)
    assert types_of(found) == {"slide1": "microscopy", "sample1_R1": "sequencing"}
    assert found["slide1"].path == Path("demo", MOUSE, SESSION, "slide1.czi")
    assert found["sample1_R1"].path.name == "sample1_R1.fastq.gz"
    found = Dataset.from_folder(session_folder / "R190000_ephys")
    assert types_of(found) == {
        "onix_2021-06-04T12_00_00": "onix",
        "face_camera": "camera",
    }


def test_each_file_belongs_to_one_dataset(session_folder):
    folder = session_folder / RECORDING
    found = Dataset.from_folder(folder)
    files = [f for ds in found.values() for f in ds.associated_files()]
    assert sorted(f.name for f in files) == sorted(p.name for p in folder.iterdir())
    assert len(files) == len(set(files))


def test_processed_folder_is_not_raw(data_config):
    folder = data_config["processed"] / "demo" / MOUSE / "suite2p"
    make_microscopy(folder, "mean_image", ".png")
    dataset = Dataset.from_folder(folder)["mean_image"]
    assert not dataset.is_raw
    assert dataset.path == Path("demo", MOUSE, "suite2p", "mean_image.png")
    assert dataset.path_full == folder / "mean_image.png"


def test_folder_outside_the_data_roots_keeps_absolute_paths(tmp_path, data_config):
    folder = tmp_path / "elsewhere"
    make_camera(folder)
    dataset = Dataset.from_folder(folder)["face_camera"]
    assert dataset.path == folder
    assert dataset.path_full == folder
    assert dataset.is_valid()


def test_missing_folder_is_an_error(tmp_path, data_config):
    with pytest.raises(DatasetError, match="not a folder"):
        Dataset.from_folder(tmp_path / "nothing")


def test_empty_folder_has_no_dataset(tmp_path, data_config):
    assert Dataset.from_folder(tmp_path) == {}


def test_two_datasets_with_one_name_is_an_error(data_config):
    folder = data_config["raw"] / "clash"
    make_scanimage(folder, stem="acq", acquisition=1)
    make_camera(folder, camera="acq_00001")
    with pytest.raises(DatasetError, match="acq_00001") as error:
        Dataset.from_folder(folder)
    assert "camera" in str(error.value) and "scanimage" in str(error.value)


def test_subclass_looks_for_its_type_only(session_folder):
    found = ScanimageData.from_folder(session_folder / RECORDING)
    assert types_of(found) == {"overview_zoom1_00001": "scanimage"}
    assert CameraData.from_folder(session_folder) == {}


def test_verbose_prints_what_is_found(session_folder, capsys):
    Dataset.from_folder(session_folder / RECORDING, verbose=True)
    out = capsys.readouterr().out
    assert "scanimage: 1" in out and "overview_zoom1_00001" in out


# ---------------------------------------------------------------- scanimage


def test_scanimage_groups_files_by_stem_and_acquisition(data_config):
    folder = data_config["raw"] / "si"
    make_scanimage(folder, stem="overview_zoom1", acquisition=1, n_files=3)
    make_scanimage(folder, stem="overview_zoom1", acquisition=2, n_files=1)
    make_scanimage(folder, stem="fov2_920nm", acquisition=1, n_files=2)
    found = Dataset.from_folder(folder)
    assert sorted(found) == [
        "fov2_920nm_00001",
        "overview_zoom1_00001",
        "overview_zoom1_00002",
    ]
    first = found["overview_zoom1_00001"]
    assert first.tif_files == [f"overview_zoom1_00001_0000{i}.tif" for i in (1, 2, 3)]
    assert first.acquisition == 1
    assert first.extra_attributes["stem"] == "overview_zoom1"
    assert found["overview_zoom1_00002"].tif_files == ["overview_zoom1_00002_00001.tif"]


def test_scanimage_header_fields(data_config):
    folder = data_config["raw"] / "si"
    make_scanimage(
        folder,
        frames_per_file=3,
        header_fields={
            "SI.hRoiManager.scanZoomFactor": "1.5",
            "SI.hChannels.channelSave": "2",
        },
    )
    extra = Dataset.from_folder(folder)["overview_zoom1_00001"].extra_attributes
    assert extra["scanimage_version"] == "2020.1"
    assert extra["zoom"] == 1.5
    assert extra["frame_rate"] == pytest.approx(30.0119)
    assert extra["channels_saved"] == 2
    assert extra["frames_per_file"] == 3
    assert extra["lines_per_frame"] == 16 and extra["pixels_per_line"] == 16
    assert extra["num_slices"] == 1


def test_generated_tiff_is_scanimage_for_tifffile(data_config):
    path = make_scanimage(data_config["raw"] / "si", n_files=1, frames_per_file=2)[0]
    with tifffile.TiffFile(path) as tif:
        assert tif.is_scanimage
        assert len(tif.pages) == 2
        assert tif.pages[1].description.startswith("frameNumbers = 2")
    header = read_header(path)
    assert header["SI.hRoiManager.scanFrameRate"] == pytest.approx(30.0119)


def test_scanimage_without_header(data_config):
    folder = data_config["raw"] / "si"
    make_scanimage(folder, header=False)
    dataset = Dataset.from_folder(folder)["overview_zoom1_00001"]
    assert set(dataset.extra_attributes) == {"stem", "acquisition", "tif_files"}
    assert dataset.is_valid()


def test_old_scanimage_headers_are_parsed(tmp_path):
    header = parse_assignments(
        "state.configName='default'\nstate.acq.frameRate=15.63\n"
        "state.acq.zoomFactor=3\n"
    )
    assert header["state.acq.frameRate"] == 15.63
    path = tmp_path / "old_00001_00001.tif"
    tifffile.imwrite(
        path,
        make_frame(),
        description="state.configName='x'\nstate.acq.zoomFactor=3\n",
        metadata=None,
    )
    found = ScanimageData.from_folder(tmp_path)
    assert found["old_00001"].extra_attributes["zoom"] == 3
    assert found["old_00001"].extra_attributes["scanimage_version"] == "3"
    assert parse_assignments("scanimage.SI5.scanZoomFactor = 4") == {
        "SI.scanZoomFactor": 4
    }


def make_frame():
    import numpy as np

    return np.zeros((4, 4), dtype=np.uint16)


def test_corrupt_tiff_has_no_header(tmp_path):
    path = tmp_path / "broken_00001_00001.tif"
    path.write_bytes(b"not a tiff at all")
    assert read_header(path) == {}
    assert "broken_00001" in ScanimageData.from_folder(tmp_path)


def test_scanimage_missing_file_is_invalid(data_config):
    folder = data_config["raw"] / "si"
    paths = make_scanimage(folder, n_files=3)
    dataset = Dataset.from_folder(folder)["overview_zoom1_00001"]
    paths[1].unlink()
    assert not dataset.is_valid()
    reason = dataset.is_valid(return_reason=True)
    assert "overview_zoom1_00001_00002.tif" in reason and "missing" in reason
    dataset.extra_attributes = {}
    assert "no TIFF" in dataset.is_valid(return_reason=True)


def test_plain_tif_is_microscopy_but_a_series_is_not(data_config):
    folder = data_config["raw"] / "mixed"
    make_scanimage(folder, stem="zstack", n_files=2)
    make_microscopy(folder, "overview", ".tif")
    assert types_of(Dataset.from_folder(folder)) == {
        "zstack_00001": "scanimage",
        "overview": "microscopy",
    }


# ------------------------------------------------------------------- camera


@pytest.mark.parametrize(
    ("video_ext", "metadata"), [(".mp4", ".yml"), (".avi", ".txt"), (".bin", ".yml")]
)
def test_camera_files(data_config, video_ext, metadata):
    folder = data_config["raw"] / "cam"
    make_camera(folder, camera="eye_camera", video_ext=video_ext, metadata=metadata)
    make_harp(folder, prefix="rec")
    found = Dataset.from_folder(folder)
    assert types_of(found) == {"eye_camera": "camera", "rec_harpmessage": "harp"}
    camera = found["eye_camera"]
    assert camera.video_file == f"eye_camera{video_ext}"
    assert camera.timestamp_file == "eye_camera_timestamps.csv"
    assert camera.metadata_file == f"eye_camera_metadata{metadata}"
    assert camera.is_valid()
    assert (
        "eye_camera_timestamps.csv" not in found["rec_harpmessage"].csv_files.values()
    )


def test_several_cameras(data_config):
    folder = data_config["raw"] / "cam"
    for camera in ("face_camera", "eye_camera", "right_eye_camera"):
        make_camera(folder, camera=camera)
    assert sorted(CameraData.from_folder(folder)) == [
        "eye_camera",
        "face_camera",
        "right_eye_camera",
    ]


def test_camera_without_metadata_is_invalid(data_config):
    folder = data_config["raw"] / "cam"
    make_camera(folder, metadata=None)
    camera = Dataset.from_folder(folder)["face_camera"]
    assert "no metadata file" in camera.is_valid(return_reason=True)


def test_camera_without_video_is_invalid(data_config):
    folder = data_config["raw"] / "cam"
    make_camera(folder, video=False)
    camera = Dataset.from_folder(folder)["face_camera"]
    assert camera.is_valid(return_reason=True).endswith("no video file")


def test_lone_video_is_not_a_camera(data_config):
    folder = data_config["raw"] / "cam"
    make_camera(folder, timestamps=False, metadata=None)
    assert Dataset.from_folder(folder) == {}


def test_camera_file_deleted_after_detection(data_config):
    folder = data_config["raw"] / "cam"
    paths = make_camera(folder)
    camera = Dataset.from_folder(folder)["face_camera"]
    paths[1].unlink()
    assert "face_camera_timestamps.csv missing" in camera.is_valid(return_reason=True)


# --------------------------------------------------------------------- harp


def test_harp_takes_its_prefixed_csv_files(data_config):
    folder = data_config["raw"] / "harp"
    make_harp(folder, prefix="PZAH6.4b_S20210513_R182159")
    make_visstim(folder)
    found = Dataset.from_folder(folder)
    harp = found["PZAH6.4b_S20210513_R182159_harpmessage"]
    assert harp.binary_file == "PZAH6.4b_S20210513_R182159_harpmessage.bin"
    assert harp.csv_files == {
        name: f"PZAH6.4b_S20210513_R182159_{name}.csv"
        for name in ("RotaryEncoder", "PhotodiodeLog", "NewParams")
    }
    assert found["visstim"].csv_files == {
        "FrameLog": "FrameLog.csv",
        "NewParams": "NewParams.csv",
        "PhotodiodeLog": "PhotodiodeLog.csv",
    }


def test_bare_harpmessage_takes_every_csv_but_the_frame_log(data_config):
    folder = data_config["raw"] / "harp"
    make_harp(folder, prefix="", csv_names=("RotaryEncoder", "Lick"))
    make_camera(folder)
    make_visstim(folder, csv_names=("FrameLog",))
    found = Dataset.from_folder(folder)
    assert found["harpmessage"].csv_files == {
        "RotaryEncoder": "RotaryEncoder.csv",
        "Lick": "Lick.csv",
    }
    assert found["visstim"].csv_files == {"FrameLog": "FrameLog.csv"}
    assert found["face_camera"].is_valid()


def test_two_harp_files_split_the_csv_files(data_config):
    folder = data_config["raw"] / "harp"
    make_harp(folder, prefix="R1", csv_names=("RotaryEncoder",))
    make_harp(folder, prefix="R1", suffix="2", csv_names=("RotaryEncoder",))
    found = HarpData.from_folder(folder)
    assert found["R1_harpmessage"].csv_files == {
        "RotaryEncoder": "R1_RotaryEncoder.csv"
    }
    assert found["R1_harpmessage_2"].csv_files == {
        "RotaryEncoder": "R1_RotaryEncoder_2.csv"
    }


def test_harp_prefixes_do_not_overlap(data_config):
    folder = data_config["raw"] / "harp"
    make_harp(folder, prefix="R1", csv_names=("RotaryEncoder",))
    make_harp(folder, prefix="R10", csv_names=("RotaryEncoder", "Lick"))
    found = HarpData.from_folder(folder)
    assert found["R1_harpmessage"].csv_files == {
        "RotaryEncoder": "R1_RotaryEncoder.csv"
    }
    assert found["R10_harpmessage"].csv_files == {
        "RotaryEncoder": "R10_RotaryEncoder.csv",
        "Lick": "R10_Lick.csv",
    }
    (folder / "R10_harpmessage.bin").unlink()
    assert HarpData.from_folder(folder)["R1_harpmessage"].csv_files == {
        "RotaryEncoder": "R1_RotaryEncoder.csv"
    }


def test_harp_message_file_is_valid_harp(data_config):
    path = make_harp(data_config["raw"] / "harp", n_messages=3)[0]
    data = path.read_bytes()
    assert len(data) == 3 * 13
    first = data[:13]
    assert first[0] == 3 and first[1] == 11  # event, bytes after the length
    assert sum(first[:-1]) & 0xFF == first[-1]


def test_harp_missing_csv_is_invalid(data_config):
    folder = data_config["raw"] / "harp"
    paths = make_harp(folder)
    harp = HarpData.from_folder(folder)["PZAH6.4b_S20210513_R182159_harpmessage"]
    assert harp.is_valid()
    paths[2].unlink()
    assert "PhotodiodeLog" in harp.is_valid(return_reason=True)
    paths[0].unlink()
    assert "harpmessage.bin" in harp.is_valid(return_reason=True)


# ------------------------------------------------------------------ visstim


def test_visstim_needs_a_frame_log(data_config):
    folder = data_config["raw"] / "vs"
    make_visstim(folder, csv_names=("NewParams",))
    assert VisStimData.from_folder(folder) == {}
    paths = make_visstim(folder)
    visstim = VisStimData.from_folder(folder)["visstim"]
    assert visstim.is_valid()
    paths[0].unlink()
    assert "FrameLog.csv" in visstim.is_valid(return_reason=True)
    visstim.extra_attributes = {"csv_files": {"NewParams": "NewParams.csv"}}
    assert "no FrameLog.csv" in visstim.is_valid(return_reason=True)


# --------------------------------------------------------------------- onix


def test_onix_groups_devices_by_timestamp(data_config):
    folder = data_config["raw"] / "onix"
    make_onix(folder, timestamp="2021-06-04T12_00_00")
    make_onix(folder, timestamp="2021-06-04T12_30_00", devices={"onix-bno055": [""]})
    found = Dataset.from_folder(folder)
    assert sorted(found) == ["onix_2021-06-04T12_00_00", "onix_2021-06-04T12_30_00"]
    first = found["onix_2021-06-04T12_00_00"]
    assert first.timestamp == "2021-06-04T12_00_00"
    assert first.devices == {
        "onix-rhd2164": [
            "onix-rhd2164_2021-06-04T12_00_00.raw",
            "onix-rhd2164_2021-06-04T12_00_00_aux.raw",
        ],
        "onix-breakout": ["onix-breakout_2021-06-04T12_00_00.csv"],
        "onix-ts4231": ["onix-ts4231_2021-06-04T12_00_00.raw"],
    }
    assert found["onix_2021-06-04T12_30_00"].devices == {
        "onix-bno055": ["onix-bno055_2021-06-04T12_30_00.raw"]
    }


def test_onix_missing_file_is_invalid(data_config):
    folder = data_config["raw"] / "onix"
    paths = make_onix(folder)
    onix = OnixData.from_folder(folder)["onix_2021-06-04T12_00_00"]
    paths[1].unlink()
    assert paths[1].name in onix.is_valid(return_reason=True)
    onix.extra_attributes = {"devices": {}}
    assert "no device" in onix.is_valid(return_reason=True)


# ----------------------------------------------------- microscopy, sequencing


def test_one_dataset_per_file_by_extension(data_config):
    folder = data_config["raw"] / "slides"
    make_microscopy(folder, "slide1", ".czi")
    make_microscopy(folder, "slide2", ".png")
    make_sequencing(folder, "lib1_R1", ".fastq.gz")
    make_sequencing(folder, "lib1_R2", ".fastq.gz")
    make_sequencing(folder, "aligned", ".bam")
    (folder / "notes.docx").write_bytes(b"x")
    assert types_of(Dataset.from_folder(folder)) == {
        "slide1": "microscopy",
        "slide2": "microscopy",
        "lib1_R1": "sequencing",
        "lib1_R2": "sequencing",
        "aligned": "sequencing",
    }


def test_same_stem_different_extensions(data_config):
    folder = data_config["raw"] / "slides"
    make_microscopy(folder, "slide1", ".czi")
    make_microscopy(folder, "slide1", ".png")
    found = MicroscopyData.from_folder(folder)
    assert sorted(found) == ["slide1_czi", "slide1_png"]
    assert found["slide1_png"].path.name == "slide1.png"


def test_extensions_come_from_the_config(data_config):
    config_file = data_config["folder"] / "config.yml"
    config = yaml.safe_load(config_file.read_text())
    config["microscopy_extensions"] = [".nd2"]
    config_file.write_text(yaml.safe_dump(config))
    folder = data_config["raw"] / "slides"
    make_microscopy(folder, "a", ".nd2")
    make_microscopy(folder, "b", ".czi")
    assert types_of(Dataset.from_folder(folder)) == {"a": "microscopy"}


def test_single_file_validity(data_config):
    folder = data_config["raw"] / "slides"
    path = make_sequencing(folder, "lib1_R1", ".fastq")[0]
    dataset = SequencingData.from_folder(folder)["lib1_R1"]
    assert dataset.is_valid()
    assert dataset.associated_files() == [path]
    wrong = SequencingData(path=folder / "slide.czi", name="slide")
    make_microscopy(folder, "slide", ".czi")
    assert "does not end with a sequencing extension" in wrong.is_valid(
        return_reason=True
    )
    path.unlink()
    assert "is not a file" in dataset.is_valid(return_reason=True)


# ------------------------------------------------------------ the object


def test_genealogy_gives_the_name():
    dataset = CameraData(path="demo/m/S1/R1", name="face_camera")
    assert dataset.dataset_name == "face_camera"
    dataset.genealogy = ["m", "S1", "R1", "face_camera"]
    assert dataset.name == "m_S1_R1_face_camera"
    assert dataset.dataset_name == "face_camera"
    assert dataset.genealogy == ("m", "S1", "R1", "face_camera")
    built = Dataset(path="x", dataset_type="camera", genealogy=["m", "cam"])
    assert built.name == "m_cam"


def test_constructor_checks():
    assert not Dataset(path="x", is_raw="no", dataset_type="a").is_raw
    assert Dataset(path="x", is_raw="yes", dataset_type="a").is_raw
    with pytest.raises(DatasetError, match="is_raw"):
        Dataset(path="x", is_raw="maybe")
    with pytest.raises(DatasetError, match="path"):
        Dataset(path=None)
    with pytest.raises(DatasetError, match="cannot be extra attributes"):
        Dataset(path="x", extra_attributes={"genealogy": [], "id": 3})
    with pytest.raises(DatasetError, match="scanimage"):
        ScanimageData(path="x", dataset_type="camera")
    assert ScanimageData(path="x").dataset_type == "scanimage"
    assert "CameraData 'c' (camera, processed)" in repr(
        CameraData(path="p", name="c", is_raw=False)
    )


def test_base_dataset_validity(data_config):
    dataset = Dataset(path="demo/nothing", dataset_type="suite2p_rois")
    assert dataset.path_full == data_config["raw"] / "demo" / "nothing"
    assert "does not exist" in dataset.is_valid(return_reason=True)
    dataset.path_full.mkdir(parents=True)
    assert dataset.is_valid()
    assert dataset.associated_files() == []


def test_yaml_format_round_trip(session_folder):
    found = Dataset.from_folder(session_folder / RECORDING)
    for name, dataset in found.items():
        dataset.genealogy = [MOUSE, SESSION, RECORDING, name]
        data = dataset.format(mode="yaml")
        text = yaml.safe_dump(data)
        back = Dataset.from_yaml(yaml.safe_load(text), name=dataset.name)
        assert type(back) is type(dataset)
        assert back.format(mode="yaml") == data
        assert back.name == f"{MOUSE}_{SESSION}_{RECORDING}_{name}"
        assert back.is_valid()
    assert set(data) == {
        "dataset_type",
        "path",
        "is_raw",
        "created",
        "genealogy",
        "extra_attributes",
    }
    assert data["path"] == f"demo/{MOUSE}/{SESSION}/{RECORDING}"
    assert data["is_raw"] == "yes"


def test_from_yaml_unknown_type_and_fields():
    dataset = Dataset.from_yaml({"dataset_type": "deeplabcut", "path": "a/b"}, "dlc")
    assert type(dataset) is Dataset and dataset.name == "dlc"
    with pytest.raises(DatasetError, match="colour"):
        Dataset.from_yaml({"dataset_type": "camera", "path": "a", "colour": 1}, "x")


def test_flexilims_format(session_folder):
    dataset = Dataset.from_folder(session_folder / RECORDING)["overview_zoom1_00001"]
    dataset.genealogy = [MOUSE, SESSION, RECORDING, "overview_zoom1_00001"]
    dataset.origin_id = "a" * 24
    series = dataset.format()
    assert series["name"] == f"{MOUSE}_{SESSION}_{RECORDING}_overview_zoom1_00001"
    assert series["type"] == "dataset"
    assert series["origin_id"] == "a" * 24
    assert series["is_raw"] == "yes"
    assert series["dataset_type"] == "scanimage"
    assert series["genealogy"] == [MOUSE, SESSION, RECORDING, "overview_zoom1_00001"]
    assert series["tif_files"] == dataset.tif_files
    with pytest.raises(AttributeError):
        dataset.format(mode="json")


def test_clean_dictionary_formats_datasets(session_folder):
    found = Dataset.from_folder(session_folder / RECORDING)
    tree = {"recording": {"datasets": found}}
    clean_dictionary_recursively(tree, format_dataset=True)
    camera = tree["recording"]["datasets"]["face_camera"]
    assert camera["dataset_type"] == "camera"
    yaml.safe_dump(tree)
