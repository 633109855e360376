"""Entities as the store holds them: rows, replies, queries and statements.

The shapes shared by the store, batches, imports and the trash: the columns of
an entity, the protocol's reply, the attribute index rows, who asks
(:class:`Actor`) and what (:class:`EntityQuery`), and the statements of every
request, built once and bound per call.
"""

import functools
import itertools
import math
import operator
import os
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ..protocol import ENTITY_FIELDS
from . import db
from . import models as m

#: The columns of an entity's reply, in the protocol's field order
#: (:data:`flexilims.protocol.ENTITY_FIELDS`).
ENTITY_COLUMNS = tuple(m.entities.c[field.column] for field in ENTITY_FIELDS)

#: The reply's field names, in :data:`ENTITY_COLUMNS` order.
_REPLY_NAMES = tuple(field.name for field in ENTITY_FIELDS)
#: The names of :data:`ENTITY_COLUMNS`.
ENTITY_COLUMN_NAMES = tuple(field.column for field in ENTITY_FIELDS)

#: Positions of the project and creation date in :data:`ENTITY_COLUMNS` rows.
PROJECT = ENTITY_COLUMN_NAMES.index("project_id")
DATE_CREATED = ENTITY_COLUMN_NAMES.index("date_created")


def now_ms() -> int:
    """Milliseconds since the epoch, the protocol's date unit."""
    return time.time_ns() // 1_000_000


class _IdSource:
    """Where :func:`new_id` takes the parts of an id that are not the time."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.process = secrets.token_hex(5)
        self.counter = itertools.count(secrets.randbelow(1 << 23))


_ids = _IdSource()
if hasattr(os, "register_at_fork"):  # not on Windows, which does not fork
    os.register_at_fork(after_in_child=_ids.reset)


def new_id() -> str:
    """A new 24-hex id, laid out as a MongoDB ObjectId.

    Seconds since the epoch, 40 random bits drawn once per process, and a
    counter: ids made by one process increase, so entities created in the same
    millisecond still list in the order they were made (ties in ``dateCreated``
    are broken by id).
    """
    count = next(_ids.counter) & 0xFFFFFF
    return f"{int(time.time()):08x}{_ids.process}{count:06x}"


@dataclass(frozen=True)
class Actor:
    """Who makes a request: the name written as ``createdBy`` and what they see."""

    username: str
    full_name: str
    is_admin: bool = False
    project_ids: frozenset = field(default_factory=frozenset)

    def can_access(self, project_id: str) -> bool:
        return self.is_admin or project_id in self.project_ids


@dataclass
class EntityQuery:
    """The filters of a ``get`` request, all optional, combined with AND."""

    type: str | None = None
    project_id: str | None = None
    id: str | None = None
    name: str | None = None
    origin_id: str | None = None
    query_key: str | None = None
    query_value: object = None
    created_by: str | None = None
    date_created: int | None = None
    date_created_operator: str = "gt"
    cross_project: bool = False
    offset: int | None = None
    limit: int | None = None


def entity_reply(entity: Mapping, *, links: Iterable[str] | None = None) -> dict:
    """The protocol's JSON object for an entity (a row mapping or a dict)."""
    reply = dict(zip(_REPLY_NAMES, _reply_values(entity), strict=True))
    if reply["attributes"] is None:
        reply["attributes"] = {}
    if links is not None:
        reply["customEntities"] = list(links)
        reply["objects"] = {}
    return reply


#: The values of an entity's reply, from a row mapping or a dict.
_reply_values = operator.itemgetter(*ENTITY_COLUMN_NAMES)


def entity_replies(rows) -> list[dict]:
    """Replies for rows selected with :data:`ENTITY_COLUMNS` (the fast path)."""
    replies = [dict(zip(_REPLY_NAMES, row, strict=True)) for row in rows]
    for reply in replies:
        if reply["attributes"] is None:
            reply["attributes"] = {}
    return replies


#: An attribute index row (from :func:`attribute_value_rows`) as a tuple.
index_row = operator.itemgetter(*(c.name for c in m.attribute_values.columns))
_entity_values = operator.itemgetter(*(c.name for c in m.entities.columns))
_ATTRIBUTES_AT = [c.name for c in m.entities.columns].index("attributes")


def entity_row(entity: Mapping, attributes_json: str | None = None) -> tuple:
    """An entity dict as a row for :func:`flexilims.store.inserts.bulk_insert`
    (``attributes_json``: its attributes as JSON text, when made already)."""
    row = list(_entity_values(entity))
    if attributes_json is None:
        attributes_json = db.json_text(row[_ATTRIBUTES_AT])
    row[_ATTRIBUTES_AT] = attributes_json
    return tuple(row)


def index_text(value) -> str | None:
    """Text under which a scalar attribute value is indexed for ``query_value``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    return None


def query_texts(query_value) -> list[str]:
    """Index texts a ``query_value`` (as received, usually a string) matches."""
    if isinstance(query_value, bool | int | float):
        return [index_text(query_value)]
    text = str(query_value)
    texts = [text]
    if text in ("True", "False"):
        texts.append(text.lower())
    try:
        number = float(text)
    except ValueError:
        return texts
    if math.isfinite(number):
        if number.is_integer():
            texts += [str(int(number)), repr(number)]
        else:
            texts.append(repr(number))
    return list(dict.fromkeys(texts))


def attribute_value_rows(entity: Mapping, attributes: Mapping) -> list[dict]:
    """Index rows for the scalar attributes of one entity."""
    return [
        dict(zip(_INDEX_COLUMNS, row, strict=True))
        for row in index_rows(entity, attributes)
    ]


_INDEX_COLUMNS = tuple(c.name for c in m.attribute_values.columns)


def index_rows(entity: Mapping, attributes: Mapping) -> list[tuple]:
    """Index rows for the scalar attributes of one entity, as tuples in the
    column order of ``attribute_values``."""
    entity_id, project_id, datatype = (
        entity["id"],
        entity["project_id"],
        entity["type"],
    )
    rows = []
    for key, value in attributes.items():
        text = value if type(value) is str else index_text(value)
        if text is not None:
            rows.append((entity_id, key, project_id, datatype, text[:200], text))
    return rows


@functools.lru_cache(maxsize=512)
def select_entities(filters: tuple[str, ...]) -> sa.Select:
    """The ``get`` statement for a set of filters, with bound parameters.

    Built once per combination of filters, so a request only binds values.
    """
    e = m.entities
    stmt = sa.select(*ENTITY_COLUMNS)
    for name in ("type", "project_id", "id", "name", "origin_id", "created_by"):
        if name in filters:
            stmt = stmt.where(e.c[name] == sa.bindparam(name))
    if "member_projects" in filters:
        stmt = stmt.where(
            e.c.project_id.in_(sa.bindparam("member_projects", expanding=True))
        )
    if "date_created_lt" in filters:
        stmt = stmt.where(e.c.date_created <= sa.bindparam("date_created"))
    if "date_created_gt" in filters:
        stmt = stmt.where(e.c.date_created >= sa.bindparam("date_created"))
    if "query_key" in filters:
        av = m.attribute_values
        stmt = stmt.join(av, av.c.entity_id == e.c.id).where(
            av.c.key == sa.bindparam("query_key")
        )
        if "value" in filters:
            # One text (as most query values have): plain comparisons, which
            # need no list expanded into the statement on every call.
            stmt = stmt.where(
                av.c.value_prefix == sa.bindparam("value_prefix"),
                av.c.value == sa.bindparam("value"),
            )
        else:
            stmt = stmt.where(
                av.c.value_prefix.in_(sa.bindparam("value_prefixes", expanding=True)),
                av.c.value.in_(sa.bindparam("values", expanding=True)),
            )
        if "project_id" in filters:
            stmt = stmt.where(av.c.project_id == sa.bindparam("project_id"))
        if "type" in filters:
            stmt = stmt.where(av.c.type == sa.bindparam("type"))
    stmt = stmt.order_by(e.c.date_created, e.c.id)
    # 64-bit: the protocol's integers go up to 2**63-1 (PostgreSQL would
    # refuse more than 2**31-1 as an INTEGER).
    if "offset" in filters:
        stmt = stmt.offset(sa.bindparam("offset", type_=sa.BigInteger))
    if "limit" in filters:
        stmt = stmt.limit(sa.bindparam("limit", type_=sa.BigInteger))
    return stmt


def entity_statement(actor: Actor, query: EntityQuery) -> tuple[sa.Select, dict]:
    """The statement and bound values selecting the entities of ``query``."""
    values = {
        "type": query.type,
        "project_id": query.project_id,
        "id": query.id,
        "name": query.name,
        "origin_id": query.origin_id,
        "created_by": query.created_by,
        "date_created": query.date_created,
        "offset": query.offset or None,
        "limit": query.limit,
    }
    if query.project_id is None and not actor.is_admin and query.id is None:
        values["member_projects"] = sorted(actor.project_ids)
    if query.query_key is not None and query.query_value is not None:
        texts = query_texts(query.query_value)
        values["query_key"] = query.query_key
        if len(texts) == 1:
            values["value_prefix"], values["value"] = texts[0][:200], texts[0]
        else:
            values["value_prefixes"] = [text[:200] for text in texts]
            values["values"] = texts
    params = {key: value for key, value in values.items() if value is not None}
    shape = set(params) - {"date_created"}
    if query.date_created is not None:
        shape.add(f"date_created_{query.date_created_operator}")
    stmt = select_entities(tuple(sorted(shape)))
    return stmt, params


# Statements of every request, built once and bound per call.
PROJECT_BY_ID = sa.select(m.projects).where(m.projects.c.id == sa.bindparam("id"))
ENTITY_BY_ID = sa.select(*ENTITY_COLUMNS).where(m.entities.c.id == sa.bindparam("id"))
ENTITY_BY_ID_FOR_UPDATE = ENTITY_BY_ID.with_for_update()
NAME_TAKEN = sa.select(m.entities.c.id).where(
    m.entities.c.project_id == sa.bindparam("project_id"),
    m.entities.c.type == sa.bindparam("type"),
    m.entities.c.name == sa.bindparam("name"),
)
#: Levels :meth:`Store.get_descendants` goes down at most (a guard against
#: origin cycles made by other servers; lab hierarchies have a handful).
MAX_DEPTH = 32


@functools.lru_cache(maxsize=MAX_DEPTH)
def descendants_at(depth: int) -> sa.Select:
    """The entities ``depth`` levels below the ``root`` bound parameter."""
    e = m.entities
    chain = [e] + [e.alias(f"up{level}") for level in range(1, depth)]
    stmt = sa.select(*ENTITY_COLUMNS)
    for child, parent in zip(chain, chain[1:], strict=False):
        stmt = stmt.join(parent, child.c.origin_id == parent.c.id)
    return stmt.where(chain[-1].c.origin_id == sa.bindparam("root"))


TYPE_AND_PROJECT = sa.select(
    sa.exists().where(m.datatypes.c.name == sa.bindparam("type")),
    sa.exists().where(m.projects.c.id == sa.bindparam("project_id")),
)
ORIGIN_OF = sa.select(m.entities.c.origin_id).where(
    m.entities.c.id == sa.bindparam("id")
)
LINKS = sa.select(m.entity_links.c.linked_id).where(
    m.entity_links.c.entity_id == sa.bindparam("id")
)
#: Reserve incremental numbers in one atomic upsert, per dialect.
COUNTER_BUMPS = {
    name: insert(m.counters)
    .values(name=sa.bindparam("name"), value=sa.bindparam("count"))
    .on_conflict_do_update(
        index_elements=[m.counters.c.name],
        set_={"value": m.counters.c.value + sa.bindparam("count")},
    )
    .returning(m.counters.c.value)
    for name, insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}
