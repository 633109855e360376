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

import pytest
import schemathesis
from hypothesis import given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis import checks as schemathesis_checks

from flexilims.openapi import openapi_document
from servers import API

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
        for operation in case.body.get("operations") or []:
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
