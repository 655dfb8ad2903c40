"""SQLite storage: the only module that speaks SQL (:mod:`.dbopen` opens the file and diagnoses it).

Schema versioned with ``PRAGMA user_version`` and migrated on open (not when read-only); WAL mode;
one transaction per article, so a crash loses at most the article in flight
and never stores one twice (articles are unique by key and by canonical URL).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import dbopen
from .errors import SchemaVersionError, StorageError
from .models import Article, FeedState, Hit, LanguageResult, TextSource, TranslationState, WatchlistMatch
from .urls import canonical_url

_MIGRATIONS: tuple[str, ...] = (
    # 1: the core pipeline
    """
    CREATE TABLE feeds (
        url TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        etag TEXT,
        last_modified TEXT,
        content_hash TEXT,
        last_fetched TEXT,
        last_success TEXT,
        last_error TEXT,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        next_attempt TEXT,
        disabled_reason TEXT
    );
    CREATE TABLE articles (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        canonical_url TEXT UNIQUE,
        url TEXT,
        feed_url TEXT NOT NULL,
        feed_name TEXT NOT NULL,
        title TEXT NOT NULL,
        text TEXT NOT NULL,
        text_source TEXT NOT NULL,
        published TEXT,
        fetched TEXT NOT NULL,
        language TEXT NOT NULL,
        language_confidence REAL NOT NULL,
        language_method TEXT NOT NULL,
        flagged INTEGER NOT NULL,
        title_en TEXT,
        text_en TEXT,
        translation TEXT NOT NULL,
        errors TEXT NOT NULL DEFAULT '[]'
    );
    CREATE INDEX articles_flagged ON articles(flagged, fetched);
    CREATE INDEX articles_translation ON articles(translation);
    CREATE TABLE article_feeds (
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        feed_url TEXT NOT NULL,
        entry_key TEXT NOT NULL,
        PRIMARY KEY (article_id, feed_url)
    );
    CREATE UNIQUE INDEX article_feeds_entry ON article_feeds(feed_url, entry_key);
    CREATE TABLE matches (
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        watchlist TEXT NOT NULL,
        flagged INTEGER NOT NULL,
        score REAL NOT NULL,
        reasons TEXT NOT NULL,
        PRIMARY KEY (article_id, watchlist)
    );
    CREATE TABLE hits (
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        watchlist TEXT NOT NULL,
        term TEXT NOT NULL,
        field TEXT NOT NULL,
        snippet TEXT NOT NULL
    );
    CREATE INDEX hits_article ON hits(article_id);
    CREATE TABLE translation_cache (
        key TEXT PRIMARY KEY,
        text TEXT NOT NULL
    );
    CREATE TABLE digests (
        id INTEGER PRIMARY KEY,
        sent_at TEXT NOT NULL,
        covers_until TEXT NOT NULL,
        article_count INTEGER NOT NULL,
        recipients TEXT NOT NULL
    );
    """,
    # 2: digests remember the last article id they covered (ids grow in commit order, so
    # "id > last_article_id" selects exactly the articles no digest has covered yet)
    """
    ALTER TABLE digests ADD COLUMN last_article_id INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX articles_flagged_id ON articles(flagged, id);
    """,
)
SCHEMA_VERSION = len(_MIGRATIONS)
# The oldest schema a read-only store reads without migrating: version 1 lacks only an index and
# digests.last_article_id, read as 0 (what migration 2 fills in). Raise it when a migration changes
# what the read methods need.
READABLE_FROM = 1


def _ts(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds")


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True, slots=True)
class DigestRecord:
    """One digest that was sent (a row of ``digests``)."""

    id: int
    sent_at: datetime
    covers_until: datetime
    article_count: int
    recipients: tuple[str, ...]
    last_article_id: int


@dataclass(frozen=True, slots=True)
class FeedRow:
    """A feed's stored status, for `monitor feeds list`."""

    state: FeedState
    name: str
    articles: int
    flagged: int


@dataclass(frozen=True, slots=True)
class StoredArticle:
    id: int
    article: Article
    feeds: tuple[str, ...]


class Store:
    """A SQLite database file. Not shared between threads."""

    def __init__(self, path: str | Path, *, timeout: float = 30.0, read_only: bool = False) -> None:
        """``read_only``: for commands that only read; opened with ``mode=ro`` (see :mod:`.dbopen`), never
        migrated, and every write method raises StorageError. A missing database reads as an empty one."""
        self.path = str(path)
        self.read_only = read_only
        self._writes_refused = False
        try:
            if read_only:
                self._db, stand_in = dbopen.connect_read_only(self.path, timeout)
            else:
                self._db, stand_in = dbopen.connect_for_writing(self.path, timeout), False
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA foreign_keys = ON")
            if not read_only:
                dbopen.enable_wal(self._db, timeout)
                self._db.execute("PRAGMA synchronous = NORMAL")
            self._migrate(migrate=stand_in or not read_only)
        except (sqlite3.DatabaseError, StorageError) as exc:
            if getattr(self, "_db", None) is not None:
                self._db.close()
            if isinstance(exc, StorageError):
                raise
            raise dbopen.diagnose(self.path, exc, writing=not read_only) from exc
        self._writes_refused = read_only

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema ---------------------------------------------------------------

    def _migrate(self, *, migrate: bool) -> None:
        # one statement, one snapshot: read apart, another process's first migration could commit in
        # between (version 0, then tables) and look like a foreign database
        version, tables = self._db.execute(
            "SELECT user_version, (SELECT count(*) FROM sqlite_master) FROM pragma_user_version").fetchone()
        version = int(version)
        if version > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"{self.path}: database schema version {version} is newer than this monitor knows "
                f"({SCHEMA_VERSION}); upgrade monitor or use another database"
            )
        if version == 0 and tables:
            raise StorageError(f"{self.path}: has tables but no monitor schema version; refusing to touch it")
        if not migrate:
            if version < READABLE_FROM:
                raise SchemaVersionError(
                    f"{self.path}: database schema version {version} is older than this monitor reads "
                    f"({READABLE_FROM} or later) and cannot be migrated by a command that only reads; run "
                    "`monitor fetch` once with write access to migrate it"
                )
            return  # read as it is (see READABLE_FROM)
        for number in range(version, SCHEMA_VERSION):
            with self.transaction() as db:
                current = int(db.execute("PRAGMA user_version").fetchone()[0])
                if current > number:
                    continue  # another process migrated meanwhile
                for statement in _MIGRATIONS[number].split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {number + 1}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; SQLite's own errors (locked too long, disk full) become StorageError."""
        if self._writes_refused:
            raise StorageError(f"{self.path}: opened read-only (this command only reads); refusing to write")
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            raise dbopen.diagnose(self.path, exc, writing=True) from exc

    # -- feeds ----------------------------------------------------------------

    def feed_state(self, url: str) -> FeedState:
        row = self._db.execute("SELECT * FROM feeds WHERE url = ?", (url,)).fetchone()
        return _feed_state(row) if row else FeedState(url=url)

    def save_feed_state(self, state: FeedState, name: str) -> None:
        with self.transaction() as db:
            db.execute(
                """INSERT INTO feeds (url, name, etag, last_modified, content_hash, last_fetched, last_success,
                                      last_error, consecutive_failures, next_attempt, disabled_reason)
                   VALUES (?,?,?,?,?,?,?,?,?,?,?)
                   ON CONFLICT(url) DO UPDATE SET name=excluded.name, etag=excluded.etag,
                     last_modified=excluded.last_modified, content_hash=excluded.content_hash,
                     last_fetched=excluded.last_fetched, last_success=excluded.last_success,
                     last_error=excluded.last_error, consecutive_failures=excluded.consecutive_failures,
                     next_attempt=excluded.next_attempt, disabled_reason=excluded.disabled_reason""",
                (state.url, name, state.etag, state.last_modified, state.content_hash, _ts(state.last_fetched),
                 _ts(state.last_success), state.last_error, state.consecutive_failures, _ts(state.next_attempt),
                 state.disabled_reason),
            )

    def feed_rows(self) -> list[FeedRow]:
        rows = self._db.execute(
            """SELECT f.*, (SELECT count(*) FROM article_feeds af WHERE af.feed_url = f.url) AS n,
                      (SELECT count(*) FROM article_feeds af JOIN articles a ON a.id = af.article_id
                        WHERE af.feed_url = f.url AND a.flagged) AS nf
               FROM feeds f ORDER BY f.name"""
        ).fetchall()
        return [FeedRow(state=_feed_state(r), name=r["name"], articles=r["n"], flagged=r["nf"]) for r in rows]

    # -- articles -------------------------------------------------------------

    def link_existing(self, key: str, url: str | None, feed_url: str) -> bool:
        """If this entry is an article already stored (maybe from another feed), record that this feed
        carries it too and return True."""
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM article_feeds WHERE feed_url = ? AND entry_key = ?",
                          (feed_url, key)).fetchone():
                return True  # this feed's entry is known, even if its link has changed since
            row = db.execute("SELECT id FROM articles WHERE key = ?", (key,)).fetchone()
            if row is None and url:
                row = db.execute("SELECT id FROM articles WHERE canonical_url = ?", (canonical_url(url),)).fetchone()
            if row is None:
                return False
            db.execute("INSERT OR IGNORE INTO article_feeds (article_id, feed_url, entry_key) VALUES (?,?,?)",
                       (row["id"], feed_url, key))
            return True

    def save_article(self, article: Article) -> int | None:
        """Store an article and its matches in one transaction. Returns its id, or None when the same
        article (same key or canonical URL) is already stored: then only the feed link is added."""
        canon = canonical_url(article.identity_url) if article.identity_url else None
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM article_feeds WHERE feed_url = ? AND entry_key = ?",
                          (article.feed_url, article.key)).fetchone():
                return None
            existing = db.execute("SELECT id FROM articles WHERE key = ? OR (? IS NOT NULL AND canonical_url = ?)",
                                  (article.key, canon, canon)).fetchone()
            if existing is not None:
                db.execute("INSERT OR IGNORE INTO article_feeds (article_id, feed_url, entry_key) VALUES (?,?,?)",
                           (existing["id"], article.feed_url, article.key))
                return None
            cursor = db.execute(
                """INSERT INTO articles (key, canonical_url, url, feed_url, feed_name, title, text, text_source,
                     published, fetched, language, language_confidence, language_method, flagged, title_en,
                     text_en, translation, errors)
                   VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
                (article.key, canon, article.url, article.feed_url, article.feed_name, article.title, article.text,
                 article.text_source.value, _ts(article.published), _ts(article.fetched), article.language.code,
                 article.language.confidence, article.language.method, int(article.flagged), article.title_en,
                 article.text_en, article.translation.value, json.dumps(list(article.errors))),
            )
            article_id = int(cursor.lastrowid or 0)
            db.execute("INSERT OR IGNORE INTO article_feeds (article_id, feed_url, entry_key) VALUES (?,?,?)",
                       (article_id, article.feed_url, article.key))
            for m in article.matches:
                db.execute("INSERT INTO matches (article_id, watchlist, flagged, score, reasons) VALUES (?,?,?,?,?)",
                           (article_id, m.watchlist, int(m.flagged), m.score, json.dumps(list(m.reasons))))
                db.executemany(
                    "INSERT INTO hits (article_id, watchlist, term, field, snippet) VALUES (?,?,?,?,?)",
                    [(article_id, h.watchlist, h.term, h.field, h.snippet) for h in m.hits],
                )
            return article_id

    def articles(
        self,
        *,
        flagged: bool | None = None,
        translation: Sequence[TranslationState] | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> Iterator[StoredArticle]:
        clauses: list[str] = []
        params: list[Any] = []
        if flagged is not None:
            clauses.append("flagged = ?")
            params.append(int(flagged))
        if translation:
            clauses.append(f"translation IN ({','.join('?' * len(translation))})")
            params.extend(t.value for t in translation)
        if since is not None:
            clauses.append("fetched > ?")
            params.append(_ts(since))
        sql = "SELECT * FROM articles"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        for row in self._db.execute(sql, params).fetchall():
            yield self._stored(row)

    def article(self, article_id: int) -> StoredArticle:
        row = self._db.execute("SELECT * FROM articles WHERE id = ?", (article_id,)).fetchone()
        if row is None:
            raise StorageError(f"no article with id {article_id}")
        return self._stored(row)

    def translation_queue(self) -> dict[str, list[int]]:
        """Ids of articles waiting for translation (pending, or unavailable until a model comes), by language."""
        queue: dict[str, list[int]] = {}
        for row in self._db.execute("SELECT id, language FROM articles WHERE translation IN (?, ?) ORDER BY id",
                                    (TranslationState.PENDING.value, TranslationState.UNAVAILABLE.value)):
            queue.setdefault(row["language"], []).append(int(row["id"]))
        return queue

    def mark_untranslatable(self, language: str) -> int:
        """Pending articles in ``language`` become unavailable (no model); returns how many wait in all."""
        with self.transaction() as db:
            db.execute("UPDATE articles SET translation = ? WHERE language = ? AND translation = ?",
                       (TranslationState.UNAVAILABLE.value, language, TranslationState.PENDING.value))
            return int(db.execute("SELECT count(*) FROM articles WHERE language = ? AND translation = ?",
                                  (language, TranslationState.UNAVAILABLE.value)).fetchone()[0])

    def count_articles(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM articles").fetchone()[0])

    def set_translation(
        self, article_id: int, state: TranslationState, title_en: str | None, text_en: str | None
    ) -> None:
        with self.transaction() as db:
            db.execute("UPDATE articles SET translation = ?, title_en = ?, text_en = ? WHERE id = ?",
                       (state.value, title_en, text_en, article_id))

    def _stored(self, row: sqlite3.Row) -> StoredArticle:
        article_id = int(row["id"])
        matches = []
        for m in self._db.execute("SELECT * FROM matches WHERE article_id = ? ORDER BY watchlist",
                                  (article_id,)).fetchall():
            hits = tuple(
                Hit(watchlist=h["watchlist"], term=h["term"], field=h["field"], snippet=h["snippet"])
                for h in self._db.execute("SELECT * FROM hits WHERE article_id = ? AND watchlist = ? ORDER BY rowid",
                                          (article_id, m["watchlist"])).fetchall()
            )
            matches.append(WatchlistMatch(watchlist=m["watchlist"], flagged=bool(m["flagged"]), score=m["score"],
                                          hits=hits, reasons=tuple(json.loads(m["reasons"]))))
        feeds = tuple(r[0] for r in self._db.execute(
            "SELECT feed_url FROM article_feeds WHERE article_id = ? ORDER BY rowid", (article_id,)).fetchall())
        article = Article(
            key=row["key"],
            feed_url=row["feed_url"],
            feed_name=row["feed_name"],
            url=row["url"],
            title=row["title"],
            text=row["text"],
            text_source=TextSource(row["text_source"]),
            published=_dt(row["published"]),
            fetched=_dt(row["fetched"]) or datetime.fromtimestamp(0, UTC),
            language=LanguageResult(code=row["language"], confidence=row["language_confidence"],
                                    method=row["language_method"]),
            matches=tuple(matches),
            title_en=row["title_en"],
            text_en=row["text_en"],
            translation=TranslationState(row["translation"]),
            errors=tuple(json.loads(row["errors"])),
            identity_url=row["url"] if row["canonical_url"] is not None else None,  # the link that identified it
        )
        return StoredArticle(id=article_id, article=article, feeds=feeds)

    # -- translation cache (implements translation.TranslationCache) -----------

    def get_many(self, keys: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for start in range(0, len(keys), 500):
            chunk = list(keys[start:start + 500])
            rows = self._db.execute(
                f"SELECT key, text FROM translation_cache WHERE key IN ({','.join('?' * len(chunk))})", chunk
            ).fetchall()
            out.update({r["key"]: r["text"] for r in rows})
        return out

    def put_many(self, items: Mapping[str, str]) -> None:
        with self.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO translation_cache (key, text) VALUES (?,?)", list(items.items()))

    # -- digests ---------------------------------------------------------------

    def last_digest(self) -> DigestRecord | None:
        """The most recent digest actually sent, or None when none was."""
        row = self._db.execute("SELECT * FROM digests ORDER BY id DESC LIMIT 1").fetchone()
        if row is None:
            return None
        return DigestRecord(
            id=int(row["id"]),
            sent_at=_dt(row["sent_at"]) or datetime.fromtimestamp(0, UTC),
            covers_until=_dt(row["covers_until"]) or datetime.fromtimestamp(0, UTC),
            article_count=int(row["article_count"]),
            recipients=tuple(json.loads(row["recipients"])),
            last_article_id=int(dict(row).get("last_article_id", 0)),  # 0 in a version 1 schema
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
        with self.transaction() as db:
            cursor = db.execute(
                "INSERT INTO digests (sent_at, covers_until, article_count, recipients, last_article_id)"
                " VALUES (?,?,?,?,?)",
                (_ts(sent_at), _ts(covers_until), article_count, json.dumps(list(recipients)), last_article_id),
            )
            return int(cursor.lastrowid or 0)

    def flagged_after(self, after_id: int) -> tuple[int, list[StoredArticle]]:
        """Flagged articles with an id above ``after_id``, and the highest article id seen (the
        value to record as the next digest's ``last_article_id``). An article committed while
        this runs has a higher id than the one returned, so the next digest picks it up."""
        upto = int(self._db.execute("SELECT coalesce(max(id), 0) FROM articles").fetchone()[0])
        upto = max(upto, after_id)
        rows = self._db.execute("SELECT * FROM articles WHERE flagged = 1 AND id > ? AND id <= ? ORDER BY id",
                                (after_id, upto)).fetchall()
        return upto, [self._stored(r) for r in rows]

    def failing_feeds(self) -> list[FeedRow]:
        """Feeds whose last attempt failed or that were disabled after an error."""
        return [r for r in self.feed_rows() if r.state.consecutive_failures > 0 or r.state.disabled_reason]


def _feed_state(row: sqlite3.Row) -> FeedState:
    return FeedState(
        url=row["url"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        content_hash=row["content_hash"],
        last_fetched=_dt(row["last_fetched"]),
        last_success=_dt(row["last_success"]),
        last_error=row["last_error"],
        consecutive_failures=row["consecutive_failures"],
        next_attempt=_dt(row["next_attempt"]),
        disabled_reason=row["disabled_reason"],
    )
