"""Database tables of the store (SQLAlchemy Core).

Every schema change here needs an Alembic migration in ``migrations/versions``;
CI runs ``alembic check`` to make sure the two agree.
"""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from ..settings import KEY_COLUMN_LENGTH, NAME_COLUMN_LENGTH

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

#: JSON documents: JSONB on PostgreSQL, JSON text on SQLite.
Json = sa.JSON().with_variant(JSONB(), "postgresql")

HexId = sa.String(24)

projects = sa.Table(
    "projects",
    metadata,
    sa.Column("id", HexId, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("date_created", sa.BigInteger, nullable=False),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(100), nullable=False, unique=True),
    sa.Column("full_name", sa.String(200), nullable=False),
    sa.Column("password_hash", sa.String(200), nullable=True),
    sa.Column("is_admin", sa.Boolean, nullable=False, default=False),
    sa.Column("date_created", sa.BigInteger, nullable=False),
    sa.Column(
        "disabled",
        sa.Boolean,
        nullable=False,
        default=False,
        server_default=sa.false(),
    ),
)

memberships = sa.Table(
    "memberships",
    metadata,
    sa.Column(
        "user_id",
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "project_id",
        HexId,
        sa.ForeignKey("projects.id", ondelete="CASCADE"),
        primary_key=True,
    ),
)

tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column(
        "user_id",
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("issued_at", sa.BigInteger, nullable=False),
    sa.Column("expires_at", sa.BigInteger, nullable=False),
    sa.Column("revoked", sa.Boolean, nullable=False, default=False),
)

datatypes = sa.Table(
    "datatypes",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False, default=0),
    sa.Column("project_scoped", sa.Boolean, nullable=False, default=True),
    sa.Column("description", sa.Text, nullable=True),
    #: Datatypes an entity of this type may be below (null: any).
    sa.Column("allowed_parents", Json, nullable=True),
)

datatype_attributes = sa.Table(
    "datatype_attributes",
    metadata,
    sa.Column(
        "datatype",
        sa.String(100),
        sa.ForeignKey("datatypes.name", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False, default=0),
    sa.Column("value_type", sa.String(20), nullable=False, default="any"),
    sa.Column("required", sa.Boolean, nullable=False, default=False),
    sa.Column("allowed_values", Json, nullable=True),
    sa.Column("description", sa.Text, nullable=True),
)

counters = sa.Table(
    "counters",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False, default=0),
)

entities = sa.Table(
    "entities",
    metadata,
    sa.Column("id", HexId, primary_key=True),
    sa.Column(
        "project_id",
        HexId,
        sa.ForeignKey("projects.id"),
        nullable=False,
    ),
    sa.Column("type", sa.String(100), nullable=False),
    sa.Column("name", sa.String(NAME_COLUMN_LENGTH), nullable=False),
    sa.Column("incremental_id", sa.String(120), nullable=False),
    sa.Column("attributes", Json, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("date_created", sa.BigInteger, nullable=False),
    sa.Column("date_updated", sa.BigInteger, nullable=False),
    sa.Column("origin_id", HexId, sa.ForeignKey("entities.id"), nullable=True),
    sa.UniqueConstraint("project_id", "type", "name"),
    sa.Index("ix_entities_origin_id", "origin_id"),
    sa.Index("ix_entities_name", "name"),
    sa.Index(
        "ix_entities_project_id_type_date_created", "project_id", "type", "date_created"
    ),
    # The top of a project's tree, in creation order (the web pages' first level).
    sa.Index(
        "ix_entities_roots",
        "project_id",
        "date_created",
        "id",
        sqlite_where=sa.text("origin_id IS NULL"),
        postgresql_where=sa.text("origin_id IS NULL"),
    ),
)

#: Scalar top-level attribute values, one row each, so that ``query_key`` /
#: ``query_value`` filters use an index on both backends.
attribute_values = sa.Table(
    "attribute_values",
    metadata,
    sa.Column(
        "entity_id",
        HexId,
        sa.ForeignKey("entities.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("key", sa.String(KEY_COLUMN_LENGTH), primary_key=True),
    sa.Column("project_id", HexId, nullable=False),
    sa.Column("type", sa.String(100), nullable=False),
    sa.Column("value_prefix", sa.String(200), nullable=False),
    sa.Column("value", sa.Text, nullable=False),
    sa.Index("ix_attribute_values_lookup", "project_id", "type", "key", "value_prefix"),
)

#: ``other_relations`` / ``customEntities``: links between entities.
entity_links = sa.Table(
    "entity_links",
    metadata,
    sa.Column(
        "entity_id",
        HexId,
        sa.ForeignKey("entities.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "linked_id",
        HexId,
        sa.ForeignKey("entities.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)

history = sa.Table(
    "history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("entity_id", HexId, nullable=False, index=True),
    sa.Column("project_id", HexId, nullable=False),
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("changed_by", sa.String(200), nullable=False),
    sa.Column("changed_at", sa.BigInteger, nullable=False),
    sa.Column("before", Json, nullable=True),
    sa.Column("after", Json, nullable=True),
    sa.Index("ix_history_project_id_id", "project_id", "id"),
)

trash = sa.Table(
    "trash",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("batch_id", sa.String(32), nullable=False, index=True),
    sa.Column("entity_id", HexId, nullable=False, index=True),
    sa.Column("project_id", HexId, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("entity", Json, nullable=False),
    sa.Column("links", Json, nullable=True),
    sa.Column("deleted_by", sa.String(200), nullable=False),
    sa.Column("deleted_at", sa.BigInteger, nullable=False),
)

#: Entities per project, datatype and kind (the string value of the entity's
#: ``<datatype>_type`` attribute, e.g. a dataset's ``dataset_type``; empty when
#: it has none), kept by triggers on ``entities`` (migration 0003), so that a
#: project's counts are one indexed read however many entities it holds.
entity_counts = sa.Table(
    "entity_counts",
    metadata,
    sa.Column("project_id", HexId, primary_key=True),
    sa.Column("type", sa.String(100), primary_key=True),
    sa.Column("kind", sa.String(100), primary_key=True),
    sa.Column("count", sa.BigInteger, nullable=False),
)

#: Tables of the name-substring index on SQLite (an FTS5 trigram table and the
#: rows it indexes, kept by triggers; migration 0003). They are not declared
#: here: PostgreSQL uses a pg_trgm index on ``entities.name`` instead.
SQLITE_NAME_SEARCH = "entity_name_search"
#: The pg_trgm GIN index on ``entities.name`` (PostgreSQL only, migration 0003).
PG_NAME_TRGM_INDEX = "ix_entities_name_trgm"

#: Failed logins, one row each, keyed by a digest of the username or of the
#: client address: the throttle of ``authenticate``, shared by every worker.
login_failures = sa.Table(
    "login_failures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key_hash", sa.String(64), nullable=False),
    sa.Column("failed_at", sa.BigInteger, nullable=False, index=True),
    sa.Index("ix_login_failures_key_hash_failed_at", "key_hash", "failed_at"),
)

#: Replies of ``batch`` requests sent with an idempotency key, written in the
#: batch's own transaction: a retry of the same request replays the reply.
idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("username", sa.String(100), primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("reply", sa.Text, nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False, index=True),
)
