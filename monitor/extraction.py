"""Article text: decode page bytes, extract the main text with trafilatura, and
choose between page text and the feed's own text. Never touches the network."""

from __future__ import annotations

import lxml.etree
import lxml.html
import trafilatura
from trafilatura.metadata import extract_meta_json, extract_opengraph, extract_title, extract_url
from trafilatura.settings import Document

from .errors import ExtractionError
from .markup import tidy_text
from .models import Extracted, FeedEntry, TextSource
from .sanitize import strip_controls


def extract(html: str, url: str | None = None) -> Extracted:
    """Main text of an article page with trafilatura. Raises ExtractionError when there is none.

    Of the page's metadata only the title, canonical link and declared language are read
    (trafilatura's own Open Graph, JSON-LD, <title>/<h1> and link readers), not dates and authors:
    their extraction (dateparser, a deep copy of the tree) doubled the cost of a page, and the
    feed gives those. Measured on 193 shared pages: the same text on all, the same title on 187
    (the rest differ in whitespace), 22 ms a page instead of 36-48."""
    if not html.strip():
        raise ExtractionError(f"empty page ({url})")
    try:
        tree = trafilatura.load_html(html)
        if tree is None:
            raise ExtractionError(f"not an HTML page ({url})")
        title, canonical, language = _page_metadata(tree, url)  # before extraction, which prunes the tree
        doc = trafilatura.bare_extraction(
            tree,
            url=url,
            with_metadata=False,
            include_comments=False,
            include_tables=True,
            favor_recall=True,
        )
    except (ValueError, TypeError, lxml.etree.LxmlError) as exc:
        raise ExtractionError(f"trafilatura failed on {url}: {type(exc).__name__}: {exc}") from exc
    if doc is None or isinstance(doc, dict):
        raise ExtractionError(f"no article text found ({url})")
    text = tidy_text(strip_controls(str(doc.text or "")))  # page text enters here: no ESC, BEL, NUL (sanitize.py)
    if not text:
        raise ExtractionError(f"no article text found ({url})")
    return Extracted(
        text=text,
        source=TextSource.PAGE,
        title=(" ".join(strip_controls(title).split()) or None) if title else None,
        canonical_url=canonical,
        language=language,
    )


def _page_metadata(tree: lxml.html.HtmlElement, url: str | None) -> tuple[str | None, str | None, str | None]:
    """Title (Open Graph, then JSON-LD, then <title>/<h1>), canonical link and JSON-LD language."""
    meta = extract_meta_json(tree, Document())
    title = extract_opengraph(tree).get("title") or meta.title or extract_title(tree)
    canonical = extract_url(tree, url)
    return (str(title) if title else None, str(canonical) if canonical else None,
            str(meta.language) if meta.language else None)


def choose_text(page: Extracted | None, entry: FeedEntry, min_chars: int) -> Extracted:
    """Pick the article's text: the page when it yielded enough, else the feed's content or summary."""
    feed_content = entry.content.strip()
    feed_summary = entry.summary.strip()
    if page is not None and len(page.text) >= min_chars:
        return page
    # the page gave too little: prefer whichever is longest of what we have
    candidates: list[Extracted] = []
    if page is not None:
        candidates.append(page)
    if feed_content:
        candidates.append(Extracted(text=feed_content, source=TextSource.FEED_CONTENT))
    if feed_summary:
        candidates.append(Extracted(text=feed_summary, source=TextSource.FEED_SUMMARY))
    if not candidates:
        return Extracted(text="", source=TextSource.NONE)
    best = max(candidates, key=lambda c: len(c.text))
    if page is not None and best is not page:
        return Extracted(text=best.text, source=best.source, title=page.title,
                         canonical_url=page.canonical_url, language=page.language)
    return best
