"""Fixtures of the schema tests: a configured flexiznam folder without database,
and the acquisition folder generator (``tests/flexiznam/acquisition.py``)."""

import sys
from pathlib import Path

import pytest
import yaml

# acquisition.py lives one folder up: make it importable as ``acquisition``.
_GENERATOR_DIR = str(Path(__file__).resolve().parents[1])
if _GENERATOR_DIR not in sys.path:
    sys.path.insert(0, _GENERATOR_DIR)


@pytest.fixture
def data_config(tmp_path, monkeypatch):
    """A config with data roots in tmp_path (no database is opened).

    Returns
    -------
    dict
        ``raw`` and ``processed`` roots (Path), and the config ``folder``.
    """
    folder = tmp_path / "flexiznam_config"
    folder.mkdir()
    roots = {"raw": tmp_path / "raw", "processed": tmp_path / "processed"}
    config = {
        "database_url": f"sqlite:///{tmp_path / 'unused.db'}",
        "data_root": {key: str(value) for key, value in roots.items()},
    }
    (folder / "config.yml").write_text(yaml.safe_dump(config))
    monkeypatch.setenv("FLEXIZNAM_CONFIG_DIR", str(folder))
    return {**roots, "folder": folder}
