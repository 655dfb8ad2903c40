"""`monitor export` as users run it, over a real fetched store: filters, CSV that spreadsheets read,
and an Atom feed of alerts that parses back through feedparser with every field."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import feedparser

from tests.support import seedsite
from tests.support.digestsite import EVIL_TITLE, copy_fetched


def export(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "export", *args],
                          capture_output=True, text=True, timeout=60)


def test_filters_pick_the_articles(fetched_template: Path, tmp_path: Path) -> None:
    config = copy_fetched(fetched_template, tmp_path, "")
    every = [json.loads(line) for line in export(config).stdout.splitlines()]
    assert len(every) == 5 and {r["level"] for r in every} == {"alert", "none"}
    flagged = [json.loads(line) for line in export(config, "--flagged").stdout.splitlines()]
    assert len(flagged) == 4 and all(r["level"] == "alert" for r in flagged)
    swedish = [json.loads(line) for line in export(config, "--language", "sv").stdout.splitlines()]
    assert {r["language"] for r in swedish} == {"sv"} and len(swedish) == 2
    dw = [json.loads(line) for line in export(config, "--feed", "DW Chinese").stdout.splitlines()]
    assert [r["title"] for r in dw] == [seedsite.dw_chinese().title]
    newest = [json.loads(line) for line in export(config, "--since", "2025-07-26").stdout.splitlines()]
    assert [r["title"] for r in newest] == [EVIL_TITLE]  # published 2025-07-26 06:00 UTC; the rest earlier
    assert len(export(config, "--limit", "2").stdout.splitlines()) == 2
    assert len(export(config, "--watchlist", "chip-export-controls").stdout.splitlines()) == 4
    out = tmp_path / "out.jsonl"
    written = export(config, "--flagged", "--output", str(out))
    assert written.returncode == 0 and "wrote 4 article(s)" in written.stderr and written.stdout == ""
    assert len(out.read_text(encoding="utf-8").splitlines()) == 4
    unknown = export(config, "--feed", "Nope")
    assert unknown.returncode == 2 and "no feed named 'Nope'" in unknown.stderr


def test_csv_has_readable_columns_and_an_optional_bom(fetched_template: Path, tmp_path: Path) -> None:
    config = copy_fetched(fetched_template, tmp_path, "")
    out = tmp_path / "a.csv"
    assert export(config, "--format", "csv", "--flagged", "--bom", "--output", str(out)).returncode == 0
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == 4
    ps = next(r for r in rows if r["title"] == seedsite.dagens_ps().title)
    assert "exportrestriktion*" in ps["terms"].split(", ")
    assert ps["snippets"] and not ps["snippets"].startswith("[")  # plain text, not JSON
    assert ps["watchlists"].startswith("chip-export-controls: alert (")
    plain = export(config, "--format", "csv").stdout
    assert not plain.startswith("\ufeff") and plain.startswith("id,story,story_size,level,")


def test_atom_feed_of_alerts_parses_back_with_every_field(fetched_template: Path, tmp_path: Path) -> None:
    config = copy_fetched(fetched_template, tmp_path, "")
    done = export(config, "--format", "atom", "--watchlist", "chip-export-controls")
    assert done.returncode == 0, done.stderr
    parsed = feedparser.parse(done.stdout.encode())
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.version == "atom10"
    assert parsed.feed.title == "monitor alerts: chip-export-controls" and parsed.feed.id and parsed.feed.updated
    assert len(parsed.entries) == 4
    dates = [e.published_parsed for e in parsed.entries]
    assert dates == sorted(dates, reverse=True)  # newest first
    titles = {e.title for e in parsed.entries}
    assert EVIL_TITLE in titles and seedsite.dw_chinese().title in titles  # escaped markup comes back as text
    for entry in parsed.entries:
        assert entry.id and entry.link.startswith("http") and entry.author and entry.updated
        assert "chip-export-controls:alert" in {t.term for t in entry.tags}
        assert any(t.term.startswith("language:") for t in entry.tags)
        assert entry.summary.startswith("Matched: ")


def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_quoted() -> None:
    from datetime import UTC, datetime

    from monitor.export import write_csv
    from monitor.models import Article, LanguageResult, TextSource
    from monitor.storage import StoredArticle

    hostile = Article(key="k", feed_url="https://f.example/feed", feed_name="@feed", url=None,
                      title='=HYPERLINK("http://evil.example","x")', text="+1 chip", text_source=TextSource.PAGE,
                      published=None, fetched=datetime(2026, 1, 1, tzinfo=UTC),
                      language=LanguageResult("en", 1.0, "t"))
    out = io.StringIO()
    write_csv([StoredArticle(id=1, article=hostile, feeds=())], out)
    [row] = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert row["title"] == "'" + hostile.title and row["text"] == "'+1 chip" and row["feed"] == "'@feed"
