"""The digest: real flagged articles (seed pages served over loopback, through the real
pipeline into a real SQLite store) grouped and rendered; the pure parts on their own."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import main
from monitor.config import load_config
from monitor.delivery import plan_digest
from monitor.digest import build_digest, group_stories
from monitor.errors import ConfigError
from monitor.marking import Segment, highlight, term_pattern
from monitor.models import Article, Hit, LanguageResult, TextSource, WatchlistMatch
from monitor.rendering import format_subject, render_digest
from monitor.storage import Store, StoredArticle
from monitor.watchrules import default_watchlists
from tests.support import seedsite
from tests.support.digestsite import EVIL_TITLE, copy_fetched


@pytest.fixture
def fetched(fetched_template: Path, tmp_path: Path) -> Path:
    return copy_fetched(fetched_template, tmp_path,
                        "digest:\n  timezone: Europe/Stockholm\n  to: [desk@example.org]\n")


def test_real_articles_grouped_by_watchlist_then_story_newest_first(fetched: Path) -> None:
    config = load_config(fetched)
    now = datetime(2030, 1, 1, 6, 0, tzinfo=UTC)
    with Store(config.database) as store:
        plan = plan_digest(store, config, now)
    digest = plan.digest
    assert digest.since is None and digest.generated.utcoffset() == timedelta(hours=1)  # Stockholm in winter
    [section] = digest.sections
    assert section.name == "chip-export-controls"
    assert section.description.startswith("Export controls on chips")
    # PS + its mirror are one story; DW and the wire are stories of their own; Ars was not flagged
    assert digest.article_count == 4 and section.articles == 4
    titles = [item.title for item in section.items]
    assert len(titles) == 3, titles
    ranks = [(item.score, item.date) for item in section.items]
    assert ranks == sorted(ranks, reverse=True)  # highest score first, then newest
    assert set(titles) == {EVIL_TITLE, seedsite.dagens_ps().title, seedsite.dw_chinese().title}
    by_title = {item.title: item for item in section.items}
    ps_item = by_title[seedsite.dagens_ps().title]  # the story is shown as first published
    assert ps_item.language == "sv" and ps_item.language_name == "Swedish"
    # Dagens PS and the syndicator link the same URL: one article (whichever feed stored it first)
    assert ps_item.outlet in ("Dagens PS", "Syndicator")
    assert {m.outlet for m in ps_item.also_in} | {ps_item.outlet} == {"Dagens PS", "Syndicator", "Mirror"}
    assert len(ps_item.also_in) == 2
    dw_item = by_title[seedsite.dw_chinese().title]
    assert dw_item.language == "zh-Hant"
    # why it matched, and the matched words marked in the snippets
    assert ps_item.terms and ps_item.reasons and ps_item.score >= 2
    marked = {s.text.casefold() for snip in ps_item.snippets for s in snip if s.mark}
    assert marked, ps_item.snippets
    dw_marked = {s.text for snip in dw_item.snippets for s in snip if s.mark}
    assert any("出口管制" in m or "晶片" in m or "芯片" in m for m in dw_marked), dw_marked
    # the broken feed is listed as failing, with its error and next attempt
    [failing] = digest.failing
    assert failing.name == "Broken" and failing.failures == 1 and "404" in (failing.last_error or "")
    assert failing.next_attempt is not None
    assert plan.last_article_id >= 5


def test_html_escapes_feed_text_and_marks_terms(fetched: Path) -> None:
    config = load_config(fetched)
    with Store(config.database) as store:
        rendered = plan_digest(store, config, datetime(2030, 1, 1, 6, 0, tzinfo=UTC)).rendered
    html = rendered.html
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;friends&#34;" in html
    assert "<img" not in html and "&lt;img src=x onerror=alert(2)&gt;" in html
    assert re.search(r"<mark[^>]*>[^<]+</mark>", html)
    assert "Also in:" in html and ">Mirror</a>" in html
    assert "Failing feeds" in html and "Broken" in html
    # no scripts, no remote fonts, images or style sheets: only links to the articles
    for pattern in (r"<[^>]*\s(src|on\w+)=", r"<link", r"<script", r"<style", r"@import", r"url\(", r"@font-face"):
        assert not re.search(pattern, html, re.I), pattern
    text = rendered.text
    assert EVIL_TITLE in text  # text/plain is not escaped
    assert "«" in text and "»" in text
    assert "Also in: " in text and "== Failing feeds ==" in text
    assert rendered.subject.startswith("Monitor digest 2030-01-01: 4 flagged")


def test_preview_writes_html_and_marks_nothing(fetched: Path, tmp_path: Path) -> None:
    out = tmp_path / "preview.html"
    result = CliRunner().invoke(main, ["--config", str(fetched), "digest", "--output", str(out)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    text = CliRunner().invoke(main, ["--config", str(fetched), "digest"], catch_exceptions=False).output
    assert "MONITOR DIGEST" in text and "4 alerts, 0 passing mentions in 3 stories" in text
    with Store(load_config(fetched).database) as store:
        assert store.last_digest() is None


# -- pure parts ------------------------------------------------------------------------------


def _stored(i: int, title: str, *, feed: str = "A", url: str | None = None, hits: tuple[Hit, ...] = (),
            published: datetime | None = None, title_en: str | None = None, lang: str = "sv") -> StoredArticle:
    match = WatchlistMatch("wl", True, 3.0, hits or (Hit("wl", "chip*", "text", "about chips"),), ("r1",))
    article = Article(key=f"k{i}", feed_url=f"https://{feed.lower()}.example/feed", feed_name=feed,
                      url=url or f"https://{feed.lower()}.example/{i}", title=title, text="body text",
                      text_source=TextSource.PAGE, published=published or datetime(2025, 1, i, tzinfo=UTC),
                      fetched=datetime(2025, 2, 1, tzinfo=UTC), language=LanguageResult(lang, 0.99, "test"),
                      matches=(match,), title_en=title_en)
    return StoredArticle(id=i, article=article, feeds=(article.feed_url,))


def test_stories_join_near_identical_titles_and_same_urls_only() -> None:
    a = _stored(1, "Nvidia-chip smugglas till Kina via Singapore", feed="A")
    b = _stored(2, "Nvidia-chip smugglas till Kina via Singapore | B", feed="B")  # outlet suffix
    c = _stored(3, "Nvidia chip smugglas till Kina via Singapor", feed="C")  # near-identical
    d = _stored(4, "Helt annan nyhet om chip och exportkontroll", feed="D")
    e = _stored(5, "Something else", feed="E", url="https://a.example/1?utm_source=x")  # a's URL
    f = _stored(6, "Short", feed="F")
    g = _stored(7, "Shorts", feed="G")  # short titles must match exactly
    entries = [(s, s.article.matches[0]) for s in (a, b, c, d, e, f, g)]
    groups = group_stories(entries, {"https://b.example/feed": "B"})
    ids = sorted(sorted(s.id for s, _ in g) for g in groups)
    assert ids == [[1, 2, 3, 5], [4], [6], [7]]


def test_a_storys_other_articles_from_the_same_outlet_are_listed_not_hidden() -> None:
    from dataclasses import replace
    lead = replace(_stored(1, "Fyra åtalas för smuggling av Nvidia-chip"), story=1, story_size=3)
    follow = replace(_stored(2, "Åklagaren: chipen gick via Malaysia"), story=1, story_size=3)
    copy = replace(_stored(3, "Fyra åtalas för smuggling av Nvidia-chip", feed="B"), story=1, story_size=3)
    digest = build_digest([lead, follow, copy], [], now=datetime(2025, 2, 1, tzinfo=UTC), since=None, timezone="UTC")
    [item] = digest.sections[0].items
    assert [m.title for m in item.more] == ["Åklagaren: chipen gick via Malaysia"]  # same outlet, another title
    assert [m.outlet for m in item.also_in] == ["B"]
    rendered = render_digest(digest, subject="s")
    assert "Same story: Åklagaren: chipen gick via Malaysia <https://a.example/2>" in rendered.text
    assert ">Åklagaren: chipen gick via Malaysia</a>" in rendered.html


def test_translated_title_first_original_second() -> None:
    s = _stored(1, "Kina köper smugglade chip", title_en="China buys smuggled chips")
    digest = build_digest([s], [], now=datetime(2025, 3, 1, tzinfo=UTC), since=None, timezone="UTC")
    item = digest.sections[0].items[0]
    assert (item.title, item.original_title) == ("China buys smuggled chips", "Kina köper smugglade chip")
    untranslated = build_digest([_stored(2, "Kina köper chip")], [], now=datetime(2025, 3, 1, tzinfo=UTC),
                                since=None, timezone="UTC").sections[0].items[0]
    assert (untranslated.title, untranslated.original_title) == ("Kina köper chip", None)


def test_highlight_uses_watchlist_patterns_and_folds_chinese() -> None:
    [wl] = default_watchlists()
    patterns = [ct.pattern for g in wl.groups for ct in g.terms if ct.term.text in ("出口管制", "export control*")]
    segs = highlight("美國實施出口管制，Export Controls tightened", patterns)
    assert [s.text for s in segs if s.mark] == ["出口管制", "Export Controls"]
    assert "".join(s.text for s in segs) == "美國實施出口管制，Export Controls tightened"
    # traditional characters in the text, simplified in the term: marked in the original script
    segs = highlight("被列入實體清單的公司", [term_pattern("实体清单")])
    assert [s.text for s in segs if s.mark] == ["實體清單"]
    assert highlight("smuggelchips och chipset", [term_pattern("*chip*")]) == (
        Segment("smuggelchips", True), Segment(" och "), Segment("chipset", True))
    assert highlight("no match here", [term_pattern("chip")]) == (Segment("no match here"),)


def test_only_http_links_are_rendered() -> None:
    s = _stored(1, "Chip story", url="javascript:alert(1)")
    digest = build_digest([s], [], now=datetime(2025, 3, 1, tzinfo=UTC), since=None, timezone="UTC")
    assert digest.sections[0].items[0].url is None
    html = render_digest(digest, subject="x").html
    assert "javascript:" not in html
    from monitor.urls import http_link  # the one check, used by the web pages too

    assert [http_link(u) for u in ("https://a.example/x ", "data:text/html,x", "http://[x", "http:///x", None)] == \
        ["https://a.example/x", None, None, None, None]


def test_empty_digest_says_nothing_flagged() -> None:
    digest = build_digest([], [], now=datetime(2025, 3, 1, 6, tzinfo=UTC),
                          since=datetime(2025, 2, 28, 6, tzinfo=UTC), timezone="Europe/Stockholm")
    assert digest.empty
    rendered = render_digest(digest, subject="Digest {date}: {count} flagged")
    assert rendered.subject == "Digest 2025-03-01: 0 flagged"
    assert "Nothing was flagged" in rendered.html and "Nothing flagged since 2025-02-28 07:00" in rendered.text


def test_subject_placeholders_and_no_header_injection() -> None:
    digest = build_digest([], [], now=datetime(2025, 3, 1, tzinfo=UTC), since=None, timezone="UTC")
    assert format_subject("D {date} {count} {unknown} {", digest) == "D {date} {count} {unknown} {"
    assert format_subject("D {date}\r\nBcc: x@y {count}", digest) == "D 2025-03-01 Bcc: x@y 0"


def test_user_templates_override_and_stay_escaped(tmp_path: Path) -> None:
    (tmp_path / "digest.html.j2").write_text(
        "<p>{% for s in digest.sections %}{% for i in s.items %}{{ i.title }}{% endfor %}{% endfor %}</p>")
    s = _stored(1, "<b>chip</b> & co")
    digest = build_digest([s], [], now=datetime(2025, 3, 1, tzinfo=UTC), since=None, timezone="UTC")
    rendered = render_digest(digest, subject="x", templates=tmp_path)
    assert rendered.html == "<p>&lt;b&gt;chip&lt;/b&gt; &amp; co</p>"
    assert "MONITOR DIGEST" in rendered.text  # the shipped text template is still used
    (tmp_path / "digest.html.j2").write_text("line one\n{% for x in %}\n")
    with pytest.raises(ConfigError) as info:
        render_digest(digest, subject="x", templates=tmp_path)
    assert f"{tmp_path / 'digest.html.j2'}:2" in str(info.value)


def _tagged(config: Path, tags: dict[str, str], digest: str) -> Path:
    """The fetched config with ``tags`` (feed name -> YAML list) added and ``digest`` keys."""
    text = config.read_text(encoding="utf-8")
    for name, listed in tags.items():
        text = re.sub(rf"(  - name: {re.escape(name)}\n    url: [^\n]+\n)", rf"\1    tags: {listed}\n", text)
    config.write_text(text.replace("digest:\n", "digest:\n" + digest), encoding="utf-8")
    return config


def test_digest_sections_by_tag_and_a_digest_of_some_tags(fetched: Path) -> None:
    now = datetime(2030, 1, 1, 6, 0, tzinfo=UTC)
    config = load_config(_tagged(fetched, {"DW Chinese": "[zh, wire]", "Dagens PS": "[sv]", "Mirror": "[sv]",
                                           "Syndicator": "[sv]"}, "  by_tag: true\n"))
    with Store(config.database) as store:
        plan = plan_digest(store, config, now)
    sections = [(s.name, s.tag, sorted(i.title for i in s.items)) for s in plan.digest.sections]
    # feeds.yaml's order of tags (sv first), untagged feeds last; each story under its lead feed's first tag
    assert sections == [("chip-export-controls", "sv", [seedsite.dagens_ps().title]),
                        ("chip-export-controls", "zh", [seedsite.dw_chinese().title]),
                        ("chip-export-controls", None, [EVIL_TITLE])], sections
    assert "chip-export-controls / untagged feeds (1 story" in plan.rendered.text
    assert "chip-export-controls / zh (1 story" in plan.rendered.text
    assert "&middot; sv</span>" in plan.rendered.html

    config = load_config(_tagged(fetched, {}, "  tags: [wire]\n"))
    with Store(config.database) as store:
        plan = plan_digest(store, config, now)
    assert [i.title for s in plan.digest.sections for i in s.items] == [seedsite.dw_chinese().title]
    assert plan.digest.article_count == 1 and "untagged" not in plan.rendered.text

    fetched.write_text(fetched.read_text(encoding="utf-8").replace("  tags: [wire]\n", "  tags: [nope]\n"),
                       encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(fetched)
    assert "digest.tags: no feed has the tag 'nope' (hint: tags in use: sv, wire, zh)" in str(caught.value)


def test_by_tag_a_story_across_tags_is_one_item_under_its_first_articles_tag(fetched: Path) -> None:
    config = load_config(_tagged(fetched, {"Dagens PS": "[sv]", "Syndicator": "[sv]", "Mirror": "[mirror]"},
                                 "  by_tag: true\n"))
    with Store(config.database) as store:
        digest = plan_digest(store, config, datetime(2030, 1, 1, 6, 0, tzinfo=UTC)).digest
    ps = [(s.tag, i) for s in digest.sections for i in s.items if i.title == seedsite.dagens_ps().title]
    assert len(ps) == 1 and ps[0][0] == "sv", ps  # not split into a "mirror" section too
    assert "Mirror" in {m.outlet for m in ps[0][1].also_in}
    assert sum(s.articles for s in digest.sections) == digest.article_count == 4
