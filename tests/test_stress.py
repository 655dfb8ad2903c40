"""A few hundred real pages through the real pipeline: `monitor fetch` as a user runs it (a crash
in lxml, seen as SIGSEGV/SIGABRT when two threads parsed at once, fails it), and a probe that
shows no two threads are ever inside the lxml-based stages at once (deterministic: the crash
itself is rare), checked against the old many-thread layout to show the probe sees the overlap.

The pages are real: the shared corpus's readability, trafilatura, GNE Chinese and scrapinghub
pages when ../shared is present; else the few real pages in tests/data, each served under many
URLs (still a few hundred distinct articles to the pipeline).
"""

from __future__ import annotations

import gzip
import html
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import DATA, REPO, shared_corpus
from tests.support import seedsite
from tests.support.httpserver import TestServer

FEEDS, PER_FEED = 10, 30  # 300 pages


def real_pages() -> list[bytes]:
    html_dir = shared_corpus() / "html"
    pages: list[bytes] = []
    if html_dir.exists():
        pages += [p.read_bytes() for p in sorted((html_dir / "readability" / "test-pages").glob("*/source.html"))]
        pages += [p.read_bytes() for p in sorted((html_dir / "gne-zh").rglob("*.html"))]
        pages += [p.read_bytes() for p in sorted((html_dir / "trafilatura-cache").glob("*.html"))]
        pages += [gzip.decompress(p.read_bytes()) for p in sorted((html_dir / "scrapinghub" / "html").glob("*.gz"))]
    pages += [(DATA / "pages/readability/ars-1/source.html").read_bytes(),
              seedsite.article_page(seedsite.dagens_ps(), "PS").encode(),
              seedsite.article_page(seedsite.dw_chinese(), "DW").encode()]
    pages += [p.read_bytes() for p in sorted((DATA / "pages" / "cwced").glob("*.html"))]
    return pages


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestServer, Path]]:
    server = TestServer().start()
    pages = real_pages()
    feeds = []
    for f in range(FEEDS):
        items = []
        for a in range(PER_FEED):
            n = f * PER_FEED + a
            url = server.add(f"/f{f}/a{a}", pages[(n * 7) % len(pages)], "text/html")
            items.append(f"<item><title>Article {n}</title><link>{url}</link><guid>{url}</guid>"
                         f"<description>{html.escape('Summary of article ' + str(n))}</description></item>")
        body = f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Feed {f}</title>' \
               f'{"".join(items)}</channel></rss>'
        feed_url = server.add(f"/f{f}/feed", body.encode(), "application/rss+xml")
        feeds.append(f"  - name: feed {f}\n    url: {feed_url}\n")
    tmp = tmp_path_factory.mktemp("stress")
    config = tmp / "feeds.yaml"
    config.write_text("translation:\n  enabled: false\nfetch:\n  timeout: 60\nfeeds:\n" + "".join(feeds))
    try:
        yield server, config
    finally:
        server.stop()


def _fresh_config(config: Path, tmp_path: Path) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    copy = tmp_path / "feeds.yaml"
    copy.write_text(config.read_text())
    return copy


def test_fetch_stores_300_real_pages_without_a_crash(site: tuple[TestServer, Path], tmp_path: Path) -> None:
    _, config = site
    config = _fresh_config(config, tmp_path)
    env = {**os.environ, "PYTHONFAULTHANDLER": "1"}
    out = subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "fetch"], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]  # -11 (SIGSEGV) / -6 (SIGABRT) when lxml crashed
    assert "Fatal Python error" not in out.stderr
    assert f"{FEEDS} feeds ({FEEDS} ok): {FEEDS * PER_FEED} new articles" in out.stdout, out.stdout
    with sqlite3.connect(tmp_path / "data" / "monitor.sqlite3") as con:
        assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == FEEDS * PER_FEED
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _probe(config: Path, *threads: str) -> dict[str, int] | None:
    probe = REPO / "tests" / "support" / "stress_probe.py"
    out = subprocess.run([sys.executable, str(probe), str(config), *threads], cwd=REPO,
                         env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=600)
    if out.returncode < 0:
        return None  # killed by a signal: lxml crashed, which is what the probe looks for
    assert out.returncode == 0, out.stderr[-3000:]
    result: dict[str, int] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_no_two_threads_are_ever_inside_lxml_at_once(site: tuple[TestServer, Path], tmp_path: Path) -> None:
    _, config = site
    ours = _probe(_fresh_config(config, tmp_path / "ours"))
    assert ours == {"max_threads": 1, "new_articles": FEEDS * PER_FEED}
    # the layout before: CPU stages in a pool of threads. The probe sees them overlap (or it crashed).
    before = _probe(_fresh_config(config, tmp_path / "before"), "6")
    assert before is None or before["max_threads"] > 1, before
