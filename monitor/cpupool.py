"""Every core for the heavy CPU stages: extraction, language and matching of pages in worker
processes (``workers:`` in the config, default one per core; feeds are still parsed on the main
process's CPU thread, so a pass with no new page starts no process).

lxml's and trafilatura's parsers are not safe in two threads of one process, and one process runs
Python on one core at a time, so more cores need more processes. Each pool process builds its own
language detector and keeps the watchlists it was started with (its initializer), so a call
carries only one article's data. ``workers: 1`` keeps every CPU stage in one thread of the main
process (``app.build_page_pool`` returns no pool).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from .articles import build_article
from .language import LanguageDetector
from .models import Article, Extracted, FeedEntry
from .settings import FeedConfig
from .watchrules import Watchlist


@dataclass(frozen=True, slots=True)
class _Stages:
    detector: LanguageDetector
    watchlists: tuple[Watchlist, ...]


_stages: _Stages | None = None  # set in each pool process by its initializer; None in the main process


def _start(watchlists: tuple[Watchlist, ...], seed: int) -> None:
    global _stages
    _stages = _Stages(LanguageDetector(seed=seed), watchlists)


def process_pool(workers: int, watchlists: Sequence[Watchlist], seed: int = 0) -> ProcessPoolExecutor:
    """``workers`` processes (started as needed, by spawning: the main process has threads)."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_start, initargs=(tuple(watchlists), seed))


def build_in_pool(entry: FeedEntry, feed: FeedConfig, page: Extracted | None, feed_language: str | None,
                  now: datetime, min_chars: int, errors: tuple[str, ...]) -> Article:
    """:func:`~monitor.articles.build_article` with this pool process's detector and watchlists."""
    if _stages is None:
        raise RuntimeError("build_in_pool runs only in a pool process made by process_pool()")
    return build_article(entry, feed, page, feed_language=feed_language, detector=_stages.detector,
                         watchlists=_stages.watchlists, now=now, min_chars=min_chars, errors=errors)
