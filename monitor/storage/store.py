"""The store: every query monitor makes, one set for SQLite and PostgreSQL (SQLAlchemy Core).

One transaction per article, so a crash loses at most the article in flight and never stores one
twice (articles are unique by key and by canonical URL; two workers racing to store the same
article settle it on the unique key). A transaction cut by a database restart runs again from the
start on a new connection.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from ..errors import StorageError
from ..models import Article, FeedState, Hit, TranslationState, WatchlistMatch
from ..urls import canonical_url
from . import engine, migrate, sqlitefile, storyrows
from .records import (
    DigestRecord,
    FeedRow,
    StoredArticle,
    article_from_row,
    article_values,
    feed_state_from_row,
)
from .schema import (
    article_feeds,
    articles,
    digests,
    feeds,
    hits,
    host_turns,
    job_errors,
    matches,
    translation_cache,
)
from .search import SearchFilters, SearchResult, filter_conditions, run_search, search_document

log = logging.getLogger(__name__)
T = TypeVar("T")
_EPOCH = datetime.fromtimestamp(0, UTC)
RETRY_FOR = 60.0  # seconds a transaction is retried while the database restarts


class Store:
    """A monitor database: a SQLite file or a PostgreSQL database. Not shared between threads."""

    def __init__(self, database: str | Path, *, timeout: float = 30.0, read_only: bool = False,
                 password: str | None = None) -> None:
        """``read_only``: for commands that only read; never migrated, and every write method raises
        StorageError (a SQLite file is opened ``mode=ro``, see :mod:`.sqlitefile`; a missing one reads
        as an empty database). ``password``: PostgreSQL's, when the URL has none."""
        self.path = str(database)
        self.read_only = read_only
        self._timeout = timeout
        self._password = password
        self._writes_refused = False
        self._broken = False  # the connection was cut: reconnect before the next statement
        self._db = engine.connect(self.path, read_only=read_only, timeout=timeout, password=password)
        self.where = self._db.where
        if read_only and self._db.conn.dialect.name == "postgresql" and self._read(migrate.read_state).empty:
            log.warning("%s: no monitor tables yet (nothing fetched): reading an empty database", self.where)
            self.close()  # an empty stand-in, as for a SQLite file that does not exist yet
            self._db = engine.connect(":memory:", read_only=True, timeout=timeout, password=None)
        self.dialect = self._db.conn.dialect.name
        try:
            self._open_schema(migrate_it=self._db.stand_in or not read_only)
        except BaseException:
            self.close()
            raise
        self._writes_refused = read_only

    def close(self) -> None:
        self._db.conn.close()
        self._db.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema and transactions ---------------------------------------------

    def _open_schema(self, *, migrate_it: bool) -> None:
        if migrate_it:
            self._write(lambda conn: migrate.upgrade(conn, self.where), retry_unique=False)
        else:
            state = self._read(migrate.read_state)
            migrate.check(state, self.where, writing=False)
        columns = self._read(lambda conn: {(t, c["name"]) for t in ("hits", "digests", "articles", "matches")
                                           for c in sa.inspect(conn).get_columns(t)})
        self._has_position = ("hits", "position") in columns  # not yet in an unmigrated legacy file
        self._has_mentioned = ("articles", "mentioned") in columns  # read-only on a file before 0005
        # a read-only store on a file from before a migration reads the columns it has
        self._article_columns = [c for c in articles.c if ("articles", c.name) in columns]
        self._match_columns = [c for c in matches.c if ("matches", c.name) in columns]
        self._searchable = ("articles", "search_text") in columns
        self._has_last_id = ("digests", "last_article_id") in columns

    def _reconnect(self) -> None:
        """A new connection in place of a cut one; the old one is dropped only once the new one is up."""
        fresh = engine.connect(self.path, read_only=self.read_only, timeout=self._timeout, password=self._password)
        old, self._db = self._db, fresh
        with suppress(sa_exc.SQLAlchemyError):
            old.conn.close()
        old.engine.dispose()

    def _run(self, work: Callable[[sa.Connection], T], *, write: bool, retry_unique: bool) -> T:
        """``work`` in a transaction (or, reading, on the connection), run again from the start when the
        connection was cut (a restart: reconnecting until ``RETRY_FOR`` is spent) or, once, when another
        writer stored the same row first. Retried writes are idempotent: a rerun after a COMMIT that
        went through but whose answer was lost finds its rows (unique keys) and adds none."""
        deadline = time.monotonic() + RETRY_FOR
        unique_retries = 1 if retry_unique else 0
        while True:
            if self._broken:
                try:
                    self._reconnect()
                    self._broken = False
                except StorageError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.5)
                    continue
            try:
                return self._once(work, write=write)
            except sa_exc.DBAPIError as exc:
                if engine.unique_violation(exc) and unique_retries:
                    unique_retries -= 1  # another worker stored the same row: run again, it reads it
                    continue
                if not engine.retryable(exc) or time.monotonic() > deadline:
                    raise self._error(exc, writing=write) from exc
                log.warning("%s: %s; retrying", self.where, str(exc.orig).strip().splitlines()[0] if exc.orig
                            else exc)
                self._broken = True
                time.sleep(0.5)

    def _once(self, work: Callable[[sa.Connection], T], *, write: bool) -> T:
        if not write:
            return work(self._db.conn)
        with self._begin() as conn:
            return work(conn)

    @contextmanager
    def _begin(self) -> Iterator[sa.Connection]:
        """BEGIN, COMMIT on leaving, ROLLBACK on any error: the one place a transaction is opened."""
        conn = self._db.conn
        conn.exec_driver_sql(engine.begin_statement(self.dialect))
        try:
            yield conn
            conn.exec_driver_sql("COMMIT")
        except BaseException:
            # the transaction must not stay open (a failed COMMIT on SQLite, disk full, leaves it so);
            # when the connection is gone, the transaction went with it
            if not conn.invalidated:
                with suppress(sa_exc.DBAPIError):
                    conn.exec_driver_sql("ROLLBACK")
            raise

    def _error(self, exc: sa_exc.DBAPIError, *, writing: bool) -> StorageError:
        if isinstance(exc.orig, sqlite3.Error):
            return sqlitefile.diagnose(self.path, exc.orig, writing=writing)
        first = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
        return StorageError(f"{self.where}: {first}")

    def _write(self, work: Callable[[sa.Connection], T], *, retry_unique: bool = True) -> T:
        if self._writes_refused:
            raise StorageError(f"{self.where}: opened read-only (this command only reads); refusing to write")
        return self._run(work, write=True, retry_unique=retry_unique)

    def _read(self, work: Callable[[sa.Connection], T]) -> T:
        return self._run(work, write=False, retry_unique=False)

    def run(self, work: Callable[[sa.Connection], T], *, write: bool = False) -> T:
        """Run a companion module's query (:mod:`.storyrows`, ``search.feed_activity``), retried."""
        return self._write(work) if write else self._read(work)

    @contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        """One write transaction for a caller's own statements (not retried)."""
        if self._writes_refused:
            raise StorageError(f"{self.where}: opened read-only (this command only reads); refusing to write")
        with self._begin() as conn:
            yield conn

    def _insert(self, table: sa.Table) -> Any:
        return engine.insert(self.dialect, table)

    # -- feeds ----------------------------------------------------------------

    def feed_state(self, url: str) -> FeedState:
        row = self._read(lambda c: c.execute(sa.select(feeds).where(feeds.c.url == url)).mappings().first())
        return feed_state_from_row(row) if row else FeedState(url=url)

    def save_feed_state(self, state: FeedState, name: str) -> None:
        values = dict(url=state.url, name=name, etag=state.etag, last_modified=state.last_modified,
                      content_hash=state.content_hash, last_fetched=state.last_fetched,
                      last_success=state.last_success, last_error=state.last_error,
                      consecutive_failures=state.consecutive_failures, next_attempt=state.next_attempt,
                      disabled_reason=state.disabled_reason)
        statement = self._insert(feeds).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=["url"], set_={k: statement.excluded[k] for k in values if k != "url"})
        self._write(lambda c: c.execute(statement))

    def feed_rows(self) -> list[FeedRow]:
        n = (sa.select(sa.func.count()).select_from(article_feeds)
             .where(article_feeds.c.feed_url == feeds.c.url).scalar_subquery())
        nf = (sa.select(sa.func.count()).select_from(article_feeds.join(articles))
              .where(article_feeds.c.feed_url == feeds.c.url, articles.c.flagged.is_(True)).scalar_subquery())
        query = sa.select(feeds, n.label("n"), nf.label("nf")).order_by(feeds.c.name)
        rows = self._read(lambda c: c.execute(query).mappings().all())
        return [FeedRow(state=feed_state_from_row(r), name=r["name"], articles=r["n"], flagged=r["nf"]) for r in rows]

    # -- articles -------------------------------------------------------------

    def _link(self, conn: sa.Connection, article_id: int, feed_url: str, key: str) -> None:
        position = conn.execute(sa.select(sa.func.coalesce(sa.func.max(article_feeds.c.position), -1) + 1)
                                .where(article_feeds.c.article_id == article_id)).scalar_one()
        conn.execute(self._insert(article_feeds).values(article_id=article_id, feed_url=feed_url, entry_key=key,
                                                        position=position).on_conflict_do_nothing())

    def _entry_known(self, conn: sa.Connection, feed_url: str, key: str) -> bool:
        return conn.execute(sa.select(1).where(article_feeds.c.feed_url == feed_url,
                                               article_feeds.c.entry_key == key)).first() is not None

    def link_existing(self, key: str, url: str | None, feed_url: str) -> bool:
        """If this entry is an article already stored (maybe from another feed), record that this feed
        carries it too and return True."""
        def work(conn: sa.Connection) -> bool:
            if self._entry_known(conn, feed_url, key):
                return True  # this feed's entry is known, even if its link has changed since
            found = conn.execute(sa.select(articles.c.id).where(articles.c.key == key)).scalar()
            if found is None and url:
                found = conn.execute(sa.select(articles.c.id)
                                     .where(articles.c.canonical_url == canonical_url(url))).scalar()
            if found is None:
                return False
            self._link(conn, int(found), feed_url, key)
            return True
        return self._write(work)

    def save_article(self, article: Article) -> int | None:
        """Store an article and its matches in one transaction. Returns its id, or None when the same
        article (same key or canonical URL) is already stored: then only the feed link is added."""
        canon = canonical_url(article.identity_url) if article.identity_url else None

        def work(conn: sa.Connection) -> int | None:
            if self._entry_known(conn, article.feed_url, article.key):
                return None
            same = articles.c.key == article.key
            if canon is not None:
                same = sa.or_(same, articles.c.canonical_url == canon)
            existing = conn.execute(sa.select(articles.c.id).where(same)).scalar()
            if existing is not None:
                self._link(conn, int(existing), article.feed_url, article.key)
                return None
            article_id = int(conn.execute(articles.insert().values(article_values(article, canon))
                                          .returning(articles.c.id)).scalar_one())
            self._link(conn, article_id, article.feed_url, article.key)
            for m in article.matches:
                conn.execute(matches.insert().values(article_id=article_id, watchlist=m.watchlist,
                                                     flagged=m.flagged, mentioned=m.mentioned, score=m.score,
                                                     reasons=json.dumps(list(m.reasons))))
                if m.hits:
                    conn.execute(hits.insert(), [dict(article_id=article_id, watchlist=h.watchlist, term=h.term,
                                                      field=h.field, snippet=h.snippet, position=i)
                                                 for i, h in enumerate(m.hits)])
            return article_id
        return self._write(work)

    def articles(
        self,
        *,
        flagged: bool | None = None,
        translation: Sequence[TranslationState] | None = None,
        since: datetime | None = None,
        limit: int | None = None,
        filters: SearchFilters | None = None,
    ) -> Iterator[StoredArticle]:
        """Stored articles, oldest first; ``since`` compares the fetch time, ``filters`` (language,
        feed, watchlist, level, date range; not its sort or limit) as search does."""
        query = sa.select(*self._article_columns).order_by(articles.c.id)
        if filters is not None:
            query = query.where(*filter_conditions(filters))
        if flagged is not None:
            query = query.where(articles.c.flagged.is_(flagged))
        if translation:
            query = query.where(articles.c.translation.in_([t.value for t in translation]))
        if since is not None:
            query = query.where(articles.c.fetched > since)
        if limit is not None:
            query = query.limit(int(limit))
        rows = self._read(lambda c: c.execute(query).mappings().all())
        for row in rows:
            yield self._stored(row)

    def article(self, article_id: int) -> StoredArticle:
        query = sa.select(*self._article_columns).where(articles.c.id == article_id)
        row = self._read(lambda c: c.execute(query).mappings()
                         .first())
        if row is None:
            raise StorageError(f"no article with id {article_id}")
        return self._stored(row)

    def translation_queue(self) -> dict[str, list[int]]:
        """Ids of articles waiting for translation (pending, or unavailable until a model comes), by language."""
        waiting = (TranslationState.PENDING.value, TranslationState.UNAVAILABLE.value)
        query = (sa.select(articles.c.id, articles.c.language).where(articles.c.translation.in_(waiting))
                 .order_by(articles.c.id))
        queue: dict[str, list[int]] = {}
        for article_id, language in self._read(lambda c: c.execute(query).all()):
            queue.setdefault(language, []).append(int(article_id))
        return queue

    def mark_untranslatable(self, language: str) -> int:
        """Pending articles in ``language`` become unavailable (no model); returns how many wait in all."""
        unavailable = TranslationState.UNAVAILABLE.value

        def work(conn: sa.Connection) -> int:
            conn.execute(articles.update().where(articles.c.language == language,
                                                 articles.c.translation == TranslationState.PENDING.value)
                         .values(translation=unavailable))
            return int(conn.execute(sa.select(sa.func.count()).select_from(articles)
                                    .where(articles.c.language == language,
                                           articles.c.translation == unavailable)).scalar_one())
        return self._write(work)

    def count_articles(self) -> int:
        return int(self._read(lambda c: c.execute(sa.select(sa.func.count()).select_from(articles)).scalar_one()))

    def set_translation(
        self, article_id: int, state: TranslationState, title_en: str | None, text_en: str | None
    ) -> None:
        def work(conn: sa.Connection) -> None:
            title, text = conn.execute(sa.select(articles.c.title, articles.c.text)
                                       .where(articles.c.id == article_id)).one()
            conn.execute(articles.update().where(articles.c.id == article_id).values(
                translation=state.value, title_en=title_en, text_en=text_en,
                search_text=search_document(title, text, title_en, text_en)))
        self._write(work)

    def search(self, query: str, filters: SearchFilters | None = None) -> list[SearchResult]:
        """Articles where every word of ``query`` occurs (see :mod:`.search`), best first; an empty
        query lists by the filters alone, newest first."""
        if not self._searchable:
            raise StorageError(f"{self.where}: the search index is built by the next command that writes "
                               "(monitor fetch)")
        return self._read(lambda c: run_search(c, self.dialect, query, filters or SearchFilters()))

    def _stored(self, row: sa.RowMapping) -> StoredArticle:
        article_id = int(row["id"])
        hit_order = hits.c.position if self._has_position else sa.literal_column("rowid")
        feed_order = article_feeds.c.position if self._has_position else sa.literal_column("rowid")
        # two workers linking one article at once can draw the same position: the URL breaks the tie

        def work(conn: sa.Connection) -> StoredArticle:
            found = []
            for m in conn.execute(sa.select(*self._match_columns).where(matches.c.article_id == article_id)
                                  .order_by(matches.c.watchlist)).mappings():
                hit_query = (sa.select(hits.c.watchlist, hits.c.term, hits.c.field, hits.c.snippet)
                             .where(hits.c.article_id == article_id, hits.c.watchlist == m["watchlist"])
                             .order_by(hit_order))
                hit_rows = conn.execute(hit_query).mappings().all()
                found.append(WatchlistMatch(
                    watchlist=m["watchlist"], flagged=bool(m["flagged"]), score=m["score"],
                    mentioned=bool(m["mentioned"]) if self._has_mentioned else False,
                    hits=tuple(Hit(watchlist=h["watchlist"], term=h["term"], field=h["field"], snippet=h["snippet"])
                               for h in hit_rows),
                    reasons=tuple(json.loads(m["reasons"]))))
            carried = tuple(conn.execute(sa.select(article_feeds.c.feed_url)
                                         .where(article_feeds.c.article_id == article_id)
                                         .order_by(feed_order, article_feeds.c.feed_url)).scalars())
            story = row.get("story")
            return StoredArticle(id=article_id, article=article_from_row(row, tuple(found)), feeds=carried,
                                 story=story, story_size=storyrows.size(conn, story) if story is not None else 1)
        return self._read(work)

    # -- translation cache (implements translation.TranslationCache) -----------

    def get_many(self, keys: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for start in range(0, len(keys), 500):
            chunk = list(keys[start:start + 500])
            query = sa.select(translation_cache.c.key, translation_cache.c.text).where(
                translation_cache.c.key.in_(chunk))

            def work(conn: sa.Connection, query: sa.Select[Any] = query) -> dict[str, str]:
                return {row[0]: row[1] for row in conn.execute(query)}
            out.update(self._read(work))
        return out

    def put_many(self, items: Mapping[str, str]) -> None:
        if not items:
            return
        statement = self._insert(translation_cache)
        statement = statement.on_conflict_do_update(index_elements=["key"], set_={"text": statement.excluded.text})
        rows = [{"key": k, "text": v} for k, v in items.items()]
        self._write(lambda c: c.execute(statement, rows))

    # -- digests ---------------------------------------------------------------

    def last_digest(self) -> DigestRecord | None:
        """The most recent digest actually sent, or None when none was."""
        columns = digests.c if self._has_last_id else [c for c in digests.c if c.name != "last_article_id"]
        query = sa.select(*columns).order_by(digests.c.id.desc()).limit(1)
        row = self._read(lambda c: c.execute(query).mappings().first())
        if row is None:
            return None
        return DigestRecord(
            id=int(row["id"]), sent_at=row["sent_at"] or _EPOCH, covers_until=row["covers_until"] or _EPOCH,
            article_count=int(row["article_count"]), recipients=tuple(json.loads(row["recipients"])),
            last_article_id=int(row.get("last_article_id", 0)),  # 0 in a legacy version 1 file
        )

    def record_digest(
        self,
        *,
        sent_at: datetime,
        covers_until: datetime,
        article_count: int,
        recipients: Sequence[str],
        last_article_id: int,
    ) -> int:
        """Remember that a digest was sent; call only after the mail server accepted it."""
        statement = digests.insert().values(sent_at=sent_at, covers_until=covers_until, article_count=article_count,
                                            recipients=json.dumps(list(recipients)),
                                            last_article_id=last_article_id).returning(digests.c.id)
        same = sa.select(digests.c.id).where(digests.c.sent_at == sent_at,
                                             digests.c.last_article_id == last_article_id)

        def work(conn: sa.Connection) -> int:
            done = conn.execute(same).scalar()  # a rerun after a COMMIT whose answer was lost
            return int(done) if done is not None else int(conn.execute(statement).scalar_one())
        return self._write(work, retry_unique=False)

    def flagged_after(self, after_id: int) -> tuple[int, list[StoredArticle]]:
        """Flagged and mentioned articles with an id above ``after_id``, and the highest article id seen (the
        value to record as the next digest's ``last_article_id``). An article committed after this
        has a higher id than the one returned, so the next digest picks it up: SQLite commits one
        writer at a time, and on PostgreSQL (where ids are drawn before commit) the highest id is
        read under a SHARE lock, which waits for every transaction still inserting articles."""
        def highest(conn: sa.Connection) -> int:
            if self.dialect == "postgresql":
                conn.exec_driver_sql("LOCK TABLE articles IN SHARE MODE")
            return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(articles.c.id), 0))).scalar_one())
        upto = max(self._write(highest) if self.dialect == "postgresql" and not self._writes_refused
                   else self._read(highest), after_id)
        wanted = (sa.or_(articles.c.flagged.is_(True), articles.c.mentioned.is_(True)) if self._has_mentioned
                  else articles.c.flagged.is_(True))
        query = (sa.select(*self._article_columns).where(wanted, articles.c.id > after_id, articles.c.id <= upto)
                 .order_by(articles.c.id))
        rows = self._read(lambda c: c.execute(query).mappings().all())
        return upto, [self._stored(r) for r in rows]

    # -- distributed jobs ------------------------------------------------------

    def record_job_error(self, job_id: int, task: str, error: str, at: datetime) -> None:
        def work(conn: sa.Connection) -> None:
            if conn.execute(sa.select(job_errors.c.id).where(job_errors.c.job_id == job_id,
                                                             job_errors.c.at == at)).first() is None:
                conn.execute(job_errors.insert().values(job_id=job_id, task=task, error=error[:2000], at=at))
        self._write(work, retry_unique=False)

    def reserve_host_turn(self, host: str, delay: float, now: float) -> float:
        """When (seconds since the epoch) a request to ``host`` may start: ``delay`` seconds after the
        turn reserved before it by any worker (the row is locked while it is read and moved on)."""
        def work(conn: sa.Connection) -> float:
            conn.execute(self._insert(host_turns).values(host=host, next_at=0.0).on_conflict_do_nothing())
            current = float(conn.execute(sa.select(host_turns.c.next_at).where(host_turns.c.host == host)
                                         .with_for_update()).scalar_one())
            start = max(current, now)
            conn.execute(host_turns.update().where(host_turns.c.host == host).values(next_at=start + delay))
            return start
        return self._write(work)

    def job_errors(self, job_ids: Sequence[int]) -> dict[int, str]:
        """The latest recorded error of each of these jobs."""
        if not job_ids:
            return {}
        query = (sa.select(job_errors.c.job_id, job_errors.c.error).where(job_errors.c.job_id.in_(list(job_ids)))
                 .order_by(job_errors.c.id))
        return {int(row[0]): str(row[1]) for row in self._read(lambda c: c.execute(query).all())}

    def failing_feeds(self) -> list[FeedRow]:
        """Feeds whose last attempt failed or that were disabled after an error."""
        return [r for r in self.feed_rows() if r.state.consecutive_failures > 0 or r.state.disabled_reason]
