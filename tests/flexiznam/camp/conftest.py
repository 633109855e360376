"""Fixtures of the camp tests: generated acquisition folders, their YAML, a
mouse to upload below, and a snapshot of the database."""

import sys
from pathlib import Path

import pytest
import yaml

import flexiznam.main as flz
from flexiznam.camp import create_yaml

# acquisition.py lives one folder up: make it importable as ``acquisition``.
_GENERATOR_DIR = str(Path(__file__).resolve().parents[1])
if _GENERATOR_DIR not in sys.path:
    sys.path.insert(0, _GENERATOR_DIR)

from acquisition import make_session_folder  # noqa: E402
from camp_setup import MOUSE, PROJECT, RECORDINGS, SESSION  # noqa: E402


@pytest.fixture(autouse=True)
def camp_config(request, tmp_path, monkeypatch) -> Path:
    """The flexiznam folder: the database one (``config_dir``) for tests that
    use a database, else a config without database, with the same data roots
    (so that tests of files alone run once, not once per database)."""
    if "config_dir" in request.fixturenames:
        return request.getfixturevalue("config_dir")
    folder = tmp_path / "flexiznam_config"
    folder.mkdir()
    config = {
        "database_url": f"sqlite:///{tmp_path / 'unused.db'}",
        "flexilims_username": "tester",
        "data_root": {
            "raw": str(tmp_path / "raw"),
            "processed": str(tmp_path / "processed"),
        },
    }
    (folder / "config.yml").write_text(yaml.safe_dump(config))
    monkeypatch.setenv("FLEXIZNAM_CONFIG_DIR", str(folder))
    return folder


@pytest.fixture
def raw_root(tmp_path) -> Path:
    """The raw data root of the test config."""
    return tmp_path / "raw"


@pytest.fixture
def session_folder(raw_root) -> Path:
    """``raw/test/PZAH6.4b/S20210513`` with three recordings and a slide image."""
    return make_session_folder(
        raw_root / PROJECT,
        MOUSE,
        SESSION,
        recordings=RECORDINGS,
        datasets=["microscopy"],
    )


@pytest.fixture
def acquisition(session_folder) -> dict:
    """The acquisition description of :func:`session_folder`."""
    return create_yaml(session_folder, PROJECT, MOUSE)


@pytest.fixture
def acquisition_file(session_folder, tmp_path) -> Path:
    """The acquisition YAML file of :func:`session_folder`."""
    path = tmp_path / "acquisition.yml"
    create_yaml(session_folder, PROJECT, MOUSE, outfile=path)
    return path


@pytest.fixture
def mouse(flz_session) -> dict:
    """The mouse the acquisition goes below."""
    return flz.add_entity(
        "mouse",
        MOUSE,
        attributes={"genealogy": [MOUSE], "path": f"{PROJECT}/{MOUSE}"},
        flexilims_session=flz_session,
    )
