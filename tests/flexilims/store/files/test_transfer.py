"""Migration: ``flexilims import`` / ``export`` of the nested Flexilims JSON."""

import copy
import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from flexilims import BadRequest
from flexilims.cli import cli
from flexilims.store import Actor, EntityQuery, Store, now_ms
from flexilims.store import models as m
from flexilims.store.accounts import Accounts
from flexilims.store.files.transfer import export_project, import_project
from flexilims.writes import is_hex_id

JANE = Actor(username="jane", full_name="Jane Doe", is_admin=True)
HEX = "6094f7212597df357fa24a8"  # + one hex digit


@pytest.fixture
def empty_database(request):
    """``empty_database(url)`` of ``tests/conftest.py`` (whose module name
    ``conftest`` is shadowed here by ``tests/flexilims/conftest.py``)."""
    root = request.config.rootpath / "tests" / "conftest.py"
    for plugin in request.config.pluginmanager.get_plugins():
        if Path(getattr(plugin, "__file__", None) or "") == root:
            return plugin.empty_database
    raise LookupError(f"{root} is not loaded")


def everything(store) -> dict:
    """Every project, entity, link and attribute index row, and the counters."""
    with store.read() as conn:
        return {
            name: sorted(tuple(row) for row in conn.execute(sa.select(table)))
            for name, table in (
                ("projects", m.projects),
                ("entities", m.entities),
                ("links", m.entity_links),
                ("index", m.attribute_values),
            )
        }


def save(store, project, datatype, name, attributes=None, origin=None, links=None):
    return store.save(
        JANE,
        datatype=datatype,
        name=name,
        project_id=project.id,
        attributes=attributes or {},
        origin_id=origin["id"] if origin else None,
        other_relations=[link["id"] for link in links or []],
    )


@pytest.fixture
def lab(store, project):
    """A project with every kind of field the format carries."""
    mouse = save(
        store,
        project,
        "mouse",
        "M1",
        {
            "sex": "F",
            "genealogy": ["M1"],
            "nested": {"a": [1, [], {"t": []}], "b": {}},
            "count": 3,
            "ratio": 0.5,
            "alive": False,
            "note": "",
            "unicode": "souris é ✓",
        },
    )
    store.update_one(
        JANE, datatype="mouse", entity_id=mouse["id"], attributes={"CamelKey": 1}
    )
    session = save(store, project, "session", "M1_S1", {"date": "2021"}, mouse)
    twin = save(store, project, "sample", "M1_S1", {}, mouse)
    recording = save(
        store, project, "recording", "R1", {"recording_type": "two_photon"}, session
    )
    save(store, project, "dataset", "D1", {"path": "a/b"}, recording)
    brain = save(store, project, "sample", "brain", {"sample_type": "brain"}, mouse)
    piece = save(store, project, "sample", "slice", {}, brain)
    save(
        store,
        project,
        "dataset",
        "D2",
        {"path": "c", "is_raw": "yes"},
        piece,
        links=[mouse, twin],
    )
    save(store, project, "mouse", "M2 é", {"genealogy": ["M2"]})
    other = Accounts(store).create_project("other")
    save(store, other, "mouse", "M1")
    return project


def walk(dump: dict):
    """Every entity of a dump with its path."""
    stack = [(key, value) for key, value in dump.items()]
    while stack:
        path, entity = stack.pop()
        yield path, entity
        stack.extend((f"{path} > {k}", v) for k, v in entity["children"].items())


# ------------------------------------------------------------- round trip


def test_export_is_the_nested_format(store, lab):
    dump = export_project(store, "test")
    assert list(dump) == ["M1", "M2 é"]
    mouse = dump["M1"]
    assert list(mouse) == [
        "id",
        "type",
        "name",
        "incrementalId",
        "attributes",
        "createdBy",
        "dateCreated",
        "dateUpdated",
        "project",
        "origin_id",
        "customEntities",
        "children",
    ]
    assert list(mouse["children"]) == ["M1_S1", "M1_S1 (sample)", "brain"]
    assert mouse["children"]["M1_S1 (sample)"]["name"] == "M1_S1"
    assert mouse["attributes"]["nested"] == {"a": [1, None, {"t": None}], "b": None}
    assert mouse["attributes"]["CamelKey"] == 1
    assert mouse["dateUpdated"] > mouse["dateCreated"]
    assert mouse["createdBy"] == "Jane Doe"
    assert mouse["incrementalId"] == "MOUSE0000001"
    dataset = mouse["children"]["brain"]["children"]["slice"]["children"]["D2"]
    assert sorted(dataset["customEntities"]) == sorted(
        [mouse["id"], mouse["children"]["M1_S1 (sample)"]["id"]]
    )
    assert dataset["origin_id"] == mouse["children"]["brain"]["children"]["slice"]["id"]
    assert all(e["project"] == lab.id for _, e in walk(dump))
    assert len(list(walk(dump))) == 9
    with pytest.raises(BadRequest, match="No project named 'nope'"):
        export_project(store, "nope")


def test_export_then_import_into_an_empty_database_is_field_for_field(
    database_url, store, lab, empty_database
):
    before = everything(store)
    before["projects"] = [p for p in before["projects"] if p[1] == "test"]
    before["entities"] = [e for e in before["entities"] if e[1] == lab.id]
    before["index"] = [r for r in before["index"] if r[2] == lab.id]
    dump = export_project(store, "test")
    text = json.dumps(dump)
    store.engine.dispose()
    empty_database(database_url)
    fresh = Store.open(database_url)
    try:
        summary = import_project(fresh, json.loads(text), "test", progress=False)
        assert summary == {
            "project": "test",
            "project_id": lab.id,
            "project_created": True,
            "entities": 9,
            "by_type": {"mouse": 2, "session": 1, "sample": 3, "recording": 1}
            | {"dataset": 2},
            "links": 2,
            "defaults": {},
            "nans": 0,
        }
        after = everything(fresh)
        # The project's creation date is the import's; everything else is kept.
        assert [p[:2] for p in after["projects"]] == [p[:2] for p in before["projects"]]
        for table in ("entities", "links", "index"):
            assert after[table] == before[table], table
        assert export_project(fresh, "test") == dump
        replies = fresh.get(JANE, EntityQuery(project_id=lab.id, type="mouse"))
        assert [r["name"] for r in replies] == ["M1", "M2 é"]
        # Later saves do not reuse the kept incremental ids.
        project = Accounts(fresh).project("test")
        assert save(fresh, project, "mouse", "M3")["incrementalId"] == "MOUSE0000003"
        assert save(fresh, project, "sample", "s")["incrementalId"] == "SAMPLE0000004"
    finally:
        fresh.engine.dispose()


def test_an_origin_loop_is_exported_but_not_imported(
    database_url, store, project, empty_database, snapshot
):
    """A database may hold a loop of parents made by another server: export
    writes it (one entity of the loop as a root that keeps its origin_id), and
    import refuses it, naming the entity: no write path makes a loop."""
    first = save(store, project, "sample", "a")
    second = save(store, project, "sample", "b", origin=first)
    with store.write() as conn:
        conn.execute(
            sa.update(m.entities)
            .where(m.entities.c.id == first["id"])
            .values(origin_id=second["id"])
        )
    dump = export_project(store, "test")
    assert len(list(walk(dump))) == 2
    store.engine.dispose()
    empty_database(database_url)
    fresh = Store.open(database_url)
    try:
        before = snapshot(fresh)
        with pytest.raises(BadRequest, match="makes a loop of parents") as error:
            import_project(fresh, dump, "test", progress=False)
        assert error.value.message.startswith("Import failed at a: origin_id ")
        assert snapshot(fresh) == before
    finally:
        fresh.engine.dispose()


def test_nan_of_pandas_dumps_is_read_as_null(store, project):
    """The Flexilims client writes dumps through pandas: every root has
    ``"origin_id": NaN``, and attributes may hold NaN."""
    text = (
        '{"M1": {"type": "mouse", "origin_id": NaN, "project": NaN, '
        '"attributes": {"weight": NaN, "scores": [1, NaN], "x": {"y": NaN}}, '
        '"children": {"S1": {"type": "session", "origin_id": NaN}}}, '
        '"M2": {"type": "mouse", "origin_id": "nan", "customEntities": NaN}}'
    )
    summary = import_project(store, json.loads(text), "test", progress=False)
    assert summary["entities"] == 3 and summary["nans"] == 6
    exported = export_project(store, "test")
    mouse = exported["M1"]
    assert mouse["origin_id"] is None and exported["M2"]["origin_id"] is None
    assert mouse["attributes"] == {
        "weight": None,
        "scores": [1, None],
        "x": {"y": None},
    }
    assert mouse["children"]["S1"]["origin_id"] == mouse["id"]


# --------------------------------------------------------------- defaults


def test_missing_fields_get_defaults(store, project):
    save(store, project, "mouse", "existing")
    start = now_ms()
    dump = {
        "M9": {
            "type": "mouse",
            "attributes": {"genealogy": [], "x": {"y": []}},
            "children": {
                "S": {"type": "session", "incrementalId": "SESSION0000041"},
            },
        },
        "kept": {"type": "mouse", "incrementalId": "MOUSE0000007"},
    }
    summary = import_project(store, dump, "test", progress=False, created_by="Importer")
    assert summary["project_created"] is False
    assert summary["defaults"] == {
        "id": 3,
        "dateCreated": 3,
        "dateUpdated": 3,
        "createdBy": 3,
        "incrementalId": 1,
    }
    exported = export_project(store, "test")
    mouse = exported["M9"]
    assert is_hex_id(mouse["id"]) and mouse["name"] == "M9"
    assert mouse["createdBy"] == "Importer"
    assert start <= mouse["dateCreated"] == mouse["dateUpdated"] <= now_ms()
    assert mouse["attributes"] == {"genealogy": None, "x": {"y": None}}
    # The counter was raised past the kept MOUSE0000007 before numbering M9.
    assert mouse["incrementalId"] == "MOUSE0000008"
    assert mouse["children"]["S"]["origin_id"] == mouse["id"]
    assert save(store, project, "mouse", "next")["incrementalId"] == "MOUSE0000009"
    assert save(store, project, "session", "n", origin=mouse)["incrementalId"] == (
        "SESSION0000042"
    )


def test_a_new_project_keeps_the_dump_project_id(store):
    dump = {"M": {"type": "mouse", "project": HEX + "1", "dateCreated": 5}}
    summary = import_project(store, dump, "from-flexilims", progress=False)
    assert summary["project_id"] == HEX + "1" and summary["project_created"]
    assert export_project(store, HEX + "1")["M"]["dateUpdated"] == 5
    # Imported again under another name, the id is taken: the project gets a new one.
    dump["M"]["id"] = HEX + "2"
    again = import_project(store, dump, "copy", progress=False)
    assert again["project_id"] != HEX + "1"


def test_roots_may_hang_under_existing_entities_and_link_to_them(store, project):
    mouse = save(store, project, "mouse", "M1")
    dump = {
        "S1": {
            "type": "session",
            "origin_id": mouse["id"],
            "customEntities": [mouse["id"]],
            "children": {"R1": {"type": "recording", "customEntities": [HEX + "3"]}},
        },
        "M2": {"type": "mouse", "id": HEX + "3"},
    }
    summary = import_project(store, dump, project.id, progress=False)
    assert summary["entities"] == 3 and summary["links"] == 2
    (session,) = store.get_children(JANE, mouse["id"])
    assert session["name"] == "S1"


# ------------------------------------------------------------ refusals


def _good_dump() -> dict:
    return {
        "M1": {
            "type": "mouse",
            "id": HEX + "a",
            "children": {
                "S1": {
                    "type": "session",
                    "children": {
                        "R1": {
                            "type": "recording",
                            "children": {"D1": {"type": "dataset"}},
                        },
                        "R2": {"type": "recording"},
                    },
                }
            },
        },
        "M2": {"type": "mouse"},
    }


def _deep(dump: dict) -> dict:
    return dump["M1"]["children"]["S1"]["children"]["R1"]["children"]["D1"]


def _unknown_type(dump):
    _deep(dump)["type"] = "widget"


def _twice_in_file(dump):
    dump["M1"]["children"]["S1"]["children"]["R2"]["children"] = {
        "D1": {"type": "dataset"}
    }


def _taken_name(dump):
    dump["M1"]["children"]["S1"]["name"] = "taken"


def _bad_id(dump):
    _deep(dump)["id"] = "6094F7212597DF357FA24A8C"


def _duplicate_id(dump):
    dump["M2"]["id"] = HEX + "a"


def _existing_id(dump):
    dump["M2"]["id"] = "EXISTING"


def _infinity(dump):
    _deep(dump)["attributes"] = {"path": "p", "values": [1, {"x": math.inf}]}


def _bad_attribute_name(dump):
    _deep(dump)["attributes"] = {"bad key": 1}


def _dangling_link(dump):
    _deep(dump)["customEntities"] = [HEX + "f"]


def _dangling_origin(dump):
    dump["M2"]["origin_id"] = HEX + "e"


def _wrong_origin(dump):
    _deep(dump)["origin_id"] = HEX + "a"


def _bad_date(dump):
    _deep(dump)["dateCreated"] = "2021-05-05"


def _no_type(dump):
    del _deep(dump)["type"]


def _bad_children(dump):
    _deep(dump)["children"] = ["D2"]


@pytest.mark.parametrize(
    "spoil, where, message",
    [
        (_unknown_type, "M1 > S1 > R1 > D1", "Type 'widget' is not defined"),
        (_twice_in_file, "M1 > S1 > R2 > D1", "Dataset D1 appears twice in the file"),
        (_taken_name, "M1 > S1", "Session taken already exist in the project test"),
        (_bad_id, "M1 > S1 > R1 > D1", "is not 24 lower-case hexadecimal"),
        (_duplicate_id, "M2", f"id {HEX}a is also the id of M1"),
        (_existing_id, "M2", "is already the id of an entity"),
        (_infinity, "M1 > S1 > R1 > D1", "'inf' is not a valid value for values"),
        (_bad_attribute_name, "M1 > S1 > R1 > D1", "'bad key' is not a valid"),
        (_dangling_link, "M1 > S1 > R1 > D1", "is neither in the file nor"),
        (_dangling_origin, "M2", f"origin_id {HEX}e is neither in the file"),
        (_wrong_origin, "M1 > S1 > R1 > D1", "is not the id"),
        (_bad_date, "M1 > S1 > R1 > D1", "'dateCreated' must be milliseconds"),
        (_no_type, "M1 > S1 > R1 > D1", "'type' is missing"),
        (_bad_children, "M1 > S1 > R1 > D1", "'children' must be a JSON object"),
    ],
)
@pytest.mark.parametrize("target", ["test", "new project"])
def test_a_bad_file_names_the_entity_and_writes_nothing(
    store, project, snapshot, spoil, where, message, target
):
    existing = save(store, project, "session", "taken")
    dump = _good_dump()
    spoil(dump)
    if spoil is _existing_id:
        dump["M2"]["id"] = existing["id"]
    if spoil is _taken_name and target != "test":
        message = "Session taken appears"
        dump["M2"]["children"] = {"taken": {"type": "session"}}
        where = "M2 > taken"
    before = snapshot(store)
    with pytest.raises(BadRequest) as error:
        import_project(store, dump, target, progress=False)
    assert error.value.message.startswith(f"Import failed at {where}: ")
    assert message in error.value.message
    assert error.value.message.endswith("Nothing was imported.")
    assert snapshot(store) == before


def test_the_good_file_of_those_tests_imports(store, project):
    assert import_project(store, _good_dump(), "test", progress=False)["entities"] == 6


def test_no_project_and_no_creation_is_refused(store, snapshot):
    before = snapshot(store)
    with pytest.raises(BadRequest, match="there is no project named 'x'"):
        import_project(store, _good_dump(), "x", create_project=False)
    with pytest.raises(BadRequest, match="JSON object of root entities"):
        import_project(store, [_good_dump()], "x")
    with pytest.raises(BadRequest, match="at M1: an entity must be a JSON object"):
        import_project(store, {"M1": "mouse"}, "x")
    assert snapshot(store) == before


# -------------------------------------------------------- one transaction


def big_dump(mice: int, project_id: str | None = None) -> dict:
    """``mice`` x (1 + 2 sessions x (1 + 2 recordings x (1 + 3 datasets)))
    entities: 19 per mouse, with ids, dates and incremental ids."""
    counter = {"mouse": 0, "session": 0, "recording": 0, "dataset": 0}
    stamp = 1_620_375_329_769

    def entity(datatype, name, attributes, origin=None):
        counter[datatype] += 1
        number = sum(counter.values())
        return {
            "id": f"{number:024x}",
            "type": datatype,
            "name": name,
            "incrementalId": f"{datatype.upper()}{counter[datatype]:07d}",
            "attributes": attributes,
            "createdBy": "Jane Doe",
            "dateCreated": stamp + number,
            "dateUpdated": stamp + number,
            "project": project_id,
            "origin_id": origin,
            "customEntities": [],
            "children": {},
        }

    dump = {}
    for i in range(mice):
        mouse = entity("mouse", f"M{i}", {"genealogy": [f"M{i}"], "sex": "F"})
        dump[mouse["name"]] = mouse
        for s in range(2):
            name = f"M{i}_S{s}"
            session = entity("session", name, {"date": "2021"}, mouse["id"])
            mouse["children"][name] = session
            for r in range(2):
                rec_name = f"{name}_R{r}"
                recording = entity(
                    "recording",
                    rec_name,
                    {"protocol": "retinotopy", "recording_type": "two_photon"},
                    session["id"],
                )
                session["children"][rec_name] = recording
                for d in range(3):
                    ds_name = f"{rec_name}_D{d}"
                    recording["children"][ds_name] = entity(
                        "dataset",
                        ds_name,
                        {"path": f"p/{ds_name}", "is_raw": "yes", "n": d},
                        recording["id"],
                    )
    return dump


def test_a_large_dump_is_one_transaction_of_batched_inserts(store, project):
    dump = big_dump(200)
    statements, commits = [], []

    def on_execute(conn, cursor, statement, *args):
        statements.append(statement)

    def on_commit(conn):
        commits.append(conn)

    sa.event.listen(store.engine, "before_cursor_execute", on_execute)
    sa.event.listen(store.engine, "commit", on_commit)
    try:
        summary = import_project(store, copy.deepcopy(dump), "test", progress=False)
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", on_execute)
        sa.event.remove(store.engine, "commit", on_commit)
    assert summary["entities"] == 3800
    # One transaction (PostgreSQL's ANALYZE after it runs in autocommit).
    assert len(commits) == 1
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT")]
    # One statement per table per chunk of rows, not one per row.
    assert len(inserts) < 40
    with store.read() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(m.entities))
        assert count.scalar_one() == 3800
    exported = export_project(store, "test")
    _set_project(dump, project.id)
    assert exported == dump


def _set_project(dump, project_id):
    for _, entity in walk(dump):
        entity["project"] = project_id


# -------------------------------------------------------------------- CLI


@pytest.fixture
def run(tmp_path):
    """``run(*args)``: the ``flexilims`` command on a database file of its own."""
    url = f"sqlite:///{tmp_path / 'lab.db'}"

    def invoke(*args, input=None):
        return CliRunner().invoke(cli, [*args, "--database", url], input=input)

    invoke.url = url
    return invoke


def test_cli_import_and_export(run, tmp_path):
    source = tmp_path / "dump.json"
    source.write_text(json.dumps(big_dump(2, HEX + "b")))
    result = run("import", str(source), "--project", "lab")
    assert result.exit_code == 0, result.output
    assert (
        f"Imported 38 entities and 0 links into project lab (created) with id {HEX}b."
    ) in result.output
    assert "  dataset\t24\n" in result.output and "  mouse\t2\n" in result.output
    target = tmp_path / "out.json"
    result = run("export", "--project", "lab", str(target))
    assert result.exit_code == 0, result.output
    assert f"Exported 38 entities of project lab to {target}." in result.output
    assert json.loads(target.read_text()) == json.loads(source.read_text())
    result = run("export", "--project", "lab", "-")
    assert result.exit_code == 0, result.output
    assert '"M0_S0_R0_D0": {' in result.output


def test_cli_errors_exit_1_with_the_message(run, tmp_path):
    dump = _good_dump()
    _unknown_type(dump)
    source = tmp_path / "dump.json"
    source.write_text(json.dumps(dump))
    result = run("import", str(source), "--project", "lab")
    assert result.exit_code == 1
    assert "Error: Import failed at M1 > S1 > R1 > D1: Type 'widget'" in result.output
    store = Store.open(run.url)
    try:
        assert Accounts(store).projects() == []
    finally:
        store.engine.dispose()
    source.write_text("{not json")
    result = run("import", str(source), "--project", "lab")
    assert result.exit_code == 1 and "is not valid JSON" in result.output
    result = run("import", str(source), "--project", "lab", "--no-create-project")
    assert result.exit_code == 1
    result = run("export", "--project", "lab", str(tmp_path / "x.json"))
    assert result.exit_code == 1 and "No project named 'lab'" in result.output


def test_cli_fills_created_by_and_reports_defaults(run, tmp_path):
    source = tmp_path / "dump.json"
    source.write_text(json.dumps({"M": {"type": "mouse", "attributes": {"x": 1}}}))
    result = run("import", str(source), "--project", "lab", "--created-by", "Jo")
    assert result.exit_code == 0, result.output
    assert "Filled in missing createdBy of 1 entity" in result.output
    result = run("export", "--project", "lab", "-")
    assert '"createdBy": "Jo"' in result.output


def test_a_clash_found_only_by_the_database_is_refused_too(
    store, project, snapshot, monkeypatch
):
    """A name taken between the checks and the inserts (another writer)."""
    from flexilims.store.writing.changes import Changes

    save(store, project, "mouse", "M2")
    monkeypatch.setattr(Changes, "_found_names", lambda *args: None)
    before = snapshot(store)
    with pytest.raises(BadRequest, match="created while importing; try again"):
        import_project(store, _good_dump(), "test", progress=False)
    assert snapshot(store) == before


def test_cli_imports_a_dump_written_through_pandas(run, tmp_path):
    """The Flexilims client builds its offline dump from DataFrames: roots
    carry ``origin_id`` NaN, and missing attribute values are NaN too."""
    frame = pd.DataFrame(
        {
            "id": [HEX + "1", HEX + "2"],
            "type": ["mouse", "mouse"],
            "name": ["M1", "M2"],
            "origin_id": [np.nan, np.nan],
            "weight": [21.5, np.nan],
        }
    ).set_index("name", drop=False)
    dump = {}
    for name, row in frame.to_dict(orient="index").items():
        weight = row.pop("weight")
        dump[name] = {**row, "attributes": {"weight": weight}, "children": {}}
    source = tmp_path / "dump.json"
    with open(source, "w") as stream:
        json.dump(dump, stream)  # writes NaN, as the client does
    assert "NaN" in source.read_text()
    result = run("import", str(source), "--project", "lab")
    assert result.exit_code == 0, result.output
    assert "Read 3 NaN values (pandas' missing values) as null." in result.output
    result = run("export", "--project", "lab", "-")
    exported = json.loads(result.stdout)
    assert exported["M1"]["origin_id"] is None
    assert exported["M2"]["attributes"] == {"weight": None}


# ------------------------------------------------------------- streaming


def test_a_file_is_read_as_it_is_imported(store, project, tmp_path, monkeypatch):
    """From a path, an open file or a pipe, in reads smaller than one root:
    the same entities as from the parsed dict, NaN read as null."""
    from flexilims.store.files import dumpfile

    monkeypatch.setattr(dumpfile, "READ_SIZE", 64)
    dump = big_dump(3, HEX + "c")
    for _, entity in walk(dump):  # ids are new at each import
        del entity["id"], entity["origin_id"]
    dump["M0"]["origin_id"] = math.nan
    dump["M1"]["attributes"]["weight"] = math.nan
    text = json.dumps(dump)
    source = tmp_path / "dump.json"
    source.write_text(text)
    read, write = os.pipe()
    with os.fdopen(write, "w") as pipe:
        pipe.write(text)
    imports = {}
    with open(source, "rb") as stream, os.fdopen(read, "rb") as piped:
        for name, data in [
            ("parsed", json.loads(text)),
            ("path", source),
            ("stream", stream),
            ("pipe", piped),
        ]:
            summary = import_project(store, data, name, progress=False)
            assert summary["entities"] == 57 and summary["nans"] == 2, name
            imports[name] = export_project(store, name)
    reference = imports.pop("parsed")
    for name, exported in imports.items():
        for _, entity in walk(exported):
            entity["id"] = entity["project"] = entity["origin_id"] = None
        for _, entity in walk(reference):
            entity["id"] = entity["project"] = entity["origin_id"] = None
        assert exported == reference, name


def test_json_broken_after_many_roots_writes_nothing(run, tmp_path):
    """The file is read as entities are written, in one transaction: an error
    of the JSON near its end leaves nothing, not even the project."""
    text = json.dumps(big_dump(600))
    source = tmp_path / "dump.json"
    source.write_text(text[:-1] + ",}")
    result = run("import", str(source), "--project", "lab", "--no-progress")
    assert result.exit_code == 1
    expected = None
    try:
        json.loads(source.read_text())
    except json.JSONDecodeError as error:
        expected = str(error)
    assert f"{source} is not valid JSON: {expected}" in result.output
    store = Store.open(run.url)
    try:
        assert Accounts(store).projects() == []
        with store.read() as conn:
            count = conn.execute(sa.select(sa.func.count()).select_from(m.entities))
            assert count.scalar_one() == 0
    finally:
        store.engine.dispose()


def test_a_root_may_hang_under_an_entity_later_in_the_file(store, project):
    dump = {
        "S1": {
            "type": "session",
            "origin_id": HEX + "4",
            "children": {"R1": {"type": "recording"}},
        },
        "M1": {"type": "mouse", "id": HEX + "4"},
    }
    summary = import_project(store, dump, "test", progress=False)
    assert summary["entities"] == 3
    exported = export_project(store, "test")
    assert list(exported) == ["M1"] or set(exported) == {"M1"}
    assert list(exported["M1"]["children"]) == ["S1"]
    assert list(exported["M1"]["children"]["S1"]["children"]) == ["R1"]


def test_a_name_twice_across_chunks_names_both_places(store, project, monkeypatch):
    from flexilims.store.files import transfer

    monkeypatch.setattr(transfer, "CHUNK", 5)
    dump = _good_dump()
    dump["M3"] = {"type": "mouse", "children": {"D1": {"type": "dataset"}}}
    with pytest.raises(BadRequest) as error:
        import_project(store, dump, "test", progress=False)
    assert error.value.message == (
        "Import failed at M3 > D1: Dataset D1 appears twice in the file (also at "
        "M1 > S1 > R1 > D1): names are unique per project and type. Nothing was "
        "imported."
    )
