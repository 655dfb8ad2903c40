"""The parse stage on real feeds: captured feeds in odd encodings, and every file of feedparser's suite."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

from monitor.errors import FeedParseError
from monitor.feeds import discover_feed_links, parse_feed
from monitor.urls import canonical_url
from tests.conftest import DATA, require_shared
from tests.support import seedsite


def test_gb2312_feed_from_news_qq_com_is_decoded() -> None:
    body = (DATA / "feeds/rss-parser/encoding-gb2312.full-77ffd78.xml").read_bytes()
    feed = parse_feed(body, "http://tech.qq.com/web/rss.xml", {"content-type": "text/xml"})
    assert feed.title == "新闻国内"
    assert feed.language == "zh-cn"
    assert len(feed.entries) > 10
    assert all(re.search("[\u4e00-\u9fff]", e.title) for e in feed.entries)
    # the non-standard pubDate is still read
    assert all(e.published is not None for e in feed.entries)


def test_http_charset_header_wins_for_undeclared_bytes() -> None:
    xml = '<?xml version="1.0"?><rss version="2.0"><channel><title>出口管制</title>' \
          '<item><title>晶片走私</title><link>http://x.test/a</link></item></channel></rss>'
    body = xml.encode("gb18030")
    feed = parse_feed(body, "http://x.test/feed", {"content-type": "application/rss+xml; charset=gb2312"})
    assert feed.entries[0].title == "晶片走私"


def test_windows_1251_and_gzip_bodies() -> None:
    plain = parse_feed((DATA / "feeds/node-feedparser/iconv.xml").read_bytes(), "http://www.oren.ru/rss")
    assert re.search("[а-яА-Я]", plain.title)
    # compressed.xml is the same feed gzipped: httpx decodes Content-Encoding; here we do it by hand
    unzipped = gzip.decompress((DATA / "feeds/node-feedparser/compressed.xml").read_bytes())
    again = parse_feed(unzipped, "http://www.oren.ru/rss")
    assert [e.key for e in again.entries] == [e.key for e in plain.entries]


def test_guardian_and_atom() -> None:
    guardian = parse_feed((DATA / "feeds/rss-parser/guardian.rss").read_bytes(), "https://www.theguardian.com/uk/rss")
    assert len(guardian.entries) > 20
    assert all(e.link and e.link.startswith("https://") for e in guardian.entries)
    assert all(e.published for e in guardian.entries)
    heise = parse_feed((DATA / "feeds/rss-parser/heise.atom").read_bytes(), "https://www.heise.de/atom")
    assert heise.entries and all(e.key.startswith("guid:") for e in heise.entries)


def test_html_page_is_not_a_feed_and_advertised_feed_is_offered() -> None:
    body = (DATA / "feeds/node-feedparser/notafeed.html").read_bytes()
    with pytest.raises(FeedParseError) as info:
        parse_feed(body, "http://example.test/")
    assert "not a feed" in str(info.value)
    page = b'<html><head><link rel="alternate" type="application/rss+xml" href="/feed.xml"></head></html>'
    assert discover_feed_links(page, "http://example.test/news/") == ["http://example.test/feed.xml"]
    with pytest.raises(FeedParseError, match=re.escape("advertises a feed at http://example.test/feed.xml")):
        parse_feed(page, "http://example.test/news/")


def test_empty_and_entity_tricks_are_refused() -> None:
    with pytest.raises(FeedParseError, match="empty"):
        parse_feed(b"  \n", "http://x.test/")
    laughs = b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>' \
             b"<rss><channel><title>&lol2;</title></channel></rss>"
    with pytest.raises(FeedParseError, match="nested XML entities"):
        parse_feed(laughs, "http://x.test/")


def test_entries_keyed_by_guid_then_canonical_link() -> None:
    xml = b"""<rss version="2.0"><channel><title>t</title>
    <item><title>A</title><guid isPermaLink="false">id-1</guid><link>http://x.test/a</link></item>
    <item><title>B</title><link>http://X.test/b?utm_source=rss&amp;id=2#top</link></item>
    <item><title>B again</title><link>http://x.test/b?id=2&amp;utm_medium=feed</link></item>
    </channel></rss>"""
    feed = parse_feed(xml, "http://x.test/feed")
    # a bare GUID only names the item within its feed; a URL or tag URI names it everywhere
    assert [e.key for e in feed.entries] == ["guid:http://x.test/feed#id-1", "url:http://x.test/b?id=2"]
    other = parse_feed(xml.replace(b"id-1", b"tag:x.test,2026:1"), "http://x.test/feed")
    assert other.entries[0].key == "guid:tag:x.test,2026:1"
    assert canonical_url("HTTPS://www.Example.org:443/a/?b=1&utm_campaign=x#frag") == "http://example.org/a?b=1"
    assert canonical_url("http://example.org/a") == canonical_url("https://www.example.org/a/")


def test_json_feed() -> None:
    body = b"""{"version": "https://jsonfeed.org/version/1.1", "title": "JF", "language": "sv",
      "items": [{"id": "1", "url": "/a", "title": "Exportkontroll", "content_html": "<p>Chip</p>",
                 "date_published": "2026-11-20T10:00:00+01:00"},
                {"id": "2", "external_url": "https://y.test/b", "content_text": "Bara text"},
                "junk"]}"""
    feed = parse_feed(body, "https://x.test/feed.json")
    assert feed.title == "JF" and feed.language == "sv"
    first, second = feed.entries
    assert first.link == "https://x.test/a" and first.content == "Chip" and first.title == "Exportkontroll"
    assert first.published is not None and first.published.isoformat() == "2026-11-20T09:00:00+00:00"
    assert second.link == "https://y.test/b" and second.content == "Bara text"
    assert feed.problems == ("item 2: not an object; skipped",)
    with pytest.raises(FeedParseError, match="invalid JSON"):
        parse_feed(b"{not json", "https://x.test/feed.json")


@pytest.mark.parametrize(("raw", "expected"), [
    ("Tue, 20 Jun 2023 02:48:54 +0000", "2023-06-20T02:48:54+00:00"),
    ("5 mars 2024", "2024-03-05T00:00:00+00:00"),
    ("2024年03月05日 10:30", "2024-03-05T02:30:00+00:00"),  # China time
    ("igår 10:15", None),           # relative: not invented from today
    ("3 timmar sedan", None),
    ("March 2024", None),           # no day
    ("0001-01-01T00:00:00+01:00", None),
    ("9999-12-31T23:00:00-05:00", None),
])
def test_dates_are_read_or_left_empty_never_invented(raw: str, expected: str | None) -> None:
    from monitor.feeds import parse_date_text

    parsed = parse_date_text(raw)
    assert (parsed.isoformat() if parsed else None) == expected


def test_hostile_entries_do_not_break_the_feed() -> None:
    xml = b"""<rss version="2.0"><channel><title>t</title>
    <item><title>&lt;html&gt;&lt;body&gt;a&lt;/body&gt;&lt;/html&gt;&lt;html&gt;&lt;body&gt;b&lt;/body&gt;&lt;/html&gt;</title>
      <link>http://x.test/1</link></item>
    <item><title>Bad port</title><link>http://x.test:99999/2</link><guid>g2</guid></item>
    <item><title>Year one</title><link>http://x.test/3</link><pubDate>0001-01-01T00:00:00+01:00</pubDate></item>
    </channel></rss>"""
    feed = parse_feed(xml, "http://x.test/feed")
    assert len(feed.entries) == 3
    assert feed.entries[1].link is None  # an unusable link is dropped, the entry kept
    assert feed.entries[2].published is None


def test_every_file_of_feedparsers_suite_parses_without_escaping_exception() -> None:
    root = require_shared("feeds", "feedparser")
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != "LICENSE")
    assert len(files) > 2000
    failures: list[str] = []
    outcomes = {"parsed": 0, "refused": 0}
    for path in files:
        body = path.read_bytes()
        headers = {}
        for m in re.finditer(rb"^Header:\s*([A-Za-z-]+):\s*(.+?)\s*$", body[:2000], re.M):
            headers[m.group(1).decode().lower()] = m.group(2).decode("latin-1")
        try:
            parse_feed(body, f"http://127.0.0.1/{path.relative_to(root)}", headers)
            outcomes["parsed"] += 1
        except FeedParseError:
            outcomes["refused"] += 1  # a clear, expected error
        except Exception as exc:  # noqa: BLE001 - the point is to catch and report everything
            failures.append(f"{path.relative_to(root)}: {type(exc).__name__}: {exc}")
    assert not failures, f"{len(failures)} files raised:\n" + "\n".join(failures[:50])
    assert outcomes["parsed"] > 1800, outcomes


def test_external_entities_are_refused_and_no_file_is_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    xxe = f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]>' \
          '<rss version="2.0"><channel><title>&x;</title><item><title>&x;</title></item></channel></rss>'
    with pytest.raises(FeedParseError, match="external"):
        parse_feed(xxe.encode(), "http://x.test/")
    simple = b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY copy "(c)">]><rss version="2.0"><channel>' \
             b"<title>t &copy;</title><item><title>a</title><link>http://x.test/a</link></item></channel></rss>"
    assert parse_feed(simple, "http://x.test/").entries


@pytest.mark.parametrize(("codec", "declaration", "header"), [
    ("big5", "", None),                      # nothing declared at all
    ("big5", ' encoding="utf-8"', None),     # declared wrongly
    ("big5hkscs", ' encoding="big5"', None),  # HKSCS characters in a "Big5" feed
    ("gb18030", "", None),
    ("gbk", ' encoding="gb2312"', None),      # GBK characters in a "GB2312" feed
    ("gb18030", "", "text/xml; charset=gb18030"),
    ("big5", "", "application/rss+xml; charset=big5"),
])
def test_legacy_chinese_encodings_come_out_as_correct_text(codec: str, declaration: str, header: str | None) -> None:
    hant = "美國出口管制 英偉達晶片走私 朱鎔基 香港邨"
    hans = "美国出口管制 英伟达芯片走私 朱镕基"
    title = hant if codec.startswith("big5") else hans
    if codec == "big5":
        title = title.replace(" 香港邨", "")  # 邨 is HKSCS-only
    xml = f'<?xml version="1.0"{declaration}?><rss version="2.0"><channel><title>t</title>' \
          f"<item><title>{title}</title><link>http://x.test/a</link></item></channel></rss>"
    headers = {"content-type": header} if header else {}
    feed = parse_feed(xml.encode(codec), "http://x.test/feed", headers)
    assert feed.entries[0].title == title


def test_truncated_xml_keeps_the_entries_before_the_cut() -> None:
    full = (DATA / "feeds/rss-parser/guardian.rss").read_bytes()
    cut = full[: len(full) // 2]
    feed = parse_feed(cut, "https://www.theguardian.com/uk/rss")
    assert feed.bozo  # the complaint is recorded
    assert 5 < len(feed.entries) < len(parse_feed(full, "https://www.theguardian.com/uk/rss").entries)


def test_invalid_utf8_in_a_utf8_feed_does_not_lose_the_feed() -> None:
    xml = '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>' \
          '<item><title>Exportkontroll på chip</title><link>http://x.test/a</link></item>' \
          '<item><title>Andra nyheten</title><link>http://x.test/b</link></item></channel></rss>'
    body = xml.encode("utf-8").replace(b"Andra", b"And\xffra")
    feed = parse_feed(body, "http://x.test/feed")
    assert len(feed.entries) == 2
    assert feed.entries[0].title == "Exportkontroll på chip"


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig", "utf-32"])
def test_unicode_encodings_and_boms(codec: str) -> None:
    declared = codec.replace("-sig", "").replace("-le", "").replace("-be", "")
    xml = f'<?xml version="1.0" encoding="{declared}"?><rss version="2.0"><channel><title>t</title>' \
          "<item><title>出口管制 — exportkontroll på chip</title><link>http://x.test/a</link></item></channel></rss>"
    body = xml.encode(codec)
    if codec in ("utf-16-le", "utf-16-be"):
        body = (b"\xff\xfe" if codec.endswith("le") else b"\xfe\xff") + body
    feed = parse_feed(body, "http://x.test/feed")
    assert feed.entries[0].title == "出口管制 — exportkontroll på chip"


def test_undeclared_latin1_feed_from_uol_is_read_as_cp1252() -> None:
    # a real capture (rss-parser's test input): Latin-1, no XML declaration, no HTTP charset;
    # charset_normalizer ranks cp1257 first ("prisćo"), tied with cp1252
    body = (DATA / "feeds/rss-parser/uolNoticias.rss").read_bytes()
    feed = parse_feed(body, "http://rss.uol.com.br/feed/noticias.xml")
    titles = [e.title for e in feed.entries]
    assert "Rival de Putin é condenado a mais 20 dias de prisão" in titles
    assert titles[0] == "Ibope: Bolsonaro perde de Haddad, Ciro e Alckmin em simulações de 2º turno"
    assert not any("\ufffd" in t for t in titles)


# Swedish sentences from lingua-py's test data (Leipzig corpora, Apache-2.0: ../shared/corpus/peers/lingua-testdata)
_SV_TITLES = ["Menyerna öppnar man genom att klicka på menynamnet.",
              "E-postadressen når han sporadiskt i skolan.",
              "I det ena fallet når strålningen ögats näthinna direkt från en ljuskälla exempelvis från solen "
              "eller en lampa."]


@pytest.mark.parametrize("count", [1, 3])  # 1: two accented bytes, once read as "UTF-8 with 2 bad bytes"
def test_undeclared_swedish_latin1_feed_is_read_as_latin1(count: int) -> None:
    items = "".join(f"<item><title>{t}</title><link>http://x.test/{i}</link></item>"
                    for i, t in enumerate(_SV_TITLES[:count]))
    xml = f'<rss version="2.0"><channel><title>Nyheter på svenska</title>{items}</channel></rss>'
    feed = parse_feed(xml.encode("latin-1"), "http://x.test/feed")
    assert feed.title == "Nyheter på svenska"
    assert [e.title for e in feed.entries] == _SV_TITLES[:count]


def test_gb2312_feed_with_a_stray_byte_keeps_its_declaration() -> None:
    # news.qq.com's real GB2312 feed with one invalid byte added: still GB2312 (GB18030), that byte
    # replaced; not detected afresh, not dropped
    body = (DATA / "feeds/rss-parser/encoding-gb2312.full-77ffd78.xml").read_bytes()
    clean = parse_feed(body, "http://tech.qq.com/web/rss.xml", {"content-type": "text/xml"})
    first = clean.entries[0].title.encode("gb18030")
    at = body.index(first) + 4  # after two characters
    feed = parse_feed(body[:at] + b"\xff" + body[at:], "http://tech.qq.com/web/rss.xml", {"content-type": "text/xml"})
    assert feed.title == "新闻国内"
    assert [e.title for e in feed.entries[1:]] == [e.title for e in clean.entries[1:]]
    title = clean.entries[0].title
    assert feed.entries[0].title == title[:2] + "\ufffd" + title[2:]


def test_big5_feed_with_a_stray_byte_keeps_its_declaration() -> None:
    dw = seedsite.dw_chinese()
    body = seedsite.rdf_feed_big5("德國之聲", [(dw, "https://www.dw.com/zh/a-65971584")])
    at = body.index(b"<description>" + dw.summary.encode("big5hkscs")) + len(b"<description>")
    feed = parse_feed(body[:at] + b"\x80" + body[at:], "https://rss.dw.com/rdf/rss-chi-all")
    assert feed.title == "德國之聲"
    assert feed.entries[0].title == dw.title
    assert feed.entries[0].summary == "\ufffd" + dw.summary
