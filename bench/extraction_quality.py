"""Extraction quality on real pages with gold text (scrapinghub's article-extraction benchmark):
token precision / recall / F1 of monitor.extraction against the ground truth, for a few settings.

    .venv/bin/python bench/extraction_quality.py [--limit N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.extraction_gate import evaluate_extraction, scrapinghub_pages  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args()
    pages = scrapinghub_pages(limit=args.limit)
    scores = evaluate_extraction(pages)
    print(f"{len(pages)} pages: precision {scores.precision:.3f}  recall {scores.recall:.3f}  F1 {scores.f1:.3f}  "
          f"(mean per page; {scores.failed} pages gave no text)")


if __name__ == "__main__":
    main()
