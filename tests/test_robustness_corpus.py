"""All of feedparser's suite (2,100+ files) served over HTTP with the headers their `Header:` comments ask
for, through the whole pipeline: nothing may crash, every failure must be a recorded, clear error."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from monitor.app import open_app
from monitor.config import load_config
from monitor.storage import Store
from tests.conftest import require_shared
from tests.support.httpserver import TestServer

_HEADER = re.compile(rb"^Header:\s*([A-Za-z-]+):\s*(.*?)\s*$", re.M)


def test_feedparser_suite_through_the_pipeline(server: TestServer, tmp_path: Path) -> None:
    root = require_shared("feeds", "feedparser")
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != "LICENSE")
    lines = []
    for i, path in enumerate(files):
        body = path.read_bytes()
        headers: dict[str, str] = {}
        for m in _HEADER.finditer(body[:3000]):
            name, value = m.group(1).decode(), m.group(2).decode("latin-1")
            if name.lower() not in ("content-length", "transfer-encoding", "content-encoding"):
                headers[name] = value
        content_type = headers.pop("Content-type", headers.pop("Content-Type", "application/xml"))
        url = server.add(f"/{i}/{path.name}", body, content_type, headers=headers)
        lines.append(f"  - name: '{i} {path.relative_to(root)}'\n    url: {url}\n")
    config_path = tmp_path / "feeds.yaml"
    config_path.write_text("allow_private_networks: true\nfetch:\n  fetch_pages: false\n  concurrency: 16\n"
                           "  feed_concurrency: 16\n"
                           "translation:\n  enabled: false\nfeeds:\n" + "".join(lines))
    config = load_config(config_path)

    async def run() -> object:
        async with open_app(config) as app:
            return await app.pipeline().run_pass(config.enabled_feeds)

    summary = asyncio.run(run())
    outcomes = summary.outcomes  # type: ignore[attr-defined]
    assert len(outcomes) == len(files) > 2000
    failed = [o for o in outcomes if o.status == "failed"]
    assert all(o.error and "(http://127.0.0.1" in o.error for o in failed)  # each names the URL
    assert len(failed) < 30, [o.error for o in failed]
    with Store(config.database) as store:
        articles = list(store.articles())
        rows = store.feed_rows()
    assert len(rows) == len(files)
    keys = [a.article.key for a in articles]
    assert len(keys) == len(set(keys))
    # most files test feed-level elements and carry no entry; some reuse ids and links across files
    carried = sum(len(a.feeds) for a in articles)
    assert len(articles) > 400 and carried >= len(articles)
    assert not any("\ufffd" in a.article.title for a in articles if "encoding" in a.article.feed_url)
    print(f"\n{len(files)} files: {len(files) - len(failed)} ok, {len(failed)} failed with a recorded error, "
          f"{len(articles)} distinct articles stored, carried {carried} times")
