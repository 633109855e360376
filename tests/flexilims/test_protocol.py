"""The REST protocol of ../shared/flexilims-api.md, endpoint by endpoint, on the
server application in-process (Starlette's test client) with real tokens."""

import json
import time

import pytest

from flexilims.store.accounts import Accounts
from protocol_checks import (
    ENTITY_FIELDS,
    FIELD_LIST,
    HEX24,
    HINT,
    MISSING,
    error_message,
    names,
)
from servers import API

# --------------------------------------------------------------------- get


def test_get_unknown_parameter_lists_every_valid_field(call, project):
    reply = call("get", {"type": "mouse", "project_id": project.id, "randomstuff": 1})
    message = error_message(reply, 400)
    assert message == f"randomstuff is not valid. Valid fields are {FIELD_LIST}"
    assert (
        f"<b>Message</b> randomstuff is not valid. Valid fields are {FIELD_LIST}"
        in reply.text
    )


@pytest.mark.parametrize(
    "params, message",
    [
        ({"type": "InvalidType", "project_id": "P"}, "type InvalidType is not defined"),
        (
            {"type": "mouse", "project_id": "xyz"},
            "project_id not valid, please provide a valid hexadecimal value",
        ),
        (
            {"type": "mouse", "project_id": "P", "id": "xyz"},
            "please provide a valid hexadecimal value for id",
        ),
        ({"type": "dataset"}, "you need to provide project_id to query for [dataset]"),
        (
            {"type": "mouse", "project_id": "P", "date_created_operator": "eq"},
            "date_created_operator must be one of gt, lt, not 'eq'",
        ),
        (
            {"type": "mouse", "project_id": "P", "limit": "ten"},
            "limit must be a whole number, not 'ten'",
        ),
        (
            {"type": "mouse", "project_id": "P", "offset": "1.5"},
            "offset must be a whole number, not '1.5'",
        ),
    ],
)
def test_get_errors(call, project, params, message):
    params = {k: project.id if v == "P" else v for k, v in params.items()}
    assert error_message(call("get", params), 400) == message


def test_get_in_a_missing_project(call, make_user, login):
    admin = call.as_(login(make_user("root", admin=True)))
    reply = admin("get", {"type": "mouse", "project_id": MISSING})
    assert error_message(reply, 400) == f"project {MISSING} not found"
    # To a non-admin it is either missing or one they cannot see.
    reply = call("get", {"type": "mouse", "project_id": MISSING})
    assert MISSING in error_message(reply, reply.status_code)
    assert reply.status_code in (400, 403)


def test_get_replies_with_exactly_the_entity_fields(call, tree, project, jane):
    reply = call("get", {"type": "mouse", "project_id": project.id})
    (mouse,) = reply.json()
    assert set(mouse) == ENTITY_FIELDS
    assert HEX24.match(mouse["id"]) and mouse["project"] == project.id
    assert mouse["incrementalId"] == "MOUSE0000001"
    assert mouse["createdBy"] == jane.full_name == "Jane Doe"
    assert mouse["origin_id"] is None
    assert isinstance(mouse["dateCreated"], int)
    assert abs(mouse["dateCreated"] - time.time() * 1000) < 60_000
    assert mouse["attributes"] == {"sex": "F", "birth_date": "2021-05-05"}
    assert (
        call("get", {"type": "sample", "project_id": project.id}).json()[0]["origin_id"]
        == tree["mouse"]["id"]
    )
    assert (
        call(
            "get", {"type": "mouse", "project_id": project.id, "name": "absent"}
        ).json()
        == []
    )


def test_get_filters(call, save, project, tree):
    mouse = tree["mouse"]
    time.sleep(0.005)
    second = save("mouse", "M2", {"sex": "M", "litter": 3})
    time.sleep(0.005)
    third = save("mouse", "M3", {"sex": "F", "litter": 3, "alive": False})

    def get(**params):
        return names(call("get", {"type": "mouse", "project_id": project.id, **params}))

    assert get() == ["PZAH6.4b", "M2", "M3"]
    assert get(id=second["id"]) == ["M2"]
    assert get(name="M3") == ["M3"]
    assert get(query_key="sex", query_value="F") == ["PZAH6.4b", "M3"]
    assert get(query_key="litter", query_value="3") == ["M2", "M3"]
    assert get(query_key="alive", query_value="False") == ["M3"]
    assert get(query_key="sex", query_value="X") == []
    assert get(created_by="Jane Doe") == ["PZAH6.4b", "M2", "M3"]
    assert get(created_by="Someone Else") == []
    stamp = second["dateCreated"]
    assert get(date_created=stamp) == ["M2", "M3"]
    assert get(date_created=stamp, date_created_operator="gt") == ["M2", "M3"]
    assert get(date_created=stamp, date_created_operator="lt") == ["PZAH6.4b", "M2"]
    assert get(limit=2) == ["PZAH6.4b", "M2"]
    assert get(offset=1) == ["M2", "M3"]
    assert get(offset=1, limit=1) == ["M2"]
    assert names(call("get", {"origin_id": mouse["id"], "type": "session"})) == [
        "PZAH6.4b_S20210513"
    ]
    assert names(
        call(
            "get",
            {
                "type": "dataset",
                "project_id": project.id,
                "origin_id": tree["recording"]["id"],
            },
        )
    ) == ["ds1"]
    assert third["attributes"]["alive"] is False


def test_get_by_name_or_id_without_type_searches_every_type(call, save, tree, project):
    save("session", "PZAH6.4b", {}, origin_id=tree["mouse"]["id"])
    found = call("get", {"name": "PZAH6.4b", "project_id": project.id}).json()
    assert sorted(e["type"] for e in found) == ["mouse", "session"]
    found = call("get", {"name": "PZAH6.4b"}).json()
    assert sorted(e["type"] for e in found) == ["mouse", "session"]
    assert names(call("get", {"id": tree["dataset"]["id"]})) == ["ds1"]
    assert names(call("get", {"id": tree["dataset"]["id"], "type": "dataset"})) == [
        "ds1"
    ]


def test_same_type_and_name_in_several_projects(call, save, project, store):
    other = Accounts(store).create_project("other")
    Accounts(store).add_member("jane", "other")
    save("mouse", "twin", {"sex": "F"})
    save("mouse", "twin", {"sex": "M"}, project_id=other.id)
    found = call("get", {"type": "mouse", "name": "twin", "project_id": project.id})
    assert [e["attributes"]["sex"] for e in found.json()] == ["F"]
    found = call("get", {"type": "mouse", "name": "twin", "project_id": other.id})
    assert [e["attributes"]["sex"] for e in found.json()] == ["M"]
    found = call("get", {"type": "mouse", "cross_project_entity": "yes"})
    assert sorted(e["project"] for e in found.json()) == sorted([project.id, other.id])
    # A project-scoped type needs a project, with or without a name.
    found = call("get", {"type": "mouse", "name": "twin"})
    assert error_message(found, 400) == (
        "you need to provide project_id to query for [mouse]"
    )
    # Without a type, a name searches every type of every project one can see.
    found = call("get", {"name": "twin"})
    assert len(found.json()) == 2


# ------------------------------------------------------------ get-children


def test_get_children(call, tree):
    reply = call("get-children", {"id": tree["mouse"]["id"]})
    assert sorted(names(reply)) == ["PZAH6.4b_S20210513", "brain"]
    assert all(set(e) == ENTITY_FIELDS for e in reply.json())
    assert names(call("get-children", {"id": tree["dataset"]["id"]})) == []
    assert names(call("get-children", {"id": MISSING})) == []
    for bad in ("xyz", ""):
        assert error_message(call("get-children", {"id": bad}), 400) == (
            "id not valid, please provide a hexadecimal value"
        )
    assert error_message(call("get-children"), 400) == (
        "id not valid, please provide a hexadecimal value"
    )


def test_get_descendants(call, tree):
    mouse = tree["mouse"]["id"]
    assert sorted(names(call("get-descendants", {"id": mouse}))) == [
        "PZAH6.4b_S20210513",
        "R101",
        "brain",
        "ds1",
    ]
    reply = call("get-descendants", {"id": mouse, "type": "dataset,sample"})
    assert sorted(names(reply)) == ["brain", "ds1"]
    assert error_message(call("get-descendants", {"id": "nope"}), 400) == (
        "id not valid, please provide a hexadecimal value"
    )


# ---------------------------------------------------------------- projects


def test_projects(call, project, store):
    Accounts(store).create_project("not mine")
    reply = call("projects")
    assert reply.headers["content-type"] == "application/json"
    (mine,) = reply.json()
    assert mine["uuid"] == project.id and HEX24.match(mine["uuid"])
    assert mine["id"] == mine["uuid"]
    assert mine["name"] == "test"


# -------------------------------------------------------------------- save


def test_save_replies_with_the_entity_and_its_links(call, save, project, tree):
    reply = call(
        "save",
        {"strict_validation": "true"},
        {
            "type": "dataset",
            "name": "ds2",
            "project_id": project.id,
            "origin_id": tree["recording"]["id"],
            "attributes": {"path": "x/y", "is_raw": "yes"},
            "other_relations": [tree["dataset"]["id"]],
        },
    )
    assert reply.status_code == 200 and reply.headers["content-type"] == (
        "application/json"
    )
    entity = reply.json()
    assert set(entity) == ENTITY_FIELDS | {"customEntities", "objects"}
    assert entity["customEntities"] == [tree["dataset"]["id"]]
    assert entity["objects"] == {}
    assert entity["incrementalId"] == "DATASET0000002"
    assert entity["origin_id"] == tree["recording"]["id"]
    assert entity["createdBy"] == "Jane Doe"
    assert entity["dateCreated"] == entity["dateUpdated"]
    got = call("get", {"id": entity["id"]}).json()
    assert got == [{k: v for k, v in entity.items() if k in ENTITY_FIELDS}]
    # A single id is accepted as a list of one.
    single = save("sample", "s2", {}, other_relations=tree["sample"]["id"])
    assert single["customEntities"] == [tree["sample"]["id"]]


def test_save_lower_cases_attribute_names(save, call):
    entity = save("mouse", "m", {"CamelCase": 1, "camelcase": 2, "Sex": "F"})
    assert entity["attributes"] == {"camelcase": 2, "sex": "F"}
    entity = save("mouse", "n", {"camelcase": 1, "CAMELCASE": 2})
    assert entity["attributes"] == {"camelcase": 2}
    stored = call("get", {"id": entity["id"]}).json()[0]
    assert stored["attributes"] == {"camelcase": 2}


def test_save_values_round_trip_and_empty_containers_become_null(save, call):
    sent = {
        "text": "",
        "int": 3,
        "float": 2.5,
        "false": False,
        "list": [1, [], {"t": []}],
        "empty_list": [],
        "empty_dict": {},
        "nested": {"a": {"b": [1, "two", None]}},
        "none": None,
    }
    entity = save("mouse", "m", sent)
    assert entity["attributes"] == sent
    stored = call("get", {"id": entity["id"]}).json()[0]["attributes"]
    assert stored == {
        **sent,
        "list": [1, None, {"t": None}],
        "empty_list": None,
        "empty_dict": None,
    }
    assert type(stored["int"]) is int and stored["false"] is False


@pytest.mark.parametrize(
    "body, params, message",
    [
        ({"type": "InvalidType"}, {}, "type provided is not defined"),
        ({"type": None}, {}, "type provided is not defined"),
        (
            {"project_id": "xyz"},
            {},
            "please provide a valid hexadecimal value for project_id",
        ),
        (
            {"project_id": None},
            {},
            "please provide a valid hexadecimal value for project_id",
        ),
        ({"origin_id": MISSING}, {}, "origin not found"),
        ({"origin_id": "xyz"}, {}, "origin not found"),
        (
            {"other_relations": "notanid"},
            {},
            f"other_relations is not valid. Valid fields are {FIELD_LIST}",
        ),
        (
            {"other_relations": [1, 2]},
            {},
            f"other_relations is not valid. Valid fields are {FIELD_LIST}",
        ),
        (
            {"other_relations": {"a": 1}},
            {},
            f"other_relations is not valid. Valid fields are {FIELD_LIST}",
        ),
        (
            {"attributes": {"rec": 1}},
            {"strict_validation": "true"},
            "Save failed. 'rec' is not defined in lab settings." + HINT,
        ),
        (
            {"type": "recording", "attributes": {"recording_type": "humpy"}},
            {},
            "Save failed. 'humpy' is not a valid value for recording_type." + HINT,
        ),
        (
            {"type": "dataset", "attributes": {"dataset_type": "x"}},
            {},
            "Save failed. 'path' is a necessary attribute for dataset." + HINT,
        ),
        (
            {"type": "dataset", "attributes": {"path": None}},
            {},
            "Save failed. 'path' is a necessary attribute for dataset." + HINT,
        ),
        # Check order: undefined (strict), then allowed values, then required.
        (
            {"type": "recording", "attributes": {"recording_type": "humpy", "zz": 1}},
            {"strict_validation": "true"},
            "Save failed. 'zz' is not defined in lab settings." + HINT,
        ),
        (
            {"type": "dataset", "attributes": {"is_raw": "maybe"}},
            {},
            "Save failed. 'maybe' is not a valid value for is_raw." + HINT,
        ),
        (
            {"name": ""},
            {},
            "Save failed. Please provide a name for the new mouse." + HINT,
        ),
    ],
)
def test_save_errors(call, project, body, params, message):
    body = {
        "type": "mouse",
        "name": "m1",
        "project_id": project.id,
        "attributes": {},
        **body,
    }
    assert error_message(call("save", params, body), 400) == message
    assert call("get", {"name": "m1"}).json() == []


def test_save_name_taken(call, save, project, tree):
    reply = call(
        "save", {}, {"type": "sample", "name": "brain", "project_id": project.id}
    )
    message = error_message(reply, 400)
    assert message == (
        "Save failed. Check sample name. Sample brain already exist in the project "
        "test." + HINT
    )
    assert "already exist in the project " in message


def test_save_refuses_bad_bodies(call, project):
    caller_headers = {**call.user.headers, "Content-Type": "application/json"}
    api = call.api
    reply = api.post(
        API + "save", content=b'{"type": "mouse", ', headers=caller_headers
    )
    assert error_message(reply, 400).startswith("the request body is not valid JSON")
    reply = api.post(API + "save", content=b"[1, 2]", headers=caller_headers)
    assert error_message(reply, 400) == "the request body must be a JSON object"
    nan = json.dumps(
        {
            "type": "mouse",
            "name": "m",
            "project_id": project.id,
            "attributes": {"weight": float("nan")},
        }
    )
    reply = api.post(API + "save", content=nan.encode(), headers=caller_headers)
    assert error_message(reply, 400) == (
        "Save failed. 'nan' is not a valid value for weight." + HINT
    )
    reply = api.post(API + "save", headers=caller_headers)
    assert error_message(reply, 400) == "type provided is not defined"


# -------------------------------------------------------------- update-one


def update(call, entity, body, **params):
    return call(
        "update-one", {"type": entity["type"], "id": entity["id"], **params}, body
    )


def test_update_one_merges_attributes(call, save):
    mouse = save("mouse", "m", {"a": 1, "b": 2, "keep": "k"})
    time.sleep(0.002)
    reply = update(call, mouse, {"attributes": {"b": 3, "NewKey": 4, "a": None}})
    assert reply.status_code == 200, reply.text
    entity = reply.json()
    assert set(entity) == ENTITY_FIELDS | {"customEntities", "objects"}
    assert entity["attributes"] == {"a": None, "b": 3, "keep": "k", "NewKey": 4}
    assert entity["dateUpdated"] > entity["dateCreated"] == mouse["dateCreated"]
    stored = call("get", {"id": mouse["id"]}).json()[0]
    assert stored["attributes"] == entity["attributes"]


def test_update_one_empty_strings_need_allow_nulls(call, save):
    mouse = save("mouse", "m", {"sex": "F"})
    entity = update(call, mouse, {"attributes": {"sex": ""}}).json()
    assert entity["attributes"] == {"sex": "F"}
    entity = update(call, mouse, {"attributes": {"sex": ""}}, allow_nulls="true").json()
    assert entity["attributes"] == {"sex": ""}


def test_update_one_renames_and_moves(call, save, tree):
    sample = tree["sample"]
    other = save("mouse", "other mouse", {})
    entity = update(call, sample, {"name": "cortex", "origin_id": other["id"]})
    assert entity.status_code == 200
    assert entity.json()["name"] == "cortex"
    assert entity.json()["origin_id"] == other["id"]
    reply = update(call, sample, {"name": "cortex"})
    assert error_message(reply, 400) == (
        "Update failed. Check sample name. Sample cortex already exist in the "
        "project test." + HINT
    )
    save("sample", "taken", {})
    reply = update(call, sample, {"name": "taken"})
    assert error_message(reply, 400) == (
        "Update failed. Check sample name. Sample taken already exist in the "
        "project test." + HINT
    )


@pytest.mark.parametrize(
    "body, params, message",
    [
        (
            {"origin_id": "xyz"},
            {},
            "please provide a valid hexadecimal value for origin_id",
        ),
        ({"origin_id": MISSING}, {}, "origin not found"),
        (
            {"attributes": {"recording_type": "humpy"}},
            {},
            "Update failed. 'humpy' is not a valid value for recording_type." + HINT,
        ),
        # Existing attributes are named first.
        (
            {"attributes": {"aa": 1}},
            {"strict_validation": "true"},
            "Update failed. 'old' is not defined in lab settings." + HINT,
        ),
        ({}, {"id": "xyz"}, "please provide a valid hexadecimal value for id"),
        ({}, {"id": MISSING}, f"Update failed. No recording with id {MISSING}." + HINT),
        (
            {},
            {"type": "mouse"},
            "Update failed. Entity ID is a recording, not a mouse." + HINT,
        ),
        ({}, {"type": "InvalidType"}, "type InvalidType is not defined"),
        (
            {"other_relations": "bad"},
            {},
            f"other_relations is not valid. Valid fields are {FIELD_LIST}",
        ),
    ],
)
def test_update_one_errors(call, save, body, params, message):
    recording = save("recording", "r", {"old": 1, "recording_type": "ephys"})
    params = {"type": "recording", "id": recording["id"], **params}
    reply = call("update-one", params, body)
    assert error_message(reply, 400) == message.replace("ID", recording["id"])
    stored = call("get", {"id": recording["id"]}).json()[0]
    assert stored["attributes"] == {"old": 1, "recording_type": "ephys"}
    assert stored["dateUpdated"] == recording["dateUpdated"]


def test_update_one_adds_links(call, tree):
    reply = update(call, tree["dataset"], {"other_relations": [tree["sample"]["id"]]})
    assert reply.json()["customEntities"] == [tree["sample"]["id"]]
    reply = update(call, tree["dataset"], {})
    assert reply.json()["customEntities"] == [tree["sample"]["id"]]


# ------------------------------------------------------------- update-many


def test_update_many(call, save, project, tree):
    other = save("session", "S2", {"date": "2021-05-14"}, origin_id=tree["mouse"]["id"])
    params = {
        "type": "session",
        "project_id": project.id,
        "update_key": "path",
        "update_value": "new/path",
    }
    reply = call("update-many", params)
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/plain")
    assert reply.text == (
        "updated successfully 2 items of type session with path=new/path"
    )
    sessions = call("get", {"type": "session", "project_id": project.id}).json()
    assert {s["attributes"]["path"] for s in sessions} == {"new/path"}
    reply = call(
        "update-many",
        {
            **params,
            "update_value": "only",
            "query_key": "date",
            "query_value": "2021-05-14",
        },
    )
    assert reply.text == "updated successfully 1 items of type session with path=only"
    got = call("get", {"id": other["id"]}).json()[0]["attributes"]
    assert got == {"date": "2021-05-14", "path": "only"}
    reply = call(
        "update-many",
        {**params, "update_key": "undefined_thing", "strict_validation": "true"},
    )
    assert error_message(reply, 400) == (
        "Update failed. 'undefined_thing' is not defined in lab settings." + HINT
    )
    reply = call("update-many", {**params, "type": "InvalidType"})
    assert error_message(reply, 400) == "type InvalidType is not defined"
    reply = call("update-many", {**params, "project_id": "xyz"})
    assert error_message(reply, 400) == (
        "project_id not valid, please provide a valid hexadecimal value"
    )
    reply = call("update-many", {**params, "update_key": ""})
    assert error_message(reply, 400) == "update_key is required"


# ------------------------------------------------------------------ delete


def test_delete_removes_the_entity_and_everything_below(call, tree, store):
    reply = call("delete", {"id": tree["session"]["id"]})
    assert reply.status_code == 200 and reply.text == "deleted successfully null"
    for gone in ("session", "recording", "dataset"):
        assert call("get", {"id": tree[gone]["id"]}).json() == []
    assert sorted(names(call("get-descendants", {"id": tree["mouse"]["id"]}))) == [
        "brain"
    ]
    with store.read() as conn:
        trashed = conn.exec_driver_sql("SELECT count(*) FROM trash").scalar()
    assert trashed == 3


def test_delete_errors(call):
    assert error_message(call("delete", {"id": MISSING}), 400) == (
        f"Delete failed. No entity with id {MISSING}."
    )
    assert error_message(call("delete", {"id": "xyz"}), 400) == (
        "please provide a valid hexadecimal value for id"
    )
    assert error_message(call("delete"), 400) == (
        "please provide a valid hexadecimal value for id"
    )


@pytest.mark.parametrize("bad", [["a"], {"id": "x"}, 7])
def test_fields_of_the_wrong_json_type_are_refused(call, project, store, snapshot, bad):
    """The fuzzer's find: a list or an object where an id is expected (they
    cannot be looked up) was a 500; every one is a 4xx, nothing written."""
    before = snapshot(store)
    saves = [
        {"type": "mouse", "name": "m", "project_id": bad},
        {"type": "mouse", "name": "m", "project_id": project.id, "origin_id": bad},
        {"type": bad, "name": "m", "project_id": project.id},
        {"type": "mouse", "name": bad, "project_id": project.id},
    ]
    for body in saves:
        reply = call("save", body=body)
        assert 400 <= reply.status_code < 500, (body, reply.text)
    operations = [
        {"op": "update", "type": "mouse", "id": bad, "name": "n"},
        {"op": "create", "type": "mouse", "name": "m", "project_id": bad},
        {"op": "create", "type": "mouse", "name": "m", "origin_id": bad},
        {"op": "update", "type": "mouse", "id": project.id, "name": bad},
    ]
    for operation in operations:
        reply = call("batch", {"project_id": project.id}, {"operations": [operation]})
        assert 400 <= reply.status_code < 500, (operation, reply.text)
    assert snapshot(store) == before
