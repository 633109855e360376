"""Data roots per project (get_data_root, project_paths) and lookup_project."""

from pathlib import Path

import pytest

import flexiznam.main as flz
from flexiznam.errors import ConfigurationError
from flexiznam.schema import Dataset, ScanimageData


@pytest.fixture
def own_roots(tmp_path, set_config):
    """Project ``test`` keeps its data on its own disk."""
    roots = {
        "raw": str(tmp_path / "disk2" / "raw"),
        "processed": str(tmp_path / "disk2" / "processed"),
    }
    set_config(project_paths={"test": roots})
    return {key: Path(value) for key, value in roots.items()}


def default_roots(tmp_path):
    return {"raw": tmp_path / "raw", "processed": tmp_path / "processed"}


@pytest.mark.parametrize("which", ["Raw", "derived", "", None])
def test_get_data_root_refuses_other_kinds(config_dir, which):
    with pytest.raises(ValueError, match="'raw' or 'processed'"):
        flz.get_data_root(which, project="test")


def test_without_project_paths_every_project_uses_data_root(config_dir, tmp_path):
    for project in (None, "test", "other", "a" * 24):
        assert flz.get_data_root("raw", project=project) == tmp_path / "raw"
        assert flz.get_data_root("processed", project) == tmp_path / "processed"


def test_a_project_of_project_paths_has_its_own_roots(
    config_dir, tmp_path, own_roots, flz_session, requests_of
):
    sent = requests_of(flz_session)
    assert flz.get_data_root("raw", project="test") == own_roots["raw"]
    assert flz.get_data_root("processed", "test") == own_roots["processed"]
    assert flz.get_data_root("raw", project="other") == default_roots(tmp_path)["raw"]
    assert sent == []
    # The session's project, given by id: named by the session, asked once.
    assert flz.get_data_root("raw", flexilims_session=flz_session) == own_roots["raw"]
    assert (
        flz.get_data_root(
            "processed", project=flz_session.project_id, flexilims_session=flz_session
        )
        == own_roots["processed"]
    )
    assert sent == [("GET", "projects")]


def test_project_ids_of_the_config_name_projects_without_a_request(
    config_dir, own_roots, flz_session, set_config, requests_of
):
    set_config(project_ids={"test": flz_session.project_id})
    sent = requests_of(flz_session)
    root = flz.get_data_root("raw", project=flz_session.project_id)
    assert root == own_roots["raw"]
    assert flz.get_data_root("raw", flexilims_session=flz_session) == root
    assert sent == []


def test_an_id_without_a_session_opens_one_on_the_project(
    config_dir, tmp_path, own_roots, store, project
):
    # The embedded database of the config holds project ``test``.
    assert flz.get_data_root("raw", project=project.id) == own_roots["raw"]
    unknown = "0123456789abcdef01234567"
    with pytest.raises(ConfigurationError, match="No project named"):
        flz.get_data_root("raw", project=unknown)


def test_a_project_without_one_of_its_roots_is_a_configuration_error(
    config_dir, set_config
):
    set_config(project_paths={"test": {"raw": "/elsewhere/raw"}})
    assert flz.get_data_root("raw", "test") == Path("/elsewhere/raw")
    with pytest.raises(ConfigurationError, match="processed: /path/to/processed"):
        flz.get_data_root("processed", "test")


def test_dataset_path_full_uses_its_projects_roots(
    config_dir, tmp_path, own_roots, flz_session
):
    mine = Dataset(path="M/S/scan", is_raw=False, dataset_type="scanimage")
    mine.project = "test"
    assert mine.path_full == own_roots["processed"] / "M/S/scan"
    by_session = ScanimageData(path="M/S/scan", flexilims_session=flz_session)
    assert by_session.path_full == own_roots["raw"] / "M/S/scan"
    other = ScanimageData(path="M/S/scan", project="other")
    assert other.path_full == tmp_path / "raw" / "M/S/scan"
    outside = ScanimageData(path="/mnt/scan", project="test")
    assert outside.path_full == Path("/mnt/scan")


def test_datasets_found_under_a_projects_root_belong_to_it(
    config_dir, own_roots, tmp_path
):
    folder = own_roots["raw"] / "M1" / "S1"
    folder.mkdir(parents=True)
    (folder / "notes.txt").write_text("x")
    (folder / "image.png").write_bytes(b"")
    found = Dataset.from_folder(folder)
    assert found, "the microscopy image is detected"
    for dataset in found.values():
        assert not dataset.path.is_absolute()
        assert dataset.path.parts[:2] == ("M1", "S1")
        assert dataset.project == "test"
        assert dataset.path_full.parent == folder


def test_get_datasets_resolves_against_the_projects_roots(
    config_dir, own_roots, flz_session
):
    flz.add_mouse("M1", "test", flexilims_session=flz_session)
    day = flz.add_experimental_session(
        "M1", "2021-04-20", flexilims_session=flz_session
    )
    recording = flz.add_recording(
        day["id"], "two_photon", "retinotopy", flexilims_session=flz_session
    )
    flz.add_dataset(
        recording["id"],
        "scanimage",
        "2021-04-20 10:00:00",
        "M1/scan",
        flexilims_session=flz_session,
    )
    flz.add_dataset(
        recording["id"],
        "suite2p_rois",
        "2021-04-20 10:00:00",
        "M1/rois",
        is_raw="no",
        flexilims_session=flz_session,
    )
    paths = flz.get_datasets(day["id"], flexilims_session=flz_session)
    assert paths == {
        recording["name"]: [
            str(own_roots["raw"] / "M1/scan"),
            str(own_roots["processed"] / "M1/rois"),
        ]
    }


# ------------------------------------------------------------ lookup_project


def test_lookup_project_names_an_id_from_the_settings_given():
    settings = {"project_ids": {"lab": "a" * 24, "other": "b" * 24}}
    assert flz.lookup_project("b" * 24, prm=settings) == "other"
    assert flz.lookup_project("c" * 24, prm=settings) is None
    assert flz.lookup_project("lab", prm=settings) is None
    assert flz.lookup_project("a" * 24, prm={}) is None
    assert flz.lookup_project("a" * 24, prm={"project_ids": None}) is None


def test_lookup_project_reads_the_loaded_config_by_default(config_dir, set_config):
    assert flz.lookup_project("a" * 24) is None
    set_config(project_ids={"lab": "a" * 24})
    assert flz.lookup_project("a" * 24) == "lab"
    assert flz.lookup_project("a" * 24, prm={}) is None
