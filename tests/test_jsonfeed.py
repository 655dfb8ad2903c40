"""JSON Feed as written in the wild: the versions generators write, the 1.0 and 1.1 fields, and
JSON that is not a feed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from monitor.errors import FeedParseError
from monitor.feeds import parse_feed

URL = "https://x.test/feed.json"
ITEM = {"id": "https://x.test/a", "url": "https://x.test/a", "title": "Exportkontroll", "content_text": "Chip"}


def body(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


@pytest.mark.parametrize("version", [
    "https://jsonfeed.org/version/1", "https://jsonfeed.org/version/1.1", "http://jsonfeed.org/version/1",
    "https://jsonfeed.org/version/1.1/", "1", "1.0", "1.1", " 1.1 ", 1, 1.1,
])
def test_versions_written_in_the_wild_are_read(version: object) -> None:
    feed = parse_feed(body({"version": version, "title": "JF", "items": [ITEM]}), URL)
    assert feed.title == "JF"
    assert [e.title for e in feed.entries] == ["Exportkontroll"]


def test_a_feed_without_a_version_is_read_when_it_has_a_feeds_shape() -> None:
    with_home = parse_feed(body({"title": "JF", "home_page_url": "https://x.test/", "items": [ITEM]}), URL)
    assert [e.link for e in with_home.entries] == ["https://x.test/a"]
    items_only = parse_feed(body({"items": [ITEM, {"id": "2", "content_html": "<p>Mer</p>"}]}), URL)
    assert [e.content for e in items_only.entries] == ["Chip", "Mer"]
    # the spec's own version URL is enough, even without items: an empty feed
    assert parse_feed(body({"version": "https://jsonfeed.org/version/1.1", "title": "E"}), URL).entries == ()


@pytest.mark.parametrize(("data", "reason"), [
    ({"verion": "1.0"}, "without a JSON Feed version and items list"),  # gofeed's invalid.json, repaired
    ({"name": "pkg", "version": "1.0.0", "dependencies": {"x": "^1"}}, "version '1.0.0' but no items list"),
    ({"version": "1.1", "title": "no items"}, "no items list"),
    ({"version": "banana", "items": [ITEM]}, "not a JSON Feed version"),
    ({"version": True, "items": [ITEM]}, "not a JSON Feed version"),
    ({"items": [{"name": "a row", "value": 3}]}, "without a JSON Feed version or a feed's shape"),
    ({"results": [ITEM]}, "without a JSON Feed version and items list"),
])
def test_json_that_is_not_a_feed_is_refused_naming_the_url(data: Any, reason: str) -> None:
    with pytest.raises(FeedParseError) as info:
        parse_feed(body(data), URL)
    assert reason in str(info.value) and URL in str(info.value)


def test_json_nested_too_deep_or_with_huge_numbers_is_refused_not_crashing() -> None:
    for raw in (b'{"items": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", b'{"version": ' + b"9" * 10_000 + b"}"):
        with pytest.raises(FeedParseError, match="invalid JSON"):
            parse_feed(raw, URL)


def test_fields_of_json_feed_1_0_and_1_1() -> None:
    data = {
        "version": "https://jsonfeed.org/version/1.1", "title": "JF", "language": "sv",
        "authors": [{"name": "Redaktionen", "url": "https://x.test/about"}],
        "items": [
            {"id": "a", "url": "/a", "title": "Ett", "summary": "Sammanfattning", "content_html": "<p>Kort</p>",
             "content_text": "Den längre texten", "date_published": "2025-07-25T08:12:00+02:00",
             "date_modified": "2025-07-26T00:00:00Z",
             "authors": [{"name": "Anna A"}, {"name": "Bo B", "avatar": "https://x.test/bo.png"}, {"url": "x"}]},
            {"id": 42, "external_url": "https://y.test/b", "title": "Två", "date_modified": "2025-07-26T10:00:00Z",
             "author": {"name": "Gammal 1.0-stil"}},
            {"id": "c", "url": "https://x.test/c", "title": "Tre", "authors": []},
            {"id": True, "url": "https://x.test/d", "title": "Fyra", "author": "Bara namn"},
        ],
    }
    feed = parse_feed(body(data), URL)
    assert feed.language == "sv"
    one, two, three, four = feed.entries
    assert (one.link, one.summary, one.content) == ("https://x.test/a", "Sammanfattning", "Den längre texten")
    assert one.published == datetime(2025, 7, 25, 6, 12, tzinfo=UTC)  # date_published wins over date_modified
    assert one.author == "Anna A, Bo B"
    assert two.key == "guid:https://x.test/feed.json#42"  # a numeric id, scoped by the feed like any bare id
    assert two.link == "https://y.test/b"  # external_url when there is no url
    assert two.published == datetime(2025, 7, 26, 10, 0, tzinfo=UTC)  # only date_modified: it is the date
    assert two.author == "Gammal 1.0-stil"
    assert three.author == "Redaktionen"  # no authors of its own: the feed's (JSON Feed 1.1)
    assert four.key == "url:http://x.test/d" and four.author == "Bara namn"  # true is no id


def test_control_characters_and_lone_surrogates_do_not_survive() -> None:
    raw = (b'{"version": "1.1", "title": "Feed\\u001b[2J", "items": [{"id": "x\\ud800", "url": "https://x.test/a",'
           b' "title": "Bell\\u0007 and \\u009b31m C1 \\ud83d", "content_text": "Text\\u0000 with NUL",'
           b' "author": {"name": "Esc\\u001b]0;owned\\u0007aped"}}]}')
    feed = parse_feed(raw, URL)
    [entry] = feed.entries
    assert feed.title == "Feed"
    assert entry.title == "Bell and 31m C1"
    assert entry.content == "Text with NUL"
    assert entry.author == "Escaped"
    assert entry.key == "guid:https://x.test/feed.json#x"
    for text in (feed.title, entry.title, entry.content, entry.author, entry.key):
        text.encode("utf-8")  # would raise on a lone surrogate; SQLite would too
