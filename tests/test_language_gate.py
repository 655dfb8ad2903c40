"""Quality gate: short-text language ID on lingua-py's test data.

Reads ``../shared/corpus/peers/lingua-testdata/{sentences,word-pairs}/<lang>.txt`` (or
$MONITOR_SHARED/corpus/...) at test time, one text per line, and measures per language
and set the accuracy of

- ``ours``: :class:`LanguageDetector` (seed 0), no hint;
- ``hinted``: the same, with the true language as the feed's hint (sv, en, zh, da, nb);
- ``langdetect``: plain langdetect alone (a seeded ``DetectorFactory``, no hint), for comparison.

Languages: sv, en, zh, and Danish and Bokmål as Swedish's confusable neighbours (a Danish
line called Swedish counts against Danish). Right answers: zh-Hans or zh-Hant for zh
(langdetect: zh-cn or zh-tw); ``no`` for nb (our code and langdetect's for Norwegian).

Sample: every 5th line of each file (lines 1, 6, 11, ...: 200 per 1,000-line file, 146 of
the 729 zh sentences), so the gate runs in about half a minute instead of two and a half;
the sample is fixed, so the figures are repeatable. Floors: tests/language_floors.json.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from langdetect.detector_factory import DetectorFactory
from langdetect.lang_detect_exception import LangDetectException

from monitor.language import LanguageDetector
from tests.conftest import require_shared

FLOORS = Path(__file__).with_name("language_floors.json")
SETS = ("sentences", "word-pairs")
LANGUAGES = ("sv", "en", "zh", "da", "nb")
MODES = ("ours", "hinted", "langdetect")
SAMPLE_EVERY = 5
OURS_RIGHT = {"zh": {"zh-Hans", "zh-Hant"}, "nb": {"no", "nb"}}
LANGDETECT_RIGHT = {"zh": {"zh-cn", "zh-tw"}, "nb": {"no"}}


@dataclass(frozen=True)
class Figures:
    lines: int
    accuracy: dict[str, float]  # mode -> share of lines identified as their language


def sample(path: Path) -> list[str]:
    lines = [line.strip() for line in path.read_text(encoding="utf-8").split("\n")]
    return [line for line in lines if line][::SAMPLE_EVERY]


def plain_langdetect() -> Callable[[str], str]:
    factory = DetectorFactory()
    factory.load_profile(str(resources.files("langdetect") / "profiles"))
    factory.set_seed(0)

    def detect(text: str) -> str:
        found = factory.create()
        found.append(text)
        try:
            return str(found.detect())
        except LangDetectException:
            return "und"

    return detect


@pytest.fixture(scope="module")
def figures() -> dict[tuple[str, str], Figures]:
    root = require_shared("peers", "lingua-testdata")
    detector = LanguageDetector(seed=0)
    langdetect = plain_langdetect()
    result: dict[tuple[str, str], Figures] = {}
    for name in SETS:
        for lang in LANGUAGES:
            lines = sample(root / name / f"{lang}.txt")
            ours_right = OURS_RIGHT.get(lang, {lang})
            right = {
                "ours": sum(detector.detect(line, "").code in ours_right for line in lines),
                "hinted": sum(detector.detect(line, "", hint=lang).code in ours_right for line in lines),
                "langdetect": sum(langdetect(line) in LANGDETECT_RIGHT.get(lang, {lang}) for line in lines),
            }
            result[name, lang] = Figures(len(lines), {mode: right[mode] / len(lines) for mode in MODES})
    return result


def table(figures: dict[tuple[str, str], Figures]) -> str:
    rows = [f"{'set':<11}{'lang':<6}{'lines':>6}" + "".join(f"{mode:>12}" for mode in MODES)]
    for (name, lang), fig in figures.items():
        rows.append(f"{name:<11}{lang:<6}{fig.lines:>6}" + "".join(f"{fig.accuracy[m]:>12.3f}" for m in MODES))
    return "\n".join(rows)


def floors() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FLOORS.read_text(encoding="utf-8"))
    return {key: value for key, value in data.items() if not key.startswith("_")}


def test_floor_file_names_every_set_language_and_mode() -> None:
    pinned = floors()
    assert sorted(pinned) == sorted(SETS)
    for name in SETS:
        assert sorted(pinned[name]) == sorted(LANGUAGES), name
        for lang in LANGUAGES:
            assert sorted(pinned[name][lang]) == sorted(MODES), (name, lang)
            assert all(0.0 <= float(v) <= 1.0 for v in pinned[name][lang].values())


def test_accuracy_meets_the_floors(figures: dict[tuple[str, str], Figures]) -> None:
    pinned = floors()
    problems = [
        f"{name} {lang} {mode}: {fig.accuracy[mode]:.3f} < floor {pinned[name][lang][mode]}"
        for (name, lang), fig in figures.items()
        for mode in MODES
        if fig.accuracy[mode] < pinned[name][lang][mode]
    ]
    assert not problems, "\n".join(problems) + "\n\n" + table(figures)


def test_ours_is_no_worse_than_plain_langdetect(figures: dict[tuple[str, str], Figures]) -> None:
    # One line in a sample of 200 is 0.005: allow that much noise, not a real loss.
    worse = [key for key, fig in figures.items() if fig.accuracy["ours"] < fig.accuracy["langdetect"] - 0.005]
    assert not worse, f"worse than langdetect alone: {worse}\n\n{table(figures)}"


def test_the_true_hint_never_hurts(figures: dict[tuple[str, str], Figures]) -> None:
    worse = [key for key, fig in figures.items() if fig.accuracy["hinted"] < fig.accuracy["ours"]]
    assert not worse, f"the hint made these worse: {worse}\n\n{table(figures)}"
