"""create_yaml: the hierarchy from folder names, the datasets from the files."""

import pytest
from acquisition import make_camera, make_microscopy, make_scanimage, make_visstim
from camp_setup import MOUSE, PROJECT, SESSION

from flexiznam.camp import create_yaml, load
from flexiznam.camp.create import folder_type
from flexiznam.errors import SyncYmlError


def test_a_session_folder(acquisition):
    session = acquisition["children"][SESSION]
    assert session["type"] == "session"
    assert session["path"] == f"{PROJECT}/{MOUSE}/{SESSION}"
    assert session["attributes"] == {"date": "2021-05-13"}
    children = session["children"]
    assert list(children) == [
        "R182159_retinotopy",
        "R190000_sphere",
        "R191500",
        "slide1",
    ]
    retinotopy = children["R182159_retinotopy"]
    assert retinotopy["type"] == "recording"
    assert retinotopy["path"] == f"{PROJECT}/{MOUSE}/{SESSION}/R182159_retinotopy"
    assert retinotopy["attributes"] == {
        "protocol": "retinotopy",
        "recording_type": "two_photon",
        "timestamp": "182159",
    }
    assert sorted(
        (name, node["dataset_type"]) for name, node in retinotopy["children"].items()
    ) == [
        ("R182159_retinotopy_harpmessage", "harp"),
        ("face_camera", "camera"),
        ("overview_zoom1_00001", "scanimage"),
        ("visstim", "visstim"),
    ]
    scanimage = retinotopy["children"]["overview_zoom1_00001"]
    assert scanimage["path"] == retinotopy["path"]
    assert scanimage["is_raw"] == "yes"
    assert scanimage["extra_attributes"]["zoom"] == 2
    assert "genealogy" not in scanimage
    behaviour = children["R191500"]["attributes"]
    assert behaviour == {
        "protocol": "",
        "recording_type": "behaviour",
        "timestamp": "191500",
    }
    assert children["slide1"]["dataset_type"] == "microscopy"
    assert children["slide1"]["path"] == f"{PROJECT}/{MOUSE}/{SESSION}/slide1.czi"


def test_writes_the_file(session_folder, tmp_path, acquisition):
    path = tmp_path / "out.yml"
    data = create_yaml(session_folder, PROJECT, MOUSE, outfile=path)
    assert load(path).data == data == acquisition


def test_the_origin_folder_holds_the_children(raw_root, session_folder):
    make_microscopy(raw_root / PROJECT / MOUSE / "brain", name="section1")
    data = create_yaml(raw_root / PROJECT / MOUSE, PROJECT, MOUSE, origin_type="mouse")
    assert data["origin_type"] == "mouse"
    assert list(data["children"]) == ["S20210513", "brain"]
    brain = data["children"]["brain"]
    assert brain["type"] == "sample"
    assert brain["children"]["section1"]["dataset_type"] == "microscopy"


def test_a_recording_folder_alone(session_folder):
    data = create_yaml(session_folder / "R190000_sphere", PROJECT, MOUSE)
    assert list(data["children"]) == ["R190000_sphere"]
    assert data["children"]["R190000_sphere"]["type"] == "recording"


def test_samples_of_samples(raw_root):
    slices = raw_root / PROJECT / MOUSE / "brain" / "slice1"
    make_microscopy(slices, name="overview", extension=".png")
    data = create_yaml(raw_root / PROJECT / MOUSE / "brain", PROJECT, MOUSE)
    brain = data["children"]["brain"]
    assert brain["type"] == "sample"
    assert brain["children"]["slice1"]["type"] == "sample"
    assert brain["children"]["slice1"]["children"]["overview"]["path"] == (
        f"{PROJECT}/{MOUSE}/brain/slice1/overview.png"
    )


def test_other_folders_of_a_recording_add_datasets(session_folder):
    recording = session_folder / "R190000_sphere"
    make_camera(recording / "behaviour", camera="body_camera")
    make_visstim(recording / "behaviour" / "stimulus")
    (recording / ".hidden").mkdir()
    make_camera(recording / ".hidden", camera="ignored")
    data = create_yaml(recording, PROJECT, MOUSE)
    children = data["children"]["R190000_sphere"]["children"]
    assert "behaviour_body_camera" in children
    assert children["behaviour_body_camera"]["path"].endswith(
        "R190000_sphere/behaviour"
    )
    assert children["behaviour_stimulus_visstim"]["dataset_type"] == "visstim"
    assert not any("ignored" in name for name in children)


def test_a_dataset_that_is_a_folder_is_not_walked(session_folder, monkeypatch):
    from flexiznam.schema import Dataset

    recording = session_folder / "R191500"
    make_scanimage(recording / "stack", stem="stack")
    original = Dataset.from_folder.__func__

    def from_folder(cls, folder, verbose=False):
        found = original(cls, folder, verbose)
        if folder.name == "R191500":  # claim the subfolder as a dataset
            extra = original(cls, folder / "stack", verbose)
            for dataset in extra.values():
                found[f"stack_{dataset.name}"] = dataset
        return found

    monkeypatch.setattr(Dataset, "from_folder", classmethod(from_folder))
    children = create_yaml(recording, PROJECT, MOUSE)["children"]["R191500"]["children"]
    assert "stack_stack_00001" in children
    assert "stack_stack_stack_00001" not in children


def test_clash_between_a_folder_and_a_dataset(raw_root):
    sample = raw_root / PROJECT / MOUSE / "brain"
    make_microscopy(sample, name="slice1")
    make_microscopy(sample / "slice1", name="overview")
    with pytest.raises(SyncYmlError, match="slice1 is both a folder and a dataset"):
        create_yaml(sample, PROJECT, MOUSE)


def test_not_a_folder(tmp_path):
    with pytest.raises(SyncYmlError, match="is not a folder"):
        create_yaml(tmp_path / "nothing", PROJECT, MOUSE)


def test_folders_outside_the_data_root_keep_absolute_paths(tmp_path):
    folder = tmp_path / "acquisition_pc" / SESSION
    make_microscopy(folder, name="slide")
    data = create_yaml(folder, PROJECT, MOUSE)
    session = data["children"][SESSION]
    assert session["path"] == folder.as_posix()
    assert session["children"]["slide"]["path"] == (folder / "slide.czi").as_posix()


@pytest.mark.parametrize(
    "name, parent, kind",
    [
        ("S20210420", "mouse", "session"),
        ("R152356_retinotopy", "session", "recording"),
        ("R152356", "session", "recording"),
        ("brain", "mouse", "sample"),
        ("brain", "sample", "sample"),
        ("misc", "session", "datasets"),
        ("misc", "recording", "datasets"),
        ("S2021", "mouse", "sample"),
    ],
)
def test_folder_types(name, parent, kind):
    assert folder_type(name, parent) == kind
