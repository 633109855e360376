"""The store: entities and every rule of the data, over SQLite or PostgreSQL.

One method per protocol operation, each one transaction. The server and the
in-process session call these after :mod:`flexilims.protocol` has parsed the
request; they add no rules of their own.
"""

import operator
import secrets
from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa

from .. import settings as settings_module
from ..errors import BadRequest, Forbidden
from ..writes import (
    check_attribute_names,
    check_no_nan,
    empty_to_null,
    failed,
    is_hex_id,
    lower_keys,
    validate_attributes,
)
from . import db, labsettings
from . import models as m
from .entities import (  # noqa: F401 (re-exported: the store's vocabulary)
    COUNTER_BUMPS,
    DATE_CREATED,
    ENTITY_BY_ID,
    ENTITY_BY_ID_FOR_UPDATE,
    ENTITY_COLUMNS,
    LINKS,
    MAX_DEPTH,
    NAME_TAKEN,
    ORIGIN_OF,
    PROJECT,
    PROJECT_BY_ID,
    SAVE_CONTEXT,
    TYPE_AND_PROJECT,
    Actor,
    EntityQuery,
    attribute_value_rows,
    descendants_at,
    entity_replies,
    entity_reply,
    entity_row,
    entity_statement,
    index_row,
    new_id,
    now_ms,
)


@dataclass(frozen=True)
class _Named:
    """A project's id and name, for messages."""

    id: str
    name: str


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
        return store

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def read(self):
        """A connection for reading without a transaction of its own: no BEGIN
        or COMMIT; each statement sees the latest committed data."""
        with self.engine.connect() as conn:
            if self.is_postgres:
                conn.execution_options(isolation_level="AUTOCOMMIT")
            else:
                conn.execution_options(**{db.READ: True})
            yield conn

    @contextmanager
    def write(self):
        """A connection in a write transaction (``BEGIN IMMEDIATE`` on SQLite)."""
        with self.engine.connect() as conn:
            conn.execution_options(**{db.WRITE: True})
            with conn.begin():
                yield conn

    def ensure_lab_settings(self) -> None:
        """Give a new database the default lab settings."""
        with self.write() as conn:
            if not labsettings.datatype_names(conn):
                labsettings.write_settings(conn, labsettings.default_settings())

    # ----------------------------------------------------------------- checks

    def _project(self, conn, actor: Actor, project_id, message: str) -> sa.Row:
        if not is_hex_id(project_id):
            raise BadRequest(message)
        row = conn.execute(PROJECT_BY_ID, {"id": project_id}).first()
        if row is None:
            raise BadRequest(f"project {project_id} not found")
        if not actor.can_access(project_id):
            raise Forbidden(
                f"user {actor.username} is not a member of project {row.name}"
            )
        return row

    def _rules(self, conn, datatype, message: str):
        rules = labsettings.datatype_rules(conn, datatype) if datatype else None
        if rules is None:
            raise BadRequest(message)
        return rules

    def _entity(self, conn, actor: Actor, entity_id: str, *, lock: bool = False):
        query = ENTITY_BY_ID_FOR_UPDATE if lock and self.is_postgres else ENTITY_BY_ID
        row = conn.execute(query, {"id": entity_id}).first()
        if row is not None and not actor.can_access(row.project_id):
            raise Forbidden(
                f"user {actor.username} has no access to entity {entity_id}"
            )
        return row

    def _name_taken(self, conn, project, datatype, name, action: str) -> None:
        values = {"project_id": project.id, "type": datatype, "name": name}
        if conn.execute(NAME_TAKEN, values).first() is not None:
            raise self._name_error(project, datatype, name, action)

    @staticmethod
    def _name_error(project, datatype, name, action) -> BadRequest:
        return failed(
            action,
            f"Check {datatype} name. {datatype.capitalize()} {name} already exist "
            f"in the project {project.name}.",
        )

    def _links(self, conn, entity_id: str) -> list[str]:
        return list(conn.execute(LINKS, {"id": entity_id}).scalars())

    def _next_incremental_ids(self, conn, datatype: str, count: int) -> list[str]:
        """Reserve ``count`` incremental ids of a type in one atomic upsert."""
        bump = COUNTER_BUMPS[self.engine.dialect.name]
        last = conn.execute(bump, {"name": datatype, "count": count}).scalar_one()
        prefix = datatype.upper()
        return [f"{prefix}{n:07d}" for n in range(last - count + 1, last + 1)]

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
        with self.read() as conn:
            if query.project_id is None and query.type is not None:
                self._check_type_query(conn, query)
            rows = conn.execute(stmt, params).all()
            if not rows and query.project_id is not None:
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
            raise BadRequest(f"type {query.type} is not defined")
        if not project_known:
            raise BadRequest(f"project {query.project_id} not found")

    @staticmethod
    def _check_type_query(conn, query: EntityQuery) -> None:
        scoped = labsettings.is_project_scoped(conn, query.type)
        if scoped is None:
            raise BadRequest(f"type {query.type} is not defined")
        by_entity = query.id or query.name or query.origin_id or query.cross_project
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

    # ----------------------------------------------------------------- writes

    def save(
        self,
        actor: Actor,
        *,
        datatype: str,
        name,
        project_id,
        attributes: Mapping | None,
        origin_id=None,
        other_relations: list[str] | None = None,
        strict_validation: bool = False,
    ) -> dict:
        """Create one entity; the reply echoes the attributes as sent."""
        with self.write() as conn:
            entity, sent = self._prepare_save(
                conn,
                actor,
                datatype=datatype,
                name=name,
                project_id=project_id,
                attributes=attributes,
                origin_id=origin_id,
                other_relations=other_relations or [],
                strict_validation=strict_validation,
            )
            self._insert(conn, [entity])
        reply = entity_reply(entity, links=entity["links"])
        reply["attributes"] = sent
        return reply

    def _prepare_save(
        self,
        conn,
        actor,
        *,
        datatype,
        name,
        project_id,
        attributes,
        origin_id,
        other_relations,
        strict_validation,
        pending_names: set | None = None,
    ) -> tuple[dict, dict]:
        rules, project = self._save_context(
            conn, actor, datatype, project_id, origin_id
        )
        self._check_new_name(datatype, name)
        for linked in other_relations:
            if self._entity(conn, actor, linked) is None:
                raise BadRequest(f"other_relations: no entity with id {linked}")
        sent = self._checked_new_attributes(
            datatype, attributes, rules, strict_validation
        )
        if pending_names is not None and (datatype, name) in pending_names:
            raise self._name_error(project, datatype, name, "Save")
        entity = self._new_entity(
            actor, project, datatype, name, sent, origin_id, other_relations
        )
        return entity, sent

    def _save_context(self, conn, actor, datatype, project_id, origin_id):
        """The lab-settings rules of ``datatype`` and the project of a new
        entity, its origin checked: one statement, errors in protocol order."""
        if not is_hex_id(project_id):
            project_id = None
            project_message = "please provide a valid hexadecimal value for project_id"
        else:
            project_message = f"project {project_id} not found"
        if origin_id is not None and not is_hex_id(origin_id):
            origin_id = "0" * 24
        if not isinstance(datatype, str):
            raise BadRequest("type provided is not defined")
        rows = conn.execute(
            SAVE_CONTEXT,
            {"datatype": datatype, "project_id": project_id, "origin_id": origin_id},
        ).all()
        if not rows:
            raise BadRequest("type provided is not defined")
        first = rows[0]
        if first.project_name is None:
            raise BadRequest(project_message)
        if not actor.can_access(project_id):
            raise Forbidden(
                f"user {actor.username} is not a member of project {first.project_name}"
            )
        if origin_id is not None:
            if first.origin_project is None:
                raise BadRequest("origin not found")
            if not actor.can_access(first.origin_project):
                raise Forbidden(
                    f"user {actor.username} has no access to entity {origin_id}"
                )
        rules = labsettings.rules_from_rows(rows)
        return rules, _Named(project_id, first.project_name)

    @staticmethod
    def _check_new_name(datatype, name) -> None:
        """Refuse a missing or blank name for a new entity."""
        if not isinstance(name, str) or not name.strip():
            raise failed("Save", f"Please provide a name for the new {datatype}.")

    @staticmethod
    def _checked_new_attributes(datatype, attributes, rules, strict_validation):
        """The attributes of a new entity, checked and lower-cased, as sent."""
        if attributes is None:
            attributes = {}
        if not isinstance(attributes, Mapping):
            raise failed("Save", "attributes must be a JSON object.")
        check_attribute_names(attributes, "Save")
        for key, value in attributes.items():
            check_no_nan(value, key, "Save")
        sent = lower_keys(attributes)
        validate_attributes(
            datatype,
            sent,
            rules,
            strict=strict_validation,
            action="Save",
            check_required=True,
        )
        return sent

    @staticmethod
    def _new_entity(actor, project, datatype, name, sent, origin_id, links) -> dict:
        """The row of a new entity (checked already), ready for :meth:`_insert`."""
        stamp = now_ms()
        return {
            "id": new_id(),
            "project_id": project.id,
            "type": datatype,
            "name": name,
            "attributes": empty_to_null(sent) or {},
            "created_by": actor.full_name,
            "date_created": stamp,
            "date_updated": stamp,
            "origin_id": origin_id,
            "links": links,
            "project_name": project.name,
        }

    def _insert(self, conn, entities: list[dict]) -> None:
        """Insert prepared entities with their links and attribute index rows."""
        by_type: dict[str, list[dict]] = {}
        for entity in entities:
            by_type.setdefault(entity["type"], []).append(entity)
        for datatype, group in by_type.items():
            for entity, incremental in zip(
                group,
                self._next_incremental_ids(conn, datatype, len(group)),
                strict=True,
            ):
                entity["incremental_id"] = incremental
        try:
            db.bulk_insert(conn, m.entities, [entity_row(e) for e in entities])
        except sa.exc.IntegrityError as error:
            if len(entities) == 1 and "unique" in str(error.orig).lower():
                entity = entities[0]
                project = _Named(entity["project_id"], entity.get("project_name", ""))
                raise self._name_error(
                    project, entity["type"], entity["name"], "Save"
                ) from error
            raise BadRequest(
                "Save failed. An entity was created or deleted at the same time "
                f"({type(error.orig).__name__}); try again."
            ) from error
        db.bulk_insert(
            conn,
            m.attribute_values,
            [
                index_row(row)
                for e in entities
                for row in attribute_value_rows(e, e["attributes"])
            ],
        )
        links = [
            {"entity_id": e["id"], "linked_id": linked}
            for e in entities
            for linked in e["links"]
        ]
        if links:
            conn.execute(m.entity_links.insert(), links)

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
        """Merge ``attributes`` into one entity, optionally rename or move it."""
        if not is_hex_id(entity_id):
            raise BadRequest("please provide a valid hexadecimal value for id")
        with self.write() as conn:
            rules = self._rules(conn, datatype, f"type {datatype} is not defined")
            row = self._entity(conn, actor, entity_id, lock=True)
            self._check_update_target(row, datatype, entity_id)
            merged = self._merged_attributes(
                datatype,
                row.attributes,
                attributes,
                rules,
                strict_validation=strict_validation,
                allow_nulls=allow_nulls,
            )
            values = {"attributes": merged, "date_updated": now_ms()}
            project = conn.execute(
                sa.select(m.projects).where(m.projects.c.id == row.project_id)
            ).one()
            if name is not None and name != row.name:
                if not isinstance(name, str) or not name.strip():
                    raise failed("Update", "The new name is empty.")
                self._name_taken(conn, project, datatype, name, "Update")
                values["name"] = name
            if origin_id is not None and origin_id != row.origin_id:
                if not is_hex_id(origin_id):
                    raise BadRequest(
                        "please provide a valid hexadecimal value for origin_id"
                    )
                if self._entity(conn, actor, origin_id) is None:
                    raise BadRequest("origin not found")
                self._check_no_cycle(conn, entity_id, origin_id)
                values["origin_id"] = origin_id
            conn.execute(
                sa.update(m.entities).where(m.entities.c.id == entity_id).values(values)
            )
            self._reindex(conn, [{**row._mapping, **values}])
            if other_relations:
                existing = set(self._links(conn, entity_id))
                new_links = [i for i in other_relations if i not in existing]
                for linked in new_links:
                    if self._entity(conn, actor, linked) is None:
                        raise BadRequest(f"other_relations: no entity with id {linked}")
                if new_links:
                    conn.execute(
                        m.entity_links.insert(),
                        [{"entity_id": entity_id, "linked_id": i} for i in new_links],
                    )
            before = entity_reply(row._mapping)
            after_row = self._entity(conn, actor, entity_id)
            after = entity_reply(after_row._mapping, links=self._links(conn, entity_id))
            self._record_history(conn, actor, "update", [(before, after)])
            return after

    @staticmethod
    def _check_no_cycle(conn, entity_id: str, origin_id: str) -> None:
        """Refuse to move an entity below itself (its new origin's ancestors
        may not include it)."""
        ancestor = origin_id
        while ancestor is not None:
            if ancestor == entity_id:
                raise failed(
                    "Update",
                    f"Entity {entity_id} cannot move below {origin_id}: that is "
                    "the entity itself or one of its descendants.",
                )
            ancestor = conn.execute(ORIGIN_OF, {"id": ancestor}).scalar()

    @staticmethod
    def _check_update_target(row, datatype, entity_id) -> None:
        """Refuse to update a missing entity or one of another type."""
        if row is None:
            raise failed("Update", f"No {datatype} with id {entity_id}.")
        if row.type != datatype:
            raise failed(
                "Update", f"Entity {entity_id} is a {row.type}, not a {datatype}."
            )

    @staticmethod
    def _merged_attributes(
        datatype, current, attributes, rules, *, strict_validation, allow_nulls
    ) -> dict:
        """An entity's attributes after an update, checked against the rules."""
        if attributes is None:
            attributes = {}
        if not isinstance(attributes, Mapping):
            raise failed("Update", "attributes must be a JSON object.")
        check_attribute_names(attributes, "Update")
        merged = dict(current or {})
        for key, value in attributes.items():
            check_no_nan(value, key, "Update")
            if value == "" and not allow_nulls:
                continue
            merged[key] = empty_to_null(value)
        validate_attributes(
            datatype,
            merged,
            rules,
            strict=strict_validation,
            action="Update",
            check_required=False,
        )
        return merged

    def _reindex(self, conn, entities: list[Mapping]) -> None:
        ids = [e["id"] for e in entities]
        conn.execute(
            m.attribute_values.delete().where(m.attribute_values.c.entity_id.in_(ids))
        )
        rows = [r for e in entities for r in attribute_value_rows(e, e["attributes"])]
        if rows:
            conn.execute(m.attribute_values.insert(), rows)

    def _record_history(self, conn, actor, action, changes) -> None:
        stamp = now_ms()
        rows = [
            {
                "entity_id": (before or after)["id"],
                "project_id": (before or after)["project"],
                "action": action,
                "changed_by": actor.full_name,
                "changed_at": stamp,
                "before": before,
                "after": after,
            }
            for before, after in changes
        ]
        if rows:
            conn.execute(m.history.insert(), rows)

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
        """Set one attribute on every entity of a type (optionally filtered)."""
        if not update_key:
            raise BadRequest("update_key is required")
        check_attribute_names({update_key: None}, "Update")
        check_no_nan(update_value, update_key, "Update")
        query = EntityQuery(
            type=datatype,
            project_id=project_id,
            query_key=query_key,
            query_value=query_value,
        )
        with self.write() as conn:
            rules = self._rules(conn, datatype, f"type {datatype} is not defined")
            self._project(
                conn,
                actor,
                project_id,
                "project_id not valid, please provide a valid hexadecimal value",
            )
            stmt, params = entity_statement(actor, query)
            rows = conn.execute(stmt, params).all()
            stamp = now_ms()
            changes, updated = [], []
            for row in rows:
                merged = dict(row.attributes or {})
                merged[update_key] = empty_to_null(update_value)
                validate_attributes(
                    datatype,
                    merged,
                    rules,
                    strict=strict_validation,
                    action="Update",
                    check_required=False,
                )
                after = {**row._mapping, "attributes": merged, "date_updated": stamp}
                updated.append(after)
                changes.append((entity_reply(row._mapping), entity_reply(after)))
            for entity in updated:
                conn.execute(
                    sa.update(m.entities)
                    .where(m.entities.c.id == entity["id"])
                    .values(attributes=entity["attributes"], date_updated=stamp)
                )
            if updated:
                self._reindex(conn, updated)
            self._record_history(conn, actor, "update", changes)
        return (
            f"updated successfully {len(rows)} items of type {datatype} "
            f"with {update_key}={update_value}"
        )

    def delete(self, actor: Actor, entity_id) -> str:
        """Move an entity and everything below it to the trash."""
        if not is_hex_id(entity_id):
            raise BadRequest("please provide a valid hexadecimal value for id")
        e = m.entities
        with self.write() as conn:
            root = self._entity(conn, actor, entity_id, lock=True)
            if root is None:
                raise BadRequest(f"Delete failed. No entity with id {entity_id}.")
            tree = sa.select(e.c.id).where(e.c.id == entity_id).cte(recursive=True)
            tree = tree.union_all(sa.select(e.c.id).where(e.c.origin_id == tree.c.id))
            rows = conn.execute(
                sa.select(*ENTITY_COLUMNS).join(tree, tree.c.id == e.c.id)
            ).all()
            ids = [row.id for row in rows]
            links = conn.execute(
                sa.select(m.entity_links).where(
                    sa.or_(
                        m.entity_links.c.entity_id.in_(ids),
                        m.entity_links.c.linked_id.in_(ids),
                    )
                )
            ).all()
            links_by_entity: dict[str, list] = {}
            for link in links:
                owner = link.entity_id if link.entity_id in ids else link.linked_id
                links_by_entity.setdefault(owner, []).append(
                    [link.entity_id, link.linked_id]
                )
            batch = secrets.token_hex(16)
            stamp = now_ms()
            conn.execute(
                m.trash.insert(),
                [
                    {
                        "batch_id": batch,
                        "entity_id": row.id,
                        "project_id": row.project_id,
                        "position": position,
                        "entity": entity_reply(row._mapping),
                        "links": links_by_entity.get(row.id),
                        "deleted_by": actor.full_name,
                        "deleted_at": stamp,
                    }
                    for position, row in enumerate(rows)
                ],
            )
            conn.execute(
                m.entity_links.delete().where(
                    sa.or_(
                        m.entity_links.c.entity_id.in_(ids),
                        m.entity_links.c.linked_id.in_(ids),
                    )
                )
            )
            conn.execute(
                m.attribute_values.delete().where(
                    m.attribute_values.c.entity_id.in_(ids)
                )
            )
            conn.execute(e.delete().where(e.c.id.in_(ids)))
            self._record_history(
                conn,
                actor,
                "delete",
                [(entity_reply(row._mapping), None) for row in rows],
            )
        return "deleted successfully null"
