"""Hostile pages and links behind a feed, and feeds that reuse ids: the pass goes on, nothing is lost."""

from __future__ import annotations

import gzip
from pathlib import Path

from tests.support import seedsite
from tests.support.cli import export, run
from tests.support.httpserver import TestServer
from tests.support.site import feed_of_links


def test_hostile_pages_fall_back_to_the_feed_text(server: TestServer, tmp_path: Path) -> None:
    server.add("/base64", b'<html><head><meta charset="base64"></head><body><p>x</p></body></html>', "text/html")
    server.add("/rot13", b"<html><body><p>x</p></body></html>", "text/html; charset=rot13")
    server.add("/bomb", gzip.compress(b"\0" * 30_000_000), "text/html", headers={"Content-Encoding": "gzip"})
    server.add("/loop", b"", status=302, headers={"Location": "/loop2"})
    server.add("/loop2", b"", status=302, headers={"Location": "/loop"})
    server.add("/escape", b"", status=302, headers={"Location": "http://169.254.169.254/latest/"})
    server.add("/empty", b"", "text/html")
    server.add("/notext", b"<html><body><nav>menu</nav></body></html>", "text/html")
    links = [server.url(p) for p in ("/base64", "/rot13", "/bomb", "/loop", "/escape", "/empty", "/notext")]
    links += [f"http://127.0.0.1:{server.port}/bad%00byte", "http://127.0.0.1:99999/x", f"http://{'a' * 70}.test/x"]
    server.add("/feed", feed_of_links(server, links))
    config = tmp_path / "feeds.yaml"
    config.write_text(f"fetch:\n  max_bytes: 5000000\nfeeds:\n  - name: Hostile\n    url: {server.url('/feed')}\n")
    code, out = run(config, "fetch")
    assert code == 0, out
    records = export(config)
    assert len(records) == len(links)
    assert all(r["text_source"] == "feed-summary" for r in records), [r["text_source"] for r in records]
    assert "page(s) could not be fetched or extracted; the feed's own text was used" in out
    errors = {r["url"]: " ".join(r["errors"]) for r in records}  # type: ignore[arg-type]
    assert "decoded body exceeds" in errors[server.url("/bomb")]
    assert "redirect loop" in errors[server.url("/loop")]
    assert "169.254.169.254" in errors[server.url("/escape")]
    assert "empty page" in errors[server.url("/empty")]


def test_feeds_sharing_bare_guids_keep_both_articles(server: TestServer, tmp_path: Path) -> None:
    ps = seedsite.dagens_ps()
    one = seedsite.Seed(**{**ps.__dict__, "slug": "123", "title": "Första"})
    two = seedsite.Seed(**{**ps.__dict__, "slug": "123", "title": "Andra"})
    server.add("/a", seedsite.rss_feed("A", "sv", [(one, "http://a.test/1")]).encode())
    server.add("/b", seedsite.rss_feed("B", "sv", [(two, "http://b.test/1")]).encode())
    config = tmp_path / "feeds.yaml"
    config.write_text(f"fetch:\n  fetch_pages: false\nfeeds:\n  - url: {server.url('/a')}\n"
                      f"  - url: {server.url('/b')}\n    name: B\n")
    assert run(config, "fetch")[0] == 0
    assert sorted(r["title"] for r in export(config)) == ["Andra", "Första"]


def test_an_entry_whose_link_changes_does_not_wedge_the_feed(server: TestServer, tmp_path: Path) -> None:
    """Feed G stores the article; feed F carries the same link under its own GUID; later F edits the link."""
    ps = seedsite.dagens_ps()
    g = seedsite.Seed(**{**ps.__dict__, "slug": "g1"})
    f = seedsite.Seed(**{**ps.__dict__, "slug": "f1"})
    server.add("/g", seedsite.rss_feed("G", "sv", [(g, "http://news.test/story")]).encode())
    server.add("/f", seedsite.rss_feed("F", "sv", [(f, "http://news.test/story")]).encode())
    config = tmp_path / "feeds.yaml"
    config.write_text(f"fetch:\n  fetch_pages: false\nfeeds:\n  - {{name: G, url: '{server.url('/g')}'}}\n"
                      f"  - {{name: F, url: '{server.url('/f')}'}}\n")
    assert run(config, "fetch")[0] == 0
    server.add("/f", seedsite.rss_feed("F", "sv", [(f, "http://news.test/story-renamed")]).encode())
    for _ in range(2):
        code, out = run(config, "fetch")
        assert code == 0, out
        assert "FAILED" not in out
    records = export(config)
    assert len(records) == 1 and len(records[0]["feeds"]) == 2  # type: ignore[arg-type]


def test_entries_sharing_one_link_are_all_kept(server: TestServer, tmp_path: Path) -> None:
    """A liveblog or a feed whose items all link to the homepage: the link names none of them."""
    ps = seedsite.dagens_ps()
    items = [(seedsite.Seed(**{**ps.__dict__, "slug": f"live-{i}", "title": f"Uppdatering {i}"}),
              "http://news.test/") for i in range(3)]
    server.add("/live", seedsite.rss_feed("Live", "sv", items).encode())
    config = tmp_path / "feeds.yaml"
    config.write_text(f"fetch:\n  fetch_pages: false\nfeeds:\n  - url: {server.url('/live')}\n")
    assert run(config, "fetch")[0] == 0
    assert sorted(r["title"] for r in export(config)) == ["Uppdatering 0", "Uppdatering 1", "Uppdatering 2"]
    assert run(config, "fetch")[0] == 0
    assert len(export(config)) == 3


def test_a_broken_entry_is_recorded_on_the_feed_and_the_rest_stored(server: TestServer, tmp_path: Path) -> None:
    body = b"""<rss version="2.0"><channel><title>t</title>
    <item><title>Good one</title><link>http://x.test/1</link></item>
    <item></item>
    <item><title>Good two</title><link>http://x.test/2</link></item>
    </channel></rss>"""
    server.add("/feed", body)
    config = tmp_path / "feeds.yaml"
    config.write_text(f"fetch:\n  fetch_pages: false\nfeeds:\n  - {{name: F, url: '{server.url('/feed')}'}}\n")
    assert run(config, "fetch")[0] == 0
    assert sorted(r["title"] for r in export(config)) == ["Good one", "Good two"]
    listing = run(config, "feeds", "list")[1]
    assert "status: ok" in listing and "last error: entry 1: empty" in listing
