"""Hits and feed links keep their order in a column of their own (SQLite's implicit rowid gave it
before; PostgreSQL has none). Existing SQLite rows take their rowid, so nothing reorders.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("hits", "article_feeds"):
        op.add_column(table, sa.Column("position", sa.Integer, nullable=False, server_default="0"))
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"UPDATE {table} SET position = rowid")


def downgrade() -> None:
    for table in ("hits", "article_feeds"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("position")
