"""The data rules of the store, through the in-process session (both backends)."""

import json
import math

import pytest
import sqlalchemy as sa

from flexilims import BadRequest, Forbidden, LocalSession
from flexilims.store import models as m
from flexilims.store.accounts import Accounts
from flexilims.store.labsettings import read_settings, write_settings

HINT = " If you have 'null' values please substitute (null) with empty string ('') "


@pytest.fixture
def session(store, project):
    return LocalSession(store, project_id=project.id, username="alice")


@pytest.fixture
def mouse(session):
    return session.post("mouse", "M1", {"sex": "F"}, strict_validation=False)


def test_save_reply_and_stored_entity(session, project, mouse):
    assert set(mouse) == {
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
        "objects",
    }
    assert len(mouse["id"]) == 24 and int(mouse["id"], 16) >= 0
    assert mouse["incrementalId"] == "MOUSE0000001"
    assert mouse["project"] == project.id
    assert mouse["createdBy"] == "alice"
    stored = session.get("mouse", name="M1")
    assert set(stored[0]) == set(mouse) - {"customEntities", "objects"}
    second = session.post("mouse", "M2", {}, strict_validation=False)
    assert second["incrementalId"] == "MOUSE0000002"


def test_attribute_names_lower_cased_on_save_not_on_update(session):
    rep = session.post(
        "mouse",
        "M1",
        {"CamelCase": 1, "camelcase": 2, "Other": 3},
        strict_validation=False,
    )
    assert rep["attributes"] == {"camelcase": 2, "other": 3}
    updated = session.update_one(
        rep["id"], "mouse", attributes={"NewKey": 1}, strict_validation=False
    )
    assert updated["attributes"]["NewKey"] == 1


def test_values_keep_their_types_and_empty_containers_become_null(session):
    attributes = {
        "text": "",
        "count": 3,
        "ratio": 0.5,
        "flag": False,
        "nested": [1, [], {"t": []}],
        "empty": {},
        "pair": (1, 2),
    }
    rep = session.post("mouse", "M1", attributes, strict_validation=False)
    assert rep["attributes"]["nested"] == [1, [], {"t": []}]
    stored = session.get("mouse", id=rep["id"])[0]["attributes"]
    assert stored == {
        "text": "",
        "count": 3,
        "ratio": 0.5,
        "flag": False,
        "nested": [1, None, {"t": None}],
        "empty": None,
        "pair": [1, 2],
    }
    assert isinstance(stored["count"], int) and stored["flag"] is False


@pytest.mark.parametrize(
    "attributes, message",
    [
        ({"x": float("nan")}, "'nan' is not a valid value for x."),
        ({"x": [1, {"y": float("inf")}]}, "'inf' is not a valid value for x."),
        ({"a.b": 1}, "'a.b' is not a valid attribute name"),
        ({"a$": 1}, "'a$' is not a valid attribute name"),
    ],
)
def test_bad_attributes_refused_and_nothing_written(
    session, store, snapshot, attributes, message
):
    before = snapshot(store)
    with pytest.raises(BadRequest) as error:
        session.post("mouse", "M1", attributes, strict_validation=False)
    assert message in error.value.message
    assert error.value.message.startswith("Save failed.")
    assert snapshot(store) == before


def test_names_unique_per_project_and_type(session, store, project, mouse, snapshot):
    before = snapshot(store)
    with pytest.raises(BadRequest) as error:
        session.post("mouse", "M1", {}, strict_validation=False)
    assert error.value.message == (
        "Save failed. Check sample name. Sample M1 already exist in the project test."
        + HINT
    )
    assert str(error.value) == "Error 400:  " + error.value.message
    assert snapshot(store) == before
    session.post("sample", "M1", {}, strict_validation=False)
    other = Accounts(store).create_project("other")
    session.post("mouse", "M1", {}, project_id=other.id, strict_validation=False)
    assert len(session.get("mouse", name="M1", project_id=other.id)) == 1


def test_lab_settings_validation_order_and_messages(session, mouse):
    with pytest.raises(
        BadRequest,
        match=r"^Error 400:  Save failed. 'rec' is not "
        r"defined in lab settings\.",
    ):
        session.post(
            "recording",
            "R",
            {"rec": 1, "recording_type": "humpy"},
            origin_id=mouse["id"],
            strict_validation=True,
        )
    with pytest.raises(BadRequest) as error:
        session.post(
            "recording",
            "R",
            {"rec": 1, "recording_type": "humpy"},
            origin_id=mouse["id"],
            strict_validation=False,
        )
    assert error.value.message == (
        "Save failed. 'humpy' is not a valid value for recording_type." + HINT
    )
    with pytest.raises(BadRequest) as error:
        session.post("dataset", "D", {"is_raw": "yes"}, strict_validation=False)
    assert error.value.message == (
        "Save failed. 'path' is a necessary attribute for dataset." + HINT
    )
    rec = session.post(
        "recording", "R", {"recording_type": "ephys"}, strict_validation=True
    )
    with pytest.raises(BadRequest) as error:
        session.update_one(
            rec["id"],
            "recording",
            attributes={"recording_type": "humpy"},
            strict_validation=False,
        )
    assert error.value.message == (
        "Update failed. 'humpy' is not a valid value for recording_type." + HINT
    )


def test_update_one_merges_nulls_and_empty_strings(session, mouse):
    updated = session.update_one(
        mouse["id"], "mouse", attributes={"sex": "", "age": 3}, strict_validation=False
    )
    assert updated["attributes"] == {"sex": "F", "age": 3}
    assert updated["customEntities"] == [] and updated["objects"] == {}
    updated = session.update_one(
        mouse["id"],
        "mouse",
        attributes={"sex": ""},
        strict_validation=False,
        allow_nulls=True,
    )
    assert updated["attributes"]["sex"] == ""
    updated = session.update_one(
        mouse["id"], "mouse", attributes={"age": None}, strict_validation=False
    )
    assert updated["attributes"]["age"] is None
    assert updated["dateUpdated"] >= mouse["dateUpdated"]


def test_update_one_rename_and_move(session, mouse, store, snapshot):
    other = session.post("mouse", "M2", {}, strict_validation=False)
    sample = session.post(
        "sample", "S", {}, origin_id=mouse["id"], strict_validation=False
    )
    moved = session.update_one(
        sample["id"],
        "sample",
        origin_id=other["id"],
        name="S2",
        strict_validation=False,
    )
    assert moved["origin_id"] == other["id"] and moved["name"] == "S2"
    before = snapshot(store)
    with pytest.raises(
        BadRequest,
        match="Update failed. Check sample name. Sample M2 "
        "already exist in the project test.",
    ):
        session.update_one(mouse["id"], "mouse", name="M2", strict_validation=False)
    with pytest.raises(
        BadRequest, match="please provide a valid hexadecimal value for origin_id"
    ):
        session.update_one(
            sample["id"], "sample", origin_id="zz", strict_validation=False
        )
    with pytest.raises(
        BadRequest, match="please provide a valid hexadecimal value for id"
    ):
        session.update_one("12", "sample", attributes={"a": 1})
    assert snapshot(store) == before


def test_every_update_keeps_history(session, store, mouse):
    session.update_one(
        mouse["id"], "mouse", attributes={"age": 3}, strict_validation=False
    )
    session.update_many("mouse", "alive", "yes", strict_validation=False)
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(m.history)
            .where(m.history.c.entity_id == mouse["id"])
            .order_by(m.history.c.id)
        ).all()
    assert [row.action for row in rows] == ["create", "update", "update"]
    assert rows[0].before is None and rows[0].after["attributes"] == {"sex": "F"}
    assert rows[1].before["attributes"] == {"sex": "F"}
    assert rows[1].after["attributes"] == {"sex": "F", "age": 3}
    assert rows[2].after["attributes"]["alive"] == "yes"
    assert {row.changed_by for row in rows} == {"alice"}


def test_update_many(session, mouse):
    session.post("mouse", "M2", {"sex": "M"}, strict_validation=False)
    reply = session.update_many(
        "mouse", "cage", "12", query_key="sex", query_value="F", strict_validation=False
    )
    assert reply == "updated successfully 1 items of type mouse with cage=12"
    assert [
        e["name"] for e in session.get("mouse", query_key="cage", query_value="12")
    ] == ["M1"]


def test_delete_moves_the_subtree_to_the_trash(session, store, mouse):
    day = session.post(
        "session", "M1_S1", {}, origin_id=mouse["id"], strict_validation=False
    )
    session.post(
        "dataset",
        "M1_S1_d",
        {"path": "p"},
        origin_id=day["id"],
        strict_validation=False,
    )
    other = session.post(
        "mouse", "M2", {}, other_relations=[day["id"]], strict_validation=False
    )
    assert session.delete(mouse["id"]) == "deleted successfully null"
    assert session.get("mouse", name="M1") == []
    assert session.get("dataset") == []
    assert session.get("mouse", id=other["id"])
    with store.engine.connect() as conn:
        trashed = conn.execute(sa.select(m.trash.c.entity_id)).scalars().all()
    assert len(trashed) == 3
    # What is in the trash already is deleted (a parent, then each child).
    assert session.delete(mouse["id"]) == "deleted successfully null"
    assert session.delete(day["id"]) == "deleted successfully null"
    with store.engine.connect() as conn:
        assert len(conn.execute(sa.select(m.trash.c.entity_id)).all()) == 3
    with pytest.raises(BadRequest, match="Delete failed. No entity with id"):
        session.delete("6094f7212597df357fa24a8c")


def test_get_filters(session, project, mouse):
    day = session.post(
        "session",
        "M1_S1",
        {"date": "2021"},
        origin_id=mouse["id"],
        strict_validation=False,
    )
    assert [e["id"] for e in session.get("session", origin_id=mouse["id"])] == [
        day["id"]
    ]
    assert (
        session.get("session", query_key="date", query_value="2021")[0]["id"]
        == day["id"]
    )
    assert session.get("session", query_key="date", query_value="2022") == []
    session.post("mouse", "M2", {"age": 3, "alive": True}, strict_validation=False)
    assert [
        e["name"] for e in session.get("mouse", query_key="age", query_value=3)
    ] == ["M2"]
    assert len(session.get("mouse", query_key="alive", query_value=True)) == 1
    assert len(session.get("mouse", created_by="alice")) == 2
    assert len(session.get("mouse", limit=1)) == 1
    assert session.get("mouse", offset=1, limit=5)[0]["name"] == "M2"
    assert len(session.get("mouse", date_created=mouse["dateCreated"])) == 2
    assert (
        len(
            session.get(
                "mouse", date_created=mouse["dateCreated"], date_created_operator="lt"
            )
        )
        >= 1
    )
    found = session.get(None, name="M1_S1")
    assert [e["type"] for e in found] == ["session"]
    children = session.get_children(mouse["id"])
    assert [c["id"] for c in children] == [day["id"]]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"datatype": "InvalidType"}, "type InvalidType is not defined"),
        (
            {"datatype": "mouse", "project_id": "xyz"},
            "project_id not valid, please provide a valid hexadecimal value",
        ),
        (
            {"datatype": "mouse", "id": "xyz"},
            "please provide a valid hexadecimal value for id",
        ),
    ],
)
def test_get_errors(session, kwargs, message):
    with pytest.raises(BadRequest) as error:
        session.get(**kwargs)
    assert error.value.message == message


def test_get_needs_a_project_for_project_scoped_types(store):
    session = LocalSession(store)
    with pytest.raises(BadRequest) as error:
        session.get("dataset")
    assert (
        error.value.message == "you need to provide project_id to query for [dataset]"
    )


def test_get_children_refuses_bad_ids(session):
    with pytest.raises(
        BadRequest, match="id not valid, please provide a hexadecimal value"
    ):
        session.get_children("nope")


def test_save_errors(session, store, snapshot):
    before = snapshot(store)
    cases = [
        (
            dict(datatype="planet", name="x", attributes={}),
            "type provided is not defined",
        ),
        (
            dict(datatype="mouse", name="x", attributes={}, project_id="nope"),
            "please provide a valid hexadecimal value for project_id",
        ),
        (
            dict(datatype="mouse", name="x", attributes={}, origin_id="0" * 24),
            "origin not found",
        ),
        (
            dict(datatype="mouse", name="x", attributes={}, other_relations=["bad"]),
            "other_relations is not valid. Valid fields are [type, name, origin_id, ",
        ),
    ]
    for kwargs, message in cases:
        with pytest.raises(BadRequest) as error:
            session.post(strict_validation=False, **kwargs)
        assert error.value.message.startswith(message)
    assert snapshot(store) == before


def test_descendants_in_one_query(session, mouse):
    day = session.post(
        "session", "M1_S1", {}, origin_id=mouse["id"], strict_validation=False
    )
    rec = session.post(
        "recording", "M1_S1_R1", {}, origin_id=day["id"], strict_validation=False
    )
    data = session.post(
        "dataset",
        "M1_S1_R1_d",
        {"path": "x"},
        origin_id=rec["id"],
        strict_validation=False,
    )
    below = session.get_descendants(mouse["id"])
    assert [e["id"] for e in below] == [day["id"], rec["id"], data["id"]]
    assert [e["id"] for e in session.get_descendants(mouse["id"], ["dataset"])] == [
        data["id"]
    ]


def test_members_only_see_their_projects(store, project):
    accounts = Accounts(store)
    other = accounts.create_project("secret")
    accounts.add_user("bob", "pw", full_name="Bob B")
    accounts.add_member("bob", "test")
    bob = LocalSession(store, project_id=project.id, username="bob")
    rep = bob.post("mouse", "B1", {}, strict_validation=False)
    assert rep["createdBy"] == "Bob B"
    assert [p["name"] for p in bob.get_project_info()] == ["test"]
    with pytest.raises(Forbidden):
        bob.get("mouse", project_id=other.id)
    with pytest.raises(Forbidden):
        bob.post("mouse", "B2", {}, project_id=other.id, strict_validation=False)


def test_lab_settings_round_trip_and_refusals(store):
    with store.write() as conn:
        settings = read_settings(conn)
    assert "recording_type" in settings["datatypes"]["recording"]["attributes"]
    settings["datatypes"]["planet"] = {"attributes": {"mass": {"type": "number"}}}
    with store.write() as conn:
        write_settings(conn, settings)
    session = LocalSession(store)
    project = Accounts(store).create_project("space")
    session.post("planet", "mars", {"mass": 6.4}, project_id=project.id)
    with pytest.raises(BadRequest, match="'heavy' is not a valid value for mass"):
        session.post("planet", "venus", {"mass": "heavy"}, project_id=project.id)
    settings["datatypes"]["planet"]["attributes"]["mass"]["type"] = "weight"
    with pytest.raises(BadRequest, match="use one of"):
        with store.write() as conn:
            write_settings(conn, settings)
    with store.write() as conn:
        assert read_settings(conn)["datatypes"]["planet"]["attributes"]["mass"] == {
            "type": "number"
        }


def test_an_entity_cannot_move_below_itself(session, store, mouse, snapshot):
    day = session.post(
        "session", "M1_S1", {}, origin_id=mouse["id"], strict_validation=False
    )
    rec = session.post(
        "recording", "M1_S1_R1", {}, origin_id=day["id"], strict_validation=False
    )
    before = snapshot(store)
    for new_origin in (mouse["id"], rec["id"]):
        with pytest.raises(BadRequest, match="cannot move below"):
            session.update_one(
                mouse["id"], "mouse", origin_id=new_origin, strict_validation=False
            )
    assert snapshot(store) == before


# ---------------------------------------------- found by the property tests


def test_floats_come_back_as_floats_on_both_backends(session):
    """PostgreSQL's jsonb keeps numbers as numeric: 1e16 came back as an
    integer there, and -0.0 as 0.0 (it stays 0.0 on both)."""
    values = {"big": 1e16, "huge": -1.5e300, "tiny": 5e-324, "zero": -0.0, "n": 1e-7}
    rep = session.post("mouse", "M1", values, strict_validation=False)
    stored = session.get("mouse", id=rep["id"])[0]["attributes"]
    assert stored == values
    assert all(isinstance(value, float) for value in stored.values())
    assert math.copysign(1, stored["zero"]) == 1
    assert json.dumps(stored, sort_keys=True) == json.dumps(
        {**values, "zero": 0.0}, sort_keys=True
    )


def test_attribute_keys_come_back_in_the_same_order_on_both_backends(session):
    """jsonb keeps keys shortest first: both backends store them so."""
    rep = session.post(
        "mouse",
        "M1",
        {"bb": 1, "a": 2, "ccc": {"zz": 1, "y": 2}},
        strict_validation=False,
    )
    assert list(rep["attributes"]) == ["bb", "a", "ccc"]  # echoed as sent
    stored = session.get("mouse", id=rep["id"])[0]["attributes"]
    assert list(stored) == ["a", "bb", "ccc"] and list(stored["ccc"]) == ["y", "zz"]
    updated = session.update_one(
        rep["id"], "mouse", attributes={"dd": 1, "b": 3}, strict_validation=False
    )
    assert list(updated["attributes"]) == ["a", "bb", "ccc", "dd", "b"]
    stored = session.get("mouse", id=rep["id"])[0]["attributes"]
    assert list(stored) == ["a", "b", "bb", "dd", "ccc"]


def test_an_update_to_a_value_python_calls_equal_is_written(session):
    """1, 1.0 and true are equal in Python: updates between them were
    silently dropped (reply echoing the new value, database unchanged)."""
    rep = session.post("mouse", "M1", {"x": 1, "y": [0]}, strict_validation=False)
    for attributes in ({"x": True}, {"x": 1.0}, {"y": [False]}):
        session.update_one(
            rep["id"], "mouse", attributes=attributes, strict_validation=False
        )
        stored = session.get("mouse", id=rep["id"])[0]["attributes"]
        key, value = next(iter(attributes.items()))
        assert json.dumps(stored[key]) == json.dumps(value)
    versions = session.history(id=rep["id"])
    assert [v["action"] for v in versions] == ["update"] * 3 + ["create"]
    assert versions[2]["changes"] == {"attributes.x": [True, 1.0]}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(datatype="mouse", name="a\x00b"), "Save failed. The name holds a NUL"),
        (dict(datatype="mo\x00use", name="M2"), "type provided is not defined"),
        (dict(datatype="mouse", name="a\ud800"), "Save failed. The name holds a lone"),
    ],
)
def test_text_no_database_holds_is_refused_before_any_lookup(
    session, store, snapshot, kwargs, message
):
    """PostgreSQL refused NUL in the look-ups made before the rules ran (500)."""
    before = snapshot(store)
    with pytest.raises(BadRequest) as error:
        session.post(attributes={}, strict_validation=False, **kwargs)
    assert error.value.message.startswith(message)
    operation = {"type": kwargs["datatype"], "name": kwargs["name"]}
    with pytest.raises(BadRequest) as error:
        session.batch([{"type": "mouse", "name": "ok"}, operation])
    assert error.value.message.startswith("Batch failed at operation 1")
    assert snapshot(store) == before


def test_offsets_limits_and_versions_up_to_2_63(session, mouse):
    """PostgreSQL compared them as 32-bit integers (500 beyond 2**31-1)."""
    top = 2**63 - 1
    assert session.get("mouse", offset=top) == []
    assert [e["name"] for e in session.get("mouse", limit=top)] == ["M1"]
    assert len(session.history(id=mouse["id"], before=top)) == 1
    with pytest.raises(BadRequest, match=f"has no version {top}"):
        session.revert(mouse["id"], top)
