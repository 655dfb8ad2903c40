"""Translation runs, the one home for them: translate what waits in the store, after articles
are stored and matched (flags never wait on translation). `monitor fetch` and `monitor translate`
call :func:`translate_pending` directly; the daemon through :class:`BackgroundTranslator`, one
worker thread with its own store connection, so its event loop keeps polling meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime

from .errors import MonitorError, TranslationError
from .models import TranslationState
from .settings import TranslationSettings
from .storage import Store
from .translation import Translator, install_hint

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TranslationSummary:
    translated: int = 0
    unavailable: int = 0
    missing_pairs: tuple[str, ...] = ()  # languages with no model, e.g. ("sv",)


class DailyNotice:
    """Says yes once per key per day: for warnings a daemon would otherwise repeat on every poll
    (a missing model is noticed after every feed with new articles). The day is the UTC date of
    ``clock()``; a fresh instance (a new process) says yes again."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._last: dict[str, date] = {}

    def first_today(self, key: str) -> bool:
        today = self._clock().astimezone(UTC).date()
        if self._last.get(key) == today:
            return False
        self._last[key] = today
        return True


def translate_pending(
    store: Store, translator: Translator, settings: TranslationSettings, *, articles_per_batch: int = 32,
    notice: DailyNotice | None = None, stop: threading.Event | None = None,
) -> TranslationSummary:
    """Translate what is pending (or was unavailable, in case a model has been installed since).

    Titles of every non-English article; bodies of flagged ones (all, with translate_all).
    Runs after articles are stored and matched, so flags never wait on translation. A language
    with no model is noted in one log line with the command that installs it; a model that
    fails is logged and the other languages go on. With a ``notice`` (the daemon's), the missing
    model is a warning once per language per day, else a debug line.
    """
    translated, unavailable, missing = 0, 0, []
    for language, ids in sorted(store.translation_queue().items()):
        if not translator.can_translate(language):
            missing.append(language)
            waiting = store.mark_untranslatable(language)
            unavailable += waiting
            level = logging.WARNING if notice is None or notice.first_today(f"model:{language}") else logging.DEBUG
            log.log(level, "no translation model for %s->en (%d article(s) wait); %s",
                    language, waiting, install_hint(language))
            continue
        done = 0
        try:
            for start in range(0, len(ids), articles_per_batch):
                if stop is not None and stop.is_set():
                    break  # the daemon stops: what is left waits for the next run
                batch = [store.article(i) for i in ids[start:start + articles_per_batch]]
                texts: list[str] = []
                for stored in batch:
                    wants_body = settings.translate_all or stored.article.flagged
                    texts += [stored.article.title, stored.article.text if wants_body else ""]
                out = translator.translate(texts, language)
                for i, stored in enumerate(batch):
                    title_en, body_en = out[2 * i], out[2 * i + 1]
                    store.set_translation(stored.id, TranslationState.DONE, title_en, body_en or None)
                    done += 1
        except TranslationError as exc:  # ModelUnavailableError included: removed meanwhile
            log.error("translating %s failed: %s; %d article(s) still wait", language, exc, len(ids) - done)
        translated += done
    return TranslationSummary(translated=translated, unavailable=unavailable, missing_pairs=tuple(missing))


def _log_failure(task: asyncio.Task[None]) -> None:
    if task.cancelled() or task.exception() is None:
        return
    exc = task.exception()
    if isinstance(exc, MonitorError):  # the database locked too long, say: one line, the next run retries
        log.error("background translation failed: %s", exc)
    else:
        log.error("background translation failed", exc_info=exc)


class BackgroundTranslator:
    """Runs :func:`translate_pending` in one worker thread, so the daemon's event loop keeps
    polling feeds while the model works. The thread has its own store connection (SQLite
    connections stay on their thread) and its own translator (models stay loaded between runs);
    calls queue up one after the other."""

    def __init__(
        self, open_parts: Callable[[], tuple[Store, Translator]], settings: TranslationSettings,
        clock: Callable[[], datetime],
    ) -> None:
        self._open_parts = open_parts  # called in the worker thread: the store is that thread's
        self._settings = settings
        self._notice = DailyNotice(clock)  # "no model for sv->en" once a day, not after every poll
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="monitor-translate")
        self._store: Store | None = None
        self._translator: Translator | None = None
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self._then: Callable[[], object] | None = None
        self.runs = 0  # translation runs done, for tests and logs
        self._stop = threading.Event()  # set on close: the run in flight ends after its current batch

    def _work(self) -> TranslationSummary:
        self.runs += 1
        if self._store is None or self._translator is None:
            self._store, self._translator = self._open_parts()
        return translate_pending(self._store, self._translator, self._settings, notice=self._notice, stop=self._stop)

    async def run(self) -> TranslationSummary:
        """Translate now (after any run in flight) and wait for it."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._work)

    def then(self, after: Callable[[], object]) -> None:
        """Call ``after`` on the event loop's thread once each requested run is done (the daemon
        places the articles that waited for their translation in their stories)."""
        self._then = after

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
            try:
                await self.run()
            except MonitorError as exc:  # the store busy, say: what waits is translated by the next run
                log.error("background translation: %s", exc)
            if self._then is not None:  # a failed run holds no story back
                try:
                    self._then()
                except MonitorError as exc:  # the store busy, say: the next run places them
                    log.error("after translation: %s", exc)
            if not self._again:
                return

    async def aclose(self) -> None:
        """Stop: the batch in the model's hands is finished (each article is its own transaction), the
        rest waits for the next run, so SIGTERM does not wait for a whole backlog."""
        self._stop.set()
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
