"""A failing feed backs off exponentially (capped), honours Retry-After, and 410 disables it, visibly."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.app import open_app
from monitor.config import load_config
from monitor.errors import FetchError, HTTPStatusError
from monitor.feedstate import BACKOFF_CAP, after_failure
from monitor.models import FeedState
from monitor.pipeline import FeedOutcome
from monitor.settings import FeedConfig
from tests.support.cli import run
from tests.support.httpserver import TestServer

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
FEED = FeedConfig(name="f", url="http://x.test/feed", interval=timedelta(minutes=30))


def test_backoff_doubles_from_the_interval_and_is_capped() -> None:
    state = FeedState(url=FEED.url)
    delays = []
    for _ in range(8):
        state = after_failure(state, FEED, FetchError("boom", url=FEED.url), NOW)
        assert state.next_attempt is not None
        delays.append(state.next_attempt - NOW)
    assert delays[:4] == [timedelta(minutes=30), timedelta(hours=1), timedelta(hours=2), timedelta(hours=4)]
    assert max(delays) == BACKOFF_CAP
    assert state.consecutive_failures == 8 and state.last_error == f"boom ({FEED.url})"


def test_retry_after_lengthens_the_wait_and_410_disables() -> None:
    state = after_failure(FeedState(url=FEED.url), FEED,
                                     HTTPStatusError(503, url=FEED.url, retry_after=7200), NOW)
    assert state.next_attempt == NOW + timedelta(hours=2)
    gone = after_failure(state, FEED, HTTPStatusError(410, url=FEED.url), NOW)
    assert gone.disabled_reason and "410" in gone.disabled_reason


def test_gone_feed_is_disabled_skipped_and_shown(server: TestServer, tmp_path: Path) -> None:
    server.add("/gone", b"", status=410)
    server.add("/busy", b"", status=503, headers={"Retry-After": "3600"})
    config_path = tmp_path / "feeds.yaml"
    config_path.write_text(f"feeds:\n  - name: Gone\n    url: {server.url('/gone')}\n"
                           f"  - name: Busy\n    url: {server.url('/busy')}\n")
    config = load_config(config_path)

    async def one_pass() -> dict[str, FeedOutcome]:
        async with open_app(config, clock=lambda: NOW) as app:
            summary = await app.pipeline().run_pass(config.enabled_feeds)
        return {o.feed.name: o for o in summary.outcomes}

    first = asyncio.run(one_pass())
    assert first["Gone"].status == "failed" and "HTTP 410" in (first["Gone"].error or "")
    second = asyncio.run(one_pass())
    assert second["Gone"].status == "disabled"
    assert len(server.requests_to("/gone")) == 1  # not asked again
    code, out = run(config_path, "feeds", "list")
    assert code == 0
    gone_block, busy_block = out.split("Busy  <")[0], out.split("Busy  <")[1]
    assert "status: disabled" in gone_block and "410 Gone" in gone_block
    # two failures: the backoff (2 x the 1h interval) outlasts the 1h Retry-After
    assert "FAILING x2" in busy_block and "next attempt: 2026-11-22 14:00 UTC" in busy_block
    assert "HTTP 503" in busy_block
