"""Expectations shared by the protocol and server tests: the protocol's field
list and hint, the shape of entities, and checks of replies."""

import html
import re

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
