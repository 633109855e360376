"""Lab settings (flexilims.store.labsettings): the defaults, what may be
loaded, and the rules the write path reads, on both backends."""

import copy

import pytest
import sqlalchemy as sa

from flexilims import LocalSession
from flexilims.errors import BadRequest, TypeNotDefined
from flexilims.store import Store, db, labsettings
from flexilims.store import models as m


def test_a_new_database_has_the_default_settings(store):
    with store.read() as conn:
        current = labsettings.read_settings(conn)["datatypes"]
        names = labsettings.datatype_names(conn)
    defaults = labsettings.default_settings()["datatypes"]
    assert (
        names
        == list(defaults)
        == ["mouse", "session", "recording", "sample", "dataset"]
    )
    for name, definition in defaults.items():
        assert current[name]["project_scoped"] is True
        assert current[name].get("allowed_parents") == definition.get("allowed_parents")
        assert list(current[name]["attributes"]) == list(definition["attributes"])


def test_the_defaults_declare_parents(store):
    with store.read() as conn:
        rules = labsettings.rules_of(conn, ["mouse", "session", "dataset", "nope"])
    assert set(rules) == {"mouse", "session", "dataset"}
    assert rules["mouse"].allowed_parents is None
    assert rules["session"].allowed_parents == ("mouse",)
    assert rules["dataset"].allowed_parents == (
        "session",
        "recording",
        "sample",
        "mouse",
    )
    path = rules["dataset"].attributes["path"]
    assert path.required and path.value_type == "path"
    assert list(rules["dataset"].attributes)[:2] == ["genealogy", "path"]


def test_settings_round_trip(store):
    settings = {
        "datatypes": {
            "cell": {
                "description": "One neuron.",
                "allowed_parents": ["cell"],
                "attributes": {
                    "layer": {"type": "integer", "allowed": [2, 3], "required": True},
                    "notes": {"type": "string", "description": "Free text."},
                },
            },
            "site": {"project_scoped": False, "attributes": {}},
        }
    }
    with store.write() as conn:
        labsettings.write_settings(conn, copy.deepcopy(settings))
    with store.read() as conn:
        read = labsettings.read_settings(conn)
        assert labsettings.is_project_scoped(conn, "site") is False
        assert labsettings.is_project_scoped(conn, "cell") is True
        assert labsettings.is_project_scoped(conn, "mouse") is None
        rules = labsettings.rules_of(conn, ["cell", "site"])
    assert read["datatypes"]["cell"] == {
        "project_scoped": True,
        "description": "One neuron.",
        "allowed_parents": ["cell"],
        "attributes": {
            "layer": {"type": "integer", "required": True, "allowed": [2, 3]},
            "notes": {"type": "string", "description": "Free text."},
        },
    }
    assert rules["cell"].attributes["layer"].allowed_values == (2, 3)
    assert rules["site"].attributes == {} and rules["site"].allowed_parents is None


@pytest.mark.parametrize(
    "settings, message",
    [
        ({}, "need a 'datatypes' mapping"),
        ({"datatypes": {}}, "need a 'datatypes' mapping"),
        ({"datatypes": {"a b": {}}}, "'a b' cannot be a datatype"),
        ({"datatypes": {"x" * 101: {}}}, "is too long"),
        ({"datatypes": {"cell": ["a"]}}, "'cell' must be a mapping"),
        ({"datatypes": {"cell": {"attributes": ["a"]}}}, "must be a mapping"),
        (
            {"datatypes": {"cell": {"attributes": {"a.b": {}}}}},
            "'cell.a.b' is not a valid attribute name",
        ),
        (
            {"datatypes": {"cell": {"attributes": {"a": "string"}}}},
            "'cell.a' must be a mapping",
        ),
        (
            {"datatypes": {"cell": {"attributes": {"a": {"type": "text"}}}}},
            "'cell.a' has type 'text'",
        ),
        (
            {"datatypes": {"cell": {"attributes": {"a": {"allowed": "x"}}}}},
            "'allowed' of 'cell.a' must be a list",
        ),
        (
            {"datatypes": {"cell": {"allowed_parents": ["mouse"]}}},
            "allowed_parents of 'cell' must be a list of datatypes defined",
        ),
    ],
)
def test_settings_that_cannot_be_applied_change_nothing(
    store, snapshot, settings, message
):
    before = snapshot(store)
    with pytest.raises(BadRequest, match=message):
        with store.write() as conn:
            labsettings.write_settings(conn, settings)
    assert snapshot(store) == before


# ------------------------------------------------------ rules cached per store


@pytest.fixture
def other_store(database_url, store):
    """A second store on the same database, with an engine of its own (as
    another server process or instance would have)."""
    other = Store(db.create_engine(database_url))
    yield other
    other.engine.dispose()


def _rule_reads(store, work) -> int:
    """How many times ``work()`` reads the rules of the lab settings."""
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", count)
    try:
        work()
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", count)
    return sum("datatype_attributes" in statement for statement in statements)


def test_the_rules_are_read_again_only_when_the_settings_change(store, project):
    session = LocalSession(store, project_id=project.id, username="alice")
    session.post("mouse", "M0", {})
    assert _rule_reads(store, lambda: session.post("mouse", "M1", {})) == 0
    mouse = session.get("mouse", name="M1")[0]
    update = lambda: session.update_one(mouse["id"], "mouse", attributes={"sex": "F"})  # noqa: E731
    assert _rule_reads(store, update) == 0
    with store.write() as conn:
        settings = labsettings.read_settings(conn)
        labsettings.write_settings(conn, settings)
    assert _rule_reads(store, lambda: session.post("mouse", "M2", {})) == 1
    assert _rule_reads(store, lambda: session.post("mouse", "M3", {})) == 0


def test_settings_changed_by_another_store_apply_to_the_next_write(
    store, other_store, project
):
    """Another process (a store with its own engine) changes the lab
    settings: the next write of this one applies them, though it had the
    rules cached."""
    session = LocalSession(store, project_id=project.id, username="alice")
    session.post("mouse", "M0", {})
    with pytest.raises(TypeNotDefined):
        session.post("planet", "mars", {"mass": 6.4})
    with other_store.write() as conn:
        settings = labsettings.read_settings(conn)
        settings["datatypes"]["planet"] = {"attributes": {"mass": {"type": "number"}}}
        labsettings.write_settings(conn, settings)
    session.post("planet", "mars", {"mass": 6.4})
    with pytest.raises(BadRequest, match="'heavy' is not a valid value for mass"):
        session.post("planet", "venus", {"mass": "heavy"})
    mars = session.get("planet", name="mars")[0]
    with other_store.write() as conn:
        settings["datatypes"]["planet"]["attributes"]["mass"]["type"] = "string"
        labsettings.write_settings(conn, settings)
    session.post("planet", "venus", {"mass": "heavy"})
    with pytest.raises(BadRequest, match="'7' is not a valid value for mass"):
        session.update_one(mars["id"], "planet", attributes={"mass": 7})


def test_settings_without_a_version_get_one_and_are_never_taken_as_cached(
    store, project
):
    """Settings written before versions existed (no version row): read by
    every write, until a store opens the database and gives them one."""
    with store.write() as conn:
        conn.execute(
            m.counters.delete().where(m.counters.c.name == labsettings.VERSION)
        )
    session = LocalSession(store, project_id=project.id, username="alice")
    session.post("mouse", "M0", {})
    assert _rule_reads(store, lambda: session.post("mouse", "M1", {})) == 1
    store.ensure_lab_settings()
    session.post("mouse", "M2", {})
    assert _rule_reads(store, lambda: session.post("mouse", "M3", {})) == 0
