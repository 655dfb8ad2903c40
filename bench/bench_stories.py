"""Benchmark: the story stage per article (evidence + joining a story), incremental over N real
articles (the shared corpus's pages, repeated with new dates and a word of their own, so that each
is compared with the others rather than joined as a copy).

    .venv/bin/python bench/bench_stories.py [--articles 5000] [--per-day 144] [--translated]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_pipeline import real_pages  # noqa: E402
from monitor.decoding import decode_html  # noqa: E402
from monitor.errors import ExtractionError  # noqa: E402
from monitor.extraction import extract  # noqa: E402
from monitor.stories import StoryIndex  # noqa: E402
from monitor.storyevidence import evidence  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--articles", type=int, default=5000)
    ap.add_argument("--per-day", type=int, default=144, help="articles a day (how many the window holds)")
    ap.add_argument("--translated", action="store_true",
                    help="each article read as Swedish with an English translation (another page's text)")
    args = ap.parse_args()
    base = []
    for page in real_pages(300):
        try:
            found = extract(decode_html(page, {}), None)
        except ExtractionError:
            continue
        base.append((found.title or "", found.text))
    index = StoryIndex()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    spent_evidence = spent_join = 0.0
    for i in range(args.articles):
        title, text = base[i % len(base)]
        t = time.perf_counter()
        if args.translated:  # the cost of reading a translation too (its text stands in for one)
            other = base[(i + 1) % len(base)]
            found = evidence(f"{title} {i}", f"{_word(i)} {text}", language="sv", english=other)
        else:
            found = evidence(f"{title} {i}", f"{_word(i)} {text}")  # a word of its own: no copy of another's text
        spent_evidence += time.perf_counter() - t
        t = time.perf_counter()
        index.add(i, start + timedelta(days=i / args.per_day), found)
        spent_join += time.perf_counter() - t
    n = args.articles
    print(f"{n} articles: evidence {spent_evidence / n * 1000:.2f} ms, joining {spent_join / n * 1000:.2f} ms "
          f"per article ({len(index.members())} kept in the window)")


def _word(i: int) -> str:
    """A word no other article has (letters only: the text fingerprint reads words)."""
    out = ""
    while True:
        i, r = divmod(i, 26)
        out += chr(97 + r)
        if not i:
            return "zq" + out


if __name__ == "__main__":
    main()
