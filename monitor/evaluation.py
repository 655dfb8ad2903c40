"""Quality figures on a labelled set: watchlist precision/recall and language-ID accuracy.

The labelled file is JSON Lines with at least ``id``, ``lang`` (en, sv, zh-Hans, zh-Hant
or other), ``label`` (yes, mention, no), ``title`` and ``text``; ``outlet`` is shown when
present. Per labelled language: precision and recall of "flagged" on ``yes`` (``mention``
rows count neither for nor against, so they are left out of both), and the share of rows
whose language was identified as labelled (``other`` is right when the detector says
anything but en, sv, zh-Hans, zh-Hant).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from monitor.errors import ConfigError, LabelledSetError
from monitor.language import LanguageDetector
from monitor.models import Hit
from monitor.watchlists import match
from monitor.watchrules import Watchlist

__all__ = [
    "LANGUAGES",
    "EvalItem",
    "EvalReport",
    "LanguageFigures",
    "check_floors",
    "evaluate",
    "figures_of",
    "format_report",
    "read_jsonl",
]

LANGUAGES = ("en", "sv", "zh-Hans", "zh-Hant", "other")
LABELS = ("yes", "mention", "no")
METRICS = ("precision", "recall", "lang_accuracy")
_NAMED = frozenset(LANGUAGES[:-1])


@dataclass(frozen=True, slots=True)
class EvalItem:
    """One labelled article and what the pipeline made of it."""

    id: str
    lang: str  # labelled
    label: str
    title: str
    outlet: str
    detected: str  # language code from the detector
    flagged: bool  # an alert for some watchlist
    score: float
    hits: tuple[Hit, ...]
    reasons: tuple[str, ...]
    mentioned: bool = False  # no alert, but a mention for some watchlist
    open_score: float = 0.0  # the highest score of a watchlist that no `not` group vetoed

    @property
    def level(self) -> str:
        return "alert" if self.flagged else "mention" if self.mentioned else "none"

    @property
    def lang_ok(self) -> bool:
        if self.lang == "other":
            return self.detected not in _NAMED
        return self.detected == self.lang


@dataclass(frozen=True, slots=True)
class LanguageFigures:
    language: str
    rows: int
    yes: int
    mention: int
    true_pos: int
    false_pos: int  # flagged "no"
    false_neg: int  # "yes" not flagged
    lang_correct: int
    yes_mentioned: int = 0  # "yes" rows that reach only the mention level
    mention_alert: int = 0  # "mention" rows that reach the alert level
    mention_mentioned: int = 0  # ... only the mention level
    no_mentioned: int = 0  # "no" rows that reach the mention level (those at alert are false_pos)

    @property
    def recall_at_mention(self) -> float | None:
        """The share of ``yes`` rows in the digest at all (alert or mention)."""
        return (self.true_pos + self.yes_mentioned) / self.yes if self.yes else None

    @property
    def precision(self) -> float | None:
        """None when nothing (excluding mentions) was flagged."""
        flagged = self.true_pos + self.false_pos
        return self.true_pos / flagged if flagged else None

    @property
    def recall(self) -> float | None:
        """None when there is no ``yes`` row."""
        return self.true_pos / self.yes if self.yes else None

    @property
    def lang_accuracy(self) -> float | None:
        return self.lang_correct / self.rows if self.rows else None

    def metric(self, name: str) -> float | None:
        values = {"precision": self.precision, "recall": self.recall, "lang_accuracy": self.lang_accuracy}
        return values[name]


@dataclass(frozen=True, slots=True)
class EvalReport:
    path: str
    items: tuple[EvalItem, ...]
    languages: tuple[LanguageFigures, ...]  # in LANGUAGES order, only those present
    overall: LanguageFigures

    def figures(self, language: str) -> LanguageFigures | None:
        return next((f for f in self.languages if f.language == language), None)

    @property
    def misses(self) -> tuple[EvalItem, ...]:
        return tuple(i for i in self.items if i.label == "yes" and not i.flagged)

    @property
    def false_flags(self) -> tuple[EvalItem, ...]:
        return tuple(i for i in self.items if i.label == "no" and i.flagged)

    @property
    def language_errors(self) -> tuple[EvalItem, ...]:
        return tuple(i for i in self.items if not i.lang_ok)


def read_jsonl(path: Path, required: tuple[str, ...] = ("id",),
               check: Callable[[dict[str, object]], str | None] | None = None) -> list[dict[str, object]]:
    """The objects of a JSON Lines file, each with string ``required`` fields (and passing ``check``,
    which returns what is wrong or None); a bad line raises :class:`LabelledSetError` naming file:line."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise LabelledSetError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    rows: list[dict[str, object]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LabelledSetError(f"{path}:{number}: not valid JSON: {exc.msg}") from exc
        if not isinstance(row, dict):
            raise LabelledSetError(f"{path}:{number}: expected a JSON object")
        for key in required:
            if not isinstance(row.get(key), str):
                raise LabelledSetError(f"{path}:{number}: missing or non-string {key!r}")
        problem = check(row) if check is not None else None
        if problem:
            raise LabelledSetError(f"{path}:{number}: {problem}")
        rows.append(row)
    return rows


def _read_rows(path: Path) -> list[dict[str, object]]:
    def label(row: dict[str, object]) -> str | None:
        return None if row["label"] in LABELS else f"label {row['label']!r} is not one of {', '.join(LABELS)}"

    return read_jsonl(path, ("id", "lang", "label"), label)


def _text(row: Mapping[str, object], key: str) -> str:
    value = row.get(key)
    return value if isinstance(value, str) else ""


def evaluate(path: Path, detector: LanguageDetector, watchlists: Sequence[Watchlist]) -> EvalReport:
    """Run language detection and the watchlists over every labelled row of ``path``.

    Raises ``OSError`` when the file cannot be read and ``ValueError`` (naming file:line)
    for a malformed row.
    """
    items: list[EvalItem] = []
    for row in _read_rows(path):
        title, text = _text(row, "title"), _text(row, "text")
        language = detector.detect(title, text)
        matches = match(watchlists, title, text, language.code)
        lang = str(row["lang"])
        items.append(
            EvalItem(
                id=str(row["id"]),
                lang=lang if lang in _NAMED else "other",
                label=str(row["label"]),
                title=title,
                outlet=_text(row, "outlet"),
                detected=language.code,
                flagged=any(m.flagged for m in matches),
                score=max((m.score for m in matches), default=0.0),
                hits=tuple(h for m in matches for h in m.hits),
                reasons=tuple(f"{m.watchlist}: {r}" for m in matches for r in m.reasons),
                mentioned=not any(m.flagged for m in matches) and any(m.mentioned for m in matches),
                open_score=max((m.score for m in matches if not any(r.startswith("not:") for r in m.reasons)),
                               default=0.0),
            )
        )
    languages = tuple(
        _figures(lang, [i for i in items if i.lang == lang]) for lang in LANGUAGES if any(i.lang == lang for i in items)
    )
    return EvalReport(str(path), tuple(items), languages, _figures("all", items))


def figures_of(language: str, items: Sequence[EvalItem]) -> LanguageFigures:
    """The figures of ``items`` (those of one language, or all) as :class:`LanguageFigures`."""
    return _figures(language, items)


def _figures(language: str, items: Sequence[EvalItem]) -> LanguageFigures:
    return LanguageFigures(
        language=language,
        rows=len(items),
        yes=sum(i.label == "yes" for i in items),
        mention=sum(i.label == "mention" for i in items),
        true_pos=sum(i.label == "yes" and i.flagged for i in items),
        false_pos=sum(i.label == "no" and i.flagged for i in items),
        false_neg=sum(i.label == "yes" and not i.flagged for i in items),
        lang_correct=sum(i.lang_ok for i in items),
        yes_mentioned=sum(i.label == "yes" and i.mentioned for i in items),
        mention_alert=sum(i.label == "mention" and i.flagged for i in items),
        mention_mentioned=sum(i.label == "mention" and i.mentioned for i in items),
        no_mentioned=sum(i.label == "no" and i.mentioned for i in items),
    )


def check_floors(report: EvalReport, floors: Mapping[str, object]) -> list[str]:
    """Every figure below its floor, as a message; empty when all hold.

    ``floors`` maps a language (en, sv, zh-Hans, zh-Hant, other, or "all") to
    ``{"precision": x, "recall": x, "lang_accuracy": x}`` (any subset). A figure that is
    undefined (no ``yes`` rows, nothing flagged) does not violate its floor. Raises
    :class:`ConfigError` for an unknown language or metric or a non-numeric floor.
    """
    violations: list[str] = []
    for language, wanted in floors.items():
        if language.startswith("_"):
            continue  # comments
        if language not in LANGUAGES and language != "all":
            raise ConfigError(f"unknown language {language!r}", field=language, hint=", ".join(LANGUAGES))
        if not isinstance(wanted, Mapping):
            raise ConfigError("expected an object of metric -> floor", field=language)
        figures = report.overall if language == "all" else report.figures(language)
        for metric, floor in wanted.items():
            if metric not in METRICS:
                raise ConfigError(f"unknown metric {metric!r}", field=f"{language}.{metric}", hint=", ".join(METRICS))
            if isinstance(floor, bool) or not isinstance(floor, int | float):
                raise ConfigError(f"floor must be a number, got {floor!r}", field=f"{language}.{metric}")
            if figures is None:
                violations.append(f"{language}: no labelled rows, cannot check {metric} >= {floor}")
                continue
            value = figures.metric(metric)
            if value is not None and value < floor:
                violations.append(f"{language}: {metric} {value:.3f} < floor {floor}")
    return violations


def _pct(value: float | None) -> str:
    return "   n/a" if value is None else f"{value:6.3f}"


def _describe(item: EvalItem, max_hits: int = 6) -> list[str]:
    head = f"- [{item.lang}->{item.detected}] {item.id}"
    lines = [head, f"    title: {item.title[:120] or '(none)'}" + (f"  ({item.outlet})" if item.outlet else "")]
    lines += [f"    {reason}" for reason in item.reasons]
    for hit in item.hits[:max_hits]:
        lines.append(f"    hit {hit.term!r} in {hit.field}: {hit.snippet}")
    if len(item.hits) > max_hits:
        lines.append(f"    ... {len(item.hits) - max_hits} more hits")
    return lines


def format_report(report: EvalReport) -> str:
    """A plain-text report: figures per language, then misses, false flags, language errors."""
    lines = [
        f"Evaluation of {report.path} ({len(report.items)} rows)",
        "",
        f"{'language':<9} {'rows':>5} {'yes':>4} {'ment':>4} {'TP':>4} {'FP':>4} {'FN':>4}"
        f" {'precision':>9} {'recall':>7} {'lang-ID':>8}",
    ]
    for fig in (*report.languages, report.overall):
        lines.append(
            f"{fig.language:<9} {fig.rows:>5} {fig.yes:>4} {fig.mention:>4} {fig.true_pos:>4}"
            f" {fig.false_pos:>4} {fig.false_neg:>4} {_pct(fig.precision):>9} {_pct(fig.recall):>7}"
            f" {_pct(fig.lang_accuracy):>8}"
        )
    lines.append("(precision and recall at the alert level; mention rows are excluded from both)")
    lines += ["", "Rows at each level (alert = flagged; mention = the digest's \"also mentioned\"):",
              f"{'language':<9} {'yes:alert':>9} {'yes:ment':>8} {'ment:alert':>10} {'ment:ment':>9}"
              f" {'no:alert':>8} {'no:ment':>7} {'recall@ment':>11}"]
    for fig in (*report.languages, report.overall):
        lines.append(f"{fig.language:<9} {fig.true_pos:>9} {fig.yes_mentioned:>8} {fig.mention_alert:>10}"
                     f" {fig.mention_mentioned:>9} {fig.false_pos:>8} {fig.no_mentioned:>7}"
                     f" {_pct(fig.recall_at_mention):>11}")
    for heading, group in (
        ("Misses (labelled yes, not flagged)", report.misses),
        ("False flags (labelled no, flagged)", report.false_flags),
    ):
        lines += ["", f"{heading}: {len(group)}"]
        for item in group:
            lines += _describe(item)
    lines += ["", f"Language-ID errors: {len(report.language_errors)}"]
    for item in report.language_errors:
        lines.append(f"- labelled {item.lang}, detected {item.detected}: {item.id}  {item.title[:80]}")
    return "\n".join(lines) + "\n"
