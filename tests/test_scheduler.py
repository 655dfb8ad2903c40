"""The daemon: pure schedule decisions with an injected clock (DST days in Europe/Stockholm
included), jobs registered from the config, reload, the digest job against a real SMTP
server, and a real run against the loopback feed server stopped by SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time as systime
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.job import Job
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor.app import App, build_mailer, open_app
from monitor.config import Config, load_config
from monitor.feedstate import feed_due
from monitor.models import FeedState
from monitor.pipeline import FeedOutcome
from monitor.scheduler import (
    CONFIG_WATCH_JOB,
    DIGEST_JOB,
    DIGEST_RETRY_JOB,
    DIGEST_WATCH_JOB,
    FEED_JOB,
    Daemon,
    digest_due,
    first_poll,
    jitter_for,
    last_digest_slot,
    retry_delay,
)
from monitor.settings import FeedConfig
from monitor.storage import Store
from tests.support import seedsite
from tests.support.digestsite import copy_fetched
from tests.support.httpserver import TestServer
from tests.support.smtp import digest_section, free_port, smtp_server

STHLM = "Europe/Stockholm"
Z = UTC


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=Z)


# -- digest_due: a table, with both DST change days of 2025 in Stockholm --------------------------
# 2025-03-30: 02:00 CET -> 03:00 CEST (07:00 local is 05:00Z; the day before it was 06:00Z)
# 2025-10-26: 03:00 CEST -> 02:00 CET (07:00 local is 06:00Z; the day before it was 05:00Z)

DUE_CASES = [
    # last sent, now, digest time, due?, why
    (None, utc(2025, 3, 29, 3), time(7), True, "never sent (the daemon passes its start time instead)"),
    (utc(2025, 3, 28, 6, 0, 5), utc(2025, 3, 29, 5, 59), time(7), False, "06:59 CET: not yet"),
    (utc(2025, 3, 28, 6, 0, 5), utc(2025, 3, 29, 6, 0), time(7), True, "07:00 CET: due"),
    (utc(2025, 3, 29, 6, 0, 5), utc(2025, 3, 29, 12), time(7), False, "sent today already"),
    (utc(2025, 3, 29, 6, 0, 5), utc(2025, 3, 30, 4, 59), time(7), False, "spring DST: 06:59 CEST, not yet"),
    (utc(2025, 3, 29, 6, 0, 5), utc(2025, 3, 30, 5, 0, 30), time(7), True,
     "spring DST: 07:00 CEST, due though only 23 h have passed"),
    (utc(2025, 10, 25, 5, 0, 5), utc(2025, 10, 26, 5, 30), time(7), False,
     "autumn DST: 06:30 CET, not due though 24 h have passed"),
    (utc(2025, 10, 25, 5, 0, 5), utc(2025, 10, 26, 6, 0), time(7), True, "autumn DST: 07:00 CET, due"),
    (utc(2025, 3, 20, 6), utc(2025, 3, 25, 12), time(7), True, "machine off for days: due, once"),
    (utc(2025, 3, 25, 12, 0, 1), utc(2025, 3, 25, 12, 30), time(7), False, "...and sent: not due again"),
    (utc(2025, 3, 27, 6, 0, 5), utc(2025, 3, 29, 5), time(7), True, "yesterday's missed, before today's time"),
    (utc(2025, 3, 29, 1, 30, 5), utc(2025, 3, 30, 1, 29), time(2, 30), False,
     "02:30 does not exist on 30 March: 03:29 CEST is before its slot"),
    (utc(2025, 3, 29, 1, 30, 5), utc(2025, 3, 30, 1, 30), time(2, 30), True, "...03:30 CEST is the slot"),
    (utc(2025, 3, 29, 1, 30, 5), datetime(2025, 3, 30, 2, 30, tzinfo=ZoneInfo(STHLM)), time(2, 30), True,
     "...also given as the cron trigger's wall time '02:30+01:00'"),
    (utc(2025, 10, 25, 0, 30, 5), utc(2025, 10, 26, 0, 30), time(2, 30), True, "02:30 CEST, first of two"),
    (utc(2025, 10, 26, 0, 30, 5), utc(2025, 10, 26, 1, 30), time(2, 30), False,
     "02:30 CET, the second 02:30: already sent"),
]


@pytest.mark.parametrize(("last", "now", "at", "due", "why"), DUE_CASES, ids=[c[4] for c in DUE_CASES])
def test_digest_due(last: datetime | None, now: datetime, at: time, due: bool, why: str) -> None:
    assert digest_due(last, now, at, STHLM) is due, why


@pytest.mark.parametrize("at", [time(7), time(2, 30), time(0, 0), time(23, 59)])
def test_one_digest_a_day_for_a_year_with_the_cron_trigger_and_the_watch(at: time) -> None:
    """Walk APScheduler's own CronTrigger through 2025 (fire times are aware datetimes in the zone,
    such as the non-existent '2025-03-30 02:30+01:00', i.e. 03:30 CEST). Every day gets exactly one
    digest: the trigger fires twice at an ambiguous time (02:30 on 26 October) and the guard drops
    the second; where the trigger skips a day (APScheduler 3.11 skips 2025-03-31 for 00:00 in
    Stockholm) the daemon's minute watch finds the digest due and sends it."""
    trigger = CronTrigger(hour=at.hour, minute=at.minute, timezone=ZoneInfo(STHLM))
    fire = trigger.get_next_fire_time(None, utc(2025, 1, 1))
    last_sent: datetime | None = None
    by_cron: list[str] = []
    by_watch: list[str] = []
    doubles = 0
    while fire is not None and fire < utc(2026, 1, 1):
        before = fire - timedelta(seconds=1)
        if last_sent is not None and digest_due(last_sent, before, at, STHLM):  # the watch's business
            slot = last_digest_slot(before, at, STHLM)
            by_watch.append(slot.date().isoformat())
            last_sent = slot + timedelta(seconds=5)
        if last_sent is None or digest_due(last_sent, fire, at, STHLM):
            by_cron.append(fire.astimezone(ZoneInfo(STHLM)).date().isoformat())
            last_sent = fire + timedelta(seconds=5)
        else:
            doubles += 1
        fire = trigger.get_next_fire_time(fire, fire)
    days = by_cron + by_watch
    assert len(days) == 365 and len(set(days)) == 365
    assert len(by_watch) <= 1, by_watch
    assert doubles == (1 if at == time(2, 30) else 0)


def test_last_slot_and_retry_delay() -> None:
    assert last_digest_slot(utc(2025, 3, 30, 5, 0), time(7), STHLM) == utc(2025, 3, 30, 5, 0)
    assert last_digest_slot(utc(2025, 3, 30, 4, 59), time(7), STHLM) == utc(2025, 3, 29, 6, 0)
    assert [retry_delay(n).total_seconds() / 60 for n in (1, 2, 3, 4, 5, 50)] == [5, 10, 20, 40, 60, 60]


# -- feeds: due, backoff, first poll, jitter ----------------------------------------------------

NOW = utc(2025, 6, 1, 12)
URL = "https://example.org/feed"
FEED_CASES = [
    (FeedState(url=URL), True, "never fetched"),
    (FeedState(url=URL, next_attempt=NOW - timedelta(minutes=1)), True, "next attempt passed"),
    (FeedState(url=URL, next_attempt=NOW + timedelta(minutes=10)), True, "within jitter slack of the grid"),
    (FeedState(url=URL, next_attempt=NOW + timedelta(minutes=50), consecutive_failures=2), False, "backoff"),
    (FeedState(url=URL, disabled_reason="HTTP 410 Gone"), False, "disabled after an error"),
]


@pytest.mark.parametrize(("state", "due", "why"), FEED_CASES, ids=[c[2] for c in FEED_CASES])
def test_feed_due(state: FeedState, due: bool, why: str) -> None:
    decision = feed_due(state, NOW, timedelta(minutes=30))
    assert decision.due is due, why
    if state.disabled_reason:
        assert "HTTP 410" in decision.reason
    if state.consecutive_failures:
        assert "backing off after 2 failure(s)" in decision.reason


def test_first_poll_and_jitter() -> None:
    later = NOW + timedelta(hours=3)
    assert first_poll(FeedState(url=URL, next_attempt=later), NOW, timedelta(hours=1)) == later
    start = first_poll(FeedState(url=URL), NOW, timedelta(hours=1))
    assert NOW <= start < NOW + timedelta(seconds=10)
    assert start == first_poll(FeedState(url=URL), NOW, timedelta(hours=1))  # stable per URL
    others = {first_poll(FeedState(url=f"{URL}/{i}"), NOW, timedelta(hours=1)) for i in range(20)}
    assert len(others) > 10  # spread, not all at once
    assert [jitter_for(timedelta(minutes=m)) for m in (1, 30, 60, 24 * 60)] == [3, 90, 180, 300]


# -- the daemon, built from a config ------------------------------------------------------------


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Recorder:
    """Our FeedProcessor seam, recording which feeds the daemon asked for."""

    calls: list[str] = field(default_factory=list)

    async def process_feed(self, feed: FeedConfig) -> FeedOutcome:
        self.calls.append(feed.url)
        return FeedOutcome(feed=feed, status="ok")


CONFIG = """
database: data/monitor.sqlite3
feeds:
  - name: A
    url: https://a.example/feed
    interval: 15m
  - name: B
    url: https://b.example/feed
    interval: 2h
  - name: Paused
    url: https://off.example/feed
    enabled: false
  - name: C
    url: https://c.example/feed
digest:
  time: "07:00"
  timezone: Europe/Stockholm
  to: [desk@example.org]
"""


def make_daemon(config_path: Path, clock: Clock, recorder: Recorder | None = None) -> tuple[Daemon, Store]:
    config = load_config(config_path)
    store = Store(config.database)
    rec = recorder or Recorder()
    daemon = Daemon(config, store=store, clock=clock, make_pipeline=lambda c: rec,
                    make_mailer=lambda c: build_mailer(c, None), scheduler=AsyncIOScheduler(timezone="UTC"))
    return daemon, store


def jobs(daemon: Daemon) -> dict[str, Job]:
    return {j.id: j for j in daemon.scheduler.get_jobs()}


def test_jobs_and_triggers_from_config(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(CONFIG)
    clock = Clock(NOW)
    daemon, store = make_daemon(path, clock)
    backoff = NOW + timedelta(hours=5)
    store.save_feed_state(FeedState(url="https://b.example/feed", consecutive_failures=3, next_attempt=backoff), "B")
    daemon.schedule()
    found = {j.id: j for j in daemon.scheduler.get_jobs()}
    feed_ids = sorted(i for i in found if i.startswith(FEED_JOB))
    assert feed_ids == [FEED_JOB + u for u in ("https://a.example/feed", "https://b.example/feed",
                                               "https://c.example/feed")]  # not the disabled one
    assert set(found) == {*feed_ids, DIGEST_JOB, DIGEST_WATCH_JOB, CONFIG_WATCH_JOB}
    assert found[DIGEST_WATCH_JOB].trigger.interval == timedelta(minutes=1)
    for url, interval in (("https://a.example/feed", 15 * 60), ("https://b.example/feed", 7200),
                          ("https://c.example/feed", 3600)):
        job = found[FEED_JOB + url]
        assert isinstance(job.trigger, IntervalTrigger)
        assert job.trigger.interval == timedelta(seconds=interval)
        assert job.trigger.jitter == jitter_for(timedelta(seconds=interval)) > 0
        assert job.max_instances == 1 and job.coalesce is True
        assert job.args == (url,)
    assert found[FEED_JOB + "https://b.example/feed"].next_run_time == backoff  # respects the stored backoff
    assert NOW <= found[FEED_JOB + "https://a.example/feed"].next_run_time < NOW + timedelta(seconds=10)
    digest = found[DIGEST_JOB]
    assert isinstance(digest.trigger, CronTrigger)
    assert digest.trigger.timezone == ZoneInfo(STHLM)
    fields = {f.name: str(f) for f in digest.trigger.fields}
    assert (fields["hour"], fields["minute"]) == ("7", "0")
    assert digest.max_instances == 1 and digest.coalesce is True
    store.close()


def test_reload_keeps_old_config_on_error_and_applies_a_valid_edit(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(CONFIG)
    daemon, store = make_daemon(path, Clock(NOW))
    daemon.schedule()
    before = sorted(jobs(daemon))
    a_job = jobs(daemon)[FEED_JOB + "https://a.example/feed"]

    path.write_text(CONFIG.replace("    interval: 2h\n", "    intervall: 2h\n"))
    _touch(path)
    with caplog.at_level(logging.ERROR, logger="monitor.scheduler"):
        asyncio.run(daemon.check_config())  # mtime changed
    assert f"{path}:9" in caplog.text and "intervall" in caplog.text and "previous configuration" in caplog.text
    assert sorted(jobs(daemon)) == before
    assert daemon.config.feeds[1].interval == timedelta(hours=2)
    caplog.clear()
    asyncio.run(daemon.check_config())  # unchanged since: not reloaded again, not logged again
    assert caplog.text == ""

    edited = (CONFIG.replace("https://c.example/feed", "https://d.example/feed")
              .replace("interval: 2h", "interval: 30m").replace('"07:00"', '"06:30"'))
    path.write_text(edited)
    _touch(path)
    asyncio.run(daemon.check_config())
    now_jobs = jobs(daemon)
    assert FEED_JOB + "https://d.example/feed" in now_jobs and FEED_JOB + "https://c.example/feed" not in now_jobs
    assert now_jobs[FEED_JOB + "https://b.example/feed"].trigger.interval == timedelta(minutes=30)
    assert now_jobs[FEED_JOB + "https://a.example/feed"] is a_job  # unchanged feed keeps its schedule
    fields = {f.name: str(f) for f in now_jobs[DIGEST_JOB].trigger.fields}
    assert (fields["hour"], fields["minute"]) == ("6", "30")
    assert daemon.reload("SIGHUP") is True
    store.close()


def _touch(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))


def test_poll_skips_disabled_and_backing_off_feeds(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(CONFIG)
    rec = Recorder()
    daemon, store = make_daemon(path, Clock(NOW), rec)
    store.save_feed_state(FeedState(url="https://a.example/feed", disabled_reason="HTTP 410 Gone"), "A")
    store.save_feed_state(FeedState(url="https://b.example/feed", consecutive_failures=1,
                                    next_attempt=NOW + timedelta(hours=4)), "B")

    async def poll_all() -> list[FeedOutcome | None]:
        return [await daemon.poll_feed(u) for u in ("https://a.example/feed", "https://b.example/feed",
                                                    "https://c.example/feed", "https://off.example/feed")]

    outcomes = asyncio.run(poll_all())
    assert rec.calls == ["https://c.example/feed"]
    assert [o.status if o else None for o in outcomes] == [None, None, "ok", None]
    store.close()


# -- the digest job: real SMTP, injected clock ------------------------------------------------


def test_digest_job_sends_when_due_retries_after_failure_never_twice(
    fetched_template: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    config_path = copy_fetched(fetched_template, tmp_path, digest_section(port))
    clock = Clock(utc(2025, 3, 30, 4, 0))  # 06:00 CEST, first start ever
    daemon, store = make_daemon(config_path, clock)
    daemon.schedule()
    assert asyncio.run(daemon.catch_up()) is False  # never sent: wait for 07:00, do not mail at start
    assert DIGEST_RETRY_JOB not in jobs(daemon)

    async def job() -> bool:
        return await daemon.digest_job()

    clock.now = utc(2025, 3, 30, 5, 0, 1)  # 07:00:01 CEST: the cron job fires; SMTP is down
    with caplog.at_level(logging.INFO, logger="monitor"):
        assert asyncio.run(job()) is False
    [error] = [r for r in caplog.records if r.levelno >= logging.WARNING]  # logged once, no traceback
    assert error.getMessage() == (f"digest not sent: could not send the digest via 127.0.0.1:{port} (none): "
                                  "connection refused (is the SMTP server running and the host/port right?); "
                                  "will retry at 2025-03-30T05:05:01+00:00")
    assert error.exc_info is None
    retry = jobs(daemon)[DIGEST_RETRY_JOB]
    assert isinstance(retry.trigger, DateTrigger) and retry.trigger.run_date == clock.now + timedelta(minutes=5)
    assert store.last_digest() is None
    clock.now += timedelta(minutes=5)
    with smtp_server(port) as (_, sink):
        assert asyncio.run(job()) is True  # the retry
        assert asyncio.run(job()) is False  # a second run of the same slot sends nothing
        assert len(sink.messages) == 1
    last = store.last_digest()
    assert last is not None and last.sent_at == clock.now and last.article_count == 4

    # restart the next morning after 07:00: the missed digest is queued once
    clock.now = utc(2025, 3, 31, 6, 0)
    restarted, store2 = make_daemon(config_path, clock)
    restarted.schedule()
    assert asyncio.run(restarted.catch_up()) is True and DIGEST_RETRY_JOB in jobs(restarted)
    clock.now = utc(2025, 3, 31, 4, 0)  # ...but not before 07:00
    assert asyncio.run(make_daemon(config_path, clock)[0].catch_up()) is False
    store.close()
    store2.close()


# -- a real run: loopback feeds, SIGHUP, SIGTERM ------------------------------------------------


def _config(tmp_path: Path, server: TestServer) -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(f"""
database: data/monitor.sqlite3
allow_private_networks: true
translation:
  enabled: false
feeds:
  - name: Dagens PS
    url: {server.url("/feed")}
    language: sv
    interval: 1m
digest:
  timezone: Europe/Stockholm
""")
    return path


async def _wait_for(predicate: object, timeout: float = 15.0) -> None:
    deadline = systime.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert systime.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


def test_run_polls_reloads_on_sighup_and_stops_on_sigterm(
    server: TestServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ps = seedsite.dagens_ps()
    page = server.add("/ps", seedsite.article_page(ps, "Dagens PS").encode(), "text/html; charset=utf-8")
    server.add("/feed", seedsite.rss_feed("Dagens PS", "sv", [(ps, page)]).encode(), "application/rss+xml")
    path = _config(tmp_path, server)
    config = load_config(path)

    async def main() -> Daemon:
        async with open_app(config) as app:
            daemon = _daemon(config, app)
            runner = asyncio.create_task(daemon.run())
            await _poll_now(daemon, server.url("/feed"))
            await _wait_for(lambda: app.store.count_articles() == 1)
            path.write_text(path.read_text().replace("interval: 1m", "interval: 2m"))
            os.kill(os.getpid(), signal.SIGHUP)
            await _wait_for(lambda: daemon.config.feeds[0].interval == timedelta(minutes=2))
            os.kill(os.getpid(), signal.SIGTERM)
            await asyncio.wait_for(runner, 10)
            return daemon

    caplog.set_level(logging.INFO, logger="monitor")
    daemon = asyncio.run(main())
    assert not daemon.scheduler.running
    assert "SIGHUP: configuration reloaded" in caplog.text and "stopped" in caplog.text
    with Store(config.database) as store:
        assert store.feed_state(server.url("/feed")).content_hash is not None
        [stored] = store.articles()
        assert stored.article.flagged and ps.last_sentence in stored.article.text


async def _poll_now(daemon: Daemon, url: str) -> None:
    """Skip the start stagger (up to 3 s for a 1-minute feed): fire the feed's job now."""
    await _wait_for(lambda: daemon.scheduler.running)
    daemon.scheduler.modify_job(FEED_JOB + url, next_run_time=datetime.now(UTC))


def _daemon(config: Config, app: App, stop_grace: float = 30.0) -> Daemon:
    return Daemon(config, store=app.store, clock=app.clock, make_pipeline=lambda c: replace(app, config=c).pipeline(),
                  make_mailer=lambda c: build_mailer(c, None), stop_grace=stop_grace)


def test_stop_while_a_feed_is_in_flight_leaves_nothing_half_written(server: TestServer, tmp_path: Path) -> None:
    """The page is slow; the stop's grace ends first: the feed is cancelled between transactions,
    its validators and hash are not saved, so the next pass reads it again and stores it whole."""
    ps = seedsite.dagens_ps()
    body = seedsite.article_page(ps, "Dagens PS").encode()

    def slow(handler: BaseHTTPRequestHandler) -> None:
        systime.sleep(5)  # far longer than the stop grace, even on a loaded machine
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    page = server.add("/ps", body, "text/html")
    server.routes["/ps"].handler = slow
    server.add("/feed", seedsite.rss_feed("Dagens PS", "sv", [(ps, page)]).encode(), "application/rss+xml")
    path = _config(tmp_path, server)
    config = load_config(path)

    async def main() -> None:
        async with open_app(config) as app:
            stop = asyncio.Event()
            daemon = _daemon(config, app, stop_grace=0.1)
            runner = asyncio.create_task(daemon.run(stop))
            await _poll_now(daemon, server.url("/feed"))
            await _wait_for(lambda: server.requests_to("/ps"))
            stop.set()
            await asyncio.wait_for(runner, 10)
            assert app.store.count_articles() == 0
            assert app.store.feed_state(server.url("/feed")).content_hash is None
            summary = await app.pipeline().run_pass(config.enabled_feeds)  # the next pass
            assert summary.new_articles == 1

    asyncio.run(main())
    with Store(config.database) as store:
        [stored] = store.articles()
        assert ps.last_sentence in stored.article.text


def test_every_job_is_a_coroutine_and_a_plain_function_is_refused(tmp_path: Path) -> None:
    """APScheduler runs plain functions in a thread pool, away from the store's connection."""
    path = tmp_path / "feeds.yaml"
    path.write_text(CONFIG)
    daemon, store = make_daemon(path, Clock(NOW))
    daemon.schedule()
    assert all(asyncio.iscoroutinefunction(job.func) for job in daemon.scheduler.get_jobs())
    with pytest.raises(TypeError, match="must be a coroutine function"):
        daemon._add_job(lambda: store.last_digest(), IntervalTrigger(seconds=60))
    store.close()
