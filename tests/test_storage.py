"""The store on both databases (a real SQLite file, a real PostgreSQL server): articles round-trip
whole, one article however many feeds carry it,
feed state, the translation queue, digests and the "since the last digest" window, reopening."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from monitor.errors import StorageError
from monitor.models import (
    Article,
    FeedState,
    Hit,
    LanguageResult,
    TextSource,
    TranslationState,
    WatchlistMatch,
)
from monitor.storage import Store

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
HIT = Hit(watchlist="chips", term="exportkontroll*", field="text", snippet="…nya exportkontroller på AI-chip…")


def article(key: str, *, url: str | None = "https://www.example.se/a/1/?utm_source=rss", flagged: bool = True,
            feed: str = "https://example.se/feed", language: str = "sv") -> Article:
    match = WatchlistMatch(watchlist="chips", flagged=flagged, score=3.0 if flagged else 0.5,
                           hits=(HIT,) if flagged else (), reasons=("rule export-controls: 3.0",) if flagged else ())
    return Article(key=key, feed_url=feed, feed_name="Example", url=url, title="Smugglade AI-chip",
                   text="Text med exportkontroller.", text_source=TextSource.PAGE, published=NOW - timedelta(hours=2),
                   fetched=NOW, language=LanguageResult(language, 0.99, "langdetect"), matches=(match,),
                   errors=("page: HTTP 404 (https://example.se/a/1)",), identity_url=url)


@pytest.fixture
def store(database: str) -> Iterator[Store]:
    with Store(database) as opened:
        yield opened


def test_an_article_round_trips_whole_and_survives_reopening(store: Store, database: str) -> None:
    original = article("guid:https://example.se/a/1")
    article_id = store.save_article(original)
    assert article_id is not None
    store.close()
    with Store(database) as again:
        stored = again.article(article_id)
    assert stored.article == original
    assert stored.feeds == ("https://example.se/feed",)


def test_the_same_article_from_another_feed_is_stored_once_and_linked(store: Store) -> None:
    first = store.save_article(article("guid:https://example.se/a/1"))
    # another feed, another key, the same link written differently (http, no www, no tracking, no slash)
    again = store.save_article(article("guid:other#7", url="http://example.se/a/1", feed="https://agg.example/rss"))
    assert first is not None and again is None
    assert store.count_articles() == 1
    assert store.article(first).feeds == ("https://example.se/feed", "https://agg.example/rss")
    # link_existing: a known entry of a feed is recognised before its page is fetched again
    assert store.link_existing("guid:other#7", None, "https://agg.example/rss") is True
    assert store.link_existing("guid:new", "https://example.se/a/2", "https://agg.example/rss") is False


def test_articles_without_an_identifying_link_are_kept_apart(store: Store) -> None:
    a = store.save_article(article("url:a", url=None))
    b = store.save_article(article("url:b", url=None))
    assert a is not None and b is not None and a != b


def test_feed_state_round_trip_and_failing_feeds(store: Store) -> None:
    url = "https://example.se/feed"
    assert store.feed_state(url) == FeedState(url=url)
    failing = FeedState(url=url, etag='"v1"', last_modified="Mon, 01 Dec 2026 10:00:00 GMT", content_hash="ab",
                        last_fetched=NOW, last_success=NOW - timedelta(days=1), last_error="HTTP 500",
                        consecutive_failures=2, next_attempt=NOW + timedelta(hours=2))
    store.save_feed_state(failing, "Example")
    assert store.feed_state(url) == failing
    [row] = store.failing_feeds()
    assert row.name == "Example" and row.state == failing
    store.save_feed_state(replace(failing, consecutive_failures=0, last_error=None), "Example")
    assert store.failing_feeds() == []


def test_translation_queue_unavailable_and_done(store: Store) -> None:
    sv = store.save_article(article("k1"))
    zh = store.save_article(article("k2", url="https://example.se/a/2", language="zh-Hant"))
    assert sv is not None and zh is not None
    assert store.translation_queue() == {"sv": [sv], "zh-Hant": [zh]}
    assert store.mark_untranslatable("sv") == 1
    assert store.article(sv).article.translation is TranslationState.UNAVAILABLE
    assert store.translation_queue() == {"sv": [sv], "zh-Hant": [zh]}  # still waits for a model
    store.set_translation(sv, TranslationState.DONE, "Smuggled AI chips", "Text with export controls.")
    done = store.article(sv).article
    assert (done.translation, done.title_en, done.text_en) == (TranslationState.DONE, "Smuggled AI chips",
                                                              "Text with export controls.")
    assert store.translation_queue() == {"zh-Hant": [zh]}


def test_flagged_after_the_last_digest(store: Store) -> None:
    assert store.last_digest() is None
    one = store.save_article(article("k1"))
    store.save_article(article("k2", url="https://example.se/a/2", flagged=False))
    upto, flagged = store.flagged_after(0)
    assert [s.id for s in flagged] == [one] and upto == 2
    store.record_digest(sent_at=NOW, covers_until=NOW, article_count=1, recipients=["desk@example.org"],
                        last_article_id=upto)
    last = store.last_digest()
    assert last is not None and (last.sent_at, last.last_article_id, last.recipients) == (NOW, 2, ("desk@example.org",))
    three = store.save_article(article("k3", url="https://example.se/a/3"))
    assert store.flagged_after(last.last_article_id) == (3, [store.article(three or 0)])


def test_a_failed_transaction_leaves_nothing_behind(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction() as db:
        db.exec_driver_sql("INSERT INTO feeds (url, name) VALUES ('https://x/feed', 'X')")
        raise RuntimeError("boom")
    assert store.feed_rows() == []
    with pytest.raises(StorageError, match="no article with id 99"):
        store.article(99)
