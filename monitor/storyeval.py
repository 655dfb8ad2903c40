"""`monitor eval-stories`: story clustering judged against hand-made clusters, pair by pair.

Every article of the labelled set is clustered in date order (undated ones last) by
:class:`~monitor.stories.StoryIndex`; a pair of articles is predicted together when they get one
story, and is together in truth when the clusters file gives them one story key (articles it does
not list are alone). Precision and recall over pairs, and recall on pairs across languages; with
and without the ``dup-`` stories (the same article captured twice) and the ``likely`` members.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import combinations
from pathlib import Path

from .errors import LabelledSetError
from .evaluation import read_jsonl
from .stories import StoryIndex, StorySettings
from .storyevidence import evidence

__all__ = ["StoryReport", "evaluate_stories", "format_story_report"]


@dataclass(frozen=True, slots=True)
class Pairs:
    name: str
    gold: int
    predicted: int
    correct: int
    cross_gold: int
    cross_correct: int

    @property
    def precision(self) -> float | None:
        return self.correct / self.predicted if self.predicted else None

    @property
    def recall(self) -> float | None:
        return self.correct / self.gold if self.gold else None

    @property
    def cross_recall(self) -> float | None:
        return self.cross_correct / self.cross_gold if self.cross_gold else None


@dataclass(frozen=True, slots=True)
class StoryReport:
    articles: int
    figures: tuple[Pairs, ...]  # all; without dup-; sure only
    wrong: tuple[tuple[str, str, str, str], ...]  # (id, title, id, title) merged but apart in truth
    missed: tuple[tuple[str, str, str, str, str], ...]  # (story, id, title, id, title) apart but together

    def figure(self, name: str) -> Pairs:
        return next(f for f in self.figures if f.name == name)


def _date(value: object) -> tuple[datetime | None, float]:
    """A row's date and how many days either side it may mean: a day (0), a month only (15), none."""
    if not isinstance(value, str) or not value.strip():
        return None, 0.0
    text = value.strip()
    if re.fullmatch(r"\d{4}-\d{2}", text):
        return datetime.fromisoformat(f"{text}-15").replace(tzinfo=UTC), 15.0
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None, 0.0
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)), 0.0


def cluster(rows: Sequence[dict[str, object]], settings: StorySettings) -> dict[str, int]:
    """Row id -> story, assigned in date order (undated rows last)."""
    index = StoryIndex(settings)
    earliest = datetime.min.replace(tzinfo=UTC)
    dated = sorted(rows, key=lambda r: (_date(r.get("date"))[0] is None, _date(r.get("date"))[0] or earliest,
                                        str(r["id"])))
    out: dict[str, int] = {}
    for number, row in enumerate(dated):
        title, text = str(row.get("title") or ""), str(row.get("text") or "")
        link = row.get("url")
        url = link if isinstance(link, str) else None
        when, fuzz = _date(row.get("date"))
        found = evidence(title, text, url, language=str(row.get("lang") or "und"))
        out[str(row["id"])] = index.add(number, when, found, fuzz=fuzz)
    return out


def evaluate_stories(labelled: Path, clusters: Path, settings: StorySettings | None = None) -> StoryReport:
    rows = read_jsonl(labelled)
    gold_rows = read_jsonl(clusters)
    known = {str(r["id"]) for r in rows}
    gold = {str(r["id"]): (str(r.get("story")), str(r.get("confidence", "sure"))) for r in gold_rows}
    unknown = sorted(set(gold) - known)
    if unknown:
        raise LabelledSetError(f"{clusters}: {len(unknown)} id(s) not in {labelled}, e.g. {unknown[0]}")
    predicted = cluster(rows, settings or StorySettings())
    lang = {str(r["id"]): str(r.get("lang", "")) for r in rows}
    title = {str(r["id"]): str(r.get("title") or "")[:90] for r in rows}

    def figures(name: str, keep: Iterable[str]) -> Pairs:
        kept = set(keep)
        truth = {frozenset(p) for p in combinations(sorted(kept), 2) if gold[p[0]][0] == gold[p[1]][0]}
        ids = [i for i in known if i not in gold or i in kept]
        by_story: dict[int, list[str]] = {}
        for i in ids:
            by_story.setdefault(predicted[i], []).append(i)
        guess = {frozenset(p) for members in by_story.values() for p in combinations(sorted(members), 2)}
        cross = {p for p in truth if len({lang[i] for i in p}) == 2}
        return Pairs(name, len(truth), len(guess), len(truth & guess), len(cross), len(cross & guess))

    everyone = list(gold)
    no_dup = [i for i in everyone if not gold[i][0].startswith("dup-")]
    sure = [i for i in everyone if gold[i][1] == "sure"]
    report_figures = (figures("all", everyone), figures("without dup-", no_dup), figures("sure only", sure))
    by_story: dict[int, list[str]] = {}
    for i in known:
        by_story.setdefault(predicted[i], []).append(i)
    wrong = []
    for members in by_story.values():
        for a, b in combinations(sorted(members), 2):
            if a not in gold or b not in gold or gold[a][0] != gold[b][0]:
                wrong.append((a, title[a], b, title[b]))
    missed = []
    for a, b in combinations(sorted(gold), 2):
        if gold[a][0] == gold[b][0] and predicted[a] != predicted[b]:
            missed.append((gold[a][0], a, title[a], b, title[b]))
    return StoryReport(len(rows), report_figures, tuple(wrong), tuple(missed))


def _num(value: float | None) -> str:
    return "  n/a" if value is None else f"{value:.3f}"


def format_story_report(report: StoryReport) -> str:
    lines = [f"Story clustering over {report.articles} articles (pairs of articles)", "",
             f"{'set':<14} {'gold':>5} {'pred':>5} {'right':>5} {'precision':>9} {'recall':>7} {'cross-lingual R':>15}"]
    for f in report.figures:
        lines.append(f"{f.name:<14} {f.gold:>5} {f.predicted:>5} {f.correct:>5} {_num(f.precision):>9}"
                     f" {_num(f.recall):>7} {_num(f.cross_recall):>15}")
    lines += ["", f"Wrong merges: {len(report.wrong)}"]
    lines += [f"- {a}  {ta}\n  {b}  {tb}" for a, ta, b, tb in report.wrong]
    lines += ["", f"Missed pairs: {len(report.missed)}"]
    lines += [f"- [{story}] {a}  {ta}\n  {b}  {tb}" for story, a, ta, b, tb in report.missed]
    return "\n".join(lines) + "\n"
