"""The protocol's points that real Flexilims clients rely on, and the endpoints
of ours (history, revert, trash, restore, export, settings), on the server application
in-process with real tokens, on both backends."""

import json

import pytest

from flexilims.protocol import ERROR_HEADER
from protocol_checks import HINT, MISSING, error_message
from servers import API


def error_code(reply) -> dict:
    return json.loads(reply.headers[ERROR_HEADER])


# ------------------------------------------------------- Flexilims clients


def test_update_one_echoes_attributes_as_sent(call, save):
    mouse = save("mouse", "m", {"keep": 1})
    body = {"attributes": {"empty": [], "nested": {"a": []}, "n": 2}}
    reply = call("update-one", {"type": "mouse", "id": mouse["id"]}, body)
    assert reply.status_code == 200, reply.text
    assert reply.json()["attributes"] == {
        "keep": 1,
        "empty": [],
        "nested": {"a": []},
        "n": 2,
    }
    stored = call("get", {"id": mouse["id"]}).json()[0]["attributes"]
    assert stored == {"keep": 1, "empty": None, "nested": {"a": None}, "n": 2}


def test_a_delete_of_what_is_in_the_trash_succeeds(call, tree):
    """flexiznam's later delete_recursively deletes the parent, then each
    descendant by id: Flexilims deletes one entity per request."""
    ids = [tree[key]["id"] for key in ("session", "recording", "dataset")]
    for entity_id in ids:
        reply = call("delete", {"id": entity_id})
        assert reply.status_code == 200 and reply.text == "deleted successfully null"
    assert error_message(call("delete", {"id": MISSING}), 400) == (
        f"Delete failed. No entity with id {MISSING}."
    )


def test_name_clashes_in_flexilims_words_with_a_code_of_ours(call, save, project):
    save("recording", "R1", {})
    body = {"type": "recording", "name": "R1", "project_id": project.id}
    reply = call("save", {}, body)
    assert error_message(reply, 400) == (
        "Save failed. Check sample name. Sample R1 already exist in the project "
        "test." + HINT
    )
    assert error_code(reply) == {
        "code": "name_taken",
        "type": "recording",
        "name": "R1",
        "project": "test",
        "field": "name",
    }


def test_an_error_detail_says_more_than_the_wire(call, project):
    body = {
        "type": "recording",
        "name": "r",
        "project_id": project.id,
        "attributes": {"recording_type": "2p"},
    }
    reply = call("save", {}, body)
    assert error_message(reply, 400) == (
        "Save failed. '2p' is not a valid value for recording_type." + HINT
    )
    details = error_code(reply)
    assert details["field"] == "attributes.recording_type"
    assert details["detail"].endswith(
        "Allowed: two_photon, widefield, intrinsic, ephys, behaviour, unspecified."
    )


def test_an_undefined_type_keeps_flexilims_words_and_names_the_types(
    call, project, store, snapshot
):
    before = snapshot(store)
    reply = call("get", {"type": "planet", "project_id": project.id})
    assert error_message(reply, 400) == "type planet is not defined"
    defined = ["mouse", "session", "recording", "sample", "dataset"]
    assert error_code(reply) == {
        "code": "type_not_defined",
        "type": "planet",
        "defined": defined,
        "field": "type",
        "detail": "Type 'planet' is not defined in the lab settings (defined: "
        "mouse, session, recording, sample, dataset).",
    }
    body = {"type": "planet", "name": "mars", "project_id": project.id}
    reply = call("save", {}, body)
    assert error_message(reply, 400) == "type provided is not defined"
    assert error_code(reply)["type"] == "planet"
    assert error_code(reply)["defined"] == defined
    assert snapshot(store) == before


# ------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "params, status, message",
    [
        ({"strict_validation": "AAA"}, 400, "strict_validation must be true or false"),
        ({"offset": "-1"}, 400, "offset must be a whole number from 0"),
        ({"limit": str(2**63)}, 400, "limit must be a whole number from 0"),
        ({"date_created": str(2**64)}, 400, "date_created must be a whole number"),
        ({"name": "a\x00b"}, 400, "name holds a NUL character"),
    ],
)
def test_bad_parameters_are_clear_refusals(call, project, params, status, message):
    endpoint = "save" if "strict_validation" in params else "get"
    query = params if endpoint == "save" else {"project_id": project.id, **params}
    body = {"type": "mouse", "name": "m", "project_id": project.id}
    reply = call(endpoint, query, body if endpoint == "save" else None)
    assert message in error_message(reply, status)


@pytest.mark.parametrize(
    "attributes, message",
    [
        ({"x": 2**64}, "integer beyond 64 bits"),
        ({"x": "\ud800"}, "lone surrogate"),
        ({"x": "a\x00"}, "NUL character"),
        ({"k" * 300: 1}, "attribute names have at most 200"),
    ],
)
def test_values_no_database_holds_are_refused_and_nothing_written(
    call, project, store, snapshot, attributes, message
):
    before = snapshot(store)
    body = {"type": "mouse", "name": "m", "project_id": project.id}
    text = json.dumps({**body, "attributes": attributes})  # \ud800 escaped
    reply = call("save", {}, content=text.encode())
    assert message in error_message(reply, 400)
    assert snapshot(store) == before


def test_too_large_and_too_deep_bodies(api, jane, project, store, snapshot):
    before = snapshot(store)
    limit = store.settings.max_body_bytes
    headers = {**jane.headers, "Content-Type": "application/json"}
    big = (
        b'{"type": "mouse", "name": "m", "attributes": {"x": "' + b"a" * limit + b'"}}'
    )
    reply = api.post(API + "save", content=big, headers=headers)
    assert "larger than" in error_message(reply, 413)
    deep = b"[" * 100_000 + b"]" * 100_000
    reply = api.post(API + "save", content=deep, headers=headers)
    assert reply.status_code == 400
    nested = {"x": 1}
    for _ in range(40):
        nested = {"x": nested}
    body = {
        "type": "mouse",
        "name": "m",
        "project_id": project.id,
        "attributes": nested,
    }
    reply = api.post(API + "save", json=body, headers=jane.headers)
    assert "nested deeper than 32 levels" in error_message(reply, 400)
    assert snapshot(store) == before


# --------------------------------------------------------- ours: history


def test_history_and_revert_over_http(call, save, project):
    mouse = save("mouse", "m", {"sex": "F"})
    call(
        "update-one", {"type": "mouse", "id": mouse["id"]}, {"attributes": {"sex": "M"}}
    )
    versions = call("history", {"id": mouse["id"]}).json()
    assert [v["action"] for v in versions] == ["update", "create"]
    assert versions[0]["changes"] == {"attributes.sex": ["F", "M"]}
    assert versions[0]["changed_by"] == "Jane Doe"
    reply = call("revert", {"id": mouse["id"], "version": versions[1]["version"]})
    assert reply.status_code == 200, reply.text
    assert reply.json()["attributes"] == {"sex": "F"}
    page = call("history", {"project_id": project.id, "limit": "1"}).json()
    assert [v["action"] for v in page] == ["revert"]
    assert "version is required" in error_message(
        call("revert", {"id": mouse["id"]}), 400
    )
    reply = call("history", {"project_id": project.id, "limit": "0"})
    assert "limit must be a whole number from 1 to 1000" in error_message(reply, 400)


def test_trash_restore_and_export_are_the_members(
    call, save, tree, project, store, make_user, login
):
    call("delete", {"id": tree["session"]["id"]})
    (batch,) = call("trash").json()
    assert batch["root"] == "session PZAH6.4b_S20210513" and batch["count"] == 3
    stranger = login(make_user("stranger"))
    other = call.as_(stranger)
    assert other("trash").json() == []
    assert "No batch" in error_message(other("restore", {"batch": batch["batch"]}), 400)
    assert error_message(other("export", {"project_id": "test"}), 400) == (
        "No project named 'test'."
    )
    reply = call("restore", {"batch": batch["batch"]})
    assert reply.json() == {"restored": 3, "links_dropped": 0}
    dump = call("export", {"project_id": project.id}).json()
    assert list(dump) == ["PZAH6.4b"]
    assert "PZAH6.4b_S20210513" in dump["PZAH6.4b"]["children"]


def test_members_read_the_lab_settings(call, api, store, project, make_user, login):
    reply = call("settings")
    assert reply.status_code == 200, reply.text
    settings = reply.json()
    assert settings == store.lab_settings()
    recording = settings["datatypes"]["recording"]
    assert recording["allowed_parents"] == ["session"]
    assert "two_photon" in recording["attributes"]["recording_type"]["allowed"]
    nobody = call.as_(login(make_user("newcomer")))
    assert nobody("settings").json() == settings
    assert api.get(API + "settings").status_code == 403


def test_the_description_lists_the_endpoints_of_ours(api):
    paths = api.get(API + "openapi.json").json()["paths"]
    assert (
        "LabSettings"
        in paths["/settings"]["get"]["responses"]["200"]["content"]["application/json"][
            "schema"
        ]["$ref"]
    )
    for name in (
        "history",
        "revert",
        "trash",
        "restore",
        "export",
        "batch",
        "settings",
    ):
        assert "(ours)" in next(iter(paths[f"/{name}"].values()))["summary"]
    assert "(ours)" not in paths["/get"]["get"]["summary"]
