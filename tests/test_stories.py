"""The story stage on its own: evidence that crosses languages, and the incremental index."""

from __future__ import annotations

import random
import sqlite3
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from monitor.stories import StoryIndex, StorySettings
from monitor.storyevidence import LEAD_CHARS, Evidence, evidence, is_roundup, specific

DAY = datetime(2025, 12, 8, tzinfo=UTC)
EN = ("Three charged with smuggling Nvidia H100 chips to China",
      "Prosecutor Nicholas Ganjei said Operation Gatekeeper seized H100 and H200 GPUs worth 160 million dollars.")
ZH = ("美國起訴走私輝達晶片", "檢察官Nicholas Ganjei表示，Operation Gatekeeper查獲H100與H200晶片，價值160百萬美元。")
SV = ("Tre åtalas för smuggling av Nvidiakort", "Åklagaren Nicholas Ganjei: Operation Gatekeeper, H100 och H200.")


def test_evidence_reads_codes_names_numbers_and_chinese_names() -> None:
    found = evidence(*ZH).pieces
    assert {"code:H100", "code:H200", "name:ganjei", "name:nvidia", "num:160"} <= found  # 輝達 -> nvidia
    assert "num:2025" not in evidence("In 2025", "").pieces  # years identify nothing
    assert not any(p.startswith("num:1") for p in evidence("H100", "").pieces)  # a code is not a number


def test_sums_of_money_are_one_piece_in_every_language() -> None:
    for title, text, language in (("", "goods worth $160 million were seized", "en"),
                                  ("", "till ett värde av 160 miljoner dollar", "sv"),
                                  ("", "價值至少1.6億美元的晶片", "zh-Hant"),
                                  ("", "US$0.16 billion in chips", "en")):
        assert "amt:1.60e+08" in evidence(title, text, language=language).pieces, text
    assert not any(p.startswith("amt:") for p in evidence("", "about 160 of them").pieces)
    for text, amount in (("$1,500 million", "amt:1.50e+09"), ("$1,500,000 was paid", "amt:1.50e+06"),
                         ("1 500 miljoner kronor", "amt:1.50e+09"), ("1,5 miljarder kronor", "amt:1.50e+09"),
                         ("$160 millions", "amt:1.60e+08")):  # thousands groups, Swedish decimal commas
        assert {p for p in evidence("", text).pieces if p.startswith("amt:")} == {amount}, text
    # a compound is read back to a table name only: Samsung is no compound of the text's "Sam"
    assert "name:samsung" in evidence("", "Igår talade Sam Altman med Samsung om chip.", language="sv").pieces


def test_capitalised_words_are_names_only_when_the_text_bears_it_out() -> None:
    title_case = evidence("Indictments Unmask Nvidia Chip Smuggling Plot",
                          "Prosecutors say the plot moved Nvidia chips through a smuggling ring.", language="en").pieces
    assert "name:nvidia" in title_case
    assert not {"name:indictments", "name:unmask", "name:plot", "name:chip", "name:smuggling"} & title_case
    swedish = evidence("Tre åtalas för smuggling av Nvidiakort",
                       "Beslutet kom i går. Enligt åklagaren har Nvidias kort smugglats via Hongkong.",
                       language="sv").pieces
    assert {"name:nvidia", "name:hongkong"} <= swedish  # genitive and compound read back to the name
    assert not {"name:tre", "name:beslutet", "name:nvidiakort", "name:nvidias"} & swedish
    assert "name:hongkong" in evidence("", "shipped through Hong Kong, prosecutors said").pieces  # = Hongkong
    # what a web page leaves in the text (image addresses, inline data, links) names nothing
    junk = evidence("", "![cover](https://mmbiz.qpic.cn/8cu01Kavc5ZfQyxZkVklhfE1CicQuR37An/0?wx_fmt=jpeg) "
                        "[Read more](https://example.org/Xyzzy) data:image/png;base64,QWxhZGRpbjpvcGVu").pieces
    assert junk <= {"name:read"}, junk


def test_terms_count_in_every_language_and_a_chinese_lead_is_read_to_half() -> None:
    english = evidence("China to curb exports", "Exports of gallium and germanium need a licence.", language="en")
    swedish = evidence("Kina begränsar export", "Exporten av galliumet och germanium kräver licens.", language="sv")
    chinese = evidence("中國對鎵、鍺相關物項實施出口管制", "商務部公告。", language="zh-Hant")
    for found in (english, swedish, chinese):
        assert {"term:gallium", "term:germanium"} <= found.pieces, found.pieces
    assert "term:antimony" in evidence("", "Kina stoppar export av antimon.", language="sv").pieces
    metals = [evidence("", text).pieces for text in ("China adds tungsten and tellurium to its export controls.",
                                                      "Kina inför exportkontroll på volfram och tellur.",
                                                      "中國對鎢、碲實施出口管制。")]
    assert all({"term:tungsten", "term:tellurium"} <= found for found in metals), metals
    assert not any(p.startswith("term:") for p in evidence("", "the galliumarsenide of gallia").pieces)
    # names count only where written as names: "in honor of" and "a 5 micron process" name no firm
    assert not {"name:honor", "name:micron"} & evidence("", "Held in honor of a 5 micron process.").pieces
    assert not specific("name:skhynix") and specific("term:gallium")  # SK hynix: an everyday name, like Samsung
    late = "x" * int(LEAD_CHARS * 0.6)  # a name after 60 % of the lead: read in English, not in Chinese
    assert "name:ganjei" in evidence("", f"{late} Ganjei said.", language="en").pieces
    chinese_late = "据报道" * int(LEAD_CHARS * 0.2) + "Ganjei表示。"
    assert "name:ganjei" not in evidence("", chinese_late, language="zh-Hant").pieces


def test_a_roundup_joins_no_story_but_its_own_copy() -> None:
    for title in ("OpenAI 发布 o3；小米 YU7 曝光；雷军招募人才 | 极客早知道",
                  "FreeBuf周报 | GPU出口限制导致DeepSeek研发受阻；美国顶尖红队竟是一台AI机器人",
                  "FreeBuf早報 | 百事可樂供應商遭勒索攻擊",  # traditional, one item
                  "36氪快讯丨英伟达获准出口H20；苹果发新品",
                  "Daily Brief: Nvidia cleared to sell H20; Apple launches iPhone"):
        assert is_roundup(title), title
    for title in ("Intel expected to lay off 15% of workforce; impact on New Albany plant unclear",
                  "US tightens chip curbs; Nvidia shares fall | Reuters",
                  "美国发布芯片出口管制新规：限制HBM出口；新增140家实体；管控半导体设备",  # one rule, its parts
                  "联合早报 | 美国起诉走私英伟达芯片", "美国起诉走私英伟达芯片 | 自由时报"):
        assert not is_roundup(title), title
    index = StoryIndex()
    for i in range(20):
        index.add(100 + i, DAY, evidence(f"Filler {i}", f"Markets moved {i} points at Volvo{i} and Ericsson{i}."))
    story = index.add(1, DAY, evidence(*EN))
    roundup = ("美國起訴走私輝達晶片；蘋果發新品；小米汽車上市 | 極客早知道", ZH[1] + " 蘋果發布新品。小米汽車上市。")
    first = index.add(2, DAY, evidence(*roundup))  # it carries the Gatekeeper item, but is no one event's story
    assert index.score(evidence(*roundup), evidence(*EN)) == 0 and first != story
    assert index.add(3, DAY, evidence(roundup[0], roundup[1] + " 更正。")) == first  # a second capture of it


def test_a_story_does_not_pull_in_what_comes_weeks_after_its_event() -> None:
    """Average link over every member kept, those out of the window counting as no match: a story
    whose latest member is close cannot pull in an article that is weeks away from the rest."""
    index = StoryIndex()
    for i in range(20):
        index.add(100 + i, DAY, evidence(f"Filler {i}", f"Markets moved {i} points at Volvo{i} and Ericsson{i}."))
    event = Evidence(frozenset({"name:gallium", "name:germanium", "name:mofcom", "num:8"}), "", None)
    early = [index.add(i, DAY + timedelta(days=i), event) for i in (1, 2)]
    late_member = index.add(3, DAY + timedelta(days=15), event, fuzz=15.0)  # a month-only date: July
    assert early[0] == early[1] == late_member
    curbs_begin = Evidence(frozenset({"name:gallium", "name:germanium", "name:japan", "num:23"}), "", None)
    assert index.score(curbs_begin, event) >= StorySettings().threshold  # close to the month-only member alone
    assert index.add(4, DAY + timedelta(days=22), curbs_begin) != late_member
    assert index.add(5, DAY + timedelta(days=3), curbs_begin) == late_member  # inside the window it joins


def test_a_follow_up_just_past_a_busy_storys_first_hour_still_joins() -> None:
    """Members a little more than the window away are left out of the average (not counted as no
    match): six reports in the first hour, two on day 3, and a follow-up on day 4.5 joins."""
    index = StoryIndex()
    for i in range(20):
        index.add(100 + i, DAY, evidence(f"Filler {i}", f"Markets moved {i} points at Volvo{i} and Ericsson{i}."))
    first = [index.add(i, DAY + timedelta(minutes=i), evidence(*EN)) for i in range(6)]
    later = [index.add(10 + i, DAY + timedelta(days=3), evidence(*ZH)) for i in range(2)]
    assert len(set(first + later)) == 1
    assert index.add(20, DAY + timedelta(days=4, hours=12), evidence(*SV)) == first[0]


def test_one_close_member_does_not_chain_two_events() -> None:
    """Average link: C matches B well enough but shares nothing with A, so it does not join A and
    B's story (single link would have chained it in)."""
    index = StoryIndex()
    for i in range(20):  # an archive, so that rarity means something
        index.add(100 + i, DAY, evidence(f"Filler {i}", f"Markets moved {i} points at Volvo{i} and Ericsson{i}."))
    first = evidence("", "Sophgo and Huawei Ascend 910B: TechInsights found the TSMC die.")
    second = evidence("", "TechInsights: the Huawei Ascend 910B holds a TSMC die made for Sophgo. Bitmain denies "
                          "it; the Cambricon MLU370 is different.")
    third = evidence("", "Bitmain and Cambricon MLU370 shipments rose in Shenzhen, Moore Threads said.")
    a, b = index.add(1, DAY, first), index.add(2, DAY, second)
    close, none = index.score(third, second), index.score(third, first)
    assert close >= StorySettings().threshold > (close + none) / 2 and none == 0
    assert a == b and index.add(3, DAY, third) != b


def test_the_same_event_in_three_languages_is_one_story_and_a_later_one_is_not() -> None:
    index = StoryIndex()
    filler = [("Football results", "Arsenal won against Chelsea."), ("Weather", "Rain in Stockholm today."),
              ("Markets", "Shares of Volvo rose.")]
    for i, (t, x) in enumerate(filler):
        index.add(100 + i, DAY, evidence(t, x))
    en = index.add(1, DAY, evidence(*EN))
    zh = index.add(2, DAY + timedelta(days=1), evidence(*ZH))
    sv = index.add(3, DAY + timedelta(days=1), evidence(*SV))
    assert en == zh == sv
    later = index.add(4, DAY + timedelta(days=30), evidence(*EN))  # the same words a month later: outside
    assert later != en
    assert index.add(5, DAY, evidence("Football results", "Arsenal won against Chelsea.")) != en


def test_the_same_text_twice_is_one_story_whatever_the_date() -> None:
    index = StoryIndex(StorySettings(window=1))
    body = "A long article body about nothing in particular. " * 10
    first = index.add(1, DAY, evidence("One", body))
    assert index.add(2, DAY + timedelta(days=40), evidence("Another title", body)) == first
    assert index.add(3, None, evidence("x", "y", url="https://a.example/1")) == index.add(
        4, None, evidence("z", "w", url="https://a.example/1"))


def test_what_the_index_forgets_it_forgets_whole() -> None:
    """The index keeps months, not everything: a text whose every copy has left it is forgotten
    (memory stays bounded in a daemon that runs for a year), while a copy still kept keeps it known."""
    index = StoryIndex(StorySettings(window=1))
    body = "A long article body about nothing in particular. " * 10
    first = index.add(1, DAY, evidence("One", body, url="https://a.example/1"))
    assert index.add(2, DAY + timedelta(days=50), evidence("Two", body)) == first  # a copy, kept later
    index.add(3, DAY + timedelta(days=100), evidence("Filler", "Arsenal won against Chelsea."))  # 1 leaves
    assert 1 not in index.members() and 2 in index.members()
    assert index.add(4, DAY + timedelta(days=101), evidence("Three", body)) == first  # copy 2 still kept
    assert index.add(5, DAY + timedelta(days=101), evidence("Four", "x", url="https://a.example/1")) != first
    index.add(6, DAY + timedelta(days=400), evidence("Filler", "Rain in Stockholm today."))  # all leave
    assert index.add(7, DAY + timedelta(days=400), evidence("Five", body)) != first
    assert list(index._by_print.values()) == [(index.members()[7], 7)] and not index._by_url  # only 7's text
    kept = index.members()  # and the lists that find candidates hold the kept articles only
    assert {s.key for held in index._by_piece.values() for s in held} <= set(kept)
    assert sorted(s.key for group in index._members.values() for s in group) == sorted(kept)
    # rarity is counted over the kept articles: nothing of the ones gone stays in the counts
    assert index._docs == len(kept) and index._df == Counter(p for s in index._recent for p in s.evidence.pieces)
    assert "name:arsenal" not in index._df and index.weight("name:arsenal") > index.weight("name:stockholm")


def test_fetch_places_articles_in_stories_and_export_carries_them(fetched_template, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The digest site through the real CLI: PS, its mirror and the syndicated copy are one story
    (same event, the mirror under another URL), DW and the wire are stories of their own."""
    import json
    import subprocess
    import sys

    from tests.support import seedsite
    from tests.support.digestsite import copy_fetched

    config = copy_fetched(fetched_template, tmp_path, "")
    rows = [json.loads(line) for line in subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), "export"], capture_output=True, text=True,
        timeout=60, check=True).stdout.splitlines()]
    assert rows and all(r["story"] is not None for r in rows)  # `fetch` ran the story stage
    by_title = {r["title"]: r for r in rows}
    ps = by_title[seedsite.dagens_ps().title]
    mirror = next(r for r in rows if r["feed"] == "Mirror")
    assert mirror["story"] == ps["story"] and ps["story_size"] == mirror["story_size"] >= 2
    dw = by_title[seedsite.dw_chinese().title]
    assert dw["story"] != ps["story"] and dw["story_size"] == 1


def test_the_stage_reads_only_what_is_new_and_never_reassigns(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Over a real SQLite store: a run places what has no story; a later run, with its index kept,
    puts a copy of an earlier article into that article's story and leaves the others as they were."""
    from monitor.models import Article, LanguageResult, TextSource
    from monitor.storage import Store
    from monitor.storyrun import StoryStage

    def article(key: str, title: str, text: str, day: int) -> Article:
        return Article(key=key, feed_url="https://f.example/feed", feed_name="f", url=f"https://f.example/{key}",
                       title=title, text=text, text_source=TextSource.PAGE, published=DAY + timedelta(days=day),
                       fetched=DAY + timedelta(days=day), language=LanguageResult("en", 1.0, "t"))

    with Store(tmp_path / "m.sqlite3") as store:
        first = store.save_article(article("a", *EN, 0))
        other = store.save_article(article("b", "Football results", "Arsenal won against Chelsea. " * 10, 0))
        stage = StoryStage()
        assert stage.run(store, DAY).assigned == 2
        copy = store.save_article(article("c", "Copy: " + EN[0], EN[1], 1))
        zh = store.save_article(article("d", *ZH, 1))
        run = stage.run(store, DAY + timedelta(days=1))
        assert (run.assigned, run.joined) == (2, 2)
        assert store.article(copy).story == store.article(zh).story == first  # type: ignore[arg-type]
        assert store.article(other).story == other and store.article(first).story_size == 3  # type: ignore[arg-type]
        assert stage.run(store, DAY + timedelta(days=2)).assigned == 0


def test_one_article_dated_years_ahead_does_not_empty_the_index(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A feed's wrong date (2099) counts as the fetch time for stories: the stage's index keeps
    the articles before it, and the next report of their event still joins their story."""
    from monitor.models import Article, LanguageResult, TextSource
    from monitor.storage import Store
    from monitor.storyrun import StoryStage

    def article(key: str, title: str, text: str, published: datetime, fetched: datetime) -> Article:
        return Article(key=key, feed_url="https://f.example/feed", feed_name="f", url=f"https://f.example/{key}",
                       title=title, text=text, text_source=TextSource.PAGE, published=published,
                       fetched=fetched, language=LanguageResult("en", 1.0, "t"))

    with Store(tmp_path / "m.sqlite3") as store:
        stage = StoryStage()
        for i in range(5):
            store.save_article(article(f"f{i}", f"Filler {i}", f"Markets moved {i} points at Volvo{i}.", DAY, DAY))
        first = store.save_article(article("a", *EN, DAY, DAY))
        stage.run(store, DAY)
        store.save_article(article("bogus", "Football results", "Arsenal won. " * 20,
                                   datetime(2099, 1, 1, tzinfo=UTC), DAY + timedelta(hours=1)))
        stage.run(store, DAY + timedelta(hours=1))
        zh = store.save_article(article("d", *ZH, DAY + timedelta(days=1), DAY + timedelta(days=1)))
        stage.run(store, DAY + timedelta(days=1))
        assert store.article(zh).story == first  # type: ignore[arg-type]


class _FullScan(StoryIndex):
    """The index scoring every story it keeps: what the inverted index must agree with."""

    def _candidates(self, found: Evidence) -> set[int]:
        return set(self._members)


def test_the_inverted_index_assigns_as_a_full_scan_would() -> None:
    """Random streams (undated articles, dates going back and jumping months, month-only dates,
    known and colliding story ids, repeated texts and URLs, roundups, everyday names, articles
    moved to another story): the
    candidates the inverted index finds give the same story as scoring every story kept."""
    vocabulary = [f"name:x{i}" for i in range(12)] + ["name:nvidia", "name:huawei", "code:H20", "num:10"]
    for seed in range(40):
        rng = random.Random(seed)
        settings = StorySettings(window=rng.choice([1.0, 4.0]), threshold=rng.choice([0.1, 0.3]),
                                 min_shared=rng.choice([1, 2]))
        fast, full = StoryIndex(settings), _FullScan(settings)
        t = DAY
        for i in range(250):
            t += timedelta(days=rng.choice([0, 0.3, 1, 2, 5, 30, -10]))
            when = None if rng.random() < 0.05 else t
            found = Evidence(frozenset(rng.sample(vocabulary, rng.randint(0, 5))),
                             rng.choice(["", "", "print-1", f"print-{i}"]), rng.choice([None, None, "https://a/1"]),
                             rng.random() < 0.05)
            known = rng.choice([None] * 8 + [rng.randint(1, 50)])
            new = rng.choice([None, None, i + 1000, rng.randint(1, 50)])
            fuzz = rng.choice([0.0, 0.0, 15.0])
            assert fast.add(i, when, found, known, fuzz, new) == full.add(i, when, found, known, fuzz, new), (seed, i)
            if rng.random() < 0.05:  # the store says another process placed one elsewhere
                moved, to = rng.choice(list(fast.members())), rng.randint(1, 60)
                fast.move(moved, to)
                full.move(moved, to)
                assert fast.members()[moved] == to
        kept = fast.members()
        with_specific = {s.key for s in fast._recent if any(specific(p) for p in s.evidence.pieces)}
        assert {s.key for held in fast._by_piece.values() for s in held} == with_specific
        assert sorted(s.key for group in fast._members.values() for s in group) == sorted(kept)
        assert all([s.order for s in group] == sorted(s.order for s in group) for group in fast._members.values())
        assert all(s.story == story for story, group in fast._members.items() for s in group)


def test_an_undated_article_does_not_stop_the_index_from_forgetting() -> None:
    index = StoryIndex()
    index.add(1, None, evidence("Undated", "Sophgo and Bitmain said nothing."))
    for day in range(0, 200, 10):
        index.add(100 + day, DAY + timedelta(days=day), evidence(f"Filler {day}", f"Volvo{day} rose."))
    assert 1 not in index.members() and 100 not in index.members() and 290 in index.members()


def test_a_story_threshold_of_zero_is_refused() -> None:
    with pytest.raises(ValueError, match="above 0"):
        StorySettings(threshold=0.0)


SMC_EN = ("Supermicro co-founder charged with smuggling servers to China",
          "Prosecutors said Supermicro co-founder Wally Liaw and two others diverted servers worth 2.5 billion "
          "dollars through Taiwan, hiding their destination from the company.")
SMC_ZH = ("超级微电脑联合创始人被控走私",
          "检察官表示，该公司联合创始人廖益贤等三人将价值25亿美元的服务器经台湾转运至中国。")
SMC_ZH_EN = ("Super Micro Computer co-founder Wally Liaw charged with smuggling",
             "Prosecutors said co-founder Wally Liaw and two others shipped servers worth $2.5 billion via Taiwan.")


def test_the_english_translation_brings_names_the_table_lacks() -> None:
    """A Chinese report naming its people and firm only in Chinese shares a sum of money with the
    English one, too little for a story; its English translation names them (Wally Liaw), and the
    two are one story. The original's pieces stay (the sum), an English article gains nothing."""
    alone = evidence(*SMC_ZH, language="zh-Hans")
    translated = evidence(*SMC_ZH, language="zh-Hans", english=SMC_ZH_EN)
    assert "amt:2.50e+09" in alone.pieces and not any(p.startswith("name:wally") for p in alone.pieces)
    assert {"amt:2.50e+09", "name:wally", "name:liaw", "name:wallyliaw"} <= translated.pieces
    assert evidence(*SMC_EN, language="en", english=SMC_ZH_EN) == evidence(*SMC_EN, language="en")

    def story(zh: Evidence) -> tuple[int, int]:
        index = StoryIndex()
        for i, (t, x) in enumerate([("Football results", "Arsenal won against Chelsea."),
                                    ("Markets", "Shares of Volvo rose 3 percent.")]):
            index.add(100 + i, DAY, evidence(t, x))
        return index.add(1, DAY, evidence(*SMC_EN, language="en")), index.add(2, DAY + timedelta(hours=6), zh)

    apart, together = story(alone), story(translated)
    assert apart[0] != apart[1] and together[0] == together[1]


def test_a_longer_chinese_name_is_read_once() -> None:
    """美超微 is Supermicro: the 超微 (AMD) inside it is no second name."""
    found = evidence("美超微被控走私服务器", "美超微股价下跌。", language="zh-Hans")
    assert "name:supermicro" in found.pieces and "name:amd" not in found.pieces
    assert "name:amd" in evidence("超微发布新芯片", "", language="zh-Hans").pieces


def test_taiwans_renderings_of_a_name_are_the_same_name() -> None:
    """科林研發 is Taiwan's name for Lam Research (the mainland writes 泛林); 印度尼西亞 is Indonesia,
    with no India inside it."""
    taiwan = evidence("科林研發遭美國調查", "科林研發與東京威力科創對印度尼西亞出貨。", language="zh-Hant")
    mainland = evidence("泛林集团", "泛林与东京电子。", language="zh-Hans")
    assert {"name:lamresearch", "name:tokyoelectron"} <= taiwan.pieces & mainland.pieces
    assert "name:indonesia" in taiwan.pieces and "name:india" not in taiwan.pieces


def test_an_article_waits_for_its_translation_before_its_story(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Over a real SQLite store: with translation on, a Chinese article still waiting for its
    translation waits for its story; once its English title is stored it joins the English report
    of its event; one whose translation never comes is placed once the wait is over."""
    from monitor.models import Article, LanguageResult, TextSource, TranslationState
    from monitor.settings import TranslationSettings
    from monitor.storage import Store
    from monitor.storyrun import TRANSLATION_WAIT, StoryStage, translation_wait

    def article(key: str, title: str, text: str, fetched: datetime, language: str) -> Article:
        return Article(key=key, feed_url="https://f.example/feed", feed_name="f", url=f"https://f.example/{key}",
                       title=title, text=text, text_source=TextSource.PAGE, published=fetched, fetched=fetched,
                       language=LanguageResult(language, 1.0, "t"),
                       translation=TranslationState.NOT_NEEDED if language == "en" else TranslationState.PENDING)

    on, off = TranslationSettings(tmp_path), TranslationSettings(tmp_path, enabled=False)
    assert translation_wait(on) == TRANSLATION_WAIT > timedelta(0) == translation_wait(off)
    with Store(tmp_path / "m.sqlite3") as store:
        stage = StoryStage()
        store.save_article(article("f", "Football results", "Arsenal won against Chelsea. " * 5, DAY, "en"))
        en = store.save_article(article("en", *SMC_EN, DAY, "en"))
        zh = store.save_article(article("zh", *SMC_ZH, DAY + timedelta(hours=1), "zh-Hans"))
        assert store.article(zh).article.translation is TranslationState.PENDING
        run = stage.run(store, DAY + timedelta(hours=1), translation_wait(on))
        assert (run.assigned, run.waiting) == (2, 1) and store.article(zh).story is None
        store.set_translation(zh, TranslationState.DONE, SMC_ZH_EN[0], None)
        run = stage.run(store, DAY + timedelta(hours=2), translation_wait(on))
        assert (run.assigned, run.joined, run.waiting) == (1, 1, 0)
        assert store.article(zh).story == en

        late = store.save_article(article("zh2", *SMC_ZH, DAY + timedelta(hours=3), "zh-Hans"))
        assert stage.run(store, DAY + timedelta(hours=3), translation_wait(on)).waiting == 1
        run = stage.run(store, DAY + timedelta(hours=3) + TRANSLATION_WAIT, translation_wait(on))
        assert (run.assigned, run.waiting) == (1, 0) and store.article(late).story is not None


def test_an_article_held_back_here_and_placed_by_another_worker_is_taken_in(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Two workers' stages over one store: A holds the Chinese report back (no translation yet),
    B places it once translated; A's index takes it in from the store, so the English report A
    places next joins its story. A placement whose write failed is written again, once."""
    from monitor.errors import MonitorError
    from monitor.models import Article, LanguageResult, TextSource, TranslationState
    from monitor.settings import TranslationSettings
    from monitor.storage import Store
    from monitor.storyrun import StoryStage, translation_wait

    def article(key: str, title: str, text: str, fetched: datetime, language: str) -> Article:
        return Article(key=key, feed_url="https://f.example/feed", feed_name="f", url=f"https://f.example/{key}",
                       title=title, text=text, text_source=TextSource.PAGE, published=fetched, fetched=fetched,
                       language=LanguageResult(language, 1.0, "t"),
                       translation=TranslationState.NOT_NEEDED if language == "en" else TranslationState.PENDING)

    wait = translation_wait(TranslationSettings(tmp_path))
    with Store(tmp_path / "m.sqlite3") as store:
        a, b = StoryStage(), StoryStage()
        store.save_article(article("f", "Football results", "Arsenal won against Chelsea. " * 5, DAY, "en"))
        zh = store.save_article(article("zh", *SMC_ZH, DAY, "zh-Hans"))
        store.save_article(article("m", "Markets", "Shares of Volvo rose 3 percent. " * 5, DAY, "en"))
        assert a.run(store, DAY, wait).waiting == 1
        store.set_translation(zh, TranslationState.DONE, SMC_ZH_EN[0], None)
        assert b.run(store, DAY + timedelta(minutes=5), wait).assigned == 1
        en = store.save_article(article("en", *SMC_EN, DAY + timedelta(hours=1), "en"))
        run = a.run(store, DAY + timedelta(hours=1), wait)
        assert (run.assigned, run.joined) == (1, 1) and store.article(en).story == store.article(zh).story == zh
        assert len(a.index) == 4  # each held once: the football, the Chinese, the markets, the English report

        again = store.save_article(article("again", "Copy: " + SMC_EN[0], SMC_EN[1], DAY + timedelta(hours=2), "en"))
        with sqlite3.connect(tmp_path / "m.sqlite3") as raw:  # the disk fills as the stories are written
            raw.execute("CREATE TRIGGER full BEFORE UPDATE OF story ON articles BEGIN "
                        "SELECT RAISE(ABORT, 'database or disk is full'); END")
        with pytest.raises(MonitorError, match="disk is full"):
            a.run(store, DAY + timedelta(hours=2), wait)  # placed in the index, but its write fails
        with sqlite3.connect(tmp_path / "m.sqlite3") as raw:
            raw.execute("DROP TRIGGER full")
        assert len(a.index) == 5 and store.article(again).story is None
        assert a.run(store, DAY + timedelta(hours=2), wait).assigned == 1
        assert len(a.index) == 5 and store.article(again).story == zh  # written again, not held twice


def test_where_another_worker_placed_an_article_first_its_story_stands(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A (monitor fetch, no wait) places the Chinese report as a story of its own, but its write
    fails; B waits for the translation and places it with the English report. A's next run takes
    the store's story: a copy of the Chinese report joins the English one, not A's lost story."""
    from monitor.errors import MonitorError
    from monitor.models import Article, LanguageResult, TextSource, TranslationState
    from monitor.storage import Store
    from monitor.storyrun import TRANSLATION_WAIT, StoryStage

    def article(key: str, title: str, text: str, fetched: datetime, language: str) -> Article:
        return Article(key=key, feed_url="https://f.example/feed", feed_name="f", url=f"https://f.example/{key}",
                       title=title, text=text, text_source=TextSource.PAGE, published=fetched, fetched=fetched,
                       language=LanguageResult(language, 1.0, "t"),
                       translation=TranslationState.NOT_NEEDED if language == "en" else TranslationState.PENDING)

    with Store(tmp_path / "m.sqlite3") as store:
        a, b = StoryStage(), StoryStage()
        store.save_article(article("f", "Football results", "Arsenal won against Chelsea. " * 5, DAY, "en"))
        en = store.save_article(article("en", *SMC_EN, DAY, "en"))
        a.run(store, DAY)
        b.run(store, DAY, TRANSLATION_WAIT)
        zh = store.save_article(article("zh", *SMC_ZH, DAY + timedelta(minutes=1), "zh-Hans"))
        with sqlite3.connect(tmp_path / "m.sqlite3") as raw:
            raw.execute("CREATE TRIGGER busy BEFORE UPDATE OF story ON articles BEGIN "
                        "SELECT RAISE(ABORT, 'database or disk is full'); END")
        with pytest.raises(MonitorError):
            a.run(store, DAY + timedelta(minutes=1))
        with sqlite3.connect(tmp_path / "m.sqlite3") as raw:
            raw.execute("DROP TRIGGER busy")
        assert a.index.members()[zh] == zh  # A's own story, never written
        store.set_translation(zh, TranslationState.DONE, SMC_ZH_EN[0], None)
        b.run(store, DAY + timedelta(minutes=5), TRANSLATION_WAIT)
        assert store.article(zh).story == en  # B was first: with the English report
        copy = store.save_article(article("zh-copy", "转载：" + SMC_ZH[0], SMC_ZH[1], DAY + timedelta(minutes=10),
                                          "zh-Hans"))
        assert a.run(store, DAY + timedelta(minutes=10)).assigned == 1
        assert store.article(copy).story == store.article(zh).story == en
        assert a.index.members()[zh] == en and len(a.index) == 4

