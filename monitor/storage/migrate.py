"""Schema versions: Alembic migrations, run on open by writers, checked by readers.

A writer migrates inside one transaction that holds the database's write lock (SQLite's
``BEGIN IMMEDIATE``; a PostgreSQL advisory lock), so two processes opening a new database at
once create the schema once. SQLite databases made before Alembic (``PRAGMA user_version`` 1 or
2, no ``alembic_version`` table) are adopted in place: version 1 gets what version 2 added, then
the database is stamped with the baseline revision and upgraded like any other. Nothing is
copied or re-created, so nothing is lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from ..errors import SchemaVersionError, StorageError

BASELINE = "0001"
# The oldest revision a read-only store reads without migrating (legacy SQLite version 1 and 2
# included: they lack only columns the read methods do without). Raise it when a migration
# changes what the read methods need.
READABLE_FROM = BASELINE
_LOCK_KEY = 0x6D6F6E69  # "moni": the PostgreSQL advisory lock held while migrating
_LEGACY_V2 = (  # what user_version 2 added to version 1
    "ALTER TABLE digests ADD COLUMN last_article_id INTEGER NOT NULL DEFAULT 0",
    "CREATE INDEX articles_flagged_id ON articles(flagged, id)",
)


@dataclass(frozen=True, slots=True)
class SchemaState:
    revision: str | None  # the Alembic revision, or None (new, legacy or foreign)
    legacy_version: int  # SQLite's user_version (0 on PostgreSQL and on new databases)
    tables: int  # tables other than alembic_version and Procrastinate's

    @property
    def empty(self) -> bool:
        return self.revision is None and self.legacy_version == 0 and self.tables == 0


def _alembic(conn: sa.Connection | None = None) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", "monitor.storage:migrations")
    cfg.attributes["connection"] = conn
    return cfg


@cache
def revisions() -> tuple[str, ...]:
    """The migrations' revisions, oldest first (read once from ``migrations/versions``)."""
    script = ScriptDirectory.from_config(_alembic())
    return tuple(r.revision for r in reversed(list(script.walk_revisions())))


def head() -> str:
    return revisions()[-1]


def _known(revision: str) -> bool:
    return revision in revisions()


def _order(revision: str) -> int:
    return revisions().index(revision)


def read_state(conn: sa.Connection) -> SchemaState:
    """The schema as found, read in one statement per fact (no migration is running: the caller
    holds the write lock, or only reads)."""
    revision = MigrationContext.configure(conn).get_current_revision()
    # Procrastinate's job tables share a PostgreSQL database with ours (the distributed deployment), and so
    # does monitor's record of their migrations (procrastinate_monitor_migrations, distributed/jobs.py)
    names = [n for n in sa.inspect(conn).get_table_names()
             if n != "alembic_version" and not n.startswith("procrastinate_")]
    legacy = 0
    if conn.dialect.name == "sqlite":
        legacy = int(conn.exec_driver_sql("PRAGMA user_version").scalar() or 0)
    return SchemaState(revision=revision, legacy_version=legacy, tables=len(names))


def check(state: SchemaState, where: str, *, writing: bool) -> None:
    """Refuse a database this monitor must not touch (foreign, or from a newer monitor); for a
    reader also one too old to read unmigrated."""
    if state.revision is not None and not _known(state.revision):
        raise SchemaVersionError(
            f"{where}: database schema revision {state.revision} is newer than this monitor knows "
            f"({head()}); upgrade monitor or use another database")
    if state.revision is None and state.legacy_version > 2:
        raise SchemaVersionError(
            f"{where}: database schema version {state.legacy_version} is newer than this monitor knows "
            f"({head()}); upgrade monitor or use another database")
    if state.revision is None and state.legacy_version == 0 and state.tables:
        raise StorageError(f"{where}: has tables but no monitor schema version; refusing to touch it")
    if writing or state.empty:
        return
    if state.revision is None:  # a legacy file reads like the baseline (version 1: without last_article_id)
        readable = state.legacy_version >= 1 and READABLE_FROM == BASELINE
    else:
        readable = _order(state.revision) >= _order(READABLE_FROM)
    if not readable:
        raise SchemaVersionError(
            f"{where}: database schema {state.revision or state.legacy_version} is older than this monitor reads "
            f"({READABLE_FROM} or later) and cannot be migrated by a command that only reads; run "
            "`monitor fetch` once with write access to migrate it")


def upgrade(conn: sa.Connection, where: str) -> None:
    """Bring the schema to the head revision. The caller has begun the transaction (and holds the
    write lock on SQLite); this takes PostgreSQL's advisory lock, then reads the state again, so
    whoever comes second finds the work done."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    state = read_state(conn)
    check(state, where, writing=True)
    if state.revision == head():
        return
    if state.revision is None and state.legacy_version:
        adopt_legacy(conn, state.legacy_version)
    command.upgrade(_alembic(conn), "head")


def adopt_legacy(conn: sa.Connection, version: int) -> None:
    """A SQLite database from before Alembic: bring it to the baseline and stamp it."""
    if version == 1:
        for statement in _LEGACY_V2:
            conn.exec_driver_sql(statement)
    command.stamp(_alembic(conn), BASELINE)
