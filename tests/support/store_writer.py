"""A separate process that stores articles: ``python -m tests.support.store_writer DATABASE FEED N``.

Stores articles k0..k{N-1} (the same keys in every process, so processes race on them), one
transaction each, printing each id (or "dup") as it goes; used to race writers against each
other and against a database restart.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from monitor.models import Article, Hit, LanguageResult, TextSource, WatchlistMatch
from monitor.storage import Store

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def article(i: int, feed: str) -> Article:
    hit = Hit(watchlist="chips", term="export control*", field="text", snippet=f"export controls {i}")
    match = WatchlistMatch(watchlist="chips", flagged=True, score=3.0, hits=(hit, hit), reasons=("r",))
    url = f"https://example.org/a/{i}"
    return Article(key=f"k{i}", feed_url=feed, feed_name="F", url=url, title=f"Article {i}", text="Export controls.",
                   text_source=TextSource.PAGE, published=NOW, fetched=NOW,
                   language=LanguageResult("en", 0.99, "langdetect"), matches=(match,), identity_url=url)


def main() -> None:
    database, feed, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with Store(database) as store:
        for i in range(count):
            stored = store.save_article(article(i, feed))
            print("dup" if stored is None else stored, flush=True)


if __name__ == "__main__":
    main()
