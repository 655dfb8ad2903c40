"""Token-level precision/recall of extract() against gold article text (shared corpus)."""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from monitor.decoding import decode_html
from monitor.errors import ExtractionError
from monitor.extraction import extract
from tests.conftest import shared_corpus

_TOKEN = re.compile(r"\w+", re.UNICODE)
# Chinese/Japanese/Korean have no spaces between words: each CJK character is a token, and runs of
# other word characters (Latin words, digits) are tokens as usual.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f"
_CJK_TOKEN = re.compile(rf"[{_CJK}]|(?:(?![{_CJK}])\w)+", re.UNICODE)


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    f1: float
    failed: int


def scrapinghub_pages(limit: int | None = None) -> list[tuple[str, bytes, str]]:
    root = shared_corpus() / "html" / "scrapinghub"
    truth = json.loads((root / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for key in sorted(truth)[:limit]:
        path = root / "html" / f"{key}.html.gz"
        if path.exists():
            pages.append((truth[key].get("url") or "", gzip.decompress(path.read_bytes()), truth[key]["articleBody"]))
    return pages


def cwced_pages() -> list[tuple[str, bytes, str]]:
    """The 69 Chinese pages of the Chinese Web Content Extraction Dataset with their hand-cleaned text."""
    root = shared_corpus() / "peers" / "cwced"
    pages = []
    for path in sorted((root / "original").glob("*.html")):
        gold = root / "cleaned" / f"{path.stem}.txt"
        if gold.exists():
            pages.append((f"https://cwced.invalid/{path.stem}", path.read_bytes(),
                          gold.read_bytes().decode("utf-8", "replace")))
    return pages


def _tokens(text: str) -> Counter[str]:
    return Counter(t.lower() for t in _TOKEN.findall(text))


def cjk_tokens(text: str) -> Counter[str]:
    """Tokens for Chinese text: one per CJK character, plus Latin/digit words (lower-cased)."""
    return Counter(t.lower() for t in _CJK_TOKEN.findall(text))


def evaluate_extraction(pages: list[tuple[str, bytes, str]],
                        tokens: Callable[[str], Counter[str]] = _tokens) -> Scores:
    precisions, recalls, f1s, failed = [], [], [], 0
    for url, body, gold in pages:
        try:
            text = extract(decode_html(body), url).text
        except ExtractionError:
            text, failed = "", failed + 1
        got, want = tokens(text), tokens(gold)
        common = sum((got & want).values())
        p = common / max(sum(got.values()), 1)
        r = common / max(sum(want.values()), 1)
        precisions.append(p)
        recalls.append(r)
        f1s.append(2 * p * r / (p + r) if p + r else 0.0)
    n = max(len(pages), 1)
    return Scores(sum(precisions) / n, sum(recalls) / n, sum(f1s) / n, failed)


