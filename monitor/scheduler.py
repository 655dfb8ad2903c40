"""The daemon behind ``monitor run``: poll each feed at its own interval, send the digest
daily at the configured local time, reload the config when it changes, stop cleanly.

Why APScheduler's ``AsyncIOScheduler`` (and not ``BackgroundScheduler``): the pipeline is
asyncio (one httpx client whose per-host limits are shared by all feeds) and the store is
one SQLite connection that must stay on one thread. Coroutine jobs run as tasks on the
one event loop, so feeds share the client and the connection without locks, and a stop
can cancel a feed at an ``await``, where no transaction is open (the store commits one
article per transaction; feed validators are saved last). The blocking SMTP exchange
runs in a worker thread (``asyncio.to_thread``) and does not touch the store. Every job,
the config and missed-digest watchers included, is a coroutine for that reason (APScheduler
would run a plain function in its thread pool, away from the connection).

The decisions (is a feed due, is a digest due, when is the first poll, how long to
wait before a retry) are pure functions of an injected ``now``.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import signal
import zlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from .config import Config, ConfigWatch, load_config
from .delivery import Sender, deliver_digest
from .errors import ConfigError, MonitorError
from .feedstate import feed_due
from .models import FeedState
from .pipeline import FeedOutcome
from .settings import FeedConfig
from .storage import Store

log = logging.getLogger(__name__)

FEED_JOB = "feed:"  # + feed URL
DIGEST_JOB = "digest"
DIGEST_RETRY_JOB = "digest-retry"
DIGEST_WATCH_JOB = "digest-watch"
CONFIG_WATCH_JOB = "config-watch"
CONFIG_POLL = timedelta(seconds=5)
DIGEST_WATCH = timedelta(minutes=1)
MAX_JITTER = timedelta(minutes=5)
MAX_START_STAGGER = timedelta(seconds=10)
RETRY_FIRST = timedelta(minutes=5)
RETRY_CAP = timedelta(hours=1)
STOP_GRACE = 30.0  # seconds a feed in flight may take to finish after SIGINT/SIGTERM

Clock = Callable[[], datetime]


class FeedProcessor(Protocol):
    async def process_feed(self, feed: FeedConfig) -> FeedOutcome: ...


# -- pure decisions ----------------------------------------------------------------------


def jitter_for(interval: timedelta) -> int:
    """Seconds of random delay added to each poll: 5% of the interval, 1 s to 5 min."""
    return int(min(max(interval.total_seconds() * 0.05, 1.0), MAX_JITTER.total_seconds()))


def first_poll(state: FeedState, now: datetime, interval: timedelta) -> datetime:
    """When a feed is first polled after start: at its stored ``next_attempt`` when that is ahead,
    else now plus a stagger (stable per URL, up to 10 s) so feeds do not all fire at once."""
    if state.next_attempt is not None and state.next_attempt > now:
        return state.next_attempt
    spread = min(MAX_START_STAGGER, timedelta(seconds=jitter_for(interval)))
    fraction = (zlib.crc32(state.url.encode()) % 1000) / 1000
    return now + spread * fraction


def last_digest_slot(now: datetime, at: time, tz: str) -> datetime:
    """The latest scheduled digest time at or before ``now`` (aware), in ``tz``. A wall time that
    does not exist on a DST change day (02:30 in spring) counts as the instant after the gap, where
    the cron trigger fires; an ambiguous one (02:30 in autumn) as its first occurrence (the cron
    trigger fires at both; the second finds the digest already sent)."""
    zone = ZoneInfo(tz)
    instant = now.astimezone(UTC)  # compare instants: aware datetimes sharing a tzinfo compare wall times
    for days in (0, 1, 2):
        day = now.astimezone(zone).date() - timedelta(days=days)
        slot = datetime.combine(day, at, tzinfo=zone)
        slot = datetime.fromtimestamp(slot.timestamp(), zone)  # normalise a time in a DST gap
        if slot.astimezone(UTC) <= instant:
            return slot
    raise AssertionError("unreachable: a slot within two days is always in the past")


def digest_due(last_sent: datetime | None, now: datetime, at: time, tz: str) -> bool:
    """A digest is due when a scheduled time has passed since the last one was sent (``None``:
    never sent, so due). The daemon passes its start time for ``None`` so that a fresh install
    does not mail at once; it waits for the first scheduled time."""
    return last_sent is None or last_sent.astimezone(UTC) < last_digest_slot(now, at, tz).astimezone(UTC)


def retry_delay(failures: int) -> timedelta:
    """Wait before retrying a digest that could not be sent: 5, 10, 20, 40 min, then hourly."""
    return min(RETRY_FIRST * float(2 ** min(max(failures - 1, 0), 16)), RETRY_CAP)


# -- the daemon --------------------------------------------------------------------------


class Daemon:
    """Owns the scheduler; the store, pipeline and mailer are built by the caller (app/cli)."""

    def __init__(
        self,
        config: Config,
        *,
        store: Store,
        make_pipeline: Callable[[Config], FeedProcessor],
        make_mailer: Callable[[Config], Sender],
        clock: Clock,
        load: Callable[[Path], Config] = load_config,
        after_feed: Callable[[FeedOutcome], Awaitable[None]] | None = None,
        before_digest: Callable[[], Awaitable[None]] | None = None,
        scheduler: AsyncIOScheduler | None = None,
        stop_grace: float = STOP_GRACE,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.scheduler = scheduler or AsyncIOScheduler(timezone="UTC")
        self._make_pipeline = make_pipeline
        self._make_mailer = make_mailer
        self._stop_grace = stop_grace
        self._after_feed = after_feed
        self._before_digest = before_digest
        self._pipeline = make_pipeline(config)
        self._mailer = make_mailer(config)
        self._scheduled: dict[str, timedelta] = {}  # feed URL -> interval of its job
        self._digest_slot: tuple[time, str] | tuple[()] | None = None  # (): none, no recipients
        self._feed_tasks: set[asyncio.Task[Any]] = set()
        self._digest_tasks: set[asyncio.Task[Any]] = set()
        self._digest_failures = 0
        self._digest_lock = asyncio.Lock()
        self._watch = ConfigWatch(config.path, load)
        self.started_at = clock()

    # -- jobs ----------------------------------------------------------------------------

    def _add_job(self, func: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> None:
        """Every job is a coroutine function. APScheduler's asyncio executor runs coroutines on
        the event loop, where the store's one connection lives, but plain functions in a thread
        pool, where SQLite refuses that connection: a plain job here is a bug, refused at once."""
        if not inspect.iscoroutinefunction(func):
            raise TypeError(f"scheduler job {func!r} must be a coroutine function (it would run in a thread)")
        self.scheduler.add_job(func, *args, **kwargs)

    def schedule(self) -> None:
        """Make the scheduler's jobs match ``self.config``: one per enabled feed, the daily
        digest, the config watcher. Feeds whose interval is unchanged keep their schedule."""
        now = self.clock()
        feeds = {f.url: f for f in self.config.enabled_feeds}
        for url in list(self._scheduled):
            if url not in feeds or feeds[url].interval != self._scheduled[url]:
                self.scheduler.remove_job(FEED_JOB + url)
                del self._scheduled[url]
        for url, feed in feeds.items():
            if url in self._scheduled:
                continue
            start = first_poll(self.store.feed_state(url), now, feed.interval)
            self._add_job(
                self.poll_feed, IntervalTrigger(seconds=feed.interval.total_seconds(), start_date=start,
                                                jitter=jitter_for(feed.interval), timezone="UTC"),
                args=(url,), id=FEED_JOB + url, name=f"poll {feed.name}", next_run_time=start,
                max_instances=1, coalesce=True, misfire_grace_time=int(feed.interval.total_seconds() / 2),
            )
            self._scheduled[url] = feed.interval
        d = self.config.digest
        if not d.to:
            if self._digest_slot != ():
                log.warning("no digest is scheduled: digest.to lists no recipients")
            if self.scheduler.get_job(DIGEST_JOB) is not None:
                self.scheduler.remove_job(DIGEST_JOB)
            self._digest_slot = ()
        elif self._digest_slot != (d.time, d.timezone):
            self._add_job(
                self.digest_job, CronTrigger(hour=d.time.hour, minute=d.time.minute, timezone=ZoneInfo(d.timezone)),
                id=DIGEST_JOB, name="daily digest", replace_existing=True, max_instances=1, coalesce=True,
                misfire_grace_time=None,
            )
            self._digest_slot = (d.time, d.timezone)
        if self.scheduler.get_job(DIGEST_WATCH_JOB) is None:
            self._add_job(self.catch_up, IntervalTrigger(seconds=DIGEST_WATCH.total_seconds()),
                                   id=DIGEST_WATCH_JOB, name="watch for a missed digest", max_instances=1,
                                   coalesce=True)
        if self.scheduler.get_job(CONFIG_WATCH_JOB) is None:
            self._add_job(self.check_config, IntervalTrigger(seconds=CONFIG_POLL.total_seconds()),
                                   id=CONFIG_WATCH_JOB, name="watch config", max_instances=1, coalesce=True)

    async def catch_up(self) -> bool:
        """Queue the digest now if a scheduled time passed without one being sent: on start (the
        machine was off) and every minute after (a cron fire that did not happen: the local time
        did not exist on a DST change day, or the process was suspended). Not while a digest is
        being sent or a retry is waiting."""
        last = self.store.last_digest()
        d = self.config.digest
        if not d.to or self._digest_lock.locked() or self.scheduler.get_job(DIGEST_RETRY_JOB) is not None:
            return False
        if not digest_due(last.sent_at if last else self.started_at, self.clock(), d.time, d.timezone):
            return False
        log.info("a digest is due and was not sent at its time; sending it now")
        self._add_job(self.digest_job, id=DIGEST_RETRY_JOB, name="digest (catch-up)",
                               replace_existing=True, misfire_grace_time=None)
        return True

    async def poll_feed(self, url: str) -> FeedOutcome | None:
        feed = next((f for f in self.config.enabled_feeds if f.url == url), None)
        if feed is None:
            return None
        decision = feed_due(self.store.feed_state(url), self.clock(), feed.interval)
        if not decision.due:
            log.debug("feed %s: skipped (%s)", feed.name, decision.reason)
            return None
        task = asyncio.current_task()
        if task is not None:
            self._feed_tasks.add(task)
        try:
            outcome = await self._pipeline.process_feed(feed)
            if outcome.status == "failed":
                after = self.store.feed_state(url)
                when = after.next_attempt.isoformat(timespec="seconds") if after.next_attempt else "-"
                log.warning("feed %s: failed %d time(s) in a row (%s); next attempt %s", feed.name,
                            after.consecutive_failures, outcome.error, when)
            else:
                log.info("%s", outcome.describe())
            if self._after_feed is not None:
                await self._after_feed(outcome)
            return outcome
        finally:
            if task is not None:
                self._feed_tasks.discard(task)

    async def digest_job(self) -> bool:
        """Send the digest if one is due; on failure log once and schedule a retry. True if sent."""
        task = asyncio.current_task()
        if task is not None:
            self._digest_tasks.add(task)
        try:
            async with self._digest_lock:  # the daily job and a retry never overlap
                return await self._send_if_due()
        finally:
            if task is not None:
                self._digest_tasks.discard(task)

    async def _send_if_due(self) -> bool:
        d = self.config.digest
        last = self.store.last_digest()
        if not digest_due(last.sent_at if last else self.started_at, self.clock(), d.time, d.timezone):
            log.info("digest: already sent for this slot; nothing to do")
            return False
        try:
            if self._before_digest is not None:
                try:
                    await self._before_digest()
                except MonitorError as exc:  # translation is a nicety here: the digest still goes
                    log.warning("digest: translating first failed (%s); sent without the newest English titles", exc)
            outcome = await deliver_digest(self.store, self.config, self._mailer, self.clock(),
                                           offload=asyncio.to_thread)
            if not outcome.sent:
                log.info("digest: nothing flagged since the last one; not sent (digest.empty: skip)")
                return False
        except MonitorError as exc:  # MailError, a broken template (ConfigError), StorageError
            self._digest_failures += 1
            at = self.clock() + retry_delay(self._digest_failures)
            log.error("digest not sent: %s; will retry at %s", exc, at.isoformat(timespec="seconds"))
            self._add_job(self.digest_job, "date", run_date=at, id=DIGEST_RETRY_JOB,
                                   name="digest (retry)", replace_existing=True, misfire_grace_time=None)
            return False
        self._digest_failures = 0
        log.info("digest sent: %d article(s) to %s", outcome.plan.digest.article_count, ", ".join(d.to))
        return True

    # -- configuration reload -------------------------------------------------------------

    async def check_config(self) -> None:
        """Reload when the config file's modification time or size changed."""
        found = self._watch.changed()
        if found is not None:
            self._apply(found, f"{self.config.path} changed")

    def reload(self, reason: str) -> bool:
        """Load the config again and apply it; an invalid file is logged (file:line) and the
        running config is kept."""
        return self._apply(self._watch.read(), reason)

    def _apply(self, new: Config | ConfigError, reason: str) -> bool:
        if isinstance(new, ConfigError):
            log.error("%s: not reloaded, the previous configuration keeps running: %s", reason, new)
            return False
        old = self.config
        for name in ("database", "data_dir", "fetch", "allow_private_networks", "translation"):
            if getattr(old, name) != getattr(new, name):
                log.warning("config reload: a change of '%s' takes effect only after a restart", name)
        self.config = new
        self._pipeline = self._make_pipeline(new)
        self._mailer = self._make_mailer(new)
        self.schedule()
        log.info("%s: configuration reloaded (%d feeds enabled)", reason, len(new.enabled_feeds))
        return True

    # -- running -------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Run until SIGINT/SIGTERM (or ``stop`` is set); SIGHUP reloads the config."""
        loop = asyncio.get_running_loop()
        stop = stop or asyncio.Event()
        installed = self._install_signals(loop, stop)
        try:
            self.started_at = self.clock()
            self.schedule()
            self.scheduler.start()
            await self.catch_up()
            log.info("monitor running: %d feed(s), digest daily at %s %s", len(self._scheduled),
                     self.config.digest.time.strftime("%H:%M"), self.config.digest.timezone)
            await stop.wait()
            await self.shutdown(self._stop_grace)
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)

    async def shutdown(self, grace: float = STOP_GRACE) -> None:
        """Start nothing new; let feeds in flight finish for ``grace`` seconds, then cancel them
        (a cancelled feed stops between two article transactions and is fetched again next time);
        a digest being sent is always waited for, so it is never sent without being recorded."""
        log.info("stopping: waiting for %d feed(s) and %d digest(s) in flight", len(self._feed_tasks),
                 len(self._digest_tasks))
        if self.scheduler.running:
            self.scheduler.pause()
        if self._feed_tasks:
            await asyncio.wait(set(self._feed_tasks), timeout=grace)
        self.cancel_feeds()
        pending = self._feed_tasks | self._digest_tasks
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        log.info("stopped")

    def cancel_feeds(self) -> None:
        for task in list(self._feed_tasks):
            task.cancel()

    def _install_signals(self, loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> list[int]:
        def on_stop() -> None:
            if stop.is_set():  # a second Ctrl-C: do not wait for feeds in flight
                self.cancel_feeds()
            stop.set()

        installed: list[int] = []
        handlers: list[tuple[int, Callable[[], None]]] = [(signal.SIGINT, on_stop), (signal.SIGTERM, on_stop)]
        if hasattr(signal, "SIGHUP"):
            handlers.append((signal.SIGHUP, self._on_hangup))
        for sig, handler in handlers:
            try:
                loop.add_signal_handler(sig, handler)
            except (NotImplementedError, RuntimeError):  # not the main thread, or Windows
                continue
            installed.append(sig)
        return installed

    def _on_hangup(self) -> None:
        self.reload("SIGHUP")

