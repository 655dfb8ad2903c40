"""Entity declarations are checked in the charset the feed is read in: a billion laughs (or an
external entity) in UTF-16 or UTF-32 has no "<!ENTITY" among its bytes, and must still be refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.errors import FeedParseError
from monitor.feeds import parse_feed

URL = "https://evil.test/feed.xml"

LAUGHS_DTD = """<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>"""
RSS = """<rss version="2.0"><channel><title>&lol9;</title><link>https://evil.test/</link>
<item><title>&lol9;</title><link>https://evil.test/a</link><description>&lol9;</description></item>
</channel></rss>"""


def billion_laughs(declaration: str) -> str:
    """The classic billion laughs, as an RSS feed."""
    return f"{declaration}\n{LAUGHS_DTD}\n{RSS}"


def test_utf16_billion_laughs_with_a_bom_is_refused() -> None:
    body = billion_laughs('<?xml version="1.0" encoding="UTF-16"?>').encode("utf-16")
    assert body[:2] in (b"\xff\xfe", b"\xfe\xff") and b"<!ENTITY" not in body  # the byte check alone misses it
    with pytest.raises(FeedParseError, match="entit") as info:
        parse_feed(body, URL)
    assert URL in str(info.value)


def test_utf16_be_billion_laughs_without_a_bom_declared_utf16_is_refused() -> None:
    body = billion_laughs('<?xml version="1.0" encoding="UTF-16"?>').encode("utf-16-be")
    assert body[:4] == b"\x00<\x00?" and b"<!ENTITY" not in body
    with pytest.raises(FeedParseError, match="entit") as info:
        parse_feed(body, URL, {"Content-Type": "application/rss+xml"})
    assert URL in str(info.value)


@pytest.mark.parametrize(("codec", "headers"), [
    ("utf-16-le", None),  # no BOM, no declaration: the zero bytes say UTF-16LE
    ("utf-32", None),
    ("utf-32-be", None),
    ("utf-16-le", {"Content-Type": "application/xml; charset=UTF-16"}),
])
def test_billion_laughs_in_other_unicode_forms_is_refused(codec: str, headers: dict[str, str] | None) -> None:
    body = billion_laughs("").lstrip().encode(codec)
    with pytest.raises(FeedParseError, match="entit") as info:
        parse_feed(body, URL, headers)
    assert URL in str(info.value)


def test_billion_laughs_in_utf7_declared_by_the_server_is_refused() -> None:
    # UTF-7 may write "<" as "+ADw-": no "<!ENTITY" among the bytes, until decoded as the server says
    body = billion_laughs("").replace("<", "+ADw-").encode("ascii")
    with pytest.raises(FeedParseError, match="entit"):
        parse_feed(body, URL, {"Content-Type": "application/rss+xml; charset=utf-7"})


def test_external_entity_in_utf16_is_refused_and_no_file_is_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    doc = (f'<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]>'
           '<rss version="2.0"><channel><title>&x;</title><item><title>&x;</title></item></channel></rss>')
    with pytest.raises(FeedParseError, match="external") as info:
        parse_feed(doc.encode("utf-16"), URL)
    assert URL in str(info.value)


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32"])
def test_a_harmless_utf16_feed_with_a_simple_entity_is_still_read(codec: str) -> None:
    doc = ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE rss [<!ENTITY copy "(c)">]>'
           '<rss version="2.0"><channel><title>Nyheter</title><item><title>Exportkontroll för chip &copy;</title>'
           "<link>https://ok.test/a</link></item></channel></rss>")
    feed = parse_feed(doc.encode(codec), "https://ok.test/feed.xml")
    assert [e.title for e in feed.entries] == ["Exportkontroll för chip (c)"]


@pytest.mark.parametrize("codec", ["utf-8", "utf-16"])
def test_a_long_comment_before_the_dtd_does_not_hide_it(codec: str) -> None:
    filler = "<!-- " + "x" * 300_000 + " -->\n"
    document = '<?xml version="1.0"?>\n' + filler + LAUGHS_DTD + RSS
    with pytest.raises(FeedParseError, match="entit"):
        parse_feed(document.encode(codec), URL)


def test_control_characters_written_as_entities_do_not_survive() -> None:
    feed = ('<rss version="2.0"><channel><title>T</title><item><title>Red&#27;[31m alert&#7;</title>'
            "<link>https://evil.test/a</link><description>&lt;p&gt;bell&amp;#7; and esc&amp;#x1b;[0m "
            "bom&amp;#xFEFF; end&lt;/p&gt;</description></item></channel></rss>")
    [entry] = parse_feed(feed.encode(), URL).entries
    for text in (entry.title, entry.summary):
        assert not any((ord(c) < 32 and c not in "\t\n\r") or c == "\ufeff" for c in text), repr(text)
    assert entry.title == "Red alert" and entry.summary == "bell and esc bom end"  # ESC[..m goes whole


def test_a_json_feed_with_a_utf8_bom_is_read() -> None:
    body = b'\xef\xbb\xbf{"version": "https://jsonfeed.org/version/1.1", "title": "J", ' \
           b'"items": [{"id": "1", "url": "https://evil.test/1", "title": "One"}]}'
    [entry] = parse_feed(body, URL).entries
    assert entry.title == "One"
