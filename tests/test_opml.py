"""OPML on real exporters' files (Miniflux's parser test documents, FreshRSS's export layout), and
the feeds list edited in place by `monitor feeds import/export/add/remove` as users run them: the
comments stay, the result is a valid config, discovery finds a feed from its page."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.errors import ConfigError
from monitor.feedsfile import append_feeds, remove_feed
from monitor.opml import parse_opml, write_opml
from tests.support import seedsite
from tests.support.httpserver import TestServer

OPML = Path(__file__).with_name("data") / "opml"
CONFIG = """\
# My monitoring setup: keep this comment
database: data/monitor.sqlite3
allow_private_networks: true

feeds:
  # Swedish business press
  - name: Dagens PS
    url: https://www.dagensps.se/feed/
    language: sv   # declared sv-SE
  - {name: DW, url: 'https://rss.dw.com/rdf/rss-chi-all'}

# digest settings below
digest:
  timezone: Europe/Stockholm
"""


def parsed(name: str) -> list[tuple[str, str, str | None, tuple[str, ...]]]:
    return [(f.name, f.url, f.site_url, f.categories) for f in parse_opml((OPML / name).read_bytes(), name)]


def test_miniflux_documents_read_as_miniflux_reads_them() -> None:
    flat = parsed("miniflux-without-categories.opml")
    assert len(flat) == 13
    assert flat[0] == ("CNET News.com", "http://news.com.com/2547-1_3-0-5.xml", "http://news.com.com/", ())
    assert flat[9][0] == "NYT > Business"
    assert parsed("miniflux-with-categories.opml") == [
        ("Feed 1", "http://example.org/feed1/", "http://example.org/1", ("My Category 1",)),
        ("Feed 2", "http://example.org/feed2/", "http://example.org/2", ("My Category 1",)),
        ("Feed 3", "http://example.org/feed3/", "http://example.org/3", ("My Category 2",))]
    assert parsed("miniflux-empty-title-and-site-url.opml") == [
        ("http://example.org/1", "http://example.org/feed1/", "http://example.org/1", ()),
        ("http://example.org/feed2/", "http://example.org/feed2/", None, ())]
    assert [f[3] for f in parsed("miniflux-version1.opml")] == [("Category 1",), ("Category 2",)]
    assert [f[3] for f in parsed("miniflux-nested-rssowl.opml")] == [
        ("My Feeds", "Some Category"), ("My Feeds", "Some Category"), ("My Feeds", "Another Category")]
    assert parsed("miniflux-invalid-character-entity.opml") == [
        ("Feed 1", "http://example.org/feed1/a&b", "http://example.org/c&d", ("Feed 1",))]


def test_freshrss_export_and_bad_files() -> None:
    feeds = parsed("freshrss-export.opml")
    assert [(f[0], f[3]) for f in feeds] == [("Dagens PS", ("Export controls",)),
                                            ("DW 中文 & news", ("Export controls",)),
                                            ("The Register", ("Uncategorized",))]
    with pytest.raises(ConfigError, match=r"x\.opml: not an OPML file"):
        parse_opml(b"garbage", "x.opml")
    with pytest.raises(ConfigError, match="lists no feed"):
        parse_opml(b"<opml version='2.0'><body><outline text='empty'/></body></opml>", "y.opml")


def test_export_round_trips_through_the_reader(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(CONFIG.replace("  - {name: DW, url: 'https://rss.dw.com/rdf/rss-chi-all'}",
                                   "  - {name: DW, url: 'https://rss.dw.com/rdf/rss-chi-all', tags: [zh, press]}"),
                    encoding="utf-8")
    config = load_config(path)
    from datetime import UTC, datetime

    text = write_opml(config.feeds, title="t", now=datetime(2026, 12, 1, tzinfo=UTC))
    back = parse_opml(text.encode(), "export.opml")
    assert [(f.name, f.url) for f in back] == [(f.name, f.url) for f in config.feeds]
    assert back[1].categories == ("zh", "press")


def test_appending_and_removing_keep_comments_and_layout(tmp_path: Path) -> None:
    added = append_feeds(CONFIG, [{"name": "Reg", "url": "https://www.theregister.com/headlines.atom",
                                   "tags": ["en"]}], "feeds.yaml")
    assert added.startswith("# My monitoring setup: keep this comment\n")
    assert "  - {name: Reg, url: 'https://www.theregister.com/headlines.atom', tags: [en]}\n\n# digest" in added
    assert "    language: sv   # declared sv-SE\n" in added and "# digest settings below\n" in added
    path = tmp_path / "feeds.yaml"
    path.write_text(added, encoding="utf-8")
    assert [f.name for f in load_config(path).feeds] == ["Dagens PS", "DW", "Reg"]
    removed, url = remove_feed(added, "Dagens PS", "feeds.yaml")
    assert url == "https://www.dagensps.se/feed/"
    assert "language: sv" not in removed and "# Swedish business press" in removed
    path.write_text(removed, encoding="utf-8")
    assert [f.name for f in load_config(path).feeds] == ["DW", "Reg"]
    empty = append_feeds("feeds: []\n", [{"name": "A", "url": "https://a.example/feed"}], "f.yaml")
    assert empty == "feeds:\n  - {name: A, url: 'https://a.example/feed'}\n"
    with pytest.raises(ConfigError, match="no feed named 'Nope'"):
        remove_feed(CONFIG, "Nope", "feeds.yaml")


def cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "feeds", *args],
                          capture_output=True, text=True, timeout=120)


def test_feeds_commands_as_users_run_them(tmp_path: Path) -> None:
    real = tmp_path / "real.yaml"
    real.write_text(CONFIG, encoding="utf-8")
    real.chmod(0o644)
    config = tmp_path / "feeds.yaml"
    config.symlink_to(real)  # a linked config: the file it points to is edited, the link stays
    imported = cli(config, "import", str(OPML / "freshrss-export.opml"))
    assert imported.returncode == 0, imported.stderr
    assert "imported 1 feed(s)" in imported.stdout and "(2 already there)" in imported.stdout  # same URLs
    again = cli(config, "import", str(OPML / "miniflux-with-categories.opml"))
    assert "imported 3 feed(s) from" in again.stdout
    loaded = load_config(config)
    assert [f.name for f in loaded.feeds] == ["Dagens PS", "DW", "The Register", "Feed 1", "Feed 2", "Feed 3"]
    assert loaded.feeds[2].tags == ("Uncategorized",) and loaded.feeds[3].tags == ("My Category 1",)
    assert config.read_text(encoding="utf-8").startswith("# My monitoring setup: keep this comment\n")
    assert config.is_symlink() and (real.stat().st_mode & 0o777) == 0o644
    exported = cli(config, "export")
    assert exported.returncode == 0 and len(parse_opml(exported.stdout.encode(), "out")) == 6
    gone = cli(config, "remove", "The Register")
    assert gone.returncode == 0 and "removed The Register" in gone.stdout
    assert "The Register" not in [f.name for f in load_config(config).feeds]
    missing = cli(config, "remove", "The Register")
    assert missing.returncode == 2 and "no feed named 'The Register'" in missing.stderr


def test_feeds_add_discovers_the_feed_from_its_page(tmp_path: Path) -> None:
    server = TestServer().start()
    try:
        ps = seedsite.dagens_ps()
        article = server.add("/2025/ps/", seedsite.article_page(ps, "PS").encode(), "text/html; charset=utf-8")
        feed = server.add("/site/feed.xml", seedsite.rss_feed("Dagens PS", "sv-SE", [(ps, article)]).encode(),
                          "application/rss+xml")
        home = server.add("/site/", f'<html><head><link rel="alternate" type="application/rss+xml" '
                          f'href="{feed}"></head><body>Home</body></html>'.encode(), "text/html")
        config = tmp_path / "feeds.yaml"
        config.write_text(CONFIG, encoding="utf-8")
        clash = cli(config, "add", home)  # the feed's title is a name the config already has
        assert clash.returncode == 2 and "a feed named 'Dagens PS' is already in" in clash.stderr
        cli(config, "remove", "Dagens PS")
        added = cli(config, "add", home, "--tags", "sv, business", "--interval", "30m")
        assert added.returncode == 0, added.stderr
        assert f"added Dagens PS <{feed}>" in added.stdout
        new = load_config(config).feeds[-1]
        assert (new.name, new.url, new.language, new.tags) == ("Dagens PS", feed, "sv-SE", ("sv", "business"))
        assert new.interval.total_seconds() == 1800
        twice = cli(config, "add", feed)
        assert twice.returncode == 2 and "is already in" in twice.stderr
        nothing = cli(config, "add", article)
        assert nothing.returncode == 1 and "no feed found at" in nothing.stderr
    finally:
        server.stop()


def test_feeds_list_in_json_with_the_digest_time_zone(fetched_template: Path, tmp_path: Path) -> None:
    import json

    from tests.support.digestsite import copy_fetched

    config = copy_fetched(fetched_template, tmp_path, "digest:\n  timezone: Europe/Stockholm\n")
    done = subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "feeds", "list", "--format",
                           "json"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    rows = {r["name"]: r for r in json.loads(done.stdout)}
    ps = rows["Dagens PS"]
    assert ps["status"] == "ok" and ps["articles"] >= 1 and ps["articles_24h"] == ps["articles"]
    assert ps["last_fetch"].endswith(("CET", "CEST"))  # Stockholm time, as the digest
    assert rows["Broken"]["status"] == "FAILING x1" and "404" in rows["Broken"]["last_error"]
    evil = rows["Evil Wire"]
    assert evil["page_failures_24h"] == 1  # its page is gone: the feed's text was kept
