"""Stored articles as plain records, and writers for JSON Lines, CSV and Atom."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any, TextIO
from xml.etree import ElementTree as ET

from .storage import StoredArticle

ATOM = "http://www.w3.org/2005/Atom"

FIELDS = ("id", "story", "story_size", "feed", "feeds", "url", "title", "published", "fetched", "language",
          "language_confidence", "text", "text_source", "flagged", "level", "hits", "watchlists", "title_en",
          "text_en", "translation", "errors")
# CSV: the nested fields flattened into columns a spreadsheet reads
CSV_FIELDS = ("id", "story", "story_size", "level", "published", "fetched", "feed", "language", "title", "title_en",
              "url", "terms", "snippets", "watchlists", "feeds", "text", "text_en", "text_source", "translation",
              "errors")


def article_record(stored: StoredArticle) -> dict[str, Any]:
    a = stored.article
    return {
        "id": stored.id,
        "story": stored.story,
        "story_size": stored.story_size,
        "feed": a.feed_name,
        "feeds": list(stored.feeds),
        "url": a.url,
        "title": a.title,
        "published": a.published.isoformat() if a.published else None,
        "fetched": a.fetched.isoformat(),
        "language": a.language.code,
        "language_confidence": round(a.language.confidence, 4),
        "text": a.text,
        "text_source": a.text_source.value,
        "flagged": a.flagged,
        "level": "alert" if a.flagged else "mention" if a.mentioned else "none",
        "hits": [{"watchlist": h.watchlist, "term": h.term, "field": h.field, "snippet": h.snippet}
                 for h in a.hits],
        "watchlists": [{"name": m.watchlist, "flagged": m.flagged, "level": m.level, "score": m.score,
                        "reasons": list(m.reasons)} for m in a.matches],
        "title_en": a.title_en,
        "text_en": a.text_en,
        "translation": a.translation.value,
        "errors": list(a.errors),  # why the page was not used, when the feed's text was
    }


def write_jsonl(articles: Iterable[StoredArticle], out: TextIO) -> int:
    n = 0
    for stored in articles:
        out.write(json.dumps(article_record(stored), ensure_ascii=False) + "\n")
        n += 1
    return n


def write_csv(articles: Iterable[StoredArticle], out: TextIO, *, bom: bool = False) -> int:
    """One row per article; hits flattened: ``terms`` (each once), ``snippets`` (one a line),
    ``watchlists`` ("name: level (score)"). ``bom``: a UTF-8 byte-order mark first, so spreadsheet
    programs read the file as UTF-8."""
    if bom:
        out.write("\ufeff")
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    n = 0
    for stored in articles:
        record = article_record(stored)
        record["terms"] = ", ".join(dict.fromkeys(h["term"] for h in record["hits"]))
        record["snippets"] = "\n".join(dict.fromkeys(h["snippet"] for h in record["hits"]))
        record["watchlists"] = "; ".join(f"{w['name']}: {w['level']} ({w['score']:g})" for w in record["watchlists"])
        record["feeds"] = " ".join(record["feeds"])
        record["errors"] = "; ".join(record["errors"])
        writer.writerow({k: _cell(v) for k, v in record.items()})
        n += 1
    return n


def _cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@`` first) is quoted."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def write_atom(articles: Iterable[StoredArticle], out: TextIO, *, title: str, feed_id: str, now: datetime,
               self_url: str | None = None, link_for: Any = None) -> int:
    """An Atom 1.0 feed of ``articles``, newest first: the English title when there is one (the
    original in the summary), the matched terms and snippets, one category per watchlist level and
    the language. ``link_for(article_id)`` gives each entry's alternate link (the web page), else
    the article's own URL."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _text(feed, "title", title)
    _text(feed, "id", feed_id)
    _text(feed, "updated", now.isoformat())
    _text(feed, "generator", "monitor")
    if self_url:
        ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=self_url, type="application/atom+xml")
    items = sorted(articles, key=lambda s: (s.article.published or s.article.fetched, s.id), reverse=True)
    for stored in items:
        a = stored.article
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        english = a.title_en.strip() if a.title_en and a.title_en.strip() != a.title.strip() else None
        _text(entry, "title", english or a.title)
        _text(entry, "id", f"{feed_id}:article:{stored.id}")
        _text(entry, "published", (a.published or a.fetched).isoformat())
        _text(entry, "updated", (a.published or a.fetched).isoformat())
        href = link_for(stored.id) if link_for is not None else a.url
        if href:
            ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", href=href, type="text/html")
        if a.url and href != a.url:
            ET.SubElement(entry, f"{{{ATOM}}}link", rel="related", href=a.url, type="text/html")
        author = ET.SubElement(entry, f"{{{ATOM}}}author")
        _text(author, "name", a.feed_name)
        for m in a.matches:
            if m.level != "none":
                ET.SubElement(entry, f"{{{ATOM}}}category", term=f"{m.watchlist}:{m.level}",
                              label=f"{m.watchlist} ({m.level}, score {m.score:g})")
        ET.SubElement(entry, f"{{{ATOM}}}category", term=f"language:{a.language.code}")
        lines = [f"Original title: {a.title}"] if english else []
        terms = list(dict.fromkeys(h.term for h in a.hits))
        if terms:
            lines.append("Matched: " + ", ".join(terms))
        lines += list(dict.fromkeys(h.snippet for h in a.hits))[:3]
        _text(entry, "summary", "\n".join(lines) or a.text[:300])
    tree = ET.ElementTree(feed)
    ET.indent(tree)
    out.write('<?xml version="1.0" encoding="utf-8"?>\n')
    tree.write(out, encoding="unicode", xml_declaration=False)
    out.write("\n")
    return len(items)


def _text(parent: ET.Element, tag: str, value: str) -> None:
    ET.SubElement(parent, f"{{{ATOM}}}{tag}").text = value
