"""The one schema definition, for SQLite and PostgreSQL alike (SQLAlchemy Core).

Migrations (``migrations/versions``) create and change it; the queries in ``store.py`` are
written against these tables. Timestamps are UTC: ISO-8601 text in SQLite (what every monitor
database has held since version 1, and what sorts as time), ``timestamptz`` in PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """An aware UTC datetime: ISO text on SQLite, ``timestamptz`` on PostgreSQL. Naive values are
    taken as UTC; stored to the second."""

    impl = sa.Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.TIMESTAMP(timezone=True))
        return dialect.type_descriptor(sa.Text())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC).replace(microsecond=0)
        return value if dialect.name == "postgresql" else value.isoformat(timespec="seconds")

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None or value == "":
            return None
        if isinstance(value, datetime):
            return value.astimezone(UTC)
        parsed = datetime.fromisoformat(str(value))
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


metadata = sa.MetaData()

feeds = sa.Table(
    "feeds", metadata,
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

articles = sa.Table(
    "articles", metadata,
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
    sa.Column("flagged", sa.Boolean(create_constraint=False), nullable=False),
    # not an alert, but a mention for some watchlist (0005)
    sa.Column("mentioned", sa.Boolean(create_constraint=False), nullable=False, server_default=sa.false()),
    sa.Column("title_en", sa.Text),
    sa.Column("text_en", sa.Text),
    sa.Column("translation", sa.Text, nullable=False),
    sa.Column("errors", sa.Text, nullable=False, server_default="[]"),
    # title, text and their English, folded: what search reads (0006; indexed by FTS5 / pg_trgm there)
    sa.Column("search_text", sa.Text, nullable=False, server_default=""),
    sa.Column("story", sa.Integer),  # the id of its story's first article; NULL until the story stage ran (0007)
    sa.Index("articles_flagged", "flagged", "fetched"),
    sa.Index("articles_translation", "translation"),
    sa.Index("articles_flagged_id", "flagged", "id"),
    sa.Index("articles_mentioned_id", "mentioned", "id"),
    sa.Index("articles_story", "story"),
)

article_feeds = sa.Table(
    "article_feeds", metadata,
    sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("feed_url", sa.Text, primary_key=True),
    sa.Column("entry_key", sa.Text, nullable=False),
    sa.Column("position", sa.Integer, nullable=False, server_default="0"),  # order the feeds carried it in
    sa.Index("article_feeds_entry", "feed_url", "entry_key", unique=True),
)

matches = sa.Table(
    "matches", metadata,
    sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("watchlist", sa.Text, primary_key=True),
    sa.Column("flagged", sa.Boolean(create_constraint=False), nullable=False),
    sa.Column("mentioned", sa.Boolean(create_constraint=False), nullable=False, server_default=sa.false()),  # 0005
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("reasons", sa.Text, nullable=False),
)

hits = sa.Table(
    "hits", metadata,
    sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
    sa.Column("watchlist", sa.Text, nullable=False),
    sa.Column("term", sa.Text, nullable=False),
    sa.Column("field", sa.Text, nullable=False),
    sa.Column("snippet", sa.Text, nullable=False),
    sa.Column("position", sa.Integer, nullable=False, server_default="0"),  # order within its watchlist
    sa.Index("hits_article", "article_id"),
)

translation_cache = sa.Table(
    "translation_cache", metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("text", sa.Text, nullable=False),
)

digests = sa.Table(
    "digests", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sent_at", UTCDateTime, nullable=False),
    sa.Column("covers_until", UTCDateTime, nullable=False),
    sa.Column("article_count", sa.Integer, nullable=False),
    sa.Column("recipients", sa.Text, nullable=False),
    sa.Column("last_article_id", sa.Integer, nullable=False, server_default="0"),
)

job_errors = sa.Table(  # why a distributed job failed (Procrastinate keeps the status, not the error)
    "job_errors", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("job_id", sa.BigInteger, nullable=False),
    sa.Column("task", sa.Text, nullable=False),
    sa.Column("error", sa.Text, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Index("job_errors_job", "job_id"),
)

host_turns = sa.Table(  # the next time a request to a host may start, across all workers (min_host_delay)
    "host_turns", metadata,
    sa.Column("host", sa.Text, primary_key=True),
    sa.Column("next_at", sa.Float, nullable=False),  # seconds since the epoch: sub-second turns
)
