"""Stories: articles that report the same event, across outlets and languages, found without a
translation model; pure and incremental.

Each article's evidence (:mod:`monitor.storyevidence`: codes, names, terms, money, numbers) weighs
by how rare it is among the articles the index keeps (inverse document frequency over the last
weeks: what is rare now, not in all the years seen), so "China" says little and "Sophgo" a lot,
and what the index counts stays bounded however long the process runs. Two articles within
``window`` days of each other (a date known only to the month counts as its middle, give or take
15 days) match by the cosine of their IDF-weighted evidence, with at least ``min_shared`` pieces
in common, one of them more than an everyday name of the field (Nvidia and Singapore alone are no
event; a small archive cannot tell that from rarity yet). The same text or URL is one story while
the index keeps a copy of it. A roundup (several headlines in one) joins no story by its evidence:
only a near copy of itself.

:class:`StoryIndex` assigns as articles arrive: a new article joins the story its members match
best *on average*, when that reaches ``threshold``, or starts one. Members within the window are
scored; those more than ``stale`` days away (but within ``reach``) count as no match; those in
between are left out. So one close member cannot chain two events into one story, nor can a
story's latest member pull in what happens weeks after its event (China announcing gallium curbs,
and Japan's own curbs taking effect three weeks later, both naming gallium), while a follow-up a
day past the window of a busy story's first hour still joins. Nothing already assigned is
re-clustered. Only stories with a member sharing a specific piece are scored (an inverted index of
those pieces finds them), so the cost of an article grows with its candidates, not the archive.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from .storyevidence import Evidence, specific

__all__ = ["StoryIndex", "StorySettings"]

K = TypeVar("K")


@dataclass(frozen=True, slots=True)
class StorySettings:
    window: float = 4.0  # days between two articles of one story, at most
    threshold: float = 0.25  # the cosine of the two articles' IDF-weighted evidence
    min_shared: int = 2  # pieces of evidence in common, at least
    undated_threshold: float = 0.6  # an article without a date must match this well
    roundup_threshold: float = 0.8  # two roundups are one story only as near copies
    stale: float = 8.0  # days: a story's members this far from a new article count as no match in its average
    reach: float = 20.0  # days: members farther still are no part of it (the store seeds the last 21 days)

    def __post_init__(self) -> None:
        if self.threshold <= 0 or self.undated_threshold <= 0:  # a story must match: a score of 0 never joins
            raise ValueError("story thresholds must be above 0")


@dataclass
class _Seen:
    key: int
    when: datetime | None
    evidence: Evidence
    story: int
    fuzz: float = 0.0  # days either side of ``when`` the date may mean (a month-only date: ~15)
    order: int = 0  # the how-manieth article added
    trim_at: datetime | None = None  # when it leaves the index counts from: its date, else the next date seen


@dataclass
class StoryIndex:
    """Stories assigned as articles arrive (in any order close to their dates)."""

    settings: StorySettings = field(default_factory=StorySettings)
    _recent: deque[_Seen] = field(default_factory=deque)
    _df: Counter[str] = field(default_factory=Counter)  # the articles kept that have each piece
    _docs: int = 0  # the articles kept
    # the same text or URL -> (its story, the newest article kept that has it); forgotten with that article
    _by_print: dict[str, tuple[int, int]] = field(default_factory=dict)
    _by_url: dict[str, tuple[int, int]] = field(default_factory=dict)
    _by_piece: dict[str, deque[_Seen]] = field(default_factory=dict)  # a specific piece -> who has it, oldest first
    _members: dict[int, deque[_Seen]] = field(default_factory=dict)  # story -> its members kept, oldest first
    _by_key: dict[int, _Seen] = field(default_factory=dict)  # article key -> its entry, while kept
    _added: int = 0
    _next: int = 1

    def weight(self, piece: str) -> float:
        return math.log((1 + self._docs) / (1 + self._df[piece])) + 1.0

    def score(self, a: Evidence, b: Evidence) -> float:
        """The weight of the evidence two articles share over the geometric mean of their totals
        (a cosine of binary IDF-weighted vectors: rare pieces count most)."""
        shared = a.pieces & b.pieces
        if len(shared) < self.settings.min_shared or not any(specific(p) for p in shared):
            return 0.0  # too little in common, or only the names every article of the field has
        total_a = sum(self.weight(p) ** 2 for p in a.pieces)
        total_b = sum(self.weight(p) ** 2 for p in b.pieces)
        cosine = sum(self.weight(p) ** 2 for p in shared) / max(1e-9, math.sqrt(total_a * total_b))
        if (a.roundup or b.roundup) and not (a.roundup and b.roundup and cosine >= self.settings.roundup_threshold):
            return 0.0  # a roundup is no one event's story; two are one only as near copies
        return cosine

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
            story = self._by_print[found.fingerprint][0]
        if story is None and found.url and found.url in self._by_url:
            story = self._by_url[found.url][0]
        if story is None:
            stale, reach = timedelta(days=self.settings.stale), timedelta(days=self.settings.reach)
            fits: list[tuple[float, int]] = []  # (the average of a story's members' scores, the story)
            # only a story with a member sharing a specific piece can score (a pair needs one)
            for candidate in self._candidates(found):
                total, over, near = 0.0, 0, False
                for seen in self._members[candidate]:
                    if when is not None and seen.when is not None:
                        gap = abs(seen.when - when) - timedelta(days=fuzz + seen.fuzz)
                        if gap > window:
                            over += stale < gap <= reach  # long before or after: counts as no match
                            continue
                    total, over, near = total + self.score(found, seen.evidence), over + 1, True
                if near:  # average link: one close member does not chain two events together
                    fits.append((total / over, candidate))
            needed = self.settings.threshold if when is not None else self.settings.undated_threshold
            if fits and max(fits)[0] >= needed:
                story = max(fits)[1]
        if story is None and new_story is not None:
            story = new_story
        if story is None:
            story, self._next = self._next, self._next + 1
        else:
            self._next = max(self._next, story + 1)
        self._added += 1
        seen = _Seen(key, when, found, story, fuzz, self._added, when)
        self._recent.append(seen)
        self._members.setdefault(story, deque()).append(seen)
        self._by_key[key] = seen
        for piece in found.pieces:
            if specific(piece):
                self._by_piece.setdefault(piece, deque()).append(seen)
        for known, value in ((self._by_print, found.fingerprint), (self._by_url, found.url)):
            if value:  # the first story of a text or URL stays its story; the newest copy keeps it known
                known[value] = (known[value][0] if value in known else story, self._added)
        while when is not None and self._recent:
            head = self._recent[0]
            if head.trim_at is None:  # undated: it leaves as long after the next date seen
                head.trim_at = when
            if when - head.trim_at <= 3 * window + timedelta(days=60):
                break
            gone = self._recent.popleft()
            self._forget(gone)
            for known, value in ((self._by_print, gone.evidence.fingerprint), (self._by_url, gone.evidence.url)):
                if value and known.get(value, (0, 0))[1] == gone.order:
                    del known[value]  # no copy of it is kept any more
        return story

    def _candidates(self, found: Evidence) -> set[int]:
        """The stories with a member kept that shares a specific piece with ``found``: no other
        can score (a pair needs one such piece), so no other is looked at."""
        return {seen.story for p in found.pieces if specific(p) for seen in self._by_piece.get(p, ())}

    def _forget(self, gone: _Seen) -> None:
        """``gone`` leaves the document counts and the lists that find candidates and members. It
        is the oldest in each list: they grow in the order articles are added, and the oldest added
        leaves first."""
        self._docs -= 1
        self._df.subtract(gone.evidence.pieces)
        for piece in gone.evidence.pieces:
            if not self._df[piece]:
                del self._df[piece]
            if specific(piece):
                _leave(self._by_piece, piece, gone)
        _leave(self._members, gone.story, gone)
        if self._by_key.get(gone.key) is gone:
            del self._by_key[gone.key]

    def move(self, key: int, story: int) -> None:
        """Article ``key`` belongs to ``story`` after all (another process placed it first, or
        this one's write of it was lost): its entry moves there, in its place by age, and the
        text and URL it was the first of go with it. Nothing else is re-clustered."""
        seen = self._by_key.get(key)
        if seen is None or seen.story == story:
            return
        old, group = seen.story, self._members[seen.story]
        group.remove(seen)
        if not group:
            del self._members[old]
        seen.story = story
        members = self._members.setdefault(story, deque())
        members.insert(bisect.bisect([m.order for m in members], seen.order), seen)
        self._next = max(self._next, story + 1)
        for known, value in ((self._by_print, seen.evidence.fingerprint), (self._by_url, seen.evidence.url)):
            if value and known.get(value, (0, 0))[0] == old:
                known[value] = (story, known[value][1])

    def __len__(self) -> int:
        """The articles kept."""
        return len(self._recent)

    def members(self) -> Mapping[int, int]:
        """Article key -> story, for the articles still in the window."""
        return {s.key: s.story for s in self._recent}


def _leave(held: dict[K, deque[_Seen]], name: K, gone: _Seen) -> None:
    queue = held[name]
    if queue.popleft() is not gone:  # cannot happen while the lists grow and shrink in one order
        raise RuntimeError(f"story index out of order at article {gone.key}")
    if not queue:
        del held[name]
