"""The Procrastinate side: the job app on the monitor's PostgreSQL database, its schema, stalled
job recovery, and the job listing behind `monitor jobs`.

Procrastinate's tables live beside monitor's in the same database (a deployment needs PostgreSQL
and nothing else). Its schema is applied on first use, under an advisory lock so that several
processes starting at once apply it once. Which of Procrastinate's migration files the database
has is kept in ``procrastinate_monitor_migrations``: after Procrastinate is upgraded, the first process to
start applies the new ones, in order, each in its own transaction (a schema from before the table
existed is taken to be the installed Procrastinate's).
"""

from __future__ import annotations

import logging
import re
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import procrastinate
import psycopg
from procrastinate.exceptions import ProcrastinateException
from procrastinate.jobs import Status
from procrastinate.schema import SchemaManager
from sqlalchemy.engine import make_url

from ..errors import MonitorError, StorageError
from ..storage.engine import is_postgres, redacted
from .tasks import add_tasks

log = logging.getLogger(__name__)
_SCHEMA_LOCK = 0x6D6F6E6A  # advisory lock held while Procrastinate's schema is applied
_MIGRATIONS = "procrastinate_monitor_migrations"  # the Procrastinate migration files this database has, by name


class JobsUnavailable(MonitorError):
    """The distributed commands need a PostgreSQL database."""


def conninfo(database: str) -> str:
    """The libpq URL of a configured database (SQLAlchemy's driver suffix dropped)."""
    if not is_postgres(database):
        raise JobsUnavailable(f"database {database!r} is SQLite: `monitor schedule`, `worker` and `jobs` need "
                              "PostgreSQL (database: postgresql://user@host/dbname); on SQLite use `monitor run`")
    return make_url(database).set(drivername="postgresql").render_as_string(hide_password=False)


def build_job_app(database: str, password: str | None, *, pool_size: int = 4) -> procrastinate.App:
    """The Procrastinate app (not yet open) with monitor's tasks."""
    kwargs: dict[str, object] = {"password": password} if password and make_url(database).password is None else {}
    connector = procrastinate.PsycopgConnector(conninfo=conninfo(database), kwargs=kwargs, min_size=1,
                                               max_size=max(2, pool_size))
    app = procrastinate.App(connector=connector)
    add_tasks(app)
    return app


def job_migrations() -> list[Path]:
    """Procrastinate's migration files, in the order they apply (their names start with the version)."""
    return sorted(Path(SchemaManager.get_migrations_path()).glob("*.sql"))


def ensure_schema(app: procrastinate.App, database: str, password: str | None, *, migrate: bool = True) -> list[str]:
    """Apply Procrastinate's schema unless it is there, or (``migrate``) the migrations of a newer
    Procrastinate that it lacks (once, however many processes start at once); returns the
    migrations applied. Without ``migrate`` (`monitor jobs`, which may run beside old workers)
    waiting migrations are only logged."""
    kwargs = {"password": password} if password and make_url(database).password is None else {}
    where = redacted(database)
    files = job_migrations()
    try:
        with psycopg.connect(conninfo(database), autocommit=True, **kwargs) as conn:  # type: ignore[arg-type]
            conn.execute("SELECT pg_advisory_lock(%s)", (_SCHEMA_LOCK,))  # released with the connection
            if _missing(conn, [_MIGRATIONS]):  # (created only when missing: a role may lack the right to)
                conn.execute(f"CREATE TABLE {_MIGRATIONS} (name text PRIMARY KEY,"
                             " applied_at timestamptz NOT NULL DEFAULT now())")
            done = {str(r[0]) for r in conn.execute(f"SELECT name FROM {_MIGRATIONS}")}
            if _missing(conn, ["procrastinate_jobs"]):
                with conn.transaction():
                    log.info("%s: applying Procrastinate's schema", where)
                    conn.execute(app.schema_manager.get_schema())
                    _record(conn, [f.name for f in files])
                return []
            if not done:  # made before monitor kept count: adopted only if it is the installed version's
                with conn.transaction():  # every name recorded, or none (a crash half-way would read as old)
                    _adopt(conn, app, where)
                    _record(conn, [f.name for f in files])
                return []
            waiting = [f for f in files if f.name not in done]
            if waiting and not migrate:
                log.warning("%s: %d migration(s) of Procrastinate %s wait (%s ...): the next scheduler or worker "
                            "to start applies them", where, len(waiting), procrastinate.__version__, waiting[0].name)
                return []
            for file in waiting:
                log.info("%s: applying Procrastinate's migration %s", where, file.name)
                with conn.transaction():  # one file at a time: a new enum value is usable after its commit
                    conn.execute(file.read_text(encoding="utf-8"))
                    _record(conn, [file.name])
            return [f.name for f in waiting]
    except psycopg.Error as exc:
        raise StorageError(f"{where}: cannot prepare the job tables: {exc}") from exc


_CREATED = re.compile(r"^CREATE (?:OR REPLACE )?(FUNCTION|TABLE|TYPE) (?:public\.)?(\w+)", re.MULTILINE)


_PRESENT = ("SELECT 'FUNCTION', proname FROM pg_proc WHERE proname LIKE 'procrastinate%'"
            " UNION SELECT 'TYPE', typname FROM pg_type WHERE typname LIKE 'procrastinate%'"
            " UNION SELECT 'TABLE', tablename FROM pg_tables"
            " WHERE schemaname = current_schema() AND tablename LIKE 'procrastinate%'")


def _missing(conn: psycopg.Connection[tuple[object, ...]], tables: list[str]) -> list[str]:
    return [t for t in tables if conn.execute("SELECT to_regclass(%s)", (t,)).fetchone() in (None, (None,))]


def _adopt(conn: psycopg.Connection[tuple[object, ...]], app: procrastinate.App, where: str) -> None:
    """A job schema no record describes is taken as the installed Procrastinate's only when it has
    every table, type and function that version's schema creates; else which migrations it lacks
    cannot be told, and nothing is guessed."""
    wanted = {(kind, name) for kind, name in _CREATED.findall(app.schema_manager.get_schema())}
    have = {(str(kind), str(name)) for kind, name in conn.execute(_PRESENT)}
    lacking = sorted(name for kind, name in wanted - have)
    if lacking:
        raise StorageError(
            f"{where}: its Procrastinate schema is older than the installed Procrastinate {procrastinate.__version__} "
            f"(it lacks {', '.join(lacking[:4])}{' ...' if len(lacking) > 4 else ''}) and no record says which "
            f"migrations it has: apply them from {SchemaManager.get_migrations_path()} (newer than the version that "
            "made it, in name order), or start once with the Procrastinate that made it, then upgrade")
    log.info("%s: Procrastinate's schema taken as version %s's", where, procrastinate.__version__)


def _record(conn: psycopg.Connection[tuple[object, ...]], names: list[str]) -> None:
    with conn.cursor() as cur:
        cur.executemany(f"INSERT INTO {_MIGRATIONS} (name) VALUES (%s) ON CONFLICT DO NOTHING",
                        [(n,) for n in names])


async def retry_stalled(app: procrastinate.App, seconds_since_heartbeat: float) -> int:
    """Jobs whose worker stopped sending heartbeats (killed, machine gone) go back to the queue.
    Where that cannot be (an identical job already waits: its queueing lock; another scheduler got
    there first), the stalled job is marked failed instead, so its lock is free for the one waiting."""
    stalled = list(await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=seconds_since_heartbeat))
    retried = 0
    for job in stalled:
        assert job.id is not None
        try:
            await app.job_manager.retry_job(job)
        except ProcrastinateException as exc:  # a twin waits, or the job moved on meanwhile
            log.info("job %s (%s): stalled, not retried (%s); marking it failed", job.id, job.task_name, exc)
            with suppress(ProcrastinateException):
                await app.job_manager.finish_job_by_id_async(job.id, status=Status.FAILED, delete_job=False)
            continue
        log.warning("job %s (%s) was running on a worker that stopped answering; retrying it", job.id, job.task_name)
        retried += 1
    return retried


@dataclass(frozen=True, slots=True)
class JobRow:
    id: int
    queue: str
    task: str
    status: str
    attempts: int
    args: str
    scheduled_at: datetime | None


async def list_jobs(app: procrastinate.App, *, statuses: tuple[str, ...], limit: int) -> list[JobRow]:
    rows = await app.connector.execute_query_all_async(
        "SELECT id, queue_name, task_name, status::text AS status, attempts, args::text AS args, scheduled_at"
        " FROM procrastinate_jobs WHERE status::text = ANY(%(statuses)s) ORDER BY id DESC LIMIT %(limit)s",
        statuses=list(statuses), limit=limit)
    return [JobRow(id=r["id"], queue=r["queue_name"], task=r["task_name"], status=r["status"],
                   attempts=r["attempts"], args=r["args"], scheduled_at=r["scheduled_at"]) for r in rows]


async def count_jobs(app: procrastinate.App) -> dict[tuple[str, str], int]:
    rows = await app.connector.execute_query_all_async(
        "SELECT queue_name, status::text AS status, count(*) AS n FROM procrastinate_jobs GROUP BY 1, 2")
    return {(r["queue_name"], r["status"]): int(r["n"]) for r in rows}
