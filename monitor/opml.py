"""OPML subscription lists: read (2.0, 1.0 and what exporters actually write: nested categories,
``title`` without ``text``, stray ``&``) and written (OPML 2.0, one outline per feed, a feed's first
tag as its category, all tags in ``category``); pure."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from xml.etree import ElementTree as ET

from lxml import etree

from .errors import ConfigError
from .settings import FeedConfig

__all__ = ["OpmlFeed", "parse_opml", "write_opml"]

_BARE_AMPERSAND = re.compile(rb"&(?!#\d+;|#x[0-9a-fA-F]+;|[A-Za-z][A-Za-z0-9]*;)")


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    name: str
    url: str
    site_url: str | None
    categories: tuple[str, ...]  # the enclosing outlines, outermost first (and the `category` attribute's)


def parse_opml(data: bytes, source: str) -> list[OpmlFeed]:
    """Every outline with an ``xmlUrl``, in document order. Raises :class:`ConfigError` naming
    ``source`` when the document is not OPML or lists no feed."""
    data = _BARE_AMPERSAND.sub(b"&amp;", data)  # exporters write "a&b" in URLs
    parser = etree.XMLParser(recover=True, resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise ConfigError(f"not an OPML file: {exc}", path=source) from None
    if root is None or etree.QName(root).localname.lower() != "opml":
        raise ConfigError("not an OPML file (no <opml> root element)", path=source)
    body = next((c for c in root if isinstance(c.tag, str) and etree.QName(c).localname.lower() == "body"), None)
    if body is None:
        raise ConfigError("an OPML file without <body>", path=source)
    feeds: list[OpmlFeed] = []
    _walk(body, (), feeds)
    if not feeds:
        raise ConfigError("the OPML file lists no feed (no outline has an xmlUrl)", path=source)
    return feeds


def _walk(node: etree._Element, path: tuple[str, ...], out: list[OpmlFeed]) -> None:
    for child in node:
        if not isinstance(child.tag, str) or etree.QName(child).localname.lower() != "outline":
            continue
        label = (child.get("text") or child.get("title") or "").strip()
        url = (child.get("xmlUrl") or child.get("xmlurl") or "").strip()
        if url:
            site = (child.get("htmlUrl") or child.get("htmlurl") or "").strip() or None
            extra = tuple(c.strip().strip("/") for c in (child.get("category") or "").split(",") if c.strip("/ "))
            out.append(OpmlFeed(name=label or site or url, url=url, site_url=site,
                                categories=tuple(dict.fromkeys((*path, *extra)))))
        _walk(child, (*path, label) if label and not url else path, out)


def write_opml(feeds: Sequence[FeedConfig], *, title: str, now: datetime) -> str:
    """OPML 2.0: feeds grouped under an outline per first tag (untagged ones at the top level)."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(now)
    body = ET.SubElement(root, "body")
    groups: dict[str, ET.Element] = {}
    for feed in feeds:
        parent = body
        if feed.tags:
            if feed.tags[0] not in groups:
                groups[feed.tags[0]] = ET.SubElement(body, "outline", text=feed.tags[0], title=feed.tags[0])
            parent = groups[feed.tags[0]]
        attrs = {"type": "rss", "text": feed.name, "title": feed.name, "xmlUrl": feed.url}
        if feed.tags:
            attrs["category"] = ",".join(f"/{t}" for t in feed.tags)
        if feed.language:
            attrs["language"] = feed.language
        ET.SubElement(parent, "outline", attrs)
    tree = ET.ElementTree(root)
    ET.indent(tree)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
