"""The integrity check of a database: what no write rule should let through.

:func:`check` looks for entities whose origin does not exist (orphans), origin
chains that loop or go deeper than a lab hierarchy can, attribute index rows
that disagree with the attributes, counters behind the highest incremental id
of their type, names that break the genealogy convention (a child's name is
its parent's name, ``_`` and a short name), attribute values the lab settings
refuse, and dataset paths missing on disk. Each check is one query (or one
pass over one streamed query shared by several checks), never a query per
entity: a database of a million entities is checked in minutes.

With ``fix=True`` what can be repaired mechanically is repaired in one
transaction (the index rows are rebuilt from the attributes, counters are
raised); the rest needs a person and is only reported.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from . import Store, db, labsettings
from . import models as m
from .entities import MAX_DEPTH, attribute_value_rows, index_row
from .inserts import bulk_insert
from .writing.changes import incremental_number

#: Every kind of problem, in the order of the report: name, what it means,
#: and whether ``--fix`` repairs it.
KINDS = {
    "orphans": ("origin_id names no entity", False),
    "parent_loops": ("the chain of origins comes back to the entity", False),
    "too_deep": (
        f"the chain of origins is deeper than {MAX_DEPTH} levels or reaches a loop",
        False,
    ),
    "index": ("attribute index rows disagree with the attributes", True),
    "counters": ("the counter is behind the highest incremental id", True),
    "genealogy": ("the name is not the parent's name, '_' and a short name", False),
    "lab_settings": ("an attribute the lab settings refuse", False),
    "dataset_paths": ("the dataset's path is not on disk", False),
}

#: Entities fetched per round trip of the streamed scan.
STREAM_ROWS = 10_000
#: Ids per ``IN`` list of a repair.
CHUNK = 5_000


@dataclass
class Problem:
    """One problem: its kind, the entity (or counter) and what is wrong."""

    kind: str
    subject: str
    message: str


@dataclass
class Report:
    """What :func:`check` found, and repaired with ``fix``.

    Attributes
    ----------
    entities : int
        Entities checked.
    problems : dict
        Problems by kind (every kind of :data:`KINDS`, possibly empty).
    fixed : dict
        How many problems of each repairable kind were repaired.
    skipped : list of str
        Checks not run, and why.
    """

    entities: int = 0
    problems: dict = field(default_factory=lambda: {kind: [] for kind in KINDS})
    fixed: dict = field(default_factory=dict)
    skipped: list = field(default_factory=list)

    def add(self, kind: str, subject: str, message: str) -> None:
        self.problems[kind].append(Problem(kind, subject, message))

    @property
    def remaining(self) -> dict:
        """Problems not repaired, by kind (only the kinds that have some)."""
        return {
            kind: found
            for kind, found in self.problems.items()
            if found and not self.fixed.get(kind)
        }

    @property
    def ok(self) -> bool:
        """Whether nothing is left to repair."""
        return not self.remaining


def check(
    store: Store,
    *,
    data_roots: Sequence[str | Path] = (),
    fix: bool = False,
    dataset_type: str = "dataset",
    path_attribute: str = "path",
) -> Report:
    """Check a database's integrity (and repair what can be repaired).

    Parameters
    ----------
    store : Store
        The database.
    data_roots : sequence of paths
        Folders that dataset paths are relative to; a path is found when it
        exists below one of them. Without any, paths are not checked.
    fix : bool
        Rebuild disagreeing index rows and raise counters, in one transaction.
    dataset_type, path_attribute : str
        Which entities have a path on disk, in which attribute.

    Returns
    -------
    Report
    """
    report = Report()
    roots = [Path(root).expanduser() for root in data_roots]
    if not roots:
        report.skipped.append("dataset_paths: no data root given (--data-root)")
    with db.Snapshot(store) as conn:
        _orphans(conn, report)
        _loops(conn, report)
        _genealogy(conn, report)
        scan = _Scan(conn, report, roots, dataset_type, path_attribute)
        scan.run()
        _counters(conn, report, scan.highest)
    if fix:
        _repair(store, report, scan)
    return report


def _orphans(conn, report: Report) -> None:
    child, parent = m.entities.alias("child"), m.entities.alias("parent")
    query = (
        sa.select(child.c.id, child.c.type, child.c.name, child.c.origin_id)
        .select_from(child.outerjoin(parent, parent.c.id == child.c.origin_id))
        .where(child.c.origin_id.is_not(None), parent.c.id.is_(None))
        .order_by(child.c.id)
    )
    for row in conn.execute(query):
        report.add(
            "orphans",
            row.id,
            f"{row.type} {row.name}: origin {row.origin_id} does not exist",
        )


def _loops(conn, report: Report) -> None:
    """One recursive walk up from every entity, at most MAX_DEPTH steps."""
    e = m.entities
    bound = MAX_DEPTH + 1
    start = (
        sa.select(
            e.c.id.label("start"),
            e.c.origin_id.label("at"),
            sa.literal(1, sa.Integer).label("depth"),
        )
        .where(e.c.origin_id.is_not(None))
        .cte("up", recursive=True)
    )
    step = (
        sa.select(start.c.start, e.c.origin_id, start.c.depth + 1)
        .select_from(start.join(e, e.c.id == start.c.at))
        .where(
            e.c.origin_id.is_not(None),
            start.c.at != start.c.start,
            start.c.depth < bound,
        )
    )
    up = start.union_all(step)
    query = (
        sa.select(up.c.start, up.c.at, up.c.depth)
        .where(sa.or_(up.c.at == up.c.start, up.c.depth >= bound))
        .order_by(up.c.start)
    )
    for row in conn.execute(query):
        if row.at == row.start:
            report.add(
                "parent_loops",
                row.start,
                f"its origin {row.depth} level(s) up is itself",
            )
        else:
            report.add("too_deep", row.start, f"no root within {MAX_DEPTH} levels up")


def _genealogy(conn, report: Report) -> None:
    child, parent = m.entities.alias("child"), m.entities.alias("parent")
    prefix_length = sa.func.length(parent.c.name) + 1
    query = (
        sa.select(child.c.id, child.c.type, child.c.name, parent.c.name.label("up"))
        .select_from(child.join(parent, parent.c.id == child.c.origin_id))
        .where(
            sa.or_(
                sa.func.substr(child.c.name, 1, prefix_length) != parent.c.name + "_",
                sa.func.length(child.c.name) <= prefix_length,
            )
        )
        .order_by(child.c.id)
    )
    for row in conn.execute(query):
        report.add(
            "genealogy",
            row.id,
            f"{row.type} {row.name} is below {row.up}: its name should be "
            f"{row.up}_<short name>",
        )


class _Scan:
    """One pass over every entity (streamed) beside its index rows (streamed
    in the same order): the index, lab settings, dataset path and counter
    checks share it."""

    def __init__(self, conn, report, roots, dataset_type, path_attribute):
        self.conn, self.report, self.roots = conn, report, roots
        self.dataset_type, self.path_attribute = dataset_type, path_attribute
        self.rules = {
            name: rules.attributes
            for name, rules in labsettings.rules_of(
                conn, labsettings.datatype_names(conn)
            ).items()
        }
        self.highest: dict[str, int] = {}
        #: Entities whose index rows must be rebuilt: id -> expected rows.
        self.reindex: dict[str, list[dict]] = {}

    def run(self) -> None:
        e, av = m.entities, m.attribute_values
        streamed = self.conn.execution_options(
            stream_results=True, yield_per=STREAM_ROWS
        )
        entities = streamed.execute(
            sa.select(
                e.c.id,
                e.c.type,
                e.c.name,
                e.c.incremental_id,
                e.c.project_id,
                e.c.attributes,
            ).order_by(e.c.id)
        )
        index = iter(
            streamed.execute(sa.select(*av.columns).order_by(av.c.entity_id, av.c.key))
        )
        pending = next(index, None)
        for entity in entities:
            self.report.entities += 1
            rows = []
            while pending is not None and pending.entity_id <= entity.id:
                if pending.entity_id == entity.id:
                    rows.append(tuple(pending))
                pending = next(index, None)
            self._entity(entity, rows)

    def _entity(self, entity, index_rows: list[tuple]) -> None:
        attributes = entity.attributes or {}
        mapping = entity._mapping
        expected = attribute_value_rows(mapping, attributes)
        if sorted(map(index_row, expected)) != sorted(index_rows):
            self.report.add(
                "index",
                entity.id,
                f"{entity.type} {entity.name}: {len(index_rows)} index row(s), "
                f"{len(expected)} expected",
            )
            self.reindex[entity.id] = expected
        number = incremental_number(entity.type, entity.incremental_id or "")
        if number is not None and number > self.highest.get(entity.type, 0):
            self.highest[entity.type] = number
        self._lab_settings(entity, attributes)
        if self.roots and entity.type == self.dataset_type:
            self._path(entity, attributes.get(self.path_attribute))

    def _lab_settings(self, entity, attributes: dict) -> None:
        rules = self.rules.get(entity.type)
        what = f"{entity.type} {entity.name}"
        if rules is None:
            self.report.add(
                "lab_settings",
                entity.id,
                f"{what}: type {entity.type} is not defined in the lab settings",
            )
            return
        for key, value in attributes.items():
            rule = rules.get(key)
            if rule is not None and not rule.accepts(value):
                self.report.add(
                    "lab_settings",
                    entity.id,
                    f"{what}: {value!r} is not a valid value for {key}",
                )
        for rule in rules.values():
            if rule.required and attributes.get(rule.name) is None:
                self.report.add(
                    "lab_settings",
                    entity.id,
                    f"{what}: the required attribute {rule.name} is missing",
                )

    def _path(self, entity, path) -> None:
        what = f"{entity.type} {entity.name}"
        if not isinstance(path, str) or not path:
            self.report.add("dataset_paths", entity.id, f"{what}: no path")
            return
        relative = PurePosixPath(path)
        if relative.is_absolute() or ".." in relative.parts:
            self.report.add(
                "dataset_paths",
                entity.id,
                f"{what}: {path} is not a path inside the data root (not probed)",
            )
            return
        if not any((root / relative).exists() for root in self.roots):
            self.report.add(
                "dataset_paths",
                entity.id,
                f"{what}: {path} is in none of {', '.join(map(str, self.roots))}",
            )


def _counters(conn, report: Report, highest: dict[str, int]) -> None:
    values = dict(conn.execute(sa.select(m.counters.c.name, m.counters.c.value)).all())
    for datatype, number in sorted(highest.items()):
        value = values.get(datatype, 0)
        if value < number:
            report.add(
                "counters",
                datatype,
                f"counter {datatype} is at {value}; the highest incremental id "
                f"of the type is {number}",
            )


def _chunks(items: list, size: int = CHUNK) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _repair(store: Store, report: Report, scan: _Scan) -> None:
    """Rebuild the index rows and raise the counters, in one transaction."""
    av, c = m.attribute_values, m.counters
    behind = {
        problem.subject: scan.highest[problem.subject]
        for problem in report.problems["counters"]
    }
    if not scan.reindex and not behind:
        return
    with store.write() as conn:
        ids = sorted(scan.reindex)
        for chunk in _chunks(ids):
            conn.execute(av.delete().where(av.c.entity_id.in_(chunk)))
        rows = [index_row(row) for entity in ids for row in scan.reindex[entity]]
        bulk_insert(conn, av, rows)
        insert = (postgresql.insert if store.is_postgres else sqlite.insert)(c)
        larger = sa.func.greatest if store.is_postgres else sa.func.max
        for datatype, number in behind.items():
            conn.execute(
                insert.values(name=datatype, value=number).on_conflict_do_update(
                    index_elements=[c.c.name],
                    set_={"value": larger(c.c.value, insert.excluded.value)},
                )
            )
    if ids:
        report.fixed["index"] = len(ids)
    if behind:
        report.fixed["counters"] = len(behind)
