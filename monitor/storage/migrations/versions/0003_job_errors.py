"""Why distributed jobs failed, for `monitor jobs` (Procrastinate keeps a job's status, not its error).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from monitor.storage.schema import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_errors",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("job_id", sa.BigInteger, nullable=False),
        sa.Column("task", sa.Text, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
    )
    op.create_index("job_errors_job", "job_errors", ["job_id"])


def downgrade() -> None:
    op.drop_table("job_errors")
