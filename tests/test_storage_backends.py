"""What the second database brings: migrations on both, old SQLite files adopted losing nothing,
writers in several processes racing on the same articles, a PostgreSQL restart mid-run, and the
digest's "every article once" window under concurrent writers."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest

from monitor.errors import SchemaVersionError
from monitor.storage import Store, migrate
from tests.support.postgres import PostgresServer

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parents[1]


def _rows(db: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every monitor table, read with plain sqlite3 (hits and links in rowid order)."""
    con = sqlite3.connect(db)
    try:
        out = {}
        for table in ("feeds", "articles", "article_feeds", "matches", "hits", "translation_cache"):
            added = ("position", "mentioned", "search_text", "story")  # columns migrations added since
            cols = [c[1] for c in con.execute(f"PRAGMA table_info({table})") if c[1] not in added]
            out[table] = con.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY rowid").fetchall()
        out["digests"] = con.execute("SELECT id, sent_at, covers_until, article_count, recipients FROM digests"
                                     ).fetchall()
        return out
    finally:
        con.close()


@pytest.mark.parametrize("version", [1, 2])
def test_a_database_from_before_alembic_is_migrated_in_place_losing_nothing(version: int, tmp_path: Path) -> None:
    db = tmp_path / "monitor.sqlite3"
    shutil.copyfile(DATA / "legacy" / f"monitor-v{version}.sqlite3", db)
    before_rows = _rows(db)
    with Store(db, read_only=True) as old:
        before = [old.article(i) for i in range(1, old.count_articles() + 1)]
    assert len(before) == 3 and sum(len(m.hits) for s in before for m in s.article.matches) == 60
    with Store(db) as store:  # a writer migrates
        after = [store.article(i) for i in range(1, store.count_articles() + 1)]
        last = store.last_digest()
    assert after == before  # every article, match and hit, in the same order
    assert _rows(db) == before_rows
    assert last is not None and last.article_count == 2
    assert last.last_article_id == (2 if version == 2 else 0)
    con = sqlite3.connect(db)
    assert con.execute("SELECT version_num FROM alembic_version").fetchall() == [(migrate.head(),)]
    con.close()
    Store(db).close()  # opening again is a no-op


def test_a_newer_revision_is_refused_on_both_databases(database: str) -> None:
    Store(database).close()
    with Store(database) as store, store.transaction() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    for read_only in (False, True):
        with pytest.raises(SchemaVersionError, match="revision 9999 is newer"):
            Store(database, read_only=read_only)


def _writers(database: str, feeds: list[str], count: int) -> list[list[str]]:
    procs = [subprocess.Popen([sys.executable, "-m", "tests.support.store_writer", database, feed, str(count)],
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for feed in feeds]
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
        outputs.append(out.split())
    return outputs


def test_writers_in_several_processes_store_each_article_once(database: str) -> None:
    """Four processes, on a database none has created yet, store the same 40 articles (from four
    feeds) at once: the schema is made once, every article is stored once, carried by four feeds."""
    feeds = [f"https://feed{n}.example/rss" for n in range(4)]
    outputs = _writers(database, feeds, 40)
    ids = [line for out in outputs for line in out if line != "dup"]
    assert len(ids) == 40 and len(set(ids)) == 40  # each article got one id, in one process
    with Store(database, read_only=True) as store:
        assert store.count_articles() == 40
        for stored in (store.article(int(i)) for i in ids):
            assert sorted(stored.feeds) == feeds
            assert [len(m.hits) for m in stored.article.matches] == [2]


def test_a_postgresql_restart_mid_run_loses_and_duplicates_nothing(postgres: PostgresServer) -> None:
    url = postgres.create_database("restart_mid_run")
    Store(url).close()
    proc = subprocess.Popen([sys.executable, "-m", "tests.support.store_writer", url, "https://f.example/rss", "300"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for _ in range(20):  # the writer is well under way
        proc.stdout.readline()
    postgres.restart(down_for=3)  # fast shutdown: its connection is cut mid-stream, reconnects fail for 3 s
    _, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    assert "retrying" in err  # it noticed, and went on
    with Store(url, read_only=True) as store:
        assert store.count_articles() == 300
        assert {s.article.key for s in store.articles()} == {f"k{i}" for i in range(300)}


def test_the_digest_window_waits_for_articles_still_being_stored(postgres: PostgresServer) -> None:
    """PostgreSQL draws ids before commit: an article inserted (id 1) but not yet committed while a
    later one (id 2) commits must not be skipped by a digest taken in between."""
    url = postgres.create_database("digest_window")
    with Store(url) as store:
        slow = psycopg.connect(host=postgres.host, port=postgres.port, user=postgres.user, dbname="digest_window")
        slow.execute("INSERT INTO articles (key, feed_url, feed_name, title, text, text_source, fetched, language,"
                     " language_confidence, language_method, flagged, translation) VALUES ('slow', 'f', 'F', 't',"
                     " 'x', 'page', now(), 'en', 1, 'langdetect', true, 'pending')")
        fast = psycopg.connect(host=postgres.host, port=postgres.port, user=postgres.user, dbname="digest_window",
                               autocommit=True)
        fast.execute("INSERT INTO articles (key, feed_url, feed_name, title, text, text_source, fetched, language,"
                     " language_confidence, language_method, flagged, translation) VALUES ('fast', 'f', 'F', 't',"
                     " 'x', 'page', now(), 'en', 1, 'langdetect', true, 'pending')")
        result: list[tuple[int, list[str]]] = []
        reader = threading.Thread(target=lambda: result.append(
            (lambda upto_rows: (upto_rows[0], [s.article.key for s in upto_rows[1]]))(store.flagged_after(0))))
        reader.start()
        time.sleep(0.5)
        assert reader.is_alive()  # it waits for the slow transaction
        slow.commit()
        reader.join(30)
        slow.close()
        fast.close()
    assert result and result[0][0] == 2 and sorted(result[0][1]) == ["fast", "slow"]
