"""The story stage's queries: articles still without a story, the recent ones that have one (to
seed the index), and writing the assignments. Called through :meth:`Store.stories`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from ..models import TranslationState
from .schema import articles
from .search import article_date

__all__ = ["StoryRow", "assign", "first_unassigned", "lock", "seeds", "unassigned", "waiting"]

_LOCK_KEY = 0x6D6F6E73  # "mons": the PostgreSQL advisory lock of the story stage


@dataclass(frozen=True, slots=True)
class StoryRow:
    id: int
    title: str
    text: str
    url: str | None
    when: datetime  # published, else fetched
    story: int | None
    language: str = "und"
    fetched: datetime | None = None
    title_en: str | None = None  # the English translation, where one is stored
    text_en: str | None = None


LEAD_CHARS = 2000  # what the story stage reads of a text (it uses the lead only)


def _rows(conn: sa.Connection, query: sa.Select[tuple[object, ...]]) -> list[StoryRow]:
    c = articles.c
    out = []
    lead = sa.func.substr(c.text, 1, LEAD_CHARS).label("text")
    lead_en = sa.func.substr(c.text_en, 1, LEAD_CHARS).label("text_en")
    for r in conn.execute(query.with_only_columns(c.id, c.title, lead, c.url, c.published, c.fetched,
                                                  c.story, c.language, c.title_en, lead_en)).mappings():
        out.append(StoryRow(int(r["id"]), r["title"], r["text"], r["url"], r["published"] or r["fetched"],
                            r["story"], r["language"], r["fetched"], r["title_en"], r["text_en"]))
    return out


def lock(conn: sa.Connection) -> None:
    """One story stage at a time, until the transaction ends: on PostgreSQL an advisory lock (other
    writers go on); SQLite's write transaction (``BEGIN IMMEDIATE``) already holds the only write lock."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})


def unassigned(conn: sa.Connection, limit: int, waiting_since: datetime | None = None) -> list[StoryRow]:
    """Articles without a story, oldest first; with ``waiting_since``, not those still waiting for
    their translation that were fetched after it (their English joins their evidence once it comes)."""
    query = sa.select(articles.c.id).where(articles.c.story.is_(None))
    if waiting_since is not None:
        query = query.where(sa.or_(articles.c.translation != TranslationState.PENDING.value,
                                   articles.c.fetched <= waiting_since))
    return _rows(conn, query.order_by(articles.c.id).limit(limit))


def first_unassigned(conn: sa.Connection) -> int:
    """The lowest id of an article without a story; past the highest id when every one has one."""
    c = articles.c
    lowest = conn.execute(sa.select(sa.func.min(c.id)).where(c.story.is_(None))).scalar_one()
    if lowest is not None:
        return int(lowest)
    return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(c.id), 0))).scalar_one()) + 1


def waiting(conn: sa.Connection, waiting_since: datetime) -> int:
    """How many articles without a story wait for their translation (fetched after ``waiting_since``)."""
    return int(conn.execute(sa.select(sa.func.count()).where(
        articles.c.story.is_(None), articles.c.translation == TranslationState.PENDING.value,
        articles.c.fetched > waiting_since)).scalar_one())


def seeds(conn: sa.Connection, since: datetime, after_id: int = 0) -> list[StoryRow]:
    """Articles with a story, id above ``after_id``, that appeared (published, else fetched) since
    ``since``; by date."""
    when = article_date()
    return _rows(conn, sa.select(articles.c.id).where(articles.c.story.is_not(None), when >= since,
                                                      articles.c.id > after_id).order_by(when, articles.c.id))


def assign(conn: sa.Connection, stories: Mapping[int, int]) -> None:
    """Set each article's story, only where none is set yet (a second runner changes nothing)."""
    for article_id, story in stories.items():
        conn.execute(articles.update().where(articles.c.id == article_id, articles.c.story.is_(None))
                     .values(story=story))


def size(conn: sa.Connection, story: int) -> int:
    return int(conn.execute(sa.select(sa.func.count()).where(articles.c.story == story)).scalar_one())
