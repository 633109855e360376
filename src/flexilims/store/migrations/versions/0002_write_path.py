"""allowed parent types per datatype; history pages per project

Existing databases keep accepting any parent (as Flexilims does) until their
lab settings declare allowed_parents.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 16:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    with op.batch_alter_table("datatypes") as batch:
        batch.add_column(sa.Column("allowed_parents", json, nullable=True))
    op.create_index("ix_history_project_id_id", "history", ["project_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_history_project_id_id", table_name="history")
    with op.batch_alter_table("datatypes") as batch:
        batch.drop_column("allowed_parents")
