"""Two levels per watchlist: an alert (``flagged``, as before) and a passing mention.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("articles", "matches"):  # a plain ADD COLUMN: no table is rebuilt (the FKs cascade)
        op.add_column(table, sa.Column("mentioned", sa.Boolean(create_constraint=False), nullable=False,
                                       server_default=sa.false()))
    op.create_index("articles_mentioned_id", "articles", ["mentioned", "id"])


def downgrade() -> None:
    op.drop_index("articles_mentioned_id", "articles")
    for table in ("articles", "matches"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("mentioned")
