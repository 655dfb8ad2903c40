"""Control characters (ESC, BEL, NUL, C1) from feeds, pages and servers are stripped where the
text enters, and so are absent from the store, the export and both parts of the digest."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import feedparser
import pytest
from click.testing import CliRunner

from monitor.cli import main
from monitor.config import load_config
from monitor.delivery import plan_digest
from monitor.errors import ExtractionError, FeedParseError, FetchError, HTTPStatusError
from monitor.extraction import extract
from monitor.feeds import parse_feed
from monitor.sanitize import strip_controls
from monitor.storage import Store
from tests.support.httpserver import TestServer

# every C0 control but tab, newline and carriage return; DEL; every C1 control
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


@pytest.mark.parametrize(("raw", "clean"), [
    ("plain text, unchanged", "plain text, unchanged"),
    ("tab\tnewline\ncarriage return\r kept", "tab\tnewline\ncarriage return\r kept"),
    ("red \x1b[31mALERT\x1b[0m now", "red ALERT now"),  # a whole CSI sequence goes, not only its ESC
    ("title \x1b]0;pwned\x07set", "title set"),  # an OSC (window title) sequence, ended by BEL
    ("link \x1b]8;;https://evil.test\x1b\\here\x1b]8;;\x1b\\", "link here"),  # OSC 8 hyperlink, ended by ST
    ("bell\x07 nul\x00 del\x7f", "bell nul del"),
    ("C1 \x9b31m csi \x85nel \x90dcs", "C1 31m csi  nel dcs"),  # NEL separates: a space
    ("vertical\x0btab form\x0cfeed", "vertical tab form feed"),
    ("\ufeffbom inside\ufeff", "bom inside"),
    ("lone \ud800 surrogate, nonchar \uffff\U0010fffe", "lone  surrogate, nonchar "),
    # content in some script: kept
    ("می\u200cخواهم", "می\u200cخواهم"),  # zero-width non-joiner (Persian)
    ("क्\u200dष 👩\u200d💻", "क्\u200dष 👩\u200d💻"),  # zero-width joiner (Devanagari, emoji)
    ("ภาษา\u200bไทย", "ภาษา\u200bไทย"),  # zero-width space (Thai word break)
    ("\u202bعربي\u202c \u200fx", "\u202bعربي\u202c \u200fx"),  # bidi embedding and mark
    ("soft\u00adhyphen 葛\U000e0100", "soft\u00adhyphen 葛\U000e0100"),  # soft hyphen, variation selector
])
def test_strip_controls(raw: str, clean: str) -> None:
    assert strip_controls(raw) == clean
    assert strip_controls(clean) == clean


def test_error_messages_lose_control_characters() -> None:
    for exc in (FetchError("redirect loop via http://x.test/\x9b31m\x85", url="http://x.test/\x1b[2J"),
                FeedParseError("not a feed (\x07bell)", url="http://x.test/"), HTTPStatusError(500, url="http://x\x07"),
                ExtractionError("no article text found (http://x.test/\x1b[5m)")):
        assert not CONTROL.search(str(exc)), repr(str(exc))
        assert "x.test" in str(exc) or "HTTP 500" in str(exc)


def test_feed_fields_lose_control_characters() -> None:
    body = ("<?xml version='1.0' encoding='utf-8'?><rss version='2.0' xmlns:content="
            "'http://purl.org/rss/1.0/modules/content/'><channel><title>Wire\x1b[31m\x07</title>"
            "<language>en\x07</language><item><title>Chips\x1b[2J\x07 \x90export</title>"
            "<link>https://x.test/a\x1b[31m\x90</link><guid isPermaLink='false'>id\x1b[1m-1\x00</guid>"
            "<description>Sum\x07mary \x1b]0;t\x07of it</description>"
            "<content:encoded><![CDATA[<p>Con\x1b[0mtent\x07 with <b>markup\x90</b> and more</p>]]></content:encoded>"
            "<author>desk@x.test (Desk\x1b[5m\x07)</author></item></channel></rss>").encode()
    feed = parse_feed(body, "https://x.test/feed")
    [entry] = feed.entries
    assert (feed.title, feed.language) == ("Wire", "en")
    assert (entry.title, entry.summary, entry.content) == ("Chips export", "Summary of it",
                                                           "Content with markup and more")
    assert entry.author == "desk@x.test (Desk)"
    assert entry.key == "guid:https://x.test/feed#id-1"
    assert entry.link == "https://x.test/a%1B[31m%C2%90"  # in a link, as browsers do: percent-encoded


def test_page_text_and_title_lose_control_characters() -> None:
    para = "Exportkontrollerna på AI-chip skärps, och smugglarna hittar nya vägar genom skalbolag i Singapore. "
    page = ("<html><head><title>Chip\x1b[31m \x07smuggling\x9b</title></head><body><article><h1>Chip smuggling</h1>"
            + "".join(f"<p>{para}\x1b[1m{i}\x07\x9b</p>" for i in range(5)) + "</article></body></html>")
    result = extract(page, "https://x.test/a")
    assert "Exportkontrollerna" in result.text
    assert not CONTROL.search(result.text) and not CONTROL.search(result.title or "")


# -- end to end: served, fetched, stored, exported, mailed ----------------------------------------------

EVIL_TITLE = "US export controls \x1b[2J\x07on Nvidia AI chips\x9b tightened\x85 again"
# feedparser reads the C1 code points windows-1252 defines as that charset's characters, as browsers
# do (U+009B CSI is "›", U+0085 NEL "…"); the undefined ones (U+0090) reach us, and are stripped
EVIL_CLEAN = "US export controls on Nvidia AI chips› tightened… again"
SMUGGLER_TITLE = "Chip smugglers\x07 dodge export controls\x1b[0m via Singapore"
SMUGGLER_SUMMARY = ("US export controls on Nvidia AI chips are being dodged\x1b]0;owned\x07: smugglers move chips "
                    "through shell companies in Singapore\x07, investigators say.\x9b2J Exportkontroller kringgås.")
ERROR_TITLE = "Export controls on AI chips: \x1b[5mlatest\x07 from the wire\x90"
PAGE_PARA = ("The new US export controls on Nvidia AI chips\x07 close the loopholes that smugglers used, officials "
             "said, and Singapore shell companies are named in the rules.\x1b[1m ")
# a redirect target with C1 controls (U+009B CSI, U+0085 NEL): the redirect-loop error quotes it
LOOP_TARGET = "/ctl/loop\u009b31m\u0085"


def _loop(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(302)
    handler.send_header("Location", LOOP_TARGET)
    handler.send_header("Content-Length", "0")
    handler.end_headers()


def _server_error(handler: BaseHTTPRequestHandler) -> None:
    body = "Internal \x1b[31mError\x07\x9b".encode()
    handler.wfile.write(b"HTTP/1.1 500 Internal \x1b[31mError\x07\r\nContent-Type: text/plain\r\n"
                        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


def _feed(server: TestServer) -> bytes:
    page = ("<html><head><meta charset='utf-8'><title>Export \x1b[31mcontrols\x07\x9b</title></head><body><article>"
            f"<h1>Export controls\x07 tightened</h1>{''.join(f'<p>{PAGE_PARA}{i}</p>' for i in range(6))}"
            "</article></body></html>")
    page_url = server.add("/ctl/page", page.encode(), "text/html; charset=utf-8")
    error_url = server.add_handler("/ctl/error", _server_error)
    loop_url = server.add_handler("/ctl/loop", _loop)
    server.add_handler("/ctl/loop%C2%9B31m%C2%85", _loop)
    items = [(EVIL_TITLE, page_url, "Nvidia\x07 export controls"), (SMUGGLER_TITLE, loop_url, SMUGGLER_SUMMARY),
             (ERROR_TITLE, error_url, SMUGGLER_SUMMARY.replace("Singapore", "Malaysia"))]
    entries = "".join(
        f"<item><title>{title}</title><link>{url}</link><guid isPermaLink='false'>ctl-{n}</guid>"
        f"<pubDate>Sat, 26 Jul 2025 0{n}:00:00 +0000</pubDate><description>{summary}</description>"
        f"<author>desk@wire.test (Wire\x1b[5m Desk\x07)</author></item>"
        for n, (title, url, summary) in enumerate(items))
    return (f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Control\x1b[31m Wire\x07"
            f"</title><link>https://wire.test/</link><language>en</language>{entries}</channel></rss>").encode()


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return []


def _assert_clean(where: str, *texts: str) -> None:
    for text in texts:
        m = CONTROL.search(text)
        assert m is None, f"{where}: {m.group(0)!r} in {text[max(0, m.start() - 60):m.end() + 60]!r}"


def test_control_characters_never_reach_store_export_or_digest(server: TestServer, tmp_path: Path) -> None:
    body = _feed(server)
    # the feed really carries them through a feed parser: feedparser's own result has ESC and BEL
    raw = feedparser.parse(body)
    assert "\x1b" in raw.entries[0].title and "\x07" in raw.entries[1].summary
    server.add("/ctl/feed", body, "application/rss+xml; charset=utf-8")
    server.add_handler("/ctl/broken-feed", _loop)  # a feed whose server redirects into a loop
    config = tmp_path / "feeds.yaml"
    config.write_text(f"""
database: data/monitor.sqlite3
allow_private_networks: true
translation:
  enabled: false
feeds:
  - name: Control Wire
    url: {server.url("/ctl/feed")}
  - name: Looping Wire
    url: {server.url("/ctl/broken-feed")}
digest:
  timezone: Europe/Stockholm
  to: [desk@example.org]
""", encoding="utf-8")
    runner = CliRunner()
    fetched = runner.invoke(main, ["--config", str(config), "fetch"], catch_exceptions=False)
    assert fetched.exit_code == 0, fetched.output
    assert "3 new articles" in fetched.output, fetched.output
    _assert_clean("fetch output", fetched.output)

    # the store: every text value of every table
    with sqlite3.connect(tmp_path / "data" / "monitor.sqlite3") as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        stored = [v for t in tables for row in db.execute(f"SELECT * FROM {t}") for v in row if isinstance(v, str)]
    _assert_clean("store", *stored)
    stored_text = "\n".join(stored)
    assert EVIL_CLEAN in stored_text
    assert "redirect loop via" in stored_text  # the page error and the feed error, both stored

    # the export, as JSON Lines (json.dumps writes ESC as \\u001b: the values are checked) and CSV
    exported = runner.invoke(main, ["--config", str(config), "export", "--format", "jsonl"], catch_exceptions=False)
    assert exported.exit_code == 0, exported.output
    records = [json.loads(line) for line in exported.output.splitlines() if line.strip()]
    _assert_clean("jsonl export", exported.output, *(s for r in records for s in _strings(r)))
    assert not re.search(r"\\u00[01][0-9a-f]|\\u007f|\\u00[89][0-9a-f]", exported.output, re.I)
    by_title = {r["title"]: r for r in records}
    assert set(by_title) == {EVIL_CLEAN,
                             "Chip smugglers dodge export controls via Singapore",
                             "Export controls on AI chips: latest from the wire"}
    evil = by_title[EVIL_CLEAN]
    assert evil["text_source"] == "page" and "close the loopholes that smugglers used" in evil["text"]
    smugglers = by_title["Chip smugglers dodge export controls via Singapore"]
    assert smugglers["text_source"] == "feed-summary"
    assert smugglers["text"].startswith("US export controls on Nvidia AI chips are being dodged: smugglers")
    assert "redirect loop via" in " ".join(smugglers["errors"])
    assert "HTTP 500" in " ".join(by_title["Export controls on AI chips: latest from the wire"]["errors"])
    csv_out = runner.invoke(main, ["--config", str(config), "export", "--format", "csv"], catch_exceptions=False)
    assert csv_out.exit_code == 0 and "Chip smugglers dodge export controls" in csv_out.output
    _assert_clean("csv export", csv_out.output)

    # the digest, both parts and the subject; the failing feed's error is in it
    loaded = load_config(config)
    with Store(loaded.database) as store:
        plan = plan_digest(store, loaded, datetime(2030, 1, 1, 6, 0, tzinfo=UTC))
    rendered = plan.rendered
    assert plan.digest.article_count >= 2, "the test needs flagged articles in the digest"
    assert "Chip smugglers dodge export controls via Singapore" in rendered.text
    assert "Looping Wire" in rendered.html and "redirect loop via" in rendered.text
    _assert_clean("digest", rendered.subject, rendered.html, rendered.text)
    preview = runner.invoke(main, ["--config", str(config), "digest"], catch_exceptions=False)
    assert preview.exit_code == 0 and "MONITOR DIGEST" in preview.output
    _assert_clean("digest preview", preview.output)
    listing = runner.invoke(main, ["--config", str(config), "feeds", "list"], catch_exceptions=False)
    _assert_clean("feeds list", listing.output)
