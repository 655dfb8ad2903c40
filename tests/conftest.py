from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.digestsite import fetched_once
from tests.support.httpserver import TestServer
from tests.support.site import seed_site

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


@pytest.fixture
def site(server: TestServer) -> TestServer:
    """The three seed outlets (tests/support/site.py) on a fresh loopback server."""
    return seed_site(server)


@pytest.fixture(scope="module")
def fetched_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One real fetch of the digest site per test module; tests get a copy (digestsite.copy_fetched)."""
    with fetched_once(tmp_path_factory.mktemp("fetched")) as base:
        yield base
