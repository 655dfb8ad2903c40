"""Stories: articles that report the same event, across outlets and languages, found without a
translation model; pure and incremental.

An article's **evidence** is what identifies an event in any language: product codes (H20, A100,
910B, 3A090), names written in Latin script (Nvidia, YMTC, Ganjei), Chinese names read through an
editable table (``monitor/data/names.yaml``: 英伟达 -> nvidia), and numbers (amounts, counts; not
years). Each piece weighs by how rare it is among the articles seen so far (inverse document
frequency), so "China" says little and "Sophgo" a lot. Two articles within ``window`` days of each
other (a date known only to the month counts as its middle, give or take 15 days) are the same
story when the cosine of their IDF-weighted evidence reaches ``threshold`` with at least
``min_shared`` pieces in common; or when they are the same text or URL. Only the title and the
lead are read: that is where the identifying details are, and long texts share names by chance.

:class:`StoryIndex` assigns as articles arrive: a new article joins the story of its best match
among the articles of the window, or starts one. Nothing already assigned is re-clustered.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from importlib import resources

import yaml

from .scripts import fold_table

__all__ = ["Evidence", "StoryIndex", "StorySettings", "evidence", "name_table"]

_CODE = re.compile(r"(?<![A-Za-z0-9])(?=[A-Za-z0-9]*\d)(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{2,8}(?![A-Za-z0-9])")
_NAME = re.compile(r"(?<![A-Za-z])[A-Z][A-Za-z\u00c0-\u024f]{2,}(?:[ -][A-Z][A-Za-z\u00c0-\u024f]{2,})*")
_NUMBER = re.compile(r"(?<![\d.,A-Za-z])\d+(?:[.,]\d+)?(?![\d.,A-Za-z])")
_YEAR = re.compile(r"(19|20)\d\d")
_WORD = re.compile(r"[a-z]+")
# capitalised words that name no event: sentence starts, months, weekdays, the commonest actors
_COMMON = frozenset((
    "the", "this", "that", "these", "those", "there", "their", "they", "then", "than", "and", "but", "for", "with",
    "from", "into", "over", "after", "before", "about", "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december", "monday", "tuesday", "wednesday", "thursday",
    "friday", "saturday", "sunday", "china", "chinese", "us", "usa", "america", "american", "united", "states",
    "washington", "beijing", "reuters", "bloomberg", "according", "said", "says", "also", "however", "more", "most",
    "news", "report", "reports", "new", "read", "share", "enligt", "det", "den", "och", "som", "för", "med", "till",
    "att", "har", "kina", "usa", "svenska", "sverige"
))


@dataclass(frozen=True, slots=True)
class StorySettings:
    window: float = 4.0  # days between two articles of one story, at most
    threshold: float = 0.3  # the cosine of the two articles' IDF-weighted evidence
    min_shared: int = 2  # pieces of evidence in common, at least
    undated_threshold: float = 0.6  # an article without a date must match this well


@dataclass(frozen=True, slots=True)
class Evidence:
    pieces: frozenset[str]
    fingerprint: str  # the text, normalised: the same text twice is one story whatever the rest
    url: str | None


@lru_cache(maxsize=1)
def name_table() -> tuple[tuple[str, str], ...]:
    """The shipped Chinese -> Latin name pairs, longest Chinese first, folded to simplified."""
    raw = yaml.safe_load(resources.files("monitor").joinpath("data", "names.yaml").read_text(encoding="utf-8"))
    pairs = {str(k).translate(fold_table()): str(v).lower() for k, v in (raw or {}).items()}
    return tuple(sorted(pairs.items(), key=lambda kv: -len(kv[0])))


LEAD_CHARS = 800  # the details that identify an event are in the title and the lead


def evidence(title: str, text: str, url: str | None = None,
             names: Iterable[tuple[str, str]] | None = None, lead: int = LEAD_CHARS) -> Evidence:
    """The identifying details of one article (title and lead; Chinese folded to simplified)."""
    whole = f"{title}\n{text[:lead]}".translate(fold_table())
    pieces: set[str] = set()
    for m in _CODE.finditer(whole):
        token = m.group().upper()
        if not _YEAR.fullmatch(token) and not token.isdigit():
            pieces.add(f"code:{token}")
    for m in _NAME.finditer(whole):
        words = [w for w in m.group().lower().replace("-", " ").split() if w not in _COMMON]
        if words:
            pieces.add("name:" + " ".join(words))
            pieces.update(f"name:{w}" for w in words)
    for m in _NUMBER.finditer(whole):
        number = m.group().replace(",", ".")
        if _YEAR.fullmatch(number) or len(number.replace(".", "")) < 2:
            continue
        pieces.add(f"num:{number.rstrip('0').rstrip('.') if '.' in number else number}")
    for chinese, latin in names if names is not None else name_table():
        if chinese in whole:
            pieces.add(f"name:{latin}")
            pieces.update(f"name:{w}" for w in latin.split())
    body = text.translate(fold_table())  # the text alone: a copy may carry another headline
    flat = " ".join(_WORD.findall(body.lower())) or "".join(body.split())
    fingerprint = hashlib.sha1(flat[:4000].encode()).hexdigest() if len(flat) > 200 else ""
    return Evidence(frozenset(pieces), fingerprint, url)


@dataclass
class _Seen:
    key: int
    when: datetime | None
    evidence: Evidence
    story: int
    fuzz: float = 0.0  # days either side of ``when`` the date may mean (a month-only date: ~15)


@dataclass
class StoryIndex:
    """Stories assigned as articles arrive (in any order close to their dates)."""

    settings: StorySettings = field(default_factory=StorySettings)
    _recent: deque[_Seen] = field(default_factory=deque)
    _df: Counter[str] = field(default_factory=Counter)
    _docs: int = 0
    _by_print: dict[str, int] = field(default_factory=dict)
    _by_url: dict[str, int] = field(default_factory=dict)
    _next: int = 1

    def weight(self, piece: str) -> float:
        return math.log((1 + self._docs) / (1 + self._df[piece])) + 1.0

    def score(self, a: Evidence, b: Evidence) -> float:
        """The weight of the evidence two articles share over the geometric mean of their totals
        (a cosine of binary IDF-weighted vectors: rare pieces count most)."""
        shared = a.pieces & b.pieces
        if len(shared) < self.settings.min_shared:
            return 0.0
        total_a = sum(self.weight(p) ** 2 for p in a.pieces)
        total_b = sum(self.weight(p) ** 2 for p in b.pieces)
        return sum(self.weight(p) ** 2 for p in shared) / max(1e-9, math.sqrt(total_a * total_b))

    def add(self, key: int, when: datetime | None, found: Evidence, known_story: int | None = None,
            fuzz: float = 0.0, new_story: int | None = None) -> int:
        """The story of a new article (``known_story`` when the store already gave it one). An
        undated article is compared with every article kept, dated ones within the window (widened
        by ``fuzz`` days for a date known only to the month). A story it starts gets the id
        ``new_story`` (the store uses the article's own id), else the next free number."""
        self._docs += 1
        self._df.update(found.pieces)
        window = timedelta(days=self.settings.window)
        story = known_story
        if story is None and found.fingerprint and found.fingerprint in self._by_print:
            story = self._by_print[found.fingerprint]
        if story is None and found.url and found.url in self._by_url:
            story = self._by_url[found.url]
        if story is None:
            best, best_score = None, 0.0
            for seen in self._recent:
                if when is not None and seen.when is not None and \
                        abs(seen.when - when) > window + timedelta(days=fuzz + seen.fuzz):
                    continue
                value = self.score(found, seen.evidence)
                if value > best_score:
                    best, best_score = seen, value
            needed = self.settings.threshold if when is not None else self.settings.undated_threshold
            if best is not None and best_score >= needed:
                story = best.story
        if story is None and new_story is not None:
            story = new_story
        if story is None:
            story, self._next = self._next, self._next + 1
        else:
            self._next = max(self._next, story + 1)
        self._recent.append(_Seen(key, when, found, story, fuzz))
        while when is not None and self._recent and self._recent[0].when is not None \
                and when - self._recent[0].when > 3 * window + timedelta(days=60):
            self._recent.popleft()
        if found.fingerprint:
            self._by_print.setdefault(found.fingerprint, story)
        if found.url:
            self._by_url.setdefault(found.url, story)
        return story

    def members(self) -> Mapping[int, int]:
        """Article key -> story, for the articles still in the window."""
        return {s.key: s.story for s in self._recent}
