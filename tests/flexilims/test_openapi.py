"""The server against its own OpenAPI description (schemathesis, in-process).

Schemathesis reads ``openapi.json`` from the ASGI app and makes requests to
every endpoint from the description, valid ones and ones that break it, sent
as a real member of a project holding a real tree of entities, with a token
got by logging in. Every reply must be a non-5xx status the description
lists, with the documented content type, headers and shape, and no endpoint
may answer without a token. Runs on SQLite, and on PostgreSQL when
``FLEXILIMS_TEST_POSTGRES_URL`` is set.
"""

import dataclasses
import warnings
from dataclasses import replace

import pytest
import schemathesis
from hypothesis import given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis import checks as schemathesis_checks

from flexilims import protocol
from flexilims.openapi import openapi_document
from flexilims.server import create_app
from flexilims.settings import load
from servers import API

pytestmark = pytest.mark.slow

#: The checks of replies: no 5xx, documented status codes, content types,
#: headers and shapes, and no endpoint answering without a token.
#: (``negative_data_rejection`` is left out: the protocol ignores query
#: parameters it does not declare, as Flexilims does.)
CHECKS = [
    schemathesis_checks.not_a_server_error,
    schemathesis_checks.status_code_conformance,
    schemathesis_checks.content_type_conformance,
    schemathesis_checks.response_headers_conformance,
    schemathesis_checks.response_schema_conformance,
    schemathesis_checks.ignored_auth,
]

#: Every operation of the description, as (method, path).
OPERATIONS = [
    (method.upper(), path)
    for path, methods in openapi_document()["paths"].items()
    for method in methods
]

#: Requests per endpoint and backend (the profile's, halved: 19 endpoints).
EXAMPLES = max(1, settings().max_examples // 2)


def with_known_values(case, known: dict, data) -> None:
    """Swap, half of the time, each id or type of a request for one the
    database holds, so that requests reach past "not found"."""

    def swap(fields) -> None:
        if not isinstance(fields, dict):
            return
        for key, values in known.items():
            if key in fields and data.draw(st.booleans()):
                fields[key] = data.draw(st.sampled_from(values))

    swap(case.query)
    if isinstance(case.body, dict):
        swap(case.body)
        operations = case.body.get("operations")
        for operation in operations if isinstance(operations, list) else []:
            swap(operation)


@pytest.mark.parametrize("method, path", OPERATIONS, ids=[p for _, p in OPERATIONS])
def test_every_reply_is_documented_and_none_is_a_server_error(
    app, project, tree, jane, login, method, path
):
    schema = schemathesis.openapi.from_asgi(API + "openapi.json", app)
    operation = schema[path][method]
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    known = {
        "id": [entity["id"] for entity in tree.values()],
        "origin_id": [entity["id"] for entity in tree.values()],
        "project_id": [project.id],
        "type": sorted({entity["type"] for entity in tree.values()}),
    }

    @settings(max_examples=EXAMPLES)
    @given(case=cases, data=st.data())
    def check(case, data):
        with_known_values(case, known, data)
        headers = jane.headers
        if path == "/revoke":
            # Revoking ends the token it is sent with: a token of its own.
            headers = login(dataclasses.replace(jane)).headers
        case.call_and_validate(headers=headers, checks=CHECKS)

    check()


def test_refusals_the_fuzzer_cannot_reach_are_documented(
    database_url, project, make_user
):
    """A body over the server's limit (413) on every endpoint that reads one,
    and an idempotency key sent with another batch (422): documented
    statuses and shapes (the description lacked both)."""
    app = create_app(database_url, settings=replace(load(), max_body_bytes=1000))
    user = make_user("jane", projects=["test"])
    schema = schemathesis.openapi.from_asgi(API + "openapi.json", app)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Starlette: httpx is to become httpx2
        from starlette.testclient import TestClient
    with TestClient(app) as client:
        token = client.post(API + "authenticate", auth=(user.username, user.password))
        headers = {"Authorization": f"Bearer {token.text}"}
        readers = [
            (method, path)
            for method, path in OPERATIONS
            if method in ("POST", "PUT") and path[1:] in protocol.METHODS
        ]
        assert {path for _, path in readers} >= {"/save", "/update-one", "/batch"}
        for method, path in readers:
            big = {"operations": [], "padding": "x" * 2000}
            reply = client.request(method, API + path[1:], json=big, headers=headers)
            assert reply.status_code == 413, path
            schema[path][method].validate_response(reply)
            assert "413" in schema[path][method].definition.raw["responses"], path
        key = {protocol.IDEMPOTENCY_HEADER: "k1", **headers}
        body = {"type": "mouse", "name": "M1"}
        for name, status in (("M1", 200), ("M2", 422)):
            reply = client.post(
                API + "batch",
                params={"project_id": project.id},
                json={"operations": [{**body, "name": name}]},
                headers=key,
            )
            assert reply.status_code == status, reply.text
            schema["/batch"]["POST"].validate_response(reply)
        assert "422" in schema["/batch"]["POST"].definition.raw["responses"]
    app.state.store.engine.dispose()
