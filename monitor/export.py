"""Stored articles as plain records, and writers for JSONL and CSV."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import Any, TextIO

from .storage import StoredArticle

FIELDS = ("id", "feed", "feeds", "url", "title", "published", "fetched", "language", "language_confidence",
          "text", "text_source", "flagged", "hits", "watchlists", "title_en", "text_en", "translation", "errors")


def article_record(stored: StoredArticle) -> dict[str, Any]:
    a = stored.article
    return {
        "id": stored.id,
        "feed": a.feed_name,
        "feeds": list(stored.feeds),
        "url": a.url,
        "title": a.title,
        "published": a.published.isoformat() if a.published else None,
        "fetched": a.fetched.isoformat(),
        "language": a.language.code,
        "language_confidence": round(a.language.confidence, 4),
        "text": a.text,
        "text_source": a.text_source.value,
        "flagged": a.flagged,
        "hits": [{"watchlist": h.watchlist, "term": h.term, "field": h.field, "snippet": h.snippet}
                 for h in a.hits],
        "watchlists": [{"name": m.watchlist, "flagged": m.flagged, "score": m.score, "reasons": list(m.reasons)}
                       for m in a.matches],
        "title_en": a.title_en,
        "text_en": a.text_en,
        "translation": a.translation.value,
        "errors": list(a.errors),  # why the page was not used, when the feed's text was
    }


def write_jsonl(articles: Iterable[StoredArticle], out: TextIO) -> int:
    n = 0
    for stored in articles:
        out.write(json.dumps(article_record(stored), ensure_ascii=False) + "\n")
        n += 1
    return n


def write_csv(articles: Iterable[StoredArticle], out: TextIO) -> int:
    writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    n = 0
    for stored in articles:
        record = article_record(stored)
        for key in ("hits", "watchlists", "feeds", "errors"):
            record[key] = json.dumps(record[key], ensure_ascii=False)
        writer.writerow(record)
        n += 1
    return n
