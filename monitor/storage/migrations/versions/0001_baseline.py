"""The schema as SQLite databases have held it since ``user_version`` 2 (the core pipeline, and
digests remembering the last article id they covered). Older databases are brought here by
``migrate.adopt_legacy`` and stamped, not re-created.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from monitor.storage.schema import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_BOOL = sa.Boolean(create_constraint=False)


def upgrade() -> None:
    op.create_table(
        "feeds",
        sa.Column("url", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("etag", sa.Text),
        sa.Column("last_modified", sa.Text),
        sa.Column("content_hash", sa.Text),
        sa.Column("last_fetched", UTCDateTime),
        sa.Column("last_success", UTCDateTime),
        sa.Column("last_error", sa.Text),
        sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt", UTCDateTime),
        sa.Column("disabled_reason", sa.Text),
    )
    op.create_table(
        "articles",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.Text, nullable=False, unique=True),
        sa.Column("canonical_url", sa.Text, unique=True),
        sa.Column("url", sa.Text),
        sa.Column("feed_url", sa.Text, nullable=False),
        sa.Column("feed_name", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("text_source", sa.Text, nullable=False),
        sa.Column("published", UTCDateTime),
        sa.Column("fetched", UTCDateTime, nullable=False),
        sa.Column("language", sa.Text, nullable=False),
        sa.Column("language_confidence", sa.Float, nullable=False),
        sa.Column("language_method", sa.Text, nullable=False),
        sa.Column("flagged", _BOOL, nullable=False),
        sa.Column("title_en", sa.Text),
        sa.Column("text_en", sa.Text),
        sa.Column("translation", sa.Text, nullable=False),
        sa.Column("errors", sa.Text, nullable=False, server_default="[]"),
    )
    op.create_index("articles_flagged", "articles", ["flagged", "fetched"])
    op.create_index("articles_translation", "articles", ["translation"])
    op.create_index("articles_flagged_id", "articles", ["flagged", "id"])
    op.create_table(
        "article_feeds",
        sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("feed_url", sa.Text, primary_key=True),
        sa.Column("entry_key", sa.Text, nullable=False),
    )
    op.create_index("article_feeds_entry", "article_feeds", ["feed_url", "entry_key"], unique=True)
    op.create_table(
        "matches",
        sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("watchlist", sa.Text, primary_key=True),
        sa.Column("flagged", _BOOL, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("reasons", sa.Text, nullable=False),
    )
    op.create_table(
        "hits",
        sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
        sa.Column("watchlist", sa.Text, nullable=False),
        sa.Column("term", sa.Text, nullable=False),
        sa.Column("field", sa.Text, nullable=False),
        sa.Column("snippet", sa.Text, nullable=False),
    )
    op.create_index("hits_article", "hits", ["article_id"])
    op.create_table(
        "translation_cache",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("text", sa.Text, nullable=False),
    )
    op.create_table(
        "digests",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sent_at", UTCDateTime, nullable=False),
        sa.Column("covers_until", UTCDateTime, nullable=False),
        sa.Column("article_count", sa.Integer, nullable=False),
        sa.Column("recipients", sa.Text, nullable=False),
        sa.Column("last_article_id", sa.Integer, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    for table in ("digests", "translation_cache", "hits", "matches", "article_feeds", "articles", "feeds"):
        op.drop_table(table)
