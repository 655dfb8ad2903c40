"""The distributed deployment as it runs: a real PostgreSQL, `monitor schedule` and `monitor
worker` as real processes against the loopback site, a real SMTP server.

- two schedulers and two workers: every article stored exactly once, the digest sent once;
- a worker killed with SIGKILL in the middle of a page: its job is retried by the other worker,
  and the article is stored once;
- the per-host limit holds across workers together (per_host: 1, two workers, page requests to
  the host never overlap);
- `monitor jobs` lists a job that failed, with its error;
- an edit of feeds.yaml that does not load is reported once (file:line) and the old config runs on;
  the next good edit reaches the scheduler and the workers.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import procrastinate
import psycopg
import pytest

from monitor.config import load_config
from monitor.distributed.jobs import build_job_app, ensure_schema, job_migrations, retry_stalled
from monitor.distributed.service import open_jobs
from monitor.distributed.tasks import defer_poll
from monitor.errors import StorageError
from monitor.storage import Store
from tests.support import seedsite
from tests.support.httpserver import TestServer
from tests.support.postgres import PostgresServer
from tests.support.site import seed_site
from tests.support.smtp import smtp_server

REPO = Path(__file__).resolve().parents[1]
JOBS = "jobs:\n  tick: 0.5s\n  heartbeat: 1s\n  stalled_after: 3s\n"


def _config(tmp_path: Path, database: str, feeds: str, extra: str = "") -> Path:
    config = tmp_path / "feeds.yaml"
    config.write_text(f"database: {database}\nallow_private_networks: true\ntranslation:\n  enabled: false\n"
                      f"{JOBS}{extra}feeds:\n{feeds}", encoding="utf-8")
    return config


def _seed_feeds(server: TestServer) -> str:
    return (f"  - {{name: Dagens PS, url: '{server.url('/dagensps/feed/')}', language: sv}}\n"
            f"  - {{name: DW Chinese, url: '{server.url('/rss-chi-all')}'}}\n"
            f"  - {{name: Ars Technica, url: '{server.url('/ars/feed')}'}}\n")


class Processes:
    """monitor processes, their logs in files; all stopped (SIGKILL if need be) at the end."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, config: Path, *args: str) -> subprocess.Popen[bytes]:
        log = (self.tmp_path / f"{name}.log").open("wb")
        proc = subprocess.Popen([sys.executable, "-m", "monitor", *args, "--config", str(config)], cwd=REPO,
                                stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONFAULTHANDLER": "1"})
        self.procs[name] = proc
        return proc

    def log(self, name: str) -> str:
        return (self.tmp_path / f"{name}.log").read_text(encoding="utf-8", errors="replace")

    def stop_all(self) -> dict[str, int]:
        codes = {}
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for name, proc in self.procs.items():
            try:
                codes[name] = proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                proc.kill()
                codes[name] = proc.wait()
        return codes


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Processes]:
    p = Processes(tmp_path)
    try:
        yield p
    finally:
        p.stop_all()


def _wait(what: str, check: Callable[[], bool], timeout: float = 90.0, logs: Callable[[], str] = str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{logs()}")
        time.sleep(0.3)


def _count(url: str) -> int:
    with Store(url, read_only=True) as store:
        return store.count_articles()


def _placed(url: str) -> int:
    with Store(url, read_only=True) as store:
        return sum(s.story is not None for s in store.articles())


def test_two_schedulers_and_two_workers_store_each_article_once_and_send_one_digest(
    postgres: PostgresServer, server: TestServer, procs: Processes, tmp_path: Path
) -> None:
    seed_site(server)
    url = postgres.create_database("two_by_two")
    now = datetime.now(UTC)
    with smtp_server() as (port, sink):
        digest = (f"digest:\n  time: \"{(now - timedelta(minutes=1)).strftime('%H:%M')}\"\n  timezone: UTC\n"
                  f"  from: monitor@example.org\n  to: [desk@example.org]\n  empty: send\n"
                  f"  smtp: {{host: 127.0.0.1, port: {port}, timeout: 5}}\n")
        config = _config(tmp_path, url, _seed_feeds(server), digest)
        with Store(url) as store:  # yesterday's digest was sent: today's slot, a minute ago, is due
            store.record_digest(sent_at=now - timedelta(days=1), covers_until=now - timedelta(days=1),
                                article_count=0, recipients=["desk@example.org"], last_article_id=0)
        for name in ("scheduler-1", "scheduler-2"):
            procs.start(name, config, "schedule")
        for name in ("worker-1", "worker-2"):
            procs.start(name, config, "worker", "--concurrency", "2")
        logs = lambda: "\n".join(f"--- {n}\n{procs.log(n)[-3000:]}" for n in procs.procs)  # noqa: E731
        _wait("three articles stored", lambda: _count(url) == 3, logs=logs)
        _wait("every article in a story", lambda: _placed(url) == 3, logs=logs)  # by the batch job
        _wait("the digest", lambda: len(sink.messages) >= 1, logs=logs)
        time.sleep(3)  # several more ticks of both schedulers
        assert len(sink.messages) == 1, logs()
        codes = procs.stop_all()
    assert codes == dict.fromkeys(procs.procs, 0), logs()
    with Store(url, read_only=True) as store:
        stored = list(store.articles())
        assert sorted(s.article.feed_name for s in stored) == ["Ars Technica", "DW Chinese", "Dagens PS"]
        assert len({s.article.key for s in stored}) == 3
        last = store.last_digest()
        assert last is not None and last.sent_at > now - timedelta(minutes=5)  # today's, recorded
    with psycopg.connect(url) as conn:  # and recorded once: yesterday's and today's
        assert conn.execute("SELECT count(*) FROM digests").fetchone() == (2,)
    for name in procs.procs:
        assert "Traceback" not in procs.log(name), procs.log(name)
    assert sum(len(server.requests_to(p)) for p in ("/dagensps/2025/tio-miljarder-i-smuggelchips/",
                                                     "/zh/a-65967606", "/ars/minecraft-exploit/")) == 3


def _slow_site(server: TestServer, pages: int, delay: float,
               on_request: Callable[[str], None] = lambda path: None) -> str:
    """A feed of ``pages`` article pages, each answered after ``delay`` seconds."""
    ps = seedsite.dagens_ps()
    body = seedsite.article_page(ps, "Dagens PS").encode()
    active: list[int] = [0]
    lock = threading.Lock()
    peak: list[int] = [0]

    def handler(req: BaseHTTPRequestHandler) -> None:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        on_request(req.path)
        try:
            time.sleep(delay)
            req.send_response(200)
            req.send_header("Content-Type", "text/html; charset=utf-8")
            req.send_header("Content-Length", str(len(body)))
            req.end_headers()
            req.wfile.write(body)
        finally:
            with lock:
                active[0] -= 1

    items = []
    for i in range(pages):
        link = server.add_handler(f"/slow/{i}", handler)
        items.append((seedsite.Seed(**{**ps.__dict__, "slug": f"s{i}", "title": f"Smugglade AI-chip {i}"}), link))
    server.add("/slow/feed", seedsite.rss_feed("Slow", "sv", items).encode(), "application/rss+xml")
    server.peak = peak  # type: ignore[attr-defined]
    return f"  - {{name: Slow, url: '{server.url('/slow/feed')}', language: sv}}\n"


def test_the_per_host_limit_holds_across_workers(
    postgres: PostgresServer, server: TestServer, procs: Processes, tmp_path: Path
) -> None:
    url = postgres.create_database("per_host")
    feeds = _slow_site(server, pages=6, delay=0.4)
    config = _config(tmp_path, url, feeds, "fetch:\n  per_host: 1\n")
    procs.start("scheduler", config, "schedule")
    procs.start("worker-1", config, "worker", "--concurrency", "3")
    procs.start("worker-2", config, "worker", "--concurrency", "3")
    _wait("six articles", lambda: _count(url) == 6, logs=lambda: procs.log("worker-1") + procs.log("worker-2"))
    assert server.peak[0] == 1  # type: ignore[attr-defined]  # never two page requests at once


def test_a_worker_killed_mid_page_has_its_job_retried_by_another(
    postgres: PostgresServer, server: TestServer, procs: Processes, tmp_path: Path
) -> None:
    url = postgres.create_database("kill_nine")
    first_hit = threading.Event()
    hits: list[str] = []

    def on_request(path: str) -> None:
        hits.append(path)
        if path == "/slow/0":
            first_hit.set()

    feeds = _slow_site(server, pages=1, delay=2.0, on_request=on_request)
    config = _config(tmp_path, url, feeds)
    victim = procs.start("victim", config, "worker", "--concurrency", "1")
    time.sleep(2)  # the victim is up and waiting before anything is queued
    procs.start("scheduler", config, "schedule")
    assert first_hit.wait(60), procs.log("victim") + procs.log("scheduler")
    victim.send_signal(signal.SIGKILL)  # mid-page: its job stays "doing", its heartbeat stops
    victim.wait(10)
    procs.start("rescuer", config, "worker", "--concurrency", "1")
    _wait("the article, stored by the rescuer", lambda: _count(url) == 1, timeout=60,
          logs=lambda: procs.log("scheduler") + procs.log("rescuer"))
    time.sleep(2)
    assert _count(url) == 1
    assert hits.count("/slow/0") == 2  # fetched by the victim (killed) and again by the rescuer
    assert "stopped answering; retrying it" in procs.log("scheduler")


def test_monitor_jobs_lists_a_failed_job_with_its_error(
    postgres: PostgresServer, server: TestServer, procs: Processes, tmp_path: Path
) -> None:
    url = postgres.create_database("failed_job")
    seed_site(server)
    config = _config(tmp_path, url, _seed_feeds(server))
    out = subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "jobs"], cwd=REPO,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout == ""  # nothing queued yet

    async def defer_broken() -> None:  # a page job whose entry cannot be read
        async with open_jobs(load_config(config)) as jobs:
            await jobs.tasks["monitor:fetch_page"].defer_async(feed_url=server.url("/ars/feed"),
                                                                entry={"nonsense": 1}, feed_language=None)
    asyncio.run(defer_broken())
    procs.start("worker", config, "worker")

    def listed() -> str:
        return subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "jobs"], cwd=REPO,
                              capture_output=True, text=True, timeout=60).stdout
    _wait("the job to fail for good", lambda: "failed monitor:fetch_page" in listed(), timeout=90,
          logs=lambda: procs.log("worker"))
    text = listed()
    assert "pages      failed" in text and "error: TypeError" in text and "nonsense" in text, text


def test_monitor_run_on_postgresql_is_a_scheduler_and_a_worker_in_one_process(
    postgres: PostgresServer, server: TestServer, procs: Processes, tmp_path: Path
) -> None:
    seed_site(server)
    url = postgres.create_database("run_in_one")
    config = _config(tmp_path, url, _seed_feeds(server))
    procs.start("run", config, "run")
    _wait("three articles stored", lambda: _count(url) == 3, logs=lambda: procs.log("run"))
    assert procs.stop_all() == {"run": 0}
    log = procs.log("run")
    assert "scheduler started: 3 enabled feed(s)" in log
    assert "worker started: queues fetch,pages,translate,digest" in log, log
    assert "Traceback" not in log, log


def test_scheduler_and_worker_go_on_after_a_postgresql_restart(
    postgres: PostgresServer, server: TestServer, procs: Processes, tmp_path: Path
) -> None:
    seed_site(server)
    url = postgres.create_database("restart_jobs")
    feeds = _seed_feeds(server)
    config = _config(tmp_path, url, feeds)
    procs.start("scheduler", config, "schedule")
    procs.start("worker", config, "worker", "--concurrency", "2")
    logs = lambda: procs.log("scheduler")[-3000:] + procs.log("worker")[-3000:]  # noqa: E731
    _wait("three articles stored", lambda: _count(url) == 3, logs=logs)
    postgres.restart(down_for=3)  # every connection of both processes is cut, and none can be made for 3 s
    time.sleep(1)
    slow = _slow_site(server, pages=2, delay=0.1)  # a feed added after the restart
    config.write_text(config.read_text(encoding="utf-8") + slow, encoding="utf-8")
    _wait("the new feed's two articles", lambda: _count(url) == 5, logs=logs)
    assert procs.stop_all() == {"scheduler": 0, "worker": 0}, logs()


def test_an_edit_that_does_not_load_keeps_the_old_config_and_the_next_good_edit_applies(
    postgres: PostgresServer, server: TestServer, procs: Processes, tmp_path: Path
) -> None:
    seed_site(server)
    url = postgres.create_database("edit_jobs")
    first, *others = _seed_feeds(server).splitlines(keepends=True)
    config = _config(tmp_path, url, first)
    procs.start("scheduler", config, "schedule")
    procs.start("worker", config, "worker", "--concurrency", "2")
    logs = lambda: procs.log("scheduler")[-3000:] + procs.log("worker")[-3000:]  # noqa: E731
    _wait("the first feed's article", lambda: _count(url) == 1, logs=logs)
    good = config.read_text(encoding="utf-8")
    config.write_text(good + "".join(others).replace("url:", "interval: soon, url:", 1), encoding="utf-8")
    _wait("the broken edit reported", lambda: "config not reloaded" in procs.log("scheduler"), logs=logs)
    time.sleep(2)  # four more ticks: the broken file is not read, nor reported, again
    broken_line = len(good.splitlines()) + 1
    reports = [line for line in procs.log("scheduler").splitlines() if "config not reloaded" in line]
    assert len(reports) == 1 and f"{config}:{broken_line}" in reports[0], logs()
    assert _count(url) == 1  # the old config ran on: no feed of the broken edit was polled
    config.write_text(good + "".join(others), encoding="utf-8")
    _wait("the two added feeds' articles", lambda: _count(url) == 3, logs=logs)  # the worker read it too
    assert "config reloaded: 3 enabled feed(s)" in procs.log("scheduler"), logs()
    assert procs.stop_all() == {"scheduler": 0, "worker": 0}, logs()
    assert "Traceback" not in logs(), logs()


def test_a_stalled_job_whose_twin_already_waits_is_failed_not_retried(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    """Queueing locks cover waiting jobs only: while a poll runs, the scheduler may queue the next
    one. If the worker running the first dies, retrying it would collide with the twin (a unique
    index): the stalled job is marked failed instead, freeing its lock, and the twin runs."""
    url = postgres.create_database("stalled_twin")
    config = load_config(_config(tmp_path, url, "  - {name: F, url: 'https://f.example/rss'}\n"))
    Store(url).close()

    async def scenario() -> tuple[int, dict[int, str]]:
        async with open_jobs(config) as jobs:
            assert await defer_poll(jobs, "https://f.example/rss")
            dead = await jobs.job_manager.register_worker()
            running = await jobs.job_manager.fetch_job(queues=None, worker_id=dead)
            assert running is not None and running.id is not None
            assert await defer_poll(jobs, "https://f.example/rss")  # the twin, queued meanwhile
            await jobs.connector.execute_query_async(
                "UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 hour'")
            retried = await retry_stalled(jobs, 30)
            rows = await jobs.connector.execute_query_all_async(
                "SELECT id, status::text AS status FROM procrastinate_jobs")
            return retried, {r["id"]: r["status"] for r in rows}

    retried, statuses = asyncio.run(scenario())
    assert retried == 0 and sorted(statuses.values()) == ["failed", "todo"]


def test_the_minimum_delay_per_host_holds_across_workers(
    postgres: PostgresServer, server: TestServer, procs: Processes, tmp_path: Path
) -> None:
    """fetch.min_host_delay: 0.4 s with two workers, four jobs at a time each: page requests to the
    host start at least 0.4 s apart (turns reserved in the database), not 0.4 s apart per worker."""
    url = postgres.create_database("host_delay")
    starts: list[float] = []
    feeds = _slow_site(server, pages=6, delay=0.0,
                       on_request=lambda path: starts.append(time.monotonic()) if path != "/slow/feed" else None)
    config = _config(tmp_path, url, feeds, "fetch:\n  per_host: 4\n  min_host_delay: 0.4\n")
    procs.start("scheduler", config, "schedule")
    procs.start("worker-1", config, "worker", "--concurrency", "2")
    procs.start("worker-2", config, "worker", "--concurrency", "2")
    _wait("six articles", lambda: _count(url) == 6, logs=lambda: procs.log("worker-1") + procs.log("worker-2"))
    gaps = [b - a for a, b in zip(sorted(starts), sorted(starts)[1:], strict=False)]
    # turns are reserved 0.4 s apart; when a request reaches the server varies with a busy core (one
    # arrived 0.25 s late under load, leaving a 0.15 s gap to the next); without shared turns, two
    # workers' requests land together (gaps ~0, a span of ~1 s)
    assert len(starts) == 6, starts
    assert sorted(gaps)[len(gaps) // 2] >= 0.35 and max(starts) - min(starts) >= 1.8 and min(gaps) >= 0.1, gaps


def test_a_worker_applies_the_migrations_a_newer_procrastinate_brings(
    postgres: PostgresServer, server: TestServer, procs: Processes, tmp_path: Path
) -> None:
    """A database whose job schema is older than the installed Procrastinate (its fetch function
    missing, the migration that makes it not on record): `monitor jobs`, which may run beside old
    workers, only says a migration waits; the first worker to start applies it, says so, and runs
    jobs again. A schema from before monitor kept count is adopted only when it is complete."""
    url = postgres.create_database("job_migrations")
    config = _config(tmp_path, url, _seed_feeds(server))
    app = build_job_app(url, None)
    assert ensure_schema(app, url, None) == []  # a new database: the schema, every migration on record
    shipped = [f.name for f in job_migrations()]
    recorded = "SELECT name FROM procrastinate_monitor_migrations ORDER BY name"
    fetch_job = "procrastinate_fetch_job_v2(character varying[], bigint)"
    with psycopg.connect(url, autocommit=True) as conn:
        assert [r[0] for r in conn.execute(recorded)] == shipped
        migration = next(n for n in shipped if n.startswith("03.03.00_01"))  # (re)creates the fetch function
        conn.execute(f"DROP FUNCTION {fetch_job}")
        conn.execute("DELETE FROM procrastinate_monitor_migrations WHERE name = %s", (migration,))

    listing = subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "jobs"], cwd=REPO,
                             capture_output=True, text=True, timeout=60)
    assert listing.returncode == 0, listing.stderr
    assert f"1 migration(s) of Procrastinate {procrastinate.__version__} wait ({migration}" in listing.stderr

    async def defer_broken() -> None:  # deferring needs no fetch function; a worker does
        async with app.open_async():
            await app.tasks["monitor:fetch_page"].defer_async(feed_url=server.url("/ars/feed"),
                                                              entry={"nonsense": 1}, feed_language=None)
    asyncio.run(defer_broken())
    procs.start("worker", config, "worker")
    tried = "SELECT count(*) FROM procrastinate_jobs WHERE attempts > 0 OR status <> 'todo'"

    def fetched() -> bool:
        with psycopg.connect(url) as conn:
            return conn.execute(tried).fetchone() == (1,)
    _wait("the worker to fetch the job", fetched, logs=lambda: procs.log("worker"))
    assert f"applying Procrastinate's migration {migration}" in procs.log("worker"), procs.log("worker")
    with psycopg.connect(url, autocommit=True) as conn:
        assert [r[0] for r in conn.execute(recorded)] == shipped
        conn.execute("DROP TABLE procrastinate_monitor_migrations")  # as a database from before the record
    assert ensure_schema(app, url, None) == []  # complete: adopted, its job kept
    with psycopg.connect(url, autocommit=True) as conn:
        assert [r[0] for r in conn.execute(recorded)] == shipped
        assert conn.execute("SELECT count(*) FROM procrastinate_jobs").fetchone() == (1,)
        conn.execute("DROP TABLE procrastinate_monitor_migrations")
        conn.execute(f"DROP FUNCTION {fetch_job}")
    with pytest.raises(StorageError, match="lacks procrastinate_fetch_job_v2"):  # incomplete: nothing guessed
        ensure_schema(app, url, None)
