"""Configuration, zero-configuration start and the flexiznam command."""

import pytest
import yaml
from click.testing import CliRunner

from flexilims.connect import open_store
from flexiznam import config
from flexiznam.cli import cli
from flexiznam.errors import ConfigurationError


@pytest.fixture
def fresh_home(tmp_path, monkeypatch):
    """A new user: an empty HOME and no FLEXIZNAM_CONFIG_DIR."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("FLEXIZNAM_CONFIG_DIR", raising=False)
    open_store.cache_clear()
    yield tmp_path
    open_store.cache_clear()


def test_zero_configuration_gives_an_embedded_demo_project(fresh_home):
    import flexiznam.main as flz

    session = flz.get_flexilims_session("demo")
    assert (fresh_home / ".flexiznam" / "flexilims.db").exists()
    assert [p["name"] for p in session.get_project_info()] == ["demo"]
    flz.add_mouse("M1", "demo", flexilims_session=session)
    assert list(flz.get_entities(flexilims_session=session).index) == ["M1"]


def test_unknown_project_names_say_how_to_create_them(fresh_home):
    import flexiznam.main as flz

    with pytest.raises(ConfigurationError, match="flexilims project create lab2"):
        flz.get_flexilims_session("lab2")


def test_config_command_writes_defaults_and_update_keeps_values(fresh_home):
    runner = CliRunner()
    result = runner.invoke(cli, ["config"])
    assert result.exit_code == 0, result.output
    path = fresh_home / ".flexiznam" / "config.yml"
    written = yaml.safe_load(path.read_text())
    assert written["dataset_types"] == config.DEFAULTS["dataset_types"]
    assert "# Folders that dataset paths are relative to" in path.read_text()
    result = runner.invoke(cli, ["config"])
    assert result.exit_code == 1 and "--update" in result.output
    written["data_root"] = {"raw": "/data/raw"}
    del written["colony"]
    path.write_text(yaml.safe_dump(written))
    result = runner.invoke(cli, ["config", "--update"])
    assert result.exit_code == 0 and "colony" in result.output
    updated = yaml.safe_load(path.read_text())
    assert updated["data_root"]["raw"] == "/data/raw"
    assert updated["colony"] == config.DEFAULTS["colony"]


def test_config_dir_can_move_and_bad_yaml_is_reported(tmp_path, monkeypatch):
    monkeypatch.setenv("FLEXIZNAM_CONFIG_DIR", str(tmp_path / "elsewhere"))
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "config.yml").write_text("data_root: [unclosed")
    with pytest.raises(ConfigurationError, match="not valid YAML"):
        config.load_config()
    (tmp_path / "elsewhere" / "config.yml").write_text("flexilims_username: ada\n")
    loaded = config.load_config()
    assert loaded["flexilims_username"] == "ada"
    assert (
        loaded["database_url"] == f"sqlite:///{tmp_path / 'elsewhere' / 'flexilims.db'}"
    )


def test_demo_prints_the_tree_and_runs_twice(fresh_home):
    runner = CliRunner()
    first = runner.invoke(cli, ["demo"])
    assert first.exit_code == 0, first.output
    assert "mouse PZAH6.4b" in first.output
    assert "dataset scanimage_0 (scanimage)" in first.output
    second = runner.invoke(cli, ["demo"])
    assert second.exit_code == 0
    assert second.output == first.output
    tree = runner.invoke(cli, ["tree", "demo"])
    assert "sample slice_01" in tree.output


def write_config(folder, text: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / "config.yml").write_text(text)


def test_unknown_settings_are_named_with_the_closest_known_one(tmp_path, monkeypatch):
    folder = tmp_path / "typos"
    monkeypatch.setenv("FLEXIZNAM_CONFIG_DIR", str(folder))
    write_config(folder, "data_rot: {raw: /x}\ndata_root: {raw: /r, procesed: /p}\n")
    with pytest.warns(UserWarning) as warned:
        loaded = config.load_config()
    messages = [str(warning.message) for warning in warned]
    path = folder / "config.yml"
    assert messages == [
        f"{path}: unknown setting 'data_rot' (did you mean data_root?); it is ignored.",
        f"{path}: unknown setting 'data_root.procesed' (did you mean "
        "data_root.processed?); it is ignored.",
    ]
    assert loaded["data_root"]["raw"] == "/r"


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "data_root: /tmp/x\n",
            "data_root must hold a raw and a processed folder, e.g. data_root: "
            "{raw: /tmp/x/raw, processed: /tmp/x/processed}",
        ),
        ("database_url: /tmp/foo.db\n", "database_url: '/tmp/foo.db' is a path"),
        ("database_url: sqlite:///x.db\n", "is a relative SQLite path"),
        ("flexilims_url: server:8000\n", "flexilims_url 'server:8000' is not a"),
        ("dataset_types: scanimage\n", "dataset_types must be a list of names"),
        ("project_ids: [a, b]\n", "project_ids must be a mapping"),
    ],
)
def test_settings_of_the_wrong_kind_are_refused(tmp_path, monkeypatch, text, message):
    folder = tmp_path / "wrong"
    monkeypatch.setenv("FLEXIZNAM_CONFIG_DIR", str(folder))
    monkeypatch.chdir(tmp_path)
    write_config(folder, text)
    with pytest.raises(ConfigurationError) as refused:
        config.load_config()
    assert str(refused.value).startswith(f"{folder / 'config.yml'}: ")
    assert message in str(refused.value)


def test_empty_settings_take_their_default(tmp_path, monkeypatch):
    folder = tmp_path / "empty"
    monkeypatch.setenv("FLEXIZNAM_CONFIG_DIR", str(folder))
    write_config(folder, "project_ids:\ndataset_types:\n")
    loaded = config.load_config()
    assert loaded["project_ids"] == {}
    assert loaded["dataset_types"] == config.DEFAULTS["dataset_types"]
