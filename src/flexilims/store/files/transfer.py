"""Migration: a project to and from the nested JSON of the Flexilims offline mode.

The format (described in ``docs/flexilims-json.md``) is one JSON object whose
keys are the names of the project's root entities (those without an origin).
Each entity is an object with the protocol's fields (``id``, ``type``,
``name``, ``incrementalId``, ``attributes``, ``createdBy``, ``dateCreated``,
``dateUpdated``, ``project``, ``origin_id``, ``customEntities``) and a
``children`` object of the same shape, keyed by name, holding the entities
whose origin it is.

:func:`import_project` loads such a dump into a project, keeping ids, names,
types, attributes, dates, ``createdBy`` and incremental ids, in one
transaction. A file is read one root at a time (:mod:`.dumpfile`) and its
entities go through the one write path a chunk at a time, each value checked
once; a refusal names the entity's path in the file and the transaction
writes nothing. :func:`export_project` and :func:`export_roots` (from
:mod:`.export`) write the same format, so an export imported into an empty
database gives back the same entities.
"""

import gc
import getpass
import math
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

import sqlalchemy as sa

from ... import protocol
from ...errors import BadRequest, FlexilimsError, NameTaken
from ...writes import is_hex_id
from .. import models as m
from ..entities import Actor, new_id, now_ms
from ..writing import bulk, rows
from ..writing.changes import Changes, Operation
from . import dumpfile
from .export import export_project, export_roots

#: Entities checked and written together; the import is still one transaction
#: (each chunk sees what the chunks before it wrote).
CHUNK = 10_000

#: The fields of an entity in the format, in the order :func:`export_project`
#: writes them (``children`` comes last).
FIELDS = protocol.EXPORT_FIELDS

#: Longest strings the columns hold, of the fields an import keeps as given.
MAX_LENGTH = {
    "type": m.entities.c.type.type.length,
    "incrementalId": m.entities.c.incremental_id.type.length,
    "createdBy": m.entities.c.created_by.type.length,
}

#: The latest date a column holds (milliseconds in a signed 64-bit integer).
_MAX_DATE = 2**63 - 1

#: How pandas' and Python's JSON writers spell a missing id.
_MISSING_IDS = frozenset(("", "nan", "NaN", "None", "null", "NaT"))

#: Said of a file that is not an object of root entities.
_NOT_AN_OBJECT = "the file must hold a JSON object of root entities keyed by name."


@dataclass
class _Node:
    """One entity of the file, its fields checked, as a creation."""

    id: str
    path: str
    operation: Operation
    links: list[str]
    #: The id named in the entity's ``project`` field, if any.
    project: str | None
    #: The fields the file did not give, filled with defaults.
    defaults: list[str] = field(default_factory=list)


def _refused(path: str | None, message: str) -> BadRequest:
    where = f" at {path}" if path else ""
    return BadRequest(f"Import failed{where}: {message} Nothing was imported.")


# ------------------------------------------------------------------ parse


def _is_nan(value) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _string(entity: Mapping, key: str, path: str, *, required: bool) -> str | None:
    value = entity.get(key)
    if type(value) is not str:
        if value is None or _is_nan(value):
            if required:
                raise _refused(path, f"'{key}' is missing.")
            return None
        raise _refused(path, f"'{key}' must be a non-empty string, not {value!r}.")
    if required and not value.strip():
        raise _refused(path, f"'{key}' must be a non-empty string, not {value!r}.")
    if len(value) > MAX_LENGTH[key]:
        raise _refused(path, f"'{key}' is longer than {MAX_LENGTH[key]} characters.")
    return value


def _date(entity: Mapping, key: str, path: str) -> int | None:
    value = entity.get(key)
    if type(value) is int and 0 <= value <= _MAX_DATE:
        return value
    if value is None or _is_nan(value):
        return None
    if type(value) is float and value.is_integer():
        value = int(value)
    if type(value) is not int or value < 0 or value > _MAX_DATE:
        raise _refused(
            path, f"'{key}' must be milliseconds since the epoch, not {value!r}."
        )
    return value


def _links(entity: Mapping, path: str) -> list[str]:
    links = entity.get("customEntities")
    if links is None or _is_nan(links) or not links:
        return []
    if not isinstance(links, list) or not all(is_hex_id(i) for i in links):
        raise _refused(path, "'customEntities' must be a list of 24-hex entity ids.")
    return list(dict.fromkeys(links))


def _name(entity: Mapping, key: str):
    """The entity's name: its ``name`` field, else its key in the file."""
    name = entity.get("name")
    return key if name is None or _is_nan(name) else name


class _Reading:
    """Entities of a file checked field by field, in depth-first order."""

    def __init__(self, created_by: str):
        self.created_by = created_by
        self.stamp = now_ms()
        #: NaN ids read as null (NaN attribute values are counted by the
        #: write path).
        self.nans = 0

    def id_field(self, value):
        """An id field, with the spellings of a missing value read as null."""
        if isinstance(value, str):
            return None if value in _MISSING_IDS else value
        if _is_nan(value):
            self.nans += 1
            return None
        return value

    def root(self, key: str, entity) -> list[_Node]:
        """A root and every entity below it, parents first."""
        stack = [(key, key, entity, None)]
        nodes = []
        while stack:
            path, name, entity, parent = stack.pop()
            if type(entity) is not dict and not isinstance(entity, Mapping):
                raise _refused(path, "an entity must be a JSON object with a 'type'.")
            node = self.node(entity, path, name, parent)
            nodes.append(node)
            children = entity.get("children")
            if type(children) is not dict:
                if children is None or _is_nan(children):
                    continue
                if not isinstance(children, Mapping):
                    raise _refused(
                        path, "'children' must be a JSON object keyed by name."
                    )
            if children:
                stack.extend(
                    (f"{path} > {name}", name, child, node)
                    for name, child in reversed(children.items())
                )
        return nodes

    def node(self, entity: Mapping, path: str, key: str, parent) -> _Node:
        """Check one entity's fields and fill the missing ones."""
        defaults = []
        get = entity.get
        datatype = _string(entity, "type", path, required=True)
        entity_id = self.id_field(get("id"))
        if entity_id is None:
            entity_id = new_id()
            defaults.append("id")
        elif not is_hex_id(entity_id):
            raise _refused(
                path, f"id {entity_id!r} is not 24 lower-case hexadecimal characters."
            )
        origin = self.id_field(get("origin_id"))
        if parent is not None:
            if origin is not None and origin != parent.id:
                raise _refused(
                    path,
                    f"origin_id {origin} is not the id {parent.id} of the entity "
                    "it is a child of.",
                )
            origin = parent.id
        elif origin is not None and not is_hex_id(origin):
            raise _refused(
                path,
                f"origin_id {origin!r} is not 24 lower-case hexadecimal characters.",
            )
        incremental = _string(entity, "incrementalId", path, required=False)
        if incremental is None:
            defaults.append("incrementalId")
        author = _string(entity, "createdBy", path, required=False)
        if author is None:
            author = self.created_by
            defaults.append("createdBy")
        created = _date(entity, "dateCreated", path)
        if created is None:
            created = self.stamp
            defaults.append("dateCreated")
        updated = _date(entity, "dateUpdated", path)
        if updated is None:
            updated = created
            defaults.append("dateUpdated")
        attributes = get("attributes")
        if attributes is None or _is_nan(attributes):
            attributes = {}
        project = self.id_field(get("project"))
        return _Node(
            id=entity_id,
            path=path,
            operation=Operation(
                index=0,
                op="create",
                type=datatype,
                name=_name(entity, key),
                origin_id=origin,
                attributes=attributes,
                kept={
                    "id": entity_id,
                    "incremental_id": incremental,
                    "created_by": author,
                    "date_created": created,
                    "date_updated": updated,
                },
                check_settings=False,
                action="import",
                nan_as_null=True,
            ),
            links=_links(entity, path),
            project=project if is_hex_id(project) else None,
            defaults=defaults,
        )


def _walk(roots) -> Iterator[tuple[str, Mapping]]:
    """Every entity of a file with its path, in depth-first order, without
    checks (to find where an earlier entity was)."""
    for key, root in roots:
        stack = [(str(key), str(key), root)]
        while stack:
            path, key, entity = stack.pop()
            if not isinstance(entity, Mapping):
                continue
            yield path, key, entity
            children = entity.get("children")
            if isinstance(children, Mapping):
                stack.extend(
                    (f"{path} > {name}", name, child)
                    for name, child in reversed(children.items())
                )


# ------------------------------------------------------------ the source


class _Source:
    """A dump to read, root by root, as often as needed (a second reading
    only finds where an earlier entity was, for a message)."""

    def __init__(self, data):
        self.data, self.spool = data, None
        if isinstance(data, Mapping):
            return
        if isinstance(data, str | os.PathLike):
            return
        if not hasattr(data, "read"):
            raise _refused(None, _NOT_AN_OBJECT)
        if not _seekable(data):
            self.spool = tempfile.TemporaryFile()
            shutil.copyfileobj(data, self.spool)
            self.spool.seek(0)
            self.data = self.spool
        self.start = self.data.tell()

    def roots(self) -> Iterator[tuple[str, object]]:
        """The ``(key, entity)`` pairs of the dump, in file order."""
        if isinstance(self.data, Mapping):
            for key, value in self.data.items():
                yield str(key), value
            return
        try:
            if isinstance(self.data, str | os.PathLike):
                with open(self.data, "rb") as stream:
                    yield from dumpfile.read_roots(stream)
            else:
                self.data.seek(self.start)
                yield from dumpfile.read_roots(self.data)
        except dumpfile.NotAnObject:
            raise _refused(None, _NOT_AN_OBJECT) from None

    def close(self) -> None:
        if self.spool is not None:
            self.spool.close()


def _seekable(stream) -> bool:
    try:
        return stream.seekable()
    except (AttributeError, OSError, ValueError):
        return False


# ------------------------------------------------------------ database


def _existing_project(conn, project_name: str):
    p = m.projects
    return conn.execute(
        sa.select(p).where(sa.or_(p.c.name == project_name, p.c.id == project_name))
    ).first()


def _new_project(conn, project_name: str, candidates: set[str]):
    """A project created for the import (inside the transaction); it keeps the
    id the dump's entities name, when they agree on one and no other project
    has it."""
    p = m.projects
    if not project_name.strip() or len(project_name) > p.c.name.type.length:
        raise _refused(None, f"'{project_name}' cannot be a project name.")
    project_id = None
    if len(candidates) == 1:
        (candidate,) = candidates
        taken = conn.execute(sa.select(p.c.id).where(p.c.id == candidate)).first()
        if taken is None:
            project_id = candidate
    values = {
        "id": project_id or new_id(),
        "name": project_name,
        "date_created": now_ms(),
    }
    conn.execute(p.insert().values(values))
    return conn.execute(sa.select(p).where(p.c.id == values["id"])).one()


def _why(error: FlexilimsError) -> str:
    """An entity's refusal in the words of an import."""
    if isinstance(error, NameTaken):
        return (
            f"{error.datatype.capitalize()} {error.name} already exist in the "
            f"project {error.project}."
        )
    return error.reason


class _Import:
    """One import in one write transaction: roots are read, checked and
    written a chunk at a time; roots whose origin comes later in the file,
    and links to entities not written yet, wait for the end."""

    def __init__(
        self, store, conn, source: _Source, reading: _Reading, bar, inserts, deferred
    ):
        self.store, self.conn, self.source = store, conn, source
        self.reading, self.bar = reading, bar
        #: The second thread (:class:`.bulk.BackgroundInserts`); on SQLite
        #: it inserts the entities too, and does the work of the triggers
        #: set aside (``deferred``) after each chunk.
        self.background = inserts
        self.deferred = deferred
        self.entities_in_background = conn.dialect.name == "sqlite"
        #: What the thread must have done before the next chunk is looked up.
        self.entities_mark = 0
        self.actor = Actor(
            username=reading.created_by, full_name=reading.created_by, is_admin=True
        )
        self.project = None
        self.project_created = False
        #: Ids of the entities written so far.
        self.written: set[str] = set()
        self.buffer: list[list[_Node]] = []
        self.buffered = 0
        #: Roots (with their entities) whose origin is not written yet.
        self.waiting: list[list[_Node]] = []
        #: ``(node, linked id)`` of links to entities not written yet.
        self.later_links: list[tuple[_Node, str]] = []
        self.links = 0
        self.nans = 0
        self.by_type: dict[str, int] = {}
        self.defaults: dict[str, int] = {}

    def run(self, project_name: str, create: bool) -> None:
        self.project = _existing_project(self.conn, project_name)
        if self.project is None and not create:
            raise _refused(
                None,
                f"there is no project named '{project_name}': create it with "
                f"`flexilims project create {project_name}` or let the import "
                "create it.",
            )
        for key, root in self.source.roots():
            nodes = self.reading.root(key, root)
            self.buffer.append(nodes)
            self.buffered += len(nodes)
            if self.buffered >= CHUNK:
                self._flush(project_name)
        self._flush(project_name)
        self._write_waiting()
        self._write_later_links()

    def _flush(self, project_name: str) -> None:
        groups, self.buffer, self.buffered = self.buffer, [], 0
        if self.project is None:
            candidates = {n.project for g in groups for n in g if n.project}
            self.project = _new_project(self.conn, project_name, candidates)
            self.project_created = True
        ready, waiting = self._ready(groups)
        self.waiting += waiting
        self._write([node for group in ready for node in group])

    def _ready(self, groups: list[list[_Node]]) -> tuple[list, list]:
        """Roots whose origin is written, in this chunk or in the database;
        and the others, which wait."""
        unknown, chunk = set(), set()
        for group in groups:
            origin = group[0].operation.origin_id
            if not (origin is None or origin in self.written or origin in chunk):
                unknown.add(origin)
            chunk.update(node.id for node in group)
        found = set()
        if unknown:
            # A turn waits for the thread's statement: not for nothing.
            with self.background.first():
                found = rows.existing(self.conn, sorted(unknown))
        ready, waiting, placed = [], [], set()
        for group in groups:
            origin = group[0].operation.origin_id
            if (
                origin is None
                or origin in found
                or origin in self.written
                or origin in placed
            ):
                ready.append(group)
                placed.update(node.id for node in group)
            else:
                waiting.append(group)
        return ready, waiting

    def _write_waiting(self) -> None:
        """Roots whose origin came later in the file, once it is written."""
        while self.waiting:
            ready = [
                g for g in self.waiting if g[0].operation.origin_id in self.written
            ]
            if not ready:
                break
            self.waiting = [
                g for g in self.waiting if g[0].operation.origin_id not in self.written
            ]
            self._write([node for group in ready for node in group])
        if self.waiting:
            first = self.waiting[0][0]
            origin = first.operation.origin_id
            if any(origin == node.id for group in self.waiting for node in group):
                raise _refused(
                    first.path,
                    f"origin_id {origin} makes a loop of parents in the file (an "
                    "entity below itself); break it in the file first.",
                )
            raise _refused(first.path, _no_origin(origin))

    def _write(self, nodes: list[_Node]) -> None:
        for start in range(0, len(nodes), CHUNK):
            self._write_chunk(nodes[start : start + CHUNK])

    def _write_chunk(self, chunk: list[_Node]) -> None:
        """Entities through the one write path, then their links."""
        operations = [node.operation for node in chunk]
        project_id = self.project.id  # a row's attribute costs a failed look-up
        for index, operation in enumerate(operations):
            operation.index = index
            operation.project_id = project_id
        changes = Changes(
            self.store,
            self.conn,
            self.actor,
            inserts=self.inserts,
            background_entities=self.entities_in_background,
        )
        self._wait()
        with self.background.first():
            changes.prepare(operations)
        for node in chunk:
            try:
                changes.apply(node.operation)
            except FlexilimsError as error:
                raise self._refusal(node, error, changes) from None
        try:
            changes.write()
        except FlexilimsError as error:
            raise _clashed() from error
        self.nans += changes.nulls.count
        for node in chunk:
            self.written.add(node.id)
            datatype = node.operation.type
            self.by_type[datatype] = self.by_type.get(datatype, 0) + 1
            for key in node.defaults:
                self.defaults[key] = self.defaults.get(key, 0) + 1
        self._write_links(chunk)
        self.bar.update(len(chunk))

    def inserts(self, table, rows, columns=None, errors=None) -> None:
        """Queue rows for the second thread (after the entities of a chunk,
        the work of the triggers set aside)."""
        try:
            entities = table is m.entities
            self.background.insert(table, rows, columns, errors, urgent=entities)
            if entities and rows:
                self.entities_mark = self.background.mark()
                if self.deferred is not None:
                    self.background.call(self.deferred.catch_up)
        except FlexilimsError as error:
            raise _clashed() from error

    def _wait(self) -> None:
        """Wait for the entities written so far to be in the database."""
        try:
            self.background.wait(self.entities_mark)
        except FlexilimsError as error:
            raise _clashed() from error

    def finish(self) -> None:
        """Wait for the second thread to insert everything queued."""
        try:
            self.background.finish()
        except FlexilimsError as error:
            raise _clashed() from error

    def _write_links(self, chunk: list[_Node]) -> None:
        """Links to written entities (of the file or of the database); the
        others wait for the end of the file."""
        pairs, unknown = [], []
        for node in chunk:
            for linked in node.links:
                if linked in self.written:
                    pairs.append((node.id, linked))
                else:
                    unknown.append((node, linked))
        if unknown:
            with self.background.first():
                found = rows.existing(self.conn, sorted({link for _, link in unknown}))
            for node, linked in unknown:
                if linked in found:
                    pairs.append((node.id, linked))
                else:
                    self.later_links.append((node, linked))
        self.inserts(m.entity_links, pairs)
        self.links += len(pairs)

    def _write_later_links(self) -> None:
        pairs = []
        for node, linked in self.later_links:
            if linked not in self.written:
                raise _refused(
                    node.path,
                    f"customEntities: {linked} is neither in the file nor in the "
                    "database.",
                )
            pairs.append((node.id, linked))
        self.inserts(m.entity_links, pairs)
        self.links += len(pairs)

    def _refusal(self, node: _Node, error: FlexilimsError, changes) -> BadRequest:
        """An entity's refusal by the write path, in the words of an import."""
        operation = node.operation
        if error.field == "origin_id":
            return _refused(node.path, _no_origin(operation.origin_id))
        if isinstance(error, NameTaken):
            key = (self.project.id, operation.type, operation.name)
            holder = changes.names.get(key)
            if holder in self.written or (holder is None and key in changes.claimed):
                where = self._where(
                    node.path,
                    lambda path, key, entity: (
                        entity.get("type") == operation.type
                        and _name(entity, key) == operation.name
                    ),
                )
                return _refused(
                    node.path,
                    f"{operation.type.capitalize()} {operation.name} appears twice "
                    f"in the file (also at {where}): names are unique per project "
                    "and type.",
                )
        if error.field == "id" and (
            node.id in self.written or node.id in changes.created
        ):
            where = self._where(
                node.path, lambda path, key, entity: entity.get("id") == node.id
            )
            return _refused(node.path, f"id {node.id} is also the id of {where}.")
        return _refused(node.path, _why(error))

    def _where(self, path: str, match: Callable) -> str:
        """The path of the first other entity of the file that ``match``es."""
        for other, key, entity in _walk(self.source.roots()):
            if other != path and match(other, key, entity):
                return other
        return "another entity"


#: Objects allocated (net) between two collections of garbage while importing.
_GARBAGE_THRESHOLD = 1_000_000


@contextmanager
def _rare_collections():
    """Collect garbage rarely while importing: each chunk's objects live long
    enough to be promoted, and full collections would otherwise walk every
    object of the process a few times per chunk (a third of the time of a
    large import). The threshold is well above the objects a chunk holds at
    once (about 150,000 for 10,000 entities), so that reference counting
    frees them before any collection walks them (which cost 5 % of the
    time with a threshold of 100,000). The import makes no reference cycles
    of its own."""
    thresholds = gc.get_threshold()
    gc.set_threshold(max(thresholds[0], _GARBAGE_THRESHOLD), *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


#: How long a thread may hold Python's global lock while importing, in
#: seconds (Python's default is 0.005).
_SWITCH_INTERVAL = 0.0005


@contextmanager
def _quick_handovers():
    """Hand Python's global lock between threads more often while importing:
    the second thread needs it back after each statement the driver ran
    without it, and waited up to Python's interval each time while this
    thread parsed and checked (the 1,000,000-entity import took 3 % longer,
    interleaved runs)."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, _SWITCH_INTERVAL))
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


def _clashed() -> BadRequest:
    """An entity refused by the database, not by the checks: another writer
    took one of its names or ids meanwhile."""
    return _refused(
        None,
        "an entity with one of these names or ids was created while "
        "importing; try again.",
    )


def _no_origin(origin) -> str:
    return (
        f"origin_id {origin} is neither in the file nor in the database: import "
        "the project that holds it first."
    )


def import_project(
    store,
    data,
    project_name: str,
    *,
    progress: bool = True,
    create_project: bool = True,
    created_by: str | None = None,
) -> dict:
    """Load a project dump in the Flexilims offline JSON format, all or nothing.

    The dump is read one root at a time, and its entities go through the one
    write path (:mod:`flexilims.store.writing.changes`) a chunk at a time, with their
    ids, dates, ``createdBy`` and incremental ids kept; each leaves an
    ``import`` version in the history. The lab settings' value rules are not
    applied: a dump holds what another server accepted.

    Parameters
    ----------
    store : Store
        The database.
    data : dict, path or binary file
        The dump: root entities keyed by name, each with its fields and a
        ``children`` dict (see ``docs/flexilims-json.md``), parsed already or
        as a file of UTF-8 JSON (read as it is imported; a stream that cannot
        seek is copied to a temporary file first). ``NaN`` (which the
        Flexilims client's pandas writes for missing values) is read as null.
    project_name : str
        The project (name or id) that receives the entities.
    progress : bool
        Show a progress bar while writing.
    create_project : bool
        Create the project if there is none of that name; it keeps the id the
        entities' ``project`` field names, when the entities of the first
        chunk agree on one that is free.
    created_by : str, optional
        ``createdBy`` of entities that have none, and the author of the
        import's history (default: the login name of whoever runs the import).

    Returns
    -------
    dict
        ``project`` (name), ``project_id``, ``project_created`` (bool),
        ``entities`` (count), ``by_type`` (count per type), ``links`` (count),
        ``defaults`` (per field, how many entities lacked it) and ``nans``
        (how many NaN values were read as null).

    Raises
    ------
    BadRequest
        The first problem of the file, naming the entity's path (its keys from
        the root, joined by `` > ``); nothing is written.
    json.JSONDecodeError, UnicodeDecodeError
        The file is not UTF-8 JSON; nothing is written.
    """
    from tqdm.auto import tqdm  # for imports only: exports do without it

    if created_by is None:
        try:
            created_by = getpass.getuser()
        except (OSError, KeyError):
            created_by = "unknown"
    source = _Source(data)
    reading = _Reading(created_by)
    try:
        with (
            _rare_collections(),
            _quick_handovers(),
            store.write() as conn,
            tqdm(desc="Importing", unit=" entities", disable=not progress) as bar,
            bulk.deferred_entity_triggers(conn) as deferred,
            bulk.large_cache(conn),
        ):
            inserts = bulk.BackgroundInserts(conn)
            try:
                work = _Import(store, conn, source, reading, bar, inserts, deferred)
                work.run(project_name, create_project)
                work.finish()
            finally:
                inserts.close()
    finally:
        source.close()
    return {
        "project": work.project.name,
        "project_id": work.project.id,
        "project_created": work.project_created,
        "entities": len(work.written),
        "by_type": work.by_type,
        "links": work.links,
        "defaults": work.defaults,
        "nans": reading.nans + work.nans,
    }


__all__ = ["CHUNK", "FIELDS", "export_project", "export_roots", "import_project"]
