"""When the next request to each host may start, shared by every worker (fetch.min_host_delay
across machines).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "host_turns",
        sa.Column("host", sa.Text, primary_key=True),
        sa.Column("next_at", sa.Float, nullable=False),  # seconds since the epoch: sub-second turns
    )


def downgrade() -> None:
    op.drop_table("host_turns")
