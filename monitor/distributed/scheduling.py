"""`monitor schedule`: every ``jobs.tick`` seconds, defer what is due as jobs, and put the jobs of
dead workers back in the queue. Any number of schedulers may run: queueing locks keep one poll
of a feed waiting at a time, and the digest job re-checks under its lock that it is still due.

The feed rules are feedstate's (a feed is due one interval after its last fetch, later after
failures, never when disabled); the digest rule is the daemon's (a scheduled time has passed
since the last digest was sent; a fresh install waits for the first one).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import procrastinate
from procrastinate.exceptions import ProcrastinateException

from ..config import Config, ConfigWatch
from ..errors import ConfigError, MonitorError
from ..feedstate import feed_due
from ..scheduler import digest_due
from ..storage import Store, storyrows
from .jobs import retry_stalled
from .tasks import defer_digest, defer_poll, defer_translate

log = logging.getLogger(__name__)
DIGEST_REDEFER = timedelta(minutes=5)  # while a digest stays due (the mail server is down), defer it this often
TRANSLATE_EVERY = timedelta(minutes=5)  # while articles wait for translation (or a model), defer a run this often


@dataclass(frozen=True, slots=True)
class Tick:
    polls: int  # feed polls deferred
    digest: bool  # a digest job deferred
    stalled: int  # jobs of dead workers put back



class JobScheduler:
    def __init__(self, config: Config, store: Store, app: procrastinate.App, *, clock: Callable[[], datetime],
                 load: Callable[[Path], Config]) -> None:
        self.config = config
        self.store = store
        self.app = app
        self.clock = clock
        self._watch = ConfigWatch(config.path, load)
        self._deferred: dict[str, datetime] = {}  # feed URL -> when its poll was last deferred
        self._digest_deferred: datetime | None = None
        self._translate_deferred: datetime | None = None
        self.started_at = clock()

    def _reload_if_changed(self) -> None:
        config = self._watch.changed()
        if isinstance(config, ConfigError):
            log.error("config not reloaded, the old one stays in use: %s", config)
        elif config is not None:
            self.config = config
            log.info("config reloaded: %d enabled feed(s)", len(config.enabled_feeds))

    async def tick(self) -> Tick:
        self._reload_if_changed()
        now = self.clock()
        polls = 0
        for feed in self.config.enabled_feeds:
            last = self._deferred.get(feed.url)
            if last is not None and now - last < feed.interval / 2:
                continue  # deferred recently: its job may be running, and will set the next attempt
            decision = feed_due(self.store.feed_state(feed.url), now, feed.interval)
            if decision.due:
                polls += int(await defer_poll(self.app, feed.url))
                self._deferred[feed.url] = now
        digest = False
        d = self.config.digest
        if d.to:
            last_digest = self.store.last_digest()
            since = last_digest.sent_at if last_digest else self.started_at
            recent = self._digest_deferred is not None and now - self._digest_deferred < DIGEST_REDEFER
            if digest_due(since, now, d.time, d.timezone) and not recent:
                digest = await defer_digest(self.app)
                self._digest_deferred = now
        t = self._translate_deferred
        if t is None or now - t >= TRANSLATE_EVERY:  # the job also places new articles in their stories
            self._translate_deferred = now
            waiting = bool(self.config.translation.enabled and self.store.translation_queue())
            if waiting or bool(self.store.run(lambda c: storyrows.unassigned(c, 1))):  # page jobs defer it too
                await defer_translate(self.app)
        stalled = await retry_stalled(self.app, self.config.jobs.stalled_after)
        return Tick(polls=polls, digest=digest, stalled=stalled)

    async def run(self, stop: asyncio.Event) -> None:
        log.info("scheduler started: %d enabled feed(s), a look every %gs", len(self.config.enabled_feeds),
                 self.config.jobs.tick)
        while not stop.is_set():
            try:
                tick = await self.tick()
            except (MonitorError, ProcrastinateException) as exc:  # the database away, say: the next tick tries again
                log.error("scheduler: %s; trying again in %gs", exc, self.config.jobs.tick)
                tick = Tick(polls=0, digest=False, stalled=0)
            if tick.polls or tick.digest or tick.stalled:
                log.info("scheduled %d poll(s)%s%s", tick.polls, ", the digest" if tick.digest else "",
                         f", {tick.stalled} stalled job(s) retried" if tick.stalled else "")
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.config.jobs.tick)
