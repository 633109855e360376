"""From request parameters to store calls: the protocol's endpoints.

The server and the in-process session both call :func:`call` with the
parameters and body as they travel on the wire (strings in the query, JSON in
the body), so the two cannot behave differently. Query parameters are checked
and converted by their declarations (:mod:`flexilims.protocol`); the store
decides everything else.
"""

from collections.abc import Mapping

from . import protocol
from .errors import BadRequest, NotFound
from .protocol import VALID_FIELDS
from .store import Actor, EntityQuery, Store
from .store.accounts import Accounts
from .writes import as_id_list


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
        The decoded JSON body of ``save``, ``update-one`` and ``batch``.
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
    query = protocol.parse(operation, params)
    if idempotency is not None:
        if operation != "batch":
            raise BadRequest("an idempotency key applies to batch requests only")
        return _batch(store, actor, query, body, idempotency)
    return handler(store, actor, query, body)


def _body(body) -> dict:
    if body is None:
        return {}
    if not isinstance(body, Mapping):
        raise BadRequest("the request body must be a JSON object")
    return dict(body)


def _get(store, actor, query, body):
    return store.get(
        actor,
        EntityQuery(
            type=query["type"],
            project_id=query["project_id"],
            id=query["id"],
            name=query["name"],
            origin_id=query["origin_id"],
            query_key=query["query_key"],
            query_value=query["query_value"],
            created_by=query["created_by"],
            date_created=query["date_created"],
            date_created_operator=query["date_created_operator"],
            cross_project=query["cross_project_entity"],
            offset=query["offset"],
            limit=query["limit"],
        ),
    )


def _get_children(store, actor, query, body):
    return store.get_children(actor, query["id"])


def _get_descendants(store, actor, query, body):
    types = query["type"]
    return store.get_descendants(
        actor, query["id"], types.split(",") if types else None
    )


def _projects(store, actor, query, body):
    return [project.reply() for project in Accounts(store).projects(actor)]


def _save(store, actor, query, body):
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
        strict_validation=query["strict_validation"],
    )


def _update_one(store, actor, query, body):
    body = _body(body)
    relations = body.get("other_relations", body.get("custom_entities"))
    return store.update_one(
        actor,
        datatype=query["type"],
        entity_id=query["id"],
        name=body.get("name"),
        origin_id=body.get("origin_id"),
        attributes=body.get("attributes"),
        other_relations=as_id_list(relations, "other_relations", VALID_FIELDS),
        strict_validation=query["strict_validation"],
        allow_nulls=query["allow_nulls"],
    )


def _update_many(store, actor, query, body):
    return store.update_many(
        actor,
        datatype=query["type"],
        project_id=query["project_id"],
        update_key=query["update_key"],
        update_value=query["update_value"],
        query_key=query["query_key"],
        query_value=query["query_value"],
        strict_validation=query["strict_validation"],
    )


def _delete(store, actor, query, body):
    return store.delete(actor, query["id"])


def _batch(store, actor, query, body, idempotency=None):
    from .store.writing.batch import apply_batch

    body = _body(body)
    for key in body:
        if key != "operations":
            raise BadRequest(f"batch: '{key}' is not valid; the body holds operations")
    return apply_batch(
        store,
        actor,
        body.get("operations"),
        project_id=query["project_id"],
        conflicts=query["conflicts"],
        strict_validation=query["strict_validation"],
        allow_nulls=query["allow_nulls"],
        dry_run=query["dry_run"],
        idempotency=idempotency,
    )


def _history(store, actor, query, body):
    return store.history(
        actor,
        entity_id=query["id"],
        project_id=query["project_id"],
        before=query["before"],
        limit=query["limit"],
    )


def _revert(store, actor, query, body):
    if query["version"] is None:
        raise BadRequest("version is required: the version to go back to")
    return store.revert(actor, query["id"], query["version"])


def _trash(store, actor, query, body):
    from .store.writing import trash

    return trash.batches(store, query["project_id"], actor=actor)


def _restore(store, actor, query, body):
    from .store.writing import trash

    if not query["batch"]:
        raise BadRequest("batch is required: a batch of the trash")
    return trash.restore(store, query["batch"], actor)


def _settings(store, actor, query, body):
    return store.lab_settings()


def _export(store, actor, query, body):
    from .store.files.transfer import export_project

    if not query["project_id"]:
        raise BadRequest("project_id is required: the project to export")
    return export_project(store, query["project_id"], actor=actor)


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
    "history": _history,
    "revert": _revert,
    "trash": _trash,
    "restore": _restore,
    "settings": _settings,
    "export": _export,
}
