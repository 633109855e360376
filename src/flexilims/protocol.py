"""The Flexilims protocol, declared once: fields, parameters, endpoints, codes.

Parsers (:mod:`flexilims.dispatch`), replies, import and export, and the
OpenAPI description (:mod:`flexilims.openapi`) derive from these declarations.
"""

import re

from .errors import NULL_HINT, BadRequest, NameTaken

#: The header of ours that carries an error's code and fields as JSON.
ERROR_HEADER = "X-Flexilims-Error"

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


#: Every field name the protocol accepts, in the order its error message lists them.
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
        f"{name} is not valid. Valid fields are [{', '.join(VALID_FIELDS)}]"
    )


def flag(value) -> bool:
    """A query flag: ``true`` (any case) or ``yes`` is on, anything else off."""
    return str(value).strip().lower() in ("true", "yes", "1")


#: The fields of an entity in an offline dump, in the order an export writes
#: them (each entity's ``children`` come last).
EXPORT_FIELDS = (
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
    "customEntities",
)

#: Fields a batch operation may have, per kind of operation.
BATCH_OPERATION_FIELDS = {
    "create": (
        "op",
        "ref",
        "type",
        "name",
        "project_id",
        "origin_id",
        "origin_ref",
        "attributes",
        "other_relations",
        "conflicts",
    ),
    "update": (
        "op",
        "ref",
        "type",
        "id",
        "name",
        "origin_id",
        "origin_ref",
        "attributes",
        "other_relations",
    ),
}

#: HTTP method of each endpoint.
METHODS = {
    "get": "GET",
    "get-children": "GET",
    "get-descendants": "GET",
    "projects": "GET",
    "save": "POST",
    "update-one": "PUT",
    "update-many": "PUT",
    "delete": "DELETE",
    "batch": "POST",
}
