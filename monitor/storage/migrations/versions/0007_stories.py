"""Stories: ``articles.story``, the id of the story an article belongs to (the id of the story's
first article), assigned after storing by the story stage; NULL until then.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("articles", sa.Column("story", sa.Integer, nullable=True))
    op.create_index("articles_story", "articles", ["story"])


def downgrade() -> None:
    op.drop_index("articles_story", "articles")
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("story")
