"""Composition root: the only place where clients, the store, the language
detector, the translator, the mailer and the clock are built."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from .config import Config
from .fetching import Fetcher, Resolver, build_client, system_resolver
from .language import LanguageDetector
from .mailer import Mailer
from .pipeline import DailyNotice, Pipeline, TranslationSummary, translate_pending
from .storage import Store
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
        )


def open_store(config: Config, *, read_only: bool = False) -> Store:
    """The configured database; ``read_only`` for commands that only read (export, feeds list, a digest
    preview): they then work where the database cannot be written, and never write or migrate it."""
    return Store(config.database, read_only=read_only)


def build_detector() -> LanguageDetector:
    return LanguageDetector(seed=0)  # seeded: the same text gets the same language on every run


def build_cpu_executor() -> ThreadPoolExecutor:
    """One thread for feedparser, lxml/trafilatura, langdetect and matching: lxml's parsers are
    not safe in several threads of one process at once (crashes seen under load)."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="monitor-cpu")


def build_translator(config: Config, store: Store | None) -> Translator:
    t = config.translation
    return Translator(t.packages_dir, batch_size=t.batch_size, beam_size=t.beam_size, cache=store,
                      threads=t.threads)


@asynccontextmanager
async def open_app(
    config: Config,
    *,
    clock: Clock = system_clock,
    transport: httpx.AsyncBaseTransport | None = None,
    resolver: Resolver = system_resolver,
) -> AsyncIterator[App]:
    """Build everything a pass needs; close it all afterwards."""
    store = open_store(config)
    client = build_client(config.fetch, transport)
    cpu = build_cpu_executor()
    try:
        fetcher = Fetcher(client, config.fetch, allow_private_networks=config.allow_private_networks,
                          resolver=resolver, clock=clock)
        yield App(config=config, store=store, fetcher=fetcher, detector=build_detector(), clock=clock, cpu=cpu)
    finally:
        await client.aclose()
        cpu.shutdown(wait=True, cancel_futures=True)
        store.close()


def build_mailer(config: Config, password: str | None) -> Mailer:
    """The SMTP mailer for ``config.digest.smtp``; ``password`` comes from MONITOR_SMTP_PASSWORD,
    read by the caller (cli), never from the config file."""
    return Mailer(config.digest.smtp, password)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background translation failed", exc_info=task.exception())


class BackgroundTranslator:
    """Runs :func:`translate_pending` in one worker thread, so the daemon's event loop keeps
    polling feeds while the model works. The thread has its own store connection (SQLite
    connections stay on their thread) and its own translator (models stay loaded between runs);
    calls queue up one after the other."""

    def __init__(self, config: Config, clock: Clock = system_clock) -> None:
        self._config = config
        self._notice = DailyNotice(clock)  # "no model for sv->en" once a day, not after every poll
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="monitor-translate")
        self._store: Store | None = None
        self._translator: Translator | None = None
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self.runs = 0  # translation runs done, for tests and logs

    def _work(self) -> TranslationSummary:
        self.runs += 1
        if self._store is None:
            self._store = open_store(self._config)
            self._translator = build_translator(self._config, self._store)
        assert self._translator is not None
        return translate_pending(self._store, self._translator, self._config.translation, notice=self._notice)

    async def run(self) -> TranslationSummary:
        """Translate now (after any run in flight) and wait for it."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._work)

    def request(self) -> None:
        """Ask for a run without waiting: requests that arrive while one runs merge into one more run."""
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.create_task(self._runs())
        self._task.add_done_callback(_log_failure)

    async def drain(self) -> None:
        """Wait until requested runs are done."""
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    async def _runs(self) -> None:
        while True:
            self._again = False
            await self.run()
            if not self._again:
                return

    async def aclose(self) -> None:
        """Stop: a batch in the model's hands is finished (each article is its own transaction)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await asyncio.to_thread(self.close)

    def close(self) -> None:
        def close_store() -> None:
            if self._store is not None:
                self._store.close()

        self._executor.submit(close_store)
        self._executor.shutdown(wait=True)
