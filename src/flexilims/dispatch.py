"""From request parameters to store calls: the protocol's endpoints.

The server and the in-process session both call :func:`call` with the
parameters and body as they travel on the wire (strings in the query, JSON in
the body), so the two cannot behave differently.
"""

from collections.abc import Mapping

from .errors import BadRequest, NotFound
from .protocol import VALID_FIELDS, flag, invalid_field
from .store import Actor, EntityQuery, Store
from .store.accounts import Accounts
from .writes import as_id_list


def _integer(params: Mapping, key: str) -> int | None:
    value = params.get(key)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise BadRequest(f"{key} must be a whole number, not '{value}'") from None


def parse_get(params: Mapping) -> EntityQuery:
    """Check and convert the parameters of ``GET get``."""
    for key in params:
        if key not in VALID_FIELDS:
            raise invalid_field(key)
    operator = params.get("date_created_operator") or "gt"
    if operator not in ("gt", "lt"):
        raise BadRequest("date_created_operator must be gt or lt")
    return EntityQuery(
        type=params.get("type"),
        project_id=params.get("project_id"),
        id=params.get("id"),
        name=params.get("name"),
        origin_id=params.get("origin_id"),
        query_key=params.get("query_key"),
        query_value=params.get("query_value"),
        created_by=params.get("created_by"),
        date_created=_integer(params, "date_created"),
        date_created_operator=operator,
        cross_project=flag(params.get("cross_project_entity", "no")),
        offset=_integer(params, "offset"),
        limit=_integer(params, "limit"),
    )


def _body(body) -> dict:
    if body is None:
        return {}
    if not isinstance(body, Mapping):
        raise BadRequest("the request body must be a JSON object")
    return dict(body)


def call(
    store: Store,
    actor: Actor,
    operation: str,
    params: Mapping,
    body=None,
    idempotency=None,
) -> list | dict | str:
    """Carry out one protocol request.

    Parameters
    ----------
    store : Store
        Where the data lives.
    actor : Actor
        Who asks.
    operation : str
        The endpoint path after ``/flexilims/api/``, e.g. ``get`` or ``save``.
    params : Mapping
        Query parameters, as strings.
    body : object, optional
        The decoded JSON body of ``save`` and ``update-one``.
    idempotency : flexilims.store.idempotency.IdempotentRequest, optional
        The key of a ``batch`` request (see :mod:`flexilims.store.idempotency`).

    Returns
    -------
    list, dict or str
        JSON replies as lists or dicts, plain-text replies as str.
    """
    handler = HANDLERS.get(operation)
    if handler is None:
        raise NotFound(f"no endpoint {operation}")
    if idempotency is not None:
        if operation != "batch":
            raise BadRequest("an idempotency key applies to batch requests only")
        return _batch(store, actor, params, body, idempotency)
    return handler(store, actor, params, body)


def _get(store, actor, params, body):
    return store.get(actor, parse_get(params))


def _get_children(store, actor, params, body):
    return store.get_children(actor, params.get("id"))


def _get_descendants(store, actor, params, body):
    types = params.get("type")
    return store.get_descendants(
        actor, params.get("id"), types.split(",") if types else None
    )


def _projects(store, actor, params, body):
    return [project.reply() for project in Accounts(store).projects(actor)]


def _save(store, actor, params, body):
    body = _body(body)
    return store.save(
        actor,
        datatype=body.get("type"),
        name=body.get("name"),
        project_id=body.get("project_id"),
        attributes=body.get("attributes"),
        origin_id=body.get("origin_id"),
        other_relations=as_id_list(
            body.get("other_relations"), "other_relations", VALID_FIELDS
        ),
        strict_validation=flag(params.get("strict_validation", "false")),
    )


def _update_one(store, actor, params, body):
    body = _body(body)
    relations = body.get("other_relations", body.get("custom_entities"))
    return store.update_one(
        actor,
        datatype=params.get("type"),
        entity_id=params.get("id"),
        name=body.get("name"),
        origin_id=body.get("origin_id"),
        attributes=body.get("attributes"),
        other_relations=as_id_list(relations, "other_relations", VALID_FIELDS),
        strict_validation=flag(params.get("strict_validation", "false")),
        allow_nulls=flag(params.get("allow_nulls", "false")),
    )


def _update_many(store, actor, params, body):
    return store.update_many(
        actor,
        datatype=params.get("type"),
        project_id=params.get("project_id"),
        update_key=params.get("update_key"),
        update_value=params.get("update_value"),
        query_key=params.get("query_key"),
        query_value=params.get("query_value"),
        strict_validation=flag(params.get("strict_validation", "false")),
    )


def _delete(store, actor, params, body):
    return store.delete(actor, params.get("id"))


def _batch(store, actor, params, body, idempotency=None):
    from .store.batch import apply_batch

    body = _body(body)
    for key in body:
        if key != "operations":
            raise BadRequest(f"batch: '{key}' is not valid; the body holds operations")
    return apply_batch(
        store,
        actor,
        body.get("operations"),
        project_id=params.get("project_id"),
        conflicts=params.get("conflicts", "abort"),
        strict_validation=flag(params.get("strict_validation", "false")),
        allow_nulls=flag(params.get("allow_nulls", "false")),
        dry_run=flag(params.get("dry_run", "false")),
        idempotency=idempotency,
    )


HANDLERS = {
    "get": _get,
    "get-children": _get_children,
    "get-descendants": _get_descendants,
    "projects": _projects,
    "save": _save,
    "update-one": _update_one,
    "update-many": _update_many,
    "delete": _delete,
    "batch": _batch,
}
