"""What a pass tells the user and scripts: a feed's redirect chain checked hop by hop, exit codes
a script can trust, one log line per feed pass, a missing model noticed once a day."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.app import build_mailer, open_app
from monitor.config import load_config
from monitor.scheduler import Daemon
from monitor.translating import DailyNotice
from tests.conftest import REPO
from tests.support import seedsite
from tests.support.httpserver import TestServer
from tests.support.site import feed_of_links


def _monitor(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def _feeds_config(tmp_path: Path, urls: list[str], extra: str = "") -> Path:
    config = tmp_path / "feeds.yaml"
    body = "".join(f"  - name: feed {i}\n    url: {url}\n" for i, url in enumerate(urls))
    config.write_text(f"{extra}translation:\n  enabled: false\nfeeds:\n{body}")
    return config


# -- a configured feed's redirects ---------------------------------------------------------------


def test_a_feed_redirecting_to_another_private_host_is_refused(server: TestServer, tmp_path: Path) -> None:
    """The configured feed's own host is trusted; a redirect to another loopback name is not."""
    ps = seedsite.dagens_ps()
    server.add("/real-feed", seedsite.rss_feed("PS", "sv", [(ps, server.url("/nowhere"))]).encode(),
               "application/rss+xml")
    elsewhere = f"http://localhost:{server.port}/real-feed"  # another host name for a loopback address
    server.add("/moved", b"", status=301, headers={"Location": elsewhere})
    server.add("/same-host-move", b"", status=301, headers={"Location": server.url("/real-feed")})
    config = _feeds_config(tmp_path, [server.url("/moved"), server.url("/same-host-move")])

    out = _monitor(config, "fetch")
    assert out.returncode == 0, out.stderr  # one feed ran
    assert "FAILED: feed 0" in out.stdout and "refusing private/loopback address" in out.stdout
    assert f"redirected from {server.url('/moved')}" in out.stdout
    assert "1 ok" in out.stdout  # the redirect within the feed's own host is followed
    assert len(server.requests_to("/real-feed")) == 1  # the refused hop was never requested

    allowed = _feeds_config(tmp_path, [server.url("/moved")], "allow_private_networks: true\n")
    out = _monitor(allowed, "fetch")
    assert out.returncode == 0 and "1 ok" in out.stdout, out.stdout + out.stderr


# -- exit codes ------------------------------------------------------------------------------------


def test_fetch_exits_3_when_no_feed_could_be_fetched(tmp_path: Path) -> None:
    config = _feeds_config(tmp_path, ["http://127.0.0.1:9/feed", "http://127.0.0.1:9/other"])
    out = _monitor(config, "fetch")
    assert out.returncode == 3
    [line] = out.stderr.strip().splitlines()
    assert line.startswith("error: none of the 2 enabled feed(s) could be fetched (first: feed 0:"), line
    assert "connection failed" in line


def test_fetch_exits_0_when_some_feeds_failed_and_the_rest_ran(server: TestServer, tmp_path: Path) -> None:
    ps = seedsite.dagens_ps()
    page = server.add("/ps", seedsite.article_page(ps, "PS").encode(), "text/html; charset=utf-8")
    feed = server.add("/feed", seedsite.rss_feed("PS", "sv", [(ps, page)]).encode(), "application/rss+xml")
    config = _feeds_config(tmp_path, [feed, "http://127.0.0.1:9/feed"])
    out = _monitor(config, "fetch")
    assert out.returncode == 0, out.stderr
    assert "1 failed, 1 ok" in out.stdout and out.stderr == ""


# -- logs: one line per feed pass, a missing model once a day ----------------------------------------


def test_a_feed_pass_logs_one_summary_line_not_one_per_failed_page(
    server: TestServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    links = [server.url(f"/gone/{i}") for i in range(25)]  # 25 pages that answer 404
    server.add("/feed", feed_of_links(server, links), "application/rss+xml")
    config = load_config(_feeds_config(tmp_path, [server.url("/feed")]))

    async def poll() -> None:
        async with open_app(config) as app:
            daemon = Daemon(config, store=app.store, clock=app.clock,
                            make_pipeline=lambda c: replace(app, config=c).pipeline(),
                            make_mailer=lambda c: build_mailer(c, None))
            outcome = await daemon.poll_feed(server.url("/feed"))
            assert outcome is not None and outcome.new_articles == 25 and outcome.page_failures == 25

    caplog.set_level(logging.DEBUG, logger="monitor")
    asyncio.run(poll())
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert len(lines) == 1, lines
    assert lines[0].startswith("feed feed 0: ok, 25 entries, 25 new, ")
    assert "25 page(s) not used, the feed's text kept (page: HTTP 404" in lines[0]
    assert lines[0].count("HTTP 404") == 3 and lines[0].endswith("; ...)")  # the first three reasons
    assert sum("/gone/" in r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG) == 25


def test_a_daily_notice_says_yes_once_per_key_per_day() -> None:
    now = [datetime(2026, 12, 1, 23, 0, tzinfo=UTC)]
    notice = DailyNotice(lambda: now[0])
    assert notice.first_today("model:sv") and notice.first_today("model:zh-Hant")
    assert not notice.first_today("model:sv")
    now[0] += timedelta(minutes=59)
    assert not notice.first_today("model:sv")
    now[0] += timedelta(minutes=2)  # the next day (UTC)
    assert notice.first_today("model:sv") and not notice.first_today("model:sv")
