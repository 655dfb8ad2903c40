"""The pipeline's two halves on their own: the pure decide step (`build_article`) and one feed pass
driven through `httpx.MockTransport` (the network seam the composition root injects)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from monitor.app import build_detector, open_app
from monitor.articles import build_article
from monitor.config import Config, load_config
from monitor.cpupool import build_in_pool
from monitor.models import Article, Extracted, FeedEntry, TextSource, TranslationState
from monitor.settings import FeedConfig
from monitor.watchrules import default_watchlists
from tests.support import seedsite
from tests.support.httpserver import TestServer
from tests.support.site import write_config

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
FEED = FeedConfig(name="Dagens PS", url="https://news.example/feed", language="sv")


def _entry(**kw: object) -> FeedEntry:
    ps = seedsite.dagens_ps()
    base: dict[str, object] = {"feed_url": FEED.url, "key": "guid:ps-1", "link": "https://news.example/ps",
                               "title": ps.title, "summary": ps.summary, "content": "", "published": NOW,
                               "identity_url": "https://news.example/ps"}
    base.update(kw)
    return FeedEntry(**base)  # type: ignore[arg-type]


def test_build_article_uses_the_page_detects_swedish_and_flags_in_the_original() -> None:
    ps = seedsite.dagens_ps()
    page_text = " ".join(p for p in seedsite.article_page(ps, "PS").split("<p>")[1:])  # plenty of real text
    page = Extracted(text=page_text, source=TextSource.PAGE, title=ps.title)
    article = build_article(_entry(), FEED, page, feed_language="sv-SE", detector=build_detector(),
                            watchlists=default_watchlists(), now=NOW, min_chars=200)
    assert article.text_source is TextSource.PAGE and article.language.code == "sv"
    assert article.flagged and article.translation is TranslationState.PENDING
    assert article.fetched == NOW and article.identity_url == "https://news.example/ps"


def test_build_article_falls_back_to_the_feed_text_and_keeps_the_page_error() -> None:
    article = build_article(_entry(), FEED, None, feed_language=None, detector=build_detector(),
                            watchlists=default_watchlists(), now=NOW, min_chars=200,
                            errors=("page: HTTP 404 (https://news.example/ps)",))
    assert article.text_source is TextSource.FEED_SUMMARY
    assert article.errors == ("page: HTTP 404 (https://news.example/ps)",)


def test_english_needs_no_translation() -> None:
    entry = _entry(title="US tightens export controls on Nvidia AI chips to China",
                   summary="The Commerce Department's BIS added rules on H20 chips and the Entity List.")
    article = build_article(entry, FEED, None, feed_language="en", detector=build_detector(),
                            watchlists=default_watchlists(), now=NOW, min_chars=200)
    assert article.language.code == "en" and article.translation is TranslationState.NOT_NEEDED


def test_one_feed_pass_through_a_mock_transport(tmp_path: Path) -> None:
    ps = seedsite.dagens_ps()
    feed_xml = seedsite.rss_feed("Dagens PS", "sv-SE", [(ps, "https://news.example/ps")]).encode()
    page = seedsite.article_page(ps, "Dagens PS").encode()
    seen: list[str] = []

    def respond(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.url.path} {request.headers.get('if-none-match', '-')}")
        if request.url.path == "/feed":
            if request.headers.get("if-none-match") == '"v1"':
                return httpx.Response(304)
            return httpx.Response(200, content=feed_xml, headers={"content-type": "application/rss+xml",
                                                                  "etag": '"v1"'})
        if request.url.path == "/ps":
            return httpx.Response(200, content=page, headers={"content-type": "text/html; charset=utf-8"})
        return httpx.Response(404)

    config_path = tmp_path / "feeds.yaml"
    config_path.write_text(f"translation:\n  enabled: false\nfeeds:\n  - name: Dagens PS\n    url: {FEED.url}\n")
    config = load_config(config_path)

    async def two_passes() -> tuple[str, int, str]:
        async with open_app(config, transport=httpx.MockTransport(respond), clock=lambda: NOW) as app:
            first = await app.pipeline().run_pass(config.enabled_feeds)
            second = await app.pipeline().run_pass(config.enabled_feeds)
            [stored] = list(app.store.articles())
            assert ps.last_sentence in stored.article.text and stored.article.flagged
            return first.outcomes[0].status, first.new_articles, second.outcomes[0].status

    assert asyncio.run(two_passes()) == ("ok", 1, "not-modified")
    assert seen == ["/feed -", "/ps -", '/feed "v1"']


def test_pages_in_a_process_pool_come_out_as_on_one_thread(site: TestServer, tmp_path: Path) -> None:
    """`workers: 2`: pages are extracted, detected and matched in pool processes (build_in_pool runs
    only there: in this process it refuses), and the stored articles are the same as with `workers: 1`."""
    with pytest.raises(RuntimeError, match="only in a pool process"):
        build_in_pool(_entry(), FEED, None, None, NOW, 200, ())
    stored = {}
    for workers in (1, 2):
        (tmp_path / f"w{workers}").mkdir()
        config = load_config(write_config(tmp_path / f"w{workers}", site,
                                          f"workers: {workers}\ntranslation: {{enabled: false}}\n"))

        async def one_pass(config: Config = config) -> list[Article]:
            async with open_app(config, clock=lambda: NOW) as app:
                assert (app.pool is None) == (config.workers == 1)
                summary = await app.pipeline().run_pass(config.enabled_feeds)
                assert summary.new_articles == 3
                return [s.article for s in app.store.articles()]
        stored[workers] = sorted(asyncio.run(one_pass()), key=lambda a: a.key)
    assert stored[1] == stored[2]
    assert sum(a.flagged for a in stored[2]) == 2
