"""Search on both databases (a real SQLite file with FTS5, a real PostgreSQL with pg_trgm): Chinese
words inside sentences, simplified and traditional alike, Swedish compounds, the English
translation, filters and sorting, the index kept in step by writes and built for databases that
existed before it; and `monitor search` as users run it."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.models import Article, LanguageResult, TextSource, TranslationState, WatchlistMatch
from monitor.storage import SearchFilters, Store
from monitor.storage.search import parse_query, passage
from tests.support.seedtext import sv_seed, zh_seed

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
DATA = Path(__file__).with_name("data")


def article(key: str, title: str, text: str, language: str, *, days_ago: int = 0, flagged: bool = False,
            mentioned: bool = False, feed: str = "https://example.org/feed") -> Article:
    match = WatchlistMatch("chip-export-controls", flagged, 3.0 if flagged else 1.0, (), (), mentioned)
    return Article(key=key, feed_url=feed, feed_name=feed.split("/")[2], url=f"https://example.org/{key}",
                   title=title, text=text, text_source=TextSource.PAGE, published=NOW - timedelta(days=days_ago),
                   fetched=NOW, language=LanguageResult(language, 0.99, "test"), matches=(match,))


@pytest.fixture
def store(database: str) -> Iterator[Store]:
    sv_title, sv_text = sv_seed()
    zh_title, zh_text = zh_seed()
    with Store(database) as opened:
        opened.save_article(article("sv", sv_title, sv_text, "sv", days_ago=3, flagged=True,
                                    feed="https://ps.example/feed"))
        opened.save_article(article("zh", zh_title, zh_text, "zh-Hant", days_ago=1, flagged=True,
                                    feed="https://dw.example/feed"))
        opened.save_article(article("en", "Nvidia earnings beat forecasts", "Chip sales rose; export curbs "
                                    "were mentioned once.", "en", days_ago=2, mentioned=True))
        opened.save_article(article("en2", "Football results", "Nothing about chips here at all.", "en"))
        yield opened


def titles(results: list) -> list[str]:  # type: ignore[type-arg]
    return [r.title for r in results]


def test_chinese_words_inside_sentences_simplified_or_traditional(store: Store) -> None:
    zh_title = zh_seed()[0]
    assert titles(store.search("黑市")) == [zh_title]  # two characters, no word spaces around them
    assert titles(store.search("出口管制")) == [zh_title]
    assert titles(store.search("英伟达")) == [zh_title]  # simplified query, traditional text (英偉達)
    assert titles(store.search("A100晶片")) == [zh_title]
    [hit] = store.search("華強北")  # in the text: the passage shows it
    assert "華強北" in hit.passage and hit.level == "alert" and hit.language == "zh-Hant"


def test_swedish_compounds_and_every_word_required(store: Store) -> None:
    sv_title = sv_seed()[0]
    assert sv_title in titles(store.search("smuggel"))  # inside "smuggelchips"
    assert titles(store.search("exportrestriktioner Nvidia")) == [sv_title]
    assert store.search("exportrestriktioner fotboll") == []
    assert titles(store.search('"tre månader"')) == [sv_title]


def test_the_english_translation_is_searched_once_it_is_stored(store: Store) -> None:
    zh_title = zh_seed()[0]
    assert store.search("underground black market") == []
    [zh] = [r for r in store.search("黑市")]
    store.set_translation(zh.id, TranslationState.DONE, "Evading US chip export controls: an underground black "
                          "market forms", "An underground black market for chips.")
    assert titles(store.search("underground black market")) == [zh_title]
    [found] = store.search("underground")
    assert found.title_en is not None and found.title_en.startswith("Evading")


def test_filters_and_sorting(store: Store) -> None:
    sv_title, zh_title = sv_seed()[0], zh_seed()[0]
    by_date = titles(store.search("", SearchFilters(sort="date")))
    assert by_date == ["Football results", zh_title, "Nvidia earnings beat forecasts", sv_title]
    assert set(titles(store.search("chip", SearchFilters(languages=("en",))))) == {
        "Nvidia earnings beat forecasts", "Football results"}
    assert titles(store.search("", SearchFilters(levels=("alert",), sort="date"))) == [zh_title, sv_title]
    assert titles(store.search("", SearchFilters(levels=("mention",)))) == ["Nvidia earnings beat forecasts"]
    assert titles(store.search("", SearchFilters(watchlist="chip-export-controls", sort="date"))) == [
        zh_title, "Nvidia earnings beat forecasts", sv_title]
    assert titles(store.search("", SearchFilters(feed_urls=("https://dw.example/feed",)))) == [zh_title]
    window = SearchFilters(since=NOW - timedelta(days=2, hours=1), until=NOW - timedelta(hours=12), sort="date")
    assert titles(store.search("", window)) == [zh_title, "Nvidia earnings beat forecasts"]
    assert len(store.search("", SearchFilters(limit=2))) == 2
    # relevance: the article where the word occurs most comes first
    ranked = store.search("chip")
    assert ranked[0].relevance >= ranked[-1].relevance and ranked[0].title == sv_title


def test_a_database_from_before_search_gets_its_index(tmp_path: Path) -> None:
    db = tmp_path / "monitor.sqlite3"
    shutil.copyfile(DATA / "legacy" / "monitor-v2.sqlite3", db)
    with Store(db) as store:  # a writer migrates: search_text filled, FTS5 built
        assert store.count_articles() == 3
        found = store.search("chip")
        assert found, "the articles stored before the index exist must be found"
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM article_search").fetchone()[0] == 3
    con.close()


def test_query_words_and_passages() -> None:
    assert parse_query('  Export "Entity  List" 實體清單 export ') == ("export", "entity list", "实体清单")
    text = "Lead paragraph. " + "x " * 200 + "Here the Entity List is named. " + "y " * 200
    shown = passage(text, ("entity list",))
    assert "Entity List is named" in shown and shown.startswith("…") and shown.endswith("…")


def test_monitor_search_from_the_command_line(tmp_path: Path) -> None:
    sv_title, sv_text = sv_seed()
    zh_title, zh_text = zh_seed()
    config = tmp_path / "feeds.yaml"
    config.write_text("feeds:\n  - {name: DW, url: 'https://dw.example/feed', tags: [zh, press]}\n"
                      "  - {name: PS, url: 'https://ps.example/feed', tags: [sv]}\n", encoding="utf-8")
    with Store(tmp_path / "data" / "monitor.sqlite3") as store:
        store.save_article(article("sv", sv_title, sv_text, "sv", flagged=True, feed="https://ps.example/feed"))
        store.save_article(article("zh", zh_title, zh_text, "zh-Hant", flagged=True, feed="https://dw.example/feed"))

    def search(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "search", *args],
                              capture_output=True, text=True, timeout=60)

    table = search("黑市")
    assert table.returncode == 0, table.stderr
    assert f"[zh-Hant] {zh_title}  (dw.example)" in table.stdout
    assert "1 article(s)" in table.stdout
    rows = [json.loads(line) for line in search("chip", "--format", "jsonl", "--tag", "sv").stdout.splitlines()]
    assert [r["title"] for r in rows] == [sv_title] and rows[0]["level"] == "alert"
    assert search("Nvidia", "--feed", "DW", "--format", "jsonl").stdout.count("\n") == 1
    missing = search("chip", "--tag", "nope")
    assert missing.returncode == 2 and "no feed has the tag 'nope'" in missing.stderr
    assert search("zzzqqq").stdout.strip() == "no article matches"


def test_the_level_of_a_watchlist_filter_is_that_watchlists_own(database: str) -> None:
    """An alert for B that is only a mention for A is not among A's alerts (its Atom feed, export)."""
    base = article("two", "Nvidia H20 export controls", "Text.", "en")
    both = Article(**{**{f: getattr(base, f) for f in Article.__dataclass_fields__},
                      "matches": (WatchlistMatch("A", False, 1.0, (), (), True),
                                  WatchlistMatch("B", True, 5.0, (), (), False))})
    with Store(database) as store:
        store.save_article(both)
        assert store.search("", SearchFilters(watchlist="A", levels=("alert",))) == []
        assert [r.title for r in store.search("", SearchFilters(watchlist="A", levels=("mention",)))] == [base.title]
        assert len(store.search("", SearchFilters(watchlist="B", levels=("alert",)))) == 1
        assert len(store.search("", SearchFilters(watchlist="A"))) == 1  # alert or mention
        assert [s.id for s in store.articles(filters=SearchFilters(watchlist="A", levels=("alert",)))] == []
