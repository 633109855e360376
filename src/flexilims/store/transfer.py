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
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from tqdm.auto import tqdm

from ..errors import BadRequest
from ..writes import ATTRIBUTE_NAME, check_no_nan, empty_to_null, is_hex_id
from . import (
    ENTITY_COLUMNS,
    Store,
    attribute_value_rows,
    entity_row,
    index_row,
    labsettings,
    new_id,
    now_ms,
)
from . import models as m
from .db import bulk_insert

#: Rows per ``executemany`` statement and ids per ``IN`` list.
CHUNK = 2000

#: The fields of an entity in the format, in the order :func:`export_project`
#: writes them (``children`` comes last).
FIELDS = (
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

#: Longest strings the columns hold.
MAX_LENGTH = {
    "type": m.entities.c.type.type.length,
    "name": m.entities.c.name.type.length,
    "incrementalId": m.entities.c.incremental_id.type.length,
    "createdBy": m.entities.c.created_by.type.length,
}


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


def _refused(path: str | None, message: str) -> BadRequest:
    where = f" at {path}" if path else ""
    return BadRequest(f"Import failed{where}: {message} Nothing was imported.")


# ------------------------------------------------------------------ parse


def _string(entity: Mapping, key: str, path: str, *, required: bool) -> str | None:
    value = entity.get(key)
    if value is None:
        if required:
            raise _refused(path, f"'{key}' is missing.")
        return None
    if type(value) is not str or (required and not value.strip()):
        raise _refused(path, f"'{key}' must be a non-empty string, not {value!r}.")
    if len(value) > MAX_LENGTH[key]:
        raise _refused(path, f"'{key}' is longer than {MAX_LENGTH[key]} characters.")
    return value


def _date(entity: Mapping, key: str, path: str) -> int | None:
    value = entity.get(key)
    if value is None:
        return None
    if type(value) is float and value.is_integer():
        value = int(value)
    if type(value) is not int or value < 0:
        raise _refused(
            path, f"'{key}' must be milliseconds since the epoch, not {value!r}."
        )
    return value


#: Attribute values that need no NaN check nor empty-to-null conversion.
_PLAIN = frozenset({str, int, bool, type(None)})


def _attributes(attributes, path: str) -> dict:
    """The attributes under the store's rules: names of letters, digits, ``_``
    and ``-``, no NaN, empty lists and dicts as null (at any depth)."""
    if attributes is None:
        return {}
    if not isinstance(attributes, Mapping):
        raise _refused(path, "'attributes' must be a JSON object.")
    clean = {}
    for key, value in attributes.items():
        if type(key) is not str or not ATTRIBUTE_NAME.match(key):
            raise _refused(
                path,
                f"'{key}' is not a valid attribute name: use only letters, "
                "digits, '_' and '-'.",
            )
        if type(value) not in _PLAIN:
            try:
                check_no_nan(value, key, "Import")
            except BadRequest:
                raise _refused(
                    path,
                    f"attribute '{key}' holds NaN or an infinity, which cannot be "
                    "stored: use null or a number.",
                ) from None
            value = empty_to_null(value)
        clean[key] = value
    return clean


def _links(entity: Mapping, path: str) -> list[str]:
    links = entity.get("customEntities")
    if not links:
        return []
    if not isinstance(links, list) or not all(is_hex_id(i) for i in links):
        raise _refused(path, "'customEntities' must be a list of 24-hex entity ids.")
    return list(dict.fromkeys(links))


def _parse(data, created_by: str) -> tuple[list[_Node], list[str]]:
    """Check the file's shape and fields; the entities, parents first.

    Returns the nodes in depth-first order and the project ids the entities
    name in their ``project`` field.
    """
    if not isinstance(data, Mapping):
        raise _refused(
            None,
            "the file must hold a JSON object of root entities keyed by name.",
        )
    stamp = now_ms()
    nodes: list[_Node] = []
    where_id: dict[str, str] = {}
    where_name: dict[tuple[str, str], str] = {}
    projects: list[str] = []
    stack = [(str(key), value, None) for key, value in reversed(data.items())]
    while stack:
        path, entity, parent = stack.pop()
        if not isinstance(entity, Mapping):
            raise _refused(path, "an entity must be a JSON object with a 'type'.")
        node = _node(entity, path, parent, stamp, created_by)
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
        if is_hex_id(entity.get("project")):
            projects.append(entity["project"])
        nodes.append(node)
        children = entity.get("children")
        if children is None:
            continue
        if not isinstance(children, Mapping):
            raise _refused(path, "'children' must be a JSON object keyed by name.")
        stack.extend(
            (f"{path} > {name}", child, node)
            for name, child in reversed(children.items())
        )
    return nodes, projects


def _node(entity: Mapping, path: str, parent, stamp: int, created_by: str) -> _Node:
    """Check one entity's fields and fill the missing ones."""
    defaults = set()
    datatype = _string(entity, "type", path, required=True)
    name = entity.get("name")
    if name is None:
        name = path.rsplit(" > ", 1)[-1]
    name = _string({"name": name}, "name", path, required=True)
    entity_id = entity.get("id")
    if entity_id is None:
        entity_id = new_id()
        defaults.add("id")
    elif not is_hex_id(entity_id):
        raise _refused(
            path, f"id {entity_id!r} is not 24 lower-case hexadecimal characters."
        )
    origin = entity.get("origin_id")
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
    return _Node(
        path=path,
        row={
            "id": entity_id,
            "project_id": None,
            "type": datatype,
            "name": name,
            "incremental_id": incremental,
            "attributes": _attributes(entity.get("attributes"), path),
            "created_by": author,
            "date_created": created,
            "date_updated": updated,
            "origin_id": origin,
        },
        links=_links(entity, path),
        defaults=defaults,
    )


def _parents_first(nodes: list[_Node]) -> tuple[list[_Node], list[dict]]:
    """Order the entities so that a parent comes before its children.

    Nested entities are in order already; a root may name another entity of
    the file as its origin. An origin cycle is broken: one entity of it is
    inserted without its origin, which is set once every entity is in.
    """
    ids = {node.id for node in nodes}
    placed: set[str] = set()
    ordered: list[_Node] = []
    deferred: list[dict] = []
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
            cut = still[0]
            deferred.append({"b_id": cut.id, "b_origin_id": cut.row["origin_id"]})
            cut.row = {**cut.row, "origin_id": None}
        waiting = still
    return ordered, deferred


# ----------------------------------------------------------------- checks


def _existing(conn, column, values: list, *where) -> set:
    """The ``values`` found in ``column``: one ``= ANY(array)`` query on
    PostgreSQL, ``IN`` lists of :data:`CHUNK` values on SQLite."""
    found = set()
    if not values:
        return found
    if conn.dialect.name == "postgresql":
        array = sa.bindparam("values", values, type_=postgresql.ARRAY(sa.String))
        query = sa.select(column).where(column == sa.any_(array), *where)
        return set(conn.execute(query).scalars())
    for start in range(0, len(values), CHUNK):
        query = sa.select(column).where(column.in_(values[start : start + CHUNK]))
        found.update(conn.execute(query.where(*where)).scalars())
    return found


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


def _check_against_database(conn, nodes: list[_Node], project) -> None:
    """Refuse unknown datatypes, taken names and ids, and dangling references."""
    defined = labsettings.datatype_names(conn)
    for node in nodes:
        if node.row["type"] not in defined:
            raise _refused(
                node.path,
                f"type '{node.row['type']}' is not defined in the lab settings "
                f"(defined: {', '.join(defined)}).",
            )
    e = m.entities
    by_type: dict[str, list[_Node]] = {}
    for node in nodes:
        by_type.setdefault(node.row["type"], []).append(node)
    for datatype, group in by_type.items():
        taken = _existing(
            conn,
            e.c.name,
            [node.row["name"] for node in group],
            e.c.project_id == project.id,
            e.c.type == datatype,
        )
        for node in group:
            if node.row["name"] in taken:
                raise _refused(
                    node.path,
                    f"{datatype.capitalize()} {node.row['name']} already exist in "
                    f"the project {project.name}.",
                )
    taken = _existing(conn, e.c.id, [node.id for node in nodes])
    for node in nodes:
        if node.id in taken:
            raise _refused(node.path, f"id {node.id} is already the id of an entity.")
    ids = {node.id for node in nodes}
    origins = {node.row["origin_id"] for node in nodes} - {None}
    targets = {link for node in nodes for link in node.links}
    outside = sorted((origins | targets) - ids)
    found = _existing(conn, e.c.id, outside)
    for node in nodes:
        origin = node.row["origin_id"]
        if origin is not None and origin not in ids and origin not in found:
            raise _refused(
                node.path,
                f"origin_id {origin} is neither in the file nor in the database: "
                "import the project that holds it first.",
            )
        for link in node.links:
            if link not in ids and link not in found:
                raise _refused(
                    node.path,
                    f"customEntities: {link} is neither in the file nor in the "
                    "database.",
                )


# ------------------------------------------------------------------ write


def _incremental_number(datatype: str, incremental: str) -> int | None:
    """The counter value of an incremental id in the store's format, if it is."""
    prefix = datatype.upper()
    if incremental.startswith(prefix):
        digits = incremental[len(prefix) :]
        if re.fullmatch(r"[0-9]+", digits):
            return int(digits)
    return None


def _set_incremental_ids(store: Store, conn, nodes: list[_Node]) -> None:
    """Raise each type's counter past the kept incremental ids, then number
    the entities that have none."""
    highest: dict[str, int] = {}
    missing: dict[str, list[_Node]] = {}
    for node in nodes:
        datatype, incremental = node.row["type"], node.row["incremental_id"]
        if incremental is None:
            missing.setdefault(datatype, []).append(node)
            continue
        number = _incremental_number(datatype, incremental)
        if number is not None and number > highest.get(datatype, 0):
            highest[datatype] = number
    c = m.counters
    insert = (postgresql.insert if store.is_postgres else sqlite.insert)(c)
    larger = sa.func.greatest if store.is_postgres else sa.func.max
    for datatype, number in highest.items():
        conn.execute(
            insert.values(name=datatype, value=number).on_conflict_do_update(
                index_elements=[c.c.name],
                set_={"value": larger(c.c.value, insert.excluded.value)},
            )
        )
    for datatype, group in missing.items():
        numbers = store._next_incremental_ids(conn, datatype, len(group))
        for node, incremental in zip(group, numbers, strict=True):
            node.row["incremental_id"] = incremental


def _write(conn, nodes: list[_Node], deferred: list[dict], progress: bool) -> int:
    """Insert the entities, their attribute index rows and links, batched."""
    with tqdm(
        total=len(nodes), desc="Importing", unit=" entities", disable=not progress
    ) as bar:
        for start in range(0, len(nodes), CHUNK):
            rows = [node.row for node in nodes[start : start + CHUNK]]
            bulk_insert(conn, m.entities, [entity_row(row) for row in rows])
            bulk_insert(
                conn,
                m.attribute_values,
                [
                    index_row(index)
                    for row in rows
                    for index in attribute_value_rows(row, row["attributes"])
                ],
            )
            bar.update(len(rows))
    if deferred:
        e = m.entities
        conn.execute(
            sa.update(e)
            .where(e.c.id == sa.bindparam("b_id"))
            .values(origin_id=sa.bindparam("b_origin_id", type_=e.c.origin_id.type)),
            deferred,
        )
    links = [(node.id, linked) for node in nodes for linked in node.links]
    bulk_insert(conn, m.entity_links, links)
    return len(links)


def import_project(
    store: Store,
    data: dict,
    project_name: str,
    *,
    progress: bool = True,
    create_project: bool = True,
    created_by: str | None = None,
) -> dict:
    """Load a project dump in the Flexilims offline JSON format, all or nothing.

    Parameters
    ----------
    store : Store
        The database.
    data : dict
        The dump: root entities keyed by name, each with its fields and a
        ``children`` dict (see ``docs/flexilims-json.md``).
    project_name : str
        The project (name or id) that receives the entities.
    progress : bool
        Show a progress bar while inserting.
    create_project : bool
        Create the project if there is none of that name; it keeps the id the
        entities' ``project`` field names, when they agree on one that is free.
    created_by : str, optional
        ``createdBy`` of entities that have none (default: the login name of
        whoever runs the import).

    Returns
    -------
    dict
        ``project`` (name), ``project_id``, ``project_created`` (bool),
        ``entities`` (count), ``by_type`` (count per type), ``links`` (count)
        and ``defaults``: per field, how many entities lacked it.

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
    nodes, candidates = _parse(data, created_by)
    ordered, deferred = _parents_first(nodes)
    with store.write() as conn:
        project, created = _project(conn, project_name, candidates, create_project)
        for node in ordered:
            node.row["project_id"] = project.id
        _check_against_database(conn, ordered, project)
        _set_incremental_ids(store, conn, ordered)
        try:
            links = _write(conn, ordered, deferred, progress)
        except sa.exc.IntegrityError as error:
            raise _refused(
                None,
                "an entity with one of these names or ids was created while "
                "importing; try again.",
            ) from error
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


def export_project(store: Store, project_name: str) -> dict:
    """A project as nested JSON in the Flexilims offline format.

    Parameters
    ----------
    store : Store
        The database.
    project_name : str
        The project's name or id.

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
        if project is None:
            raise BadRequest(f"No project named '{project_name}'.")
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
    for row in rows:
        entity = {
            "id": row.id,
            "type": row.type,
            "name": row.name,
            "incrementalId": row.incremental_id,
            "attributes": row.attributes if row.attributes is not None else {},
            "createdBy": row.created_by,
            "dateCreated": row.date_created,
            "dateUpdated": row.date_updated,
            "project": row.project_id,
            "origin_id": row.origin_id,
            "customEntities": linked.get(row.id, []),
            "children": {},
        }
        by_id[row.id] = entity
    cuts = _cycle_cuts(by_id)
    roots: dict[str, dict] = {}
    for entity in by_id.values():
        parent = by_id.get(entity["origin_id"])
        siblings = (
            roots if parent is None or entity["id"] in cuts else parent["children"]
        )
        siblings[_free_key(siblings, entity)] = entity
    return roots
