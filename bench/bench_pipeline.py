"""Benchmark: N feeds x M articles served over loopback from real pages.

Prints articles/s end to end (fetch -> parse -> page fetch -> extract -> language ->
watchlists -> SQLite), the time per stage measured on the same pages, and peak memory.
Reads real pages from ../shared/corpus/html (readability test pages, GNE Chinese pages,
the Swedish GP page); falls back to the seed pages in tests/data when it is absent.

    .venv/bin/python bench/bench_pipeline.py [--feeds 10] [--articles 20]
"""

from __future__ import annotations

import argparse
import asyncio
import html as htmllib
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.app import open_app  # noqa: E402
from monitor.config import load_config  # noqa: E402
from monitor.decoding import decode_html  # noqa: E402
from monitor.extraction import extract  # noqa: E402
from monitor.language import LanguageDetector  # noqa: E402
from monitor.storage import Store  # noqa: E402
from monitor.watchlists import match  # noqa: E402
from monitor.watchrules import default_watchlists  # noqa: E402
from tests.support import seedsite  # noqa: E402
from tests.support.httpserver import TestServer  # noqa: E402

SHARED = ROOT.parent / "shared" / "corpus" / "html"


def real_pages(limit: int) -> list[bytes]:
    pages: list[bytes] = []
    if SHARED.exists():
        sources = sorted((SHARED / "readability" / "test-pages").glob("*/source.html"))
        sources += sorted((SHARED / "gne-zh").rglob("*.html"))
        sources += [SHARED / "sv" / "gp_article.html"]
        # interleave languages so every feed gets a mix
        pages = [p.read_bytes() for p in sources]
    else:
        print(f"note: {SHARED} absent; using the two seed pages only")
    pages += [seedsite.article_page(seedsite.dagens_ps(), "PS").encode(),
              seedsite.article_page(seedsite.dw_chinese(), "DW").encode()]
    out = [pages[(i * 7) % len(pages)] for i in range(limit)]
    return out


def rss(title: str, items: list[tuple[str, str]]) -> bytes:
    body = "".join(f"<item><title>{htmllib.escape(t)}</title><link>{u}</link><guid>{u}</guid></item>"
                   for t, u in items)
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>' \
           f"{body}</channel></rss>".encode()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--feeds", type=int, default=10)
    ap.add_argument("--articles", type=int, default=20, help="articles per feed")
    args = ap.parse_args()
    total = args.feeds * args.articles
    pages = real_pages(total)

    server = TestServer().start()
    feed_lines = []
    for f in range(args.feeds):
        items = []
        for a in range(args.articles):
            url = server.add(f"/f{f}/a{a}", pages[f * args.articles + a], "text/html")
            items.append((f"Article {f}-{a}", url))
        feed_url = server.add(f"/f{f}/feed", rss(f"Feed {f}", items), "application/rss+xml")
        feed_lines.append(f"  - name: feed {f}\n    url: {feed_url}\n")

    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "feeds.yaml"
        cfg.write_text("allow_private_networks: true\nfetch:\n  per_host: 8\n  concurrency: 16\nfeeds:\n"
                       + "".join(feed_lines))
        config = load_config(cfg)

        async def one_pass() -> tuple[float, int]:
            async with open_app(config) as app:
                started = time.perf_counter()
                summary = await app.pipeline().run_pass(config.enabled_feeds)
                return time.perf_counter() - started, summary.new_articles

        e2e, new = asyncio.run(one_pass())
        with Store(config.database) as store:
            stored = store.count_articles()
        again, new_again = asyncio.run(one_pass())  # nothing new: conditional GET / content hash
        assert new_again == 0
    server.stop()

    # per stage, on the same pages, in this process
    detector, watchlists = LanguageDetector(), default_watchlists()
    t0 = time.perf_counter()
    texts = [decode_html(p) for p in pages]
    t1 = time.perf_counter()
    extracted = [extract(t, "http://bench.test/") for t in texts]
    t2 = time.perf_counter()
    langs = [detector.detect(e.title or "", e.text, None) for e in extracted]
    t3 = time.perf_counter()
    for e, lang in zip(extracted, langs, strict=True):
        match(watchlists, e.title or "", e.text, lang.code)
    t4 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "s.db") as store:
        from monitor.models import Article, TextSource

        t5 = time.perf_counter()
        for i, (e, lang) in enumerate(zip(extracted, langs, strict=True)):
            store.save_article(Article(key=f"k{i}", feed_url="f", feed_name="f", url=f"http://b/{i}", title="t",
                                       text=e.text, text_source=TextSource.PAGE, published=None,
                                       fetched=datetime.now(UTC), language=lang))
        t6 = time.perf_counter()

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    chars = sum(len(e.text) for e in extracted)
    print(f"{args.feeds} feeds x {args.articles} articles = {total} articles ({new} new, {stored} stored; "
          f"{chars / total:.0f} chars of text on average)")
    print(f"end to end, first pass : {e2e:6.2f} s  {total / e2e:7.1f} articles/s")
    print(f"second pass (nothing new): {again:6.2f} s")
    per = {"decode": t1 - t0, "extract (trafilatura)": t2 - t1, "language": t3 - t2, "watchlists": t4 - t3,
           "store (SQLite, tx/article)": t6 - t5}
    for name, seconds in per.items():
        print(f"  {name:28s} {1000 * seconds / total:7.2f} ms/article  {total / seconds:8.1f} articles/s")
    print(f"peak RSS: {peak_mb:.0f} MiB")


if __name__ == "__main__":
    main()
