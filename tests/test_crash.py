"""Crash and concurrency: kill -9 mid-run, then run again; two processes on one database."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from monitor.errors import SchemaVersionError, StorageError
from monitor.storage import Store
from tests.support import seedsite
from tests.support.httpserver import TestServer

N = 30


def slow_site(server: TestServer, delay: float) -> Path:
    ps = seedsite.dagens_ps()
    page = seedsite.article_page(ps, "PS").encode()

    def slow_page(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(delay)
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", str(len(page)))
        handler.end_headers()
        handler.wfile.write(page)

    items = []
    for i in range(N):
        url = server.add_handler(f"/p{i}", slow_page)
        items.append((seedsite.Seed(**{**ps.__dict__, "slug": f"a{i}", "title": f"Artikel {i}"}), url))
    server.add("/feed", seedsite.rss_feed("PS", "sv", items).encode())
    return Path(server.url("/feed"))


def config_for(tmp_path: Path, server: TestServer) -> Path:
    config = tmp_path / "feeds.yaml"
    config.write_text(
        f"fetch:\n  per_host: 1\n  concurrency: 1\nfeeds:\n  - name: PS\n    url: {server.url('/feed')}\n"
    )
    return config


def monitor(config: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stored(db: Path) -> list[str]:
    con = sqlite3.connect(db)
    try:
        return [r[0] for r in con.execute("SELECT key FROM articles ORDER BY key")]
    except sqlite3.OperationalError:
        return []  # the file exists but the schema is not created yet
    finally:
        con.close()


def test_kill_9_mid_run_loses_and_duplicates_nothing(server: TestServer, tmp_path: Path) -> None:
    slow_site(server, delay=0.15)
    config = config_for(tmp_path, server)
    db = tmp_path / "data" / "monitor.sqlite3"
    proc = monitor(config, "fetch")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if db.exists() and 3 <= len(stored(db)) < N:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = stored(db)
    assert 0 < len(partial) < N, "the kill should land mid-run"
    # the next pass completes the work: the feed's hash was not recorded, so it is read again
    second = monitor(config, "fetch")
    _, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    keys = stored(db)
    assert len(keys) == N and len(set(keys)) == N
    assert set(partial) <= set(keys)
    with Store(db) as store:
        assert all(a.article.text_source.value == "page" for a in store.articles())
    export = subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "export"],
                            capture_output=True, text=True, check=True)
    assert len([json.loads(x) for x in export.stdout.splitlines()]) == N


def test_two_processes_on_one_database(server: TestServer, tmp_path: Path) -> None:
    slow_site(server, delay=0.02)
    config = config_for(tmp_path, server)
    a, b = monitor(config, "fetch"), monitor(config, "fetch")
    for proc in (a, b):
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    keys = stored(tmp_path / "data" / "monitor.sqlite3")
    assert len(keys) == N and len(set(keys)) == N
    con = sqlite3.connect(tmp_path / "data" / "monitor.sqlite3")
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("SELECT count(*) FROM article_feeds").fetchone()[0] == N
    con.close()


def test_corrupt_or_foreign_or_newer_database_is_a_clear_error(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StorageError, match="not a usable SQLite database"):
        Store(garbage)
    foreign = tmp_path / "foreign.sqlite3"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    with pytest.raises(StorageError, match="no monitor schema version"):
        Store(foreign)
    newer = tmp_path / "newer.sqlite3"
    Store(newer).close()
    con = sqlite3.connect(newer)
    con.execute("UPDATE alembic_version SET version_num = '9999'")  # a migration this monitor lacks
    con.commit()
    con.close()
    with pytest.raises(SchemaVersionError, match="newer"):
        Store(newer)
    assert garbage.read_bytes().startswith(b"this is not a database")  # untouched


def test_cli_reports_a_corrupt_database_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "bad.db").write_bytes(b"garbage" * 1000)
    config = tmp_path / "feeds.yaml"
    config.write_text("database: bad.db\nfeeds: []\n")
    out = subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "export"],
                         capture_output=True, text=True)
    assert out.returncode == 1
    assert "bad.db: not a usable SQLite database" in out.stderr
    assert "Traceback" not in out.stderr


def test_uncreatable_database_folder_is_one_clear_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    config = tmp_path / "feeds.yaml"
    config.write_text("database: file/sub/monitor.sqlite3\nfeeds: []\n")
    out = subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "fetch"],
                         capture_output=True, text=True)
    assert out.returncode == 1
    assert "cannot create the database" in out.stderr and "Traceback" not in out.stderr
