"""The distributed deployment's processes, built from a config (the composition root of
`monitor schedule`, `monitor worker`, `monitor jobs`, and `monitor run` on PostgreSQL)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from functools import partial

import procrastinate

from ..app import PASSWORD_ENV, Clock, build_mailer, build_translator, open_app, open_store, system_clock
from ..config import Config, load_config
from ..mailer import PASSWORD_ENV as SMTP_PASSWORD_ENV
from ..pipeline import Pipeline
from ..storage import Store
from ..translation import Translator
from .jobs import JobRow, JobsUnavailable, build_job_app, count_jobs, ensure_schema, list_jobs
from .runtime import Runtime
from .scheduling import JobScheduler
from .tasks import QUEUES, JobPageQueue, defer_translate

log = logging.getLogger(__name__)


@asynccontextmanager
async def open_jobs(config: Config, *, pool_size: int = 4, migrate: bool = True) -> AsyncIterator[procrastinate.App]:
    """The job app, open, its schema applied, and with ``migrate`` a newer Procrastinate's
    migrations (monitor's own schema is migrated by opening the store)."""
    password = os.environ.get(PASSWORD_ENV)
    app = build_job_app(config.database, password, pool_size=pool_size)
    await asyncio.to_thread(partial(ensure_schema, migrate=migrate), app, config.database, password)
    async with app.open_async():
        yield app


@asynccontextmanager
async def open_runtime(config: Config, jobs: procrastinate.App, clock: Clock = system_clock
                       ) -> AsyncIterator[Runtime]:
    async with open_app(config, clock=clock) as parts:
        def make_pipeline(config: Config) -> Pipeline:
            return Pipeline(fetcher=parts.fetcher, store=parts.store, detector=parts.detector,
                            watchlists=config.watchlists, settings=config.fetch, clock=clock, cpu=parts.cpu,
                            pool=parts.pool, pages=JobPageQueue(jobs, config.fetch.per_host))
        pipeline = make_pipeline(config)

        def make_translator() -> tuple[Store, Translator]:
            store = open_store(config)
            return store, build_translator(config, store)

        runtime = Runtime(config=config, store=parts.store, pipeline=pipeline,
                          mailer=build_mailer(config, os.environ.get(SMTP_PASSWORD_ENV)), clock=clock,
                          make_translator=make_translator, defer_translate=lambda: defer_translate(jobs),
                          started_at=clock(), load=load_config, make_pipeline=make_pipeline)
        try:
            yield runtime
        finally:
            runtime.close()


def _stop_event() -> asyncio.Event:
    """Set on SIGTERM or SIGINT. SIGHUP (the daemon's "reload") does not stop: schedulers read the
    config every tick and workers when it changed, so there is nothing more to do for it."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, lambda: log.info("SIGHUP: the config is re-read when it changes"))
    return stop


async def _scheduler(config: Config, jobs: procrastinate.App, stop: asyncio.Event) -> None:
    with open_store(config) as store:
        await JobScheduler(config, store, jobs, clock=system_clock, load=load_config).run(stop)


async def serve_scheduler(config: Config) -> None:
    """`monitor schedule`: until SIGTERM/SIGINT."""
    async with open_jobs(config) as jobs:
        await _scheduler(config, jobs, _stop_event())


async def _worker(config: Config, jobs: procrastinate.App, queues: Sequence[str], concurrency: int,
                  stop: asyncio.Event) -> None:
    async with open_runtime(config, jobs) as runtime:
        log.info("worker started: queues %s, concurrency %d", ",".join(queues), concurrency)
        worker = asyncio.create_task(jobs.run_worker_async(
            queues=list(queues), concurrency=concurrency, name=f"monitor-{os.getpid()}",
            additional_context={"monitor": runtime}, install_signal_handlers=False,
            update_heartbeat_interval=config.jobs.heartbeat, stalled_worker_timeout=config.jobs.stalled_after,
            shutdown_graceful_timeout=30, delete_jobs="successful"))
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({worker, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if worker.done():  # not asked to stop: Procrastinate gave up (its heartbeat or listener failed)
            stop.set()  # the scheduler beside it in `monitor run` stops too
            reason = worker.exception() if not worker.cancelled() else None
            raise JobsUnavailable(f"the worker stopped on its own ({reason or 'no error given'}); restart it")
        log.info("worker stopping: finishing the jobs in hand")
        worker.cancel()  # Procrastinate's graceful stop: running jobs get shutdown_graceful_timeout
        with suppress(asyncio.CancelledError):
            await worker


async def serve_worker(config: Config, queues: Sequence[str] = QUEUES, concurrency: int = 1) -> None:
    """`monitor worker`: run jobs from ``queues`` until SIGTERM/SIGINT."""
    async with open_jobs(config, pool_size=concurrency + 2) as jobs:
        await _worker(config, jobs, queues, concurrency, _stop_event())


async def serve_all(config: Config, concurrency: int = 1) -> None:
    """`monitor run` on PostgreSQL: a scheduler and a worker on every queue, in one process."""
    async with open_jobs(config, pool_size=concurrency + 3) as jobs:
        stop = _stop_event()
        await asyncio.gather(_scheduler(config, jobs, stop), _worker(config, jobs, QUEUES, concurrency, stop))


@dataclass(frozen=True, slots=True)
class JobReport:
    counts: dict[tuple[str, str], int]
    rows: list[JobRow]
    errors: dict[int, str]


async def job_report(config: Config, statuses: tuple[str, ...], limit: int) -> JobReport:
    """`monitor jobs`: counts per queue and status, and the latest jobs in ``statuses`` with their errors."""
    async with open_jobs(config, pool_size=2, migrate=False) as jobs:  # old workers may still run
        counts = await count_jobs(jobs)
        rows = await list_jobs(jobs, statuses=statuses, limit=limit)
    with open_store(config, read_only=True) as store:
        errors = store.job_errors([r.id for r in rows])
    return JobReport(counts=counts, rows=rows, errors=errors)
