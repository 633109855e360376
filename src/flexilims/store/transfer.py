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
transaction: the whole file is checked first, and a refusal names the entity's
path in the file and writes nothing. Rows are inserted in bulk (``COPY`` on
PostgreSQL, ``executemany`` on SQLite) after a fixed number of look-up
queries. :func:`export_project` writes the same format, so
an export imported into an empty database gives back the same entities.
"""

import getpass
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from tqdm.auto import tqdm

from .. import protocol
from ..errors import BadRequest, FlexilimsError, NameTaken, ProjectNotFound
from ..writes import is_hex_id
from . import db
from . import models as m
from .changes import Changes, Operation
from .entities import ENTITY_COLUMNS, Actor, entity_replies, new_id, now_ms

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

#: How pandas' and Python's JSON writers spell a missing id.
_MISSING_IDS = ("", "nan", "NaN", "None", "null", "NaT")


@dataclass
class _Node:
    """One entity of the file, checked, as a row of the ``entities`` table."""

    path: str
    row: dict
    links: list[str]
    #: The fields the file did not give, filled with defaults.
    defaults: set[str] = field(default_factory=set)

    @property
    def id(self) -> str:
        return self.row["id"]


@dataclass
class _Reading:
    """What reading a file found besides its entities."""

    projects: list[str] = field(default_factory=list)
    #: How many NaN values were read as null.
    nans: int = 0


def _refused(path: str | None, message: str) -> BadRequest:
    where = f" at {path}" if path else ""
    return BadRequest(f"Import failed{where}: {message} Nothing was imported.")


# ------------------------------------------------------------------ parse


def _is_nan(value) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _string(entity: Mapping, key: str, path: str, *, required: bool) -> str | None:
    value = entity.get(key)
    if value is None or _is_nan(value):
        if required:
            raise _refused(path, f"'{key}' is missing.")
        return None
    if type(value) is not str or (required and not value.strip()):
        raise _refused(path, f"'{key}' must be a non-empty string, not {value!r}.")
    if key in MAX_LENGTH and len(value) > MAX_LENGTH[key]:
        raise _refused(path, f"'{key}' is longer than {MAX_LENGTH[key]} characters.")
    return value


def _date(entity: Mapping, key: str, path: str) -> int | None:
    value = entity.get(key)
    if value is None or _is_nan(value):
        return None
    if type(value) is float and value.is_integer():
        value = int(value)
    if type(value) is not int or value < 0 or value > 2**63 - 1:
        raise _refused(
            path, f"'{key}' must be milliseconds since the epoch, not {value!r}."
        )
    return value


def _id(value, reading: _Reading):
    """An id field, with the spellings of a missing value read as null."""
    if _is_nan(value):
        reading.nans += 1
        return None
    if isinstance(value, str) and value in _MISSING_IDS:
        return None
    return value


def _without_nan(value, reading: _Reading):
    """A value with every NaN read as null (counted), at any depth."""
    if isinstance(value, float):
        if math.isnan(value):
            reading.nans += 1
            return None
        return value
    if isinstance(value, Mapping):
        return {key: _without_nan(item, reading) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_nan(item, reading) for item in value]
    return value


def _links(entity: Mapping, path: str) -> list[str]:
    links = entity.get("customEntities")
    if links is None or _is_nan(links) or not links:
        return []
    if not isinstance(links, list) or not all(is_hex_id(i) for i in links):
        raise _refused(path, "'customEntities' must be a list of 24-hex entity ids.")
    return list(dict.fromkeys(links))


def _parse(data, created_by: str) -> tuple[list[_Node], _Reading]:
    """Check the file's shape and fields; the entities in depth-first order."""
    if not isinstance(data, Mapping):
        raise _refused(
            None,
            "the file must hold a JSON object of root entities keyed by name.",
        )
    stamp = now_ms()
    reading = _Reading()
    nodes: list[_Node] = []
    where_id: dict[str, str] = {}
    where_name: dict[tuple[str, str], str] = {}
    stack = [(str(key), value, None) for key, value in reversed(data.items())]
    while stack:
        path, entity, parent = stack.pop()
        if not isinstance(entity, Mapping):
            raise _refused(path, "an entity must be a JSON object with a 'type'.")
        node = _node(entity, path, parent, stamp, created_by, reading)
        if node.id in where_id:
            raise _refused(path, f"id {node.id} is also the id of {where_id[node.id]}.")
        where_id[node.id] = path
        key = (node.row["type"], node.row["name"])
        if key in where_name:
            raise _refused(
                path,
                f"{key[0].capitalize()} {key[1]} appears twice in the file (also "
                f"at {where_name[key]}): names are unique per project and type.",
            )
        where_name[key] = path
        project = _id(entity.get("project"), reading)
        if is_hex_id(project):
            reading.projects.append(project)
        nodes.append(node)
        children = entity.get("children")
        if children is None or _is_nan(children):
            continue
        if not isinstance(children, Mapping):
            raise _refused(path, "'children' must be a JSON object keyed by name.")
        stack.extend(
            (f"{path} > {name}", child, node)
            for name, child in reversed(children.items())
        )
    return nodes, reading


def _node(entity, path: str, parent, stamp: int, created_by: str, reading) -> _Node:
    """Check one entity's fields and fill the missing ones."""
    defaults = set()
    datatype = _string(entity, "type", path, required=True)
    name = entity.get("name")
    if name is None or _is_nan(name):
        name = path.rsplit(" > ", 1)[-1]
    entity_id = _id(entity.get("id"), reading)
    if entity_id is None:
        entity_id = new_id()
        defaults.add("id")
    elif not is_hex_id(entity_id):
        raise _refused(
            path, f"id {entity_id!r} is not 24 lower-case hexadecimal characters."
        )
    origin = _id(entity.get("origin_id"), reading)
    if parent is not None:
        if origin is not None and origin != parent.id:
            raise _refused(
                path,
                f"origin_id {origin} is not the id {parent.id} of the entity it "
                "is a child of.",
            )
        origin = parent.id
    elif origin is not None and not is_hex_id(origin):
        raise _refused(
            path, f"origin_id {origin!r} is not 24 lower-case hexadecimal characters."
        )
    incremental = _string(entity, "incrementalId", path, required=False)
    if incremental is None:
        defaults.add("incrementalId")
    author = _string(entity, "createdBy", path, required=False)
    if author is None:
        author = created_by
        defaults.add("createdBy")
    created = _date(entity, "dateCreated", path)
    if created is None:
        created = stamp
        defaults.add("dateCreated")
    updated = _date(entity, "dateUpdated", path)
    if updated is None:
        updated = created
        defaults.add("dateUpdated")
    attributes = entity.get("attributes")
    if attributes is None or _is_nan(attributes):
        attributes = {}
    elif isinstance(attributes, Mapping):
        attributes = _without_nan(attributes, reading)
    return _Node(
        path=path,
        row={
            "id": entity_id,
            "type": datatype,
            "name": name,
            "incremental_id": incremental,
            "attributes": attributes,
            "created_by": author,
            "date_created": created,
            "date_updated": updated,
            "origin_id": origin,
        },
        links=_links(entity, path),
        defaults=defaults,
    )


def _parents_first(nodes: list[_Node]) -> list[_Node]:
    """Order the entities so that a parent comes before its children.

    Nested entities are in order already; a root may name another entity of
    the file as its origin. Origins that loop are refused: no write path makes
    a loop of parents.
    """
    ids = {node.id for node in nodes}
    placed: set[str] = set()
    ordered: list[_Node] = []
    waiting = nodes
    while waiting:
        still = []
        for node in waiting:
            origin = node.row["origin_id"]
            if origin is None or origin not in ids or origin in placed:
                ordered.append(node)
                placed.add(node.id)
            else:
                still.append(node)
        if len(still) == len(waiting):
            loop = still[0]
            raise _refused(
                loop.path,
                f"origin_id {loop.row['origin_id']} makes a loop of parents in the "
                "file (an entity below itself); break it in the file first.",
            )
        waiting = still
    return ordered


# ------------------------------------------------------------ database


def _project(conn, project_name: str, candidates: list[str], create: bool):
    """The project to import into, created if allowed (inside the transaction).

    A new project keeps the id the dump's entities name, when they agree on
    one and no other project has it.
    """
    p = m.projects
    row = conn.execute(
        sa.select(p).where(sa.or_(p.c.name == project_name, p.c.id == project_name))
    ).first()
    if row is not None:
        return row, False
    if not create:
        raise _refused(
            None,
            f"there is no project named '{project_name}': create it with "
            f"`flexilims project create {project_name}` or let the import "
            "create it.",
        )
    if not project_name.strip() or len(project_name) > p.c.name.type.length:
        raise _refused(None, f"'{project_name}' cannot be a project name.")
    project_id = None
    if len(set(candidates)) == 1:
        taken = conn.execute(sa.select(p.c.id).where(p.c.id == candidates[0])).first()
        if taken is None:
            project_id = candidates[0]
    values = {
        "id": project_id or new_id(),
        "name": project_name,
        "date_created": now_ms(),
    }
    conn.execute(p.insert().values(values))
    return conn.execute(sa.select(p).where(p.c.id == values["id"])).one(), True


def _operation(index: int, node: _Node, project_id: str) -> Operation:
    row = node.row
    return Operation(
        index=index,
        op="create",
        type=row["type"],
        name=row["name"],
        project_id=project_id,
        origin_id=row["origin_id"],
        attributes=row["attributes"],
        kept={
            "id": row["id"],
            "incremental_id": row["incremental_id"],
            "created_by": row["created_by"],
            "date_created": row["date_created"],
            "date_updated": row["date_updated"],
        },
        check_settings=False,
        action="import",
    )


def _why(error: FlexilimsError) -> str:
    """An entity's refusal in the words of an import."""
    if isinstance(error, NameTaken):
        return (
            f"{error.datatype.capitalize()} {error.name} already exist in the "
            f"project {error.project}."
        )
    return error.reason


def _write(store, conn, actor, nodes, project, bar) -> None:
    """The entities through the one write path, a chunk at a time."""
    for start in range(0, len(nodes), CHUNK):
        chunk = nodes[start : start + CHUNK]
        operations = [
            _operation(start + index, node, project.id)
            for index, node in enumerate(chunk)
        ]
        changes = Changes(store, conn, actor)
        changes.prepare(operations)
        for operation, node in zip(operations, chunk, strict=True):
            try:
                changes.apply(operation)
            except FlexilimsError as error:
                if error.field == "origin_id":
                    raise _refused(
                        node.path,
                        f"origin_id {node.row['origin_id']} is neither in the file "
                        "nor in the database: import the project that holds it "
                        "first.",
                    ) from None
                raise _refused(node.path, _why(error)) from None
        try:
            changes.write()
        except FlexilimsError as error:
            raise _refused(
                None,
                "an entity with one of these names or ids was created while "
                "importing; try again.",
            ) from error
        bar.update(len(chunk))


def _write_links(conn, nodes: list[_Node]) -> int:
    """The links of the file, once every entity is in: each must point to an
    entity of the file or of the database."""
    ids = {node.id for node in nodes}
    outside = sorted({link for node in nodes for link in node.links} - ids)
    found = _existing(conn, m.entities.c.id, outside)
    for node in nodes:
        for link in node.links:
            if link not in ids and link not in found:
                raise _refused(
                    node.path,
                    f"customEntities: {link} is neither in the file nor in the "
                    "database.",
                )
    links = [(node.id, linked) for node in nodes for linked in node.links]
    db.bulk_insert(conn, m.entity_links, links)
    return len(links)


def _existing(conn, column, values: list) -> set:
    """The ``values`` found in ``column``: one ``= ANY(array)`` query on
    PostgreSQL, ``IN`` lists on SQLite."""
    found = set()
    if not values:
        return found
    if conn.dialect.name == "postgresql":
        array = sa.bindparam("values", values, type_=postgresql.ARRAY(sa.String))
        return set(
            conn.execute(sa.select(column).where(column == sa.any_(array))).scalars()
        )
    for start in range(0, len(values), 5000):
        query = sa.select(column).where(column.in_(values[start : start + 5000]))
        found.update(conn.execute(query).scalars())
    return found


def import_project(
    store,
    data: dict,
    project_name: str,
    *,
    progress: bool = True,
    create_project: bool = True,
    created_by: str | None = None,
) -> dict:
    """Load a project dump in the Flexilims offline JSON format, all or nothing.

    Every entity goes through the one write path (:mod:`flexilims.store.changes`)
    with its id, dates, ``createdBy`` and incremental id kept, and leaves an
    ``import`` version in the history. The lab settings' value rules are not
    applied: a dump holds what another server accepted.

    Parameters
    ----------
    store : Store
        The database.
    data : dict
        The dump: root entities keyed by name, each with its fields and a
        ``children`` dict (see ``docs/flexilims-json.md``). ``NaN`` (which the
        Flexilims client's pandas writes for missing values) is read as null.
    project_name : str
        The project (name or id) that receives the entities.
    progress : bool
        Show a progress bar while writing.
    create_project : bool
        Create the project if there is none of that name; it keeps the id the
        entities' ``project`` field names, when they agree on one that is free.
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
    """
    if created_by is None:
        try:
            created_by = getpass.getuser()
        except (OSError, KeyError):
            created_by = "unknown"
    nodes, reading = _parse(data, created_by)
    ordered = _parents_first(nodes)
    actor = Actor(username=created_by, full_name=created_by, is_admin=True)
    with (
        store.write() as conn,
        tqdm(
            total=len(ordered),
            desc="Importing",
            unit=" entities",
            disable=not progress,
        ) as bar,
    ):
        project, created = _project(
            conn, project_name, reading.projects, create_project
        )
        _write(store, conn, actor, ordered, project, bar)
        links = _write_links(conn, ordered)
    by_type: dict[str, int] = {}
    defaults: dict[str, int] = {}
    for node in ordered:
        by_type[node.row["type"]] = by_type.get(node.row["type"], 0) + 1
        for key in node.defaults:
            defaults[key] = defaults.get(key, 0) + 1
    return {
        "project": project.name,
        "project_id": project.id,
        "project_created": created,
        "entities": len(ordered),
        "by_type": by_type,
        "links": links,
        "defaults": defaults,
        "nans": reading.nans,
    }


# ----------------------------------------------------------------- export


def _free_key(siblings: dict, entity: dict) -> str:
    """The entity's name, or ``name (type)`` when a sibling of another type
    already has that name (the import reads the ``name`` field, not the key)."""
    key = entity["name"]
    if key in siblings:
        key = f"{entity['name']} ({entity['type']})"
        number = 2
        while key in siblings:
            key = f"{entity['name']} ({entity['type']} {number})"
            number += 1
    return key


def _cycle_cuts(by_id: dict[str, dict]) -> set[str]:
    """Entities of origin cycles to write as roots, one per cycle."""
    done: set[str] = set()
    cuts: set[str] = set()
    for start in by_id:
        chain: list[str] = []
        on_chain: set[str] = set()
        current = start
        while current in by_id and current not in done and current not in on_chain:
            chain.append(current)
            on_chain.add(current)
            current = by_id[current]["origin_id"]
        if current in on_chain:
            cuts.add(current)
        done.update(chain)
    return cuts


def export_project(store, project_name: str, actor: Actor | None = None) -> dict:
    """A project as nested JSON in the Flexilims offline format.

    Parameters
    ----------
    store : Store
        The database.
    project_name : str
        The project's name or id.
    actor : Actor, optional
        Who asks: only a project they can see (default: any).

    Returns
    -------
    dict
        Root entities keyed by name, each with the fields of :data:`FIELDS`
        and a ``children`` dict keyed by name, oldest first. An entity whose
        origin is in another project is a root that keeps its ``origin_id``.
        When two siblings of different types share a name, the later one's
        key is ``name (type)``.

    Raises
    ------
    BadRequest
        There is no such project.
    """
    e, links = m.entities, m.entity_links
    with store.read() as conn:
        project = conn.execute(
            sa.select(m.projects).where(
                sa.or_(
                    m.projects.c.name == project_name, m.projects.c.id == project_name
                )
            )
        ).first()
        if project is None or (actor is not None and not actor.can_access(project.id)):
            raise ProjectNotFound(
                f"No project named '{project_name}'.", project=project_name
            )
        rows = conn.execute(
            sa.select(*ENTITY_COLUMNS)
            .where(e.c.project_id == project.id)
            .order_by(e.c.date_created, e.c.id)
        ).all()
        pairs = conn.execute(
            sa.select(links.c.entity_id, links.c.linked_id)
            .join(e, e.c.id == links.c.entity_id)
            .where(e.c.project_id == project.id)
            .order_by(links.c.entity_id, links.c.linked_id)
        ).all()
    linked: dict[str, list[str]] = {}
    for entity_id, linked_id in pairs:
        linked.setdefault(entity_id, []).append(linked_id)
    by_id = {}
    for entity in entity_replies(rows):
        entity["customEntities"] = linked.get(entity["id"], [])
        entity["children"] = {}
        by_id[entity["id"]] = entity
    cuts = _cycle_cuts(by_id)
    roots: dict[str, dict] = {}
    for entity in by_id.values():
        parent = by_id.get(entity["origin_id"])
        siblings = (
            roots if parent is None or entity["id"] in cuts else parent["children"]
        )
        siblings[_free_key(siblings, entity)] = entity
    return roots
