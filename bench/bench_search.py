"""Benchmark: search over ≥ 10,000 stored articles on SQLite (FTS5 trigram) and PostgreSQL
(pg_trgm): query latency (median and worst over a mix of queries) and the index's size.

The articles are the real pages of the shared corpus (extracted by monitor), repeated with
distinct keys and dates until there are enough. Starts its own PostgreSQL (initdb/pg_ctl).

    .venv/bin/python bench/bench_search.py [--articles 10000] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_pipeline import real_pages  # noqa: E402
from monitor.decoding import decode_html  # noqa: E402
from monitor.errors import ExtractionError  # noqa: E402
from monitor.extraction import extract  # noqa: E402
from monitor.language import LanguageDetector  # noqa: E402
from monitor.models import Article, LanguageResult, TextSource  # noqa: E402
from monitor.storage import SearchFilters, Store  # noqa: E402
from tests.support.postgres import postgres_server  # noqa: E402

QUERIES = [("黑市", None), ("出口管制", None), ("芯片", None), ("实体清单", None), ("Nvidia", None),
           ("export controls", None), ('"Entity List"', None), ("smuggel", None), ("exportrestriktioner", None),
           ("chip", SearchFilters(languages=("en",))), ("", SearchFilters(levels=("alert",), sort="date")),
           ("government", SearchFilters(sort="date")), ("zzzqqq", None), ("the", None)]


def corpus(count: int) -> list[Article]:
    detector = LanguageDetector()
    base: list[tuple[str, str, str]] = []
    for page in real_pages(300):
        try:
            found = extract(decode_html(page, {}), None)
        except ExtractionError:
            continue
        base.append((found.title or "untitled", found.text, detector.detect(found.title or "", found.text).code))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    out = []
    for i in range(count):
        title, text, lang = base[i % len(base)]
        out.append(Article(key=f"k{i}", feed_url=f"https://f{i % 40}.example/feed", feed_name=f"feed {i % 40}",
                           url=f"https://f{i % 40}.example/{i}", title=f"{title} #{i}", text=text,
                           text_source=TextSource.PAGE, published=start + timedelta(minutes=i), fetched=start,
                           language=LanguageResult(lang, 0.9, "bench")))
    return out


def measure(store: Store, label: str) -> None:
    timings: list[float] = []
    for query, filters in QUERIES:
        store.search(query, filters)  # warm
        runs = []
        for _ in range(3):
            t = time.perf_counter()
            store.search(query, filters)
            runs.append(time.perf_counter() - t)
        timings.append(min(runs))
    print(f"{label}: median {statistics.median(timings) * 1000:.1f} ms, worst {max(timings) * 1000:.1f} ms "
          f"({QUERIES[timings.index(max(timings))][0] or '(filters only)'!r})")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--articles", type=int, default=10_000)
    ap.add_argument("--skip-postgres", action="store_true")
    args = ap.parse_args()
    items = corpus(args.articles)
    print(f"{len(items)} articles, mean text {sum(len(a.text) for a in items) / len(items):.0f} characters")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = folder / "search.sqlite3"
        with Store(db) as store:
            t = time.perf_counter()
            for a in items:
                store.save_article(a)
            print(f"sqlite: stored in {time.perf_counter() - t:.1f} s")
            with store.transaction() as conn:
                pages = conn.exec_driver_sql("SELECT count(*) FROM dbstat WHERE name LIKE 'article_search%'"
                                             ).scalar_one()
                page_size = conn.exec_driver_sql("PRAGMA page_size").scalar_one()
            print(f"sqlite: FTS5 index {pages * page_size / 1e6:.1f} MB, database {db.stat().st_size / 1e6:.1f} MB")
            measure(store, "sqlite")
        if args.skip_postgres:
            return
        with postgres_server(folder / "pg") as pg:
            url = pg.create_database("search")
            with Store(url) as store:
                t = time.perf_counter()
                for a in items:
                    store.save_article(a)
                print(f"postgresql: stored in {time.perf_counter() - t:.1f} s")
                with store.transaction() as conn:
                    index = conn.exec_driver_sql("SELECT pg_relation_size('articles_search_trgm')").scalar_one()
                    table = conn.exec_driver_sql("SELECT pg_total_relation_size('articles')").scalar_one()
                print(f"postgresql: pg_trgm index {index / 1e6:.1f} MB, articles table {table / 1e6:.1f} MB")
                measure(store, "postgresql")


if __name__ == "__main__":
    main()
