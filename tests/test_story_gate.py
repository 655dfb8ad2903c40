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


def _write_set(tmp_path: Path, rows: list[dict[str, str]], story: str, members: list[str]) -> tuple[Path, Path]:
    """A labelled set and its clusters file (one story of ``members``), as JSON Lines."""
    labelled = tmp_path / "set.jsonl"
    labelled.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    clusters = tmp_path / "stories.jsonl"
    clusters.write_text("".join(json.dumps({"id": m, "story": story, "confidence": "sure"}) + "\n"
                                for m in members), encoding="utf-8")
    return labelled, clusters


def test_eval_stories_from_the_command_line(tmp_path: Path) -> None:
    rows = [
        {"id": "a", "lang": "en", "date": "2025-12-08", "title": "Three charged with smuggling Nvidia H100 chips",
         "text": "Prosecutor Nicholas Ganjei said Operation Gatekeeper found $160 million of H100 and H200 GPUs."},
        {"id": "b", "lang": "zh-Hant", "date": "2025-12-09", "title": "美國起訴走私輝達晶片",
         "text": "檢察官Nicholas Ganjei表示，Operation Gatekeeper查獲價值1.6億美元的H100與H200晶片。"},
        {"id": "c", "lang": "en", "date": "2025-12-08", "title": "Football results", "text": "Arsenal won 2-1."},
    ]
    labelled, clusters = _write_set(tmp_path, rows, "gatekeeper", ["a", "b"])
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


def _smuggling_set(tmp_path: Path) -> tuple[Path, Path]:
    """The English and a Chinese report of one event (they share only a sum of money), a Swedish
    article of another, and filler."""
    from tests.test_stories import SMC_EN, SMC_ZH

    rows = [
        {"id": "en", "lang": "en", "date": "2025-12-08", "title": SMC_EN[0], "text": SMC_EN[1]},
        {"id": "zh", "lang": "zh-Hans", "date": "2025-12-08", "title": SMC_ZH[0], "text": SMC_ZH[1]},
        {"id": "sv", "lang": "sv", "date": "2025-12-08", "title": "Regeringen skärper exportkontrollen",
         "text": "Regeringen skärper exportkontrollen av avancerade halvledare till Kina."},
        {"id": "f1", "lang": "en", "date": "2025-12-08", "title": "Football results", "text": "Arsenal won 2-1."},
        {"id": "f2", "lang": "en", "date": "2025-12-08", "title": "Markets", "text": "Shares of Volvo rose."},
    ]
    return _write_set(tmp_path, rows, "smc", ["en", "zh"])


def test_translations_join_the_evidence_of_a_labelled_set(tmp_path: Path) -> None:
    """Given the Chinese report's English (as a store with translations holds it), the pair that
    a sum of money alone cannot join is found, in the plain figures and the cross-validated ones."""
    from tests.test_stories import SMC_ZH_EN

    labelled, clusters = _smuggling_set(tmp_path)
    assert evaluate_stories(labelled, clusters).figure("all").correct == 0
    report = evaluate_stories(labelled, clusters, english={"zh": SMC_ZH_EN})
    assert report.figure("all").counts()[:3] == (1, 1, 1) and not report.wrong
    cv = cross_validate_stories(labelled, clusters, 2, english={"zh": SMC_ZH_EN})
    assert cv.learned.correct == 1


def test_eval_stories_translates_with_the_installed_models(tmp_path: Path) -> None:
    """`eval-stories --translate` loads the config's Argos packages (a tiny sv->en one here, its
    English noise) and translates the rows it has a model for, naming the languages it has none for."""
    from monitor.packages import install_package_file
    from tests import argos_tiny

    packages = tmp_path / "packages"
    install_package_file(argos_tiny.build_argosmodel(tmp_path / "built", "sv", "en"), packages)
    config = tmp_path / "feeds.yaml"
    config.write_text(f"translation:\n  packages_dir: {packages}\nfeeds: []\n", encoding="utf-8")
    labelled, clusters = _smuggling_set(tmp_path)
    done = subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "eval-stories", "--translate",
                           str(labelled), str(clusters)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "translated 1 article(s), titles; no model for zh-Hans", done.stdout
    assert "Story clustering over 5 articles" in done.stdout
