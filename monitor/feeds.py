"""Parse feed bytes with feedparser into :class:`ParsedFeed` (pure: no network).

feedparser reads RSS 0.9x/1.0/2.0, RDF and Atom (JSON Feed is jsonfeed.py's). The bytes are handed
over together with the response headers so a charset declared by the server
(GB2312, Big5, ...) is honoured. Entry identity: the GUID/id, else the
canonical link, else a hash of title and date.
"""

from __future__ import annotations

import calendar
import codecs
import hashlib
import html
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import feedparser
from dateutil import parser as dateparser

from .decoding import REPAIR, ascii_incompatible_codecs, decode_lenient, sniff_undeclared_charset
from .errors import FeedParseError
from .jsonfeed import read_json_feed
from .markup import html_to_text
from .models import FeedEntry, ParsedFeed
from .sanitize import strip_controls
from .urls import canonical_url

_FEED_LINK = re.compile(
    rb"<link[^>]+type=[\"']application/(?:rss|atom)\+xml[\"'][^>]*>", re.I
)
_HREF = re.compile(rb"href=[\"']([^\"']+)[\"']", re.I)
# feedparser complaints that still leave a usable feed
_GLOBAL_ID = re.compile(r"^(https?://[^/\s]+/\S|urn:|tag:[^,\s]+,\d{4}|uuid:)", re.I)
_HARMLESS_BOZO = ("CharacterEncodingOverride", "NonXMLContentType")

# Entity declarations in a feed's DTD: simple internal ones are allowed; external
# ones (SYSTEM/PUBLIC: file reads, network) and nested ones (billion laughs) are refused
# before any XML parser sees the bytes.
_ENTITY_DECL = re.compile(rb"<!ENTITY\s+(%\s*)?[^\s>]+\s+([^>]*)>", re.I)
_MAX_ENTITY_DECLS = 32
_ENTITY_HEAD = 262144  # where the DTD is looked for in other charsets; the raw bytes are searched whole
_URL_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def parse_feed(content: bytes, url: str, headers: Mapping[str, str] | None = None) -> ParsedFeed:
    """Parse a feed body. Raises FeedParseError when it is not a feed at all."""
    if not content.strip():
        raise FeedParseError("empty body", url=url)
    if content.removeprefix(codecs.BOM_UTF8).lstrip()[:1] == b"{":
        return _parse_json_feed(content, url)
    response_headers = {k.lower(): v for k, v in (headers or {}).items()}
    _refuse_dangerous_entities(content, url, response_headers)
    response_headers.setdefault("content-location", url)
    guessed = sniff_undeclared_charset(content, response_headers)
    if guessed is not None and guessed.endswith(REPAIR):
        content = content.decode(guessed.removesuffix(REPAIR), "replace").encode("utf-8")
        guessed = "utf-8"
    if guessed:
        media = response_headers.get("content-type", "application/xml").split(";", 1)[0].strip() or "application/xml"
        response_headers["content-type"] = f"{media}; charset={guessed}"
    parsed: Any = feedparser.parse(content, response_headers=response_headers, sanitize_html=True,
                                   resolve_relative_uris=True)
    bozo = parsed.get("bozo_exception")
    bozo_text = strip_controls(f"{type(bozo).__name__}: {bozo}") if bozo is not None else None
    entries_raw = parsed.get("entries") or []
    version = parsed.get("version") or ""
    if not entries_raw and not version:
        hint = ""
        advertised = discover_feed_links(content, url)
        if advertised:
            hint = f"; the page advertises a feed at {advertised[0]}"
        reason = bozo_text or "no feed elements found"
        raise FeedParseError(f"not a feed ({reason}){hint}", url=url)

    feed_meta = parsed.get("feed") or {}
    entries: list[FeedEntry] = []
    problems: list[str] = []
    seen: set[str] = set()
    for index, raw in enumerate(entries_raw):
        try:
            entry = _entry(raw, url)
        except (ValueError, TypeError, KeyError, OverflowError) as exc:
            problems.append(strip_controls(f"entry {index}: {type(exc).__name__}: {exc}"))
            continue
        if entry is None:
            problems.append(f"entry {index}: empty (no id, link, title or text); skipped")
            continue
        if entry.key in seen:
            continue
        seen.add(entry.key)
        entries.append(entry)
    if bozo is not None and type(bozo).__name__ in _HARMLESS_BOZO:
        bozo_text = None
    return ParsedFeed(
        url=url,
        title=_clean(strip_controls(str(feed_meta.get("title", "")))),
        language=(strip_controls(str(feed_meta.get("language"))).strip() or None) if feed_meta.get("language")
        else None,
        entries=_with_identity(entries),
        bozo=bozo_text,
        problems=tuple(problems),
    )


def _parse_json_feed(content: bytes, url: str) -> ParsedFeed:
    """JSON Feed (jsonfeed.py reads it into entries of feedparser's shape)."""
    data = read_json_feed(content, url)
    entries: list[FeedEntry] = []
    problems = list(data.problems)
    seen: set[str] = set()
    for index, raw in enumerate(data.entries):
        entry = _entry(raw, url)
        if entry is None:
            problems.append(f"item {index}: empty (no id, link, title or text); skipped")
        elif entry.key not in seen:
            seen.add(entry.key)
            entries.append(entry)
    return ParsedFeed(url=url, title=_clean(data.title), language=data.language,
                      entries=_with_identity(entries), problems=tuple(problems))


def _with_identity(entries: list[FeedEntry]) -> tuple[FeedEntry, ...]:
    """Links identify articles across feeds, unless this feed gives one link to several entries."""
    counts = Counter(canonical_url(e.link) for e in entries if e.link)
    return tuple(
        replace(e, identity_url=e.link if e.link and counts[canonical_url(e.link)] == 1 else None) for e in entries
    )


def _refuse_dangerous_entities(content: bytes, url: str, headers: Mapping[str, str]) -> None:
    """Refuse external, parameter and nested entity declarations, in the bytes as they are and
    in every charset that is not ASCII-compatible and that the feed's BOM, byte pattern, HTTP
    charset or XML declaration names (UTF-16, UTF-32, EBCDIC, UTF-7): a billion laughs in UTF-16
    has no "<!ENTITY" in its bytes, but feedparser decodes it before parsing."""
    head = content[:_ENTITY_HEAD]
    _check_entity_declarations(content, url)  # all of it: a long comment must not hide the DTD
    for codec in ascii_incompatible_codecs(head, headers):
        _check_entity_declarations((decode_lenient(content, codec) or "").encode("utf-8", "replace"), url)


def _check_entity_declarations(head: bytes, url: str) -> None:
    if b"<!entity" not in head.lower():
        return
    decls = _ENTITY_DECL.findall(head)
    if len(decls) > _MAX_ENTITY_DECLS:
        raise FeedParseError(f"feed declares {len(decls)} XML entities; refused for safety", url=url)
    for parameter, body in decls:
        if parameter or re.match(rb"\s*(SYSTEM|PUBLIC)\b", body, re.I):
            raise FeedParseError("feed declares an external or parameter XML entity; refused for safety", url=url)
        if b"&" in body or b"%" in body:
            raise FeedParseError("feed declares nested XML entities (entity expansion); refused for safety",
                                 url=url)


def discover_feed_links(content: bytes, base_url: str) -> list[str]:
    """Feed URLs an HTML page advertises with <link rel=alternate type=...>."""
    links: list[str] = []
    for tag in _FEED_LINK.findall(content[:200_000]):
        m = _HREF.search(tag)
        if m:
            try:
                links.append(urljoin(base_url, html.unescape(m.group(1).decode("utf-8", "replace"))))
            except ValueError:
                continue  # a malformed href: not worth offering
    return links


def _entry(raw: Any, feed_url: str) -> FeedEntry | None:
    link = _link(raw)
    title = _clean(_text(raw.get("title")))
    guid = strip_controls(str(raw.get("id", "") or "")).strip()
    summary = _text(raw.get("summary"))
    content = ""
    for block in raw.get("content") or []:
        text = _text(block.get("value"))
        if len(text) > len(content):
            content = text
    published = _date(raw)
    if guid:
        # A GUID that is a URL, URN or tag URI names the article everywhere; a bare "123" only
        # within its feed (many CMSs number their items), so it is scoped by the feed.
        key = f"guid:{guid}" if _GLOBAL_ID.match(guid) else f"guid:{feed_url}#{guid}"
    elif link:
        key = f"url:{canonical_url(link)}"
    elif title or summary or content:
        basis = f"{feed_url}\n{title}\n{published.isoformat() if published else ''}\n{content or summary}"
        key = "hash:" + hashlib.sha256(basis.encode()).hexdigest()[:32]
    else:
        return None
    author = _clean(strip_controls(str(raw.get("author", "") or ""))) or None
    return FeedEntry(
        feed_url=feed_url,
        key=key,
        link=link,
        title=title,
        summary=summary,
        content=content,
        published=published,
        author=author,
    )


def _text(value: object) -> str:
    """Plain text of a feed's field (feed text enters the monitor here): the markup read, then
    control characters out, raw ones and those written as entities (``&#27;``) alike."""
    return strip_controls(html_to_text(str(value or "")))


def _link(raw: Any) -> str | None:
    candidates: list[str] = []
    link = raw.get("link")
    if link:
        candidates.append(str(link))
    for item in raw.get("links") or []:
        if item.get("rel", "alternate") == "alternate" and item.get("href"):
            candidates.append(str(item["href"]))
    guid = str(raw.get("id", "") or "")
    if raw.get("guidislink") and guid:
        candidates.append(guid)
    for candidate in candidates:
        # as browsers read a URL: tab and newlines inside are dropped, other controls percent-encoded
        candidate = _URL_CONTROL.sub(lambda m: "" if m.group(0) in "\t\n\r" else quote(m.group(0)),
                                     candidate.strip())
        try:
            parts = urlsplit(candidate)
            _ = parts.port  # raises on a port that is not a number in range
        except ValueError:
            continue
        if parts.scheme in ("http", "https") and parts.hostname:
            return candidate
    return None


def _date(raw: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = raw.get(key)
        if value:
            try:
                when = datetime.fromtimestamp(calendar.timegm(value), UTC)
            except (OverflowError, ValueError, TypeError, OSError):
                continue
            if _PLAUSIBLE_YEARS[0] <= when.year <= _PLAUSIBLE_YEARS[1]:
                return when
    for key in ("published", "updated", "created"):
        text = raw.get(key)
        if text:
            parsed = parse_date_text(str(text))
            if parsed is not None:
                return parsed
    return None


_CJK_DATE = re.compile(
    r"(\d{4})\s*[年/.-]\s*(\d{1,2})\s*[月/.-]\s*(\d{1,2})\s*日?(?:\s*(\d{1,2})[:：](\d{2})(?:[:：](\d{2}))?)?"
)
# Two defaults that differ in every field: a component the text lacks shows up as a difference.
_DEFAULTS = (datetime(2001, 1, 1, 0, 0, 0), datetime(2002, 2, 2, 1, 1, 1))
_CHINA = timezone(timedelta(hours=8))
_SV_MONTHS = {"jan": "Jan", "feb": "Feb", "mar": "Mar", "apr": "Apr", "maj": "May", "jun": "Jun", "jul": "Jul",
              "aug": "Aug", "sep": "Sep", "okt": "Oct", "nov": "Nov", "dec": "Dec"}
_SV_MONTH = re.compile(r"\b(januari|februari|mars|april|maj|juni|juli|augusti|september|oktober|november|december|"
                       r"okt)\b\.?", re.I)
_PLAUSIBLE_YEARS = (1990, 2100)


def parse_date_text(text: str) -> datetime | None:
    """A date the feed wrote in a form feedparser did not know, or None. Never invents the year,
    month or day from today: text that lacks one of them is not a date for us."""
    text = _SV_MONTH.sub(lambda m: _SV_MONTHS[m.group(0).lower()[:3]], text.strip())
    try:
        first, second = (dateparser.parse(text, default=default) for default in _DEFAULTS)
        if (first.year, first.month, first.day) != (second.year, second.month, second.day):
            return None  # the text lacks the year, month or day
    except (ValueError, OverflowError, TypeError):
        m = _CJK_DATE.search(text)
        if not m:
            return None
        y, mo, d, h, mi, sec = (int(g) if g else 0 for g in m.groups())
        try:  # 2024年3月5日 10:30: Chinese outlets write China/Taiwan/Hong Kong time
            first = datetime(y, mo, d, h, mi, sec, tzinfo=_CHINA if "年" in text else UTC)
        except ValueError:
            return None
    if first.tzinfo is None:
        first = first.replace(tzinfo=UTC)  # a bare local time: assume UTC, better than nothing
    try:
        result: datetime = first.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    return result if _PLAUSIBLE_YEARS[0] <= result.year <= _PLAUSIBLE_YEARS[1] else None


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()
