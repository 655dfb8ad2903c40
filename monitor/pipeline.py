"""The thin I/O layer: fetch feeds and pages, hand the bytes to the pure stages,
store the results. Per-feed and per-page errors from the MonitorError tree are
recorded as values and the pass goes on; anything else is a bug and propagates.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

from .articles import build_article
from .cpupool import build_in_pool
from .decoding import decode_html
from .errors import FeedParseError, FetchError, MonitorError
from .extraction import extract
from .feeds import parse_feed
from .feedstate import after_failure, after_success, disabled
from .fetching import Fetcher
from .language import LanguageDetector
from .models import Article, Extracted, FeedEntry, FeedState
from .settings import FeedConfig, FetchSettings
from .storage import Store
from .watchrules import Watchlist

log = logging.getLogger(__name__)

PAGE_REASONS = 3  # page failures named in a feed's summary line
PAGES_HELD = 64  # pages being fetched or waiting for extraction, per pipeline
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class FeedOutcome:
    feed: FeedConfig
    status: str  # ok | not-modified | unchanged | failed | disabled
    entries: int = 0
    new_articles: int = 0
    flagged: int = 0
    page_failures: int = 0
    error: str | None = None  # failed/disabled: why; ok: the entries it had to skip, if any
    page_errors: tuple[str, ...] = ()  # the first few reasons pages were not used (at most PAGE_REASONS)
    queued: int = 0  # new entries handed to a page queue (distributed: page jobs), not stored yet

    def describe(self) -> str:
        """One line for the log: the feed pass with its counts and the first reasons pages failed."""
        if self.status in ("failed", "disabled"):
            return f"feed {self.feed.name}: {self.status}: {self.error}"
        if self.status in ("not-modified", "unchanged"):
            return f"feed {self.feed.name}: {self.status}"
        line = f"feed {self.feed.name}: {self.status}, {self.entries} entries, {self.new_articles} new, " \
               f"{self.flagged} flagged"
        if self.queued:
            line += f", {self.queued} queued for their pages"
        if self.page_failures:
            more = "; ..." if self.page_failures > len(self.page_errors) else ""
            reasons = "; ".join(self.page_errors) + more
            line += f"; {self.page_failures} page(s) not used, the feed's text kept ({reasons})"
        if self.error:  # a feed that works but skipped entries (or could not be read as a feed at all)
            line += f"; {self.error}"
        return line


@dataclass(frozen=True, slots=True)
class PassSummary:
    outcomes: tuple[FeedOutcome, ...]
    started: datetime
    finished: datetime

    @property
    def failed(self) -> tuple[FeedOutcome, ...]:
        return tuple(o for o in self.outcomes if o.status == "failed")

    @property
    def nothing_fetched(self) -> bool:
        """Every feed of the pass failed or is disabled (offline, say): nothing could be fetched."""
        return bool(self.outcomes) and all(o.status in ("failed", "disabled") for o in self.outcomes)

    @property
    def new_articles(self) -> int:
        return sum(o.new_articles for o in self.outcomes)

    @property
    def flagged(self) -> int:
        return sum(o.flagged for o in self.outcomes)


# -- the I/O layer -----------------------------------------------------------------


class PageQueue(Protocol):
    """Where new entries go when their pages are fetched elsewhere (the distributed deployment's
    page jobs); without one, a feed's pages are fetched within its own pass."""

    async def enqueue(self, feed: FeedConfig, entries: Sequence[FeedEntry], feed_language: str | None) -> None: ...


class Pipeline:
    def __init__(
        self,
        *,
        fetcher: Fetcher,
        store: Store,
        detector: LanguageDetector,
        watchlists: Sequence[Watchlist],
        settings: FetchSettings,
        clock: Callable[[], datetime],
        cpu: Executor,
        pages: PageQueue | None = None,
        pool: Executor | None = None,
    ) -> None:
        """``cpu``: one thread for the CPU stages; ``pool``: worker processes (cpupool) for the
        heavy ones, extraction, language and matching, when the config asks for more than one."""
        self.fetcher = fetcher
        self.pages = pages
        self.cpu = cpu
        self.pool = pool
        self.store = store
        self.detector = detector
        self.watchlists = tuple(watchlists)
        self.settings = settings
        self.clock = clock
        self._feed_gate = asyncio.Semaphore(max(1, settings.feed_concurrency))  # across passes and jobs
        # pages fetched and not yet extracted (~0.13 MB each): without a bound they pile up in memory
        # while the CPU stages fall behind the network
        self._pages_held = asyncio.Semaphore(PAGES_HELD)

    async def run_pass(
        self, feeds: Sequence[FeedConfig], on_feed_done: Callable[[FeedOutcome], None] | None = None
    ) -> PassSummary:
        """One pass over ``feeds``; feeds run concurrently, each feed's failure is its own."""
        started = self.clock()

        async def one(feed: FeedConfig) -> FeedOutcome:
            outcome = await self.process_feed(feed)
            if on_feed_done is not None:
                on_feed_done(outcome)
            return outcome

        outcomes = await asyncio.gather(*(one(f) for f in feeds))
        return PassSummary(outcomes=tuple(outcomes), started=started, finished=self.clock())

    async def process_feed(self, feed: FeedConfig) -> FeedOutcome:
        """Fetch, parse and store one feed, at most ``fetch.feed_concurrency`` feeds at once."""
        async with self._feed_gate:
            return await self._process_feed(feed)

    async def _process_feed(self, feed: FeedConfig) -> FeedOutcome:
        state = self.store.feed_state(feed.url)
        if (why := disabled(state)) is not None:
            return FeedOutcome(feed=feed, status="disabled", error=why)
        now = self.clock()
        try:
            response = await self.fetcher.fetch_feed(feed.url, etag=state.etag, last_modified=state.last_modified)
        except FetchError as exc:
            return self._failed(feed, state, exc, now)
        if response.not_modified:
            kept = after_success(state, feed, now, etag=state.etag, last_modified=state.last_modified,
                                 content_hash=state.content_hash)
            self.store.save_feed_state(kept, feed.name)
            return FeedOutcome(feed=feed, status="not-modified")
        digest = hashlib.sha256(response.content).hexdigest()
        etag, last_modified = response.headers.get("etag"), response.headers.get("last-modified")
        if digest == state.content_hash:
            self.store.save_feed_state(after_success(state, feed, now, etag=etag, last_modified=last_modified,
                                                  content_hash=digest),
                                       feed.name)
            return FeedOutcome(feed=feed, status="unchanged")
        try:
            parsed = await self._on_cpu(parse_feed, response.content, response.url, response.headers)
        except FeedParseError as exc:
            return self._failed(feed, state, exc, now)

        new, flagged, page_failures = 0, 0, 0
        page_errors: list[str] = []
        fresh = [e for e in parsed.entries if not self.store.link_existing(e.key, e.identity_url, feed.url)]
        if self.pages is not None and fresh:  # durable jobs, committed before the feed state below
            await self.pages.enqueue(feed, fresh, parsed.language)
            fresh, queued = [], len(fresh)
        else:
            queued = 0
        tasks = [asyncio.create_task(self._prepare(entry, feed, parsed.language)) for entry in fresh]
        try:
            for task in tasks:  # store in feed order, each in its own transaction
                article = await task
                if article.errors:
                    page_failures += 1
                    if len(page_errors) < PAGE_REASONS:
                        page_errors.append(article.errors[0])
                if self.store.save_article(article) is not None:
                    new += 1
                    flagged += int(article.flagged)
        finally:  # on an error or a stop: no page work left running behind us
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        # validators and the content hash are saved only now, after every entry is stored:
        # a crash before this point makes the next pass read the feed again and skip what is stored
        problem = parsed.bozo if not parsed.entries else None
        if parsed.problems:  # entries skipped: shown as the feed's last error, though the feed works
            more = f" (+{len(parsed.problems) - 2} more)" if len(parsed.problems) > 2 else ""
            problem = "; ".join(parsed.problems[:2]) + more
        self.store.save_feed_state(after_success(state, feed, now, etag=etag, last_modified=last_modified,
                                              content_hash=digest, last_error=problem), feed.name)
        for p in parsed.problems:  # counted in the feed's summary line, kept as its last error
            log.debug("%s: %s", feed.url, p)
        return FeedOutcome(feed=feed, status="ok", entries=len(parsed.entries), new_articles=new, flagged=flagged,
                           page_failures=page_failures, page_errors=tuple(page_errors), error=problem, queued=queued)

    async def store_entry(self, entry: FeedEntry, feed: FeedConfig, feed_language: str | None) -> tuple[Article, bool]:
        """One entry's page fetched, extracted, matched and stored (a page job); True if it was new."""
        article = await self._prepare(entry, feed, feed_language)
        return article, self.store.save_article(article) is not None

    def _failed(self, feed: FeedConfig, state: FeedState, exc: MonitorError, now: datetime) -> FeedOutcome:
        log.debug("feed %s (%s) failed: %s", feed.name, feed.url, exc)
        self.store.save_feed_state(after_failure(state, feed, exc, now), feed.name)
        return FeedOutcome(feed=feed, status="failed", error=str(exc))

    async def _prepare(self, entry: FeedEntry, feed: FeedConfig, feed_language: str | None) -> Article:
        page: Extracted | None = None
        errors: tuple[str, ...] = ()
        if entry.link and self.settings.fetch_pages:
            try:
                async with self._pages_held:  # fetched pages wait for the CPU here, a bounded number
                    response = await self.fetcher.fetch(entry.link, untrusted=True,
                                                        trusted_host=urlsplit(feed.url).hostname)
                    page = await self._on_pages(_extract_page, response.content, response.headers, response.url)
            except MonitorError as exc:  # FetchError, ExtractionError: fall back to the feed's text
                errors = (f"page: {exc}",)
                log.debug("page %s: %s; using the feed's text", entry.link, exc)  # summed up per feed
        now, min_chars = self.clock(), self.settings.page_text_min_chars
        if self.pool is not None:  # each pool process has its own detector and watchlists
            return await self._on_pages(build_in_pool, entry, feed, page, feed_language, now, min_chars, errors)
        return await self._on_cpu(functools.partial(
            build_article, entry, feed, page, feed_language=feed_language, detector=self.detector,
            watchlists=self.watchlists, now=now, min_chars=min_chars, errors=errors,
        ))

    async def _on_pages(self, func: Callable[..., T], *args: Any) -> T:
        """A page's CPU stages: in the process pool when there is one, else on the CPU thread."""
        if self.pool is None:
            return await self._on_cpu(func, *args)
        return await asyncio.get_running_loop().run_in_executor(self.pool, functools.partial(func, *args))

    async def _on_cpu(self, func: Callable[..., T], *args: Any) -> T:
        """Run a CPU stage (feedparser, lxml, trafilatura, langdetect, matching) in the pipeline's
        CPU executor. lxml's and trafilatura's parsers are shared per process and not safe in two
        threads at once (seen: SIGSEGV and "double free" under load), so the executor given here
        has exactly one thread; the event loop keeps fetching meanwhile."""
        return await asyncio.get_running_loop().run_in_executor(self.cpu, functools.partial(func, *args))


def _extract_page(content: bytes, headers: dict[str, str], url: str) -> Extracted:
    return extract(decode_html(content, headers), url)
