"""Language identification: langdetect, the script of the text and the feed's hint.

The decision, in order:

1. No letters at all -> ``und``.
2. Script statistics. Hangul -> ``ko``; kana -> ``ja``; enough Han characters (CJK text
   with Latin tokens such as "英偉達A100晶片" included) -> Chinese, reported as ``zh-Hant``
   or ``zh-Hans`` by counting characters that exist only in one of the two scripts
   (OpenCC's character tables). A tie falls back on the hint, then on ``zh-Hans``.
3. Otherwise langdetect, seeded, with the hint as a *prior*: a hint that fits the script
   (a Latin-script language for Latin text) raises the hinted language's starting
   probability; it wins outright on very short text (under 40 letters, where langdetect
   guesses) or when langdetect still gives it at least 0.2, and long text in another
   language overrules it. Swedish read as Norwegian/Danish becomes Swedish when the hint
   says Swedish, or, without a hint, when the text has Swedish letters (ä, ö) and none
   of the Dano-Norwegian ones (æ, ø).

Everything heavy (langdetect's profiles, OpenCC's tables) is loaded on first use.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from langdetect.detector_factory import DetectorFactory
from langdetect.lang_detect_exception import LangDetectException

from monitor.models import LanguageResult

__all__ = [
    "LanguageDetector",
    "ScriptCounts",
    "count_scripts",
    "fold_table",
    "fold_to_simplified",
    "normalize_hint",
    "simplified_fold_table",
]

UNDETERMINED = "und"
HANS = "zh-Hans"
HANT = "zh-Hant"
_NORDIC = frozenset({"sv", "no", "da", "nb", "nn"})
_HINT_PRIOR = 20.0  # prior weight of the hinted language relative to each other language
_MAX_DETECT_CHARS = 4000  # langdetect samples n-grams; more text buys nothing but time
_MIN_HAN_SHARE = 0.08  # Han share of (Han + Latin letters) above which text is Chinese
_MIN_HAN_SHARE_TITLE = 0.03  # ... when the title itself is Chinese
_SHORT_LETTERS = 40  # below this many letters langdetect is a coin toss: a fitting hint wins
_HINT_KEEP = 0.2  # the hinted language wins when langdetect gives it at least this
# Languages not written in Latin script: their hint cannot describe Latin text.
_NON_LATIN = frozenset(
    {"ar", "be", "bg", "el", "fa", "gu", "he", "hi", "hy", "ja", "ka", "kk", "km", "kn", "ko", "ky", "lo", "mk"}
    | {"ml", "mn", "mr", "my", "ne", "pa", "ru", "si", "sr", "ta", "te", "th", "uk", "ur", "yue", "zh"}
)

# Markup and addresses carry Latin letters that say nothing about the language.
_NOISE_RE = re.compile(r"https?://\S+|www\.\S+|\S+@\S+\.\w+|\]\([^)]*\)|<[^>]{0,500}>|&[a-z]{2,8};|&#\d+;")
_HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
_KANA_RE = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff]")
_HANGUL_RE = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")
_LATIN_RE = re.compile(r"[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f]")
_LETTER_RE = re.compile(r"[^\W\d_]")
_SV_LETTERS_RE = re.compile(r"[äöÄÖ]")
_DANO_NORWEGIAN_RE = re.compile(r"[æøÆØ]")


@dataclass(frozen=True, slots=True)
class ScriptCounts:
    """How many characters of each script a text has (markup and URLs removed)."""

    han: int
    kana: int
    hangul: int
    latin: int
    letters: int  # every letter, any script
    simplified: int  # Han characters that exist only in simplified Chinese
    traditional: int  # Han characters that exist only in traditional Chinese

    @property
    def han_share(self) -> float:
        """Han characters as a share of Han + Latin letters (0 when neither)."""
        total = self.han + self.latin
        return self.han / total if total else 0.0


def normalize_hint(hint: str | None) -> str | None:
    """Map a declared language ("sv-SE", "zh-TW", "zh_cn", "en-us", "zh") to our codes.

    Chinese becomes ``zh-Hant`` (tw, hk, mo, hant) or ``zh-Hans`` (cn, sg, hans, plain zh
    is returned as ``zh`` since it says nothing about the script). Others: the lower-case
    ISO 639-1 part. Empty or malformed hints give ``None``.
    """
    if hint is None:
        return None
    parts = [p for p in re.split(r"[-_\s]+", hint.strip().lower()) if p]
    if not parts or not re.fullmatch(r"[a-z]{2,3}", parts[0]):
        return None
    base, rest = parts[0], set(parts[1:])
    if base in {"zh", "zho", "chi", "cmn", "yue"}:
        if rest & {"tw", "hk", "mo", "hant"}:
            return HANT
        if rest & {"cn", "sg", "my", "hans"}:
            return HANS
        return "yue" if base == "yue" else "zh"
    if base in {"nb", "nn"}:
        return "no"
    return base


@lru_cache(maxsize=1)
def _opencc_tables() -> tuple[dict[int, str], frozenset[str], frozenset[str]]:
    """(traditional->simplified fold table, simplified-only chars, traditional-only chars).

    Built from OpenCC's one-character dictionaries; only 1:1 character mappings are
    used, so folding never changes a string's length (offsets stay valid).
    """
    folder = resources.files("opencc") / "dictionary"
    ts = _read_opencc(folder.joinpath("TSCharacters.txt").read_text(encoding="utf-8"))
    st = _read_opencc(folder.joinpath("STCharacters.txt").read_text(encoding="utf-8"))
    fold = {ord(k): v[0] for k, v in ts.items() if v[0] != k}
    traditional = frozenset(k for k, v in ts.items() if k not in v and k not in st)
    simplified = frozenset(k for k, v in st.items() if k not in v and k not in ts)
    return fold, simplified, traditional


def _read_opencc(text: str) -> dict[str, list[str]]:
    table: dict[str, list[str]] = {}
    for line in text.splitlines():
        key, _, values = line.partition("\t")
        targets = [v for v in values.split() if len(v) == 1]
        if len(key) == 1 and targets:
            table[key] = targets
    return table


@lru_cache(maxsize=1)
def fold_table() -> Mapping[int, str]:
    """For matching: traditional -> simplified and full-width -> ASCII, 1:1 so offsets survive."""
    table = dict(simplified_fold_table())
    table.update({code: chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)})
    table[0x3000] = " "
    return table


def simplified_fold_table() -> Mapping[int, str]:
    """``str.translate`` table: traditional Chinese character -> simplified (1:1)."""
    return _opencc_tables()[0]


def fold_to_simplified(text: str) -> str:
    """Traditional Chinese characters replaced by their simplified form; same length."""
    return text.translate(_opencc_tables()[0])


def count_scripts(text: str) -> ScriptCounts:
    """Script statistics of ``text`` (URLs, e-mail addresses and HTML tags ignored)."""
    clean = _NOISE_RE.sub(" ", text)
    han_chars = _HAN_RE.findall(clean)
    _, simplified, traditional = _opencc_tables()
    return ScriptCounts(
        han=len(han_chars),
        kana=len(_KANA_RE.findall(clean)),
        hangul=len(_HANGUL_RE.findall(clean)),
        latin=len(_LATIN_RE.findall(clean)),
        letters=len(_LETTER_RE.findall(clean)),
        simplified=sum(1 for c in han_chars if c in simplified),
        traditional=sum(1 for c in han_chars if c in traditional),
    )


class LanguageDetector:
    """Seeded, repeatable language identification for one article at a time.

    Each detector owns its langdetect factory; the profiles are read on the first call
    to :meth:`detect`, not at import or construction.
    """

    def __init__(self, seed: int = 0) -> None:
        self._seed = seed
        self._factory: Any = None

    def _get_factory(self) -> Any:
        if self._factory is None:
            factory = DetectorFactory()
            factory.load_profile(str(resources.files("langdetect") / "profiles"))
            factory.set_seed(self._seed)
            self._factory = factory
        return self._factory

    def detect(self, title: str, text: str, hint: str | None = None) -> LanguageResult:
        """The language of an article, from its title and text, with the feed's hint."""
        hinted = normalize_hint(hint)
        whole = f"{title}\n{text}"
        counts = count_scripts(whole)
        if counts.letters == 0:
            return LanguageResult(UNDETERMINED, 0.0, "empty")
        script = _by_script(counts, count_scripts(title), hinted)
        if script is not None:
            return script
        return self._by_langdetect(whole, counts, hinted)

    def _by_langdetect(self, whole: str, counts: ScriptCounts, hinted: str | None) -> LanguageResult:
        clean = re.sub(r"\s+", " ", _NOISE_RE.sub(" ", whole)).strip()
        latin_text = counts.latin * 2 >= counts.letters
        fits = hinted is not None and (hinted.split("-")[0] not in _NON_LATIN) == latin_text
        prior = hinted if fits else None
        probabilities = self._probabilities(clean[:_MAX_DETECT_CHARS], prior)
        scores = dict(probabilities)
        if prior is not None and (counts.letters < _SHORT_LETTERS or not probabilities):
            return LanguageResult(prior, round(max(scores.get(prior, 0.0), 0.5), 4), "hint")
        if not probabilities:
            return LanguageResult(UNDETERMINED, 0.0, "langdetect-failed")
        best, confidence = probabilities[0]
        if (
            prior is not None
            and best != prior
            and (scores.get(prior, 0.0) >= _HINT_KEEP or (prior == "sv" and best in _NORDIC))
        ):
            return LanguageResult(prior, round(max(scores.get(prior, 0.0), 0.5), 4), "hint")
        swedish_letters = _SV_LETTERS_RE.search(clean) and not _DANO_NORWEGIAN_RE.search(clean)
        if prior is None and best in _NORDIC and best != "sv" and swedish_letters:
            return LanguageResult("sv", max(scores.get("sv", 0.0), confidence), "nordic-sv")
        method = "langdetect+hint" if prior else "langdetect"
        return LanguageResult(_from_langdetect(best, counts, hinted), confidence, method)

    def _probabilities(self, text: str, prior: str | None) -> list[tuple[str, float]]:
        factory = self._get_factory()
        detector = factory.create()
        langs: list[str] = factory.get_lang_list()
        if prior in langs:
            detector.set_prior_map({lang: (_HINT_PRIOR if lang == prior else 1.0) for lang in langs})
        detector.append(text)
        try:
            found = detector.get_probabilities()
        except LangDetectException:
            return []
        return [(str(p.lang), float(p.prob)) for p in found]


def _by_script(counts: ScriptCounts, title: ScriptCounts, hinted: str | None) -> LanguageResult | None:
    """Decide from the script alone when it is unambiguous, else ``None``."""
    if counts.hangul and counts.hangul >= 0.3 * (counts.han + counts.hangul):
        return LanguageResult("ko", _share(counts.hangul, counts.letters), "script")
    if counts.kana and counts.kana >= 0.1 * (counts.han + counts.kana):
        return LanguageResult("ja", _share(counts.han + counts.kana, counts.letters), "script")
    chinese_title = title.han >= 4 and title.han_share >= 0.5
    threshold = _MIN_HAN_SHARE_TITLE if chinese_title else _MIN_HAN_SHARE
    if counts.han >= 2 and counts.han_share >= threshold:
        code, sure = _chinese_variant(counts, hinted)
        return LanguageResult(code, round(sure, 4), "script")
    return None


def _chinese_variant(counts: ScriptCounts, hinted: str | None) -> tuple[str, float]:
    """zh-Hans or zh-Hant by script-specific characters; ties go to the hint."""
    simp, trad = counts.simplified, counts.traditional
    if simp != trad:
        code = HANT if trad > simp else HANS
        return code, max(simp, trad) / (simp + trad)
    if hinted in (HANS, HANT):
        return str(hinted), 0.5
    return HANS, 0.5


def _from_langdetect(code: str, counts: ScriptCounts, hinted: str | None) -> str:
    if code.startswith("zh"):
        return _chinese_variant(counts, hinted if hinted in (HANS, HANT) else _LD_ZH.get(code))[0]
    return code


_LD_ZH: Mapping[str, str] = {"zh-cn": HANS, "zh-tw": HANT}


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0
