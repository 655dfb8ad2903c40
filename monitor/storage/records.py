"""What the store hands back beside the models: stored articles, feed rows, digest records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..models import Article, FeedState


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
