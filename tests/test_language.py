"""Language identification: script statistics, seeded langdetect, the feed's hint."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from monitor.language import LanguageDetector, count_scripts, fold_to_simplified, normalize_hint
from tests.conftest import DATA, shared_corpus

SV_SEED = "000_007c8cc8a336648e.txt"
ZH_SEED = "004_7be077216a394de0.txt"


def seed_path(name: str) -> Path:
    for folder in (DATA / "seeds", shared_corpus() / "seeds"):
        if (folder / name).is_file():
            return folder / name
    pytest.skip(f"seed {name} not present in tests/data/seeds or ../shared/corpus/seeds")


def sv_seed() -> tuple[str, str]:
    """(title, text) of the Dagens PS seed: line 3 is the headline."""
    lines = seed_path(SV_SEED).read_text(encoding="utf-8").splitlines()
    return lines[2], "\n".join(lines[3:])


def zh_seed() -> tuple[str, str]:
    """(title, text) of the DW seed: `[title](url)`, then an HTML body (tags stripped)."""
    raw = seed_path(ZH_SEED).read_text(encoding="utf-8")
    found = re.search(r"\[([^\]]+)\]\(", raw)
    assert found is not None
    body = raw[raw.index("------") :]
    return found.group(1), re.sub(r"<[^>]+>", " ", body)


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
