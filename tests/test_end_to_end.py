"""The monitor end to end, as a user runs it: feeds.yaml -> `monitor fetch` -> `monitor export`,
against a real HTTP server on 127.0.0.1 serving the seed articles and real pages."""

from __future__ import annotations

import time
from pathlib import Path

from tests.support import seedsite
from tests.support.cli import export, run
from tests.support.httpserver import TestServer
from tests.support.site import write_config


def test_seeds_are_stored_flagged_with_full_text_and_language(site: TestServer, tmp_path: Path) -> None:
    config = write_config(tmp_path, site)
    code, out = run(config, "fetch")
    assert code == 0, out
    assert "3 new articles" in out and "2 flagged" in out
    assert (tmp_path / "data" / "monitor.sqlite3").exists()

    records = {r["feed"]: r for r in export(config)}
    assert set(records) == {"Dagens PS", "DW Chinese", "Ars Technica"}

    ps, dw = seedsite.dagens_ps(), seedsite.dw_chinese()
    sv = records["Dagens PS"]
    assert sv["language"] == "sv"
    assert sv["text_source"] == "page"
    assert ps.last_sentence in str(sv["text"])
    assert "Under endast tre månaders tid" in str(sv["text"])
    assert sv["flagged"] is True
    assert sv["published"] == "2025-07-25T06:12:00+00:00"
    sv_hits = sv["hits"]
    assert isinstance(sv_hits, list) and sv_hits
    terms_quoted = " ".join(h["snippet"].lower() for h in sv_hits)
    assert "exportrestriktioner" in terms_quoted or "smugglade" in terms_quoted
    for hit in sv_hits:
        assert set(hit) == {"watchlist", "term", "field", "snippet"}
        assert hit["watchlist"] == "chip-export-controls"
        assert hit["field"] in ("title", "text")

    zh = records["DW Chinese"]
    assert zh["language"] == "zh-Hant"
    assert zh["text_source"] == "page"
    assert zh["title"] == dw.title
    assert dw.last_sentence in str(zh["text"])
    assert zh["flagged"] is True
    zh_snippets = " ".join(h["snippet"] for h in zh["hits"])  # type: ignore[union-attr]
    assert "出口管制" in zh_snippets

    en = records["Ars Technica"]
    assert en["language"] == "en"
    assert en["flagged"] is False
    assert en["hits"] == []
    assert "Minecraft" in str(en["text"]) and len(str(en["text"])) > 1500
    assert en["translation"] == "not-needed"
    assert sv["translation"] == "unavailable"  # no model is installed here

    flagged = export(config, "--flagged")
    assert {r["feed"] for r in flagged} == {"Dagens PS", "DW Chinese"}


def test_second_fetch_is_conditional_and_stores_nothing_twice(site: TestServer, tmp_path: Path) -> None:
    config = write_config(tmp_path, site)
    assert run(config, "fetch")[0] == 0
    page_requests = len(site.requests_to("/zh/a-65967606"))
    started = time.monotonic()
    code, out = run(config, "fetch")
    elapsed = time.monotonic() - started
    assert code == 0, out
    assert "0 new articles" in out
    # conditional requests were sent with the stored validators
    assert site.requests_to("/dagensps/feed/")[-1].headers.get("if-none-match") == '"ps-v1"'
    assert site.requests_to("/rss-chi-all")[-1].headers.get("if-modified-since") == "Tue, 20 Jun 2023 03:00:00 GMT"
    assert "2 not-modified" in out and "1 unchanged" in out
    # no page was fetched again, nothing stored twice
    assert len(site.requests_to("/zh/a-65967606")) == page_requests
    assert len(export(config)) == 3
    assert elapsed < 60, f"second pass took {elapsed:.1f}s"  # a generous bound: timings are for bench/


def test_same_article_in_two_feeds_is_stored_once(site: TestServer, tmp_path: Path) -> None:
    ps = seedsite.dagens_ps()
    other = seedsite.Seed(**{**ps.__dict__, "slug": "other-guid"})
    url = site.url("/dagensps/2025/tio-miljarder-i-smuggelchips/?utm_source=rss")
    site.add("/mirror/feed", seedsite.rss_feed("Mirror", "sv", [(other, url)]).encode(), "application/rss+xml")
    config = write_config(tmp_path, site, f"""  - name: Mirror
    url: {site.url("/mirror/feed")}
""")
    code, out = run(config, "fetch")
    assert code == 0, out
    records = export(config)
    assert len(records) == 3
    sv = next(r for r in records if r["language"] == "sv")
    assert len(sv["feeds"]) == 2  # type: ignore[arg-type]


def test_broken_feed_is_recorded_and_others_go_on(site: TestServer, tmp_path: Path) -> None:
    site.add("/broken", b"<html><head><title>Not a feed</title></head><body>oops</body></html>", "text/html")
    config = write_config(tmp_path, site, f"""  - name: Broken
    url: {site.url("/broken")}
  - name: Missing
    url: {site.url("/nothing-here")}
""")
    code, out = run(config, "fetch")
    assert code == 0, out
    assert "FAILED: Broken" in out and "FAILED: Missing" in out and "HTTP 404" in out
    assert len(export(config)) == 3
    code, listing = run(config, "feeds", "list")
    assert code == 0
    assert "FAILING x1" in listing and "not a feed" in listing and "HTTP 404" in listing
    run(config, "fetch")
    assert "FAILING x2" in run(config, "feeds", "list")[1]


def test_page_that_fails_falls_back_to_feed_text(server: TestServer, tmp_path: Path) -> None:
    ps = seedsite.dagens_ps()
    server.add("/feed", seedsite.rss_feed("PS", "sv", [(ps, server.url("/gone"))]).encode())
    config = tmp_path / "feeds.yaml"
    config.write_text(f"allow_private_networks: true\nfeeds:\n  - name: PS\n    url: {server.url('/feed')}\n")
    assert run(config, "fetch")[0] == 0
    [record] = export(config)
    assert record["text_source"] == "feed-summary"
    assert record["text"] == ps.summary


def test_private_pages_are_refused_by_default(server: TestServer, tmp_path: Path) -> None:
    """A feed may link to its own host (the user configured it), but not to other private addresses."""
    ps = seedsite.dagens_ps()
    server.add("/page", seedsite.article_page(ps, "PS").encode(), "text/html")
    page = f"http://localhost:{server.port}/page"  # loopback too, but not the feed's host
    server.add("/feed", seedsite.rss_feed("PS", "sv", [(ps, page)]).encode())
    config = tmp_path / "feeds.yaml"
    config.write_text(f"feeds:\n  - name: PS\n    url: {server.url('/feed')}\n")
    assert run(config, "fetch")[0] == 0
    [record] = export(config)
    assert record["text_source"] == "feed-summary"
    assert server.requests_to("/page") == []  # never fetched


def test_export_csv(site: TestServer, tmp_path: Path) -> None:
    import csv
    import io

    config = write_config(tmp_path, site)
    run(config, "fetch")
    code, out = run(config, "export", "--format", "csv", "--flagged")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 2
    assert {r["language"] for r in rows} == {"sv", "zh-Hant"}
    assert all(r["terms"] and r["snippets"] and r["level"] == "alert" for r in rows)  # hits flattened


def test_config_error_exits_2_naming_file_and_line(tmp_path: Path) -> None:
    config = tmp_path / "feeds.yaml"
    config.write_text("feeds:\n  - name: X\n    url: https://example.org/feed\n    intervall: 5m\n")
    code, out = run(config, "fetch")
    assert code == 2
    assert f"{config}:4" in out and "intervall" in out and "interval" in out


def test_pages_on_the_feeds_own_host_are_fetched_without_the_switch(site: TestServer, tmp_path: Path) -> None:
    config = write_config(tmp_path, site).read_text().replace("allow_private_networks: true", "")
    (tmp_path / "feeds.yaml").write_text(config)
    assert run(tmp_path / "feeds.yaml", "fetch")[0] == 0
    assert {r["text_source"] for r in export(tmp_path / "feeds.yaml")} == {"page"}


def test_feeds_check_probes_each_feed_and_stores_nothing(site: TestServer, tmp_path: Path) -> None:
    config = write_config(tmp_path, site, f"""  - name: Missing
    url: {site.url("/nothing-here")}
""")
    code, out = run(config, "feeds", "check")
    assert code == 1
    assert "valid; 4 feeds" in out
    assert "Dagens PS: ok: 1 entries, declared language sv-SE" in out
    assert "DW Chinese: ok: 1 entries" in out
    assert "Missing: FAILED: HTTP 404" in out
    assert site.requests_to("/zh/a-65967606") == []  # pages are not fetched by a probe
    assert export(config) == []
