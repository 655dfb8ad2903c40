"""The jobs, as Procrastinate tasks on four queues. Each is a thin wrapper over the worker's
:class:`~monitor.distributed.runtime.Runtime` (handed to every job in its context).

- ``poll_feed`` (queue ``fetch``): one feed fetched and parsed; new entries become page jobs.
  Lock ``feed:URL``: never two polls of one feed at once; queueing lock ``poll:URL``: never two
  waiting.
- ``fetch_page`` (``pages``): one entry's page fetched, extracted, matched, stored. Lock
  ``host:HOST:N`` (N < ``fetch.per_host``): at most ``per_host`` fetches per host at once across
  every worker together. No queueing lock (a retry would collide with it); an entry queued twice
  is stored once (articles are unique by key).
- ``translate`` (``translate``): what waits for translation, batched; lock ``translate``.
- ``send_digest`` (``digest``): the daily digest if it is due; lock ``digest``, so however many
  schedulers defer it, one job at a time decides, and the first one records it as sent.

A job that raises is recorded (``monitor jobs`` shows the error) and stays ``failed``; page jobs
are first retried by Procrastinate up to ``MAX_ATTEMPTS`` times, and the last failure makes the
feed read again on its next poll (its validators forgotten), so the entry is not lost. Polls, the
digest and translation are not retried by Procrastinate: their queueing lock would collide with
the next one the scheduler defers; the scheduler defers them again while they are due.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import procrastinate
from procrastinate import JobContext, RetryStrategy
from procrastinate.exceptions import AlreadyEnqueued

from ..models import FeedEntry
from ..settings import FeedConfig
from .runtime import Runtime

QUEUES = ("fetch", "pages", "translate", "digest")
NAMESPACE = "monitor"  # task names: monitor:poll_feed, ...
MAX_ATTEMPTS = 3
_RETRY = RetryStrategy(max_attempts=MAX_ATTEMPTS, exponential_wait=2)  # retried after 2, 4, 8 s


def _runtime(context: JobContext) -> Runtime:
    runtime = context.additional_context["monitor"]
    assert isinstance(runtime, Runtime)
    return runtime


async def _guarded(context: JobContext, work: Any, *, last_try: Any = None) -> Any:
    """Run a job's work; an error is recorded with the job (for `monitor jobs`) and raised again.
    ``last_try(runtime)`` runs when the job will not be tried again."""
    runtime = _runtime(context)
    try:
        return await work(runtime)
    except Exception as exc:  # recorded, then raised: Procrastinate retries it or marks it failed
        job = context.job
        runtime.record_failure(job.id or 0, job.task_name, exc)
        retried = job.task_name.endswith(":fetch_page")  # attempts: the runs before this one
        if last_try is not None and (not retried or job.attempts >= MAX_ATTEMPTS):
            last_try(runtime)
        raise


def add_tasks(app: procrastinate.App) -> None:
    """Register monitor's jobs with ``app`` (under ``monitor:``). A new blueprint each time:
    Procrastinate renames a blueprint's tasks when they are added, so one cannot serve two apps."""
    blueprint = procrastinate.Blueprint()

    @blueprint.task(name="poll_feed", queue="fetch", pass_context=True)
    async def poll_feed(context: JobContext, feed_url: str) -> str:
        return str(await _guarded(context, lambda rt: rt.poll(feed_url)))

    @blueprint.task(name="fetch_page", queue="pages", pass_context=True, retry=_RETRY)
    async def fetch_page(context: JobContext, feed_url: str, entry: dict[str, Any],
                         feed_language: str | None) -> str:
        return str(await _guarded(context, lambda rt: rt.page(feed_url, entry_from_json(entry), feed_language),
                                  last_try=lambda rt: rt.forget_validators(feed_url)))

    @blueprint.task(name="translate", queue="translate", pass_context=True)
    async def translate(context: JobContext) -> str:
        return str(await _guarded(context, lambda rt: rt.translate()))

    @blueprint.task(name="send_digest", queue="digest", pass_context=True)
    async def send_digest(context: JobContext) -> str:
        return str(await _guarded(context, lambda rt: rt.digest()))

    app.add_tasks_from(blueprint, namespace=NAMESPACE)


# -- deferring ---------------------------------------------------------------------------


def entry_to_json(entry: FeedEntry) -> dict[str, Any]:
    data = asdict(entry)
    data["published"] = entry.published.isoformat() if entry.published else None
    return data


def entry_from_json(data: dict[str, Any]) -> FeedEntry:
    published = datetime.fromisoformat(data["published"]) if data.get("published") else None
    return FeedEntry(**{**data, "published": published})


async def _defer(task: Any, *, lock: str | None, queueing_lock: str | None, **kwargs: Any) -> bool:
    """Defer a job; False when an identical one already waits (its queueing lock is taken)."""
    try:
        await task.configure(lock=lock, queueing_lock=queueing_lock).defer_async(**kwargs)
    except AlreadyEnqueued:
        return False
    return True


async def defer_poll(app: procrastinate.App, feed_url: str) -> bool:
    task = app.tasks[f"{NAMESPACE}:poll_feed"]
    return await _defer(task, lock=f"feed:{feed_url}", queueing_lock=f"poll:{feed_url}", feed_url=feed_url)


async def defer_translate(app: procrastinate.App) -> bool:
    return await _defer(app.tasks[f"{NAMESPACE}:translate"], lock="translate", queueing_lock="translate")


async def defer_digest(app: procrastinate.App) -> bool:
    return await _defer(app.tasks[f"{NAMESPACE}:send_digest"], lock="digest", queueing_lock="digest")


def host_slot(link: str | None, key: str, per_host: int) -> str:
    """The politeness lock of a page job: one of ``per_host`` slots of the link's host."""
    host = (urlsplit(link).hostname or "") if link else ""
    slot = int(hashlib.sha1(key.encode()).hexdigest(), 16) % max(1, per_host)
    return f"host:{host}:{slot}"


class JobPageQueue:
    """The pipeline's page queue in the distributed deployment: one ``fetch_page`` job per entry."""

    def __init__(self, app: procrastinate.App, per_host: int) -> None:
        self._app = app
        self._per_host = per_host

    async def enqueue(self, feed: FeedConfig, entries: Sequence[FeedEntry], feed_language: str | None) -> None:
        task = self._app.tasks[f"{NAMESPACE}:fetch_page"]
        for entry in entries:
            await _defer(task, lock=host_slot(entry.link, entry.key, self._per_host), queueing_lock=None,
                         feed_url=feed.url, entry=entry_to_json(entry), feed_language=feed_language)
