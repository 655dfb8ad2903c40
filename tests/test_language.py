"""Language identification: script statistics, seeded langdetect, the feed's hint."""

from __future__ import annotations

import pytest

from monitor.language import LanguageDetector, count_scripts, normalize_hint, swedish_evidence
from monitor.scripts import fold_to_simplified
from tests.support.seedtext import sv_seed, zh_seed


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector(seed=0)


# -- the seeds and whole articles ------------------------------------------------------


def test_swedish_seed_is_sv(detector: LanguageDetector) -> None:
    title, text = sv_seed()
    result = detector.detect(title, text)
    assert result.code == "sv"
    assert result.confidence > 0.9


def test_dw_seed_is_traditional_chinese(detector: LanguageDetector) -> None:
    # langdetect alone says "zh-tw 0.86, ko 0.14" on this page; the script decides.
    title, text = zh_seed()
    result = detector.detect(title, text)
    assert (result.code, result.method) == ("zh-Hant", "script")


def test_dw_seed_title_alone_is_traditional(detector: LanguageDetector) -> None:
    assert detector.detect(zh_seed()[0], "").code == "zh-Hant"


def test_simplified_chinese_sample(detector: LanguageDetector) -> None:
    text = "商务部表示，新规定要求企业申请许可证后才能向中国出售人工智能芯片。"
    result = detector.detect("美国限制对华出口先进芯片", text)
    assert result.code == "zh-Hans"


def test_chinese_variant_from_character_statistics() -> None:
    trad = count_scripts("美國商務部將英偉達列入出口管制")
    simp = count_scripts("美国商务部将英伟达列入出口管制")
    assert trad.traditional > trad.simplified == 0
    assert simp.simplified > simp.traditional == 0
    assert fold_to_simplified("實體清單 英偉達 輝達 半導體") == "实体清单 英伟达 辉达 半导体"


# -- short titles, mixed scripts ---------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Tio miljarder i smuggelchips – på bara tre månader", "sv"),
        ("US tightens export controls on AI chips to China", "en"),
        ("美国在AI芯片出货暗装追踪器", "zh-Hans"),
        ("輝達H200晶片可銷往中國", "zh-Hant"),
    ],
)
def test_short_titles(detector: LanguageDetector, title: str, expected: str) -> None:
    assert detector.detect(title, "").code == expected


@pytest.mark.parametrize(
    ("title", "text", "expected"),
    [
        ("英偉達A100晶片 Nvidia GPU", "路透社報導，A100和H100晶片在華強北仍買得到。", "zh-Hant"),
        ("英伟达 H20 芯片", "Nvidia 的 H20 GPU 在 CUDA 生态中仍有需求，AMD MI308 也受影响。", "zh-Hans"),
        ("AMD 宣布 CDNA 4 架构", "AMD Instinct MI355X 使用 CDNA 4，HBM3E 带宽提升。", "zh-Hans"),
    ],
)
def test_cjk_with_latin_tokens(detector: LanguageDetector, title: str, text: str, expected: str) -> None:
    assert detector.detect(title, text).code == expected


def test_english_text_with_a_few_chinese_names_stays_english(detector: LanguageDetector) -> None:
    text = (
        "The Commerce Department added Yangtze Memory (长江存储) and several other firms to the "
        "Entity List, citing national security concerns about advanced memory chips and tools."
    )
    assert detector.detect("US adds chip firms to Entity List", text).code == "en"


# -- hint handling -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hint", "expected"),
    [
        ("sv", "sv"),
        ("sv-SE", "sv"),
        ("SV_se", "sv"),
        ("en-us", "en"),
        ("zh", "zh"),
        ("zh-TW", "zh-Hant"),
        ("zh-hk", "zh-Hant"),
        ("zh-Hant-TW", "zh-Hant"),
        ("zh-cn", "zh-Hans"),
        ("zh_CN", "zh-Hans"),
        ("nb-NO", "no"),
        ("", None),
        ("  ", None),
        ("12", None),
        (None, None),
    ],
)
def test_normalize_hint(hint: str | None, expected: str | None) -> None:
    assert normalize_hint(hint) == expected


def test_hint_decides_a_one_word_title(detector: LanguageDetector) -> None:
    assert detector.detect("Nvidia", "").code != "sv"  # langdetect guesses something else
    result = detector.detect("Nvidia", "", hint="sv-SE")
    assert (result.code, result.method) == ("sv", "hint")
    assert detector.detect("H20", "", hint="en-us").code == "en"


def test_swedish_hint_overrides_norwegian_or_danish(detector: LanguageDetector) -> None:
    title = "Kina stoppar exporten"
    assert detector.detect(title, "").code in {"no", "da", "sv"}
    assert detector.detect(title, "", hint="sv").code == "sv"
    assert detector.detect("Kina stopper eksporten av brikker", "", hint="sv").code == "sv"


def test_hint_is_a_prior_not_the_truth(detector: LanguageDetector) -> None:
    english = (
        "The United States has tightened export controls on advanced computing chips and "
        "semiconductor manufacturing equipment, requiring licences for shipments to China."
    )
    assert detector.detect("Chip rules", english, hint="sv").code == "en"
    assert detector.detect("Export controls on chips", "", hint="zh-CN").code == "en"
    assert detector.detect("美國商務部", "出口管制", hint="en").code == "zh-Hant"


def test_script_tie_falls_back_on_hint(detector: LanguageDetector) -> None:
    # 中文 and 出口 are written the same in both scripts.
    assert detector.detect("中文出口", "", hint="zh-TW").code == "zh-Hant"
    assert detector.detect("中文出口", "", hint="zh-CN").code == "zh-Hans"
    assert detector.detect("中文出口", "").code == "zh-Hans"


@pytest.mark.parametrize(("title", "text"), [("", ""), ("   ", "\n\t"), ("2025", "123 456 — 7,8%")])
def test_no_text_is_und(detector: LanguageDetector, title: str, text: str) -> None:
    result = detector.detect(title, text, hint="sv")
    assert (result.code, result.confidence) == ("und", 0.0)


# -- determinism and laziness ------------------------------------------------------------


def test_same_input_same_result() -> None:
    text = "Nvidia säger att de smugglade chipen inte är mycket att ha"
    first = LanguageDetector(seed=7)
    second = LanguageDetector(seed=7)
    results = {first.detect("Kort", text), first.detect("Kort", text), second.detect("Kort", text)}
    assert len(results) == 1


def test_profiles_load_on_first_use_not_at_construction() -> None:
    detector = LanguageDetector()
    assert detector._factory is None
    detector.detect("Export controls", "on chips")
    assert detector._factory is not None


# -- the Swedish repair ------------------------------------------------------------------


def plain_langdetect(text: str) -> str:
    """What langdetect alone (seeded, no hint) says: the repair's starting point."""
    from importlib import resources

    from langdetect.detector_factory import DetectorFactory

    factory = DetectorFactory()
    factory.load_profile(str(resources.files("langdetect") / "profiles"))
    factory.set_seed(0)
    found = factory.create()
    found.append(text)
    return str(found.detect())


@pytest.mark.parametrize(
    ("text", "langdetect_says", "method"),
    [
        ("Är du präst?", "fr", "sv-letters"),  # French has no ä/ö
        ("Alla kan träna Qigong.", "tl", "sv-letters"),
        ("skulle innebära", "et", "sv-letters"),  # skulle: a Swedish function word
        ("hjälp fältbussystem", "fi", "sv-letters"),  # hj- and -lp: not Finnish spellings
        ("kunna hålla", "fi", "sv-letters"),  # å: Swedish, Danish or Norwegian only
        ("Det går alltså åtta bit på en Byte.", "no", "nordic-sv"),  # alltså, not altså
        ("Om man böjer det regelbundet.", "da", "nordic-sv"),
        ("Sedan inget mer.", "da", "nordic-sv"),  # Swedish words alone, for a Nordic guess
    ],
)
def test_swedish_that_langdetect_misreads_is_repaired(
    detector: LanguageDetector, text: str, langdetect_says: str, method: str
) -> None:
    assert plain_langdetect(text) == langdetect_says  # the case is real
    result = detector.detect(text, "")
    assert (result.code, result.method) == ("sv", method)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hän sanoi, että hallitus päättää asiasta ensi viikolla.", "fi"),
        ("Tänään sataa lunta Helsingissä.", "fi"),
        ("Valitsin jäätelöä", "fi"),
        ("Kesäloma alkaa pian", "fi"),
        ("Mäng on läbi.", "et"),
        ("Ta läks eile poodi.", "et"),
        ("Männer können schön sein", "de"),
        ("Bevölkerung wächst", "de"),
        ("Schöne Grüße aus München", "de"),
        ("Volvo moves production to Göteborg", "en"),
        ("Northvolt's Skellefteå plant halts production", "en"),
        ("Det er ikke så lett", "no"),
        ("Hun kommer fra Bergen og bor i Oslo", "no"),
        ("Vi går på kino i kveld", "no"),
    ],
)
def test_finnish_estonian_german_norwegian_and_names_stay(detector: LanguageDetector, text: str, expected: str) -> None:
    assert detector.detect(text, "").code == expected
    assert detector.detect(text, "", hint="sv").code in {expected, "sv"}  # the hint may still win short text


@pytest.mark.parametrize(
    ("text", "guess"),
    [
        # Whatever langdetect guessed, these are not Swedish, hint or no hint.
        ("Hän sanoi, että hallitus päättää asiasta", "et"),  # Finnish: ää, että, ends in ä
        ("Tänään sataa lunta Helsingissä", "it"),
        ("Kesäloma alkaa pian", "et"),  # aa
        ("Yhdysvallat kiristää sirujen vientiä", "tl"),
        ("Mäng on läbi", "fi"),  # Estonian: on
        ("Välisminister kohtus kolleegidega", "lt"),  # ee
        ("Tõnu läks välja", "fi"),  # õ
        ("Männer können schön sein", "nl"),  # German: können
        ("Schöne Grüße aus München", "fi"),  # ü, ß
        ("Mädchen spielen", "af"),  # ch
        ("Volvo moves production to Göteborg", "en"),  # a name, not a Swedish word
        ("Jeg går på skolen", "fi"),  # å, but jeg
        ("Det går ikke", "no"),
        ("Vi køber på nettet", "da"),  # ø
        ("Après l'été à Malmö", "fr"),  # è, à
    ],
)
def test_swedish_evidence_refuses_other_languages(text: str, guess: str) -> None:
    assert not swedish_evidence(text, guess)
    assert not swedish_evidence(text, guess, hinted=True)


def test_swedish_evidence_asks_more_without_a_hint() -> None:
    # "sälja", "välja olika": possible Estonian (cf. välja, tänav), so only a hint decides.
    for text, guess in (("sälja", "fi"), ("välja olika", "et"), ("strategier behöver", "de")):
        assert not swedish_evidence(text, guess)
        assert swedish_evidence(text, guess, hinted=True)
    assert swedish_evidence("Är du präst?", "fr") and not swedish_evidence("Är du präst?", "sv")
    assert not swedish_evidence("målet skolan", "no")  # å alone: as Norwegian as Swedish
    assert swedish_evidence("målet skolan", "en", hinted=True)  # ... and the hint breaks the tie


def test_swedish_hint_repairs_longer_text_langdetect_gives_to_estonian(detector: LanguageDetector) -> None:
    text = "Poäng politik välja olika minut längre augusti öster näset idealiska"  # lingua word pairs
    assert detector.detect(text, "").code == "et"
    result = detector.detect(text, "", hint="sv-SE")
    assert (result.code, result.method) == ("sv", "hint+sv-letters")


# -- Chinese is stored as zh-Hans or zh-Hant ------------------------------------------------


@pytest.mark.parametrize(
    ("title", "hint", "expected"),
    [
        ("中", "zh", "zh-Hans"),  # used to be stored as "zh"
        ("中", "zh-TW", "zh-Hant"),
        ("中", "zh-Hant", "zh-Hant"),
        ("中", "yue", "zh-Hant"),  # Cantonese is written in traditional characters
        ("中", None, "zh-Hans"),
        ("中文出口", "zh", "zh-Hans"),  # no script-specific character: a tie
        ("中文出口", "cmn", "zh-Hans"),
        ("中文出口", "yue", "zh-Hant"),
        ("美國", "zh", "zh-Hant"),
    ],
)
def test_chinese_is_always_hans_or_hant(
    detector: LanguageDetector, title: str, hint: str | None, expected: str
) -> None:
    assert detector.detect(title, "", hint=hint).code == expected


def test_no_path_stores_a_bare_chinese_code(detector: LanguageDetector) -> None:
    texts = ["中", "中文", "A中", "中 文", "中文出口", "出口 100", "美國", "美国", "Привет 中文"]
    texts.append("English words and one 中 here")
    for text in texts:
        for hint in (None, "zh", "zh-CN", "zh-TW", "zh-Hans", "yue", "cmn", "chi", "en", "sv"):
            code = detector.detect(text, "", hint=hint).code
            assert code not in {"zh", "zh-cn", "zh-tw", "yue", "cmn"}, (text, hint, code)
            assert not code.startswith("zh") or code in {"zh-Hans", "zh-Hant"}, (text, hint, code)


def test_chinese_hint_does_not_fit_text_that_is_not_han(detector: LanguageDetector) -> None:
    assert not detector.detect("Привет мир 中", "", hint="zh").code.startswith("zh")
    assert not detector.detect("Привет", "", hint="zh-TW").code.startswith("zh")
