"""`monitor copy-db`: a real archive (the seed site fetched by `monitor fetch` into SQLite, its
stories assigned, a digest recorded, translations cached) copied into a real PostgreSQL and
into another SQLite file, as a subprocess; a copy cut off half-way goes on when run again and
copies nothing twice; a target holding other articles is refused with its name; the copy is a
working database (search finds the Chinese term, a fetch pointed at it stores only what is new,
under fresh ids)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.storage import Store
from monitor.storage.copying import copy_database
from tests.support.httpserver import TestServer
from tests.support.postgres import PostgresServer
from tests.support.site import seed_site, write_config

REPO = Path(__file__).resolve().parents[1]


def monitor(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


class Interrupted(Exception):
    pass


@pytest.fixture
def archive(site: TestServer, tmp_path: Path) -> Path:
    """A SQLite archive as `monitor fetch` leaves it, with a digest sent and translations cached."""
    config = write_config(tmp_path, site, "translation:\n  enabled: false\n")
    done = monitor(config, "fetch")
    assert done.returncode == 0, done.stderr
    with Store(tmp_path / "data" / "monitor.sqlite3") as store:
        assert store.count_articles() == 3
        sent = datetime(2025, 12, 1, 7, tzinfo=UTC)
        store.record_digest(sent_at=sent, covers_until=sent, article_count=3, recipients=["desk@example.org"],
                            last_article_id=3)
        store.put_many({f"zh:en:{i}": f"sentence {i}" for i in range(7)})
    return config


def _snapshot(database: str | Path) -> tuple[object, ...]:
    with Store(database, read_only=True) as store:
        stored = list(store.articles())
        return (stored, store.feed_rows(), store.last_digest(),
                store.get_many([f"zh:en:{i}" for i in range(7)]))


def _point(config: Path, database: str) -> Path:
    text = config.read_text(encoding="utf-8").replace("database: data/monitor.sqlite3", f"database: {database}")
    moved = config.with_name("moved.yaml")
    moved.write_text(text, encoding="utf-8")
    return moved


def test_copy_into_postgresql_is_the_same_archive_and_a_working_one(
        archive: Path, postgres: PostgresServer, site: TestServer) -> None:
    source = archive.parent / "data" / "monitor.sqlite3"
    target = postgres.create_database("copy_target")
    done = monitor(archive, "copy-db", target)
    assert done.returncode == 0, done.stderr
    assert ": 3 feeds, 3 articles," in done.stdout and ", 7 translation_cache, 1 digests" in done.stdout
    assert "3 article(s) done" in done.stderr
    before = _snapshot(source)
    assert _snapshot(target) == before  # every article (ids, matches, hits, stories), feed state, digest, cache
    stored = before[0]
    assert isinstance(stored, list) and all(s.story is not None for s in stored)
    with Store(target, read_only=True) as store:
        found = [r.id for r in store.search("出口管制")]
    assert found and found == [r.id for r in Store(source, read_only=True).search("出口管制")]
    again = monitor(archive, "copy-db", target)  # nothing new: nothing copied, all kept
    assert again.returncode == 0 and ": 0 feeds, 0 articles," in again.stdout
    assert "3 article(s) were there already" in again.stdout
    assert _snapshot(target) == before
    # the copy is what monitor now runs on: a fetch pointed at it finds nothing new (the feeds' states
    # and the entries came along), and a new article gets an id past the copied ones
    fetched = monitor(_point(archive, target), "fetch")
    assert fetched.returncode == 0, fetched.stderr
    with Store(target) as store:
        assert store.count_articles() == 3
        new_url = site.url("/new-after-the-copy")
        fresh = replace(stored[0].article, key="new-after-the-copy", url=new_url, identity_url=new_url)
        new_id = store.save_article(fresh)
    assert new_id is not None and new_id > max(s.id for s in stored)


def test_a_copy_cut_off_goes_on_without_copying_twice(archive: Path, postgres: PostgresServer) -> None:
    source = archive.parent / "data" / "monitor.sqlite3"
    target = postgres.create_database("copy_resumed")

    def stop_after_one(done: int) -> None:
        if done == 1:
            raise Interrupted  # as a crash or Ctrl-C would, after the first batch's COMMIT

    with Store(source) as src, Store(target) as into, pytest.raises(Interrupted):
        copy_database(src, into, batch=1, progress=stop_after_one)
    with Store(target, read_only=True) as store:
        assert store.count_articles() == 1
    done = monitor(archive, "copy-db", target)
    assert done.returncode == 0, done.stderr
    assert ", 2 articles," in done.stdout and "1 article(s) were there already" in done.stdout
    assert _snapshot(target) == _snapshot(source)


def test_a_target_holding_other_articles_is_refused_by_name(archive: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    elsewhere = seed_site(TestServer().start())  # the same outlets on another port: other articles
    try:
        config = write_config(other, elsewhere, "translation:\n  enabled: false\n")
        assert monitor(config, "fetch").returncode == 0
    finally:
        elsewhere.stop()
    foreign = other / "data" / "monitor.sqlite3"
    refused = monitor(archive, "copy-db", str(foreign))
    assert refused.returncode == 1
    assert f"{foreign}: articles id 1" in refused.stderr and "is not" in refused.stderr, refused.stderr
    with Store(foreign, read_only=True) as store:
        assert store.count_articles() == 3  # untouched


def test_copy_into_a_new_sqlite_file_keeps_search_working(archive: Path, tmp_path: Path) -> None:
    target = tmp_path / "laptop" / "copy.sqlite3"
    done = monitor(archive, "copy-db", str(target))
    assert done.returncode == 0, done.stderr
    assert _snapshot(target) == _snapshot(archive.parent / "data" / "monitor.sqlite3")
    with Store(target, read_only=True) as store:  # the full-text index was filled as the rows went in
        assert store.search("出口管制")
    same = monitor(archive, "copy-db", str(archive.parent / "data" / "monitor.sqlite3"))
    assert same.returncode == 1 and "same database" in same.stderr
    typo = monitor(archive, "copy-db", "postgresq://monitor:secret@db.example.org/monitor")
    assert typo.returncode == 2 and "postgresq:// is no database" in typo.stderr and "secret" not in typo.stderr
    assert not (REPO / "postgresq:").exists()
