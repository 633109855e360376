"""The Flexilims protocol, declared once: fields, parameters, endpoints, codes.

Everything else derives from these declarations: the parsers of requests
(:func:`parse`, used by :mod:`flexilims.dispatch`), the entity replies
(:mod:`flexilims.store.entities`), the fields of dumps (import and export),
the fields of batch operations, and the OpenAPI description
(:mod:`flexilims.openapi`), which adds nothing but prose.
"""

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import NULL_HINT, BadRequest, NameTaken
from .writes import INT_MAX, text_problem

#: The header of ours that carries an error's code and fields as JSON.
ERROR_HEADER = "X-Flexilims-Error"

#: Longest text of one field in :data:`ERROR_HEADER`: proxies and clients
#: refuse long header lines, and the message (in the body) is whole anyway.
ERROR_HEADER_TEXT_LIMIT = 500

#: The header of ours that makes a batch safe to retry.
IDEMPOTENCY_HEADER = "X-Flexilims-Idempotency-Key"

#: The header of ours on a reply replayed for a repeated idempotency key.
REPLAY_HEADER = "X-Flexilims-Idempotent-Replay"


# ---------------------------------------------------------------- values


@dataclass(frozen=True)
class Value:
    """A value of the protocol: a query parameter, or a field of a JSON object.

    Attributes
    ----------
    name : str
        As it travels.
    kind : str
        ``text``, ``id`` (24-hex, checked by the store with the protocol's
        words), ``integer`` (0 to 2**63-1), ``flag`` (``true``/``false``),
        ``choice`` (one of ``choices``), ``ids`` (a list of ids), ``object``
        (a JSON object) or ``any`` (any JSON value).
    description : str
        One sentence for the OpenAPI description.
    required : bool
        Whether the OpenAPI description marks it required (the store words
        its own refusal when it is missing).
    choices : tuple of str
        For ``choice`` (and the accepted spellings of a ``flag``).
    default : object
        The value when absent.
    column : str, optional
        For an entity's field: the column of the ``entities`` table.
    """

    name: str
    kind: str
    description: str
    required: bool = False
    choices: tuple = ()
    default: object = None
    column: str | None = None

    def parse(self, raw):
        """The value of a query parameter (a string), checked and converted."""
        if raw is None or (raw == "" and self.kind in ("integer", "flag", "choice")):
            return self.default
        problem = text_problem(raw)
        if problem:
            raise BadRequest(f"{self.name} {problem}", field=self.name)
        if self.kind == "integer":
            return _integer(self.name, raw)
        if self.kind == "flag":
            text = raw.strip().lower()
            if text in ("true", "yes", "1"):
                return True
            if text in ("false", "no", "0"):
                return False
            raise BadRequest(
                f"{self.name} must be true or false, not '{raw}'", field=self.name
            )
        if self.kind == "choice":
            if raw.lower() not in self.choices:
                raise BadRequest(
                    f"{self.name} must be one of {', '.join(self.choices)}, "
                    f"not '{raw}'",
                    field=self.name,
                )
            return raw.lower()
        return raw


def _integer(name: str, raw: str) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise BadRequest(f"{name} must be a whole number, not '{raw}'") from None
    if not 0 <= value <= INT_MAX:
        raise BadRequest(
            f"{name} must be a whole number from 0 to {INT_MAX}, not {value}",
            field=name,
        )
    return value


def _text(name, description, **more) -> Value:
    return Value(name, "text", description, **more)


def _id(name, description, **more) -> Value:
    return Value(name, "id", description, **more)


def _flag(name, description) -> Value:
    return Value(name, "flag", description, default=False)


STRICT = _flag(
    "strict_validation",
    "`true`: every attribute of the resulting entity must be defined in the lab "
    "settings.",
)
ALLOW_NULLS = _flag(
    "allow_nulls", "`true`: write empty strings (otherwise they are ignored)."
)


# -------------------------------------------------------------- entities

#: The fields of an entity in ``get`` replies, in the protocol's order.
ENTITY_FIELDS = (
    _id("id", "The entity's id.", column="id"),
    _text("type", "Its datatype, defined in the lab settings.", column="type"),
    _text("name", "Its name, unique per project and type.", column="name"),
    _text(
        "incrementalId",
        "The upper-cased type and a 7-digit counter per type.",
        column="incremental_id",
    ),
    Value(
        "attributes",
        "object",
        "Free-form attributes; empty lists and objects are stored as null.",
        column="attributes",
    ),
    _text("createdBy", "Full name of its creator.", column="created_by"),
    Value(
        "dateCreated", "integer", "Milliseconds since the epoch.", column="date_created"
    ),
    Value(
        "dateUpdated", "integer", "Milliseconds since the epoch.", column="date_updated"
    ),
    _id("project", "Its project's id.", column="project_id"),
    _id("origin_id", "Its parent's id (null for a root).", column="origin_id"),
)

#: The fields ``save`` and ``update-one`` replies add.
LINK_FIELDS = (
    Value("customEntities", "ids", "Ids of the entities it is linked to."),
    Value("objects", "object", "Always empty."),
)

#: The fields of the JSON bodies of ``save`` and ``update-one``.
BODIES = {
    "NewEntity": (
        _text("type", "Datatype, defined in the lab settings.", required=True),
        _text("name", "Name, unique per project and type.", required=True),
        _id("project_id", "Project.", required=True),
        Value("attributes", "object", "Attributes; names are lower-cased."),
        _id("origin_id", "Parent's id."),
        Value("other_relations", "ids", "Ids of entities to link to."),
    ),
    "EntityChange": (
        _text("name", "A new name."),
        _id("origin_id", "A new parent."),
        Value("attributes", "object", "Attributes to set (merged into the others)."),
        Value("other_relations", "ids", "Ids of entities to link to."),
    ),
}

#: The fields of an entity in an offline dump, in the order an export writes
#: them (each entity's ``children`` come last).
EXPORT_FIELDS = (*(f.name for f in ENTITY_FIELDS), "customEntities")

#: Every field name the protocol accepts, in the order its error message lists
#: them (Flexilims' list, including names it accepts and ignores).
VALID_FIELDS = (
    "type",
    "name",
    "origin_id",
    "custom_entity_id",
    "project_id",
    "attributes",
    "custom_entities",
    "detach_custom_entities",
    "id",
    "date_created",
    "created_by",
    "date_created_operator",
    "query_key",
    "query_value",
    "strict_validation",
    "allow_nulls",
    "external_resource",
    "query_value_data_type",
    "offset",
    "limit",
    "cross_project_entity",
)


def invalid_field(name: str) -> BadRequest:
    return BadRequest(
        f"{name} is not valid. Valid fields are [{', '.join(VALID_FIELDS)}]",
        field=name,
    )


# ---------------------------------------------------------------- errors

#: Flexilims' words for a taken name, whatever the type (``sample`` always).
_NAME_TAKEN = (
    "{action} failed. Check sample name. Sample {name} already exist in the "
    "project {project}."
)
_NAME_TAKEN_PATTERN = re.compile(
    r"(Save|Update) failed\. Check sample name\. Sample (?P<name>.*) already exist "
    r"in the project (?P<project>.*?)\.(?: If you have 'null' values.*)?$",
    re.DOTALL,
)


def name_taken(action: str, datatype: str, name: str, project: str) -> NameTaken:
    """The error of a taken name, in Flexilims' exact words.

    Parameters
    ----------
    action : str
        ``Save`` or ``Update``.
    datatype, name : str
        The type and the name asked for.
    project : str
        The project's name.
    """
    message = _NAME_TAKEN.format(action=action, name=name, project=project)
    return NameTaken(message + NULL_HINT, datatype=datatype, name=name, project=project)


def name_taken_details(message: str) -> dict | None:
    """The fields of a :class:`NameTaken` from Flexilims' words (replies of a
    server that sends no error code), or None for another message."""
    found = _NAME_TAKEN_PATTERN.match(message)
    if found is None:
        return None
    return {
        "code": NameTaken.code,
        "type": None,
        "name": found.group("name"),
        "project": found.group("project"),
    }


# ----------------------------------------------------------------- batch


class Conflicts(enum.StrEnum):
    """What a creation does when its (project, type, name) is taken."""

    ABORT = "abort"
    SKIP = "skip"
    UPDATE = "update"
    OVERWRITE = "overwrite"


_OPERATION_FIELDS = {
    value.name: value
    for value in (
        Value(
            "op",
            "choice",
            "`create` (default) or `update`.",
            choices=("create", "update"),
        ),
        _text("ref", "A label of the client's choosing for this operation's entity."),
        _text("type", "Datatype.", required=True),
        _text("name", "Name (of a new entity, or the new name of an update)."),
        _id("id", "The entity an update changes."),
        _id("project_id", "Project of a creation (default: the request's)."),
        _id("origin_id", "Parent's id."),
        _text(
            "origin_ref", "The ref of an earlier operation: its entity is the parent."
        ),
        Value("attributes", "object", "Attributes, as for save or update-one."),
        Value("other_relations", "ids", "Ids of entities to link to."),
        Value(
            "conflicts",
            "choice",
            "This creation's own conflicts mode.",
            choices=tuple(Conflicts),
        ),
    )
}

#: Fields a batch operation may have, per kind of operation.
BATCH_OPERATION_FIELDS = {
    "create": tuple(key for key in _OPERATION_FIELDS if key != "id"),
    "update": tuple(
        key for key in _OPERATION_FIELDS if key not in ("project_id", "conflicts")
    ),
}


# ------------------------------------------------------------- endpoints


@dataclass(frozen=True)
class Endpoint:
    """One endpoint under ``/flexilims/api/``.

    Attributes
    ----------
    name : str
        Its path after the prefix.
    method : str
        HTTP method.
    summary, description : str
        Prose for the OpenAPI description.
    parameters : tuple of Value
        Its query parameters.
    body : str, optional
        The component schema of its JSON body.
    reply : str
        ``entities``, ``entity`` (with links), ``text``, or a component schema.
    example : str
        For a ``text`` reply.
    strict : bool
        Refuse query parameters it does not declare, with the protocol's list.
    ours : bool
        Not in Flexilims.
    auth : str
        ``bearer`` (a token), ``basic`` (username and password) or ``none``.
    dispatched : bool
        Carried out by :func:`flexilims.dispatch.call` (the others are the
        server's own: logging in and out, this description).
    """

    name: str
    method: str
    summary: str
    parameters: tuple = ()
    description: str = ""
    body: str | None = None
    reply: str = "entities"
    example: str = ""
    strict: bool = False
    ours: bool = False
    auth: str = "bearer"
    dispatched: bool = True

    def parse(self, params: Mapping) -> dict:
        """The query parameters, checked and converted, by name (absent ones
        at their default)."""
        declared = {value.name: value for value in self.parameters}
        if self.strict:
            for key in params:
                if key not in VALID_FIELDS:
                    raise invalid_field(key)
        return {name: value.parse(params.get(name)) for name, value in declared.items()}


GET_PARAMETERS = (
    _text("type", "Datatype of the entities (defined in the lab settings)."),
    _id("project_id", "Project (24-hex id)."),
    _id("id", "Entity id (24-hex)."),
    _text("name", "Entity name, exact."),
    _id("origin_id", "Id of the parent entity."),
    _text("query_key", "Attribute to filter on (with `query_value`)."),
    _text("query_value", "Value of `query_key`, exact match."),
    _text("created_by", "Full name of the creator."),
    Value("date_created", "integer", "Milliseconds since the epoch."),
    Value(
        "date_created_operator",
        "choice",
        "`gt` (created at or after `date_created`) or `lt` (at or before).",
        choices=("gt", "lt"),
        default="gt",
    ),
    Value(
        "cross_project_entity",
        "flag",
        "`yes`: search every project the user can see.",
        default=False,
    ),
    Value("offset", "integer", "Skip this many entities."),
    Value("limit", "integer", "Return at most this many."),
)

#: The endpoints, in the order the OpenAPI description lists them.
ENDPOINTS = {
    endpoint.name: endpoint
    for endpoint in (
        Endpoint(
            "authenticate",
            "POST",
            "Get a token",
            description=(
                "Check HTTP Basic credentials and issue a new token (also set as "
                "the `flexilims_token` cookie). Send it as "
                "`Authorization: Bearer <token>` to every other endpoint."
            ),
            reply="text",
            example="kP3x...Qw",
            auth="basic",
            dispatched=False,
        ),
        Endpoint(
            "revoke",
            "POST",
            "Revoke the calling token",
            reply="text",
            example="token revoked",
            ours=True,
            dispatched=False,
        ),
        Endpoint(
            "openapi.json",
            "GET",
            "This description",
            reply="OpenAPI",
            ours=True,
            auth="none",
            dispatched=False,
        ),
        Endpoint(
            "health",
            "GET",
            "Whether the server can serve, for load balancers",
            description=(
                "No token needed. 200 when the database answers and is at the "
                "newest migration; 503 (the same JSON, with `Retry-After`) "
                "otherwise."
            ),
            reply="Health",
            ours=True,
            auth="none",
            dispatched=False,
        ),
        Endpoint(
            "get",
            "GET",
            "Find entities",
            GET_PARAMETERS,
            description=(
                "Entities matching every given filter, oldest first. Any other "
                "parameter is refused with ` NAME is not valid. Valid fields are "
                f"[{', '.join(VALID_FIELDS)}]`. A project-scoped type needs "
                "`project_id`, with or without a name."
            ),
            strict=True,
        ),
        Endpoint(
            "get-children",
            "GET",
            "Direct children of an entity",
            (_id("id", "Parent entity id.", required=True),),
            description="The direct children, all types.",
        ),
        Endpoint(
            "get-descendants",
            "GET",
            "Every entity below an entity",
            (
                _id("id", "Ancestor entity id.", required=True),
                _text("type", "Comma-separated datatypes to keep."),
            ),
            description="One request for a whole subtree, any depth, oldest first.",
            ours=True,
        ),
        Endpoint(
            "projects",
            "GET",
            "Projects the user can see",
            reply="ProjectList",
        ),
        Endpoint(
            "save",
            "POST",
            "Create an entity",
            (STRICT,),
            description=(
                "Attribute names are lower-cased. The reply echoes the attributes "
                "as sent; empty lists and dicts are stored as null."
            ),
            body="NewEntity",
            reply="entity",
        ),
        Endpoint(
            "update-one",
            "PUT",
            "Update one entity",
            (
                _text("type", "Datatype of the entity.", required=True),
                _id("id", "Entity id.", required=True),
                STRICT,
                ALLOW_NULLS,
            ),
            description=(
                "Attributes given are merged into the existing ones; `null` sets "
                "an attribute to null; empty strings are ignored unless "
                "`allow_nulls=true`. The reply echoes the attributes as sent."
            ),
            body="EntityChange",
            reply="entity",
        ),
        Endpoint(
            "update-many",
            "PUT",
            "Set one attribute on many entities",
            (
                _text("type", "Datatype.", required=True),
                _id("project_id", "Project.", required=True),
                _text("update_key", "Attribute to set.", required=True),
                _text("update_value", "Its new value.", required=True),
                _text("query_key", "Only entities with this attribute..."),
                _text("query_value", "...equal to this value."),
                STRICT,
            ),
            reply="text",
            example="updated successfully 3 items of type session with path=a/b",
        ),
        Endpoint(
            "delete",
            "DELETE",
            "Delete an entity and everything below it",
            (_id("id", "Entity id.", required=True),),
            description=(
                "Deleted entities go to the trash (ours); deleting an id already "
                "in the trash succeeds. A delete that would take entities of a "
                "project the user cannot write is refused."
            ),
            reply="text",
            example="deleted successfully null",
        ),
        Endpoint(
            "batch",
            "POST",
            "Creations and updates in one transaction",
            (
                _id("project_id", "Project of creations that name none."),
                Value(
                    "conflicts",
                    "choice",
                    "When a creation's name is taken.",
                    choices=tuple(Conflicts),
                    default=Conflicts.ABORT.value,
                ),
                STRICT,
                ALLOW_NULLS,
                _flag(
                    "dry_run",
                    "`true`: check every operation, write nothing, list each "
                    "refusal in `problems`.",
                ),
            ),
            description=(
                "All or nothing: every operation is carried out, or the first "
                "refusal is reported (naming the operation's index) and nothing "
                "is written. A later operation names an entity an earlier one "
                f"created with `origin_ref`. A `{IDEMPOTENCY_HEADER}` header makes "
                "a retry replay the first reply."
            ),
            body="Batch",
            reply="BatchResult",
            ours=True,
        ),
        Endpoint(
            "history",
            "GET",
            "Versions of an entity or of a project, newest first",
            (
                _id("id", "The entity (give this or project_id)."),
                _id("project_id", "The project (give this or id)."),
                Value("before", "integer", "Only versions older than this one."),
                Value(
                    "limit", "integer", "At most this many (1 to 1000).", default=100
                ),
            ),
            description=(
                "Every write leaves a version: who, when, the entity before and "
                "after, and what changed."
            ),
            reply="VersionList",
            ours=True,
        ),
        Endpoint(
            "revert",
            "POST",
            "Make an entity as it was after a version",
            (
                _id("id", "The entity.", required=True),
                Value("version", "integer", "A version of it.", required=True),
            ),
            description=(
                "Its name, parent and attributes become those of the version, as "
                "a new version: history only grows."
            ),
            reply="entity",
            ours=True,
        ),
        Endpoint(
            "trash",
            "GET",
            "Deleted batches of the user's projects, newest first",
            (_id("project_id", "Only this project."),),
            reply="TrashList",
            ours=True,
        ),
        Endpoint(
            "restore",
            "POST",
            "Put a deleted batch back as it was",
            (_text("batch", "A batch of the trash.", required=True),),
            reply="RestoreResult",
            ours=True,
        ),
        Endpoint(
            "settings",
            "GET",
            "The lab settings: datatypes and the rules of their attributes",
            description=(
                "Any user may read them. Per datatype: whether queries need a "
                "project, its allowed parent types (none: any parent) and its "
                "attributes (type, required, allowed values), in the shape "
                "`flexilims settings load` reads."
            ),
            reply="LabSettings",
            ours=True,
        ),
        Endpoint(
            "export",
            "GET",
            "A project as nested JSON (the Flexilims offline format)",
            (_text("project_id", "The project's id or name.", required=True),),
            reply="Dump",
            ours=True,
        ),
    )
}

#: HTTP method of each endpoint that :func:`flexilims.dispatch.call` carries out.
METHODS = {
    name: endpoint.method for name, endpoint in ENDPOINTS.items() if endpoint.dispatched
}


def parse(operation: str, params: Mapping) -> dict:
    """The query parameters of one endpoint, checked and converted."""
    return ENDPOINTS[operation].parse(params)


def operation_fields() -> dict:
    """Every field of a batch operation, by name (for the OpenAPI schema)."""
    return dict(_OPERATION_FIELDS)


def version_rows(versions: list[dict]) -> list[dict]:
    """Versions (``session.history``) as rows: version, changed_at (ms since
    the epoch), changed_by, action, the entity's type, name and id, and
    ``changes`` (``{field: [before, after]}``): the rows of the history
    listings and of :func:`flexiznam.main.get_history`."""
    rows = []
    for version in versions:
        entity = version.get("after") or version.get("before") or {}
        rows.append(
            {
                "version": version["version"],
                "changed_at": version["changed_at"],
                "changed_by": version["changed_by"],
                "action": version["action"],
                "type": entity.get("type"),
                "name": entity.get("name"),
                "id": version.get("id"),
                "changes": version.get("changes") or {},
            }
        )
    return rows
