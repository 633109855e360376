"""The store: entities and every rule of the data, over SQLite or PostgreSQL.

One method per protocol operation, each one transaction. Reads are here;
every write goes through :mod:`flexilims.store.writing.changes` (the rules themselves
are in :mod:`flexilims.writes`). The server and the in-process session call
these after :mod:`flexilims.dispatch` has parsed the request; they add no
rules of their own.
"""

import operator
import random
import time
from collections.abc import Iterable, Mapping
from contextlib import contextmanager

import sqlalchemy as sa

from .. import memory
from .. import settings as settings_module
from ..errors import BadRequest, Forbidden
from ..protocol import Conflicts
from ..writes import Limits, checked_attributes, is_hex_id
from . import db, labsettings
from . import models as m
from .driver import fetch_all
from .entities import (
    DATE_CREATED,
    ENTITY_COLUMNS,
    MAX_DEPTH,
    PROJECT,
    PROJECT_BY_ID,
    TYPE_AND_PROJECT,
    Actor,
    EntityQuery,
    descendants_at,
    entity_replies,
    entity_reply,
    entity_statement,
    new_id,
    now_ms,
)
from .writing.changes import Changes, Operation

__all__ = [
    "Actor",
    "Changes",
    "Conflicts",
    "EntityQuery",
    "Operation",
    "Store",
    "entity_reply",
    "new_id",
    "now_ms",
]


class Store:
    """Entities of a flexilims database.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        An engine from :func:`flexilims.store.db.create_engine`, at the newest
        schema.
    settings : flexilims.settings.Settings, optional
        Limits and costs (default: :func:`flexilims.settings.load`).
    """

    def __init__(self, engine: sa.Engine, settings=None):
        self.engine = engine
        self.settings = settings if settings is not None else settings_module.load()
        #: The lab settings' rules the write path last read, with their version.
        self.rules_cache = labsettings.RulesCache()

    @classmethod
    def open(cls, url: str | None = None, settings=None) -> "Store":
        """Open (creating or upgrading if needed) the database at ``url``.

        Parameters
        ----------
        url : str, optional
            The database (default: the settings' database).
        settings : flexilims.settings.Settings, optional
            Default: :func:`flexilims.settings.load`.
        """
        settings = settings if settings is not None else settings_module.load()
        engine = db.create_engine(url or settings.database, settings)
        db.upgrade(engine)
        store = cls(engine, settings)
        store.ensure_lab_settings()
        memory.settled("store")
        return store

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def read(self):
        """A connection for reading without a transaction of its own: no BEGIN
        or COMMIT; each statement sees the latest committed data (PostgreSQL's
        connections are in autocommit: :func:`flexilims.store.db.create_engine`)."""
        with self.engine.connect() as conn:
            conn.execution_options(**{db.READ: True})
            yield conn

    @contextmanager
    def write(self, *, lazily: bool = False):
        """A connection in a write transaction (``BEGIN IMMEDIATE`` on SQLite);
        after its commit, the statistics a large write asked for are renewed
        (:func:`flexilims.store.db.analyze_after_commit`).

        ``lazily`` (PostgreSQL; ignored on SQLite, whose writes must take the
        database's write lock before their first look-up): the transaction
        begins only when the work begins it (``conn.begin()``, or a statement
        sent through SQLAlchemy) and is committed at the end; until then each
        statement sent on the driver runs on its own, as one transaction. The
        one write path leaves a creation without a transaction when its
        look-ups lock nothing and its writes are one statement
        (:meth:`Changes.run`): two round trips instead of four, and no BEGIN
        or COMMIT to process.
        """
        with self.engine.connect() as conn:
            conn.execution_options(**{db.WRITE: True})
            try:
                if lazily and self.is_postgres:
                    yield conn
                    if conn.in_transaction():
                        conn.commit()
                else:
                    with conn.begin():
                        yield conn
            except BaseException:
                db.forget_analyze(conn)
                raise
            db.analyze_if_asked(conn)

    #: Times a transaction is run when another one makes it fail (a deadlock).
    ATTEMPTS = 3

    def transaction(self, work, *, lazily: bool = False):
        """Run ``work(conn)`` in a write transaction (begun as :meth:`write`
        begins it); again (up to :attr:`ATTEMPTS` times) if PostgreSQL broke a
        deadlock by failing it."""
        for attempt in range(1, self.ATTEMPTS + 1):
            try:
                with self.write(lazily=lazily) as conn:
                    return work(conn)
            except sa.exc.DBAPIError as error:
                if attempt == self.ATTEMPTS or not db.is_retryable(error):
                    raise
                time.sleep(random.uniform(0, 0.01 * attempt))
        raise AssertionError("unreachable")

    def ensure_lab_settings(self) -> None:
        """Give a new database the default lab settings."""
        with self.write() as conn:
            if not labsettings.datatype_names(conn):
                labsettings.write_settings(conn, labsettings.default_settings())
            else:
                labsettings.ensure_version(conn)

    # ------------------------------------------------------------------ reads

    def get(self, actor: Actor, query: EntityQuery) -> list[dict]:
        """Entities matching every filter of ``query``, oldest first.

        With a project, the entities are fetched in one query; the type and the
        project are looked up only to explain an empty result.
        """
        for value, message in (
            (
                query.project_id,
                "project_id not valid, please provide a valid hexadecimal value",
            ),
            (query.id, "please provide a valid hexadecimal value for id"),
            (query.origin_id, "please provide a valid hexadecimal value for origin_id"),
        ):
            if value is not None and not is_hex_id(value):
                raise BadRequest(message)
        if query.project_id is not None and not actor.can_access(query.project_id):
            raise Forbidden(
                f"user {actor.username} is not a member of project {query.project_id}"
            )
        stmt, params = entity_statement(actor, query)
        if query.project_id is None and query.type is not None:
            with self.read() as conn:
                self._check_type_query(conn, query)
        rows = fetch_all(self, stmt, params)
        if not rows and query.project_id is not None:
            with self.read() as conn:
                self._explain_empty(conn, actor, query)
        if query.id is not None and not actor.is_admin:
            rows = [row for row in rows if row[PROJECT] in actor.project_ids]
        return entity_replies(rows)

    def _explain_empty(self, conn, actor: Actor, query: EntityQuery) -> None:
        """Raise if an empty reply comes from an undefined type or project."""
        type_known, project_known = conn.execute(
            TYPE_AND_PROJECT, {"type": query.type, "project_id": query.project_id}
        ).one()
        if query.type is not None and not type_known:
            raise labsettings.type_not_defined(
                conn, query.type, f"type {query.type} is not defined"
            )
        if not project_known:
            raise BadRequest(f"project {query.project_id} not found")

    @staticmethod
    def _check_type_query(conn, query: EntityQuery) -> None:
        scoped = labsettings.is_project_scoped(conn, query.type)
        if scoped is None:
            raise labsettings.type_not_defined(
                conn, query.type, f"type {query.type} is not defined"
            )
        by_entity = query.id or query.origin_id or query.cross_project
        if query.project_id is None and scoped and not by_entity:
            raise BadRequest(
                f"you need to provide project_id to query for [{query.type}]"
            )

    def get_children(self, actor: Actor, entity_id: str) -> list[dict]:
        """The direct children of an entity, all types."""
        if not is_hex_id(entity_id):
            raise BadRequest("id not valid, please provide a hexadecimal value")
        with self.read() as conn:
            stmt = (
                sa.select(*ENTITY_COLUMNS)
                .where(m.entities.c.origin_id == entity_id)
                .order_by(m.entities.c.date_created, m.entities.c.id)
            )
            rows = conn.execute(stmt).all()
            return entity_replies(r for r in rows if actor.can_access(r.project_id))

    def get_descendants(
        self, actor: Actor, entity_id: str, types: Iterable[str] | None = None
    ) -> list[dict]:
        """Every entity below ``entity_id``, at any depth, oldest first.

        One statement per level of the hierarchy (the entities ``depth`` steps
        below, by a chain of joins on the origin index), not one per entity.

        Parameters
        ----------
        types : iterable of str, optional
            Keep only these datatypes.
        """
        if not is_hex_id(entity_id):
            raise BadRequest("id not valid, please provide a hexadecimal value")
        rows, seen = [], {entity_id}
        with self.read() as conn:
            for depth in range(1, MAX_DEPTH + 1):
                level = conn.execute(descendants_at(depth), {"root": entity_id}).all()
                level = [row for row in level if row[0] not in seen]
                if not level:
                    break
                seen.update(row[0] for row in level)
                rows += level
        if types:
            wanted = set(types)
            rows = [row for row in rows if row[1] in wanted]
        if not actor.is_admin:
            rows = [row for row in rows if row[PROJECT] in actor.project_ids]
        # Stable: entities of one millisecond keep their level order, so a
        # parent always comes before its children.
        rows.sort(key=operator.itemgetter(DATE_CREATED))
        return entity_replies(rows)

    def lab_settings(self) -> dict:
        """The lab settings, in the shape of their YAML file (any user may
        read them)."""
        with self.read() as conn:
            return labsettings.read_settings(conn)

    # ----------------------------------------------------------------- writes

    def apply(
        self,
        actor: Actor,
        operations: list[Operation],
        *,
        strict_validation: bool = False,
        allow_nulls: bool = False,
    ) -> Changes:
        """Check and write operations in one transaction, all or nothing.

        The one write path (:mod:`flexilims.store.writing.changes`); the refusal of an
        operation raises its error and writes nothing.

        Returns
        -------
        Changes
            What was written: ``results`` per operation, and ``reply(id)``.
        """

        return self.transaction(
            lambda conn: Changes(
                self, conn, actor, strict=strict_validation, allow_nulls=allow_nulls
            ).run(operations),
            lazily=True,
        )

    def save(
        self,
        actor: Actor,
        *,
        datatype,
        name,
        project_id,
        attributes: Mapping | None,
        origin_id=None,
        other_relations: list[str] | None = None,
        strict_validation: bool = False,
    ) -> dict:
        """Create one entity; the reply echoes the attributes as sent."""
        operation = Operation(
            index=0,
            op="create",
            type=datatype,
            name=name,
            project_id=project_id,
            origin_id=origin_id,
            attributes=attributes,
            other_relations=other_relations or [],
        )
        changes = self.apply(actor, [operation], strict_validation=strict_validation)
        return changes.reply(changes.results[0]["id"])

    def update_one(
        self,
        actor: Actor,
        *,
        datatype,
        entity_id,
        name=None,
        origin_id=None,
        attributes: Mapping | None = None,
        other_relations: list[str] | None = None,
        strict_validation: bool = False,
        allow_nulls: bool = False,
    ) -> dict:
        """Merge ``attributes`` into one entity, optionally rename or move it;
        the reply echoes the attributes given as sent."""
        operation = Operation(
            index=0,
            op="update",
            type=datatype,
            id=entity_id,
            name=name,
            origin_id=origin_id,
            attributes=attributes,
            other_relations=other_relations or [],
        )
        changes = self.apply(
            actor,
            [operation],
            strict_validation=strict_validation,
            allow_nulls=allow_nulls,
        )
        return changes.reply(entity_id)

    def update_many(
        self,
        actor: Actor,
        *,
        datatype,
        project_id,
        update_key: str,
        update_value,
        query_key=None,
        query_value=None,
        strict_validation: bool = False,
    ) -> str:
        """Set one attribute on every entity of a type (optionally filtered).

        The entities are locked while they are read and written back, so an
        update made meanwhile by another request is never lost.
        """
        if not update_key:
            raise BadRequest("update_key is required")
        checked_attributes(
            {update_key: update_value}, "Update", Limits.from_settings(self.settings)
        )
        if not is_hex_id(project_id):
            raise BadRequest(
                "project_id not valid, please provide a valid hexadecimal value"
            )
        query = EntityQuery(
            type=datatype,
            project_id=project_id,
            query_key=query_key,
            query_value=query_value,
        )

        def work(conn):
            if not labsettings.rules_of(conn, [datatype]):
                raise labsettings.type_not_defined(
                    conn, datatype, f"type {datatype} is not defined"
                )
            project = conn.execute(PROJECT_BY_ID, {"id": project_id}).first()
            if project is None:
                raise BadRequest(f"project {project_id} not found")
            if not actor.can_access(project_id):
                raise Forbidden(
                    f"user {actor.username} is not a member of project {project.name}"
                )
            stmt, params = entity_statement(actor, query)
            ids = [row.id for row in conn.execute(stmt, params)]
            operations = [
                Operation(
                    index=index,
                    op="update",
                    type=datatype,
                    id=entity_id,
                    attributes={update_key: update_value},
                )
                for index, entity_id in enumerate(ids)
            ]
            Changes(self, conn, actor, strict=strict_validation, allow_nulls=True).run(
                operations
            )
            return len(ids)

        count = self.transaction(work)
        return (
            f"updated successfully {count} items of type {datatype} "
            f"with {update_key}={update_value}"
        )

    def delete(self, actor: Actor, entity_id) -> str:
        """Move an entity and everything below it to the trash."""
        from .writing.trash import delete

        return delete(self, actor, entity_id)

    def history(self, actor: Actor, **query) -> list[dict]:
        """Versions of an entity or a project, newest first
        (:func:`flexilims.store.history.versions`)."""
        from .history import versions

        return versions(self, actor, **query)

    def revert(self, actor: Actor, entity_id, version) -> dict:
        """Make an entity as it was after ``version``, as a new version
        (:func:`flexilims.store.history.revert`)."""
        from .history import revert

        return revert(self, actor, entity_id, version)
