"""The one write path: every creation, update and move, checked then written.

``save``, ``update-one``, ``update-many``, ``batch``, restoring from the trash,
reverting to a version and importing a dump all build :class:`Operation` s and
hand them to :class:`Changes`, inside one write transaction (on PostgreSQL
begun only when needed: a lone save is two statements, the look-up and the
write, and no transaction of its own; :meth:`Changes.run`):

1. :meth:`Changes.prepare` reads everything the rules need for all the
   operations in a few batched queries: the lab settings of their types
   (cached per store, checked by their version read with the first look-up:
   :class:`.labsettings.RulesCache`), their projects, the entities they name
   (update targets locked ``FOR UPDATE`` on PostgreSQL, so that a
   read-modify-write never loses a concurrent update, read with their links),
   the names they claim (with the project, in one statement, for a save), and
   the parents above every origin (for the loop check);
2. :meth:`Changes.apply` checks one operation with the rules of
   :mod:`flexilims.writes` against that state and the earlier operations of
   the same batch, and stages its effect;
3. :meth:`Changes.write` writes everything staged in bulk: incremental ids,
   updates, then the inserts of entities, the attribute index, links and one
   history row per entity that changed, in one
   :class:`flexilims.store.inserts.InsertBatch` (one statement on PostgreSQL,
   which also bumps the counters of the new incremental ids: writes of one
   type take turns on a counter only from that statement to their commit).

The statements that read and write the rows are in :mod:`.rows`.

A refusal raises the rule's error; nothing is written (the caller's
transaction is rolled back).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa

from ... import protocol
from ...errors import BadRequest, Forbidden
from ...protocol import Conflicts
from ...writes import (
    Limits,
    Nulls,
    attributes_json,
    check_name,
    check_no_loop,
    check_parent_type,
    check_size,
    checked_and_stored,
    checked_attributes,
    failed,
    in_key_order,
    is_hex_id,
    lower_keys,
    merged_attributes,
    same_json,
    stored_attributes,
    text_problem,
    validate_attributes,
)
from .. import db, labsettings
from .. import models as m
from ..entities import Actor, entity_reply, new_id, now_ms
from ..inserts import InsertBatch
from . import rows

# The row writes others use, where they always were.
from .rows import (  # noqa: F401
    CHUNK,
    HISTORY_COLUMNS,
    incremental_number,
    insert_entities,
    record_history,
)


@dataclass
class Operation:
    """One creation or update, as the rules see it.

    The fields a request may carry come first; the last ones are set by the
    store itself (restores, reverts and imports), never from the wire.
    """

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
    conflicts: Conflicts = Conflicts.ABORT
    #: create: fields kept as they were (id, incremental_id, created_by,
    #: date_created, date_updated), for restores and imports.
    kept: dict | None = None
    #: update: the entity becomes exactly this (name, origin, attributes).
    replace: bool = False
    #: Check the lab settings (types of values, required attributes, allowed
    #: parents); restores and imports put back what existed and skip them.
    check_settings: bool = True
    #: The history row's action (default: ``create`` or ``update``).
    action: str | None = None
    #: create: read NaN attribute values as null (imports of pandas' dumps),
    #: counted in :attr:`Changes.nulls`.
    nan_as_null: bool = False

    def describe(self) -> str:
        """``create dataset NAME`` or ``update dataset ID``, for error messages."""
        what = self.name if self.op == "create" else self.id
        return f"{self.op} {self.type} {what}"


@dataclass
class _Staged:
    """An entity changed by this transaction: its row before and after."""

    after: dict
    before: dict | None = None
    links: list = field(default_factory=list)
    action: str = "update"


class Changes:
    """The changes of one write transaction, checked by the rules, then written.

    Parameters
    ----------
    store : Store
        The database (its dialect and settings).
    conn : sqlalchemy.Connection
        A connection in a write transaction (or any connection for a dry run).
    actor : Actor
        Who writes: ``createdBy`` of new entities, and what they may touch.
    strict : bool
        Every attribute must be defined in the lab settings.
    allow_nulls : bool
        Updates write empty strings (otherwise they are ignored).
    inserts : callable, optional
        ``inserts(table, rows, columns=None)`` inserts the rows nothing in the
        transaction reads again (index, links, history) when they are
        written: an import's :class:`flexilims.store.writing.bulk.BackgroundInserts`
        (default: every row :meth:`write` inserts, entities included, goes
        in one :class:`flexilims.store.inserts.InsertBatch`, flushed at its end).
    background_entities : bool
        Entities go through ``inserts`` too (``inserts`` then takes an
        ``errors`` argument: :meth:`.bulk.BackgroundInserts.insert`); the
        caller waits for them before anything reads them.
    """

    def __init__(
        self,
        store,
        conn,
        actor: Actor,
        *,
        strict=False,
        allow_nulls=False,
        inserts=None,
        background_entities=False,
    ):
        self.store, self.conn, self.actor = store, conn, actor
        self.background_entities = background_entities
        #: The rows :meth:`write` inserts, sent at its end in one round trip
        #: (:class:`flexilims.store.inserts.InsertBatch`), unless ``inserts`` is given.
        self.batch = InsertBatch(conn) if inserts is None else None
        self.inserts = inserts or self.batch.add
        self.strict, self.allow_nulls = strict, allow_nulls
        self.limits = Limits.from_settings(store.settings)
        self.rules: dict = {}
        self.projects: dict[str, sa.Row] = {}
        self.rows: dict[str, dict] = {}
        self.parents: dict[str, str | None] = {}
        self.links: dict[str, set] = {}
        self.names: dict[tuple, str] = {}
        self.claimed: set[tuple] = set()
        self.refs: dict[str, str] = {}
        self.created: dict[str, _Staged] = {}
        self.updated: dict[str, _Staged] = {}
        self.results: list[dict] = []
        self.echoes: dict[str, dict] = {}
        #: The JSON text of staged attributes, computed once when checked:
        #: entity id -> (attributes, text), used while the row still holds
        #: those attributes.
        self.texts: dict[str, tuple[dict, str]] = {}
        self.nulls = Nulls()
        self.stamp = now_ms()

    def run(self, operations: list[Operation]) -> "Changes":
        """Prepare, apply every operation in order, and write: the first
        refusal raises its error (and the caller's transaction writes
        nothing).

        On a connection whose transaction is left to begin
        (:meth:`flexilims.store.Store.write` ``lazily``), creations that
        refuse a name already taken begin none while their look-ups run:
        those lock nothing that the write relies on (a name found refuses
        the creation) and see, at PostgreSQL's READ COMMITTED, what they
        would see in a transaction. The transaction begins before any
        look-up that locks (updates, and creations that may update an
        entity of their name) and before a write of more than one statement
        (:meth:`begin`); a creation written by one statement needs none.
        """
        if not all(_locks_nothing(op) for op in operations):
            self.begin()
        self.prepare(operations)
        for operation in operations:
            self.apply(operation)
        self.write()
        return self

    # ------------------------------------------------------------ look-ups

    def prepare(self, operations: list[Operation]) -> None:
        """Read what the rules need for every operation, in batched queries."""
        versions = set()
        wanted = self._fetch_projects(operations, versions)
        targets, others = set(), set()
        for op in operations:
            others.update(op.other_relations)
            if is_hex_id(op.origin_id):
                others.add(op.origin_id)
            if op.op == "update" and is_hex_id(op.id):
                targets.add(op.id)
            if op.kept and is_hex_id(op.kept.get("id")):
                others.add(op.kept["id"])
        found = rows.entities(
            self.conn, sorted(targets), lock=True, versions=versions, links=self.links
        )
        self.rows.update(found)
        # The rules as cached if the settings' version read with the first
        # look-ups is the cached one (else read again).
        self.rules = self.store.rules_cache.rules_of(
            self.conn, (op.type for op in operations), versions
        )
        self._fetch_entities(sorted(others - set(self.rows)), lock=False)
        renames = self._wanted_names(op for op in operations if op.op == "update")
        for key, names in renames.items():
            wanted.setdefault(key, set()).update(names)
        for (project_id, datatype), names in wanted.items():
            named = rows.named(self.conn, project_id, datatype, sorted(names))
            self._found_names(project_id, datatype, named)
        if any(_may_move(op) for op in operations):
            self._fetch_ancestors(sorted(set(self.rows)))

    def _fetch_projects(self, operations: list[Operation], versions: set) -> dict:
        """The projects of the creations (with the settings' version), and
        the names they create, by project and type, left to look up."""
        wanted = self._wanted_names(op for op in operations if op.op == "create")
        project_ids = sorted(
            {
                op.project_id
                for op in operations
                if op.op == "create" and is_hex_id(op.project_id)
            }
        )
        if (
            all(op.op == "create" for op in operations)
            and len(project_ids) == 1
            and len(wanted) == 1
            and next(iter(wanted))[0] == project_ids[0]
            and len(next(iter(wanted.values()))) <= rows.CHUNK
        ):
            # A save, or a batch creating entities of one type in one
            # project: one statement (no update target to lock before).
            (project_id, datatype), names = wanted.popitem()
            origins = {op.origin_id for op in operations if is_hex_id(op.origin_id)}
            found = rows.project_and_named(
                self.conn,
                project_id,
                datatype,
                sorted(names),
                versions,
                origin_id=origins.pop() if len(origins) == 1 else None,
            )
            self.projects = found.projects
            if found.origin is not None:
                self.rows[found.origin["id"]] = found.origin
            self._found_names(project_id, datatype, found.named)
        elif project_ids:
            self.projects = rows.projects(self.conn, project_ids, versions)
        return wanted

    def _fetch_entities(self, ids: list[str], *, lock: bool) -> None:
        self.rows.update(rows.entities(self.conn, ids, lock=lock))

    def _fetch_links(self, ids: list[str]) -> None:
        self.links.update(rows.links(self.conn, ids))

    def _wanted_names(self, operations: Iterable[Operation]) -> dict[tuple, set]:
        """The names operations create or rename to, by project and type."""
        wanted: dict[tuple, set] = {}
        for op in operations:
            if not _storable(op.name) or not _storable(op.type):
                continue
            if op.op == "create" and isinstance(op.project_id, str):
                wanted.setdefault((op.project_id, op.type), set()).add(op.name)
            elif op.op == "update" and is_hex_id(op.id) and op.id in self.rows:
                project = self.rows[op.id]["project_id"]
                wanted.setdefault((project, op.type), set()).add(op.name)
        return wanted

    def _found_names(self, project_id: str, datatype: str, named) -> None:
        """Keep the entities holding names of a project and type."""
        for row in named:
            self.names[(project_id, datatype, row["name"])] = row["id"]
            self.rows.setdefault(row["id"], row)

    def _fetch_ancestors(self, ids: list[str]) -> None:
        """The parent of every entity above ``ids``."""
        self.parents.update(rows.parents(self.conn, ids))

    def parent_of(self, entity_id: str) -> str | None:
        """The parent of an entity as the hierarchy stands in this transaction."""
        staged = self.updated.get(entity_id) or self.created.get(entity_id)
        if staged is not None:
            return staged.after["origin_id"]
        row = self.rows.get(entity_id)
        if row is not None:
            return row["origin_id"]
        return self.parents.get(entity_id)

    # ------------------------------------------------------------- checks

    def _type_rules(self, datatype, message: str):
        rules = self.rules.get(datatype) if isinstance(datatype, str) else None
        if rules is None:
            raise labsettings.type_not_defined(self.conn, datatype, message)
        return rules

    def _project(self, project_id) -> sa.Row:
        row = self.projects.get(project_id) if isinstance(project_id, str) else None
        if row is None and not is_hex_id(project_id):
            raise BadRequest(
                "please provide a valid hexadecimal value for project_id",
                field="project_id",
            )
        if row is None:
            raise BadRequest(f"project {project_id} not found", field="project_id")
        if not self.actor.can_access(project_id):
            raise Forbidden(
                f"user {self.actor.username} is not a member of project {row.name}"
            )
        return row

    def entity(self, entity_id) -> dict | None:
        """An entity as it stands in this transaction (None if there is none)."""
        staged = self.updated.get(entity_id) or self.created.get(entity_id)
        row = staged.after if staged is not None else self.rows.get(entity_id)
        if row is not None and not self.actor.can_access(row["project_id"]):
            raise Forbidden(
                f"user {self.actor.username} has no access to entity {entity_id}"
            )
        return row

    def _origin(self, op: Operation, *, on_update: bool) -> dict | None:
        """The entity an operation puts its entity below (None: a root)."""
        if op.origin_ref is not None:
            return self.entity(self.refs[op.origin_ref])
        if op.origin_id is None:
            return None
        origin = self.entity(op.origin_id) if isinstance(op.origin_id, str) else None
        if origin is None and not is_hex_id(op.origin_id):
            if on_update:
                raise BadRequest(
                    "please provide a valid hexadecimal value for origin_id",
                    field="origin_id",
                )
            raise BadRequest("origin not found", field="origin_id")
        if origin is None:
            raise BadRequest("origin not found", field="origin_id")
        return origin

    def _check_links(self, links: Iterable[str]) -> None:
        for linked in links:
            if self.entity(linked) is None:
                raise BadRequest(
                    f"other_relations: no entity with id {linked}",
                    field="other_relations",
                )

    def _name_taken(self, action, datatype, name, project_id):
        project = self.projects.get(project_id)
        if project is None:
            project = self.conn.execute(
                sa.select(m.projects).where(m.projects.c.id == project_id)
            ).one()
        return protocol.name_taken(action, datatype, name, project.name)

    # -------------------------------------------------------- operations

    def apply(self, op: Operation) -> dict:
        """Check one operation against the rules and stage its effect.

        Returns
        -------
        dict
            Its result: ``index``, ``op``, ``ref``, ``status`` (``created``,
            ``updated`` or ``skipped``), ``id``, ``type``, ``name``.
        """
        if op.op == "create":
            status, entity_id = self._create(op)
        else:
            status, entity_id = self._update(op)
        if op.ref is not None:
            self.refs[op.ref] = entity_id
        staged = self.created.get(entity_id) or self.updated.get(entity_id)
        name = staged.after["name"] if staged else self.rows[entity_id]["name"]
        result = {
            "index": op.index,
            "op": op.op,
            "ref": op.ref,
            "status": status,
            "id": entity_id,
            "type": op.type,
            "name": name,
        }
        self.results.append(result)
        return result

    def _create(self, op: Operation) -> tuple[str, str]:
        rules = self._type_rules(op.type, "type provided is not defined")
        project = self._project(op.project_id)
        origin = self._origin(op, on_update=False)
        check_name(op.type, op.name, "Save", self.limits)
        self._check_links(op.other_relations)
        sent, stored = checked_and_stored(
            op.attributes,
            "Save",
            self.limits,
            self.nulls if op.nan_as_null else None,
        )
        if op.kept is None:
            # Names are lower-cased on save; restores and imports keep them
            # as they were (update-one does not lower-case).
            sent, stored = lower_keys(sent), lower_keys(stored)
        stored = in_key_order(stored)
        if op.check_settings:
            validate_attributes(
                op.type,
                sent,
                rules.attributes,
                strict=self.strict,
                action="Save",
                check_required=True,
            )
            check_parent_type(rules, origin and origin["type"], "Save")
        key = (project.id, op.type, op.name)
        if key in self.claimed:
            raise self._name_taken("Save", op.type, op.name, project.id)
        self.claimed.add(key)
        existing = self.names.get(key)
        if existing is None:
            return "created", self._stage_new(op, project, origin, sent, stored)
        if op.conflicts == Conflicts.ABORT:
            raise self._name_taken("Save", op.type, op.name, project.id)
        if op.conflicts == Conflicts.SKIP:
            return "skipped", existing
        current = self.entity(existing)
        given = sent
        if op.conflicts == Conflicts.OVERWRITE:
            given = {key: None for key in current["attributes"] or {}}
            given.update(sent)
        stored, echoed = merged_attributes(
            current["attributes"], given, allow_nulls=self.allow_nulls
        )
        self._check_settings(op, rules, stored, "Update")
        origin_id = origin["id"] if origin is not None else None
        self._stage_update(current, stored, None, origin_id, op, "Update", echoed)
        return "updated", existing

    def _stage_new(self, op: Operation, project, origin, sent, stored) -> str:
        text = attributes_json(stored, "Save", self.limits)
        kept = op.kept or {}
        entity_id = kept.get("id") or new_id()
        if entity_id in self.rows or entity_id in self.created:
            raise failed(
                "Save", f"id {entity_id} is already the id of an entity.", field="id"
            )
        row = {
            "id": entity_id,
            "project_id": project.id,
            "type": op.type,
            "name": op.name,
            "incremental_id": kept.get("incremental_id"),
            "attributes": stored,
            "created_by": kept.get("created_by") or self.actor.full_name,
            "date_created": kept.get("date_created", self.stamp),
            "date_updated": kept.get(
                "date_updated", kept.get("date_created", self.stamp)
            ),
            "origin_id": origin["id"] if origin is not None else None,
        }
        self.created[entity_id] = _Staged(
            after=row, links=list(op.other_relations), action=op.action or "create"
        )
        self.echoes[entity_id] = sent
        self.texts[entity_id] = (stored, text)
        return entity_id

    def _check_settings(self, op: Operation, rules, stored: dict, action: str):
        if op.check_settings:
            validate_attributes(
                op.type,
                stored,
                rules.attributes,
                strict=self.strict,
                action=action,
                check_required=False,
            )
        check_size(stored, action, self.limits)

    def _update(self, op: Operation) -> tuple[str, str]:
        if not is_hex_id(op.id):
            raise BadRequest(
                "please provide a valid hexadecimal value for id", field="id"
            )
        rules = self._type_rules(op.type, f"type {op.type} is not defined")
        row = self.entity(op.id)
        if row is None:
            raise failed("Update", f"No {op.type} with id {op.id}.")
        if row["type"] != op.type:
            raise failed(
                "Update", f"Entity {op.id} is a {row['type']}, not a {op.type}."
            )
        given = checked_attributes(op.attributes, "Update", self.limits)
        if op.replace:
            stored, echoed = stored_attributes(given), dict(given)
        else:
            stored, echoed = merged_attributes(
                row["attributes"], given, allow_nulls=self.allow_nulls
            )
        self._check_settings(op, rules, stored, "Update")
        name = None
        if op.name is not None and (op.name != row["name"] or not op.replace):
            check_name(op.type, op.name, "Update", self.limits)
            key = (row["project_id"], op.type, op.name)
            if key in self.claimed or key in self.names:
                raise self._name_taken("Update", op.type, op.name, row["project_id"])
            self.claimed.add(key)
            name = op.name
        origin = self._origin(op, on_update=True)
        origin_id = origin["id"] if origin is not None else None
        if op.replace and origin_id is None and row["origin_id"] is not None:
            origin_id = _ROOT
        self._stage_update(row, stored, name, origin_id, op, "Update", echoed, rules)
        return "updated", op.id

    def _stage_update(
        self, row, stored, name, origin_id, op, action, echoed, rules=None
    ) -> None:
        """Stage an update of ``row``: checks the move, then keeps the new row."""
        entity_id = row["id"]
        after = {**row, "attributes": stored_attributes(stored)}
        if name is not None:
            after["name"] = name
        if origin_id is _ROOT:
            after["origin_id"] = None
        elif origin_id is not None and origin_id != row["origin_id"]:
            check_no_loop(entity_id, origin_id, self.parent_of, action)
            if op.check_settings:
                rules = rules or self._type_rules(
                    row["type"], "type provided is not defined"
                )
                check_parent_type(rules, self.rows_type(origin_id), action)
            after["origin_id"] = origin_id
        new_links = self._new_links(entity_id, op.other_relations)
        self.echoes[entity_id] = echoed
        if entity_id in self.created:
            self.created[entity_id].after = after
            self.created[entity_id].links += new_links
            return
        staged = self.updated.get(entity_id)
        before = staged.before if staged else self.rows[entity_id]
        self.updated[entity_id] = _Staged(
            after=after,
            before=before,
            links=(staged.links if staged else []) + new_links,
            action=op.action or "update",
        )

    def rows_type(self, entity_id: str) -> str | None:
        found = self.entity(entity_id)
        return found["type"] if found is not None else None

    def _new_links(self, entity_id: str, links: list[str]) -> list[str]:
        if not links:
            return []
        self._check_links(links)
        if entity_id not in self.links:
            self.links[entity_id] = set()
            if entity_id not in self.created:
                self._fetch_links([entity_id])
        existing = self.links[entity_id]
        added = [linked for linked in links if linked not in existing]
        existing.update(added)
        return added

    # -------------------------------------------------------------- write

    def changed(self) -> list[_Staged]:
        """Updates that change something (an empty update writes nothing)."""
        return [
            staged
            for staged in self.updated.values()
            if staged.links
            or any(
                staged.after[key] != staged.before[key] for key in ("name", "origin_id")
            )
            or not same_json(staged.after["attributes"], staged.before["attributes"])
        ]

    def write(self) -> None:
        """Write everything staged: entities, updates, index, links, history."""
        new = [staged.after for staged in self.created.values()]
        changed = self.changed()
        if changed or self.batch is None:
            self.begin()
        for staged in changed:
            staged.after["date_updated"] = self.stamp
        self._number(new)
        rows.insert_entities(
            self.conn,
            new,
            {key: row.name for key, row in self.projects.items()},
            self.texts,
            self.inserts,
            self.batch,
            background=self.background_entities,
        )
        if changed:
            if new and self.batch is not None:
                # Updates may move entities below the new ones: insert them first.
                self.batch.flush()
            rows.update_entities(self.conn, [staged.after for staged in changed])
            rows.reindex(
                self.conn,
                [staged.after for staged in changed],
                self.batch.add if self.batch is not None else None,
            )
        links = [
            (entity_id, linked)
            for entity_id, staged in {**self.created, **self.updated}.items()
            for linked in staged.links
        ]
        self.inserts(m.entity_links, links)
        rows.record_history(
            self.conn,
            self.actor,
            [(s.action, None, s.after) for s in self.created.values()]
            + [(s.action, s.before, s.after) for s in changed],
            self.stamp,
            self.texts,
            self.inserts,
        )
        if self.batch is not None:
            self.batch.flush()

    def _number(self, new: list[dict]) -> None:
        """Give new entities their incremental ids; keep counters past kept ones."""
        missing: dict[str, list[dict]] = {}
        highest: dict[str, int] = {}
        for row in new:
            incremental = row["incremental_id"]
            if incremental is None:
                missing.setdefault(row["type"], []).append(row)
                continue
            number = rows.incremental_number(row["type"], incremental)
            if number is not None and number > highest.get(row["type"], 0):
                highest[row["type"]] = number
        if highest:
            self.begin()
            rows.raise_counters(self.conn, highest)
        for datatype, group in missing.items():
            if self.batch is not None and self.batch.computes:
                rows.number_late(self.batch, datatype, group)
                continue
            numbers = rows.reserve_numbers(self.conn, datatype, len(group))
            for row, number in zip(group, numbers, strict=True):
                row["incremental_id"] = number

    def begin(self) -> None:
        """Begin the transaction if the caller left it to begin (else it is
        under way already): what follows is written all or nothing."""
        db.begin(self.conn)

    def reply(self, entity_id: str) -> dict:
        """The protocol's reply for an entity this transaction wrote: with its
        links, and its attributes echoed as sent."""
        staged = self.created.get(entity_id) or self.updated.get(entity_id)
        row = staged.after if staged else self.rows[entity_id]
        links = self.links.get(entity_id, set())
        if entity_id in self.created:
            links = self.created[entity_id].links
        reply = entity_reply(
            row, links=sorted(links) if not isinstance(links, list) else links
        )
        reply["attributes"] = self.echoes.get(entity_id, reply["attributes"])
        return reply


#: Stands for "no parent" in a replacing update (None means "unchanged").
_ROOT = object()


def _locks_nothing(op: Operation) -> bool:
    """Whether an operation's look-ups lock nothing its write relies on: a
    creation whose name, if taken, refuses it, and that keeps no id of its
    own (a restore or an import keeps incremental ids, whose counters are
    raised by a statement of their own)."""
    return op.op == "create" and op.conflicts == Conflicts.ABORT and op.kept is None


def _may_move(op: Operation) -> bool:
    """Whether an operation may put an existing entity below another."""
    if op.origin_id is None and op.origin_ref is None and not op.replace:
        return False
    return op.op == "update" or op.conflicts in (Conflicts.UPDATE, Conflicts.OVERWRITE)


def _storable(text) -> bool:
    """Whether ``text`` may be looked up: text a database can hold (the rules
    refuse the rest with their own words when they check the operation)."""
    return isinstance(text, str) and text_problem(text) is None
