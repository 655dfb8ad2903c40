"""Quality gate: extraction on real pages with gold text must not drop below the pinned floors."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import require_shared
from tests.extraction_gate import evaluate_extraction, scrapinghub_pages


def test_extraction_meets_the_floors_on_real_pages() -> None:
    require_shared("html", "scrapinghub", "ground-truth.json")
    floors = json.loads((Path(__file__).parent / "extraction_floors.json").read_text())
    scores = evaluate_extraction(scrapinghub_pages())
    assert scores.failed == 0
    for name in ("precision", "recall", "f1"):
        assert getattr(scores, name) >= floors[name], f"{name} {getattr(scores, name):.3f} < floor {floors[name]}"
