"""Lab settings (flexilims.store.labsettings): the defaults, what may be
loaded, and the rules the write path reads, on both backends."""

import copy

import pytest

from flexilims.errors import BadRequest
from flexilims.store import labsettings


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
