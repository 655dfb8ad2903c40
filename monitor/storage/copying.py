"""Copying a monitor database into another: the SQLite file into PostgreSQL when one machine is
outgrown (or a PostgreSQL database into a file, for a laptop).

Every article keeps its id (its story, its digest marks and the web's links name it), with its
feeds, matches and hits, in one target transaction per batch of articles; feeds' states (first),
the translation cache and the digests sent come along. A copy cut off (a crash, Ctrl-C, a database
restart) is run again and goes on: what the target holds already is left as it is and nothing is
copied twice. Only an empty target, or one that a copy from the same source began, is accepted:
an article id the target holds for another article would be a different article under the same
id. Procrastinate's job tables, the jobs' errors and the hosts' request turns are not copied: they
describe the running deployment, not the archive. On PostgreSQL the id sequences are moved past the copied ids.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import sqlalchemy as sa

from ..errors import StorageError
from . import engine
from .schema import article_feeds, articles, digests, feeds, hits, matches, translation_cache
from .store import Store

__all__ = ["BATCH", "CopyReport", "copy_database"]

BATCH = 500  # articles (or other rows) per target transaction
_CHILDREN = (article_feeds, matches, hits)  # an article's rows elsewhere, copied with it
_SEQUENCES = (articles, digests)  # integer ids a PostgreSQL sequence hands out


@dataclass(frozen=True, slots=True)
class CopyReport:
    copied: Mapping[str, int]  # table -> rows this run added to the target
    kept: int  # articles the target held already (a copy that goes on)


def copy_database(source: Store, target: Store, *, batch: int = BATCH,
                  progress: Callable[[int], None] | None = None) -> CopyReport:
    """Copy ``source``'s archive into ``target`` (both open for writing, so both are at this
    monitor's schema). ``progress`` is told the number of articles done after each batch."""
    if _same(source, target):
        raise StorageError(f"{source.where}: source and target are the same database")
    for table, column in ((articles, articles.c.key), (digests, digests.c.sent_at)):
        _check_target(source, target, table, column, batch)
    copied = dict.fromkeys([t.name for t in (feeds, articles, *_CHILDREN, translation_cache, digests)], 0)
    # feeds' states first: a state older than the articles copied costs a refetch (deduplicated by key),
    # a newer one would skip entries whose articles the target lacks
    copied[feeds.name] = _copy_keyed(source, target, feeds, batch)
    kept, after = 0, None
    while rows := source.run(partial(_page, table=articles, after=after, limit=batch)):
        after = rows[-1]["id"]
        ids = [r["id"] for r in rows]
        children = {t.name: source.run(partial(_of_articles, table=t, ids=ids)) for t in _CHILDREN}
        added = target.run(partial(_put_articles, rows=rows, children=children), write=True)
        for name, n in added.items():
            copied[name] += n
        kept += len(rows) - added[articles.name]
        if target.dialect == "postgresql":  # a target used before a cut-off copy goes on hands out fresh ids
            target.run(_move_sequences, write=True)
        if progress is not None:
            progress(kept + copied[articles.name])
    for table in (translation_cache, digests):
        copied[table.name] += _copy_keyed(source, target, table, batch)
    if target.dialect == "postgresql":
        target.run(_move_sequences, write=True)
    return CopyReport(copied, kept)


def _same(source: Store, target: Store) -> bool:
    if source.dialect == target.dialect == "sqlite":
        try:
            return os.path.samefile(source.path, target.path)
        except OSError:
            return False
    return source.where == target.where


def _page(conn: sa.Connection, table: sa.Table, after: Any, limit: int,
          columns: Sequence[sa.Column[Any]] | None = None) -> list[dict[str, Any]]:
    """Up to ``limit`` rows after the primary key ``after`` (None: from the first), in key order."""
    (key,) = table.primary_key.columns
    query = sa.select(*(columns or table.c)).order_by(key).limit(limit)
    if after is not None:
        query = query.where(key > after)
    return [dict(r._mapping) for r in conn.execute(query)]


def _of_articles(conn: sa.Connection, table: sa.Table, ids: Sequence[int]) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(sa.select(table).where(table.c.article_id.in_(ids)))]


def _put_articles(conn: sa.Connection, rows: Sequence[dict[str, Any]],
                  children: Mapping[str, Sequence[dict[str, Any]]]) -> dict[str, int]:
    """One batch in one transaction: the articles the target lacks, each with all its rows. Run
    again after a lost COMMIT, it finds them there and adds nothing."""
    ids = [r["id"] for r in rows]
    present = set(conn.execute(sa.select(articles.c.id).where(articles.c.id.in_(ids))).scalars())
    new = [r for r in rows if r["id"] not in present]
    added = {articles.name: len(new)}
    if new:
        conn.execute(sa.insert(articles), new)
    for table in _CHILDREN:
        mine = [r for r in children[table.name] if r["article_id"] not in present]
        if mine:
            conn.execute(sa.insert(table), mine)
        added[table.name] = len(mine)
    return added


def _put_keyed(conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]], dialect: str) -> int:
    (key,) = table.primary_key.columns
    have = set(conn.execute(sa.select(key).where(key.in_([r[key.name] for r in rows]))).scalars())
    new = [r for r in rows if r[key.name] not in have]
    if new:
        conn.execute(engine.insert(dialect, table).on_conflict_do_nothing(index_elements=[key.name]), new)
    return len(new)


def _copy_keyed(source: Store, target: Store, table: sa.Table, batch: int) -> int:
    """A table whose rows stand alone, in primary-key order; a row the target has is kept."""
    (key,) = table.primary_key.columns
    added, after = 0, None
    while rows := source.run(partial(_page, table=table, after=after, limit=batch)):
        after = rows[-1][key.name]
        added += target.run(partial(_put_keyed, table=table, rows=rows, dialect=target.dialect), write=True)
    return added


def _check_target(source: Store, target: Store, table: sa.Table, column: sa.Column[Any], batch: int) -> None:
    """Refuse a target holding a row (an article, a digest) that is not the source's under the same id."""
    after = None
    while theirs := target.run(partial(_page, table=table, after=after, limit=batch, columns=(table.c.id, column))):
        after = theirs[-1]["id"]
        ids = [r["id"] for r in theirs]
        ours = {r["id"]: r[column.name] for r in source.run(partial(_of_ids, table=table, ids=ids, column=column))}
        for row in theirs:
            if ours.get(row["id"]) != row[column.name]:
                raise StorageError(
                    f"{target.where}: {table.name} id {row['id']} ({row[column.name]}) is not {source.where}'s; a "
                    "copy goes only into an empty database or one that a copy from this source began")


def _of_ids(conn: sa.Connection, table: sa.Table, ids: Sequence[int], column: sa.Column[Any]) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(sa.select(table.c.id, column).where(table.c.id.in_(ids)))]


def _move_sequences(conn: sa.Connection) -> None:
    for table in _SEQUENCES:
        conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                             f"COALESCE((SELECT max(id) FROM {table.name}), 0) + 1, false)"))
