"""What a worker process holds while it runs jobs: the config, the store, the pipeline (its page
queue deferring page jobs), the mailer, and a translator built on first use. The jobs in
``tasks.py`` call these methods; each method is what one job does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ..config import Config
from ..delivery import Sender, deliver_digest
from ..errors import ConfigError, MonitorError
from ..models import FeedEntry
from ..pipeline import Pipeline
from ..scheduler import digest_due
from ..settings import FeedConfig
from ..storage import Store
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
    load: Callable[[Path], Config] | None = None  # re-reads the config when a job names a feed it lacks
    _translator: tuple[Store, Translator] | None = field(default=None, init=False)
    _notice: DailyNotice | None = field(default=None, init=False)

    def feed(self, url: str) -> FeedConfig | None:
        """The configured feed; a feed added since this worker started is found by reading the file again
        (the schedulers read it every tick)."""
        found = next((f for f in self.config.enabled_feeds if f.url == url), None)
        if found is None and self.load is not None:
            try:
                self.config = self.load(self.config.path)
            except ConfigError as exc:
                log.error("config not reloaded, the old one stays in use: %s", exc)
                return None
            found = next((f for f in self.config.enabled_feeds if f.url == url), None)
            if found is not None:
                log.info("config reloaded: %s was added", found.name)
        return found

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
        article, new = await self.pipeline.store_entry(entry, feed, feed_language)
        if new and self.config.translation.enabled and article.translation.value == "pending":
            await self.defer_translate()
        state = "stored" if new else "already stored"
        flag = ", flagged" if article.flagged else ""
        problem = f" ({article.errors[0]})" if article.errors else ""
        return f"{feed.name}: {entry.link or entry.key}: {state}{flag}{problem}"

    async def translate(self) -> str:
        if not self.config.translation.enabled:
            return "translation is disabled in the config"
        if self._translator is None:
            self._translator = await asyncio.to_thread(self.make_translator)
        store, translator = self._translator
        if self._notice is None:
            self._notice = DailyNotice(self.clock)
        summary = await asyncio.to_thread(translate_pending, store, translator, self.config.translation,
                                          notice=self._notice)
        return f"translated {summary.translated}, waiting for a model {summary.unavailable}"

    async def digest(self) -> str:
        d = self.config.digest
        if not d.to:
            return "digest.to lists no recipients; nothing sent"
        last = self.store.last_digest()
        now = self.clock()
        if not digest_due(last.sent_at if last else None, now, d.time, d.timezone):
            return "already sent for this slot; nothing to do"
        outcome = await deliver_digest(self.store, self.config, self.mailer, now, offload=asyncio.to_thread)
        if not outcome.sent:
            return "nothing flagged since the last one; not sent (digest.empty: skip)"
        line = f"digest sent: {outcome.plan.digest.article_count} article(s) to {', '.join(d.to)}"
        log.info("%s", line)
        return line

    def record_failure(self, job_id: int, task: str, exc: BaseException) -> None:
        message = str(exc) if isinstance(exc, MonitorError) else f"{type(exc).__name__}: {exc}"
        log.error("job %d (%s) failed: %s", job_id, task, message)
        self.store.record_job_error(job_id, task, message, self.clock())

    def close(self) -> None:
        if self._translator is not None:
            self._translator[0].close()
