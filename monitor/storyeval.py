"""`monitor eval-stories`: story clustering judged against hand-made clusters, pair by pair.

Every article of the labelled set is clustered in date order (undated ones last) by
:class:`~monitor.stories.StoryIndex`; a pair of articles is predicted together when they get one
story, and is together in truth when the clusters file gives them one story key (articles it does
not list are alone). Precision and recall over pairs, and recall on pairs across languages; with
and without the ``dup-`` stories (the same article captured twice) and the ``likely`` members.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import combinations
from pathlib import Path

from .errors import LabelledSetError
from .evaluation import read_jsonl
from .stories import StoryIndex, StorySettings
from .storyevidence import LEAD_CHARS, evidence
from .translation import Translator

__all__ = ["Pairs", "StoryReport", "StorySets", "cluster", "evaluate_stories", "format_story_report", "pair_figures",
           "read_story_sets", "translations_of"]


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

    def counts(self) -> tuple[int, int, int, int, int]:
        return self.gold, self.predicted, self.correct, self.cross_gold, self.cross_correct

    def __add__(self, other: Pairs) -> Pairs:
        return Pairs(self.name, *(a + b for a, b in zip(self.counts(), other.counts(), strict=True)))

    @staticmethod
    def header() -> str:
        return (f"{'set':<14} {'gold':>5} {'pred':>5} {'right':>5} {'precision':>9} {'recall':>7}"
                f" {'cross-lingual R':>15}")

    def row(self) -> str:
        return (f"{self.name:<14} {self.gold:>5} {self.predicted:>5} {self.correct:>5} {_num(self.precision):>9}"
                f" {_num(self.recall):>7} {_num(self.cross_recall):>15}")


@dataclass(frozen=True, slots=True)
class StorySets:
    """A labelled set and its hand-made clusters, read."""

    rows: tuple[dict[str, object], ...]
    gold: Mapping[str, tuple[str, str]]  # id -> (story key, confidence), for the articles in a story
    lang: Mapping[str, str] = field(default_factory=dict)
    title: Mapping[str, str] = field(default_factory=dict)

    @property
    def ids(self) -> list[str]:
        return [str(r["id"]) for r in self.rows]


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


def cluster(rows: Sequence[dict[str, object]], settings: StorySettings,
            english: Mapping[str, tuple[str, str]] | None = None) -> dict[str, int]:
    """Row id -> story, assigned in date order (undated rows last); ``english`` (row id ->
    translated title and lead) joins the evidence as the stored translations do in the stage."""
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
        found = evidence(title, text, url, language=str(row.get("lang") or "und"),
                         english=(english or {}).get(str(row["id"])))
        out[str(row["id"])] = index.add(number, when, found, fuzz=fuzz)
    return out


def read_story_sets(labelled: Path, clusters: Path) -> StorySets:
    rows = read_jsonl(labelled)
    known = {str(r["id"]) for r in rows}
    gold = {str(r["id"]): (str(r.get("story")), str(r.get("confidence", "sure"))) for r in read_jsonl(clusters)}
    unknown = sorted(set(gold) - known)
    if unknown:
        raise LabelledSetError(f"{clusters}: {len(unknown)} id(s) not in {labelled}, e.g. {unknown[0]}")
    return StorySets(tuple(rows), gold, {str(r["id"]): str(r.get("lang", "")) for r in rows},
                     {str(r["id"]): str(r.get("title") or "")[:90] for r in rows})


def pair_figures(name: str, keep: Iterable[str], sets: StorySets, predicted: Mapping[str, int],
                 counted: Callable[[tuple[str, str]], bool] = lambda pair: True) -> Pairs:
    """Pair figures over the articles in no story and the story members in ``keep``; only the
    pairs (sorted ids) that ``counted`` accepts are counted."""
    kept = set(keep)
    gold = sets.gold
    truth = {p for p in combinations(sorted(kept), 2) if gold[p[0]][0] == gold[p[1]][0] and counted(p)}
    by_story: dict[int, list[str]] = {}
    for i in sets.ids:
        if i not in gold or i in kept:
            by_story.setdefault(predicted[i], []).append(i)
    guess = {p for members in by_story.values() for p in combinations(sorted(members), 2) if counted(p)}
    cross = {p for p in truth if sets.lang[p[0]] != sets.lang[p[1]]}
    return Pairs(name, len(truth), len(guess), len(truth & guess), len(cross), len(cross & guess))


def translations_of(rows: Sequence[dict[str, object]], translator: Translator, *, leads: bool = False
                    ) -> tuple[dict[str, tuple[str, str]], tuple[str, ...]]:
    """The English of every non-English row's title, and with ``leads`` of its lead (what the
    story stage reads), by the installed models: a store holds the titles' English of every
    article, a body's only for flagged articles or with ``translation.translate_all``. And the
    languages with no model."""
    by_language: dict[str, list[dict[str, object]]] = {}
    for row in rows:
        language = str(row.get("lang") or "und")
        if language not in ("en", "und"):
            by_language.setdefault(language, []).append(row)
    out: dict[str, tuple[str, str]] = {}
    missing = []
    for language, group in sorted(by_language.items()):
        if not translator.can_translate(language):
            missing.append(language)
            continue
        texts = [part for r in group
                 for part in (str(r.get("title") or ""), str(r.get("text") or "")[:LEAD_CHARS] if leads else "")]
        done = translator.translate(texts, language)
        out.update((str(r["id"]), (done[2 * i], done[2 * i + 1])) for i, r in enumerate(group))
    return out, tuple(missing)


def evaluate_stories(labelled: Path, clusters: Path, settings: StorySettings | None = None,
                     english: Mapping[str, tuple[str, str]] | None = None) -> StoryReport:
    sets = read_story_sets(labelled, clusters)
    gold, title = sets.gold, sets.title
    predicted = cluster(sets.rows, settings or StorySettings(), english)
    everyone = list(gold)
    no_dup = [i for i in everyone if not gold[i][0].startswith("dup-")]
    sure = [i for i in everyone if gold[i][1] == "sure"]
    report_figures = (pair_figures("all", everyone, sets, predicted),
                      pair_figures("without dup-", no_dup, sets, predicted),
                      pair_figures("sure only", sure, sets, predicted))
    by_story: dict[int, list[str]] = {}
    for i in sets.ids:
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
    return StoryReport(len(sets.rows), report_figures, tuple(wrong), tuple(missed))


def _num(value: float | None) -> str:
    return "  n/a" if value is None else f"{value:.3f}"


def format_story_report(report: StoryReport) -> str:
    lines = [f"Story clustering over {report.articles} articles (pairs of articles)", "", Pairs.header()]
    lines += [f.row() for f in report.figures]
    lines += ["", f"Wrong merges: {len(report.wrong)}"]
    lines += [f"- {a}  {ta}\n  {b}  {tb}" for a, ta, b, tb in report.wrong]
    lines += ["", f"Missed pairs: {len(report.missed)}"]
    lines += [f"- [{story}] {a}  {ta}\n  {b}  {tb}" for story, a, ta, b, tb in report.missed]
    return "\n".join(lines) + "\n"
