"""The flexiznam commands of camp, through click's CliRunner, on the configured
embedded database (SQLite and PostgreSQL)."""

import pytest
import yaml
from camp_setup import MOUSE, PROJECT, SESSION
from click.testing import CliRunner

from flexilims import LocalSession
from flexiznam.camp import load
from flexiznam.cli import cli

DAY = f"{MOUSE}_{SESSION}"


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def local(store, project, config_dir):
    """The in-process session on the database the config names."""
    return LocalSession(store, project_id=project.id, username="tester")


@pytest.fixture
def with_mouse(local):
    attributes = {"genealogy": [MOUSE], "path": f"{PROJECT}/{MOUSE}"}
    return local.post("mouse", MOUSE, attributes, strict_validation=False)


@pytest.fixture
def yaml_file(runner, session_folder, tmp_path):
    path = tmp_path / "acquisition.yml"
    result = runner.invoke(
        cli,
        [
            "create-yaml",
            str(session_folder),
            "--project",
            PROJECT,
            "--origin",
            MOUSE,
            "-o",
            str(path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.output == f"Wrote {path}: 12 entities below {MOUSE}.\n"
    return path


def test_the_commands_are_registered(runner):
    result = runner.invoke(cli, ["--help"])
    for command in ("create-yaml", "check-yaml", "upload", "check-paths"):
        assert command in result.output
    assert "check-names" in result.output


def test_create_yaml_prints_without_output_file(runner, session_folder, acquisition):
    result = runner.invoke(
        cli, ["create-yaml", str(session_folder), "-p", PROJECT, "--origin", MOUSE]
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("# flexiznam acquisition YAML")
    assert yaml.safe_load(result.output) == acquisition


def test_create_yaml_needs_a_folder(runner, tmp_path):
    missing = tmp_path / "nothing"
    arguments = ["create-yaml", str(missing), "-p", "x", "--origin", "m"]
    result = runner.invoke(cli, arguments)
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_create_yaml_folder_clash(runner, raw_root):
    from acquisition import make_microscopy

    sample = raw_root / PROJECT / MOUSE / "brain"
    make_microscopy(sample, name="slice1")
    make_microscopy(sample / "slice1", name="overview")
    arguments = ["create-yaml", str(sample), "-p", "x", "--origin", "m"]
    result = runner.invoke(cli, arguments)
    assert result.exit_code == 1
    assert "is both a folder and a dataset name" in result.output


def test_check_yaml(runner, yaml_file, local):
    offline = runner.invoke(cli, ["check-yaml", str(yaml_file), "--offline"])
    assert offline.exit_code == 0, offline.output
    assert offline.output == f"{yaml_file}: no problem found; 12 entities.\n"
    result = runner.invoke(cli, ["check-yaml", str(yaml_file)])
    assert result.exit_code == 1
    assert f"{yaml_file} has 1 problem(s):" in result.output
    assert "line 5, origin: no entity named PZAH6.4b in the project" in result.output


def test_check_yaml_lists_every_problem(runner, yaml_file, with_mouse):
    data = load(yaml_file).data
    data["children"][SESSION]["attributes"]["bad key"] = 1
    data["children"][SESSION]["children"]["R191500"]["type"] = "unicorn"
    data["children"][SESSION]["children"]["R182159_retinotopy"]["attributes"][
        "recording_type"
    ] = "humpy"
    from flexiznam.camp import write

    write(data, yaml_file)
    result = runner.invoke(cli, ["check-yaml", str(yaml_file)])
    assert result.exit_code == 1
    assert "has 3 problem(s)" in result.output
    assert "S20210513: Save failed. 'bad key' is not a valid attribute" in result.output
    assert "S20210513 > R191500: unknown type 'unicorn'" in result.output
    assert "'humpy' is not a valid value for recording_type" in result.output


def test_check_yaml_with_strict_and_conflicts(runner, yaml_file, with_mouse):
    strict = runner.invoke(cli, ["check-yaml", str(yaml_file), "--strict"])
    assert strict.exit_code == 1
    assert "is not defined in lab settings" in strict.output
    assert runner.invoke(cli, ["upload", str(yaml_file)]).exit_code == 0
    taken = runner.invoke(cli, ["check-yaml", str(yaml_file)])
    assert taken.exit_code == 1 and "has 12 problem(s)" in taken.output
    skip = runner.invoke(cli, ["check-yaml", str(yaml_file), "--conflicts", "skip"])
    assert skip.exit_code == 0, skip.output
    assert "no problem found and the database" in skip.output


def test_upload_and_upload_again(runner, yaml_file, with_mouse, local):
    result = runner.invoke(cli, ["upload", str(yaml_file)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"created  session    {DAY}"
    assert lines[-1] == "created 12, updated 0, skipped 0"
    assert len(local.get("dataset")) == 8
    again = runner.invoke(cli, ["upload", str(yaml_file)])
    assert again.exit_code == 1
    assert f"a session named {DAY} exists already" in again.output
    skip = runner.invoke(cli, ["upload", str(yaml_file), "--conflicts", "skip"])
    assert skip.exit_code == 0
    assert skip.stdout.splitlines()[0] == f"skipped  session    {DAY}"
    arguments = ["upload", str(yaml_file), "-q", "--conflicts", "update"]
    update = runner.invoke(cli, arguments)
    assert update.stdout == "created 0, updated 12, skipped 0\n"
    bad = runner.invoke(cli, ["upload", str(yaml_file), "--conflicts", "append"])
    assert bad.exit_code == 2


def test_upload_refused_by_the_store(runner, yaml_file, with_mouse, local):
    data = load(yaml_file).data
    data["children"][SESSION]["attributes"]["notes"] = "not in the lab settings"
    from flexiznam.camp import write

    write(data, yaml_file)
    result = runner.invoke(cli, ["upload", str(yaml_file), "--strict"])
    assert result.exit_code == 1
    assert "line 7, S20210513: Save failed. 'notes' is not defined" in result.output
    assert "(nothing was written)" in result.output
    assert local.get("session") == []


def test_check_paths(runner, yaml_file, with_mouse, session_folder, raw_root):
    runner.invoke(cli, ["upload", str(yaml_file)])
    clean = runner.invoke(cli, ["check-paths", "--project", PROJECT])
    assert clean.exit_code == 0, clean.output
    assert "every dataset has its data and every folder an entity" in clean.output
    (session_folder / "slide1.czi").unlink()
    (raw_root / PROJECT / "stray").mkdir()
    result = runner.invoke(cli, ["check-paths", "-p", PROJECT])
    assert result.exit_code == 1
    assert f"missing      {DAY}_slide1: " in result.output
    assert f"unreferenced {raw_root / PROJECT / 'stray'}" in result.output
    assert "1 dataset(s) with missing data, 1 folder(s)" in result.output


def test_check_names(runner, with_mouse, local):
    clean = runner.invoke(cli, ["check-names", "--project", PROJECT])
    assert clean.exit_code == 0, clean.output
    assert "every name follows the genealogy convention" in clean.output
    local.post(
        "session",
        "wrong",
        {"genealogy": [MOUSE, "S1"]},
        origin_id=with_mouse["id"],
        strict_validation=False,
    )
    result = runner.invoke(cli, ["check-names", "-p", PROJECT])
    assert result.exit_code == 1
    assert "session    wrong: name should be PZAH6.4b_S1" in result.output
    assert "1 entity to fix." in result.output
