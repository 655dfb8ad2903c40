"""Storage: SQLite by default, PostgreSQL by URL; one schema, one set of queries.

``schema`` (the tables) · ``migrate`` (Alembic, and adopting pre-Alembic SQLite files) ·
``engine`` (connecting, transactions, what to retry) · ``sqlitefile`` (opening a SQLite file and
diagnosing it) · ``store`` (the queries) · ``records`` (what they return) · ``search`` (full-text
search, the same on both) · ``copying`` (one database copied into another).
"""

from .records import DigestRecord, FeedRow, StoredArticle
from .search import SearchFilters, SearchResult
from .store import Store

__all__ = ["DigestRecord", "FeedRow", "SearchFilters", "SearchResult", "Store", "StoredArticle"]
