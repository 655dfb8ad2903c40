"""Translation throughput: monitor.translation.Translator vs argostranslate's own path.

No real Argos model can be downloaded here, so this builds random-weight packages of
the real size (tests/argos_tiny.py REAL: 6+6 layers, d_model 512, 8 heads, FFN 2048,
int8, a 32k SentencePiece vocabulary trained at run time on corpus text not used
as benchmark input). A random model never emits </s> on its own; this one is wired
(ModelSize.output_tokens) to emit it with certainty after 32 tokens, about the mean
input length of the benchmark sentences, so greedy and beam search stop where a
trained model's would. Compute per token is that of a real model; wording is nonsense.

Inputs: sv, zh-Hans and zh-Hant articles from /work/shared/corpus/labelled/dev.jsonl,
read at run time.

"naive" is argostranslate 1.11 as shipped, one article at a time: the real
``argostranslate.translate.PackageTranslation.hypotheses`` loop (paragraph by
paragraph, ``apply_packaged_translation`` with argostranslate.settings defaults:
beam_size 4, max_batch_size 32 tokens, inter_threads 1, intra_threads 0, compute
type auto). One change: its sentence splitter (MiniSBD) downloads a model at run
time and fails offline, so it gets monitor.sentences instead. Traditional Chinese
goes in as is (argostranslate does not convert it).

Usage: .venv/bin/python bench/bench_translation.py [--articles 30] [--naive-seconds 60]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.packages import argos_code, install_package_file  # noqa: E402
from monitor.sentences import split_sentences  # noqa: E402
from monitor.translation import MemoryTranslationCache, Translator  # noqa: E402
from tests import argos_tiny  # noqa: E402

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
DEV = CORPUS / "labelled" / "dev.jsonl"


@dataclasses.dataclass(frozen=True)
class Article:
    id: str
    lang: str
    text: str


@dataclasses.dataclass(frozen=True)
class Result:
    label: str
    seconds: float
    sentences: int  # splitter sentences in the input (same count for every method)
    chars: int
    model_inputs: int | None = None

    def line(self) -> str:
        extra = f"  ({self.model_inputs} sent to model)" if self.model_inputs is not None else ""
        return (f"{self.label:<44} {self.seconds:7.1f} s {self.sentences / self.seconds:7.1f} sent/s "
                f"{self.chars / self.seconds:8.0f} chars/s{extra}")


def load_rows() -> list[dict[str, Any]]:
    with DEV.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def pick(rows: list[dict[str, Any]], n: int) -> list[Article]:
    """About half Swedish, a quarter each simplified and traditional Chinese, in file order."""
    quotas = {"sv": n - 2 * (n // 4), "zh-Hans": n // 4, "zh-Hant": n // 4}
    out: list[Article] = []
    for row in rows:
        lang, text = row.get("lang"), (row.get("text") or "").strip()
        if lang in quotas and quotas[lang] > 0 and len(text) > 200:
            quotas[lang] -= 1
            out.append(Article(str(row["id"]), lang, text))
    return out


def training_lines(rows: list[dict[str, Any]], langs: Sequence[str], exclude: set[str]) -> list[str]:
    lines: list[str] = []
    for row in rows:
        if row.get("lang") in langs and str(row["id"]) not in exclude:
            for line in f"{row.get('title') or ''}\n{row.get('text') or ''}".split("\n"):
                if len(line.strip()) > 5:
                    lines.append(line.strip())
    return lines


def count_sentences(texts: Sequence[str], lang: str) -> int:
    return sum(len(split_sentences(p, lang)) for t in texts for p in t.split("\n") if p.strip())


def build_packages(workdir: Path, rows: list[dict[str, Any]], exclude: set[str], size: argos_tiny.ModelSize) -> Path:
    packages = workdir / "packages"
    for src, langs in (("sv", ("sv", "en")), ("zh", ("zh-Hans", "en"))):
        t0 = time.perf_counter()
        path = argos_tiny.build_argosmodel(workdir / "built", src, "en", size=size,
                                           training_text=training_lines(rows, langs, exclude), seed=7)
        install_package_file(path, packages)
        print(f"built+installed {path.name} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f} s")
    return packages


def token_stats(packages: Path, articles: list[Article]) -> None:
    import sentencepiece as spm

    for pkg_dir in sorted(packages.iterdir()):
        sp = spm.SentencePieceProcessor(model_file=str(pkg_dir / "sentencepiece.model"))
        src = pkg_dir.name.split("-")[1].split("_")[0]
        sentences = [s for a in articles if argos_code(a.lang) == src for p in a.text.split("\n")
                     for s in split_sentences(p, a.lang)]
        tokens = [len(t) for t in sp.encode(sentences)]
        chars = sum(map(len, sentences))
        print(f"  {pkg_dir.name}: {sp.get_piece_size()} pieces; input sentences average "
              f"{sum(tokens) / len(tokens):.1f} tokens, {chars / sum(tokens):.1f} chars/token")


class OurSentencizer:
    """Stands in for argostranslate's MiniSBD sentencizer, which needs a download."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def split_sentences(self, text: str) -> list[str]:
        return split_sentences(text, self.lang)


def run_naive(packages: Path, articles: list[Article], budget_s: float) -> tuple[Result, list[Article]]:
    from argostranslate import settings
    from argostranslate.package import Package
    from argostranslate.translate import Language, PackageTranslation

    print(f"argostranslate defaults: beam_size={settings.beam_size} batch_size={settings.batch_size} (tokens) "
          f"inter_threads={settings.inter_threads} intra_threads={settings.intra_threads} "
          f"compute_type={settings.compute_type}")
    translations: dict[str, Any] = {}
    for pkg_dir in sorted(packages.iterdir()):
        pkg = Package(pkg_dir)
        pt = PackageTranslation(Language(pkg.from_code, pkg.from_name), Language("en", "English"), pkg)
        pt.sentencizer = OurSentencizer(pkg.from_code)
        pt.hypotheses("Hej.", num_hypotheses=1)  # load the model outside the timing
        translations[pkg.from_code] = pt
    done: list[Article] = []
    # interleave languages so the budget covers all three
    order = sorted(articles, key=lambda a: [x.id for x in articles if x.lang == a.lang].index(a.id))
    t0 = time.perf_counter()
    for article in order:
        translations[argos_code(article.lang)].hypotheses(article.text, num_hypotheses=1)
        done.append(article)
        if time.perf_counter() - t0 > budget_s:
            break
    seconds = time.perf_counter() - t0
    return Result("naive argostranslate, 1 article at a time", seconds, sum_sentences(done), sum_chars(done)), done


def sum_sentences(articles: Sequence[Article]) -> int:
    return sum(count_sentences([a.text], a.lang) for a in articles)


def sum_chars(articles: Sequence[Article]) -> int:
    return sum(len(a.text) for a in articles)


def run_ours(packages: Path, articles: list[Article], label: str, translator: Translator | None = None,
             repeat: int = 1, **options: Any) -> Result:
    """Best of ``repeat`` runs, each with a fresh Translator unless one is given."""
    best: Result | None = None
    for _ in range(repeat):
        current = translator or Translator(packages, **options)
        for lang in ("sv", "zh-Hans"):
            current.translate(["Hej."] if lang == "sv" else ["你好。"], lang)  # load models outside the timing
        before = current.calls
        t0 = time.perf_counter()
        for lang in ("sv", "zh-Hans", "zh-Hant"):  # the pipeline translates one language group per call
            texts = [a.text for a in articles if a.lang == lang]
            if texts:
                out = current.translate(texts, lang)
                assert len(out) == len(texts) and all(out)
        seconds = time.perf_counter() - t0
        result = Result(label, seconds, sum_sentences(articles), sum_chars(articles), current.calls - before)
        best = result if best is None or result.seconds < best.seconds else best
    assert best is not None
    return best


def t2s_report(rows: list[dict[str, Any]], vocab: int) -> None:
    """How much traditional-only text would a simplified-trained vocabulary miss?"""
    import opencc
    import sentencepiece as spm

    hant = [r["text"] for r in rows if r.get("lang") == "zh-Hant" and r.get("text")]
    hans_lines = training_lines(rows, ("zh-Hans",), set())
    convert = opencc.OpenCC("t2s").convert
    t0 = time.perf_counter()
    converted = [convert(t) for t in hant]
    seconds = time.perf_counter() - t0
    chars = sum(len(t) for t in hant)
    changed = sum(a != b for t, c in zip(hant, converted, strict=True) for a, b in zip(t, c, strict=True))
    sp = spm.SentencePieceProcessor(model_proto=argos_tiny.train_sentencepiece(hans_lines, vocab))
    unk = sp.unk_id()

    def unk_rate(texts: list[str]) -> float:
        ids: list[int] = [i for t in texts for i in sp.encode(t)]
        return sum(i == unk for i in ids) / len(ids)

    print(f"t2s on {len(hant)} zh-Hant articles ({chars} chars): {changed / chars:.1%} of characters change; "
          f"opencc {chars / seconds / 1e3:.0f}k chars/s")
    print(f"  <unk> tokens under a {sp.get_piece_size()}-piece vocabulary trained on zh-Hans text: "
          f"raw traditional {unk_rate(hant):.1%}, after t2s {unk_rate(converted):.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=30)
    parser.add_argument("--naive-seconds", type=float, default=60.0, help="time budget for the naive run")
    parser.add_argument("--vocab", type=int, default=argos_tiny.REAL.vocab_size)
    parser.add_argument("--tiny", action="store_true", help="tiny model (smoke test of this script)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/monitor-bench-translation"))
    args = parser.parse_args()

    rows = load_rows()
    articles = pick(rows, args.articles)
    base = argos_tiny.TINY if args.tiny else argos_tiny.REAL
    size = dataclasses.replace(base, vocab_size=4000 if args.tiny else args.vocab)
    print(f"model: {size}")
    mix = ", ".join(f"{lang}={sum(a.lang == lang for a in articles)}" for lang in ("sv", "zh-Hans", "zh-Hant"))
    print(f"articles: {len(articles)} ({mix}), {sum_sentences(articles)} sentences, {sum_chars(articles)} chars")
    packages = build_packages(args.workdir, rows, {a.id for a in articles}, size)
    token_stats(packages, articles)
    print(f"  every output is {size.output_tokens} tokens (see ModelSize.output_tokens)")

    naive, subset = run_naive(packages, articles, args.naive_seconds)
    sub_mix = ", ".join(f"{lang}={sum(a.lang == lang for a in subset)}" for lang in ("sv", "zh-Hans", "zh-Hant"))
    print(f"\nsubset measured with both methods: {len(subset)} articles ({sub_mix}), "
          f"{sum_sentences(subset)} sentences, {sum_chars(subset)} chars")
    print("(ours: best of 2 runs; this machine is shared, so single timings vary by up to 2x)")
    results = [
        naive,
        run_ours(packages, subset, "ours: beam 1, batch 64 (default)", repeat=2),
        run_ours(packages, subset, "ours: beam 1, batch 2048", repeat=2, batch_size=2048),
        run_ours(packages, subset, "ours: beam 4, batch 64", repeat=2, beam_size=4),
    ]
    for r in results:
        print(r.line())
    for r in results[1:]:
        print(f"  speed-up of '{r.label}' over naive: {naive.seconds / r.seconds:.1f}x")

    print(f"\nall {len(articles)} articles:")
    cache = MemoryTranslationCache()
    translator = Translator(packages, cache=cache)
    full = run_ours(packages, articles, "ours: beam 1, batch 64, empty cache", translator)
    again = run_ours(packages, articles, "ours: same articles again, warm cache", translator)
    print(full.line())
    print(again.line())
    print(f"  estimated naive time for all: {full.sentences / (naive.sentences / naive.seconds):.0f} s "
          f"vs ours {full.seconds:.0f} s")
    print()
    t2s_report(rows, 8000 if args.tiny else args.vocab)


if __name__ == "__main__":
    main()
