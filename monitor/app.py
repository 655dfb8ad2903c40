"""Composition root: the only place where clients, the store, the language
detector, the translator, the mailer and the clock are built."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from .config import Config
from .cpupool import process_pool
from .fetching import Fetcher, Resolver, build_client, system_resolver
from .language import LanguageDetector
from .mailer import Mailer
from .pipeline import Pipeline
from .storage import Store
from .translating import BackgroundTranslator, TranslationSummary, translate_pending
from .translation import Translator

Clock = Callable[[], datetime]
log = logging.getLogger(__name__)


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class App:
    config: Config
    store: Store
    fetcher: Fetcher
    detector: LanguageDetector
    clock: Clock
    cpu: Executor  # the one thread where the pipeline's CPU stages run (lxml is not thread-safe)
    pool: Executor | None = None  # worker processes for pages' CPU stages (cpupool), when workers > 1
    _translator: Translator | None = None

    @property
    def translator(self) -> Translator:
        """Built on first use; models load lazily inside it."""
        if self._translator is None:
            self._translator = build_translator(self.config, self.store)
        return self._translator

    def translate(self) -> TranslationSummary:
        return translate_pending(self.store, self.translator, self.config.translation)

    def pipeline(self) -> Pipeline:
        return Pipeline(
            fetcher=self.fetcher,
            store=self.store,
            detector=self.detector,
            watchlists=self.config.watchlists,
            settings=self.config.fetch,
            clock=self.clock,
            cpu=self.cpu,
            pool=self.pool,
        )


PASSWORD_ENV = "MONITOR_DATABASE_PASSWORD"  # PostgreSQL's password when the URL has none (or PGPASSFILE)


def open_store(config: Config, *, read_only: bool = False) -> Store:
    """The configured database; ``read_only`` for commands that only read (export, feeds list, a digest
    preview): they then work where the database cannot be written, and never write or migrate it."""
    return Store(config.database, read_only=read_only, password=os.environ.get(PASSWORD_ENV))


def build_detector() -> LanguageDetector:
    return LanguageDetector(seed=0)  # seeded: the same text gets the same language on every run


def build_cpu_executor() -> ThreadPoolExecutor:
    """One thread for feedparser, lxml/trafilatura, langdetect and matching: lxml's parsers are
    not safe in several threads of one process at once (crashes seen under load)."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="monitor-cpu")


def build_page_pool(config: Config) -> Executor | None:
    """``workers`` processes (default: one per core) for pages' extraction, language and matching;
    None with ``workers: 1`` (or one core): then they stay on the CPU thread."""
    workers = config.workers or os.cpu_count() or 1
    return process_pool(workers, config.watchlists) if workers > 1 else None


def build_translator(config: Config, store: Store | None) -> Translator:
    t = config.translation
    return Translator(t.packages_dir, batch_size=t.batch_size, beam_size=t.beam_size, cache=store,
                      threads=t.threads, device=t.device)


@asynccontextmanager
async def open_fetcher(
    config: Config,
    *,
    clock: Clock = system_clock,
    transport: httpx.AsyncBaseTransport | None = None,
    resolver: Resolver = system_resolver,
) -> AsyncIterator[Fetcher]:
    """The guarded fetcher alone (its client closed afterwards): for finding a feed."""
    async with build_client(config.fetch, transport) as client:
        yield Fetcher(client, config.fetch, allow_private_networks=config.allow_private_networks,
                      resolver=resolver, clock=clock)


@asynccontextmanager
async def open_app(
    config: Config,
    *,
    clock: Clock = system_clock,
    transport: httpx.AsyncBaseTransport | None = None,
    resolver: Resolver = system_resolver,
) -> AsyncIterator[App]:
    """Build everything a pass needs; close it all afterwards."""
    async with AsyncExitStack() as stack:  # closed in reverse order, each even if another fails
        store = stack.enter_context(open_store(config))
        cpu = build_cpu_executor()
        stack.callback(cpu.shutdown, wait=True, cancel_futures=True)
        pool = build_page_pool(config)
        if pool is not None:  # its processes start with the first page, not before
            stack.callback(pool.shutdown, wait=True, cancel_futures=True)
        fetcher = await stack.enter_async_context(open_fetcher(config, clock=clock, transport=transport,
                                                               resolver=resolver))
        yield App(config=config, store=store, fetcher=fetcher, detector=build_detector(), clock=clock, cpu=cpu,
                  pool=pool)


def build_mailer(config: Config, password: str | None) -> Mailer:
    """The SMTP mailer for ``config.digest.smtp``; ``password`` comes from MONITOR_SMTP_PASSWORD,
    read by the caller (cli), never from the config file."""
    return Mailer(config.digest.smtp, password)


def build_background_translator(config: Config, clock: Clock = system_clock) -> BackgroundTranslator:
    """The daemon's translator thread, with its own store connection and models."""
    def open_parts() -> tuple[Store, Translator]:
        store = open_store(config)
        try:
            return store, build_translator(config, store)
        except BaseException:
            store.close()
            raise

    return BackgroundTranslator(open_parts, config.translation, clock)
