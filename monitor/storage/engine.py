"""Connecting to the database a config names: a SQLite file (the default) or a PostgreSQL URL.

Either way the store gets one SQLAlchemy connection in autocommit mode and opens its own
transactions (``BEGIN IMMEDIATE`` on SQLite, so a writer waits for the lock instead of failing
half-way; ``BEGIN`` on PostgreSQL). Which errors are worth a retry is decided here too: a
PostgreSQL connection cut by a restart, a serialization failure, a unique-key race between two
workers storing the same article.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from ..errors import StorageError
from . import sqlitefile

POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")


def insert(dialect: str, table: sa.Table) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def is_postgres(database: str) -> bool:
    return urlsplit(database).scheme.lower() in POSTGRES_SCHEMES


def redacted(database: str) -> str:
    """The database for messages: a URL without its password."""
    if not is_postgres(database):
        return database
    return make_url(database).render_as_string(hide_password=True)


@dataclass
class Connected:
    engine: sa.Engine
    conn: sa.Connection
    stand_in: bool  # a read-only open of a SQLite database that does not exist yet: an empty one in memory
    where: str  # for messages


def connect(database: str | Path, *, read_only: bool, timeout: float, password: str | None) -> Connected:
    """Open ``database`` (a path, or a ``postgresql://`` URL; ``password`` is used when the URL has
    none: libpq's PGPASSFILE and ~/.pgpass work too)."""
    text = str(database)
    if is_postgres(text):
        return _connect_postgres(text, read_only=read_only, timeout=timeout, password=password)
    return _connect_sqlite(text, read_only=read_only, timeout=timeout)


def _connect_sqlite(path: str, *, read_only: bool, timeout: float) -> Connected:
    try:
        if read_only:
            raw, stand_in = sqlitefile.connect_read_only(path, timeout)
        else:
            raw, stand_in = sqlitefile.connect_for_writing(path, timeout), False
    except sqlite3.DatabaseError as exc:
        raise sqlitefile.diagnose(path, exc, writing=not read_only) from exc
    try:
        raw.execute("PRAGMA foreign_keys = ON")
        if not read_only:
            sqlitefile.enable_wal(raw, timeout)
            raw.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.DatabaseError as exc:
        raw.close()
        raise sqlitefile.diagnose(path, exc, writing=not read_only) from exc
    engine = sa.create_engine("sqlite://", creator=lambda: raw, poolclass=StaticPool)
    conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    return Connected(engine=engine, conn=conn, stand_in=stand_in, where=path)


def _connect_postgres(url: str, *, read_only: bool, timeout: float, password: str | None) -> Connected:
    parsed = make_url(url).set(drivername="postgresql+psycopg")
    args: dict[str, object] = {"connect_timeout": max(1, int(timeout))}
    if password is not None and parsed.password is None:
        args["password"] = password
    if read_only:
        args["options"] = "-c default_transaction_read_only=on"
    where = redacted(url)
    engine = sa.create_engine(parsed, connect_args=args, pool_pre_ping=True, pool_size=1, max_overflow=0)
    try:
        conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    except sa_exc.OperationalError as exc:
        engine.dispose()
        raise StorageError(f"{where}: cannot connect to PostgreSQL: {_first_line(exc)}") from exc
    return Connected(engine=engine, conn=conn, stand_in=False, where=where)


def begin_statement(dialect: str) -> str:
    return "BEGIN IMMEDIATE" if dialect == "sqlite" else "BEGIN"


def retryable(exc: BaseException) -> bool:
    """A transaction that failed this way can run again from the start: the connection was cut
    (a database restart), or PostgreSQL asked for a retry (serialization failure, deadlock)."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return code in ("40001", "40P01", "57P01", "57P02", "57P03", "08000", "08003", "08006")


def unique_violation(exc: BaseException) -> bool:
    """Another writer stored the same row first (a unique key); re-reading settles it."""
    return isinstance(exc, sa_exc.IntegrityError) and (
        getattr(getattr(exc, "orig", None), "sqlstate", None) == "23505"
        or "UNIQUE constraint failed" in str(exc.orig)
    )


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
