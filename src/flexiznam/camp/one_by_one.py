"""Uploading to a server without the batch endpoint: one request per entity.

Our server applies an upload in one transaction (``docs/batch-endpoint.md``).
A Flexilims server has no such endpoint: there the operations are applied in
order with ``post`` and ``update_one``, refs resolved here. That cannot be one
transaction: when a request is refused, the entities created so far are
deleted again (those updated keep their new attributes) and the error says so.
"""

from tqdm.auto import tqdm

from flexilims.errors import FlexilimsError as StoreError
from flexilims.errors import NameTaken

from ..errors import from_store


class OneByOneError(Exception):
    """A request of a one-by-one upload was refused.

    Attributes
    ----------
    index : int
        The operation refused.
    message : str
        The server's message.
    undone : str
        What was done about the earlier operations.
    """

    def __init__(self, index: int, message: str, undone: str):
        super().__init__(message)
        self.index, self.message, self.undone = index, message, undone


def _existing_by_name(session, datatype, name, known: dict):
    entity = known.get((datatype, name))
    if entity is None:
        found = session.get(datatype, name=name)
        entity = found[0] if found else None
    return entity


def _apply(session, operation, origin_id, known, conflicts, strict_validation):
    datatype, name = operation["type"], operation["name"]
    attributes = operation.get("attributes") or {}
    existing = known.get((datatype, name))
    if existing is None:
        try:
            reply = session.post(
                datatype,
                name,
                attributes,
                origin_id=origin_id,
                strict_validation=strict_validation,
            )
            return "created", reply
        except NameTaken:
            existing = _existing_by_name(session, datatype, name, known)
            if conflicts == "abort" or existing is None:
                raise
    elif conflicts == "abort":
        raise NameTaken(
            f"{datatype} {name} already exists",
            datatype=datatype,
            name=name,
            project=session.project_id,
        )
    if conflicts == "skip":
        return "skipped", existing
    given = dict(attributes)
    if conflicts == "overwrite":
        given = {key: None for key in existing.get("attributes") or {}}
        given.update(attributes)
    reply = session.update_one(
        existing["id"],
        datatype,
        origin_id=origin_id,
        attributes=given,
        strict_validation=strict_validation,
    )
    return "updated", reply


def apply_one_by_one(
    session,
    operations: list[dict],
    known: dict,
    conflicts: str = "abort",
    strict_validation: bool = False,
    progress: bool = True,
    bar=None,
) -> dict:
    """Apply batch operations with one request each.

    Parameters
    ----------
    session : flexilims session
        Any object with ``get``, ``post``, ``update_one`` and ``delete``.
    operations : list of dict
        ``create`` operations as sent to the batch endpoint (parents first,
        children naming them with ``origin_ref``).
    known : dict
        ``(type, name)`` -> entity of what exists already (below the origin);
        other names taken are found when the server refuses them.
    conflicts, strict_validation :
        As for the batch endpoint.
    progress : bool
        Show a progress bar.
    bar : tqdm.tqdm, optional
        A progress bar to advance by one per entity instead (the upload's).

    Returns
    -------
    dict
        The reply the batch endpoint would give (``results`` and counts).

    Raises
    ------
    OneByOneError
        When a request is refused, after deleting what this call created.
    """
    own_bar = bar is None
    if own_bar:
        bar = tqdm(
            total=len(operations),
            desc="Uploading",
            unit="entity",
            disable=not progress,
            leave=False,
        )
    try:
        return _apply_all(session, operations, known, conflicts, strict_validation, bar)
    finally:
        if own_bar:
            bar.close()


def _apply_all(session, operations, known, conflicts, strict_validation, bar) -> dict:
    refs: dict[str, str] = {}
    results, created = [], []
    for index, operation in enumerate(operations):
        origin_id = operation.get("origin_id")
        if operation.get("origin_ref") is not None:
            origin_id = refs[operation["origin_ref"]]
        try:
            status, entity = _apply(
                session, operation, origin_id, known, conflicts, strict_validation
            )
        except StoreError as error:
            undone = _undo(session, created, results)
            message = str(from_store(error, operation["type"]))
            raise OneByOneError(index, message, undone) from error
        if status == "created":
            created.append(entity["id"])
        if operation.get("ref") is not None:
            refs[operation["ref"]] = entity["id"]
        results.append(
            {
                "index": index,
                "op": "create",
                "ref": operation.get("ref"),
                "status": status,
                "id": entity["id"],
                "type": operation["type"],
                "name": operation["name"],
            }
        )
        bar.update(1)
    counts = {"created": 0, "updated": 0, "skipped": 0}
    for result in results:
        counts[result["status"]] += 1
    return {**counts, "results": results}


def _undo(session, created: list[str], results: list[dict]) -> str:
    """Delete what was created (children go with their parents)."""
    for entity_id in reversed(created):
        try:
            session.delete(entity_id)
        except StoreError:
            continue  # deleted already with its parent
    updated = sum(1 for result in results if result["status"] == "updated")
    text = f"the {len(created)} entities created before were deleted"
    if updated:
        text += f"; {updated} updated entities keep their new attributes"
    return text
