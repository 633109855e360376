"""Batch writes (ours): many creations and updates in one transaction.

``POST batch`` applies a list of operations, all or nothing: either every
operation is carried out, or the first refusal is reported (naming the index
of the operation) and nothing is written. The data rules are those of ``save``
and ``update-one``: the same store functions check every entity. Lookups are
batched: one query per datatype for the lab settings, one per project, one for
every entity the operations name by id, one per (project, datatype) for the
names the batch creates; then one ``executemany`` insert per table.

An operation is a JSON object::

    {"op": "create", "ref": "s1", "type": "session", "name": "M1_S20210420",
     "origin_id": "6094f7212597df357fa24a8c", "attributes": {"date": "2021-04-20"}}
    {"op": "create", "type": "recording", "name": "M1_S20210420_R152356",
     "origin_ref": "s1", "attributes": {"protocol": "retinotopy"}}
    {"op": "update", "type": "dataset", "id": "6094f7212597df357fa24a8d",
     "attributes": {"notes": "checked"}}

``ref`` is a label of the client's choosing; a later operation names the
entity an earlier one created (or found, or updated) with ``origin_ref``.
See ``docs/batch-endpoint.md`` for the whole description.
"""

from collections.abc import Mapping

from ...errors import BadRequest, FlexilimsError, OperationFailed
from ...protocol import BATCH_OPERATION_FIELDS, VALID_FIELDS, Conflicts
from ...writes import as_id_list, text_problem
from .changes import Changes, Operation

#: Stands for the entity of a refused operation in a dry run.
UNKNOWN_ID = "0" * 24


def _conflicts(value) -> Conflicts:
    mode = str(value).lower() if value is not None else "abort"
    try:
        return Conflicts(mode)
    except ValueError:
        raise BadRequest(
            f"conflicts must be one of {', '.join(Conflicts)}, not '{value}'"
        ) from None


def parse_operations(
    operations, *, project_id=None, conflicts: str = "abort"
) -> list[Operation]:
    """Check the shape of a batch's operations (no database access).

    Parameters
    ----------
    operations : list of dict
        The operations as received.
    project_id : str, optional
        Project of creations that do not name one.
    conflicts : str
        Default conflicts mode of creations.

    Returns
    -------
    list of Operation

    Raises
    ------
    BadRequest
        naming the index of the first malformed operation.
    """
    if not isinstance(operations, list):
        raise BadRequest("batch: 'operations' must be a list of operation objects")
    default = _conflicts(conflicts)
    parsed, refs = [], {}
    for index, item in enumerate(operations):
        try:
            operation = _parse_one(index, item, project_id, default)
            if operation.ref is not None:
                if operation.ref in refs:
                    raise BadRequest(
                        f"ref '{operation.ref}' is already the ref of operation "
                        f"{refs[operation.ref]}"
                    )
                refs[operation.ref] = index
            if operation.origin_ref is not None and operation.origin_ref not in refs:
                raise BadRequest(
                    f"origin_ref '{operation.origin_ref}' is not the ref of an "
                    "earlier operation"
                )
        except FlexilimsError as error:
            raise OperationFailed.at(index, error) from None
        parsed.append(operation)
    return parsed


def _parse_one(index: int, item, project_id, default: Conflicts) -> Operation:
    if not isinstance(item, Mapping):
        raise BadRequest("an operation must be a JSON object")
    kind = item.get("op", "create")
    if kind not in BATCH_OPERATION_FIELDS:
        raise BadRequest(f"op must be 'create' or 'update', not '{kind}'")
    fields = BATCH_OPERATION_FIELDS[kind]
    unknown = [key for key in item if key not in fields]
    if unknown:
        raise BadRequest(
            f"'{unknown[0]}' is not a field of a {kind} operation. Valid fields "
            f"are [{', '.join(fields)}]"
        )
    for key in ("ref", "origin_ref"):
        if item.get(key) is not None:
            if not isinstance(item[key], str):
                raise BadRequest(f"{key} must be a string")
            problem = text_problem(item[key])
            if problem:
                raise BadRequest(f"{key} {problem}", field=key)
    if item.get("origin_id") is not None and item.get("origin_ref") is not None:
        raise BadRequest("give origin_id or origin_ref, not both")
    datatype = item.get("type")
    if datatype is not None and not isinstance(datatype, str):
        datatype = repr(datatype)
    operation = Operation(
        index=index,
        op=kind,
        type=datatype,
        ref=item.get("ref"),
        name=item.get("name"),
        id=item.get("id"),
        project_id=item.get("project_id", project_id),
        origin_id=item.get("origin_id"),
        origin_ref=item.get("origin_ref"),
        attributes=item.get("attributes"),
        conflicts=_conflicts(item["conflicts"]) if "conflicts" in item else default,
    )
    operation.other_relations = as_id_list(
        item.get("other_relations"), "other_relations", VALID_FIELDS
    )
    return operation


def apply_batch(
    store,
    actor,
    operations,
    *,
    project_id=None,
    conflicts: str = "abort",
    strict_validation: bool = False,
    allow_nulls: bool = False,
    dry_run: bool = False,
    idempotency=None,
) -> dict:
    """Apply creations and updates in one transaction, all or nothing.

    Parameters
    ----------
    store : Store
        The database.
    actor : Actor
        Who asks (``createdBy`` of new entities, and what they may touch).
    operations : list of dict
        The operations, in order; see the module documentation.
    project_id : str, optional
        Project of creations without ``project_id``.
    conflicts : str
        What a creation does when its name is taken: ``abort`` (refuse the
        batch), ``skip`` (keep the existing entity; its id becomes the ref's),
        ``update`` (merge the attributes into it) or ``overwrite`` (also set its
        attributes that the operation does not give to null). An operation's
        own ``conflicts`` wins.
    strict_validation : bool
        Every attribute must be defined in the lab settings.
    allow_nulls : bool
        Write empty strings of updates (otherwise they are ignored).
    dry_run : bool
        Check every operation and write nothing: the reply says what would
        happen and lists every refused operation in ``problems`` (``index``
        and ``message``) instead of stopping at the first. The ids of entities
        that would be created are not kept.
    idempotency : flexilims.store.idempotency.IdempotentRequest, optional
        Claimed and recorded in the batch's transaction: a retry of the same
        request replays the first reply (ignored with ``dry_run``).

    Returns
    -------
    dict
        ``created``, ``updated`` and ``skipped`` counts and ``results``: per
        operation, ``index``, ``op``, ``ref``, ``status``, ``id``, ``type`` and
        ``name``; with ``dry_run``, ``problems`` too.

    Raises
    ------
    OperationFailed
        At the first refused operation (its ``index`` and ``cause``); nothing
        is written.
    """
    parsed = parse_operations(operations, project_id=project_id, conflicts=conflicts)
    problems = []
    with store.read() if dry_run else store.write() as conn:
        if idempotency is not None and not dry_run:
            replay = idempotency.claim(conn)
            if replay is not None:
                return replay
        changes = Changes(
            store, conn, actor, strict=strict_validation, allow_nulls=allow_nulls
        )
        changes.prepare(parsed)
        for op in parsed:
            try:
                changes.apply(op)
            except FlexilimsError as error:
                if not dry_run:
                    raise OperationFailed.at(op.index, error, op.describe()) from None
                problems.append(
                    {
                        "index": op.index,
                        "message": error.message,
                        "detail": error.detail,
                        **error.details(),
                    }
                )
                if op.ref is not None:
                    changes.refs[op.ref] = UNKNOWN_ID
        counts = {"created": 0, "updated": 0, "skipped": 0}
        for result in changes.results:
            counts[result["status"]] += 1
        reply = {**counts, "results": changes.results}
        if not dry_run:
            changes.write()
            if idempotency is not None:
                idempotency.record(conn, reply)
    if dry_run:
        reply["problems"] = problems
    return reply
