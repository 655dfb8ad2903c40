"""Article text: decode page bytes, extract the main text with trafilatura, and
choose between page text and the feed's own text. Never touches the network."""

from __future__ import annotations

import lxml.etree
import lxml.html
import trafilatura

from .errors import ExtractionError
from .markup import tidy_text
from .models import Extracted, FeedEntry, TextSource
from .sanitize import strip_controls


def extract(html: str, url: str | None = None) -> Extracted:
    """Main text of an article page with trafilatura. Raises ExtractionError when there is none."""
    if not html.strip():
        raise ExtractionError(f"empty page ({url})")
    try:
        doc = trafilatura.bare_extraction(
            html,
            url=url,
            with_metadata=True,
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
        title=(strip_controls(str(doc.title)).strip() or None) if doc.title else None,
        canonical_url=str(doc.url) if doc.url else None,
        language=str(doc.language) if doc.language else None,
    )


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
