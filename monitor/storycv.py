"""`monitor eval-stories --folds K`: story figures for settings chosen on part of the labelled
set and judged on the rest.

The story stage's window and threshold were picked by looking at the dev clusters, so its figures
there overstate. Here every article is clustered once per candidate setting (:data:`GRID`); the
stories (whole, with their articles) and the articles in no story are dealt into K folds by a hash
of their key, so the same files give the same folds. For each fold the setting is chosen on the
pairs within the other folds (the most recall at precision >= :data:`PRECISION_GOAL`; when none
reaches it, the most precision) and judged on the pairs that touch the fold: those of its first
article (the smaller id) being in it, so every pair, a wrong merge across folds included, is judged
exactly once. The pooled held-out figures stand beside the shipped defaults on the same pairs.

Only the window and threshold are chosen per fold. The evidence rules (names, roundups, the
Chinese lead) were written after reading the whole dev set, so even these figures overstate what
a new set will show. Pure but for reading the files.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .stories import StorySettings
from .storyeval import Pairs, StorySets, cluster, pair_figures, read_story_sets

__all__ = ["GRID", "StoryCrossValidation", "cross_validate_stories", "format_story_cross_validation"]

PRECISION_GOAL = 0.9
GRID: tuple[tuple[float, float], ...] = tuple((w, t) for w in (3.0, 4.0, 5.0) for t in (0.2, 0.25, 0.3))


@dataclass(frozen=True, slots=True)
class StoryCrossValidation:
    folds: int
    chosen: tuple[tuple[float, float], ...]  # (window, threshold) chosen for each fold, on the others
    learned: Pairs  # the held-out figures, pooled over the folds
    shipped: Pairs  # the shipped defaults, on the same pairs


def story_folds(sets: StorySets, folds: int) -> dict[str, int]:
    """Article id -> fold: a story's articles share one; stories, then the articles in none, are
    dealt round the folds in the order of a hash of their key."""
    if folds < 2:
        raise ValueError("at least 2 folds")

    def digest(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    stories = sorted({story for story, _ in sets.gold.values()}, key=digest)
    fold_of_story = {story: n % folds for n, story in enumerate(stories)}
    alone = sorted((i for i in sets.ids if i not in sets.gold), key=digest)
    out = {i: (n + len(stories)) % folds for n, i in enumerate(alone)}
    out.update({i: fold_of_story[story] for i, (story, _) in sets.gold.items()})
    return out


def _goodness(figures: Pairs) -> tuple[bool, float, float]:
    precision, recall = figures.precision or 0.0, figures.recall or 0.0
    meets = precision >= PRECISION_GOAL
    return meets, recall if meets else precision, precision


def cross_validate_stories(labelled: Path, clusters: Path, folds: int = 5,
                           grid: Sequence[tuple[float, float]] = GRID,
                           english: Mapping[str, tuple[str, str]] | None = None) -> StoryCrossValidation:
    """``english``: rows' English translations (see :func:`~monitor.storyeval.translations_of`)."""
    sets = read_story_sets(labelled, clusters)
    fold_of = story_folds(sets, folds)
    predicted = {g: cluster(sets.rows, StorySettings(window=g[0], threshold=g[1]), english) for g in grid}
    shipped_predicted = cluster(sets.rows, StorySettings(), english)
    everyone = list(sets.gold)
    chosen: list[tuple[float, float]] = []
    learned, shipped = Pairs("k-fold", 0, 0, 0, 0, 0), Pairs("shipped", 0, 0, 0, 0, 0)
    for fold in range(folds):
        def training(pair: tuple[str, str], fold: int = fold) -> bool:
            return fold_of[pair[0]] != fold and fold_of[pair[1]] != fold  # nothing of the held-out fold

        def held_out(pair: tuple[str, str], fold: int = fold) -> bool:
            return fold_of[pair[0]] == fold

        best = max(grid, key=lambda g: _goodness(pair_figures("train", everyone, sets, predicted[g], training)))
        chosen.append(best)
        learned = learned + pair_figures("k-fold", everyone, sets, predicted[best], held_out)
        shipped = shipped + pair_figures("shipped", everyone, sets, shipped_predicted, held_out)
    return StoryCrossValidation(folds, tuple(chosen), learned, shipped)


def format_story_cross_validation(cv: StoryCrossValidation) -> str:
    lines = [f"Cross-validated over {cv.folds} folds of whole stories (window and threshold chosen on the other "
             f"folds: most recall at precision >= {PRECISION_GOAL}; the evidence rules were written on the whole "
             "set, so these overstate too):",
             "  " + ", ".join(f"fold {n + 1}: {w:g} days, {t:g}" for n, (w, t) in enumerate(cv.chosen)), "",
             Pairs.header(), cv.learned.row(), cv.shipped.row()]
    return "\n".join(lines) + "\n"
