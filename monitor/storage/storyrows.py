"""The story stage's queries: articles still without a story, the recent ones that have one (to
seed the index), and writing the assignments. Called through :meth:`Store.stories`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from .schema import articles

__all__ = ["StoryRow", "assign", "seeds", "unassigned"]


@dataclass(frozen=True, slots=True)
class StoryRow:
    id: int
    title: str
    text: str
    url: str | None
    when: datetime  # published, else fetched
    story: int | None


def _rows(conn: sa.Connection, query: sa.Select[tuple[object, ...]]) -> list[StoryRow]:
    c = articles.c
    out = []
    for r in conn.execute(query.with_only_columns(c.id, c.title, c.text, c.url, c.published, c.fetched,
                                                  c.story)).mappings():
        out.append(StoryRow(int(r["id"]), r["title"], r["text"], r["url"], r["published"] or r["fetched"],
                            r["story"]))
    return out


def unassigned(conn: sa.Connection, limit: int) -> list[StoryRow]:
    """Articles without a story, oldest first."""
    return _rows(conn, sa.select(articles.c.id).where(articles.c.story.is_(None)).order_by(articles.c.id)
                 .limit(limit))


def seeds(conn: sa.Connection, since: datetime) -> list[StoryRow]:
    """Articles with a story that appeared (published, else fetched) since ``since``, by date."""
    when = sa.func.coalesce(articles.c.published, articles.c.fetched)
    return _rows(conn, sa.select(articles.c.id).where(articles.c.story.is_not(None), when >= since)
                 .order_by(when, articles.c.id))


def assign(conn: sa.Connection, stories: Mapping[int, int]) -> None:
    """Set each article's story, only where none is set yet (a second runner changes nothing)."""
    for article_id, story in stories.items():
        conn.execute(articles.update().where(articles.c.id == article_id, articles.c.story.is_(None))
                     .values(story=story))


def size(conn: sa.Connection, story: int) -> int:
    return int(conn.execute(sa.select(sa.func.count()).where(articles.c.story == story)).scalar_one())
