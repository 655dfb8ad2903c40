"""Full-text search over stored articles, the same on SQLite and PostgreSQL.

What is searched is one column, ``articles.search_text``: title, text, English title and English
text, lower-cased and folded (traditional Chinese to simplified, full-width to ASCII), written on
every insert and translation. A query is words (or "quoted phrases"); an article matches when
each occurs in it as a substring, so Chinese words inside a sentence (no spaces) and Swedish
compounds ("chip" in "smuggelchips") are found. The index is SQLite's FTS5 with the trigram
tokenizer (kept in step by triggers) and PostgreSQL's ``pg_trgm`` (a GIN index); words under three
characters (芯片) are matched by a scan of the candidates. Relevance counts the occurrences of
each word; ties and ``sort="date"`` go newest first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..scripts import fold_table
from .schema import article_feeds, articles, matches

__all__ = ["SearchFilters", "parse_query", "passage", "search_document", "search_query"]

_PHRASE = re.compile(r'"([^"]+)"|(\S+)')
PASSAGE_CHARS = 200


def search_document(title: str, text: str, title_en: str | None, text_en: str | None) -> str:
    """The searched form of an article: its four texts, folded and lower-cased."""
    return fold("\n".join(part for part in (title, text, title_en or "", text_en or "") if part))


def fold(text: str) -> str:
    """Folded and lower-cased, one character for one (so offsets into the original hold)."""
    folded = text.translate(fold_table())
    lowered = folded.lower()
    return lowered if len(lowered) == len(folded) else "".join(c.lower() if len(c.lower()) == 1 else c
                                                              for c in folded)


def parse_query(query: str) -> tuple[str, ...]:
    """The words and quoted phrases of a query, folded; empty ones dropped."""
    terms = (" ".join((m.group(1) or m.group(2)).split()) for m in _PHRASE.finditer(query))
    return tuple(dict.fromkeys(fold(t) for t in terms if t.strip('"')))


@dataclass(frozen=True, slots=True)
class SearchFilters:
    languages: tuple[str, ...] = ()
    feed_urls: tuple[str, ...] = ()  # the feeds (a --feed name or a --tag resolved by the caller)
    watchlist: str | None = None  # only articles it alerts on or mentions (``levels``: at its own level)
    levels: tuple[str, ...] = ()  # "alert", "mention", "none"
    since: datetime | None = None  # published (else fetched) at or after
    until: datetime | None = None  # ... before
    sort: str = "relevance"  # or "date"
    limit: int = 50
    story: int | None = None  # only the articles of this story


@dataclass(frozen=True, slots=True)
class SearchResult:
    """One article found, with the passage where the query occurs."""

    id: int
    title: str
    title_en: str | None
    feed_name: str
    feed_url: str
    language: str
    published: datetime | None
    fetched: datetime
    url: str | None
    level: str  # alert, mention or none
    passage: str
    relevance: float


def run_search(conn: sa.Connection, dialect: str, query: str, filters: SearchFilters) -> list[SearchResult]:
    terms = parse_query(query)
    c = articles.c
    columns = [c.id, c.title, c.title_en, c.text, c.feed_name, c.feed_url, c.language, c.published, c.fetched,
               c.url, c.flagged, c.mentioned]
    rows = conn.execute(search_query(dialect, terms, filters, columns)).mappings().all()
    return [SearchResult(id=int(r["id"]), title=r["title"], title_en=r["title_en"], feed_name=r["feed_name"],
                         feed_url=r["feed_url"], language=r["language"], published=r["published"],
                         fetched=r["fetched"], url=r["url"],
                         level="alert" if r["flagged"] else "mention" if r["mentioned"] else "none",
                         passage=passage(r["text"], terms), relevance=float(r["relevance"] or 0.0))
            for r in rows]


def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search_query(dialect: str, terms: Sequence[str], filters: SearchFilters,
                 columns: Sequence[sa.ColumnElement[Any]]) -> sa.Select[Any]:
    """The SELECT for ``terms`` under ``filters`` (its rows: ``columns`` and ``relevance``)."""
    doc = articles.c.search_text
    conditions: list[sa.ColumnElement[bool]] = [doc.like(_like(t), escape="\\") for t in terms]
    long_terms = [t for t in terms if len(t) >= 3]
    if dialect == "sqlite" and long_terms:  # the trigram index narrows; LIKE keeps the exact rule
        phrase = " ".join('"' + t.replace('"', '""') + '"' for t in long_terms)
        conditions.append(articles.c.id.in_(sa.text("SELECT rowid FROM article_search WHERE article_search MATCH :q")
                                             .bindparams(q=phrase).columns(sa.column("rowid", sa.Integer))))
    conditions += filter_conditions(filters)
    relevance: sa.ColumnElement[float] = sa.literal(0.0)
    for t in terms:
        count = (sa.func.length(doc) - sa.func.length(sa.func.replace(doc, t, ""))) / float(len(t))
        relevance = relevance + count
    query = sa.select(*columns, relevance.label("relevance")).where(*conditions)
    order = [article_date().desc(), articles.c.id.desc()]
    if filters.sort == "relevance" and terms:
        order.insert(0, sa.desc("relevance"))
    return query.order_by(*order).limit(filters.limit)


def article_date() -> sa.ColumnElement[datetime]:
    """When an article appeared: published, else fetched."""
    return sa.func.coalesce(articles.c.published, articles.c.fetched)


def filter_conditions(filters: SearchFilters) -> list[sa.ColumnElement[bool]]:
    """The WHERE conditions of ``filters`` (everything but the words), for search and export alike."""
    when = article_date()
    conditions: list[sa.ColumnElement[bool]] = []
    if filters.languages:
        conditions.append(articles.c.language.in_(list(filters.languages)))
    if filters.feed_urls:
        conditions.append(articles.c.feed_url.in_(list(filters.feed_urls)))
    if filters.watchlist is not None:  # its level is that watchlist's own, not the article's best
        levels = [lv for lv in filters.levels if lv != "none"] or ["alert", "mention"]
        own = sa.case((matches.c.flagged.is_(True), "alert"), (matches.c.mentioned.is_(True), "mention"),
                      else_="none")
        conditions.append(sa.exists().where(matches.c.article_id == articles.c.id,
                                            matches.c.watchlist == filters.watchlist, own.in_(levels)))
    elif filters.levels:
        level = sa.case((articles.c.flagged.is_(True), "alert"), (articles.c.mentioned.is_(True), "mention"),
                        else_="none")
        conditions.append(level.in_(list(filters.levels)))
    if filters.story is not None:
        conditions.append(articles.c.story == filters.story)
    if filters.since is not None:
        conditions.append(when >= filters.since)
    if filters.until is not None:
        conditions.append(when < filters.until)
    return conditions


def passage(text: str, terms: Sequence[str], *, width: int = PASSAGE_CHARS) -> str:
    """About ``width`` characters of ``text`` around the first place a word of the query occurs
    (its beginning when none does); whitespace collapsed."""
    flat = " ".join(text.split())
    folded = fold(flat)
    hits = [i for i in (folded.find(t) for t in terms) if i >= 0]
    if not hits:
        return flat[:width] + ("…" if len(flat) > width else "")
    start = max(0, min(hits) - width // 3)
    end = min(len(flat), start + width)
    return ("…" if start else "") + flat[start:end] + ("…" if end < len(flat) else "")


def feed_activity(conn: sa.Connection, since: datetime) -> dict[str, tuple[int, int]]:
    """Per feed (every feed that carried the article): articles fetched since ``since``, and how
    many of them kept the feed's text because the page could not be fetched or extracted."""
    failed = sa.func.sum(sa.case((articles.c.errors != "[]", 1), else_=0))
    query = (sa.select(article_feeds.c.feed_url, sa.func.count(), failed)
             .join(articles, articles.c.id == article_feeds.c.article_id)
             .where(articles.c.fetched >= since).group_by(article_feeds.c.feed_url))
    return {str(url): (int(n), int(f or 0)) for url, n, f in conn.execute(query).all()}
