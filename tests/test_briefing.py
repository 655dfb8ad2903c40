"""The digest as a briefing: alerts ranked above passing mentions, a summary on top, English for
readers without a model (the terms' English, a CC-CEDICT gist of Chinese titles), the notice with
the install command, and the HTML kept under Gmail's clipping size."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime

from monitor.digest import build_digest
from monitor.gist import Dictionary, Glossary
from monitor.models import Article, LanguageResult, TextSource, TranslationState
from monitor.rendering import render_digest
from monitor.storage import StoredArticle
from monitor.translation import install_command
from monitor.watchlists import match
from monitor.watchrules import default_watchlists
from tests.support.seedtext import sv_seed, zh_seed

NOW = datetime(2025, 8, 1, 6, tzinfo=UTC)


def _article(i: int, title: str, text: str, lang: str, *, day: int = 1,
             translation: TranslationState = TranslationState.UNAVAILABLE) -> StoredArticle:
    matches = match(default_watchlists(), title, text, lang)
    article = Article(key=f"k{i}", feed_url=f"https://f{i}.example/feed", feed_name=f"Outlet {i}",
                      url=f"https://f{i}.example/{i}", title=title, text=text, text_source=TextSource.PAGE,
                      published=datetime(2025, 7, day, tzinfo=UTC), fetched=NOW,
                      language=LanguageResult(lang, 0.99, "test"), matches=matches, translation=translation)
    return StoredArticle(id=i, article=article, feeds=(article.feed_url,))


def _passing(i: int, day: int) -> StoredArticle:
    """An earnings story with one clause on export controls: a mention, not an alert."""
    return _article(i, f"Quarterly results {i}: revenue up", "Revenue rose 20 percent. Shares fell later as "
                    "US restrictions weighed on chip stocks.", "en", day=day)


def test_alerts_rank_by_score_then_recency_and_mentions_come_below() -> None:
    sv_title, sv_text = sv_seed()
    zh_title, zh_text = zh_seed()
    strong = _article(1, sv_title, sv_text, "sv", day=2)
    weak = _article(2, "Nvidia faces export controls on chips", "", "en", day=20)
    chinese = _article(3, zh_title, zh_text, "zh-Hant", day=3)
    mention = _passing(4, day=25)  # the newest of all
    assert mention.article.mentioned and not mention.article.flagged
    digest = build_digest([strong, weak, chinese, mention], [], now=NOW, since=None, timezone="UTC",
                          watchlists=default_watchlists(), glossary=Glossary(default_watchlists()))
    [section] = digest.sections
    scores = [item.score for item in section.items]
    assert scores == sorted(scores, reverse=True) and len(scores) == 3
    assert section.items[-1].article_id == 2  # the newest alert, but the weakest
    assert [m.article_id for m in section.mentions] == [4] and section.mentions[0].level == "mention"
    assert (digest.alert_count, digest.mention_count, digest.article_count) == (3, 1, 4)
    assert {(line.language, line.alerts, line.mentions) for line in digest.summary} == {
        ("sv", 1, 0), ("en", 1, 1), ("zh-Hant", 1, 0)}
    rendered = render_digest(digest, subject="{count}")
    html, text = rendered.html, rendered.text
    assert html.index(section.items[-1].title) < html.index("Also mentioned") < html.index(mention.article.title)
    assert "3 alerts</strong>, 1 passing mention in 3 stories" in html
    assert "3 alerts, 1 passing mention in 3 stories" in text and "-- Also mentioned (in passing) --" in text


def test_without_a_model_every_foreign_item_carries_english() -> None:
    zh_title, zh_text = zh_seed()
    sv_title, sv_text = sv_seed()
    items = [_article(1, zh_title, zh_text, "zh-Hant"), _article(2, sv_title, sv_text, "sv")]
    digest = build_digest(items, [], now=NOW, since=None, timezone="UTC", watchlists=default_watchlists(),
                          glossary=Glossary(default_watchlists()))
    by_lang = {item.language: item for item in digest.sections[0].items}
    zh = by_lang["zh-Hant"]
    assert zh.gist is not None
    for english in ("export control", "chip", "black market"):
        assert english in zh.gist, zh.gist
    # chips in the article's own script, each with its English
    assert "出口管制" in zh.terms and "黑市" in zh.terms
    english = dict(zip(zh.terms, zh.english, strict=True))
    assert english["出口管制"] == "export control" and english["黑市"] == "black market"
    sv = by_lang["sv"]
    assert sv.gist is None  # not Chinese
    sv_english = dict(zip(sv.terms, sv.english, strict=True))
    assert sv_english.get("exportrestriktioner") == "export control", sv_english
    # the notice, once, with the exact commands
    assert [m.language for m in digest.missing_models] == ["sv", "zh-Hant"]
    html = render_digest(digest, subject="x").html
    assert html.count("No translation model is installed") == 1
    for lang in ("sv", "zh-Hant"):
        assert install_command(lang) in html
    assert "Dictionary gist:" in html and "(black market)" in html


def test_glossaries_built_for_each_page_share_one_read_of_the_dictionary() -> None:
    """The web server builds a Glossary per page; CC-CEDICT (a second or two to read) is read once
    for the server's life, from whichever request thread asks first."""
    import threading

    shared = Dictionary()
    gists: list[str | None] = []
    threads = [threading.Thread(target=lambda: gists.append(Glossary(default_watchlists(), shared).gist("晶片黑市")))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert shared.reads == 1 and gists == ["chip · black market"] * 4
    assert Glossary([], shared).word("走私") == "to smuggle" and shared.reads == 1


def test_a_traditional_article_shows_traditional_terms() -> None:
    item = _article(1, "美國將中芯列入實體清單", "美國商務部將中芯國際列入實體清單，限制晶片出口。", "zh-Hant")
    digest = build_digest([item], [], now=NOW, since=None, timezone="UTC", watchlists=default_watchlists(),
                          glossary=Glossary(default_watchlists()))
    terms = digest.sections[0].items[0].terms
    assert "實體清單" in terms and "实体清单" not in terms


def test_translated_items_need_no_gist_and_no_notice() -> None:
    zh_title, zh_text = zh_seed()
    done = replace(_article(1, zh_title, zh_text, "zh-Hant", translation=TranslationState.DONE).article,
                   title_en="Evading US chip export controls: a black market forms in China")
    stored = StoredArticle(id=1, article=done, feeds=(done.feed_url,))
    digest = build_digest([stored], [], now=NOW, since=None, timezone="UTC", watchlists=default_watchlists(),
                          glossary=Glossary(default_watchlists()))
    item = digest.sections[0].items[0]
    assert item.gist is None and item.original_title == zh_title and not digest.missing_models


def test_the_html_part_stays_under_the_budget_and_counts_what_it_leaves_out() -> None:
    sv_title, sv_text = sv_seed()
    words = [*sv_title.split(), "Kina", "Nvidia", "tull", "hamn", "polis", "bolag", "lager", "order", "frakt"]
    many = [_article(i, " ".join(random.Random(i).sample(words, 8)) + f" {i}", sv_text, "sv", day=1 + i % 28)
            for i in range(1, 121)]
    many += [_passing(1000 + i, day=1 + i % 28) for i in range(40)]
    digest = build_digest(many, [], now=NOW, since=None, timezone="UTC", watchlists=default_watchlists())
    unbounded = render_digest(digest, subject="x", budget=10**9).html
    assert len(unbounded.encode()) > 100_000  # the test needs a digest that would be clipped
    rendered = render_digest(digest, subject="x")
    assert len(rendered.html.encode()) <= 95_000
    assert "more mention" in rendered.html and "more stor" in rendered.html  # counted, not shown


def test_hits_of_a_mention_are_kept() -> None:
    article = _passing(1, day=1).article
    assert article.mentioned and {h.term for h in article.hits} == {"restriction*", "chip*"}
    assert all(h.field == "text" and "restrictions" in h.snippet for h in article.hits)


def test_a_translated_item_shows_its_snippets_in_english() -> None:
    text = "Inledning om marknaden.\n\nFyra män åtalas. De smugglade chip från Nvidia till Kina via Singapore.\n\nSlut."
    text_en = "Introduction on the market.\n\nFour men are charged. They smuggled Nvidia chips to China via " \
              "Singapore.\n\nEnd."
    stored = _article(1, "Smugglade chip till Kina", text, "sv", translation=TranslationState.DONE)
    done = replace(stored.article, title_en="Smuggled chips to China", text_en=text_en)
    digest = build_digest([StoredArticle(id=1, article=done, feeds=stored.feeds)], [], now=NOW, since=None,
                          timezone="UTC", watchlists=default_watchlists())
    item = digest.sections[0].items[0]
    [english] = item.snippets_en  # the sentences of the snippet's paragraph that the snippet covers
    assert "They smuggled Nvidia chips to China via Singapore." in english
    assert "Introduction" not in english and "End." not in english
    html = render_digest(digest, subject="x").html
    assert html.index("They smuggled Nvidia chips") < html.index("smugglade")


def test_items_link_to_their_page_when_the_web_interface_has_an_address() -> None:
    sv_title, sv_text = sv_seed()
    stored = _article(7, sv_title, sv_text, "sv")
    digest = build_digest([stored], [], now=NOW, since=None, timezone="UTC", watchlists=default_watchlists(),
                          page_base="https://monitor.example.org")
    assert digest.sections[0].items[0].page_url == "https://monitor.example.org/article/7"
    rendered = render_digest(digest, subject="x")
    assert 'href="https://monitor.example.org/article/7"' in rendered.html
    assert "in monitor: https://monitor.example.org/article/7" in rendered.text
    plain = build_digest([stored], [], now=NOW, since=None, timezone="UTC", watchlists=default_watchlists())
    assert plain.sections[0].items[0].page_url is None
