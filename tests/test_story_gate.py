"""Quality gate: story clustering on the hand-made clusters of the labelled dev set (read from
../shared at test time); fails when a pair figure drops below tests/story_floors.json."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.storycv import cross_validate_stories, story_folds
from monitor.storyeval import evaluate_stories, read_story_sets

FLOORS = Path(__file__).with_name("story_floors.json")
LABELLED = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "labelled"


def test_pair_figures_meet_the_floors() -> None:
    if not (LABELLED / "stories-dev.jsonl").is_file():
        pytest.skip("../shared/corpus/labelled not present: the story gate reads its clusters from there")
    report = evaluate_stories(LABELLED / "dev.jsonl", LABELLED / "stories-dev.jsonl")
    floors = json.loads(FLOORS.read_text(encoding="utf-8"))
    problems = []
    for name, wanted in floors.items():
        if name.startswith("_") or name == "k-fold":
            continue
        figures = report.figure(name)
        for metric, floor in wanted.items():
            value = getattr(figures, metric)
            if value is None or value < floor:
                problems.append(f"{name}: {metric} {value:.3f} < {floor}")
    assert not problems, problems


def test_cross_validated_figures_judge_every_pair_once_and_meet_the_floors() -> None:
    """Settings chosen on the other folds of whole stories, judged on each fold: the folds split
    the pairs (the shipped settings pooled over them give the full figures back) and the held-out
    figures meet their floors."""
    if not (LABELLED / "stories-dev.jsonl").is_file():
        pytest.skip("../shared/corpus/labelled not present: the story gate reads its clusters from there")
    sets = read_story_sets(LABELLED / "dev.jsonl", LABELLED / "stories-dev.jsonl")
    folds = story_folds(sets, 5)
    assert set(folds) == set(sets.ids) and set(folds.values()) == set(range(5))
    for story in {s for s, _ in sets.gold.values()}:
        assert len({folds[i] for i, (s, _) in sets.gold.items() if s == story}) == 1, story  # whole stories
    cv = cross_validate_stories(LABELLED / "dev.jsonl", LABELLED / "stories-dev.jsonl", 5)
    full = evaluate_stories(LABELLED / "dev.jsonl", LABELLED / "stories-dev.jsonl").figure("all")
    assert cv.shipped.counts() == full.counts() and len(cv.chosen) == 5
    wanted = json.loads(FLOORS.read_text(encoding="utf-8"))["k-fold"]
    for metric, floor in wanted.items():
        assert (getattr(cv.learned, metric) or 0.0) >= floor, (metric, cv.learned)


def test_eval_stories_from_the_command_line(tmp_path: Path) -> None:
    rows = [
        {"id": "a", "lang": "en", "date": "2025-12-08", "title": "Three charged with smuggling Nvidia H100 chips",
         "text": "Prosecutor Nicholas Ganjei said Operation Gatekeeper found $160 million of H100 and H200 GPUs."},
        {"id": "b", "lang": "zh-Hant", "date": "2025-12-09", "title": "美國起訴走私輝達晶片",
         "text": "檢察官Nicholas Ganjei表示，Operation Gatekeeper查獲價值1.6億美元的H100與H200晶片。"},
        {"id": "c", "lang": "en", "date": "2025-12-08", "title": "Football results", "text": "Arsenal won 2-1."},
    ]
    labelled = tmp_path / "set.jsonl"
    labelled.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    clusters = tmp_path / "stories.jsonl"
    clusters.write_text('{"id": "a", "story": "gatekeeper", "confidence": "sure"}\n'
                        '{"id": "b", "story": "gatekeeper", "confidence": "sure"}\n', encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "monitor", "eval-stories", str(labelled), str(clusters)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("all "))
    assert line.split()[1:7] == ["1", "1", "1", "1.000", "1.000", "1.000"]  # the cross-lingual pair, found
    assert "Wrong merges: 0" in done.stdout and "Missed pairs: 0" in done.stdout
    folded = subprocess.run([sys.executable, "-m", "monitor", "eval-stories", "--folds", "2", str(labelled),
                             str(clusters)], capture_output=True, text=True, timeout=60)
    assert folded.returncode == 0, folded.stderr
    assert "Cross-validated over 2 folds" in folded.stdout
    pooled = next(ln for ln in folded.stdout.splitlines() if ln.startswith("k-fold "))
    assert pooled.split()[1:4] == ["1", "1", "1"]  # the one story's pair, judged once, in its fold
