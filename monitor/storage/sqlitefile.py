"""Opening the SQLite file, and saying what is wrong, naming the path, when that fails.

The diagnosis rests on facts, not on SQLite's message text: ``os.statvfs`` (``ST_RDONLY``: a
read-only file system), ``os.access`` (permission for this user, ACLs and capabilities
included), ``stat`` (a folder where the file should be, a file where a folder should be), the
file's first 16 bytes (the SQLite header) and the SQLite error code (``sqlite_errorcode``).

Writing opens check the file system first, so ``monitor fetch`` on a database it cannot write
fails at once, in one line, before any network work.

Reading opens use ``file:PATH?mode=ro``: nothing is created, migrated or converted. A database
in WAL mode still needs its ``-shm`` index file beside it; where that file does not exist and
cannot be created (a read-only file system, a folder this user cannot write), the file is opened
with ``immutable=1`` instead. The trade-off: SQLite then takes no locks and assumes nobody changes
the file while it is open, so a writer elsewhere (the same disk mounted read-write on another
path or machine) can make such a reader see a half-written state or fail; and changes still in
``-wal`` would be invisible, so when a non-empty ``-wal`` lies there the open is refused instead.
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import time
from pathlib import Path
from urllib.parse import quote

from ..errors import StorageError

log = logging.getLogger(__name__)

SQLITE_HEADER = b"SQLite format 3\x00"
_WX = os.W_OK | os.X_OK


def read_only_fs(path: Path) -> bool:
    """True when ``path`` lies on a file system mounted read-only."""
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _nearest_existing(path: Path) -> Path:
    while not os.path.lexists(path) and path != path.parent:
        path = path.parent
    return path


def _uid() -> str:
    return f"for this user, uid {os.geteuid()}"


def _folder_problem(folder: Path) -> str | None:
    """Why no file can be created in ``folder`` (which may be missing), or None."""
    existing = _nearest_existing(folder)
    if existing != folder:
        missing = f"folder {folder} is missing and cannot be created"
        if not existing.is_dir():
            return f"cannot create the database: {missing}: {existing} is not a folder"
        if read_only_fs(existing):
            return f"cannot create the database: {missing}: {existing} is on a read-only file system"
        if not os.access(existing, _WX):
            return f"cannot create the database: {missing}: permission denied in {existing} ({_uid()})"
        return None
    if not folder.is_dir():
        return f"cannot create the database: {folder} is not a folder"
    if read_only_fs(folder):
        return f"read-only file system: cannot create files in folder {folder}"
    if not os.access(folder, _WX):
        return (f"permission denied: folder {folder} is not writable ({_uid()}); SQLite creates its "
                "-wal and -shm files beside the database")
    return None


def problem(path: str, *, writing: bool) -> str | None:
    """What the file system says is wrong with opening ``path`` (to write, or only to read)."""
    file = Path(path)
    folder = Path(os.path.abspath(path)).parent
    if file.is_dir():
        return "is a folder, not a database file"
    if not file.exists():
        return _folder_problem(folder) if writing else None
    if writing:
        if read_only_fs(file):
            return "read-only file system: the database cannot be written here"
        if not os.access(file, os.W_OK):
            return f"permission denied: the database file is not writable ({_uid()})"
        if (folder_problem := _folder_problem(folder)) is not None:
            return folder_problem
    if not os.access(file, os.R_OK):
        return f"permission denied: the database file is not readable ({_uid()})"
    try:
        with file.open("rb") as fh:
            header = fh.read(len(SQLITE_HEADER))
    except OSError as exc:
        return f"cannot read the database file: {exc.strerror or exc}"
    if header and header != SQLITE_HEADER:
        return "not a usable SQLite database: not a SQLite file (it does not start with the SQLite header)"
    return None


def diagnose(path: str, exc: sqlite3.Error, *, writing: bool) -> StorageError:
    """A StorageError naming ``path`` and what is wrong, for a SQLite error met opening it."""
    found = problem(path, writing=writing) if path != ":memory:" else None
    code = getattr(exc, "sqlite_errorcode", None)
    name = getattr(exc, "sqlite_errorname", None) or type(exc).__name__
    primary = code & 0xFF if isinstance(code, int) else None
    if found is None:
        if primary == sqlite3.SQLITE_NOTADB:
            found = "not a usable SQLite database: not a SQLite file, or its header is damaged"
        elif primary == sqlite3.SQLITE_CORRUPT:
            found = "not a usable SQLite database: the file is corrupt; restore it from a backup"
        elif primary == sqlite3.SQLITE_READONLY:
            found = "the database cannot be written here"
        elif primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            found = "locked by another process for too long"
        elif primary == sqlite3.SQLITE_FULL:
            found = "the disk is full"
        elif primary in (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_PERM):
            found = "cannot open the database"
        else:
            found = "not a usable SQLite database"
    return StorageError(f"{path}: {found} ({name}: {exc})")


def _oserror(exc: OSError) -> str:
    if exc.errno == errno.EROFS:
        return "read-only file system"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied ({_uid()})"
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        return "a part of the path is a file, not a folder"
    return exc.strerror or str(exc)


def connect_for_writing(path: str, timeout: float) -> sqlite3.Connection:
    """A read-write connection (creating the file and its folder when missing)."""
    if path != ":memory:":
        found = problem(path, writing=True)
        if found is not None:
            raise StorageError(f"{path}: {found}")
        folder = Path(os.path.abspath(path)).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"{path}: cannot create the database folder {folder}: {_oserror(exc)}") from exc
    return sqlite3.connect(path, timeout=timeout, isolation_level=None)


def _probe(db: sqlite3.Connection) -> None:
    db.execute("SELECT count(*) FROM sqlite_master").fetchone()  # opens the file (and the WAL index)


def _empty(db: sqlite3.Connection) -> bool:
    return bool(db.execute("PRAGMA user_version").fetchone()[0] == 0
                and db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0)


def _shm_blocker(path: str) -> str | None:
    """Why SQLite cannot create ``PATH-shm`` (needed to read a WAL database), or None."""
    if os.path.exists(path + "-shm"):
        return None
    folder = Path(os.path.abspath(path)).parent
    if read_only_fs(folder):
        return "read-only file system"
    if not os.access(folder, _WX):
        return f"folder {folder} is not writable ({_uid()})"
    return None


def connect_read_only(path: str, timeout: float) -> tuple[sqlite3.Connection, bool]:
    """A connection that cannot write, and whether it is an empty in-memory stand-in (there is
    no database yet: nothing was fetched). See the module's docstring for ``immutable=1``."""
    if path == ":memory:" or not os.path.lexists(path):
        if path != ":memory:":
            log.warning("%s: no database yet (nothing fetched): reading an empty one", path)
        return sqlite3.connect(":memory:", timeout=timeout, isolation_level=None), True
    found = problem(path, writing=False)
    if found is not None:
        raise StorageError(f"{path}: {found}")
    uri = "file:" + quote(os.path.abspath(path))
    db = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=timeout, isolation_level=None)
    try:
        _probe(db)
    except sqlite3.OperationalError as exc:
        db.close()
        blocker = _shm_blocker(path)
        if blocker is None:
            raise diagnose(path, exc, writing=False) from exc
        wal = Path(path + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise StorageError(
                f"{path}: cannot be read consistently: {wal} holds changes not yet in the database file and "
                f"{path}-shm cannot be created ({blocker}); open it once where it is writable (monitor fetch)"
            ) from exc
        log.info("%s: %s-shm cannot be created (%s); reading it immutable", path, path, blocker)
        db = sqlite3.connect(f"{uri}?immutable=1", uri=True, timeout=timeout, isolation_level=None)
        _probe(db)
    if _empty(db):  # an empty file, or one whose schema was never created
        db.close()
        return sqlite3.connect(":memory:", timeout=timeout, isolation_level=None), True
    return db, False


def enable_wal(db: sqlite3.Connection, timeout: float) -> None:
    """Switch to WAL. On a new database another process may be creating the schema at this moment;
    the switch then fails at once with SQLITE_BUSY (SQLite does not always wait for it with its busy
    handler), so it is retried until ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorcode", None) != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
