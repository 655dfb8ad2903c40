"""What each page shows, read from the store: pure apart from the store calls it is handed."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..digest import LANGUAGE_NAMES
from ..gist import Dictionary, Glossary
from ..marking import Segment, highlight, term_pattern, term_patterns
from ..settings import FeedConfig
from ..storage import FeedRow, SearchFilters, SearchResult, Store, StoredArticle
from ..storage.search import parse_query
from ..watchrules import Watchlist

__all__ = ["ArticlePage", "SearchPage", "StoryPage", "article_page", "feed_health", "search_page", "story_page"]

SEARCH_LIMIT = 50
COUNT_LIMIT = 1000  # results counted per language and feed


@dataclass(frozen=True, slots=True)
class SearchPage:
    query: str
    results: tuple[SearchResult, ...]
    total: int  # matches counted (up to COUNT_LIMIT)
    by_language: tuple[tuple[str, str, int], ...]  # code, name, count
    by_feed: tuple[tuple[str, int], ...]
    passages: tuple[tuple[Segment, ...], ...] = ()  # each result's passage, the query's words marked


def search_page(store: Store, query: str, filters: SearchFilters) -> SearchPage:
    counted = store.search(query, replace(filters, limit=COUNT_LIMIT))
    languages = Counter(r.language for r in counted)
    feeds = Counter(r.feed_name for r in counted)
    shown = tuple(counted[:filters.limit])
    words = [re.compile(re.escape(t), re.IGNORECASE) for t in parse_query(query)]
    return SearchPage(query=query, results=shown, total=len(counted),
                      by_language=tuple((c, LANGUAGE_NAMES.get(c, c), n) for c, n in languages.most_common()),
                      by_feed=tuple(feeds.most_common(20)),
                      passages=tuple(highlight(r.passage, words) for r in shown))


@dataclass(frozen=True, slots=True)
class StoryPage:
    story: int
    articles: tuple[SearchResult, ...]  # first published first
    languages: tuple[str, ...]  # in the order the story was told in them
    outlets: tuple[str, ...]

    @property
    def lead(self) -> SearchResult:
        return self.articles[0]


STORY_LIMIT = 200


def story_page(store: Store, story: int, feed_names: dict[str, str]) -> StoryPage | None:
    """The articles of one story, oldest first; None when the story has none."""
    found = store.search("", SearchFilters(story=story, sort="date", limit=STORY_LIMIT))
    if not found:
        return None
    ordered = tuple(sorted(found, key=lambda r: (r.published or r.fetched, r.id)))
    return StoryPage(story=story, articles=ordered, languages=tuple(dict.fromkeys(r.language for r in ordered)),
                     outlets=tuple(dict.fromkeys(feed_names.get(r.feed_url, r.feed_name) for r in ordered)))


@dataclass(frozen=True, slots=True)
class ArticlePage:
    stored: StoredArticle
    language_name: str
    paragraphs: tuple[tuple[Segment, ...], ...]  # the original, matched terms marked
    paragraphs_en: tuple[tuple[Segment, ...], ...]  # the English translation, English terms marked
    gist: str | None  # a dictionary gist of a Chinese title with no translation
    terms: tuple[str, ...]
    reasons: tuple[tuple[str, str, float, tuple[str, ...]], ...]  # watchlist, level, score, rules
    feeds: tuple[str, ...]  # every feed that carried it, by name
    story: StoryPage | None = None  # its story, when other articles tell it too


def article_page(stored: StoredArticle, watchlists: Sequence[Watchlist], feed_names: dict[str, str],
                 story: StoryPage | None = None, dictionary: Dictionary | None = None) -> ArticlePage:
    a = stored.article
    patterns = term_patterns(watchlists)
    hit_terms = list(dict.fromkeys(h.term for m in a.matches for h in m.hits))
    compiled = [patterns.get((m.watchlist, h.term)) or term_pattern(h.term) for m in a.matches for h in m.hits]
    english_terms = [ct.pattern for w in watchlists for g in w.groups for ct in g.terms
                     if ct.term.text.isascii() and ct.term.text.strip("*") in _words(hit_terms, w)]
    translated = bool(a.title_en and a.title_en.strip() != a.title.strip())
    chinese = a.language.code.startswith("zh")
    gist = Glossary(watchlists, dictionary).gist(a.title) if chinese and not translated else None
    return ArticlePage(
        stored=stored,
        language_name=LANGUAGE_NAMES.get(a.language.code, a.language.code),
        paragraphs=tuple(highlight(p, compiled) for p in _paragraphs(a.text)),
        paragraphs_en=tuple(highlight(p, english_terms) for p in _paragraphs(a.text_en or "")),
        gist=gist,
        terms=tuple(hit_terms),
        reasons=tuple((m.watchlist, m.level, m.score, tuple(r for r in m.reasons if not r.startswith("score")))
                      for m in a.matches),
        feeds=tuple(dict.fromkeys(feed_names.get(u, u) for u in (a.feed_url, *stored.feeds))),
        story=story if story is not None and len(story.articles) > 1 else None,
    )


def _words(terms: Sequence[str], watchlist: Watchlist) -> set[str]:
    """The English terms of the groups the matched terms belong to (shown marked in the translation)."""
    groups = [g for g in watchlist.groups if any(ct.term.text in terms for ct in g.terms)]
    return {ct.term.text.strip("*") for g in groups for ct in g.terms if ct.term.text.isascii()}


def _paragraphs(text: str) -> list[str]:
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n|\n", text) if p.strip()]


def feed_health(rows: Sequence[FeedRow], configured: Sequence[FeedConfig], recent: dict[str, int], days: int
                ) -> list[dict[str, object]]:
    """Each configured feed's health for the feeds page (one not polled yet says so), then the
    stored feeds no longer configured; ``recent`` holds their articles of the last ``days`` days."""
    by_url = {row.state.url: row for row in rows}
    out: list[dict[str, object]] = []
    for feed in configured:
        row = by_url.pop(feed.url, None)
        out.append(_health(row, feed.url, feed.name, recent, days) | {"configured": True,
                                                                      "enabled": feed.enabled})
    for url, row in by_url.items():
        out.append(_health(row, url, row.name, recent, days) | {"configured": False, "enabled": False})
    return out


def _health(row: FeedRow | None, url: str, name: str, recent: dict[str, int], days: int) -> dict[str, object]:
    s = row.state if row is not None else None
    return {"name": name, "url": url, "polled": s is not None,
            "last_success": s.last_success if s else None, "failures": s.consecutive_failures if s else 0,
            "last_error": s.last_error if s else None, "next_attempt": s.next_attempt if s else None,
            "disabled": s.disabled_reason if s else None, "articles": row.articles if row else 0,
            "flagged": row.flagged if row else 0, "per_day": round(recent.get(url, 0) / days, 1)}
