"""The REST protocol of ../shared/flexilims-api.md, endpoint by endpoint, on the
server application in-process (Starlette's test client) with real tokens."""

import html
import json
import re
import time
import warnings

import pytest

from flexilims import protocol
from flexilims.accounts import Accounts
from flexilims.errors import AuthenticationFailed, BadRequest, Forbidden
from flexilims.server import create_app, error_page, error_response

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette: httpx is to become httpx2
    from starlette.testclient import TestClient

API = "/flexilims/api/"

#: The accepted field names, as the protocol document lists them.
FIELD_LIST = (
    "[type, name, origin_id, custom_entity_id, project_id, attributes, "
    "custom_entities, detach_custom_entities, id, date_created, created_by, "
    "date_created_operator, query_key, query_value, strict_validation, allow_nulls, "
    "external_resource, query_value_data_type, offset, limit, cross_project_entity]"
)
HINT = " If you have 'null' values please substitute (null) with empty string ('') "
ENTITY_FIELDS = {
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
}
HEX24 = re.compile(r"^[0-9a-f]{24}$")
MISSING = "0123456789abcdef01234567"


def error_message(reply, status: int) -> str:
    """Check an error reply's status and page shape; return its message."""
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"].startswith("text/html")
    found = re.match(r".*<b>Message</b>(.*)</p><p><b>Description</b>", reply.text)
    assert found, reply.text
    assert "<p><b>Type</b> Status Report</p><p><b>Message</b> " in reply.text
    raw = found.group(1)
    assert raw.startswith(" ") and not raw.startswith("  ")
    return html.unescape(raw[1:])


def names(reply) -> list[str]:
    """Names of the entities of a JSON list reply."""
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("application/json")
    return [entity["name"] for entity in reply.json()]


class Caller:
    """Requests as one user: ``call(operation, params, body)``."""

    def __init__(self, api, user):
        self.api = api
        self.user = user

    def __call__(self, operation, params=None, body=None, *, method=None, **kwargs):
        headers = self.user.headers if self.user else {}
        return self.api.request(
            method or protocol.METHODS[operation],
            API + operation,
            params=params,
            json=body,
            headers=headers,
            **kwargs,
        )

    def as_(self, user) -> "Caller":
        return Caller(self.api, user)


@pytest.fixture
def call(api, jane):
    return Caller(api, jane)


@pytest.fixture
def save(call, project):
    """``save(type, name, attributes, **body)``: create an entity, return it."""

    def create(datatype, name, attributes=None, strict=False, **body):
        body = {
            "type": datatype,
            "name": name,
            "project_id": project.id,
            "attributes": attributes or {},
            **body,
        }
        params = {"strict_validation": "true" if strict else "false"}
        reply = call("save", params, body)
        assert reply.status_code == 200, reply.text
        return reply.json()

    return create


@pytest.fixture
def tree(save):
    """mouse > session > recording > dataset, and mouse > sample."""
    mouse = save("mouse", "PZAH6.4b", {"sex": "F", "birth_date": "2021-05-05"})
    session = save(
        "session", "PZAH6.4b_S20210513", {"date": "2021-05-13"}, origin_id=mouse["id"]
    )
    recording = save(
        "recording",
        "R101",
        {"recording_type": "two_photon"},
        origin_id=session["id"],
    )
    dataset = save(
        "dataset",
        "ds1",
        {"path": "a/b", "dataset_type": "scanimage"},
        origin_id=recording["id"],
    )
    sample = save("sample", "brain", {}, origin_id=mouse["id"])
    return {
        "mouse": mouse,
        "session": session,
        "recording": recording,
        "dataset": dataset,
        "sample": sample,
    }


# -------------------------------------------------------------- transport


def test_error_page_shape(call, project, save):
    save("mouse", "o'brien")
    body = {"type": "mouse", "name": "o'brien", "project_id": project.id}
    reply = call("save", {"strict_validation": "false"}, body)
    message = error_message(reply, 400)
    assert message == (
        "Save failed. Check mouse name. Mouse o'brien already exist in the project "
        "test." + HINT
    )
    # Quotes are escaped as &#39;, and nothing before the end of the
    # Description paragraph crosses a line.
    assert "Mouse o&#39;brien already exist" in reply.text
    assert "(&#39;&#39;) </p><p><b>Description</b> " in reply.text
    head = reply.text.split("<p><b>Description</b>")[1].split("</p>")[0]
    assert head.startswith(" The server cannot or will not process the request")
    assert "\n" not in reply.text.split("<p><b>Description</b>")[0] + head


def test_newlines_in_messages_stay_on_one_line():
    text = "two\nlines & <tags> \"and\" 'quotes'"
    page = error_page(400, text)
    found = re.match(r".*<b>Message</b>(.*)</p><p><b>Description</b>", page)
    assert html.unescape(found.group(1)) == " " + text
    assert "&#39;quotes&#39;" in page and "&lt;tags&gt;" in page


@pytest.mark.parametrize(
    "error, status, message",
    [
        (BadRequest("bad"), 400, "bad"),
        (Forbidden("no"), 403, "no"),
        (AuthenticationFailed("who"), 401, "who"),
        (
            ZeroDivisionError("secret detail"),
            500,
            "internal server error (ZeroDivisionError)",
        ),
    ],
)
def test_one_function_renders_every_error(error, status, message):
    response = error_response(error)
    assert response.status_code == status
    found = re.match(
        r".*<b>Message</b>(.*)</p><p><b>Description</b>", response.body.decode()
    )
    assert html.unescape(found.group(1)) == " " + message


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", API + "nothing"),
        ("POST", API + "nothing"),
        ("GET", API),
        ("GET", API + "get/extra"),
        ("GET", "/"),
        ("GET", "/flexilims/get"),
    ],
)
def test_unknown_path_is_404(api, jane, method, path):
    for headers in ({}, jane.headers):
        reply = api.request(method, path, headers=headers)
        assert error_message(reply, 404) == f"no endpoint {path}"


@pytest.mark.parametrize("operation", sorted(protocol.METHODS))
def test_wrong_method_is_405(call, operation):
    expected = protocol.METHODS[operation]
    if expected == "GET":
        expected = "GET, HEAD"
    reply = call(operation, method="PATCH")
    message = error_message(reply, 405)
    assert message == f"PATCH is not allowed on {API}{operation}; use {expected}"
    assert reply.headers["allow"] == expected


def test_json_and_text_replies(call, tree):
    reply = call("get", {"id": tree["mouse"]["id"]})
    assert reply.headers["content-type"] == "application/json"
    reply = call("delete", {"id": tree["sample"]["id"]})
    assert reply.headers["content-type"].startswith("text/plain")
    assert reply.text == "deleted successfully null"


# ------------------------------------------------------------ authenticate


def test_authenticate_gives_a_new_token_each_call(api, project, make_user):
    user = make_user("jane", projects=["test"])
    first = api.post(API + "authenticate", auth=(user.username, user.password))
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/plain")
    token = first.text
    assert len(token) >= 32 and token.strip() == token
    cookie = first.headers["set-cookie"]
    assert cookie.startswith(f"flexilims_token={token};")
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    api.cookies.clear()
    second = api.post(API + "authenticate", auth=(user.username, user.password))
    assert second.status_code == 200 and second.text != token
    for each in (token, second.text):
        reply = api.get(API + "projects", headers={"Authorization": f"Bearer {each}"})
        assert reply.status_code == 200
        assert [p["name"] for p in reply.json()] == ["test"]


@pytest.mark.parametrize(
    "auth, headers",
    [
        (("jane", "wrong"), {}),
        (("nobody", "jane-secret"), {}),
        (("jane", ""), {}),
        (None, {}),
        (None, {"Authorization": "Basic !!!notbase64"}),
        (None, {"Authorization": "Basic amFuZQ=="}),  # "jane", no colon
        (None, {"Authorization": "Bearer sometoken"}),
    ],
)
def test_authenticate_with_wrong_credentials_is_401(api, make_user, auth, headers):
    make_user("jane")
    reply = api.post(API + "authenticate", auth=auth, headers=headers)
    message = error_message(reply, 401)
    assert message in (
        "Wrong username or password",
        "authenticate with HTTP Basic username and password",
        "malformed HTTP Basic credentials",
    )
    assert reply.headers["www-authenticate"] == 'Basic realm="flexilims"'
    assert "set-cookie" not in reply.headers


def test_a_user_without_password_cannot_log_in(api, store):
    Accounts(store).add_user("robot", None)
    reply = api.post(API + "authenticate", auth=("robot", ""))
    assert error_message(reply, 401) == "Wrong username or password"


def test_the_token_cookie_authenticates(api, project, make_user):
    user = make_user("jane", projects=["test"])
    api.post(API + "authenticate", auth=(user.username, user.password))
    reply = api.get(API + "get", params={"type": "mouse", "project_id": project.id})
    assert reply.status_code == 200 and reply.json() == []
    api.cookies.clear()
    reply = api.get(API + "get", params={"type": "mouse", "project_id": project.id})
    assert reply.status_code == 403


def test_revoke_ends_only_the_calling_token(call, api, jane, login, make_user):
    other = login(make_user("bob"))
    second = Caller(api, type(jane)(jane.username, jane.password, jane.full_name))
    login(second.user)
    reply = call("revoke", method="POST")
    assert reply.status_code == 200 and reply.text == "token revoked"
    assert error_message(call("projects"), 403) == (
        "token not valid or expired: authenticate again"
    )
    assert error_message(call("revoke", method="POST"), 403)
    assert second("projects").status_code == 200
    assert call.as_(other)("projects").status_code == 200


def test_token_lifetime_is_configurable(database_url, store, project, make_user):
    user = make_user("jane", projects=["test"])
    app = create_app(database_url, token_lifetime_hours=0.2 / 3600)
    with TestClient(app) as client:
        token = client.post(API + "authenticate", auth=(user.username, user.password))
        client.cookies.clear()
        headers = {"Authorization": f"Bearer {token.text}"}
        assert client.get(API + "projects", headers=headers).status_code == 200
        time.sleep(0.3)
        reply = client.get(API + "projects", headers=headers)
        assert error_message(reply, 403) == (
            "token not valid or expired: authenticate again"
        )
    app.state.store.engine.dispose()


def test_app_from_env(database_url, monkeypatch):
    from flexilims.server import app_from_env

    monkeypatch.setenv("FLEXILIMS_DATABASE_URL", database_url)
    monkeypatch.setenv("FLEXILIMS_TOKEN_LIFETIME_HOURS", "1.5")
    app = app_from_env()
    assert app.state.api.token_lifetime_ms == 5_400_000
    assert app.state.store.engine.url.database in database_url
    app.state.store.engine.dispose()
    monkeypatch.setenv("FLEXILIMS_TOKEN_LIFETIME_HOURS", "a day")
    with pytest.raises(ValueError, match="is not a number of hours"):
        app_from_env()


def test_create_app_refuses_a_bad_lifetime(database_url):
    with pytest.raises(ValueError, match="positive"):
        create_app(database_url, token_lifetime_hours=0)


# -------------------------------------------------------------------- auth

ENDPOINTS = sorted([*protocol.METHODS, "revoke"])


def _method(operation):
    return protocol.METHODS.get(operation, "POST")


@pytest.fixture
def bad_tokens(store, jane):
    """Headers that carry no valid token, by kind."""
    accounts = Accounts(store)
    expired = accounts.authenticate(jane.username, jane.password, lifetime_ms=1)
    revoked = accounts.authenticate(jane.username, jane.password)
    accounts.revoke_token(revoked)
    time.sleep(0.01)
    return {
        "none": {},
        "empty": {"Authorization": "Bearer "},
        "wrong": {"Authorization": "Bearer not-a-token"},
        "basic": {"Authorization": "Basic amFuZTpqYW5lLXNlY3JldA=="},
        "expired": {"Authorization": f"Bearer {expired}"},
        "revoked": {"Authorization": f"Bearer {revoked}"},
        "expired cookie": {"Cookie": f"flexilims_token={expired}"},
    }


@pytest.mark.parametrize("operation", ENDPOINTS)
def test_every_endpoint_needs_a_valid_token(api, tree, bad_tokens, operation, store):
    params = {
        "id": tree["dataset"]["id"],
        "type": "dataset",
        "project_id": tree["mouse"]["project"],
        "update_key": "path",
        "update_value": "x",
    }
    if operation == "get":
        params = {"id": tree["dataset"]["id"]}
    body = {
        "type": "mouse",
        "name": "intruder",
        "project_id": tree["mouse"]["project"],
        "attributes": {"path": "x"},
    }
    for kind, headers in bad_tokens.items():
        reply = api.request(
            _method(operation),
            API + operation,
            params=params,
            json=body,
            headers=headers,
        )
        message = error_message(reply, 403)
        assert "token" in message, (kind, message)
    with store.read() as conn:
        count = conn.exec_driver_sql("SELECT count(*) FROM entities").scalar()
    assert count == 5


def test_a_user_outside_a_project_can_neither_read_nor_write_it(
    call, api, tree, make_user, login, store, project
):
    bob = login(make_user("bob"))
    Accounts(store).create_project("bobs")
    Accounts(store).add_member("bob", "bobs")
    bob = login(bob)
    as_bob = call.as_(bob)
    mouse, dataset = tree["mouse"], tree["dataset"]
    forbidden = [
        as_bob("get", {"type": "mouse", "project_id": project.id}),
        as_bob("get", {"project_id": project.id, "name": "PZAH6.4b"}),
        as_bob(
            "save",
            {"strict_validation": "false"},
            {"type": "mouse", "name": "m2", "project_id": project.id, "attributes": {}},
        ),
        as_bob("update-one", {"type": "mouse", "id": mouse["id"]}, {"name": "x"}),
        as_bob(
            "update-many",
            {
                "type": "dataset",
                "project_id": project.id,
                "update_key": "path",
                "update_value": "stolen",
            },
        ),
        as_bob("delete", {"id": mouse["id"]}),
    ]
    for reply in forbidden:
        message = error_message(reply, 403)
        assert message.startswith("user bob "), message
    # Reads that do not name the project see nothing of it.
    assert as_bob("get", {"id": mouse["id"]}).json() == []
    assert as_bob("get", {"name": "PZAH6.4b"}).json() == []
    assert as_bob("get", {"type": "mouse", "cross_project_entity": "yes"}).json() == []
    assert as_bob("get-children", {"id": mouse["id"]}).json() == []
    assert as_bob("get-descendants", {"id": mouse["id"]}).json() == []
    assert [p["name"] for p in as_bob("projects").json()] == ["bobs"]
    # He cannot hang his entities under hers either.
    reply = as_bob(
        "save",
        {"strict_validation": "false"},
        {
            "type": "sample",
            "name": "s",
            "project_id": Accounts(store).project("bobs").id,
            "origin_id": mouse["id"],
        },
    )
    assert error_message(reply, 403).startswith("user bob has no access")
    # Nothing of hers changed.
    after = call("get", {"type": "dataset", "project_id": project.id}).json()
    assert after == call("get", {"id": dataset["id"]}).json()
    assert after[0]["attributes"]["path"] == "a/b"
    assert len(call("get-descendants", {"id": mouse["id"]}).json()) == 4


def test_an_admin_sees_every_project(call, tree, make_user, login, store):
    Accounts(store).create_project("other")
    admin = call.as_(login(make_user("root", admin=True)))
    assert [p["name"] for p in admin("projects").json()] == ["other", "test"]
    assert names(admin("get", {"id": tree["mouse"]["id"]})) == ["PZAH6.4b"]
    reply = admin(
        "update-one",
        {"type": "mouse", "id": tree["mouse"]["id"]},
        {"attributes": {"sex": "M"}},
    )
    assert reply.status_code == 200
    assert reply.json()["createdBy"] == "Jane Doe"


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
            "date_created_operator must be gt or lt",
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
    found = call("get", {"type": "mouse", "name": "twin"})
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
    entity = update(
        call, sample, {"name": "cortex", "origin_id": tree["session"]["id"]}
    )
    assert entity.status_code == 200
    assert entity.json()["name"] == "cortex"
    assert entity.json()["origin_id"] == tree["session"]["id"]
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


# ----------------------------------------------------------------- OpenAPI


def test_openapi_describes_every_endpoint(api, app):
    reply = api.get(API + "openapi.json")
    assert reply.status_code == 200
    document = reply.json()
    assert document["openapi"].startswith("3.")
    assert document["servers"] == [{"url": "/flexilims/api"}]
    served = {
        (route.path.removeprefix(API.rstrip("/")), method.lower())
        for route in app.routes
        for method in route.methods
        if method != "HEAD"
    }
    described = {
        (path, method)
        for path, operations in document["paths"].items()
        for method in operations
    }
    assert served == described
    get_parameters = {p["name"] for p in document["paths"]["/get"]["get"]["parameters"]}
    assert get_parameters == {
        "type",
        "project_id",
        "id",
        "name",
        "origin_id",
        "query_key",
        "query_value",
        "created_by",
        "date_created",
        "date_created_operator",
        "cross_project_entity",
        "offset",
        "limit",
    }
    assert get_parameters <= set(protocol.VALID_FIELDS)
    for path, operations in document["paths"].items():
        for operation in operations.values():
            assert "200" in operation["responses"], path
            for reference in re.findall(r'"\$ref": "#/([^"]+)"', json.dumps(operation)):
                section, kind, name = reference.split("/")
                assert name in document[section][kind], reference
