"""Full-text search: ``articles.search_text`` (title, text and their English, folded and
lower-cased), filled for the articles already stored, and its index: FTS5 with the trigram
tokenizer on SQLite (kept in step by triggers), ``pg_trgm`` on PostgreSQL.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op
from sqlalchemy import exc as sa_exc

from monitor.storage.search import search_document

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

log = logging.getLogger(__name__)
_BATCH = 500
_SQLITE = (
    "CREATE VIRTUAL TABLE article_search USING fts5(search_text, content='articles', content_rowid='id', "
    "tokenize='trigram')",
    "INSERT INTO article_search(article_search) VALUES ('rebuild')",
    "CREATE TRIGGER article_search_insert AFTER INSERT ON articles BEGIN "
    "INSERT INTO article_search(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER article_search_delete AFTER DELETE ON articles BEGIN "
    "INSERT INTO article_search(article_search, rowid, search_text) VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER article_search_update AFTER UPDATE OF search_text ON articles BEGIN "
    "INSERT INTO article_search(article_search, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO article_search(rowid, search_text) VALUES (new.id, new.search_text); END",
)


def upgrade() -> None:
    op.add_column("articles", sa.Column("search_text", sa.Text, nullable=False, server_default=""))
    conn = op.get_bind()
    table = sa.table("articles", sa.column("id", sa.Integer), sa.column("title", sa.Text), sa.column("text", sa.Text),
                     sa.column("title_en", sa.Text), sa.column("text_en", sa.Text),
                     sa.column("search_text", sa.Text))
    last = 0
    while True:  # the articles already stored, in batches
        rows = conn.execute(sa.select(table.c.id, table.c.title, table.c.text, table.c.title_en, table.c.text_en)
                            .where(table.c.id > last).order_by(table.c.id).limit(_BATCH)).all()
        if not rows:
            break
        conn.execute(table.update().where(table.c.id == sa.bindparam("row_id"))
                     .values(search_text=sa.bindparam("doc")),
                     [{"row_id": r.id, "doc": search_document(r.title, r.text, r.title_en, r.text_en)} for r in rows])
        last = rows[-1].id
    if conn.dialect.name == "sqlite":
        for statement in _SQLITE:
            op.execute(statement)
        return
    try:
        with conn.begin_nested():
            op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except sa_exc.DBAPIError as exc:  # not allowed here: search still works, by a scan
        log.warning("pg_trgm could not be enabled (%s); search will scan the articles table", exc.orig)
        return
    op.execute("CREATE INDEX articles_search_trgm ON articles USING gin (search_text gin_trgm_ops)")


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        for name in ("article_search_insert", "article_search_delete", "article_search_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS article_search")
    else:
        op.execute("DROP INDEX IF EXISTS articles_search_trgm")
    op.drop_column("articles", "search_text")
