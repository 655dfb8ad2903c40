"""Offline, rule-based sentence splitting for Swedish, English and Chinese text.

argostranslate 1.11's own splitters (stanza, spaCy, MiniSBD) download models at
run time, which this project cannot do, so translation uses this one instead.

Rules, in order:

* CJK terminators ``。！？；`` (and their closing quotes/brackets) always end a
  sentence, with or without a following space.
* ``!`` ``?`` ``…`` end a sentence when followed by whitespace.
* ``.`` ends a sentence when followed by whitespace and then something that is
  not a lower-case letter, unless the word it ends is a known abbreviation
  (``t.ex.``, ``bl.a.``, ``Dr.``, ``e.g.``...) or a run of initials (``U.S.``,
  ``J.``). Numbers such as ``3.5`` and URLs never split: there is no space.
* A sentence longer than ``max_chars`` is cut at clause punctuation (``,;:，、：``),
  then at spaces, then (for scripts without spaces) at ``max_chars``. This keeps
  model inputs short; the translator additionally caps inputs in tokens.

Splitting errs on the side of too few breaks: an abbreviation at the very end of
a sentence merges two sentences, which translates well enough, whereas a break
after ``bl.a.`` would hand the model two broken fragments.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

# Maximum characters per sentence handed to the model. Swedish/English run at
# roughly 4 characters per SentencePiece token, Chinese at roughly 1.3.
DEFAULT_MAX_CHARS = 400
CJK_MAX_CHARS = 150

_CLOSERS = "\"'”’»)]}）」』】》〉"
_CJK_END = re.compile(f"[。！？；]+[{re.escape(_CLOSERS)}]*")
_OTHER_END = re.compile(rf"(?:[!?]+|…+|\.(?:\.\.)?)[{re.escape(_CLOSERS)}]*(?=\s)")
_CLAUSE = re.compile(r"(?<=[,;:，、：])")
_INITIALS = re.compile(r"^(?:[^\W\d_]\.)+$")

_ABBREVIATIONS_SV = frozenset((
    "t.ex.", "bl.a.", "m.m.", "m.fl.", "mfl.", "o.s.v.", "osv.", "d.v.s.", "dvs.", "s.k.", "ca.", "kl.",
    "nr.", "resp.", "enl.", "inkl.", "exkl.", "f.d.", "p.g.a.", "pga.", "t.o.m.", "fr.o.m.", "jfr.", "el.",
    "tel.", "milj.", "mdr.", "mkr.", "st.", "f.ö.", "sek.", "proc.", "ang.", "avd.",
))
_ABBREVIATIONS_EN = frozenset((
    "mr.", "mrs.", "ms.", "dr.", "prof.", "sen.", "rep.", "gov.", "gen.", "col.", "lt.", "sgt.", "capt.",
    "st.", "jr.", "sr.", "inc.", "corp.", "co.", "ltd.", "vs.", "e.g.", "i.e.", "etc.", "approx.", "fig.",
    "dept.", "univ.", "mt.", "ft.", "vol.", "jan.", "feb.", "mar.", "apr.", "jun.", "jul.", "aug.", "sep.",
    "sept.", "oct.", "nov.", "dec.",
))
_ABBREVIATIONS = _ABBREVIATIONS_SV | _ABBREVIATIONS_EN


def max_chars_for(language: str) -> int:
    """The default length cap for a language code (ours or Argos's)."""
    return CJK_MAX_CHARS if language.lower().startswith(("zh", "ja", "zt")) else DEFAULT_MAX_CHARS


def split_sentences(paragraph: str, language: str, *, max_chars: int | None = None) -> list[str]:
    """Split one paragraph (no newlines needed) into stripped, non-empty sentences."""
    cap = max_chars if max_chars is not None else max_chars_for(language)
    out: list[str] = []
    for sentence in _raw_sentences(paragraph):
        out.extend(_cap_length(sentence, cap))
    return out


def _raw_sentences(text: str) -> Iterator[str]:
    start = 0
    for end in _boundaries(text):
        piece = text[start:end].strip()
        if piece:
            yield piece
        start = end
    piece = text[start:].strip()
    if piece:
        yield piece


def _boundaries(text: str) -> Iterator[int]:
    ends = sorted(
        [m.end() for m in _CJK_END.finditer(text)]
        + [m.end() for m in _OTHER_END.finditer(text) if _ends_sentence(text, m.start(), m.end())]
    )
    yield from ends


def _ends_sentence(text: str, dot_start: int, end: int) -> bool:
    rest = text[end:].lstrip()
    if not rest:
        return True
    if text[dot_start] != ".":
        # ! ? …: end a sentence unless a lower-case word follows ("...?" sa han)
        return not rest[0].islower()
    if rest[0].islower():
        return False
    word_start = max(text.rfind(" ", 0, dot_start), text.rfind("\n", 0, dot_start)) + 1
    word = text[word_start : dot_start + 1].lstrip("\"'“‘«([{").lower()
    return not (word in _ABBREVIATIONS or _INITIALS.match(word))


def _cap_length(sentence: str, cap: int) -> list[str]:
    if len(sentence) <= cap:
        return [sentence]
    out: list[str] = []
    for clause in _pack(_CLAUSE.split(sentence), cap, ""):
        if len(clause) <= cap:
            out.append(clause)
            continue
        words = clause.split(" ")
        for chunk in _pack(words, cap, " "):
            out.extend(chunk[i : i + cap].strip() for i in range(0, len(chunk), cap))
    return [s for s in out if s]


def _pack(parts: list[str], cap: int, joiner: str) -> list[str]:
    """Greedily join consecutive parts while the result stays within ``cap``."""
    chunks: list[str] = []
    current = ""
    for part in parts:
        if not part:
            continue
        candidate = f"{current}{joiner}{part}" if current else part
        if len(candidate) <= cap or not current:
            current = candidate
        else:
            chunks.append(current.strip())
            current = part
    if current.strip():
        chunks.append(current.strip())
    return chunks


