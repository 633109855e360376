"""Fixtures of the flexiznam tests: a configured flexiznam folder and a session."""

import pytest
import yaml

from flexilims import LocalSession


@pytest.fixture
def config_dir(tmp_path, monkeypatch, database_url):
    """A flexiznam folder whose config points at the test database and data roots."""
    folder = tmp_path / "flexiznam_config"
    folder.mkdir()
    config = {
        "database_url": database_url,
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
def flz_session(store, project, config_dir):
    """An in-process session on the test project, with flexiznam configured."""
    return LocalSession(store, project_id=project.id, username="tester")
