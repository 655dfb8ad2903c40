"""JSON Feed (https://jsonfeed.org), which this feedparser release does not read: the body read
into entries of feedparser's shape, which feeds.py turns into FeedEntry like any other feed's.

Versions as they are written in the wild: "https://jsonfeed.org/version/1", ".../version/1.1"
(http or https), and bare numbers ("1", "1.0", "1.1", as gofeed's fixtures and some generators
write them) when the document also has an "items" list. A document without any version is taken
only when it has a feed's shape: an "items" list and a home_page_url or feed_url, or items that
each have an id and a url or content. Other JSON (an API answer, a package.json with its
"version": "1.0.0" and no items) is not a feed.

Fields read, per item: id, url (else external_url), title, summary, content_html and
content_text, date_published and date_modified, authors (1.1: a list of objects) or author (1.0:
one object; a bare string is taken too), falling back to the feed's authors as the 1.1 spec says.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from .errors import FeedParseError
from .sanitize import strip_controls

_JSONFEED_URL = re.compile(r"^\s*https?://(www\.)?jsonfeed\.org/version/\d+(\.\d+)*/?\s*$", re.I)
_BARE_VERSION = re.compile(r"^\s*v?\d+(\.\d+)*\s*$", re.I)
_CONTENT_KEYS = ("content_html", "content_text")


@dataclass(frozen=True, slots=True)
class JsonFeed:
    title: str
    language: str | None
    entries: tuple[dict[str, Any], ...]  # in feedparser's shape: id, link, title, summary, content, ...
    problems: tuple[str, ...]


def read_json_feed(content: bytes, url: str) -> JsonFeed:
    """The JSON Feed in ``content``; raises FeedParseError when the body is not one."""
    try:
        data = json.loads(content.decode("utf-8-sig"))
    except (ValueError, RecursionError) as exc:  # invalid JSON or UTF-8, nesting or a number too deep/long
        raise FeedParseError(f"not a feed (invalid JSON: {type(exc).__name__}: {exc})"[:300], url=url) from None
    if not isinstance(data, dict):
        raise FeedParseError("not a feed (JSON that is not an object)", url=url)
    refusal = _not_a_feed(data)
    if refusal:
        raise FeedParseError(f"not a feed ({refusal})", url=url)
    items = data.get("items")
    feed_authors = _authors(data)
    entries: list[dict[str, Any]] = []
    problems: list[str] = []
    for index, item in enumerate(items if isinstance(items, list) else []):
        if not isinstance(item, dict):
            problems.append(f"item {index}: not an object; skipped")
            continue
        link = _string(item.get("url")) or _string(item.get("external_url"))
        entries.append({
            "id": _identifier(item.get("id")),
            "link": urljoin(url, link) if link else None,
            "title": _string(item.get("title")),
            "summary": _string(item.get("summary")),
            "content": [{"value": value} for value in (_string(item.get(k)) for k in _CONTENT_KEYS) if value],
            "published": _string(item.get("date_published")) or None,
            "updated": _string(item.get("date_modified")) or None,
            "author": _authors(item) or feed_authors,
        })
    language = _string(data.get("language")) or None
    return JsonFeed(title=_string(data.get("title")), language=language, entries=tuple(entries),
                    problems=tuple(problems))


def _not_a_feed(data: dict[str, Any]) -> str | None:
    """Why this JSON object is not a JSON Feed, or None when it is one."""
    version = data.get("version")
    items = data.get("items")
    if isinstance(version, bool) or not isinstance(version, (str, int, float, type(None))):
        return "JSON whose version is not a JSON Feed version"
    text = "" if version is None else str(version)
    if _JSONFEED_URL.match(text):
        return None  # the spec's own marker: "items" may be missing (an empty feed)
    if not isinstance(items, list):
        return "JSON without a JSON Feed version and items list" if not text else \
            f"JSON with version {text[:40]!r} but no items list"
    if _BARE_VERSION.match(text):
        return None
    if text:
        return f"JSON with version {text[:40]!r}, not a JSON Feed version"
    if _string(data.get("home_page_url")) or _string(data.get("feed_url")):
        return None
    if items and all(isinstance(i, dict) and _identifier(i.get("id")) and
                     any(_string(i.get(k)) for k in ("url", "external_url", *_CONTENT_KEYS)) for i in items):
        return None
    return "JSON without a JSON Feed version or a feed's shape"


def _string(value: object) -> str:
    return strip_controls(value) if isinstance(value, str) else ""


def _identifier(value: object) -> str | None:
    """The spec's ids are strings; numbers are common in the wild. true/false are not ids."""
    if isinstance(value, str):
        return strip_controls(value).strip() or None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def _authors(obj: dict[str, Any]) -> str:
    """Names of the authors (1.1) or author (1.0) of a feed or item, joined with ", "."""
    for key in ("authors", "author"):
        people = obj.get(key)
        names = [" ".join((_string(p.get("name")) if isinstance(p, dict) else _string(p)).split())
                 for p in (people if isinstance(people, list) else [people])]
        if any(names):
            return ", ".join(dict.fromkeys(n for n in names if n))
    return ""
