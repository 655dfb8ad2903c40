"""Language identification: langdetect, the script of the text and the feed's hint.

The decision, in order:

1. No letters at all -> ``und``.
2. Script statistics. Hangul -> ``ko``; kana -> ``ja``; enough Han characters (CJK text
   with Latin tokens such as "英偉達A100晶片" included) -> Chinese, reported as ``zh-Hant``
   or ``zh-Hans`` by counting characters that exist only in one of the two scripts
   (OpenCC's character tables). A tie falls back on the hint, then on ``zh-Hans``.
3. Otherwise langdetect, seeded, with the hint as a *prior*: a hint that fits the script
   (a Latin-script language for Latin text; a Chinese one for text mostly in Han) raises
   the hinted language's starting probability (zh-Hans -> langdetect's zh-cn, plain zh
   -> zh-cn and zh-tw); it wins outright on very short text (under 40 letters, where
   langdetect guesses) or when langdetect still gives it at least 0.2, and long text in
   another language overrules it. Swedish read as Norwegian/Danish becomes Swedish when
   the hint says Swedish.
4. Swedish repair (:func:`swedish_evidence`), without a hint or with a Swedish one, for
   Swedish that langdetect calls something else. Never when the text has letters Swedish
   does not write (æ/ø, ß, ü/õ, ç/è/ê/à..., as many é as å/ä/ö), nor, when its only
   Swedish letters are ä/ö, marks of Finnish/Estonian (aa/ää/yy... long vowels, kk,
   äy/yö/uo/äi diphthongs, words ending in ä or -stö/-ttö, Estonian verbs in -b, ja/on/
   ei/että...) or of German (sch, ei, tz, äu, ich/ach, -iert, the h of wählen, und/der...).
   Then, when the guess is

   - Norwegian/Danish, or the text has å (written only in Swedish, Danish, Norwegian):
     more Swedish-only spellings (ä/ö, ck, -arna/-orna/-erna; och, inte, från, också,
     mycket, denna...) than Dano-Norwegian ones (hv-, kk, -sjon, -ene/-erne, til-,
     -lege; og, ikke, jeg, fra, også, et...); with a Swedish hint a tie will do.
     Only this rule works without å/ä/ö (Swedish words alone, for a Nordic guess);
   - another language: lower-case words with å/ä/ö (names such as "Göteborg" in an
     English sentence don't count) making up at least a tenth of the words, and for a
     guess that writes ä/ö itself (fi, et, de, hu, tr, sk) unless hinted, a Swedish
     cue: a Swedish function word or -arna plural, or an ä/ö word that language cannot
     spell (for fi/et: a consonant cluster at its start or c/q/w/x/z, for fi also two
     consonants at its end, for et a y; for the others an sj-/tj-/kv-/lj-... onset).
5. Chinese is always stored as ``zh-Hans`` or ``zh-Hant``, never ``zh``, whichever path
   (script, langdetect, hint) decided it: without script-specific characters the hint's
   variant, then langdetect's (zh-tw -> zh-Hant), else ``zh-Hans`` (Cantonese: zh-Hant).

Everything heavy (langdetect's profiles, OpenCC's tables) is loaded on first use.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from langdetect.detector_factory import DetectorFactory
from langdetect.lang_detect_exception import LangDetectException

from monitor.models import LanguageResult
from monitor.scripts import HAN, script_specific_chars

__all__ = [
    "LanguageDetector",
    "ScriptCounts",
    "count_scripts",
    "normalize_hint",
    "swedish_evidence",
]

UNDETERMINED = "und"
HANS = "zh-Hans"
HANT = "zh-Hant"
_NORDIC = frozenset({"sv", "no", "da", "nb", "nn"})
_HINT_PRIOR = 20.0  # prior weight of the hinted language relative to each other language
_MAX_DETECT_CHARS = 1500  # langdetect samples n-grams; more text buys nothing but time
# Long text settles in a few trials (langdetect's default is 7): 3 trials, and all 7 again
# only when the quick answer is unsure. Short text (the lingua sets) always gets all 7.
_QUICK_FROM_CHARS = 1000
_QUICK_TRIALS = 3
_QUICK_SURE = 0.95
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
_HAN_RE = re.compile(f"[{HAN}]")
_KANA_RE = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff]")
_HANGUL_RE = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")
_LATIN_RE = re.compile(r"[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f]")
_LETTER_RE = re.compile(r"[^\W\d_]")
_LETTER_RUN_RE = re.compile(r"[^\W\d_]+")

# -- the Swedish repair (step 4 of the module docstring); all on lower-cased NFC text ----
_SV_MARK_RE = re.compile(r"[åäö]")
# Letters Swedish does not write: æ/ø, ß, and every accented Latin letter but å, ä, ö, é.
_FOREIGN_RE = re.compile("[\u00df\u00e0-\u00e3\u00e6-\u00e8\u00ea-\u00f5\u00f8-\u00ff\u0100-\u024f]")
_UMLAUT_LANGS = frozenset({"fi", "et", "de", "hu", "tr", "sk"})  # write ä/ö (or ö) themselves
_MIN_MARKED_SHARE = 0.1  # words with å/ä/ö, as a share of all words, for a non-Nordic guess
# Finnish/Estonian: long vowels, kk, diphthongs Swedish lacks, words ending in ä or in
# -stö/-ttö..., Estonian verbs in -b.
_FENNIC_RE = re.compile(r"aa|ee|ii|oo|uu|yy|ää|öö|kk|äi|äy|öy|yö|uo|iä|ä\b|[aeiouyä]\w*[^\Wj]ö\b|\w\w[aeiouäõü]b\b")
# German: sch, ei, tz, äu, ch after a vowel (but och), -chen, -iert, the lengthening h of wählen.
_GERMAN_RE = re.compile(r"sch|ei|tz|äu|[aeiuäöü]ch|chen\b|iert\b|[aeiouäö]h[lmnr]")
_CONS = "bcdfghjklmnpqrstvwxz"
_ONSET_CC_RE = re.compile(rf"\b[{_CONS}]{{2}}|[cqwxz]")  # Finnic words start with one consonant
_FI_CLUSTER_RE = re.compile(rf"[{_CONS}]{{2}}\b")  # Finnish words end in a vowel or one consonant
_SV_ONSET_RE = re.compile(r"\b(?:sj|skj|stj|tj|kj|dj|gj|hj|lj|kv)")  # not German, Hungarian, Turkish
_SV_PLURAL_RE = re.compile(r"\w{3,}(?:ar|or|er)na")  # Swedish definite plural
# Dano-Norwegian spellings: definite plural -ene/-erne, til- (Swedish till-), nynorsk -leg(e).
_DN_SPELLING_RE = re.compile(r"hv|til[^l]|\w{3,}(?:ene|erne|lege?|legt)$|.*(?:kk|sjon)")


def _words(*lists: str) -> frozenset[str]:
    return frozenset(" ".join(lists).split())


# Swedish words whose Danish/Norwegian counterparts are spelt differently, and vice versa.
_SV_NOT_DN = _words(
    "och inte från till finns också jag hon honom hur även mycket kunna måste någon något",
    "några denna detta dessa alltså sedan inom upp alla andra många två vara varit blivit bara hela",
    "genom dock deras våra sina varje kanske nog ju fick hade inget vilken vilket vilka mellan stora",
    "fanns",
)
_DN_NOT_SV = _words(
    "og ikke ikkje jeg eg hva hvad kva hvor kor hvis fra til etter meget mye noe noen nogen noget nokon",
    "noko være vere også bare berre kun meg deg seg hun ho dei ein eit et at å mange andre alle hele",
    "gjennom gennem mellom mellem uten uden ved siden der her nå sammen skal vil kunne ble hadde havde",
    "fikk fik dette denne disse deres vores hver hvilken frå mykje meir kven kvar heile korleis seier",
    "hennar deira sidan",
)
# Frequent Swedish words that are not Finnish, Estonian or German words.
_SV_FUNCTION = _words(
    "och att det som för är på med inte ett har av om kan till jag vi han hon men var vid sig så när",
    "där här än även efter eller över ut upp från också mycket finns bara skulle måste",
)
_FENNIC_WORDS = _words(
    "ja on ei et ka ta ma sa me nad see oli ole pole ning või kui mis kes kus aga oma siis väga",
    "että hän mutta kun niin myös ovat tai joka jo tämä sen mitä kuin vain sekä voi nyt jos ne",
)
_GERMAN_WORDS = _words(
    "der die das und ist nicht ich mit ein eine einen auf zu von sich auch dem des im es sie wir aus",
    "bei nach wie oder aber noch nur wird sind hat dieser diese dieses einer eines einem werden wurde",
    "wurden kann können zum zur vom beim sein seine ihre ihr dass wenn als so schon sehr mehr durch",
    "gegen unter ohne bis seit war waren haben hatte mir mich dir dich uns euch",
)
_FOREIGN_WORDS = _FENNIC_WORDS | _GERMAN_WORDS


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


def count_scripts(text: str) -> ScriptCounts:
    """Script statistics of ``text`` (URLs, e-mail addresses and HTML tags ignored)."""
    clean = _NOISE_RE.sub(" ", text)
    han_chars = _HAN_RE.findall(clean)
    simplified, traditional = script_specific_chars()
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
        result = script if script is not None else self._by_langdetect(whole, counts, hinted)
        return _stored_code(result, counts, hinted)

    def _by_langdetect(self, whole: str, counts: ScriptCounts, hinted: str | None) -> LanguageResult:
        clean = re.sub(r"\s+", " ", _NOISE_RE.sub(" ", whole)).strip()
        latin_text = counts.latin * 2 >= counts.letters
        fits = hinted is not None and (hinted.split("-")[0] not in _NON_LATIN) == latin_text
        if hinted is not None and _ld_names(hinted) != (hinted,):  # Chinese: mostly Han characters
            fits = fits and counts.han * 2 >= counts.letters
        prior = hinted if fits else None
        text = clean[:_MAX_DETECT_CHARS]
        probabilities = self._probabilities(text, prior, _QUICK_TRIALS) if len(text) >= _QUICK_FROM_CHARS else []
        if not probabilities or probabilities[0][1] < _QUICK_SURE:
            probabilities = self._probabilities(text, prior)
        scores = dict(probabilities)
        hint_score = sum(scores.get(name, 0.0) for name in _ld_names(prior)) if prior else 0.0
        if prior is not None and (counts.letters < _SHORT_LETTERS or not probabilities):
            return LanguageResult(prior, round(max(hint_score, 0.5), 4), "hint")
        if not probabilities:
            return LanguageResult(UNDETERMINED, 0.0, "langdetect-failed")
        best, confidence = probabilities[0]
        if (
            prior is not None
            and best not in _ld_names(prior)
            and (hint_score >= _HINT_KEEP or (prior == "sv" and best in _NORDIC))
        ):
            return LanguageResult(prior, round(max(hint_score, 0.5), 4), "hint")
        if prior in (None, "sv") and swedish_evidence(text, best, hinted=prior == "sv"):
            method = "hint+sv-letters" if prior else ("nordic-sv" if best in _NORDIC else "sv-letters")
            return LanguageResult("sv", round(max(scores.get("sv", 0.0), 0.5), 4), method)
        method = "langdetect+hint" if prior else "langdetect"
        return LanguageResult(_from_langdetect(best, counts, hinted), confidence, method)

    def _probabilities(self, text: str, prior: str | None, trials: int | None = None) -> list[tuple[str, float]]:
        factory = self._get_factory()
        detector = factory.create()
        if trials is not None:
            detector.n_trial = trials
        langs: list[str] = factory.get_lang_list()
        raised = set(_ld_names(prior)) & set(langs) if prior else set()
        if raised:
            detector.set_prior_map({lang: (_HINT_PRIOR if lang in raised else 1.0) for lang in langs})
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
    """zh-Hans or zh-Hant by script-specific characters; ties go to the hint, else zh-Hans."""
    simp, trad = counts.simplified, counts.traditional
    if simp != trad:
        code = HANT if trad > simp else HANS
        return code, max(simp, trad) / (simp + trad)
    return _ZH_VARIANT.get(hinted or "", HANS), 0.5


def _from_langdetect(code: str, counts: ScriptCounts, hinted: str | None) -> str:
    if code.startswith("zh"):
        return _chinese_variant(counts, hinted if hinted in (HANS, HANT) else code)[0]
    return code


def _stored_code(result: LanguageResult, counts: ScriptCounts, hinted: str | None) -> LanguageResult:
    """Chinese as zh-Hans/zh-Hant whatever decided it (a plain ``zh`` hint says no script)."""
    if result.code in (HANS, HANT) or result.code not in _ZH_VARIANT:
        return result
    fallback = hinted if hinted in (HANS, HANT) else result.code
    return LanguageResult(_chinese_variant(counts, fallback)[0], result.confidence, result.method)


# Chinese codes (ours, langdetect's, the hint's) -> the variant a script tie falls back on.
_ZH_VARIANT: Mapping[str, str] = {HANS: HANS, HANT: HANT, "zh": HANS, "zh-cn": HANS, "zh-tw": HANT, "yue": HANT}
_LD_ZH_NAMES: Mapping[str, tuple[str, ...]] = {
    HANS: ("zh-cn",),
    HANT: ("zh-tw",),
    "zh": ("zh-cn", "zh-tw"),
    "yue": ("zh-tw",),
}


def _ld_names(code: str | None) -> tuple[str, ...]:
    """langdetect's names for one of our codes (zh-Hans -> zh-cn); others unchanged."""
    return _LD_ZH_NAMES.get(code or "", (code,) if code else ())


def swedish_evidence(text: str, guess: str, hinted: bool = False) -> bool:
    """Whether ``text``, which langdetect calls ``guess``, is better read as Swedish.

    The rules of step 4 in the module docstring: Swedish letters (å, ä, ö), no letters
    Swedish lacks, no Finnic or German marks for ä/ö-only text, and a cue against the
    guessed language. ``hinted``: the feed declares Swedish, so the letters suffice.
    """
    nfc = unicodedata.normalize("NFC", text)
    low = nfc.lower()
    marks = len(_SV_MARK_RE.findall(low))
    nordic = guess in _NORDIC
    if guess == "sv" or not (marks or nordic) or _FOREIGN_RE.search(low) or low.count("é") >= max(marks, 1):
        return False
    words, marked = _swedish_words(nfc)
    sv_cues, dn_cues = _nordic_cues(words)
    if not nordic and (not marked or len(marked) < _MIN_MARKED_SHARE * len(words)):
        return False
    ring = "å" in low if nordic else any("å" in word for word in marked)
    umlaut_only = marks and not ring
    if umlaut_only and (_FENNIC_RE.search(low) or _GERMAN_RE.search(low) or not _FOREIGN_WORDS.isdisjoint(words)):
        return False  # ä/ö only: Finnish, Estonian and German write these too
    if nordic or ring:  # å: Swedish, Danish or Norwegian, and the guess is none of these
        return sv_cues > dn_cues or (ring and hinted and sv_cues == dn_cues)
    return hinted or guess not in _UMLAUT_LANGS or _swedish_cue(words, marked, guess)


def _swedish_words(text: str) -> tuple[list[str], list[str]]:
    """(every word, lower-cased; those with å/ä/ö, leaving out capitalised mid-sentence names)."""
    words: list[str] = []
    marked: list[str] = []
    initial = True
    for token in text.split():
        for i, word in enumerate(_LETTER_RUN_RE.findall(token)):
            low = word.lower()
            words.append(low)
            name = word[0].isupper() and not word.isupper() and not (initial and i == 0)
            if _SV_MARK_RE.search(low) and not name:
                marked.append(low)
        initial = token[-1] in '.!?:;"»”'
    return words, marked


def _nordic_cues(words: Sequence[str]) -> tuple[int, int]:
    """(words only Swedish writes so, words only Danish/Norwegian write so)."""
    sv = sum(w in _SV_NOT_DN or "ä" in w or "ö" in w or "ck" in w or bool(_SV_PLURAL_RE.fullmatch(w)) for w in words)
    dn = sum(w in _DN_NOT_SV or bool(_DN_SPELLING_RE.match(w)) for w in words)
    return sv, dn


def _swedish_cue(words: Sequence[str], marked: Sequence[str], guess: str) -> bool:
    """A Swedish function word or plural, or a word with ä/ö that ``guess`` can't spell."""
    if any(w in _SV_FUNCTION or _SV_PLURAL_RE.fullmatch(w) for w in words):
        return True
    for word in marked:  # the cue must be in a word with ä/ö: loans and English words don't count
        if guess not in ("fi", "et"):
            found = bool(_SV_ONSET_RE.match(word))
        elif guess == "et":
            found = bool(_ONSET_CC_RE.search(word)) or "y" in word
        else:
            found = bool(_ONSET_CC_RE.search(word) or _FI_CLUSTER_RE.search(word))
        if found:
            return True
    return False


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0
