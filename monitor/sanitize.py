"""Invisible junk out of text that enters the monitor from outside: feeds, pages, servers.

Applied once, where such text enters (feed and entry fields in feeds.py and jsonfeed.py, page
text and title in extraction.extract, the messages of errors.MonitorError), so that what is
stored, exported, logged and mailed never carries a terminal escape, a bell or a stray NUL.
(Links are not text: feeds.py percent-encodes controls in them, as browsers do.) What goes, and
why:

- C0 controls other than tab, newline and carriage return, DEL, and C1 controls (U+0080-U+009F):
  never text. Whole 7-bit escape sequences (ESC [ ... m, ESC ] ... BEL, ESC ( B) go with their
  ESC, so no "[31m" is left behind. The controls that separate (VT, FF, FS, GS, RS, US and NEL)
  become a space, so the words either side do not run together.
- U+FEFF (a byte order mark inside text, or the deprecated zero-width no-break space), the
  interlinear annotation marks U+FFF9-U+FFFB, noncharacters (U+FDD0-U+FDEF, U+xFFFE, U+xFFFF) and
  lone surrogates (which JSON's "\\ud800" lets in and which no UTF-8 store can write).

What stays, because it is content in some script or text: zero-width joiner and non-joiner
(U+200D, U+200C: Persian, Indic scripts, emoji sequences), zero-width space (U+200B: word breaks
in Thai, Khmer, Burmese), word joiner (U+2060), soft hyphen, the bidirectional marks, embeddings
and isolates (mixed right-to-left text), variation selectors and tag characters (emoji, CJK
variants, subdivision flags), private-use characters, and U+2028/U+2029 (line separators, which
the whitespace handling downstream already treats as whitespace).
"""

from __future__ import annotations

import re

# ESC [ params intermediates final (CSI); ESC ] ... BEL or ESC \ (OSC, a title or hyperlink: only
# when it ends within 512 characters, else only its ESC goes); ESC intermediates final (charset, ...)
_ESCAPE_SEQUENCE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]{0,512}(?:\x07|\x1b\\)|[ -/]*[0-~])")
_SEPARATORS = re.compile("[\x0b\x0c\x1c-\x1f\x85]")
_NONCHARACTERS = "".join(f"{chr(plane << 16 | 0xFFFE)}{chr(plane << 16 | 0xFFFF)}" for plane in range(17))
_JUNK = re.compile(f"[\x00-\x08\x0e-\x1f\x7f-\x9f\ufeff\ufff9-\ufffb\ufdd0-\ufdef\ud800-\udfff{_NONCHARACTERS}]")
_ANY = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufeff\ufff9-\ufffb\ufdd0-\ufdef\ud800-\udfff{_NONCHARACTERS}]")


def strip_controls(text: str) -> str:
    """``text`` without control characters and invisible junk (see the module docstring); tab,
    newline and carriage return are kept, separating controls become a space."""
    if not _ANY.search(text):
        return text  # the common case: nothing to do, no copy
    text = _ESCAPE_SEQUENCE.sub("", text)
    text = _SEPARATORS.sub(" ", text)
    return _JUNK.sub("", text)


def for_terminal(text: str | None, limit: int = 200) -> str:
    """Feed-supplied text for one line of a terminal: every non-printable character (newlines
    too) a space, cut to ``limit`` characters with an ellipsis; None is empty."""
    if text is None:
        return ""
    clean = "".join(ch if ch.isprintable() else " " for ch in text)
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"
