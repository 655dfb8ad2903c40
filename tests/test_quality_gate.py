"""Quality gate: language ID and the default watchlist on the labelled dev set.

Reads ../shared/corpus/labelled/dev.jsonl (or $MONITOR_SHARED/corpus/labelled) at test
time and fails when a figure drops below tests/quality_floors.json.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from monitor.errors import ConfigError, LabelledSetError
from monitor.evaluation import EvalReport, check_floors, evaluate, format_report
from monitor.language import LanguageDetector
from monitor.watchrules import default_watchlists

FLOORS = Path(__file__).with_name("quality_floors.json")


def labelled_dev() -> Path:
    shared = Path(os.environ["MONITOR_SHARED"]) if os.environ.get("MONITOR_SHARED") else None
    base = shared or Path(__file__).resolve().parents[1].parent / "shared"
    path = base / "corpus" / "labelled" / "dev.jsonl"
    if not path.is_file():
        pytest.skip("../shared/corpus/labelled not present: the quality gate reads the labelled dev set from there")
    return path


@pytest.fixture(scope="module")
def report() -> EvalReport:
    return evaluate(labelled_dev(), LanguageDetector(seed=0), default_watchlists())


def test_figures_meet_the_floors(report: EvalReport) -> None:
    floors = json.loads(FLOORS.read_text(encoding="utf-8"))
    problems = check_floors(report, floors)
    assert not problems, "\n".join(problems) + "\n\n" + format_report(report)


def test_every_labelled_language_is_measured(report: EvalReport) -> None:
    assert [f.language for f in report.languages] == ["en", "sv", "zh-Hans", "zh-Hant", "other"]
    assert sum(f.rows for f in report.languages) == len(report.items) == report.overall.rows
    for fig in report.languages[:-1]:
        assert fig.yes > 0 and fig.precision is not None and fig.recall is not None


def test_mentions_count_neither_for_nor_against(report: EvalReport) -> None:
    for fig in (*report.languages, report.overall):
        items = [i for i in report.items if fig.language in ("all", i.lang)]
        assert fig.true_pos + fig.false_neg == fig.yes
        assert fig.false_pos == sum(i.label == "no" and i.flagged for i in items)
        assert fig.mention == sum(i.label == "mention" for i in items)


def test_report_lists_misses_and_false_flags_with_their_hits(report: EvalReport) -> None:
    text = format_report(report)
    for lang in ("en", "sv", "zh-Hans", "zh-Hant"):
        assert any(line.startswith(f"{lang} ") for line in text.splitlines())
    assert f"Misses (labelled yes, not flagged): {len(report.misses)}" in text
    assert f"False flags (labelled no, flagged): {len(report.false_flags)}" in text
    for item in report.misses + report.false_flags:
        assert item.id in text
        for hit in item.hits[:3]:
            assert hit.snippet in text


def test_check_floors_reports_figures_below_the_floor(report: EvalReport) -> None:
    en = report.figures("en")
    assert en is not None and en.recall is not None
    problems = check_floors(report, {"en": {"recall": en.recall + 0.001, "precision": 0.0}})
    assert len(problems) == 1 and problems[0].startswith("en: recall")
    assert check_floors(report, {"sv": {"lang_accuracy": 0.0}}) == []
    with pytest.raises(ConfigError):
        check_floors(report, {"fr": {"recall": 0.5}})
    with pytest.raises(ConfigError):
        check_floors(report, {"en": {"recal": 0.5}})


def test_bad_rows_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a", "lang": "en", "label": "yes", "title": "", "text": ""}\n{not json}\n')
    with pytest.raises(LabelledSetError, match=rf"{path}:2"):
        evaluate(path, LanguageDetector(), default_watchlists())
    path.write_text('{"id": "a", "lang": "en", "label": "maybe", "title": "", "text": ""}\n')
    with pytest.raises(LabelledSetError, match=rf"{path}:1: label 'maybe'"):
        evaluate(path, LanguageDetector(), default_watchlists())
