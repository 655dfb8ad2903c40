"""k-fold figures of the learned alert threshold, and `monitor eval --folds K` as users run it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.crossval import assign_folds, cross_validate, learn_threshold
from monitor.evaluation import EvalItem


def item(i: int, label: str, score: float, lang: str = "en") -> EvalItem:
    return EvalItem(id=f"r{i}", lang=lang, label=label, title="", outlet="", detected=lang,
                    flagged=score >= 2, score=score, hits=(), reasons=(), open_score=score)


def test_folds_are_stratified_even_and_repeatable() -> None:
    items = [item(i, "yes" if i % 3 == 0 else "no", 1.0, "en" if i % 2 else "sv") for i in range(60)]
    folds = assign_folds(items, 5)
    assert folds == assign_folds(items, 5)
    for k in range(5):
        members = [x for x, f in zip(items, folds, strict=True) if f == k]
        assert len(members) == 12
        assert sum(m.label == "yes" for m in members) == 4
    with pytest.raises(ValueError):
        assign_folds(items, 1)


def test_threshold_is_learned_without_the_rows_it_judges() -> None:
    assert learn_threshold([item(1, "yes", 3), item(2, "no", 1), item(3, "yes", 2.5)], [1, 2, 3]) == 2
    # yes rows score 3, no rows 1: any threshold in (1, 3] is perfect; the lowest is learned
    items = [item(i, "yes", 3.0) for i in range(10)] + [item(10 + i, "no", 1.0) for i in range(10)]
    cv = cross_validate(items, 5, candidates=[1, 1.5, 2, 3, 4])
    assert cv.thresholds == (1.5,) * 5
    overall = cv.learned[-1]
    assert (overall.precision, overall.recall) == (1.0, 1.0)
    # one "yes" row far below the others: the folds that train on it learn nothing from it, and it
    # stays missed when judged (its own fold never saw it)
    odd = [*items, item(99, "yes", 0.5)]
    cv = cross_validate(odd, 3, candidates=[0.5, 1.5, 3])
    assert cv.learned[-1].false_neg == 1 and cv.shipped[-1].false_neg == 1


def test_eval_folds_from_the_command_line(tmp_path: Path) -> None:
    rows = [{"id": f"y{i}", "lang": "en", "label": "yes", "title": f"US tightens export controls on chips {i}",
             "text": "The Commerce Department restricts sales of Nvidia chips to China."} for i in range(6)]
    rows += [{"id": f"n{i}", "lang": "en", "label": "no", "title": f"Football results {i}", "text": "A match."}
             for i in range(6)]
    rows += [{"id": "m1", "lang": "en", "label": "mention", "title": "Quarterly results",
              "text": "Shares fell later as US restrictions weighed on chip stocks."}]
    labelled = tmp_path / "set.jsonl"
    labelled.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "monitor", "--config", str(tmp_path / "none.yaml"), "eval",
                           str(labelled), "--folds", "3"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "3-fold cross-validation of the alert threshold" in out
    assert "Rows at each level" in out
    line = next(ln for ln in out.splitlines() if ln.startswith("en ") and "." in ln and len(ln.split()) == 8)
    assert line.split()[1:4] == ["6", "0", "0"]  # yes:alert, yes:mention, mention:alert
    assert line.split()[4] == "1"  # the mention row reaches the mention level only
