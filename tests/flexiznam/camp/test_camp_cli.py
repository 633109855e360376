"""The flexiznam commands of camp, through click's CliRunner, with the user's
config: the embedded database and a real server (SQLite and PostgreSQL)."""

import json
import os
import signal

import pytest
import yaml
from camp_setup import MOUSE, PROJECT, SESSION
from click.testing import CliRunner

import flexilims
from flexiznam.camp import load, write
from flexiznam.cli import cli

DAY = f"{MOUSE}_{SESSION}"


def ok(result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def fails(result, message: str) -> None:
    assert result.exit_code == 1, result.output
    assert message in result.output, result.output
    assert "Traceback" not in result.output


@pytest.fixture
def with_mouse(flz_session):
    attributes = {"genealogy": [MOUSE], "path": f"{PROJECT}/{MOUSE}"}
    return flz_session.post("mouse", MOUSE, attributes, strict_validation=False)


@pytest.fixture
def yaml_file(flz_cli, with_mouse, session_folder, tmp_path):
    path = tmp_path / "acquisition.yml"
    arguments = ["-p", PROJECT, "--origin", MOUSE, "-o", path]
    output = ok(flz_cli("create-yaml", session_folder, *arguments))
    assert output == f"Wrote {path}: 12 entities below {MOUSE}.\n"
    return path


def test_the_commands_are_registered():
    result = CliRunner().invoke(cli, ["--help"])
    for command in ("create-yaml", "check-yaml", "upload", "check-paths"):
        assert command in result.output
    assert "check-names" in result.output


def test_create_yaml_prints_without_output_file(
    flz_cli, with_mouse, session_folder, acquisition
):
    output = ok(
        flz_cli("create-yaml", session_folder, "-p", PROJECT, "--origin", MOUSE)
    )
    assert output.startswith("# flexiznam acquisition YAML")
    assert yaml.safe_load(output) == acquisition


def test_create_yaml_needs_a_folder(tmp_path):
    missing = tmp_path / "nothing"
    arguments = ["create-yaml", str(missing), "-p", "x", "--origin", "m"]
    result = CliRunner().invoke(cli, arguments)
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_create_yaml_folder_clash(raw_root):
    from acquisition import make_microscopy

    sample = raw_root / PROJECT / MOUSE / "brain"
    make_microscopy(sample, name="slice1")
    make_microscopy(sample / "slice1", name="overview")
    arguments = ["create-yaml", str(sample), "-p", "x", "--origin", "m"]
    fails(CliRunner().invoke(cli, arguments), "is both a folder and a dataset name")


def test_create_yaml_refuses_an_origin_that_does_not_exist(
    flz_cli, with_mouse, session_folder, tmp_path
):
    path = tmp_path / "day.yml"
    result = flz_cli(
        "create-yaml", session_folder, "-p", PROJECT, "--origin", "PZAH6.4", "-o", path
    )
    fails(result, "no entity named PZAH6.4 in the project; add it first")
    assert "(project test, --origin PZAH6.4)" in result.output
    assert not path.exists()


def test_create_yaml_does_not_overwrite_without_force(
    yaml_file, flz_cli, session_folder
):
    yaml_file.write_text(yaml_file.read_text() + "# my notes\n")
    edited = yaml_file.read_text()
    arguments = [session_folder, "-p", PROJECT, "--origin", MOUSE, "-o", yaml_file]
    fails(flz_cli("create-yaml", *arguments), "exists already (edited by hand?)")
    assert yaml_file.read_text() == edited
    ok(flz_cli("create-yaml", *arguments, "--force"))
    assert "# my notes" not in yaml_file.read_text()


def test_check_yaml(flz_cli, yaml_file, flz_session):
    offline = ok(flz_cli("check-yaml", yaml_file, "--offline"))
    assert offline == (
        f"{yaml_file}: no problem found (checked the file and its data, not the "
        "database); 12 entities to upload.\n"
    )
    assert ok(flz_cli("check-yaml", yaml_file)) == (
        f"{yaml_file}: no problem found (checked the file, its data and the "
        "database); 12 entities to upload.\n"
    )
    flz_session.delete(flz_session.get("mouse", name=MOUSE)[0]["id"])
    result = flz_cli("check-yaml", yaml_file)
    fails(result, f"{yaml_file} has 1 problem(s):")
    assert "line 5, origin: no entity named PZAH6.4b in the project" in result.output


def test_check_yaml_lists_every_problem(flz_cli, yaml_file):
    data = load(yaml_file).data
    session = data["children"][SESSION]
    session["children"]["R190000_sphere"]["attributes"]["bad key"] = 1
    session["attributes"]["date"] = "2021-13-45"
    session["children"]["R191500"]["type"] = "unicorn"
    session["children"]["R182159_retinotopy"]["attributes"]["recording_type"] = "humpy"
    dataset = next(
        node for node in session["children"].values() if node["type"] == "dataset"
    )
    dataset["created"] = "yesterday"
    write(data, yaml_file)
    result = flz_cli("check-yaml", yaml_file)
    fails(result, "has 5 problem(s)")
    assert "S20210513: date '2021-13-45' is not a date" in result.output
    assert "created 'yesterday' is not a date and time" in result.output
    assert "R190000_sphere: Save failed. 'bad key' is not a valid attribute" in (
        result.output
    )
    assert "S20210513 > R191500: unknown type 'unicorn'" in result.output
    assert "'humpy' is not a valid value for recording_type" in result.output


def test_check_yaml_with_strict_and_conflicts(flz_cli, yaml_file):
    fails(
        flz_cli("check-yaml", yaml_file, "--strict"), "is not defined in lab settings"
    )
    ok(flz_cli("upload", yaml_file))
    fails(flz_cli("check-yaml", yaml_file), "has 12 problem(s)")
    assert "no problem found" in ok(
        flz_cli("check-yaml", yaml_file, "--conflicts", "skip")
    )


def test_upload_ends_with_a_summary_per_type(flz_cli, yaml_file, flz_session):
    """One progress bar (on standard error) over preparing, sending and
    committing, then a summary per type (a line per entity with --verbose)."""
    result = flz_cli("upload", yaml_file)
    ok(result)
    assert result.stdout.splitlines() == [
        "type      created updated skipped",
        "session         1       0       0",
        "recording       3       0       0",
        "dataset         8       0       0",
        f"Uploaded {yaml_file}: created 12, updated 0, skipped 0.",
    ]
    assert len(flz_session.get("dataset")) == 8
    frames = [frame for frame in result.stderr.split("\r") if frame.strip()]
    stages = [frame.split(":")[0] for frame in frames]
    assert list(dict.fromkeys(stages)) == [
        "Preparing upload",
        "Sending and committing",
    ], result.stderr
    assert all("/24 " in frame for frame in frames), result.stderr
    fails(flz_cli("upload", yaml_file), f"a session named {DAY} exists already")
    verbose = flz_cli("upload", yaml_file, "--conflicts", "skip", "--verbose")
    lines = ok(verbose) and verbose.stdout.splitlines()
    assert lines[0].split() == ["status", "type", "name", "id"]
    assert lines[1].split()[:3] == ["skipped", "session", DAY]
    assert len(lines) == 14
    update = flz_cli("upload", yaml_file, "-q", "--conflicts", "update")
    assert ok(update) and update.stdout == "created 0, updated 12, skipped 0\n"
    assert flz_cli("upload", yaml_file, "--conflicts", "append").exit_code == 2


def test_upload_refused_by_the_store(flz_cli, yaml_file, flz_session, store, snapshot):
    data = load(yaml_file).data
    data["children"][SESSION]["attributes"]["notes"] = "not in the lab settings"
    write(data, yaml_file)
    before = snapshot(store)
    result = flz_cli("upload", yaml_file, "--strict")
    fails(result, "line 7, S20210513: Save failed. 'notes' is not defined")
    assert "(nothing was written)" in result.output
    assert "If you have 'null' values" not in result.output
    assert snapshot(store) == before


def interrupt_batches(monkeypatch, when: str) -> None:
    """Ctrl-C while a batch is sent (``during``), or as its reply comes back
    (``after``): a real SIGINT to this process; or a second Ctrl-C while it
    is sent (``forced``). The in-process session and the HTTP client alike."""
    for cls in (flexilims.LocalSession, flexilims.Flexilims):
        send = cls.request

        def interrupted(
            self, method, operation, params, body=None, headers=None, send=send
        ):
            if operation != "batch" or params.get("dry_run"):
                return send(self, method, operation, params, body, headers)
            if when == "forced":
                raise KeyboardInterrupt
            if when == "during":
                os.kill(os.getpid(), signal.SIGINT)
            reply = send(self, method, operation, params, body, headers)
            if when == "after":
                os.kill(os.getpid(), signal.SIGINT)
            return reply

        monkeypatch.setattr(cls, "request", interrupted)


@pytest.mark.parametrize("when", ["during", "after"])
def test_an_upload_interrupted_once_still_commits_and_says_so(
    flz_cli, yaml_file, flz_session, monkeypatch, when
):
    interrupt_batches(monkeypatch, when)
    result = flz_cli("upload", yaml_file)
    assert result.exit_code == 0, result.output
    assert "Aborted!" not in result.output
    assert "Ctrl-C: the upload is finishing (it is all or nothing)" in result.output
    assert result.output.endswith(
        f"Interrupted after the upload was committed: everything in {yaml_file} "
        "was written.\n"
    )
    assert len(flz_session.get("dataset")) == 8


def test_an_upload_interrupted_before_its_commit_says_so(
    flz_cli, yaml_file, store, snapshot, monkeypatch
):
    before = snapshot(store)
    # The handler the upload found, given back after it (Python's own, or
    # SIG_IGN in a shell's background job).
    handler = signal.getsignal(signal.SIGINT)
    interrupt_batches(monkeypatch, "forced")
    result = flz_cli("upload", yaml_file)
    fails(result, "Interrupted before the database confirmed the upload.")
    assert f"`flexiznam upload {yaml_file} --conflicts skip`" in result.output
    assert snapshot(store) == before
    assert signal.getsignal(signal.SIGINT) is handler


def test_check_paths(flz_cli, yaml_file, session_folder, raw_root):
    ok(flz_cli("upload", yaml_file))
    clean = ok(flz_cli("check-paths", "--project", PROJECT))
    assert "every dataset has its data and every folder an entity" in clean
    (session_folder / "slide1.czi").unlink()
    (raw_root / PROJECT / "stray").mkdir()
    result = flz_cli("check-paths", "-p", PROJECT)
    fails(result, f"missing      {DAY}_slide1: ")
    assert f"unreferenced {raw_root / PROJECT / 'stray'}" in result.output
    assert "1 dataset(s) with missing data, 1 folder(s)" in result.output


def test_check_paths_as_json_and_csv(flz_cli, yaml_file, session_folder, raw_root):
    ok(flz_cli("upload", yaml_file))
    clean = flz_cli("check-paths", "-p", PROJECT, "--json")
    assert clean.stdout == "[]\n", clean.output
    (session_folder / "slide1.czi").unlink()
    (raw_root / PROJECT / "stray").mkdir()
    result = flz_cli("check-paths", "-p", PROJECT, "--json")
    assert result.exit_code == 1
    rows = json.loads(result.stdout)
    assert [(row["problem"], row["name"]) for row in rows] == [
        ("missing", f"{DAY}_slide1"),
        ("unreferenced", None),
    ]
    assert rows[1]["path"] == str(raw_root / PROJECT / "stray")
    csv = flz_cli("check-paths", "-p", PROJECT, "--csv")
    assert csv.exit_code == 1
    assert csv.stdout.splitlines()[0] == "problem,name,id,path,reason"
    assert "1 dataset(s) with missing data" in csv.stderr


def test_check_paths_says_when_the_data_root_is_missing(
    flz_cli, yaml_file, set_config, tmp_path
):
    ok(flz_cli("upload", yaml_file))
    missing = tmp_path / "elsewhere" / "raw"
    set_config(data_root={"raw": str(missing), "processed": str(tmp_path)})
    result = flz_cli("check-paths", "-p", PROJECT)
    fails(result, f"The raw data root {missing} does not exist: set data_root in")
    assert "missing " not in result.output


def test_check_names(flz_cli, with_mouse, flz_session):
    clean = ok(flz_cli("check-names", "--project", PROJECT))
    assert "every name follows the genealogy convention" in clean
    flz_session.post(
        "session",
        "wrong",
        {"genealogy": [MOUSE, "S1"]},
        origin_id=with_mouse["id"],
        strict_validation=False,
    )
    result = flz_cli("check-names", "-p", PROJECT)
    fails(result, "session    wrong: name should be PZAH6.4b_S1")
    assert "1 entity to fix." in result.output
    listed = flz_cli("check-names", "-p", PROJECT, "--json")
    assert listed.exit_code == 1
    rows = json.loads(listed.stdout)
    assert {row["name"] for row in rows} == {"wrong"}
    assert rows[0]["problem"].startswith("name should be PZAH6.4b_S1")
