"""The OpenAPI 3 description of the REST protocol, served at ``openapi.json``.

Hand-written, so that it documents the protocol (the contract with existing
Flexilims clients) rather than whatever the code happens to accept; a test
checks that every route of the server is described here.
"""

import copy

from .protocol import VALID_FIELDS

_ID = {
    "type": "string",
    "pattern": "^[0-9a-f]{24}$",
    "example": "6094f7212597df357fa24a8c",
}


def _query(name: str, description: str, schema=None, required=False) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": schema or {"type": "string"},
    }


_FLAG = {"type": "string", "enum": ["true", "false"], "default": "false"}
_STRICT = _query(
    "strict_validation",
    "`true`: every attribute of the resulting entity must be defined in the lab "
    "settings.",
    _FLAG,
)

_ERRORS = {
    "400": {"$ref": "#/components/responses/BadRequest"},
    "403": {"$ref": "#/components/responses/Forbidden"},
}


def _json(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


def _entities(description: str) -> dict:
    return {
        "description": description,
        "content": _json(
            {"type": "array", "items": {"$ref": "#/components/schemas/Entity"}}
        ),
    }


def _text(description: str, example: str) -> dict:
    return {
        "description": description,
        "content": {"text/plain": {"schema": {"type": "string", "example": example}}},
    }


_GET_PARAMETERS = [
    _query("type", "Datatype of the entities (defined in the lab settings)."),
    _query("project_id", "Project (24-hex id).", _ID),
    _query("id", "Entity id (24-hex).", _ID),
    _query("name", "Entity name, exact."),
    _query("origin_id", "Id of the parent entity.", _ID),
    _query("query_key", "Attribute to filter on (with `query_value`)."),
    _query("query_value", "Value of `query_key`, exact match."),
    _query("created_by", "Full name of the creator."),
    _query("date_created", "Milliseconds since the epoch.", {"type": "integer"}),
    _query(
        "date_created_operator",
        "`gt` (created at or after `date_created`) or `lt` (at or before).",
        {"type": "string", "enum": ["gt", "lt"], "default": "gt"},
    ),
    _query(
        "cross_project_entity",
        "`yes`: search every project the user can see.",
        {"type": "string", "enum": ["yes", "no"], "default": "no"},
    ),
    _query("offset", "Skip this many entities.", {"type": "integer", "minimum": 0}),
    _query("limit", "Return at most this many.", {"type": "integer", "minimum": 0}),
]

_PATHS = {
    "/authenticate": {
        "post": {
            "summary": "Get a token",
            "description": (
                "Check HTTP Basic credentials and issue a new token (also set as "
                "the `flexilims_token` cookie). Send it as "
                "`Authorization: Bearer <token>` to every other endpoint."
            ),
            "security": [{"basic": []}],
            "responses": {
                "200": _text("The token.", "kP3x...Qw"),
                "401": {"$ref": "#/components/responses/Unauthorized"},
            },
        }
    },
    "/revoke": {
        "post": {
            "summary": "Revoke the calling token (ours)",
            "responses": {
                "200": _text("Done.", "token revoked"),
                "403": {"$ref": "#/components/responses/Forbidden"},
            },
        }
    },
    "/get": {
        "get": {
            "summary": "Find entities",
            "description": (
                "Entities matching every given filter. Any other parameter is "
                "refused with ` NAME is not valid. Valid fields are "
                f"[{', '.join(VALID_FIELDS)}]`."
            ),
            "parameters": _GET_PARAMETERS,
            "responses": {
                "200": _entities("Matching entities, oldest first."),
                **_ERRORS,
            },
        }
    },
    "/get-children": {
        "get": {
            "summary": "Direct children of an entity",
            "parameters": [_query("id", "Parent entity id.", _ID, required=True)],
            "responses": {"200": _entities("The children, all types."), **_ERRORS},
        }
    },
    "/get-descendants": {
        "get": {
            "summary": "Every entity below an entity (ours)",
            "parameters": [
                _query("id", "Ancestor entity id.", _ID, required=True),
                _query("type", "Comma-separated datatypes to keep."),
            ],
            "responses": {"200": _entities("The descendants, any depth."), **_ERRORS},
        }
    },
    "/projects": {
        "get": {
            "summary": "Projects the user can see",
            "responses": {
                "200": {
                    "description": "The projects.",
                    "content": _json(
                        {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Project"},
                        }
                    ),
                },
                **_ERRORS,
            },
        }
    },
    "/save": {
        "post": {
            "summary": "Create an entity",
            "description": (
                "Attribute names are lower-cased. The reply echoes the attributes "
                "as sent; empty lists and dicts are stored as null."
            ),
            "parameters": [_STRICT],
            "requestBody": {
                "required": True,
                "content": _json({"$ref": "#/components/schemas/NewEntity"}),
            },
            "responses": {
                "200": {
                    "description": "The created entity.",
                    "content": _json({"$ref": "#/components/schemas/EntityWithLinks"}),
                },
                **_ERRORS,
            },
        }
    },
    "/update-one": {
        "put": {
            "summary": "Update one entity",
            "description": (
                "Attributes given are merged into the existing ones; `null` sets "
                "an attribute to null; empty strings are ignored unless "
                "`allow_nulls=true`."
            ),
            "parameters": [
                _query("type", "Datatype of the entity.", required=True),
                _query("id", "Entity id.", _ID, required=True),
                _STRICT,
                _query("allow_nulls", "`true`: write empty strings.", _FLAG),
            ],
            "requestBody": {
                "required": False,
                "content": _json({"$ref": "#/components/schemas/EntityChange"}),
            },
            "responses": {
                "200": {
                    "description": "The updated entity.",
                    "content": _json({"$ref": "#/components/schemas/EntityWithLinks"}),
                },
                **_ERRORS,
            },
        }
    },
    "/update-many": {
        "put": {
            "summary": "Set one attribute on many entities",
            "parameters": [
                _query("type", "Datatype.", required=True),
                _query("project_id", "Project.", _ID, required=True),
                _query("update_key", "Attribute to set.", required=True),
                _query("update_value", "Its new value.", required=True),
                _query("query_key", "Only entities with this attribute..."),
                _query("query_value", "...equal to this value."),
                _STRICT,
            ],
            "responses": {
                "200": _text(
                    "A summary.",
                    "updated successfully 3 items of type session with path=a/b",
                ),
                **_ERRORS,
            },
        }
    },
    "/delete": {
        "delete": {
            "summary": "Delete an entity and everything below it",
            "description": "Deleted entities go to the trash (ours).",
            "parameters": [_query("id", "Entity id.", _ID, required=True)],
            "responses": {
                "200": _text("Done.", "deleted successfully null"),
                **_ERRORS,
            },
        }
    },
    "/batch": {
        "post": {
            "summary": "Creations and updates in one transaction (ours)",
            "description": (
                "All or nothing: every operation is carried out, or the first "
                "refusal is reported (naming the operation's index) and nothing "
                "is written. A later operation names an entity an earlier one "
                "created with `origin_ref`."
            ),
            "parameters": [
                _query("project_id", "Project of creations that name none.", _ID),
                _query(
                    "conflicts",
                    "When a creation's name is taken.",
                    {
                        "type": "string",
                        "enum": ["abort", "skip", "update", "overwrite"],
                        "default": "abort",
                    },
                ),
                _STRICT,
                _query("allow_nulls", "`true`: write empty strings.", _FLAG),
                _query(
                    "dry_run",
                    "`true`: check every operation, write nothing, list each "
                    "refusal in `problems`.",
                    _FLAG,
                ),
            ],
            "requestBody": {
                "required": True,
                "content": _json({"$ref": "#/components/schemas/Batch"}),
            },
            "responses": {
                "200": {
                    "description": "Counts and one result per operation.",
                    "content": _json({"$ref": "#/components/schemas/BatchResult"}),
                },
                **_ERRORS,
            },
        }
    },
    "/health": {
        "get": {
            "summary": "Whether the server can serve (ours, for load balancers)",
            "description": (
                "No token needed. 200 when the database answers and is at the "
                "newest migration; 503 with `Retry-After` otherwise."
            ),
            "security": [],
            "responses": {
                "200": {
                    "description": "Healthy.",
                    "content": _json({"$ref": "#/components/schemas/Health"}),
                },
                "503": {
                    "description": "The database is unreachable or not migrated.",
                    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                    "content": _json({"$ref": "#/components/schemas/Health"}),
                },
            },
        }
    },
    "/openapi.json": {
        "get": {
            "summary": "This description",
            "security": [],
            "responses": {
                "200": {"description": "OpenAPI 3 document.", "content": _json({})}
            },
        }
    },
}

_ERROR_PAGE = {
    "text/html": {
        "schema": {
            "type": "string",
            "description": (
                "One line of HTML: `...<p><b>Type</b> Status Report</p><p><b>Message"
                "</b> MESSAGE</p><p><b>Description</b> ...</p>...`, the message "
                "HTML-escaped."
            ),
        }
    }
}

_ATTRIBUTES = {
    "type": "object",
    "additionalProperties": True,
    "example": {"birth_date": "2021-05-05"},
}

_ENTITY_PROPERTIES = {
    "id": _ID,
    "type": {"type": "string", "example": "mouse"},
    "name": {"type": "string", "example": "PZAH6.4b"},
    "incrementalId": {"type": "string", "example": "MOUSE0000002"},
    "attributes": _ATTRIBUTES,
    "createdBy": {"type": "string", "example": "Jane Doe"},
    "dateCreated": {"type": "integer", "description": "ms since the epoch"},
    "dateUpdated": {"type": "integer", "description": "ms since the epoch"},
    "project": _ID,
    "origin_id": {**_ID, "nullable": True},
}

_COMPONENTS = {
    "securitySchemes": {
        "basic": {"type": "http", "scheme": "basic"},
        "bearer": {"type": "http", "scheme": "bearer"},
        "cookie": {"type": "apiKey", "in": "cookie", "name": "flexilims_token"},
    },
    "responses": {
        "BadRequest": {"description": "A bad request.", "content": _ERROR_PAGE},
        "Unauthorized": {
            "description": "Wrong username or password.",
            "content": _ERROR_PAGE,
        },
        "Forbidden": {
            "description": "No valid token, or no access to the project.",
            "content": _ERROR_PAGE,
        },
    },
    "schemas": {
        "Entity": {
            "type": "object",
            "properties": _ENTITY_PROPERTIES,
            "required": list(_ENTITY_PROPERTIES),
        },
        "EntityWithLinks": {
            "type": "object",
            "properties": {
                **_ENTITY_PROPERTIES,
                "customEntities": {"type": "array", "items": _ID},
                "objects": {"type": "object"},
            },
        },
        "NewEntity": {
            "type": "object",
            "required": ["type", "name", "project_id"],
            "properties": {
                "type": {"type": "string"},
                "name": {"type": "string"},
                "project_id": _ID,
                "attributes": _ATTRIBUTES,
                "origin_id": _ID,
                "other_relations": {"type": "array", "items": _ID},
            },
        },
        "EntityChange": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "origin_id": _ID,
                "attributes": _ATTRIBUTES,
                "other_relations": {"type": "array", "items": _ID},
            },
        },
        "Batch": {
            "type": "object",
            "required": ["operations"],
            "properties": {
                "operations": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["type"],
                        "properties": {
                            "op": {
                                "type": "string",
                                "enum": ["create", "update"],
                                "default": "create",
                            },
                            "ref": {"type": "string"},
                            "type": {"type": "string"},
                            "name": {"type": "string"},
                            "id": _ID,
                            "project_id": _ID,
                            "origin_id": _ID,
                            "origin_ref": {"type": "string"},
                            "attributes": _ATTRIBUTES,
                            "other_relations": {"type": "array", "items": _ID},
                            "conflicts": {
                                "type": "string",
                                "enum": ["abort", "skip", "update", "overwrite"],
                            },
                        },
                    },
                }
            },
        },
        "BatchResult": {
            "type": "object",
            "properties": {
                "created": {"type": "integer"},
                "updated": {"type": "integer"},
                "skipped": {"type": "integer"},
                "problems": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "index": {"type": "integer"},
                            "message": {"type": "string"},
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
        },
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
        "Project": {
            "type": "object",
            "properties": {
                "id": _ID,
                "uuid": _ID,
                "name": {"type": "string"},
                "dateCreated": {"type": "integer"},
            },
        },
    },
}


def openapi_document() -> dict:
    """The OpenAPI 3 document of the API (a fresh copy each call)."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "flexilims",
            "version": "1",
            "description": (
                "The Flexilims REST protocol. Errors are HTML pages whose "
                "`<b>Message</b>` paragraph holds the message."
            ),
        },
        "servers": [{"url": "/flexilims/api"}],
        "security": [{"bearer": []}, {"cookie": []}],
        "paths": copy.deepcopy(_PATHS),
        "components": copy.deepcopy(_COMPONENTS),
    }
