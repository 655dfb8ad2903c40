from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.digestsite import fetched_once
from tests.support.httpserver import TestServer
from tests.support.postgres import PostgresServer, pg_bin, postgres_server
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


REQUIRE_POSTGRES = "MONITOR_REQUIRE_POSTGRES"  # set by `make test` (and so CI): never skip those tests


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the session (initdb + pg_ctl, 127.0.0.1 only)."""
    if pg_bin() is None:
        if os.environ.get(REQUIRE_POSTGRES):
            pytest.fail(f"no PostgreSQL binaries found, and {REQUIRE_POSTGRES} is set: install postgresql")
        pytest.skip("no PostgreSQL found (initdb not on PATH nor in /usr/lib/postgresql/*/bin): install it to run "
                    "the PostgreSQL half of the storage tests")
    # not under pytest's own temporary folder: pytest keeps that folder 0700 (and may reset it while
    # the session runs), and the server runs as another user when the tests run as root
    folder = Path(tempfile.mkdtemp(prefix="monitor-pg-"))
    try:
        with postgres_server(folder) as pg:
            yield pg
    finally:
        shutil.rmtree(folder, ignore_errors=True)


_databases = iter(range(1, 1_000_000))


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty database of each kind: a SQLite file path, or a PostgreSQL URL."""
    if request.param == "sqlite":
        return str(tmp_path / "db" / "monitor.sqlite3")
    pg: PostgresServer = request.getfixturevalue("postgres")
    return pg.create_database(f"t{os.getpid()}_{next(_databases)}")


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
