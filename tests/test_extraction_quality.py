"""Quality gate: extraction on real pages with gold text must not drop below the pinned floors."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import require_shared
from tests.support.extraction_gate import cjk_tokens, cwced_pages, evaluate_extraction, scrapinghub_pages


def test_extraction_meets_the_floors_on_real_pages() -> None:
    require_shared("html", "scrapinghub", "ground-truth.json")
    floors = json.loads((Path(__file__).parent / "extraction_floors.json").read_text())
    scores = evaluate_extraction(scrapinghub_pages())
    assert scores.failed == 0
    for name in ("precision", "recall", "f1"):
        assert getattr(scores, name) >= floors[name], f"{name} {getattr(scores, name):.3f} < floor {floors[name]}"


def test_chinese_extraction_meets_the_floors_on_cwced() -> None:
    require_shared("peers", "cwced", "original")
    floors = json.loads((Path(__file__).parent / "extraction_floors_cwced.json").read_text())
    pages = cwced_pages()
    assert len(pages) == 69
    scores = evaluate_extraction(pages, cjk_tokens)
    print(f"cwced: precision {scores.precision:.3f} recall {scores.recall:.3f} f1 {scores.f1:.3f} "
          f"failed {scores.failed}")
    assert scores.failed <= floors["max_failed"]
    for name in ("precision", "recall", "f1"):
        assert getattr(scores, name) >= floors[name], f"{name} {getattr(scores, name):.3f} < floor {floors[name]}"
