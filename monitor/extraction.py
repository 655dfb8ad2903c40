"""Article text: decode page bytes, extract the main text with trafilatura, and
choose between page text and the feed's own text. Never touches the network."""

from __future__ import annotations

import codecs
import html
import re
from collections.abc import Mapping

import lxml.etree
import lxml.html
import trafilatura
from charset_normalizer import from_bytes

from .errors import ExtractionError
from .models import Extracted, FeedEntry, TextSource
from .sanitize import strip_controls

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.I)
# Declared legacy charsets are decoded with their supersets: pages that say
# GB2312 routinely contain GBK/GB18030 characters, Big5 pages HKSCS ones.
LEGACY_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "big5": "big5hkscs",
              "cp950": "big5hkscs", "iso-8859-1": "cp1252", "latin-1": "cp1252", "ascii": "cp1252",
              "us-ascii": "cp1252"}
# A declared charset is kept, its bad bytes replaced, while at most one non-ASCII character in
# _MAX_BAD_SHARE fails (and at least _FEW_BAD): a GB2312 page with a dozen stray bytes in 14,000
# characters fails 0.1%; bytes in another charset fail far more (UTF-8 read as GBK 3-13%, GBK read
# as Big5 0.7-5%), and then the declaration plainly does not fit.
_MAX_BAD_SHARE = 200
_FEW_BAD = 3
# Latin-script single-byte code pages: charset_normalizer scores Latin-1 text equally under several
# of them (cp1250, cp1257, ...), and of equals cp1252, the common one, is preferred.
_LATIN_SINGLE_BYTE = frozenset({
    "cp1250", "cp1252", "cp1254", "cp1257", "cp1258", "latin_1", "iso8859_2", "iso8859_3", "iso8859_4",
    "iso8859_9", "iso8859_10", "iso8859_13", "iso8859_14", "iso8859_15", "iso8859_16", "cp437", "cp775",
    "cp850", "cp852", "cp857", "cp858", "cp860", "cp861", "cp863", "cp865", "mac_roman", "mac_latin2",
    "mac_iceland", "mac_turkish", "hp_roman8"})
_CHAOS_TIE = 0.02
_BLOCK_TAGS = {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "tr",
               "table", "section", "article", "pre", "figcaption", "dd", "dt", "hr"}
_DROP_TAGS = ("script", "style", "noscript", "template", "iframe", "svg")


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    name = name.strip().strip("\"'").lower()
    name = LEGACY_SUPERSETS.get(name, name)
    try:
        info = codecs.lookup(name)
    except LookupError:
        return None
    return info.name if getattr(info, "_is_text_encoding", True) else None  # not base64, rot13, ...


def decode_html(content: bytes, headers: Mapping[str, str] | None = None) -> str:
    """Bytes of an HTML page to text: BOM, then HTTP charset, then <meta>, then UTF-8, then detection."""
    if content.startswith(codecs.BOM_UTF8):
        return content[3:].decode("utf-8", "replace")
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return content.decode("utf-16", "replace")
    declared: list[str] = []
    content_type = {k.lower(): v for k, v in (headers or {}).items()}.get("content-type", "")
    m = HEADER_CHARSET.search(content_type)
    if m:
        declared.append(m.group(1))
    m2 = _META_CHARSET.search(content[:8192])
    if m2:
        declared.append(m2.group(1).decode("ascii", "replace"))
    codecs_declared = [c for c in (_codec(name) for name in declared) if c is not None]
    for codec in codecs_declared:
        try:
            return content.decode(codec)
        except UnicodeDecodeError:
            continue  # bad bytes or a wrong declaration: try the next clue
    try:
        return content.decode("utf-8")  # a declaration that fails where UTF-8 fits is wrong
    except UnicodeDecodeError:
        pass
    for codec in codecs_declared:
        declared_text = decode_declared(content, codec)
        if declared_text is not None:
            return declared_text  # the declared charset with a few bad bytes, replaced
    if utf8_with_a_few_bad_bytes(content):
        return content.decode("utf-8", "replace")
    detected = detect_charset(content)
    return content.decode(detected or "utf-8", "replace")


def utf8_with_a_few_bad_bytes(content: bytes) -> bool:
    """UTF-8 with a few invalid bytes: at most one in 50 of its non-ASCII characters, and no more than
    the valid multi-byte characters (short Latin-1 text, "p\xe5 plats", has none: it is not UTF-8)."""
    text = content.decode("utf-8", "replace")
    bad = text.count("\ufffd")
    good = sum(ch > "\x7f" for ch in text) - bad
    return bad <= max(3, (good + bad) // 50) and good >= bad


def decode_declared(content: bytes, codec: str) -> str | None:
    """The bytes in their declared charset (a legacy one read as its superset: GB18030 for GB2312,
    Big5-HKSCS for Big5), a few bad bytes replaced; None when the declaration plainly does not fit."""
    codec = LEGACY_SUPERSETS.get(codec.lower().replace("_", "-"), codec)
    try:
        text = content.decode(codec, "replace")
    except LookupError:
        return None
    bad = text.count("\ufffd")
    return text if bad <= max(_FEW_BAD, sum(ch > "\x7f" for ch in text) // _MAX_BAD_SHARE) else None


def detect_charset(content: bytes) -> str | None:
    """charset_normalizer's guess for undeclared bytes, with two corrections: of Latin-script
    single-byte code pages that read the bytes equally well, cp1252 (Latin-1 text otherwise comes out
    as cp1250 or cp1257: "nĺr" for "når"), and a legacy Chinese charset as its superset."""
    matches = from_bytes(content[:200_000])
    best = matches.best()
    if best is None or not best.encoding:
        return None
    if best.encoding in _LATIN_SINGLE_BYTE and best.encoding != "cp1252" and any(
            "cp1252" in m.could_be_from_charset and m.chaos <= best.chaos + _CHAOS_TIE for m in matches):
        try:
            content.decode("cp1252")
            return "cp1252"
        except UnicodeDecodeError:
            pass  # a byte cp1252 leaves undefined: keep the detected code page
    return LEGACY_SUPERSETS.get(best.encoding.replace("_", "-"), best.encoding)


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment (feed summaries/content), paragraphs kept as blank lines."""
    if not fragment or "<" not in fragment:
        return _tidy(html.unescape(fragment))
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (lxml.etree.ParserError, ValueError, AssertionError):
        # lxml refuses some fragments (a whole escaped document: "too many bodies"): strip tags instead
        return _tidy(html.unescape(re.sub(r"<[^>]+>", " ", fragment)))
    for bad in root.iter(*_DROP_TAGS):
        bad.drop_tree()
    parts: list[str] = []

    def walk(el: lxml.html.HtmlElement) -> None:
        if not isinstance(el.tag, str):
            return  # a comment or processing instruction: its text is not content (its tail is kept)
        tag = el.tag
        if tag in _BLOCK_TAGS:
            parts.append("\n\n")
        if el.text:
            parts.append(el.text)
        for child in el:
            walk(child)
            if child.tail:
                parts.append(child.tail)
        if tag in _BLOCK_TAGS:
            parts.append("\n\n")

    walk(root)
    return _tidy("".join(parts))


def _tidy(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\xa0", " ")
    lines = [re.sub(r"[ \t\f\v]+", " ", line).strip() for line in text.split("\n")]
    out = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", out).strip()


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
    text = _tidy(strip_controls(str(doc.text or "")))  # page text enters here: no ESC, BEL, NUL (sanitize.py)
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
