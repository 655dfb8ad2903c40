"""The pure decide step: one feed entry and its page (if one was fetched) to an Article: which
text to keep, its language, its watchlist matches. No I/O; ``now`` is passed in."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from .extraction import choose_text
from .language import LanguageDetector
from .models import Article, Extracted, FeedEntry, TranslationState
from .settings import FeedConfig
from .watchlists import match
from .watchrules import Watchlist


def build_article(
    entry: FeedEntry,
    feed: FeedConfig,
    page: Extracted | None,
    *,
    feed_language: str | None,
    detector: LanguageDetector,
    watchlists: Sequence[Watchlist],
    now: datetime,
    min_chars: int,
    errors: tuple[str, ...] = (),
) -> Article:
    """Everything about one article that needs no I/O: text choice, language, watchlist matches."""
    chosen = choose_text(page, entry, min_chars)
    title = entry.title or (chosen.title or "") or (page.title if page and page.title else "")
    hint = feed.language or feed_language or (page.language if page else None)
    language = detector.detect(title, chosen.text, hint)
    matches = match(watchlists, title, chosen.text, language.code)
    translation = TranslationState.NOT_NEEDED if language.code in ("en", "und") else TranslationState.PENDING
    return Article(
        key=entry.key,
        feed_url=feed.url,
        feed_name=feed.name,
        url=entry.link,
        title=title,
        text=chosen.text,
        text_source=chosen.source,
        published=entry.published,
        fetched=now,
        language=language,
        matches=matches,
        translation=translation,
        errors=errors,
        identity_url=entry.identity_url,
    )
