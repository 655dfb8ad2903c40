"""Benchmark: `monitor copy-db` of a SQLite archive into PostgreSQL: articles a second, and the
time a copy that is run again (everything there already) takes to go over the archive.

The articles are the real pages of the shared corpus (as bench_search builds them), stored in a
SQLite file first. Starts its own PostgreSQL (initdb/pg_ctl).

    .venv/bin/python bench/bench_copy.py [--articles 10000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_search import corpus  # noqa: E402
from monitor.storage import Store  # noqa: E402
from monitor.storage.copying import copy_database  # noqa: E402
from tests.support.postgres import postgres_server  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--articles", type=int, default=10_000)
    args = ap.parse_args()
    items = corpus(args.articles)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source_path = folder / "monitor.sqlite3"
        with Store(source_path) as source:
            for article in items:
                source.save_article(article)
        size = source_path.stat().st_size / 2**20
        print(f"{len(items)} articles, SQLite file {size:.0f} MiB")
        with postgres_server(folder / "pg") as pg:
            url = pg.create_database("bench_copy")
            with Store(source_path) as source, Store(url) as target:
                t = time.perf_counter()
                report = copy_database(source, target)
                first = time.perf_counter() - t
                t = time.perf_counter()
                again = copy_database(source, target)
                second = time.perf_counter() - t
            print(f"copy: {first:.1f} s ({report.copied['articles'] / first:.0f} articles/s; "
                  f"{report.copied['hits']} hits, {report.copied['matches']} matches)")
            print(f"run again (all {again.kept} there): {second:.1f} s")


if __name__ == "__main__":
    main()
