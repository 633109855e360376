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
from dataclasses import dataclass, field

import sqlalchemy as sa

from ..errors import BadRequest, FlexilimsError, Forbidden
from ..writes import as_id_list, failed, is_hex_id
from . import ENTITY_COLUMNS, Actor, Store, entity_reply, now_ms
from . import models as m

#: What a creation does when its (project, type, name) is taken.
CONFLICT_MODES = ("abort", "skip", "update", "overwrite")

#: Keys an operation may have, per kind of operation.
OPERATION_KEYS = {
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

#: Stands for the entity of a refused operation in a dry run.
UNKNOWN_ID = "0" * 24

#: Most values in one ``IN (...)`` list (well below SQLite's and psycopg's limits).
CHUNK = 5000


@dataclass
class Operation:
    """One parsed operation of a batch."""

    index: int
    op: str
    type: object = None
    ref: str | None = None
    name: object = None
    id: object = None
    project_id: object = None
    origin_id: object = None
    origin_ref: str | None = None
    attributes: object = None
    other_relations: list = field(default_factory=list)
    conflicts: str = "abort"

    def describe(self) -> str:
        """``create dataset NAME`` or ``update dataset ID``, for error messages."""
        what = self.name if self.op == "create" else self.id
        return f"{self.op} {self.type} {what}"


def _at(index: int, description: str | None, error: FlexilimsError):
    """The same error, its message naming the operation that caused it."""
    place = f"operation {index}" + (f" ({description})" if description else "")
    new = type(error)(f"Batch failed at {place}: {error.message}")
    if type(error) is FlexilimsError:
        new.status = error.status
    return new


def _conflicts(value, where: str) -> str:
    mode = str(value).lower() if value is not None else "abort"
    if mode not in CONFLICT_MODES:
        raise BadRequest(
            f"{where}conflicts must be one of {', '.join(CONFLICT_MODES)}, "
            f"not '{value}'"
        )
    return mode


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
    default = _conflicts(conflicts, "")
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
            raise _at(index, None, error) from None
        parsed.append(operation)
    return parsed


def _parse_one(index: int, item, project_id, default: str) -> Operation:
    if not isinstance(item, Mapping):
        raise BadRequest("an operation must be a JSON object")
    kind = item.get("op", "create")
    if kind not in OPERATION_KEYS:
        raise BadRequest(f"op must be 'create' or 'update', not '{kind}'")
    unknown = [key for key in item if key not in OPERATION_KEYS[kind]]
    if unknown:
        raise BadRequest(
            f"'{unknown[0]}' is not a field of a {kind} operation. Valid fields "
            f"are [{', '.join(OPERATION_KEYS[kind])}]"
        )
    for key in ("ref", "origin_ref"):
        if item.get(key) is not None and not isinstance(item[key], str):
            raise BadRequest(f"{key} must be a string")
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
        conflicts=_conflicts(item["conflicts"], "") if "conflicts" in item else default,
    )
    from ..protocol import VALID_FIELDS

    operation.other_relations = as_id_list(
        item.get("other_relations"), "other_relations", VALID_FIELDS
    )
    return operation


class _Plan:
    """The changes of one batch, checked against the database, then written."""

    def __init__(self, store: Store, conn, actor: Actor, strict: bool, nulls: bool):
        self.store, self.conn, self.actor = store, conn, actor
        self.strict, self.allow_nulls = strict, nulls
        self.rules: dict = {}
        self.projects: dict = {}
        self.known: dict[str, dict] = {}
        self.links: dict[str, set] = {}
        self.existing: dict[tuple, dict] = {}
        self.claimed: dict[tuple, int] = {}
        self.refs: dict[str, str] = {}
        self.new: list[dict] = []
        self.updates: dict[str, dict] = {}
        self.before: dict[str, dict] = {}
        self.new_links: list[dict] = []
        self.results: list[dict] = []

    # ------------------------------------------------------------ look-ups

    def prefetch(self, operations: list[Operation]) -> None:
        """Read every entity, name and link the operations may need."""
        ids = set()
        for op in operations:
            ids.update(op.other_relations)
            for value in (op.origin_id, op.id if op.op == "update" else None):
                if is_hex_id(value):
                    ids.add(value)
        self._fetch_entities(sorted(ids))
        targets = [op.id for op in operations if op.op == "update" and is_hex_id(op.id)]
        self._fetch_links(sorted(set(targets) & set(self.known)))
        wanted: dict[tuple, set] = {}
        for op in operations:
            if not isinstance(op.name, str):
                continue
            if op.op == "create" and isinstance(op.project_id, str):
                wanted.setdefault((op.project_id, op.type), set()).add(op.name)
            elif op.op == "update" and op.id in self.known:
                project = self.known[op.id]["project_id"]
                wanted.setdefault((project, op.type), set()).add(op.name)
        for (project_id, datatype), names in wanted.items():
            self._fetch_names(project_id, datatype, sorted(names))

    def _fetch_entities(self, ids: list[str]) -> None:
        e = m.entities
        for start in range(0, len(ids), CHUNK):
            query = sa.select(*ENTITY_COLUMNS).where(
                e.c.id.in_(ids[start : start + CHUNK])
            )
            if self.store.is_postgres:
                query = query.with_for_update()
            for row in self.conn.execute(query):
                self.known[row.id] = dict(row._mapping)

    def _fetch_links(self, ids: list[str]) -> None:
        table = m.entity_links
        for entity_id in ids:
            self.links[entity_id] = set()
        for start in range(0, len(ids), CHUNK):
            query = sa.select(table.c.entity_id, table.c.linked_id).where(
                table.c.entity_id.in_(ids[start : start + CHUNK])
            )
            for entity_id, linked_id in self.conn.execute(query):
                self.links[entity_id].add(linked_id)

    def _fetch_names(self, project_id: str, datatype, names: list[str]) -> None:
        e = m.entities
        for start in range(0, len(names), CHUNK):
            query = sa.select(*ENTITY_COLUMNS).where(
                e.c.project_id == project_id,
                e.c.type == datatype,
                e.c.name.in_(names[start : start + CHUNK]),
            )
            if self.store.is_postgres:
                query = query.with_for_update()
            for row in self.conn.execute(query):
                self.existing[(project_id, datatype, row.name)] = dict(row._mapping)
                self.known.setdefault(row.id, dict(row._mapping))

    def _rules(self, datatype, message: str):
        if datatype not in self.rules:
            try:
                self.rules[datatype] = self.store._rules(self.conn, datatype, message)
            except BadRequest:
                self.rules[datatype] = None
        if self.rules[datatype] is None:
            raise BadRequest(message)
        return self.rules[datatype]

    def _project(self, project_id, message: str):
        key = project_id if isinstance(project_id, str) else repr(project_id)
        if key not in self.projects:
            try:
                self.projects[key] = self.store._project(
                    self.conn, self.actor, project_id, message
                )
            except FlexilimsError as error:
                self.projects[key] = error
        found = self.projects[key]
        if isinstance(found, FlexilimsError):
            raise type(found)(found.message)
        return found

    def _entity(self, entity_id) -> dict | None:
        """An entity as it stands in this batch (None if there is none)."""
        row = self.updates.get(entity_id) or self.known.get(entity_id)
        if row is not None and not self.actor.can_access(row["project_id"]):
            raise Forbidden(
                f"user {self.actor.username} has no access to entity {entity_id}"
            )
        return row

    def _origin(self, op: Operation, *, on_update: bool = False):
        if op.origin_ref is not None:
            return self.refs[op.origin_ref]
        if op.origin_id is None:
            return None
        if not is_hex_id(op.origin_id):
            if on_update:
                raise BadRequest(
                    "please provide a valid hexadecimal value for origin_id"
                )
            raise BadRequest("origin not found")
        if self._entity(op.origin_id) is None:
            raise BadRequest("origin not found")
        return op.origin_id

    def _check_links(self, links: list[str]) -> None:
        for linked in links:
            if self._entity(linked) is None:
                raise BadRequest(f"other_relations: no entity with id {linked}")

    # -------------------------------------------------------- operations

    def apply(self, op: Operation) -> None:
        """Check one operation and add its changes to the plan."""
        if op.op == "create":
            status, entity_id = self._create(op)
        else:
            status, entity_id = self._update(op)
        if op.ref is not None:
            self.refs[op.ref] = entity_id
        name = op.name
        if op.op == "update":
            name = self.updates[entity_id]["name"]
        self.results.append(
            {
                "index": op.index,
                "op": op.op,
                "ref": op.ref,
                "status": status,
                "id": entity_id,
                "type": op.type,
                "name": name,
            }
        )

    def _create(self, op: Operation) -> tuple[str, str]:
        rules = self._rules(op.type, "type provided is not defined")
        project = self._project(
            op.project_id, "please provide a valid hexadecimal value for project_id"
        )
        Store._check_new_name(op.type, op.name)
        origin_id = self._origin(op)
        self._check_links(op.other_relations)
        sent = Store._checked_new_attributes(op.type, op.attributes, rules, self.strict)
        key = (project.id, op.type, op.name)
        if key in self.claimed:
            raise self.store._name_error(project, op.type, op.name, "Save")
        self.claimed[key] = op.index
        existing = self.existing.get(key)
        if existing is None:
            entity = Store._new_entity(
                self.actor,
                project,
                op.type,
                op.name,
                sent,
                origin_id,
                op.other_relations,
            )
            self.new.append(entity)
            return "created", entity["id"]
        if op.conflicts == "abort":
            raise self.store._name_error(project, op.type, op.name, "Save")
        if op.conflicts == "skip":
            return "skipped", existing["id"]
        current = self._entity(existing["id"])
        if op.conflicts == "overwrite":
            given = {key: None for key in current["attributes"] or {}}
            given.update(sent)
        else:
            given = sent
        merged = Store._merged_attributes(
            op.type,
            current["attributes"],
            given,
            rules,
            strict_validation=self.strict,
            allow_nulls=self.allow_nulls,
        )
        self._stage(current, merged, None, origin_id, op.other_relations)
        return "updated", existing["id"]

    def _update(self, op: Operation) -> tuple[str, str]:
        if not is_hex_id(op.id):
            raise BadRequest("please provide a valid hexadecimal value for id")
        rules = self._rules(op.type, f"type {op.type} is not defined")
        row = self._entity(op.id)
        Store._check_update_target(_Row(row) if row else None, op.type, op.id)
        merged = Store._merged_attributes(
            op.type,
            row["attributes"],
            op.attributes,
            rules,
            strict_validation=self.strict,
            allow_nulls=self.allow_nulls,
        )
        name = None
        if op.name is not None and op.name != row["name"]:
            if not isinstance(op.name, str) or not op.name.strip():
                raise failed("Update", "The new name is empty.")
            key = (row["project_id"], op.type, op.name)
            if key in self.claimed or key in self.existing:
                project = self._project(row["project_id"], "project not found")
                raise self.store._name_error(project, op.type, op.name, "Update")
            self.claimed[key] = op.index
            name = op.name
        origin_id = self._origin(op, on_update=True)
        if origin_id == op.id:
            raise BadRequest("origin not found")
        self._check_links(op.other_relations)
        self._stage(row, merged, name, origin_id, op.other_relations)
        return "updated", op.id

    def _stage(self, row: dict, attributes, name, origin_id, links) -> None:
        entity_id = row["id"]
        self.before.setdefault(entity_id, row)
        after = {**row, "attributes": attributes, "date_updated": now_ms()}
        if name is not None:
            after["name"] = name
        if origin_id is not None:
            after["origin_id"] = origin_id
        self.updates[entity_id] = after
        if not links:
            return
        if entity_id not in self.links:
            self.links[entity_id] = set(self.store._links(self.conn, entity_id))
        existing = self.links[entity_id]
        for linked in links:
            if linked not in existing:
                existing.add(linked)
                self.new_links.append({"entity_id": entity_id, "linked_id": linked})

    # -------------------------------------------------------------- write

    def write(self) -> None:
        """Insert and update everything the plan holds, batched per table."""
        if self.new:
            self.store._insert(self.conn, self.new)
        if self.updates:
            e = m.entities
            statement = (
                sa.update(e)
                .where(e.c.id == sa.bindparam("b_id"))
                .values(
                    name=sa.bindparam("b_name", type_=e.c.name.type),
                    origin_id=sa.bindparam("b_origin_id", type_=e.c.origin_id.type),
                    attributes=sa.bindparam("b_attributes", type_=e.c.attributes.type),
                    date_updated=sa.bindparam(
                        "b_date_updated", type_=e.c.date_updated.type
                    ),
                )
            )
            rows = list(self.updates.values())
            self.conn.execute(
                statement,
                [
                    {
                        "b_id": row["id"],
                        "b_name": row["name"],
                        "b_origin_id": row["origin_id"],
                        "b_attributes": row["attributes"],
                        "b_date_updated": row["date_updated"],
                    }
                    for row in rows
                ],
            )
            self.store._reindex(self.conn, rows)
            changes = [
                (entity_reply(self.before[row["id"]]), entity_reply(row))
                for row in rows
            ]
            self.store._record_history(self.conn, self.actor, "update", changes)
        if self.new_links:
            self.conn.execute(m.entity_links.insert(), self.new_links)

    def reply(self) -> dict:
        counts = {"created": 0, "updated": 0, "skipped": 0}
        for result in self.results:
            counts[result["status"]] += 1
        return {**counts, "results": self.results}


class _Row:
    """Attribute access to a row dict, for the store's row-based checks."""

    def __init__(self, row: dict):
        self.__dict__.update(row)


def apply_batch(
    store: Store,
    actor: Actor,
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
    BadRequest, Forbidden
        At the first refused operation, its index in the message; nothing is
        written.
    """
    parsed = parse_operations(operations, project_id=project_id, conflicts=conflicts)
    problems = []
    with store.read() if dry_run else store.write() as conn:
        if idempotency is not None and not dry_run:
            replay = idempotency.claim(conn)
            if replay is not None:
                return replay
        plan = _Plan(store, conn, actor, strict_validation, allow_nulls)
        plan.prefetch(parsed)
        for op in parsed:
            try:
                plan.apply(op)
            except FlexilimsError as error:
                if not dry_run:
                    raise _at(op.index, op.describe(), error) from None
                problems.append({"index": op.index, "message": error.message})
                if op.ref is not None:
                    plan.refs[op.ref] = UNKNOWN_ID
        if not dry_run:
            plan.write()
            if idempotency is not None:
                idempotency.record(conn, plan.reply())
    reply = plan.reply()
    if dry_run:
        reply["problems"] = problems
    return reply
