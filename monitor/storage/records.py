"""What the store hands back beside the models (stored articles, feed rows, digest records), and the
conversions between the models and table rows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from ..models import Article, FeedState, LanguageResult, TextSource, TranslationState, WatchlistMatch
from .search import search_document

_EPOCH = datetime.fromtimestamp(0, UTC)


@dataclass(frozen=True, slots=True)
class DigestRecord:
    """One digest that was sent (a row of ``digests``)."""

    id: int
    sent_at: datetime
    covers_until: datetime
    article_count: int
    recipients: tuple[str, ...]
    last_article_id: int


@dataclass(frozen=True, slots=True)
class FeedRow:
    """A feed's stored status, for `monitor feeds list`."""

    state: FeedState
    name: str
    articles: int
    flagged: int


@dataclass(frozen=True, slots=True)
class StoredArticle:
    id: int
    article: Article
    feeds: tuple[str, ...]
    story: int | None = None  # its story (the id of the story's first article); None before the story stage
    story_size: int = 1  # how many stored articles the story has

def article_values(article: Article, canon: str | None) -> dict[str, Any]:
    return dict(key=article.key, canonical_url=canon, url=article.url, feed_url=article.feed_url,
                feed_name=article.feed_name, title=article.title, text=article.text,
                text_source=article.text_source.value, published=article.published, fetched=article.fetched,
                language=article.language.code, language_confidence=article.language.confidence,
                language_method=article.language.method, flagged=article.flagged, mentioned=article.mentioned,
                title_en=article.title_en,
                text_en=article.text_en, translation=article.translation.value,
                errors=json.dumps(list(article.errors)),
                search_text=search_document(article.title, article.text, article.title_en, article.text_en))


def article_from_row(row: sa.RowMapping, found: tuple[WatchlistMatch, ...]) -> Article:
    return Article(
        key=row["key"],
        feed_url=row["feed_url"],
        feed_name=row["feed_name"],
        url=row["url"],
        title=row["title"],
        text=row["text"],
        text_source=TextSource(row["text_source"]),
        published=row["published"],
        fetched=row["fetched"] or _EPOCH,
        language=LanguageResult(code=row["language"], confidence=row["language_confidence"],
                                method=row["language_method"]),
        matches=found,
        title_en=row["title_en"],
        text_en=row["text_en"],
        translation=TranslationState(row["translation"]),
        errors=tuple(json.loads(row["errors"])),
        identity_url=row["url"] if row["canonical_url"] is not None else None,  # the link that identified it
    )


def feed_state_from_row(row: sa.RowMapping) -> FeedState:
    return FeedState(
        url=row["url"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        content_hash=row["content_hash"],
        last_fetched=row["last_fetched"],
        last_success=row["last_success"],
        last_error=row["last_error"],
        consecutive_failures=row["consecutive_failures"],
        next_attempt=row["next_attempt"],
        disabled_reason=row["disabled_reason"],
    )
