from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.httpserver import TestServer

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"


def shared_corpus() -> Path:
    """../shared/corpus beside the repository (or $MONITOR_SHARED/corpus)."""
    base = Path(os.environ["MONITOR_SHARED"]) if os.environ.get("MONITOR_SHARED") else REPO.parent / "shared"
    return base / "corpus"


def require_shared(*parts: str) -> Path:
    path = shared_corpus().joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not present: this test reads the shared corpus (../shared/corpus), absent here")
    return path


@pytest.fixture
def server() -> Iterator[TestServer]:
    srv = TestServer().start()
    try:
        yield srv
    finally:
        srv.stop()
