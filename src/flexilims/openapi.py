"""The OpenAPI 3 description of the REST protocol, served at ``openapi.json``.

Derived from the declarations of :mod:`flexilims.protocol` (endpoints, their
parameters and bodies, the entity's fields, batch operations): this module
adds the shapes of replies that only the server builds and nothing else. A
test checks that every route of the server is described here.
"""

import copy
import functools

from .protocol import (
    BODIES,
    ENDPOINTS,
    ENTITY_FIELDS,
    ERROR_HEADER,
    ERROR_HEADER_TEXT_LIMIT,
    LINK_FIELDS,
    Value,
    operation_fields,
)
from .writes import VALUE_TYPES

_ID = {
    "type": "string",
    "pattern": "^[0-9a-f]{24}$",
    "example": "6094f7212597df357fa24a8c",
}

_SCHEMAS = {
    "text": {"type": "string"},
    "id": _ID,
    "integer": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
    "flag": {"type": "string", "enum": ["true", "false"], "default": "false"},
    "ids": {"type": "array", "items": _ID},
    "object": {"type": "object", "additionalProperties": True},
    "any": {},
}


def schema(value: Value) -> dict:
    """The JSON schema of a declared value."""
    if value.kind == "choice":
        found = {"type": "string", "enum": list(value.choices)}
    else:
        found = dict(_SCHEMAS[value.kind])
    if value.default not in (None, False):
        found["default"] = value.default
    return found


def _object(values, *, required=None, nullable=()) -> dict:
    properties = {}
    for value in values:
        properties[value.name] = {**schema(value), "description": value.description}
        if value.name in nullable:
            properties[value.name]["nullable"] = True
    found = {"type": "object", "properties": properties}
    required = [v.name for v in values if v.required] if required is None else required
    if required:
        found["required"] = required
    return found


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(reference: str) -> dict:
    return {"application/json": {"schema": _ref(reference)}}


def _reply(endpoint) -> dict:
    if endpoint.reply == "text":
        return {
            "description": "Plain text.",
            "content": {
                "text/plain": {
                    "schema": {"type": "string", "example": endpoint.example}
                }
            },
        }
    if endpoint.reply == "entities":
        return {
            "description": "Matching entities.",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/Entity"},
                    }
                }
            },
        }
    if endpoint.reply == "entity":
        return {"description": "The entity.", "content": _json("EntityWithLinks")}
    return {"description": endpoint.summary, "content": _json(endpoint.reply)}


def _parameter(value: Value) -> dict:
    return {
        "name": value.name,
        "in": "query",
        "required": value.required,
        "description": value.description,
        "schema": schema(value),
    }


def _operation(endpoint) -> dict:
    operation = {"summary": endpoint.summary + (" (ours)" if endpoint.ours else "")}
    if endpoint.description:
        operation["description"] = endpoint.description
    if endpoint.parameters:
        operation["parameters"] = [_parameter(value) for value in endpoint.parameters]
    if endpoint.body:
        operation["requestBody"] = {"required": True, "content": _json(endpoint.body)}
    responses = {"200": _reply(endpoint)}
    if endpoint.auth == "basic":
        operation["security"] = [{"basic": []}]
        responses["401"] = {"$ref": "#/components/responses/Unauthorized"}
        responses["429"] = {"$ref": "#/components/responses/TooManyRequests"}
    elif endpoint.auth == "none":
        operation["security"] = []
    else:
        responses["400"] = {"$ref": "#/components/responses/BadRequest"}
        responses["403"] = {"$ref": "#/components/responses/Forbidden"}
    if endpoint.dispatched and endpoint.method in ("POST", "PUT"):
        responses["413"] = {"$ref": "#/components/responses/PayloadTooLarge"}
    if endpoint.name == "batch":
        responses["422"] = {"$ref": "#/components/responses/IdempotencyKeyReused"}
    responses["503"] = {"$ref": "#/components/responses/Unavailable"}
    operation["responses"] = responses
    return operation


def _error(description: str, *, retry_after: bool = False) -> dict:
    headers = {}
    if retry_after:
        headers["Retry-After"] = {
            "description": "Seconds to wait before trying again.",
            "schema": {"type": "integer", "minimum": 1},
        }
    return {
        "description": description,
        "headers": {
            **headers,
            ERROR_HEADER: {
                "description": (
                    "The error's code and fields as JSON, e.g. "
                    '`{"code": "name_taken", "type": "mouse", "name": "M1", '
                    '"project": "lab", "field": "name"}` (ours): ASCII, other '
                    "characters escaped (`\\u00e9`), each text at most "
                    f"{ERROR_HEADER_TEXT_LIMIT} characters."
                ),
                "schema": {"type": "string"},
            },
        },
        "content": {
            "text/html": {
                "schema": {
                    "type": "string",
                    "description": (
                        "One line of HTML: `...<p><b>Type</b> Status Report</p><p>"
                        "<b>Message</b> MESSAGE</p><p><b>Description</b> ...</p>...`, "
                        "the message HTML-escaped."
                    ),
                }
            }
        },
    }


_VERSION = {
    "type": "object",
    "properties": {
        "version": {"type": "integer"},
        "id": _ID,
        "project": _ID,
        "action": {
            "type": "string",
            "enum": [
                "create",
                "update",
                "delete",
                "restore",
                "revert",
                "import",
                "purge",
            ],
        },
        "changed_by": {"type": "string"},
        "changed_at": {"type": "integer", "description": "ms since the epoch"},
        "before": {
            "allOf": [{"$ref": "#/components/schemas/Entity"}],
            "nullable": True,
        },
        "after": {"allOf": [{"$ref": "#/components/schemas/Entity"}], "nullable": True},
        "changes": {
            "type": "object",
            "description": "Each field or `attributes.KEY` that changed, as "
            "[before, after].",
            "additionalProperties": {"type": "array"},
        },
    },
}

_BATCH_RESULT = {
    "type": "object",
    "properties": {
        "created": {"type": "integer"},
        "updated": {"type": "integer"},
        "skipped": {"type": "integer"},
        "problems": {
            "type": "array",
            "description": "With dry_run: every refused operation.",
            "items": {
                "type": "object",
                "properties": {
                    "index": {"type": "integer"},
                    "message": {"type": "string"},
                    "detail": {"type": "string"},
                    "code": {"type": "string"},
                },
            },
        },
        "results": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "index": {"type": "integer"},
                    "ref": {"type": "string", "nullable": True},
                    "op": {"type": "string", "enum": ["create", "update"]},
                    "status": {
                        "type": "string",
                        "enum": ["created", "updated", "skipped"],
                    },
                    "id": _ID,
                    "type": {"type": "string"},
                    "name": {"type": "string"},
                },
            },
        },
    },
}


_ATTRIBUTE_RULE = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {"type": "string", "enum": list(VALUE_TYPES)},
        "required": {"type": "boolean"},
        "allowed": {"type": "array", "description": "The values it may take."},
        "description": {"type": "string"},
    },
}

_LAB_SETTINGS = {
    "type": "object",
    "required": ["datatypes"],
    "properties": {
        "datatypes": {
            "type": "object",
            "description": "Each datatype by name, in the settings' order.",
            "additionalProperties": {
                "type": "object",
                "required": ["project_scoped", "attributes"],
                "properties": {
                    "project_scoped": {"type": "boolean"},
                    "description": {"type": "string"},
                    "allowed_parents": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "Absent: any parent.",
                    },
                    "attributes": {
                        "type": "object",
                        "additionalProperties": _ATTRIBUTE_RULE,
                    },
                },
            },
        }
    },
}


@functools.cache
def _document() -> dict:
    entity = _object(ENTITY_FIELDS, required=[f.name for f in ENTITY_FIELDS])
    entity["properties"]["origin_id"]["nullable"] = True
    with_links = copy.deepcopy(entity)
    with_links["properties"].update(_object(LINK_FIELDS)["properties"])
    operation = _object(operation_fields().values())
    schemas = {
        "Entity": entity,
        "EntityWithLinks": with_links,
        **{name: _object(values) for name, values in BODIES.items()},
        "Batch": {
            "type": "object",
            "required": ["operations"],
            "properties": {"operations": {"type": "array", "items": operation}},
        },
        "BatchResult": _BATCH_RESULT,
        "ProjectList": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": _ID,
                    "uuid": _ID,
                    "name": {"type": "string"},
                    "dateCreated": {"type": "integer"},
                },
            },
        },
        "VersionList": {"type": "array", "items": _VERSION},
        "TrashList": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "batch": {"type": "string"},
                    "deleted_at": {"type": "integer"},
                    "deleted_by": {"type": "string"},
                    "project": _ID,
                    "count": {"type": "integer"},
                    "root": {"type": "string"},
                },
            },
        },
        "RestoreResult": {
            "type": "object",
            "properties": {
                "restored": {"type": "integer"},
                "links_dropped": {"type": "integer"},
            },
        },
        "Dump": {
            "type": "object",
            "description": (
                "Root entities keyed by name, each an entity with `customEntities` "
                "and `children` (the same shape, keyed by name)."
            ),
            "additionalProperties": {"type": "object"},
        },
        "LabSettings": _LAB_SETTINGS,
        "OpenAPI": {"type": "object"},
        "Health": {
            "type": "object",
            "required": ["database", "migrations"],
            "properties": {
                "database": {"type": "string", "enum": ["reachable", "unreachable"]},
                "migrations": {
                    "type": "string",
                    "enum": ["current", "not current", "unknown"],
                },
                "revision": {"type": "string", "nullable": True},
                "head": {"type": "string"},
                "message": {"type": "string"},
            },
        },
    }
    paths = {
        f"/{name}": {endpoint.method.lower(): _operation(endpoint)}
        for name, endpoint in ENDPOINTS.items()
    }
    # health answers 503 with its own JSON, not the error page.
    paths["/health"]["get"]["responses"]["503"] = {
        "description": "The database is unreachable or not at the newest migration.",
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
        "content": _json("Health"),
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "flexilims",
            "version": "1",
            "description": (
                "The Flexilims REST protocol. Errors are HTML pages whose "
                "`<b>Message</b>` paragraph holds the message; the "
                f"`{ERROR_HEADER}` header holds its code (ours)."
            ),
        },
        "servers": [{"url": "/flexilims/api"}],
        "security": [{"bearer": []}, {"cookie": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "basic": {"type": "http", "scheme": "basic"},
                "bearer": {"type": "http", "scheme": "bearer"},
                "cookie": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "flexilims_token",
                },
            },
            "responses": {
                "BadRequest": _error("A bad request; nothing was written."),
                "Unauthorized": _error("Wrong username or password."),
                "Forbidden": _error("No valid token, or no access to the project."),
                "PayloadTooLarge": _error(
                    "The body is larger than the server's `max_body_bytes`; "
                    "nothing was written."
                ),
                "IdempotencyKeyReused": _error(
                    "The idempotency key was sent with another request within a "
                    "day; nothing was written."
                ),
                "TooManyRequests": _error(
                    "Too many failed logins: wait and retry.", retry_after=True
                ),
                "Unavailable": _error(
                    "The database cannot be reached: retry later.", retry_after=True
                ),
            },
            "schemas": schemas,
        },
    }


def openapi_document() -> dict:
    """The OpenAPI 3 document of the API (a fresh copy each call)."""
    return copy.deepcopy(_document())
