"""Matching: a compiled watchlist (``watchrules``) against an article's title and text, in the
original language; pure. Title and text are read as one stream, title first, so a window can
join a headline to its lead. Each time a rule is satisfied (once per match of a term of its
first group, the "anchor") it scores ``rule.weight x the anchor term's weight``, times
``title_weight`` when the anchor is in the title; at most ``max_count`` times per rule in the
title and as many in the text. The article is flagged when the total reaches ``threshold`` and
no group listed under the watchlist's ``not`` occurs anywhere. URLs and HTML tags are blanked
(same length) before matching; windows count a Latin word or a CJK character as one position.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from monitor.models import Hit, WatchlistMatch
from monitor.scripts import CJK, fold_table
from monitor.watchrules import WORD_CHARS, Rule, Term, TermGroup, Watchlist

__all__ = ["match"]

SNIPPET_CHARS = 160
_TOKEN_RE = re.compile(rf"[{WORD_CHARS}]+|[{CJK}]")
# Addresses and markup are not text: blanked (same length) before matching.
_NOT_TEXT_RE = re.compile(r"https?://\S+|www\.\S+|(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}/\S*|\]\([^)\s]*\)|<[^<>]{0,2000}>")
_CJK_LANGS = ("zh", "ja", "ko")


# -- matching ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Found:
    start: int
    end: int
    token: int
    term: Term


class _Doc:
    """Title and text as one stream (so a headline and its lead can be near each other)."""

    def __init__(self, title: str, text: str) -> None:
        self.title_end = len(title)
        self.raw = f"{title}\n\n{text}"
        self.folded = _NOT_TEXT_RE.sub(_blank, self.raw.translate(fold_table()))
        self.lowered = self.folded.lower()
        self._starts: list[int] | None = None
        self._found: dict[str, list[_Found]] = {}

    def field_of(self, offset: int) -> str:
        return "title" if offset < self.title_end else "text"

    def bounds(self, offset: int) -> tuple[int, int]:
        return (0, self.title_end) if offset < self.title_end else (self.title_end + 2, len(self.raw))

    def token_at(self, offset: int) -> int:
        if self._starts is None:
            self._starts = [m.start() for m in _TOKEN_RE.finditer(self.folded)]
        return max(0, bisect.bisect_right(self._starts, offset) - 1)

    def found(self, group: TermGroup) -> list[_Found]:
        """Matches of the group's terms, leftmost-longest, without overlaps."""
        if group.name not in self._found:
            spans: list[tuple[int, int, Term]] = []
            for ct in group.terms:
                if ct.literal not in (self.folded if ct.term.exact_case else self.lowered):
                    continue
                spans += [(m.start(), m.end(), ct.term) for m in ct.pattern.finditer(self.folded)]
            spans.sort(key=lambda s: (s[0], -s[1]))
            kept: list[_Found] = []
            for start, end, term in spans:
                if kept and start < kept[-1].end:
                    continue
                kept.append(_Found(start, end, self.token_at(start), term))
            self._found[group.name] = kept
        return self._found[group.name]


def _blank(m: re.Match[str]) -> str:
    return " " * len(m.group())


def match(watchlists: Sequence[Watchlist], title: str, text: str, language: str) -> tuple[WatchlistMatch, ...]:
    """One :class:`WatchlistMatch` per watchlist for an article; pure.

    ``language`` (a :class:`LanguageResult` code) picks the window unit: characters for
    zh/ja/ko, words otherwise. Title and text are read as one stream, title first, so a
    window can join a headline to its lead; a rule satisfied with its first group's term
    in the title counts ``title_weight`` times.
    """
    cjk = language.lower().startswith(_CJK_LANGS)
    doc = _Doc(title or "", text or "")
    return tuple(_match_one(wl, doc, cjk) for wl in watchlists)


def _match_one(wl: Watchlist, doc: _Doc, cjk: bool) -> WatchlistMatch:
    score = 0.0
    hits: dict[tuple[str, str, str], Hit] = {}
    reasons: list[str] = []
    for rule in wl.rules:
        counts = {"title": 0, "text": 0}
        gained = {"title": 0.0, "text": 0.0}
        for combo in _occurrences(wl, rule, doc, rule.window(cjk)):
            fld = doc.field_of(combo[0].start)
            if counts[fld] >= rule.max_count:
                continue
            counts[fld] += 1
            factor = wl.title_weight if fld == "title" else 1.0
            gained[fld] += rule.weight * combo[0].term.weight * factor
            for hit in _hits(wl.name, doc, combo):
                hits.setdefault((hit.term, hit.field, hit.snippet), hit)
        for fld in ("title", "text"):
            if counts[fld]:
                score += gained[fld]
                reasons.append(f"{rule.name}: {counts[fld]}x in {fld} (+{gained[fld]:g})")
    vetoes = sorted({name for name in wl.exclude if doc.found(wl.group(name))})
    if vetoes:
        reasons.append(f"not: {', '.join(vetoes)} present, not flagged")
    flagged = score >= wl.threshold and not vetoes
    mentioned = not flagged and not vetoes and score >= wl.mention_level
    reasons.append(f"score {score:g} {'>=' if score >= wl.threshold else '<'} threshold {wl.threshold:g}"
                   + (f", >= mention threshold {wl.mention_level:g}" if mentioned else ""))
    return WatchlistMatch(wl.name, flagged, round(score, 3), tuple(hits.values()), tuple(reasons), mentioned)


def _occurrences(wl: Watchlist, rule: Rule, doc: _Doc, window: int | None) -> list[tuple[_Found, ...]]:
    """Each anchor (a match of the rule's first group) with a partner from every other group."""
    anchors = doc.found(wl.group(rule.all[0]))
    if not anchors:
        return []
    others = [doc.found(wl.group(name)) for name in rule.all[1:]]
    if any(not found for found in others):
        return []
    nots = [f for name in rule.not_ for f in doc.found(wl.group(name))]
    if window is None:
        return [] if nots else [(a, *(found[0] for found in others)) for a in anchors]
    result: list[tuple[_Found, ...]] = []
    for anchor in anchors:
        near = _near(anchor.token, window)
        if any(near(f) for f in nots):
            continue
        partners = [min(found, key=lambda f: abs(f.token - anchor.token)) for found in others]
        if all(near(p) for p in partners):
            result.append((anchor, *partners))
    return result


def _near(token: int, window: int) -> Callable[[_Found], bool]:
    return lambda f: abs(f.token - token) <= window


def _hits(watchlist: str, doc: _Doc, combo: tuple[_Found, ...]) -> list[Hit]:
    start, end = min(f.start for f in combo), max(f.end for f in combo)
    same_field = doc.field_of(start) == doc.field_of(end - 1)
    if same_field and end - start <= SNIPPET_CHARS - 20:
        shared = _snippet(doc, start, end)
        return [Hit(watchlist, f.term.text, doc.field_of(start), shared) for f in combo]
    return [Hit(watchlist, f.term.text, doc.field_of(f.start), _snippet(doc, f.start, f.end)) for f in combo]


def _snippet(doc: _Doc, start: int, end: int) -> str:
    """About SNIPPET_CHARS characters of the field around raw[start:end], whitespace collapsed."""
    first, last = doc.bounds(start)
    room = max(0, SNIPPET_CHARS - 2 - (end - start)) // 2
    lo, hi = max(first, start - room), min(last, end + room)
    text = doc.raw
    if lo > first:
        space = text.find(" ", lo, start)
        lo = space + 1 if space != -1 and space - lo < 15 else lo
    if hi < last:
        space = text.rfind(" ", end, hi)
        hi = space if space != -1 and hi - space < 15 else hi
    body = " ".join(text[lo:hi].split())
    return ("…" if lo > first else "") + body + ("…" if hi < last else "")
