"""Databases the monitor cannot write, or cannot use at all: real SQLite files, the real CLI in a
subprocess, and a real read-only file system.

Tests run as root (here and in CI), and root writes through mode bits, so:

* a read-only file system comes from a private mount namespace: ``unshare --user --map-root-user
  --mount`` (works as root, and as a normal user where user namespaces are allowed) bind-mounts the
  database folder onto itself and remounts that bind read-only, then execs the CLI. The mount exists
  only in that namespace: nothing on the machine changes, nothing needs cleaning up.
* permission denied comes from ``chmod`` plus, when running as root, ``setpriv --bounding-set
  -dac_override,-dac_read_search``: the CLI then runs as a root without the capabilities that
  override file modes, so the mode bits apply to it as to any user (it still owns the files, so
  its own interpreter under /root stays readable). As a normal user no prefix is needed.

Each fixture first checks that its mechanism really denies a write here, and skips with the
reason when the machine forbids it (e.g. a container whose seccomp profile blocks unshare).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from csv import DictReader
from pathlib import Path

import pytest

from monitor.errors import SchemaVersionError, StorageError
from monitor.models import FeedState
from monitor.storage import Store, migrate
from tests.support import seedsite
from tests.support.httpserver import TestServer

DATA = Path(__file__).parent / "data"

MONITOR = [sys.executable, "-m", "monitor"]
WRITING = (["fetch"], ["translate"], ["digest", "--send"])
_REMOUNT_RO = 'mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" && shift && exec "$@"'


def read_only_fs(folder: Path, argv: list[str]) -> list[str]:
    """``argv`` run where ``folder`` is on a read-only file system."""
    return ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", _REMOUNT_RO, "sh", str(folder), *argv]


def _denied(argv: list[str], target: Path) -> str | None:
    """None when ``argv`` + a write into ``target`` fails with a permission or read-only error,
    else why not."""
    code = f"open({str(target / 'probe')!r}, 'w')"
    try:
        out = subprocess.run([*argv, sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    except OSError as exc:
        return str(exc)
    if out.returncode == 0:
        return "the write was not denied"
    if "PermissionError" in out.stderr or "Read-only file system" in out.stderr:
        return None
    return out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"


@pytest.fixture(scope="module")
def ro_fs(tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("ro-probe")
    if shutil.which("unshare") is None:
        pytest.skip("no unshare(1) (util-linux) here: cannot make a read-only file system without privileges")
    why = _denied(read_only_fs(folder, []), folder)
    if why is not None:
        pytest.skip(f"a private read-only bind mount (unshare --user --mount) is not allowed here: {why}")


@pytest.fixture(scope="module")
def unprivileged(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The prefix under which mode bits deny this test process's own writes."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv(1): chmod cannot deny root a write")
    prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]
    folder = tmp_path_factory.mktemp("perm-probe")
    folder.chmod(0o555)
    try:
        why = _denied(prefix, folder)
    finally:
        folder.chmod(0o755)
    if why is not None:
        pytest.skip(f"cannot drop CAP_DAC_OVERRIDE here: {why}")
    return prefix


@pytest.fixture(scope="module")
def fetched_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A real database: one `monitor fetch` of a flagged Dagens PS story over loopback."""
    srv = TestServer().start()
    try:
        ps = seedsite.dagens_ps()
        page = srv.add("/ps/1", seedsite.article_page(ps, "Dagens PS").encode(), "text/html; charset=utf-8")
        srv.add("/ps/feed", seedsite.rss_feed("Dagens PS", "sv-SE", [(ps, page)]).encode(), "application/rss+xml")
        base = tmp_path_factory.mktemp("fetched")
        (base / "feeds.yaml").write_text(
            f"database: data/monitor.sqlite3\nallow_private_networks: true\ntranslation:\n  enabled: false\n"
            f"digest:\n  to: [desk@example.org]\nfeeds:\n  - name: Dagens PS\n    url: {srv.url('/ps/feed')}\n",
            encoding="utf-8")
        out = subprocess.run([*MONITOR, "--config", str(base / "feeds.yaml"), "fetch"], capture_output=True,
                             text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        yield base
    finally:
        srv.stop()


@pytest.fixture
def fetched(fetched_template: Path, tmp_path: Path) -> Path:
    """A copy of the fetched folder; returns its config."""
    shutil.copytree(fetched_template / "data", tmp_path / "data")
    shutil.copy(fetched_template / "feeds.yaml", tmp_path / "feeds.yaml")
    return tmp_path / "feeds.yaml"


def cli(
    config: Path, *args: str, prefix: list[str] | None = None, ro: Path | None = None
) -> subprocess.CompletedProcess[str]:
    argv = [*(prefix or []), *MONITOR, "--config", str(config), *args]
    if ro is not None:
        argv = read_only_fs(ro, argv)
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


def one_line_error(out: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert out.returncode == 1, (out.returncode, out.stdout, out.stderr)
    assert "Traceback" not in out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, out.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def snapshot(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


# -- a read-only file system ---------------------------------------------------------------------


def test_read_only_fs_readers_work_and_writers_fail_naming_the_path(
    ro_fs: None, fetched: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    db = data / "monitor.sqlite3"
    before = snapshot(data)
    assert sorted(before) == ["monitor.sqlite3"]  # closed cleanly: no -wal or -shm to read with

    export = cli(fetched, "export", ro=data)
    assert export.returncode == 0, export.stderr
    [row] = [json.loads(line) for line in export.stdout.splitlines()]
    assert row["feed"] == "Dagens PS" and row["flagged"]
    csv = cli(fetched, "export", "--flagged", "--format", "csv", ro=data)
    assert csv.returncode == 0, csv.stderr
    assert [r["feed"] for r in DictReader(io.StringIO(csv.stdout))] == ["Dagens PS"]

    feeds = cli(fetched, "feeds", "list", ro=data)
    assert feeds.returncode == 0, feeds.stderr
    assert "status: ok" in feeds.stdout and "articles: 1 (1 flagged)" in feeds.stdout

    preview = tmp_path / "preview.html"  # outside the read-only folder
    digest = cli(fetched, "digest", "--output", str(preview), ro=data)
    assert digest.returncode == 0, digest.stderr
    assert "wrote" in digest.stdout and preview.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    text = cli(fetched, "digest", ro=data)
    assert text.returncode == 0 and "MONITOR DIGEST" in text.stdout, text.stderr

    for command in WRITING:
        line = one_line_error(cli(fetched, *command, ro=data), str(db), "read-only file system")
        assert "not a usable SQLite database" not in line
    assert snapshot(data) == before  # nothing created, converted or migrated
    with Store(db) as store:  # and nothing was recorded as sent
        assert store.last_digest() is None


def test_read_only_fs_with_changes_left_in_the_wal_is_refused_not_misread(
    ro_fs: None, fetched: Path, tmp_path: Path
) -> None:
    """immutable=1 would not see the -wal: a reader there must refuse rather than show old data."""
    db = tmp_path / "data" / "monitor.sqlite3"
    crash = ("import os, sqlite3, sys; db = sqlite3.connect(sys.argv[1], isolation_level=None); "
             "db.execute('PRAGMA wal_autocheckpoint = 0'); db.execute(\"UPDATE feeds SET name = 'new'\"); os._exit(0)")
    subprocess.run([sys.executable, "-c", crash, str(db)], check=True)
    Path(f"{db}-shm").unlink()
    assert Path(f"{db}-wal").stat().st_size > 0
    one_line_error(cli(fetched, "export", ro=tmp_path / "data"), str(db), "-wal", "cannot be read consistently",
                   "read-only file system")
    export = cli(fetched, "export")  # writable again: SQLite recovers the WAL; the change is there
    assert export.returncode == 0, export.stderr
    assert json.loads(export.stdout)["feed"] == "Dagens PS"
    with Store(db, read_only=True) as store:
        assert [r.name for r in store.feed_rows()] == ["new"]


def test_read_only_fs_missing_folder_cannot_be_created(ro_fs: None, tmp_path: Path) -> None:
    (tmp_path / "ro").mkdir()
    config = tmp_path / "feeds.yaml"
    config.write_text("database: ro/sub/monitor.sqlite3\nfeeds: []\n")
    one_line_error(cli(config, "fetch", ro=tmp_path / "ro"), str(tmp_path / "ro" / "sub" / "monitor.sqlite3"),
                   "cannot create the database", "read-only file system")
    assert list((tmp_path / "ro").iterdir()) == []


# -- permissions ---------------------------------------------------------------------------------


def test_folder_without_write_permission(unprivileged: list[str], fetched: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    db = data / "monitor.sqlite3"
    before = snapshot(data)
    data.chmod(0o555)
    try:
        export = cli(fetched, "export", prefix=unprivileged)  # -shm cannot be created: read immutable
        assert export.returncode == 0, export.stderr
        assert len(export.stdout.splitlines()) == 1
        feeds = cli(fetched, "feeds", "list", prefix=unprivileged)
        assert feeds.returncode == 0 and "status: ok" in feeds.stdout, feeds.stderr
        for command in WRITING:
            one_line_error(cli(fetched, *command, prefix=unprivileged), str(db), "permission denied",
                           f"folder {data} is not writable")
    finally:
        data.chmod(0o755)
    assert snapshot(data) == before


def test_database_file_without_write_or_read_permission(
    unprivileged: list[str], fetched: Path, tmp_path: Path
) -> None:
    db = tmp_path / "data" / "monitor.sqlite3"
    db.chmod(0o444)
    export = cli(fetched, "export", prefix=unprivileged)
    assert export.returncode == 0 and len(export.stdout.splitlines()) == 1, export.stderr
    one_line_error(cli(fetched, "fetch", prefix=unprivileged), str(db), "permission denied",
                   "database file is not writable")
    db.chmod(0o000)
    one_line_error(cli(fetched, "export", prefix=unprivileged), str(db), "permission denied", "not readable")
    db.chmod(0o644)


def test_missing_parent_folder_that_cannot_be_created(unprivileged: list[str], tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    config = tmp_path / "feeds.yaml"
    config.write_text("database: locked/a/b/monitor.sqlite3\nfeeds: []\n")
    try:
        line = one_line_error(cli(config, "fetch", prefix=unprivileged), str(locked / "a" / "b" / "monitor.sqlite3"),
                              "cannot create the database", "permission denied", f"in {locked}")
        assert f"folder {locked / 'a' / 'b'} is missing" in line
        # a command that only reads creates nothing: no database yet reads as an empty one
        export = cli(config, "export", prefix=unprivileged)
        assert export.returncode == 0 and export.stdout == "", export.stderr
        assert "no database yet" in export.stderr
    finally:
        locked.chmod(0o755)
    assert list(locked.iterdir()) == []


# -- not a monitor database ----------------------------------------------------------------------


def test_not_a_sqlite_file_corrupt_file_and_folder(tmp_path: Path) -> None:
    config = tmp_path / "feeds.yaml"
    garbage = tmp_path / "notes.db"
    garbage.write_bytes(b"these are my notes, not a database\n" * 200)
    config.write_text("database: notes.db\nfeeds: []\n")
    for command in (["export"], ["fetch"]):
        one_line_error(cli(config, *command), str(garbage), "not a SQLite file")
    assert garbage.read_bytes().startswith(b"these are my notes")

    corrupt = tmp_path / "corrupt.db"
    Store(corrupt).close()
    with corrupt.open("r+b") as fh:  # the header survives; the schema page (page 1's b-tree) does not
        fh.seek(100)
        fh.write(b"\xff" * 2000)
    config.write_text("database: corrupt.db\nfeeds: []\n")
    for command in (["export"], ["fetch"]):
        one_line_error(cli(config, *command), str(corrupt), "corrupt", "SQLITE_CORRUPT")

    (tmp_path / "folder.db").mkdir()
    config.write_text("database: folder.db\nfeeds: []\n")
    one_line_error(cli(config, "export"), str(tmp_path / "folder.db"), "is a folder")


def test_newer_schema_is_refused_by_readers_and_writers(fetched: Path, tmp_path: Path) -> None:
    db = tmp_path / "data" / "monitor.sqlite3"
    con = sqlite3.connect(db)
    con.execute("UPDATE alembic_version SET version_num = '9999'")  # a migration this monitor lacks
    con.commit()
    con.close()
    before = snapshot(db.parent)
    for command in (["export"], ["feeds", "list"], ["digest"], ["fetch"]):
        one_line_error(cli(fetched, *command), str(db), "schema revision 9999 is newer")
    assert snapshot(db.parent) == before


# -- older schemas and the read-only store ---------------------------------------------------------


def _version_1(db: Path) -> None:
    """A database as monitor wrote it before Alembic, at schema version 1 (tests/data/legacy)."""
    shutil.copyfile(DATA / "legacy" / "monitor-v1.sqlite3", db)


def test_older_compatible_schema_is_read_without_migrating(ro_fs: None, tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    db = tmp_path / "data" / "monitor.sqlite3"
    _version_1(db)
    with Store(db, read_only=True) as store:
        last = store.last_digest()
        assert last is not None and last.article_count == 2 and last.last_article_id == 0
        assert store.count_articles() == 3
    config = tmp_path / "feeds.yaml"
    config.write_text("database: data/monitor.sqlite3\nfeeds: []\n")
    for command in (["export"], ["digest"]):
        out = cli(config, *command, ro=tmp_path / "data")
        assert out.returncode == 0, out.stderr
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA user_version").fetchone()[0] == 1  # a reader does not migrate
    con.close()
    with Store(db) as store:  # a writer does
        assert store.last_digest() is not None
    con = sqlite3.connect(db)
    assert con.execute("SELECT version_num FROM alembic_version").fetchone()[0] == migrate.head()
    con.close()


def test_older_schema_a_reader_cannot_read_is_refused_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As when a future migration changes what the read methods need (READABLE_FROM goes up)."""
    db = tmp_path / "monitor.sqlite3"
    _version_1(db)
    monkeypatch.setattr(migrate, "READABLE_FROM", migrate.head())
    with pytest.raises(SchemaVersionError, match=r"schema 1 is older .* cannot be migrated by a command that only"):
        Store(db, read_only=True)
    Store(db).close()  # a writing open migrates it; then readers read it
    Store(db, read_only=True).close()


def test_write_methods_on_a_read_only_store_raise_storage_error(tmp_path: Path) -> None:
    db = tmp_path / "monitor.sqlite3"
    Store(db).close()
    with Store(db, read_only=True) as store:
        assert store.read_only and store.count_articles() == 0
        for write in (lambda: store.save_feed_state(FeedState(url="https://x.example/feed"), "X"),
                      lambda: store.put_many({"k": "v"}),
                      lambda: store.mark_untranslatable("sv")):
            with pytest.raises(StorageError, match=r"monitor\.sqlite3: opened read-only .* refusing to write"):
                write()
    missing = tmp_path / "nothing" / "here.sqlite3"
    with Store(missing, read_only=True) as store:  # no database yet: an empty one, nothing created
        assert store.count_articles() == 0 and store.feed_rows() == [] and store.last_digest() is None
        with pytest.raises(StorageError, match="opened read-only"):
            store.put_many({"k": "v"})
    assert not missing.parent.exists()
