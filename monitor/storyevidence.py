"""What identifies an event in any language, read from one article without a translation model.

An article's evidence is a set of pieces:

- ``code:`` product and rule codes (H20, A100, 910B, 3A090);
- ``name:`` names written in Latin script (Nvidia, YMTC, Ganjei, Cyberspace Administration), in
  any language's text, and Chinese names read through an editable table
  (``monitor/data/names.yaml``: 英伟达 -> nvidia). In English and Swedish text a capitalised word
  is a name only when the text bears it out: capitalised where no sentence starts, and not more
  often written in lower case (so a Title Case headline's "Unmask" or a sentence's first word
  "Beslutet" is not). Swedish genitives and compounds are read back to the name they carry
  (Nvidias, Nvidiakort -> nvidia; Hongkong = Hong Kong);
- ``term:`` words that identify a measure although written in lower case, read through an
  editable table in every language (``monitor/data/terms.yaml``: gallium = gallium = 镓);
- ``amt:`` sums of money, whatever their language ($160 million, 160 miljoner dollar, 1.6億美元
  are all ``amt:1.6e8``);
- ``num:`` other numbers (counts; not years).

Only the title and the lead are read (that is where the identifying details are, and long texts
share names by chance): ``LEAD_CHARS`` of Latin-script text, half as many of Chinese (a Chinese
character says about twice what a letter does). Web-page leftovers (links, image addresses,
inline data) are dropped first. A roundup (a title stringing headlines together, "A；B；C | 极客早知道")
is marked: it reports no one event. Pure.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml

from .scripts import HAN, fold_table

__all__ = ["LEAD_CHARS", "Evidence", "evidence", "is_roundup", "name_table", "specific", "term_table"]

LEAD_CHARS = 800  # the details that identify an event are in the title and the lead
HAN_LEAD_SHARE = 0.5  # a Chinese lead is read to half as many characters: each carries about twice as much

_LEFTOVERS = re.compile(r"!?\[([^\]]*)\]\([^)]*\)|\(?(?:https?://|www\.|data:)\S+|[*#_`|>]+")
_CODE = re.compile(r"(?<![A-Za-z0-9])(?=[A-Za-z0-9]*\d)(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{2,8}(?![A-Za-z0-9])")
_NAME = re.compile(r"(?<![A-Za-z\u00c0-\u024f])[A-Z][A-Za-z\u00c0-\u024f]{1,}"
                   r"(?:[ -][A-Z][A-Za-z\u00c0-\u024f]{1,})*")
_WORDS = re.compile(r"[A-Za-z\u00c0-\u024f]+")
_NUMBER = re.compile(r"(?<![\d.,A-Za-z])\d+(?:[.,]\d+)?(?![\d.,A-Za-z])")
_YEAR = re.compile(r"(19|20)\d\d")
_HAN = re.compile(f"[{HAN}]")
_LATIN_EXTRA = "\u00c0-\u024f"  # the letters with diacritics (å, ä, ö, é, ü, ...)
_SENTENCE_END = re.compile(r"[.!?:;]['\"”’»)\]]*\s+$|^\W*$")
_FINGERPRINT_WORD = re.compile(r"[a-z]+")
# a roundup's title strings several headlines together: "A；B；C | 极客早知道", "FreeBuf周报 | A；B"
_HEADLINE_BREAK = re.compile(r"[；;]")
_COLUMN_MARK = re.compile(r"[|｜丨]")
_ROUNDUP_WORD = re.compile(r"早知道|(?<!联合)早报|周报|简报|速递|要闻|快讯|一周|"  # not 联合早报, a newspaper
                           r"(?i:\b(?:daily|morning|evening|weekly) brief(?:ing)?\b|\bround-?up\b|\bdigest\b"
                           r"|\bnewsletter\b|\bthings in tech\b|\bweek in review\b)")

# sums of money: "$160 million", "US$3.8M", "160 miljoner dollar", "1,5 miljarder kronor", "1.6亿美元"
_SCALE = {"k": 1e3, "thousand": 1e3, "tusen": 1e3, "m": 1e6, "mn": 1e6, "million": 1e6, "millions": 1e6,
          "miljon": 1e6, "miljoner": 1e6, "milj": 1e6, "mkr": 1e6, "b": 1e9, "bn": 1e9, "billion": 1e9,
          "billions": 1e9, "miljard": 1e9, "miljarder": 1e9, "mdr": 1e9, "mdkr": 1e9, "trillion": 1e12,
          "biljon": 1e12, "biljoner": 1e12, "万": 1e4, "亿": 1e8, "千": 1e3, "百万": 1e6, "千万": 1e7}
_CURRENCY = r"(?:dollars?|usd|kronor|kr|sek|euros?|eur|yuan|rmb|美元|元|人民币|欧元|新台币|港元|日元)"
_NUM = r"(\d{1,3}(?:[, \u00a0]\d{3})+(?![\d])|\d+(?:[.,]\d+)?)"  # 1,500 and 1 500 are thousands
_MONEY = (
    re.compile(r"(?:us|u\.s\.)?[$€£¥]\s?" + _NUM + r"\s?(k|m|mn|b|bn|thousand|millions?|billions?|trillion)?(?![a-z])"),
    re.compile(_NUM + r"\s?(thousand|million|billion|trillion|tusen|miljon(?:er)?|milj|miljard(?:er)?|mdr"
               r"|biljon(?:er)?)\.?\s?" + _CURRENCY + r"(?![a-z])"),
    re.compile(_NUM + r"\s?(mkr|mdkr)(?![a-z])"),
    re.compile(_NUM + r"\s?(千万|百万|万|亿|千)\s?" + _CURRENCY),
)

# capitalised words that name no event: months, weekdays, the commonest actors and words
_COMMON = frozenset((
    "the", "this", "that", "these", "those", "there", "their", "they", "then", "than", "and", "but", "for", "with",
    "from", "into", "over", "after", "before", "about", "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december", "monday", "tuesday", "wednesday", "thursday",
    "friday", "saturday", "sunday", "china", "chinese", "us", "usa", "america", "american", "united", "states",
    "washington", "beijing", "reuters", "bloomberg", "according", "said", "says", "also", "however", "more", "most",
    "news", "report", "reports", "new", "read", "share", "enligt", "det", "den", "och", "som", "för", "med", "till",
    "att", "har", "kina", "kinas", "usa", "svenska", "sverige", "januari", "februari", "mars", "maj", "juni",
    "juli", "augusti", "oktober", "måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag", "ai",
    "of", "in", "on", "at", "to", "by", "an", "a", "is", "it", "as", "or", "en", "ett", "av", "på", "om", "i",
    # the press itself: who reported, not what happened
    "times", "york", "financial", "wall", "street", "journal", "post", "nikkei", "cnbc", "cnn", "bbc", "afp", "ap",
    "associated", "press", "tt", "dn", "svd", "wired", "verge", "techcrunch", "register", "guardian", "xinhua",
))


# the actors and places nearly every article of the field names: sharing only these is not one event
_FREQUENT = frozenset(f"name:{w}" for w in (
    "nvidia", "amd", "intel", "tsmc", "samsung", "sk", "hynix", "skhynix", "huawei", "smic", "asml", "qualcomm",
    "micron", "apple", "google", "microsoft", "amazon", "alibaba", "tencent", "baidu", "bytedance", "xiaomi",
    "trump", "biden", "white", "house", "whitehouse", "commerce", "department", "commercedepartment", "justice",
    "justicedepartment", "netherlands", "japan", "singapore", "malaysia", "thailand", "korea", "taiwan", "hong",
    "kong", "hongkong", "europe", "eu", "russia", "iran", "india", "uk", "germany", "france", "beijing",
    "washington", "gpu", "gpus", "cpu", "cpus",
))


def specific(piece: str) -> bool:
    """Whether a piece can tell one event from another (not one of the field's everyday names)."""
    return piece not in _FREQUENT


@dataclass(frozen=True, slots=True)
class Evidence:
    pieces: frozenset[str]
    fingerprint: str  # the text, normalised: the same text twice is one story whatever the rest
    url: str | None
    roundup: bool = False  # a digest of several items (its title strings headlines together): no one event


@lru_cache(maxsize=1)
def name_table() -> tuple[tuple[str, str], ...]:
    """The shipped Chinese -> Latin name pairs, longest Chinese first, folded to simplified."""
    raw = yaml.safe_load(resources.files("monitor").joinpath("data", "names.yaml").read_text(encoding="utf-8"))
    pairs = {str(k).translate(fold_table()): str(v).lower() for k, v in (raw or {}).items()}
    return tuple(sorted(pairs.items(), key=lambda kv: -len(kv[0])))


def evidence(title: str, text: str, url: str | None = None, names: Iterable[tuple[str, str]] | None = None,
             lead: int = LEAD_CHARS, language: str = "und", english: tuple[str, str] | None = None) -> Evidence:
    """The identifying details of one article (title and lead; Chinese folded to simplified).
    ``language`` (the detected one) turns on Swedish genitives and compounds for ``sv``.
    ``english`` is the article's English translation (title, text), where one exists: its pieces
    join the original's (a Chinese name the table lacks, 美超微, written out as Supermicro)."""
    table = tuple(names) if names is not None else name_table()
    known = {w for _, latin in table for w in latin.split()}
    body = _clean(text)
    read = int(lead * HAN_LEAD_SHARE) if len(_HAN.findall(body[:lead])) > lead / 4 else lead  # Chinese: denser
    whole = f"{_clean(title)}\n{body[:read]}".translate(fold_table())
    pieces: set[str] = set()
    for m in _CODE.finditer(whole):
        token = m.group().upper()
        if not _YEAR.fullmatch(token) and not token.isdigit():
            pieces.add(f"code:{token}")
    pieces.update(_names(whole, known, swedish=language == "sv"))
    pieces.update(_money(whole))
    for m in _NUMBER.finditer(whole):
        number = m.group().replace(",", ".")
        if _YEAR.fullmatch(number) or len(number.replace(".", "")) < 2:
            continue
        pieces.add(f"num:{number.rstrip('0').rstrip('.') if '.' in number else number}")
    rest = whole  # longest first, each name read once: 美超微 (Supermicro) holds no 超微 (AMD)
    for chinese, latin in table:
        if chinese in rest:
            pieces.update(_name_pieces(latin.split()))
            rest = rest.replace(chinese, "\u3000")
    pieces.update(_terms(whole, term_table()))
    if english is not None and language != "en":
        pieces.update(evidence(*english, names=table, lead=lead, language="en").pieces)
    folded = text.translate(fold_table())  # the text alone: a copy may carry another headline
    flat = " ".join(_FINGERPRINT_WORD.findall(folded.lower())) or "".join(folded.split())
    fingerprint = hashlib.sha1(flat[:4000].encode()).hexdigest() if len(flat) > 200 else ""
    return Evidence(frozenset(pieces), fingerprint, url, roundup=is_roundup(title))


def is_roundup(title: str) -> bool:
    """Whether a title strings several headlines together (a daily roundup, a link digest): a
    roundup's name (早知道, 周报, Daily Brief, ...) beside its items, or three or more parts between
    semicolons that are no one headline's list (what comes before a colon: "新规：A；B；C")."""
    folded = title.translate(fold_table())
    parts = _HEADLINE_BREAK.split(folded)
    if _ROUNDUP_WORD.search(folded) and (len(parts) > 1 or _COLUMN_MARK.search(folded)):
        return True
    return len(parts) >= 3 and not re.search(r"[:：]", parts[0])


@lru_cache(maxsize=1)
def term_table() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """The shipped lower-case terms (``monitor/data/terms.yaml``), each with one pattern for its
    spellings: Chinese ones anywhere (folded to simplified), Latin ones as whole words in any case."""
    raw = yaml.safe_load(resources.files("monitor").joinpath("data", "terms.yaml").read_text(encoding="utf-8"))
    out = []
    for term, spellings in (raw or {}).items():
        han = [re.escape(str(w).translate(fold_table())) for w in spellings if _HAN.search(str(w))]
        latin = [re.escape(str(w).lower()) for w in spellings if not _HAN.search(str(w))]
        parts = han + ([rf"(?<![a-z0-9{_LATIN_EXTRA}])(?:{'|'.join(latin)})(?:s|et|en|ets|ens)?"
                        rf"(?![a-z0-9{_LATIN_EXTRA}])"] if latin else [])
        out.append((str(term).lower(), re.compile("|".join(parts))))
    return tuple(out)


def _terms(whole: str, table: Iterable[tuple[str, re.Pattern[str]]]) -> set[str]:
    lowered = whole.lower()
    return {f"term:{term}" for term, pattern in table if pattern.search(lowered)}


def _clean(text: str) -> str:
    """Links reduced to their words; addresses, inline data and markup signs dropped."""
    return _LEFTOVERS.sub(lambda m: f" {m.group(1)} " if m.group(1) else " ", text)


def _name_pieces(words: list[str]) -> set[str]:
    kept = [w for w in words if w not in _COMMON]
    out = {f"name:{w}" for w in kept if len(w) >= 2}
    if len(kept) > 1:
        out.add("name:" + "".join(kept))  # the whole name; Hong Kong = Hongkong
    return out


def _names(whole: str, known: set[str], swedish: bool) -> set[str]:
    """Latin-script names. In Chinese text every one counts; in Latin-script text a word counts
    when it is capitalised somewhere no sentence starts and written in lower case less often."""
    chinese = len(_HAN.findall(whole)) > len(_WORDS.findall(whole))
    title, _, _ = whole.partition("\n")
    title_case = _title_case(title)
    inside: Counter[str] = Counter()  # capitalised where no sentence starts
    lower: Counter[str] = Counter()
    candidates: list[list[tuple[str, bool]]] = []  # each name's words, and whether one begins a sentence
    for m in _NAME.finditer(whole):
        words: list[tuple[str, bool]] = []
        offset = m.start()
        for w in re.split(r"[ -]", m.group()):
            at = whole.find(w, offset)
            offset = at + len(w)
            starts = bool(_SENTENCE_END.search(whole[max(0, at - 4):at])) or at == 0 or whole[at - 1] == "\n" \
                or (title_case and at < len(title))
            words.append((w, starts and not chinese))
            if not starts:
                inside[w.lower()] += 1
        candidates.append(words)
    for w in _WORDS.findall(whole):
        if w.islower():
            lower[w] += 1

    def is_name(word: str, starts: bool) -> bool:
        low = word.lower()
        if low in _COMMON or len(low) < 2:
            return False
        if chinese or low in known or (word.isupper() and len(word) >= 2) or any(c.isupper() for c in word[1:]):
            return True
        return (not starts or inside[low] > 0) and inside[low] + (0 if starts else 1) > lower[low]

    out: set[str] = set()
    accepted = {w.lower() for words in candidates for w, s in words if is_name(w, s)}
    # compounds are read back only to the table's names (a name of the text, Sam, is no prefix of Samsung)
    prefixes = sorted((k for k in known if len(k) >= 4), key=len, reverse=True) if swedish else []
    for words in candidates:
        run: list[str] = []
        for w, starts in [*words, ("", False)]:
            if w and is_name(w, starts):
                run.append(_base(w.lower(), accepted | known, prefixes) if swedish else w.lower())
                continue
            if run:
                out.update(_name_pieces(run))
            run = []
    return out


def _base(word: str, names: set[str], prefixes: list[str]) -> str:
    """A Swedish genitive or compound read back to the name it carries (Nvidias, Nvidiakort ->
    nvidia) when that name is known; else the word."""
    if word.endswith("s") and word[:-1] in names:
        return word[:-1]
    for p in prefixes:
        if len(word) > len(p) + 2 and word.startswith(p):
            return p
    return word


def _title_case(title: str) -> bool:
    words = [w for w in _WORDS.findall(title) if len(w) >= 4]
    return len(words) >= 3 and sum(w[0].isupper() for w in words) >= 0.6 * len(words)


def _money(whole: str) -> set[str]:
    out = set()
    low = whole.lower()
    for pattern in _MONEY:
        for m in pattern.finditer(low):
            raw = m.group(1)
            grouped = re.fullmatch(r"\d{1,3}(?:[, \u00a0]\d{3})+", raw)
            value = float(re.sub(r"[, \u00a0]", "", raw) if grouped else raw.replace(",", "."))
            scale = _SCALE.get((m.group(2) or "").rstrip("."), 1.0) if m.lastindex and m.lastindex >= 2 else 1.0
            amount = value * scale
            if amount >= 1000:
                out.add(f"amt:{amount:.2e}")
    return out
