"""web interface: disabled users, entity counts, name search, browsing indexes

- ``users.disabled``: an admin can stop a user from logging in without
  deleting what they created.
- ``entity_counts``: entities per project, datatype and kind, kept by triggers
  on ``entities`` so that a project page counts a million entities in one
  indexed read.
- Name-substring search with an index: ``pg_trgm`` (a GIN index on
  ``entities.name``) on PostgreSQL; on SQLite an FTS5 ``trigram`` table over
  ``entity_name_search_rows`` (entity id and name, one row per entity), both
  kept by triggers on ``entities``.
- ``ix_entities_roots``: the top of a project's tree.

The triggers live on ``entities``: on SQLite, a later migration that rebuilds
that table (``batch_alter_table("entities")``) drops them and must create them
again (:func:`create_sqlite_triggers`, :func:`create_postgres_triggers`).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SEARCH = "entity_name_search"


def _sqlite_kind(row: str) -> str:
    """SQLite expression: the kind of an entity (``new`` or ``old`` row)."""
    path = f"""'$."' || {row}.type || '_type"'"""
    return (
        f"CASE WHEN instr({row}.type, '\"') > 0 THEN '' "
        f"WHEN json_type({row}.attributes, {path}) = 'text' "
        f"THEN substr(json_extract({row}.attributes, {path}), 1, 100) ELSE '' END"
    )


def create_sqlite_triggers() -> None:
    """The triggers keeping counts and the name index of SQLite in step."""
    new, old = _sqlite_kind("new"), _sqlite_kind("old")
    bump = (
        "INSERT INTO entity_counts (project_id, type, kind, count) "
        "VALUES (new.project_id, new.type, {kind}, 1) "
        "ON CONFLICT (project_id, type, kind) DO UPDATE SET count = count + 1;"
    )
    drop = (
        "UPDATE entity_counts SET count = count - 1 WHERE project_id = "
        "old.project_id AND type = old.type AND kind = {kind};"
    )
    unindex = (
        f"INSERT INTO {SEARCH} ({SEARCH}, rowid, name) "
        f"SELECT 'delete', rowid, name FROM {SEARCH}_rows WHERE entity_id = old.id;"
    )
    statements = [
        f"""CREATE TRIGGER entity_counts_insert AFTER INSERT ON entities
        BEGIN {bump.format(kind=new)} END""",
        f"""CREATE TRIGGER entity_counts_delete AFTER DELETE ON entities
        BEGIN {drop.format(kind=old)} END""",
        f"""CREATE TRIGGER entity_counts_update
        AFTER UPDATE OF project_id, type, attributes ON entities
        WHEN old.project_id IS NOT new.project_id OR old.type IS NOT new.type
          OR ({old}) IS NOT ({new})
        BEGIN {drop.format(kind=old)} {bump.format(kind=new)} END""",
        f"""CREATE TRIGGER {SEARCH}_insert AFTER INSERT ON entities BEGIN
          INSERT INTO {SEARCH}_rows (entity_id, name) VALUES (new.id, new.name);
          INSERT INTO {SEARCH} (rowid, name)
            SELECT rowid, name FROM {SEARCH}_rows WHERE entity_id = new.id;
        END""",
        f"""CREATE TRIGGER {SEARCH}_delete AFTER DELETE ON entities BEGIN
          {unindex}
          DELETE FROM {SEARCH}_rows WHERE entity_id = old.id;
        END""",
        f"""CREATE TRIGGER {SEARCH}_rename AFTER UPDATE OF name ON entities
        WHEN old.name IS NOT new.name BEGIN
          {unindex}
          UPDATE {SEARCH}_rows SET name = new.name WHERE entity_id = old.id;
          INSERT INTO {SEARCH} (rowid, name)
            SELECT rowid, name FROM {SEARCH}_rows WHERE entity_id = new.id;
        END""",
    ]
    for statement in statements:
        op.execute(statement)


#: PostgreSQL: one statement-level trigger per kind of write, over the rows the
#: statement changed (transition tables), so that a COPY of a million entities
#: updates each count once. Counts are updated in key order, so that two
#: statements never wait for each other's rows in opposite orders.
POSTGRES_FUNCTIONS = """
CREATE FUNCTION entity_kind(attributes jsonb, datatype text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN jsonb_typeof(attributes -> (datatype || '_type')) = 'string'
    THEN left(attributes ->> (datatype || '_type'), 100) ELSE '' END
$$;
"""

#: The body of each trigger function: the changes of the statement, by count.
POSTGRES_CHANGES = {
    "insert": "SELECT project_id, type, entity_kind(attributes, type) AS kind, "
    "count(*) AS n FROM new_rows GROUP BY 1, 2, 3",
    "delete": "SELECT project_id, type, entity_kind(attributes, type) AS kind, "
    "-count(*) AS n FROM old_rows GROUP BY 1, 2, 3",
    "update": "SELECT project_id, type, kind, sum(n) AS n FROM ("
    "SELECT project_id, type, entity_kind(attributes, type) AS kind, -1 AS n "
    "FROM old_rows UNION ALL "
    "SELECT project_id, type, entity_kind(attributes, type), 1 FROM new_rows"
    ") changes GROUP BY 1, 2, 3 HAVING sum(n) <> 0",
}


def create_postgres_triggers() -> None:
    """The triggers keeping counts of PostgreSQL in step."""
    op.execute(POSTGRES_FUNCTIONS)
    for action, changes in POSTGRES_CHANGES.items():
        op.execute(
            f"""CREATE FUNCTION entity_counts_after_{action}() RETURNS trigger
            LANGUAGE plpgsql AS $$ BEGIN
              INSERT INTO entity_counts (project_id, type, kind, count)
              SELECT * FROM ({changes}) c ORDER BY 1, 2, 3
              ON CONFLICT (project_id, type, kind)
              DO UPDATE SET count = entity_counts.count + excluded.count;
              RETURN NULL;
            END $$"""
        )
    for action, tables in (
        ("insert", "NEW TABLE AS new_rows"),
        ("delete", "OLD TABLE AS old_rows"),
        ("update", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    ):
        op.execute(
            f"CREATE TRIGGER entity_counts_{action} AFTER {action.upper()} ON "
            f"entities REFERENCING {tables} FOR EACH STATEMENT "
            f"EXECUTE FUNCTION entity_counts_after_{action}()"
        )


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "disabled", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
    op.create_table(
        "entity_counts",
        sa.Column("project_id", sa.String(length=24), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=100), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "project_id", "type", "kind", name=op.f("pk_entity_counts")
        ),
    )
    op.create_index(
        "ix_entities_roots",
        "entities",
        ["project_id", "date_created", "id"],
        unique=False,
        sqlite_where=sa.text("origin_id IS NULL"),
        postgresql_where=sa.text("origin_id IS NULL"),
    )
    if postgres:
        kind = "entity_kind(attributes, type)"
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE INDEX ix_entities_name_trgm ON entities "
            "USING gin (name gin_trgm_ops)"
        )
        create_postgres_triggers()
    else:
        kind = _sqlite_kind("entities")
        op.execute(
            f"""CREATE TABLE {SEARCH}_rows (
                rowid INTEGER PRIMARY KEY,
                entity_id VARCHAR(24) NOT NULL UNIQUE,
                name TEXT NOT NULL)"""
        )
        op.execute(
            f"CREATE VIRTUAL TABLE {SEARCH} USING fts5(name, content='{SEARCH}_rows', "
            "content_rowid='rowid', tokenize='trigram')"
        )
        op.execute(
            f"INSERT INTO {SEARCH}_rows (entity_id, name) "
            "SELECT id, name FROM entities ORDER BY date_created, id"
        )
        op.execute(f"INSERT INTO {SEARCH} ({SEARCH}) VALUES ('rebuild')")
        create_sqlite_triggers()
    op.execute(
        "INSERT INTO entity_counts (project_id, type, kind, count) "
        f"SELECT project_id, type, {kind}, count(*) FROM entities GROUP BY 1, 2, 3"
    )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        for action in POSTGRES_CHANGES:
            op.execute(f"DROP TRIGGER IF EXISTS entity_counts_{action} ON entities")
            op.execute(f"DROP FUNCTION IF EXISTS entity_counts_after_{action}()")
        op.execute("DROP FUNCTION IF EXISTS entity_kind(jsonb, text)")
        op.execute("DROP INDEX IF EXISTS ix_entities_name_trgm")
    else:
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS entity_counts_{trigger}")
        for trigger in ("insert", "delete", "rename"):
            op.execute(f"DROP TRIGGER IF EXISTS {SEARCH}_{trigger}")
        op.execute(f"DROP TABLE IF EXISTS {SEARCH}")
        op.execute(f"DROP TABLE IF EXISTS {SEARCH}_rows")
    op.drop_index("ix_entities_roots", table_name="entities")
    op.drop_table("entity_counts")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("disabled")
