"""The server's transport: error pages, unknown paths, authentication, tokens,
who may see what, and the OpenAPI description (in-process, real tokens).

The endpoints themselves are tested in ``test_protocol.py``."""

import html
import json
import re
import time
import warnings

import pytest

from flexilims import protocol
from flexilims.errors import AuthenticationFailed, BadRequest, Forbidden
from flexilims.server import create_app, error_page, error_response
from flexilims.store.accounts import Accounts
from protocol_checks import (
    HINT,
    error_message,
    names,
)
from servers import API

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette: httpx is to become httpx2
    from starlette.testclient import TestClient


# -------------------------------------------------------------- transport


def test_error_page_shape(call, project, save):
    save("mouse", "o'brien")
    body = {"type": "mouse", "name": "o'brien", "project_id": project.id}
    reply = call("save", {"strict_validation": "false"}, body)
    message = error_message(reply, 400)
    assert message == (
        "Save failed. Check sample name. Sample o'brien already exist in the project "
        "test." + HINT
    )
    # Quotes are escaped as &#39;, and nothing before the end of the
    # Description paragraph crosses a line.
    assert "Sample o&#39;brien already exist" in reply.text
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


def send_json(api, user, operation, params, body):
    """A request whose body is JSON as ``json.dumps`` writes it: lone
    surrogates escaped (``"\\ud800"``), as any client may send."""
    return api.request(
        protocol.METHODS[operation],
        API + operation,
        params=params,
        content=json.dumps(body).encode(),
        headers={**user.headers, "Content-Type": "application/json"},
    )


def test_the_error_header_is_ascii_json_with_short_texts(
    api, jane, project, store, snapshot
):
    """Header values are Latin-1: a type in Cyrillic was a 500. A type of
    100,000 characters made a header line no client reads."""
    before = snapshot(store)
    body = {"type": "мышь", "name": "M1", "project_id": project.id}
    reply = send_json(api, jane, "save", {}, body)
    assert error_message(reply, 400) == "type provided is not defined"
    header = reply.headers[protocol.ERROR_HEADER]
    assert header.isascii() and "'мышь'" in json.loads(header)["detail"]
    long_type = "é" * 100_000
    reply = send_json(api, jane, "save", {}, {**body, "type": long_type})
    assert error_message(reply, 400) == "type provided is not defined"
    details = json.loads(reply.headers[protocol.ERROR_HEADER])
    assert len(details["detail"]) == protocol.ERROR_HEADER_TEXT_LIMIT
    assert details["detail"].endswith("\u2026")
    assert details["code"] == "type_not_defined"
    assert snapshot(store) == before


def test_a_lone_surrogate_quoted_back_is_escaped_not_a_500(
    api, jane, project, store, snapshot
):
    before = snapshot(store)
    body = {"type": "mouse", "name": "M1", "project_id": project.id}
    reply = send_json(api, jane, "save", {}, {**body, "attributes": {"\ud800": 1}})
    assert "'\\ud800' is not a valid attribute name" in error_message(reply, 400)
    reply = send_json(api, jane, "save", {}, {**body, "type": "\ud800"})
    assert error_message(reply, 400) == "type provided is not defined"
    assert "\ud800" in json.loads(reply.headers[protocol.ERROR_HEADER])["detail"]
    operations = [{**body, "attributes": {"\ud800": 1}}]
    params = {"project_id": project.id, "dry_run": "true"}
    reply = send_json(api, jane, "batch", params, {"operations": operations})
    assert reply.status_code == 200
    assert "'\ud800'" in reply.json()["problems"][0]["message"]
    operations = [{**body, "ref": "\ud800"}]
    reply = send_json(
        api, jane, "batch", params | {"dry_run": "false"}, {"operations": operations}
    )
    message = error_message(reply, 400)
    assert message == (
        "Batch failed at operation 0: ref holds a lone surrogate (\\ud800), "
        "which is not valid Unicode text"
    )
    assert snapshot(store) == before


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", API + "nothing"),
        ("POST", API + "nothing"),
        ("GET", API),
        ("GET", API + "get/extra"),
        ("GET", "/flexilims/"),
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
    second = call.as_(type(jane)(jane.username, jane.password, jane.full_name))
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
    with pytest.raises(ValueError, match="'a day' is not a valid float"):
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
        if route.path.startswith(API)  # not the web pages
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
