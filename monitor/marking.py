"""Where watchlist terms occur in a text: each term's pattern (as the watchlists match it, on
folded text: traditional -> simplified Chinese, full-width -> ASCII, one character for one) and
the text split into plain and marked segments. Pure; the digest and the web pages mark with it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .scripts import fold_table
from .watchrules import Watchlist

__all__ = ["Segment", "fold", "highlight", "surface", "term_pattern", "term_patterns"]


@dataclass(frozen=True, slots=True)
class Segment:
    """A run of snippet text; ``mark`` when it is a watchlist term that matched."""

    text: str
    mark: bool = False


def highlight(text: str, patterns: Sequence[re.Pattern[str]]) -> tuple[Segment, ...]:
    """Split ``text`` into plain and marked segments where any pattern matches. Patterns run on
    the folded text (traditional -> simplified Chinese, full-width -> ASCII: 1:1, so offsets hold),
    as the watchlists match; the segments keep the original characters."""
    folded = fold(text)
    spans = sorted((m.start(), m.end()) for p in patterns for m in p.finditer(folded) if m.end() > m.start())
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out: list[Segment] = []
    pos = 0
    for start, end in merged:
        if start > pos:
            out.append(Segment(text[pos:start]))
        out.append(Segment(text[start:end], mark=True))
        pos = end
    if pos < len(text):
        out.append(Segment(text[pos:]))
    return tuple(out)


def term_pattern(term: str) -> re.Pattern[str]:
    """A pattern for a watchlist term as written (``*`` lets a word go on, a space matches spaces or
    hyphens); used when the term is no longer in the configured watchlists."""
    parts = []
    for word in fold(term).split():
        core = re.escape(word.strip("*"))
        head = r"\w*" if word.startswith("*") else (r"(?<!\w)" if word[:1].isascii() and word[:1].isalnum() else "")
        tail = r"\w*" if word.endswith("*") else (r"(?!\w)" if word[-1:].isascii() and word[-1:].isalnum() else "")
        parts.append(head + core + tail)
    return re.compile(r"[\s\-]+".join(parts) or re.escape(term), re.IGNORECASE)


def surface(pattern: re.Pattern[str], text: str, folded: str) -> str | None:
    """The first match of a term as the article writes it (folding is 1:1: offsets hold)."""
    found = pattern.search(folded)
    return " ".join(text[found.start():found.end()].split()) if found and found.end() > found.start() else None


def fold(text: str) -> str:
    """Traditional Chinese to simplified, full-width to ASCII; one character for one."""
    return text.translate(fold_table())


def term_patterns(watchlists: Sequence[Watchlist]) -> dict[tuple[str, str], re.Pattern[str]]:
    return {(w.name, ct.term.text): ct.pattern for w in watchlists for g in w.groups for ct in g.terms}
