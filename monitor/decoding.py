"""Bytes to text: the one home for charsets, used by the feed parser and the page extractor.

- Pages (:func:`decode_html`): BOM, then the HTTP charset, then ``<meta>``, then UTF-8, then
  detection. Feeds (:func:`sniff_undeclared_charset`): feedparser decodes them itself and is only
  told a charset when its own rules would produce mojibake.
- Declared legacy charsets are read as their supersets (GB2312/GBK as GB18030, Big5 as
  Big5-HKSCS, Latin-1 as cp1252). A declaration with a few bad bytes stays (those bytes
  replaced); one that plainly does not fit is dropped. UTF-8 with a few bad bytes is repaired.
- Detection (charset_normalizer) prefers cp1252 among Western single-byte code pages that read
  the bytes equally well.
- :func:`ascii_incompatible_codecs`: the charsets a feed names in which its markup is not ASCII
  bytes (UTF-16/32, EBCDIC, UTF-7), for checks that must look at decoded text.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping

from charset_normalizer import from_bytes

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
XML_ENCODING = re.compile(rb"<\?xml[^>]*encoding=[\"']([A-Za-z0-9_.:-]+)[\"']", re.I)
# sniff_undeclared_charset's "<codec>-repair": bytes in that charset with a few bad ones, to be replaced
REPAIR = "-repair"
# BOMs and the "<?" of an XML declaration in charsets that are not ASCII-compatible
_UNICODE_PREFIXES = ((codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF16_BE, "utf-16"),
                     (codecs.BOM_UTF16_LE, "utf-16"), (b"\x4c\x6f\xa7\x94", "cp037"))
_ZERO_PATTERNS: dict[tuple[bool, ...], str] = {  # which of the first four bytes are zero
    (True, True, True, False): "utf-32-be", (False, True, True, True): "utf-32-le",
    (True, False, True, False): "utf-16-be", (False, True, False, True): "utf-16-le"}
# ASCII markup, and "<" as UTF-7 writes it: a charset that reads these bytes otherwise needs decoding
_PROBE = b"<!ENTITY % x SYSTEM \"&y;\"> +ADw-"


def _codec(name: str | None) -> str | None:
    """The codec to read a declared charset with: legacy ones as their supersets."""
    if not name:
        return None
    name = name.strip().strip("\"'").lower()
    return known_codec(LEGACY_SUPERSETS.get(name, name))


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


def sniff_undeclared_charset(content: bytes, headers: Mapping[str, str]) -> str | None:
    """The charset of a feed whose declared (or undeclared) encoding does not decode it, else None
    ("<codec>-repair", e.g. "utf-8-repair" or "gb18030-repair": that charset with a few invalid
    bytes, to be replaced).

    feedparser honours a BOM, the HTTP charset and the XML declaration, and maps GB2312 to
    GB18030 itself; what it cannot do is read a Big5 or GBK feed that declares nothing (or
    declares UTF-8 wrongly): it falls back to windows-1252 and the text is mojibake. Here
    such bytes get a detected charset, passed to feedparser as the HTTP charset. A declared
    charset with a few bad bytes stays declared (those bytes replaced); it is dropped only when
    it plainly does not fit (see decode_declared).
    """
    head = content[:4]
    if head.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in head:
        return None
    declared = HEADER_CHARSET.search(headers.get("content-type", ""))
    xml_decl = XML_ENCODING.search(content[:300])
    name = (declared.group(1) if declared else None) or (xml_decl.group(1).decode("ascii") if xml_decl else None)
    declared_utf8 = name is not None and name.lower().replace("_", "-") in ("utf-8", "utf8")
    if name is not None and not declared_utf8:
        try:
            content.decode(name)
            return None  # a legacy charset was declared and fits: feedparser applies it
        except (LookupError, UnicodeDecodeError):
            superset = LEGACY_SUPERSETS.get(name.lower())
            if superset is not None and _decodes(content, superset):
                return superset  # GBK bytes in a "GB2312" feed, HKSCS in a "Big5" one
            if not _decodes(content, "utf-8") and decode_declared(content, superset or name) is not None:
                # a few bad bytes do not void the declaration (it is dropped only when it plainly
                # does not fit): decoded as declared (its superset), those bytes replaced
                return f"{superset or name}{REPAIR}"
    if _decodes(content, "utf-8"):
        return None
    if (declared_utf8 and decode_declared(content, "utf-8") is not None) or utf8_with_a_few_bad_bytes(content):
        return f"utf-8{REPAIR}"  # UTF-8 with a few broken bytes: keep it UTF-8, replace those bytes
    detected = detect_charset(content)
    return detected if detected not in ("utf_8", "ascii") else None


def _decodes(content: bytes, codec: str) -> bool:
    try:
        content.decode(codec)
    except UnicodeDecodeError:
        return False
    return True


def ascii_incompatible_codecs(head: bytes, headers: Mapping[str, str]) -> list[str]:
    """The charsets the feed names (BOM or byte pattern, HTTP charset, XML declaration) in which
    its markup is not plain ASCII bytes."""
    sniffed = next((codec for prefix, codec in _UNICODE_PREFIXES if head.startswith(prefix)), None)
    if sniffed is None and len(head) >= 4 and not head.startswith(codecs.BOM_UTF8):
        # XML spec appendix F, for documents without a BOM: "<" (or white space) is 00 3C in
        # UTF-16BE, 3C 00 in UTF-16LE, 00 00 00 3C and 3C 00 00 00 in UTF-32
        sniffed = _ZERO_PATTERNS.get(tuple(b == 0 for b in head[:4]))
    names = [sniffed] if sniffed else []
    declared = HEADER_CHARSET.search(headers.get("content-type", ""))
    if declared:
        names.append(declared.group(1))
    prolog = (decode_lenient(head[:1024], sniffed) or "").encode("utf-8", "replace") if sniffed else head[:1024]
    xml_decl = XML_ENCODING.search(prolog)
    if xml_decl:
        names.append(xml_decl.group(1).decode("ascii"))
    found: list[str] = []
    for name in names:
        codec = known_codec(name)
        if codec and codec not in found and decode_lenient(_PROBE, codec) != _PROBE.decode("ascii"):
            found.append(codec)
    return found


def decode_lenient(content: bytes, codec: str) -> str | None:
    try:
        return content.decode(codec, "ignore")
    except (UnicodeError, LookupError, ValueError, TypeError):
        return None  # a codec that refuses these bytes even when told to ignore errors (idna, ...)


def known_codec(name: str) -> str | None:
    """A text codec by that name (not base64, rot13, ...), else None."""
    try:
        info = codecs.lookup(name.strip().strip("\"'"))
    except (LookupError, ValueError):
        return None
    return info.name if getattr(info, "_is_text_encoding", True) else None
