"""The two seed articles as (title, text) pairs, for language and watchlist tests."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import DATA, shared_corpus

SV_SEED = "000_007c8cc8a336648e.txt"
ZH_SEED = "004_7be077216a394de0.txt"


def seed_path(name: str) -> Path:
    for folder in (DATA / "seeds", shared_corpus() / "seeds"):
        if (folder / name).is_file():
            return folder / name
    pytest.skip(f"seed {name} not present in tests/data/seeds or ../shared/corpus/seeds")


def sv_seed() -> tuple[str, str]:
    """(title, text) of the Dagens PS seed: line 3 is the headline."""
    lines = seed_path(SV_SEED).read_text(encoding="utf-8").splitlines()
    return lines[2], "\n".join(lines[3:])


def zh_seed() -> tuple[str, str]:
    """(title, text) of the DW seed: `[title](url)`, then an HTML body (tags stripped)."""
    raw = seed_path(ZH_SEED).read_text(encoding="utf-8")
    found = re.search(r"\[([^\]]+)\]\(", raw)
    assert found is not None
    body = raw[raw.index("------") :]
    return found.group(1), re.sub(r"<[^>]+>", " ", body)
