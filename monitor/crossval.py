"""K-fold figures for what is tuned on the labelled set: the alert threshold.

The rules are written by hand, so their figures on the dev set are what they are; the one number
fitted to the labels is the threshold a score must reach to alert. ``cross_validate`` learns it on
K-1 folds (the lowest threshold with the best F1 on ``yes`` against ``no``; ``mention`` rows count
for neither) and applies it to the fold left out, so every row is judged by a threshold that never
saw it. The pooled held-out predictions give the k-fold figures, side by side with the shipped
threshold on the same rows. Folds are stratified by language and label and drawn from a hash of
each row's id: the same file gives the same folds. Pure.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace

from monitor.evaluation import LANGUAGES, EvalItem, LanguageFigures, figures_of

__all__ = ["CrossValidation", "assign_folds", "cross_validate", "format_cross_validation", "learn_threshold"]


@dataclass(frozen=True, slots=True)
class CrossValidation:
    folds: int
    thresholds: tuple[float, ...]  # learned on each training split, fold by fold
    learned: tuple[LanguageFigures, ...]  # pooled held-out figures per language, then "all"
    shipped: tuple[LanguageFigures, ...]  # the shipped threshold, the same rows


def assign_folds(items: Sequence[EvalItem], folds: int) -> list[int]:
    """The fold of each item: stratified by (language, label), ordered by a hash of the id."""
    if folds < 2:
        raise ValueError("at least 2 folds")
    out = [0] * len(items)
    strata: dict[tuple[str, str], list[int]] = {}
    for index, item in enumerate(items):
        strata.setdefault((item.lang, item.label), []).append(index)
    offset = 0
    for key in sorted(strata):
        ordered = sorted(strata[key], key=lambda i: hashlib.sha256(items[i].id.encode()).hexdigest())
        for position, index in enumerate(ordered):
            out[index] = (offset + position) % folds
        offset += len(ordered)  # strata start where the last ended: fold sizes stay even
    return out


def _f1(items: Sequence[EvalItem], threshold: float) -> float:
    tp = sum(i.label == "yes" and i.open_score >= threshold for i in items)
    fp = sum(i.label == "no" and i.open_score >= threshold for i in items)
    fn = sum(i.label == "yes" and i.open_score < threshold for i in items)
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def learn_threshold(items: Sequence[EvalItem], candidates: Sequence[float]) -> float:
    """The lowest candidate with the best F1 (yes against no) on ``items``."""
    return max(sorted(candidates), key=lambda t: (round(_f1(items, t), 9), -t))


def _at(item: EvalItem, threshold: float) -> EvalItem:
    alert = item.open_score >= threshold
    return replace(item, flagged=alert, mentioned=item.mentioned and not alert)


def cross_validate(items: Sequence[EvalItem], folds: int, candidates: Sequence[float] | None = None
                   ) -> CrossValidation:
    """Learn the alert threshold on K-1 folds, judge the fold left out; pooled figures."""
    grid = sorted(set(candidates) if candidates else {x / 2 for x in range(1, 21)})  # 0.5 .. 10
    fold_of = assign_folds(items, folds)
    judged: list[EvalItem | None] = [None] * len(items)
    learned: list[float] = []
    for k in range(folds):
        train = [i for i, f in zip(items, fold_of, strict=True) if f != k]
        threshold = learn_threshold(train, grid)
        learned.append(threshold)
        for index, f in enumerate(fold_of):
            if f == k:
                judged[index] = _at(items[index], threshold)
    pooled = [i for i in judged if i is not None]
    return CrossValidation(folds, tuple(learned), _by_language(pooled), _by_language(list(items)))


def _by_language(items: Sequence[EvalItem]) -> tuple[LanguageFigures, ...]:
    present = [lang for lang in LANGUAGES if any(i.lang == lang for i in items)]
    return (*(figures_of(lang, [i for i in items if i.lang == lang]) for lang in present), figures_of("all", items))


def _num(value: float | None) -> str:
    return "  n/a" if value is None else f"{value:.3f}"


def format_cross_validation(cv: CrossValidation) -> str:
    lines = [f"{cv.folds}-fold cross-validation of the alert threshold (learned per fold: "
             f"{', '.join(f'{t:g}' for t in cv.thresholds)})",
             f"{'language':<9} {'shipped P':>9} {'shipped R':>9} {'k-fold P':>9} {'k-fold R':>9}"]
    for shipped, learned in zip(cv.shipped, cv.learned, strict=True):
        lines.append(f"{shipped.language:<9} {_num(shipped.precision):>9} {_num(shipped.recall):>9}"
                     f" {_num(learned.precision):>9} {_num(learned.recall):>9}")
    lines.append("(k-fold: each row judged by a threshold learned without it; the rules themselves are not fitted)")
    return "\n".join(lines) + "\n"
