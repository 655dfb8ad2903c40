"""Benchmark: the same loopback site of real pages, side by side in one run:

- trafilatura alone, monitor's options, in 2 processes (the extraction-bound limit of the machine);
- a naive sequential pipeline (httpx.get -> feedparser -> trafilatura -> langdetect -> sqlite insert);
- monitor on SQLite (`monitor fetch`) with `workers: 1` and `workers: 2`;
- monitor on PostgreSQL with 1 and 2 `monitor worker` processes (plus one `monitor schedule`);
- with --latency S: the naive pipeline and monitor on SQLite again with S seconds added to every response.

Starts its own PostgreSQL (initdb/pg_ctl, as the tests do). Prints, per setup, the seconds until
every article is stored, articles/s, and peak RSS.

    .venv/bin/python bench/bench_distributed.py [--feeds 20] [--articles 50] [--concurrency 4] [--latency 0.2]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_pipeline import real_pages, rss  # noqa: E402
from monitor.storage import Store  # noqa: E402
from tests.support.httpserver import TestServer  # noqa: E402
from tests.support.postgres import postgres_server  # noqa: E402


def site(server: TestServer, feeds: int, articles: int) -> str:
    pages = real_pages(feeds * articles)
    lines = []
    for f in range(feeds):
        items = []
        for a in range(articles):
            url = server.add(f"/f{f}/a{a}", pages[f * articles + a], "text/html")
            items.append((f"Article {f}-{a}", url))
        feed_url = server.add(f"/f{f}/feed", rss(f"Feed {f}", items), "application/rss+xml")
        lines.append(f"  - {{name: feed {f}, url: '{feed_url}'}}\n")
    return "".join(lines)


def config(folder: Path, database: str, feeds: str, workers: int = 1) -> Path:
    path = folder / "feeds.yaml"
    path.write_text(f"database: {database}\nworkers: {workers}\nallow_private_networks: true\n"
                    "translation: {enabled: false}\n"
                    "fetch: {per_host: 8, concurrency: 16}\njobs: {tick: 0.5s}\n"
                    f"feeds:\n{feeds}", encoding="utf-8")
    return path


def peak_rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_sqlite(folder: Path, feeds: str, total: int, workers: int, tag: str = "") -> tuple[float, int]:
    db = folder / f"bench-{workers}{tag}.sqlite3"
    cfg = config(folder, str(db), feeds, workers)
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(cfg), "fetch"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, peak_rss_kib(proc.pid))
        time.sleep(0.1)
    elapsed = time.monotonic() - started
    with Store(db, read_only=True) as store:
        assert store.count_articles() == total, store.count_articles()
    if workers == 2 and not tag:  # a second pass: nothing new (every feed answers 304 or the same body)
        again = time.monotonic()
        subprocess.run([sys.executable, "-m", "monitor", "--config", str(cfg), "fetch"], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        warm = time.monotonic() - again
        print(f"  a pass with nothing new: {warm:.2f} s, {warm / elapsed:.1%} of the cold pass")
    return elapsed, peak


def _extract_one(html: bytes) -> int:
    """One page through decoding and trafilatura with monitor's options (monitor.extraction.extract)."""
    from monitor.decoding import decode_html
    from monitor.errors import ExtractionError
    from monitor.extraction import extract

    try:
        return len(extract(decode_html(html, {}), None).text)
    except ExtractionError:
        return 0


def run_trafilatura_alone(total: int) -> float:
    """Pages per second, extraction only (monitor's options), 2 processes: what extraction allows here."""
    import multiprocessing

    pages = real_pages(total)
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pool.map(_extract_one, pages[:4])  # warm: imports
        started = time.monotonic()
        pool.map(_extract_one, pages, chunksize=4)
        return total / (time.monotonic() - started)


def run_naive(server: TestServer, feeds: int, folder: Path) -> tuple[float, int]:
    """The 30-line sequential pipeline a newcomer writes."""
    import sqlite3

    import feedparser
    import httpx
    import langdetect
    import trafilatura

    db = sqlite3.connect(folder / f"naive-{time.monotonic_ns()}.sqlite3")
    db.execute("CREATE TABLE a (url TEXT PRIMARY KEY, title TEXT, text TEXT, lang TEXT)")
    started, count = time.monotonic(), 0
    for f in range(feeds):
        parsed = feedparser.parse(httpx.get(server.url(f"/f{f}/feed")).content)
        for entry in parsed.entries:
            html = httpx.get(entry.link).text
            text = trafilatura.extract(html) or ""
            try:
                lang = langdetect.detect(text) if text else "und"
            except langdetect.LangDetectException:
                lang = "und"
            db.execute("INSERT OR IGNORE INTO a VALUES (?,?,?,?)", (entry.link, entry.title, text, lang))
            db.commit()
            count += 1
    return time.monotonic() - started, count


def run_workers(folder: Path, database: str, feeds: str, total: int, workers: int, concurrency: int
                ) -> tuple[float, int]:
    cfg = config(folder, database, feeds)
    Store(database).close()  # schema first, so the clock measures the work
    procs = [subprocess.Popen([sys.executable, "-m", "monitor", "worker", "--config", str(cfg), "--concurrency",
                               str(concurrency)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for _ in range(workers)]
    time.sleep(3)  # workers up (imports, pools) before anything is queued
    started = time.monotonic()
    procs.append(subprocess.Popen([sys.executable, "-m", "monitor", "schedule", "--config", str(cfg)], cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    peak = 0
    try:
        while True:
            peak = max([peak] + [peak_rss_kib(p.pid) for p in procs[:workers]])
            with Store(database, read_only=True) as store:
                if store.count_articles() >= total:
                    break
            if time.monotonic() - started > 900:
                raise RuntimeError("timed out")
            time.sleep(0.2)
        return time.monotonic() - started, peak
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(60)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--feeds", type=int, default=20)
    ap.add_argument("--articles", type=int, default=50)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--latency", type=float, default=0.0, help="also run with this many seconds per response")
    ap.add_argument("--skip-postgres", action="store_true")
    args = ap.parse_args()
    total = args.feeds * args.articles
    server = TestServer().start()
    feeds = site(server, args.feeds, args.articles)
    print(f"{total} articles ({args.feeds} feeds x {args.articles}), {os.cpu_count()} cores")
    print(f"trafilatura alone, 2 processes: {run_trafilatura_alone(total):5.1f} pages/s (the extraction-bound limit)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        elapsed, count = run_naive(server, args.feeds, folder)
        print(f"naive sequential pipeline:  {elapsed:6.1f} s  {count / elapsed:5.1f} articles/s")
        for workers in (1, 2):
            elapsed, peak = run_sqlite(folder, feeds, total, workers)
            print(f"sqlite, fetch, workers {workers}: {elapsed:6.1f} s  {total / elapsed:5.1f} articles/s  "
                  f"peak RSS (main process) {peak / 1024:.0f} MiB")
        if args.latency:
            server.latency = args.latency
            elapsed, count = run_naive(server, args.feeds, folder)
            print(f"naive, {args.latency:g} s latency:    {elapsed:6.1f} s  {count / elapsed:5.1f} articles/s")
            for workers in (1, 2):
                elapsed, peak = run_sqlite(folder, feeds, total, workers, tag="-latency")
                print(f"sqlite, {args.latency:g} s latency, workers {workers}: {elapsed:6.1f} s  "
                      f"{total / elapsed:5.1f} articles/s")
            server.latency = 0.0
        if args.skip_postgres:
            server.stop()
            return
        with postgres_server(folder / "pg") as pg:
            for workers in (1, 2):
                url = pg.create_database(f"bench{workers}")
                elapsed, peak = run_workers(folder, url, feeds, total, workers, args.concurrency)
                print(f"postgresql, {workers} worker(s):   {elapsed:6.1f} s  {total / elapsed:5.1f} articles/s  "
                      f"peak RSS per worker {peak / 1024:.0f} MiB")
    server.stop()


if __name__ == "__main__":
    main()
