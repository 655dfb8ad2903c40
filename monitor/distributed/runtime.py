"""What a worker process holds while it runs jobs: the config, the store, the pipeline (its page
queue deferring page jobs), the mailer, and a translator built on first use. The jobs in
``tasks.py`` call these methods; each method is what one job does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from ..config import Config, ConfigWatch
from ..delivery import Sender, deliver_digest
from ..errors import ConfigError, MonitorError
from ..models import FeedEntry
from ..pipeline import Pipeline
from ..scheduler import digest_due
from ..settings import FeedConfig
from ..storage import Store
from ..storyrun import StoryStage, translation_wait
from ..translating import DailyNotice, translate_pending
from ..translation import Translator

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    config: Config
    store: Store
    pipeline: Pipeline
    mailer: Sender
    clock: Callable[[], datetime]
    make_translator: Callable[[], tuple[Store, Translator]]  # its own store: it runs in a thread
    defer_translate: Callable[[], Awaitable[bool]]
    started_at: datetime
    load: Callable[[Path], Config] | None = None  # re-reads the config file when it changed
    make_pipeline: Callable[[Config], Pipeline] | None = None  # the pipeline for a re-read config
    _watch: ConfigWatch | None = field(default=None, init=False)
    _translator: tuple[Store, Translator] | None = field(default=None, init=False)
    _notice: DailyNotice | None = field(default=None, init=False)
    _stories: StoryStage = field(default_factory=StoryStage, init=False)  # its index lives with the worker

    def __post_init__(self) -> None:
        if self.load is not None:  # the config was read just now: edits from here on count
            self._watch = ConfigWatch(self.config.path, self.load)

    def refresh(self) -> None:
        """Read the config file again when it changed since this worker read it (the schedulers do
        so every tick): new feeds, watchlists, fetch settings and digest recipients take effect in
        the next job. An invalid edit is logged and the config in use stays."""
        if self._watch is None or self.make_pipeline is None:
            return
        config = self._watch.changed()
        if isinstance(config, ConfigError):
            log.error("config not reloaded, the old one stays in use: %s", config)
            return
        if config is None:
            return
        self.config, self.pipeline = config, self.make_pipeline(config)
        log.info("config reloaded: %d enabled feed(s)", len(config.enabled_feeds))

    def feed(self, url: str) -> FeedConfig | None:
        self.refresh()
        return next((f for f in self.config.enabled_feeds if f.url == url), None)

    async def poll(self, feed_url: str) -> str:
        feed = self.feed(feed_url)
        if feed is None:
            return f"{feed_url}: no longer in the config (or disabled); nothing to do"
        outcome = await self.pipeline.process_feed(feed)
        line = outcome.describe()
        log.info("%s", line)
        return line

    async def page(self, feed_url: str, entry: FeedEntry, feed_language: str | None) -> str:
        feed = self.feed(feed_url)
        if feed is None:
            return f"{feed_url}: no longer in the config (or disabled); page {entry.link} skipped"
        await self._wait_for_host_turn(entry.link)
        article, new = await self.pipeline.store_entry(entry, feed, feed_language)
        if new:  # the batch job: stories, and the translation of what waits
            await self.defer_translate()
        state = "stored" if new else "already stored"
        flag = ", flagged" if article.flagged else ""
        problem = f" ({article.errors[0]})" if article.errors else ""
        return f"{feed.name}: {entry.link or entry.key}: {state}{flag}{problem}"

    async def _wait_for_host_turn(self, link: str | None) -> None:
        """``fetch.min_host_delay`` across all workers: wait for this host's next turn, reserved in the
        database (each worker's fetcher also keeps the delay on its own)."""
        delay = self.config.fetch.min_host_delay
        host = urlsplit(link).hostname if link else None
        if delay <= 0 or not host:
            return
        now = self.clock().timestamp()
        wait = self.store.reserve_host_turn(host, delay, now) - now
        if wait > 0:
            await asyncio.sleep(wait)

    async def translate(self) -> str:
        """The batch job after pages: new articles translated, then placed in their stories (their
        English titles join their evidence; one stored meanwhile waits for the next job)."""
        self.refresh()
        if not self.config.translation.enabled:
            return self._place() + "translation is disabled in the config"
        if self._translator is None:
            self._translator = await asyncio.to_thread(self.make_translator)
        store, translator = self._translator
        if self._notice is None:
            self._notice = DailyNotice(self.clock)
        try:
            summary = await asyncio.to_thread(translate_pending, store, translator, self.config.translation,
                                              notice=self._notice)
        finally:  # a translation that fails holds no story back
            placed = self._place()
        return placed + f"translated {summary.translated}, waiting for a model {summary.unavailable}"

    def _place(self) -> str:
        stories = self._stories.run(self.store, self.clock(), translation_wait(self.config.translation))
        return f"stories: {stories.assigned} placed; " if stories.assigned else ""

    async def digest(self) -> str:
        self.refresh()
        d = self.config.digest
        if not d.to:
            return "digest.to lists no recipients; nothing sent"
        last = self.store.last_digest()
        now = self.clock()
        if not digest_due(last.sent_at if last else None, now, d.time, d.timezone):
            return "already sent for this slot; nothing to do"
        self._stories.run(self.store, now)  # the digest is the deadline: every article in its story
        outcome = await deliver_digest(self.store, self.config, self.mailer, now, offload=asyncio.to_thread)
        if not outcome.sent:
            return "nothing flagged since the last one; not sent (digest.empty: skip)"
        line = f"digest sent: {outcome.plan.digest.article_count} article(s) to {', '.join(d.to)}"
        log.info("%s", line)
        return line

    def forget_validators(self, feed_url: str) -> None:
        """A page job failed for good: the feed's next poll reads it whole again (no 304, no
        same-content shortcut), finds the entry not stored and queues it again."""
        state = self.store.feed_state(feed_url)
        feed = self.feed(feed_url)
        self.store.save_feed_state(replace(state, etag=None, last_modified=None, content_hash=None),
                                   feed.name if feed else feed_url)
        log.warning("%s: a page could not be stored; the feed will be read whole on its next poll", feed_url)

    def record_failure(self, job_id: int, task: str, exc: BaseException) -> None:
        message = str(exc) if isinstance(exc, MonitorError) else f"{type(exc).__name__}: {exc}"
        log.error("job %d (%s) failed: %s", job_id, task, message)
        self.store.record_job_error(job_id, task, message, self.clock())

    def close(self) -> None:
        if self._translator is not None:
            self._translator[0].close()
