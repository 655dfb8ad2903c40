"""Frozen, typed domain objects shared by every stage."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class TextSource(StrEnum):
    """Where an article's stored text came from."""

    PAGE = "page"  # extracted from the article page with trafilatura
    FEED_CONTENT = "feed-content"  # the feed entry's full content
    FEED_SUMMARY = "feed-summary"  # the feed entry's summary/description
    NONE = "none"  # nothing usable; title only


class TranslationState(StrEnum):
    DONE = "done"
    PENDING = "pending"
    UNAVAILABLE = "unavailable"
    NOT_NEEDED = "not-needed"


@dataclass(frozen=True, slots=True)
class FeedState:
    """What the store remembers about a feed between passes."""

    url: str
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    last_fetched: datetime | None = None
    last_success: datetime | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    next_attempt: datetime | None = None
    disabled_reason: str | None = None


@dataclass(frozen=True, slots=True)
class FetchedResponse:
    """A completed HTTP exchange: decoded bytes plus what the caller needs."""

    url: str  # final URL after redirects
    status: int
    content: bytes
    headers: dict[str, str]
    elapsed: float = 0.0

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One entry parsed from a feed, before its page is fetched."""

    feed_url: str
    key: str  # stable identity: guid, else canonical link, else a hash
    link: str | None
    title: str
    summary: str  # plain text
    content: str  # plain text of the richest content block, may be ""
    published: datetime | None
    author: str | None = None
    # the link as the article's identity across feeds; None when this feed gives the same link to
    # several different entries (a homepage, a liveblog), where it names none of them
    identity_url: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    url: str
    title: str
    language: str | None  # as declared by the feed
    entries: tuple[FeedEntry, ...]
    bozo: str | None = None  # feedparser's complaint, when it had one
    problems: tuple[str, ...] = ()  # entries skipped, with the reason


@dataclass(frozen=True, slots=True)
class Extracted:
    """The result of the extraction stage for one article."""

    text: str
    source: TextSource
    title: str | None = None  # the page's own title, when found
    canonical_url: str | None = None
    language: str | None = None  # the page's declared language (html lang)


@dataclass(frozen=True, slots=True)
class LanguageResult:
    code: str  # en, sv, zh-Hans, zh-Hant, or another ISO 639-1 code; "und" when unknown
    confidence: float
    method: str  # how it was decided, for debugging ("langdetect", "script", "hint", ...)


@dataclass(frozen=True, slots=True)
class Hit:
    watchlist: str
    term: str
    field: str  # "title" or "text"
    snippet: str


@dataclass(frozen=True, slots=True)
class WatchlistMatch:
    """The verdict of one watchlist on one article."""

    watchlist: str
    flagged: bool  # an alert: the score reached the watchlist's threshold and nothing vetoed it
    score: float
    hits: tuple[Hit, ...]
    reasons: tuple[str, ...] = ()  # which rules fired, human readable
    mentioned: bool = False  # not an alert, but the score reached the watchlist's mention threshold

    @property
    def level(self) -> str:
        """``alert``, ``mention`` or ``none``."""
        return "alert" if self.flagged else "mention" if self.mentioned else "none"


@dataclass(frozen=True, slots=True)
class Article:
    """An article ready to be stored."""

    key: str
    feed_url: str
    feed_name: str
    url: str | None
    title: str
    text: str
    text_source: TextSource
    published: datetime | None
    fetched: datetime
    language: LanguageResult
    matches: tuple[WatchlistMatch, ...] = ()
    title_en: str | None = None
    text_en: str | None = None
    translation: TranslationState = TranslationState.PENDING
    errors: tuple[str, ...] = field(default=())  # non-fatal problems met on the way
    identity_url: str | None = None  # see FeedEntry.identity_url

    @property
    def flagged(self) -> bool:
        return any(m.flagged for m in self.matches)

    @property
    def mentioned(self) -> bool:
        """Not an alert for any watchlist, but a mention for at least one."""
        return not self.flagged and any(m.mentioned for m in self.matches)

    @property
    def hits(self) -> tuple[Hit, ...]:
        """The hits of the watchlists that flagged it or, when none did, that mention it."""
        if self.flagged:
            return tuple(h for m in self.matches if m.flagged for h in m.hits)
        return tuple(h for m in self.matches if m.mentioned for h in m.hits)
