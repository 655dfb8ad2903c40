"""Watchlists: the shipped chip-export-controls list, the rule language, YAML errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from monitor.errors import WatchlistError
from monitor.models import WatchlistMatch
from monitor.watchlists import match
from monitor.watchrules import Watchlist, default_watchlists, load_watchlist_file, parse_watchlist_node
from tests.support.seedtext import sv_seed, zh_seed


def watchlist(source: str) -> Watchlist:
    node = yaml.compose(textwrap.dedent(source), Loader=yaml.SafeLoader)
    assert node is not None
    return parse_watchlist_node(node, "inline.yaml")


def one(wl: Watchlist, title: str, text: str = "", language: str = "en") -> WatchlistMatch:
    (result,) = match([wl], title, text, language)
    return result


def single_term(term: str) -> Watchlist:
    """A watchlist that flags on any occurrence of one term."""
    return watchlist(
        f"""
        name: t
        threshold: 1
        groups:
          g: [{term}]
        rules:
          - all: [g]
        """
    )


def matched_words(wl: Watchlist, text: str) -> bool:
    return one(wl, "", text).flagged


# -- the shipped watchlist and the seeds ---------------------------------------------------


def test_default_watchlist_loads() -> None:
    (wl,) = default_watchlists()
    assert wl.name == "chip-export-controls"
    assert wl.source.startswith("monitor/data/chip-export-controls.yaml:")
    assert {"export-control", "chip", "evasion", "named"} <= {g.name for g in wl.groups}


def test_swedish_seed_flags_with_quoted_hits() -> None:
    title, text = sv_seed()
    result = one(default_watchlists()[0], title, text, "sv")
    assert result.flagged
    snippets = " ".join(h.snippet for h in result.hits)
    for words in ("smuggelchips", "exportrestriktioner", "smugglade", "H20"):
        assert words in snippets
    title_hits = [h for h in result.hits if h.field == "title"]
    assert title_hits and all(h.snippet == title for h in title_hits)
    assert {"exportrestriktion*", "smuggel*"} <= {h.term for h in result.hits}


def test_dw_traditional_seed_flags_with_original_characters_in_snippets() -> None:
    title, text = zh_seed()
    result = one(default_watchlists()[0], title, text, "zh-Hant")
    assert result.flagged
    snippets = " ".join(h.snippet for h in result.hits)
    for words in ("出口管制", "英偉達", "A100晶片", "黑市"):
        assert words in snippets  # the original traditional text, not the folded form
    assert "出口管制" in {h.term for h in result.hits}


def test_hits_record_watchlist_field_and_a_short_collapsed_snippet() -> None:
    title, text = sv_seed()
    for hit in one(default_watchlists()[0], title, text, "sv").hits:
        assert hit.watchlist == "chip-export-controls"
        assert hit.field in {"title", "text"}
        assert len(hit.snippet) <= 162
        assert "\n" not in hit.snippet and "  " not in hit.snippet


@pytest.mark.parametrize(
    ("title", "text", "language"),
    [
        ("US adds chipmakers to Entity List", "", "en"),
        ("Japan restricts exports of chipmaking equipment to China", "", "en"),
        ("", "Four men were charged with smuggling Nvidia H100 GPUs to China via Malaysia.", "en"),
        ("Nya exportkontroller för halvledare", "", "sv"),
        ("美国将长江存储列入实体清单", "", "zh-Hans"),
        ("荷蘭限制出口先進光刻機", "荷蘭政府宣布出口管制，ASML的DUV光刻機需申請許可證。", "zh-Hant"),
    ],
)
def test_default_watchlist_flags_typical_stories(title: str, text: str, language: str) -> None:
    assert one(default_watchlists()[0], title, text, language).flagged


# The kinds of story a domain expert files under chip export controls beyond "US curbs Nvidia to
# China", each in every language the monitor reads (headline and lead, as feeds carry them).
STORY_KINDS = {
    "chips in Russian and Iranian weapons": [
        ("Western chips found in Russian drones", "Investigators found US-made microchips inside the Shahed drones "
         "that Russia launched at Kyiv, despite sanctions.", "en"),
        ("Amerikanska chip hittade i ryska robotar", "Västerländska komponenter och halvledare från USA sitter i de "
         "kryssningsrobotar som Ryssland avfyrar mot Ukraina.", "sv"),
        ("俄罗斯导弹中发现美国芯片", "调查人员在俄军发射的导弹残骸中发现了多枚美国制造的芯片。", "zh-Hans"),
        ("伊朗無人機使用西方晶片", "報告指出，伊朗無人機內的晶片多數來自美國和歐洲企業。", "zh-Hant"),
    ],
    "procurement networks and transshipment": [
        ("Procurement network shipped chips to Russia through Hong Kong", "Front companies in Hong Kong and "
         "Turkey bought semiconductors from distributors and re-exported them to Russian buyers.", "en"),
        ("Bulvanföretag skickade chip till Ryssland", "Mellanhänder i Turkiet köpte halvledare och skickade dem "
         "vidare till ryska försvarsindustrin.", "sv"),
        ("空壳公司向俄罗斯转运芯片", "调查显示，多家空壳公司经第三国向俄罗斯转运西方芯片。", "zh-Hans"),
    ],
    "measures taken by China": [
        ("Beijing tells tech firms to stop buying Nvidia chips", "China's internet regulator told ByteDance and "
         "Alibaba to stop purchasing Nvidia's RTX Pro 6000D.", "en"),
        ("Kina säger åt techbolag att sluta köpa Nvidias chip", "Kinesiska myndigheter har bett bolagen att sluta "
         "köpa chip från Nvidia.", "sv"),
        ("中国要求企业停止购买英伟达芯片", "网信办要求字节跳动等公司停止采购英伟达的RTX Pro 6000D芯片。", "zh-Hans"),
        ("中國限制鎵和鍺出口", "中國商務部宣布對鎵、鍺相關物項實施出口管制。", "zh-Hant"),
        ("China curbs exports of gallium and germanium", "Beijing imposed export controls on two metals used in "
         "chipmaking.", "en"),
    ],
    "enforcement technology": [
        ("US hides trackers in AI chip shipments", "US authorities secretly placed location trackers in selected "
         "shipments of Nvidia and AMD servers to detect diversion to China.", "en"),
        ("USA gömmer spårsändare i chipleveranser", "Amerikanska myndigheter har placerat spårsändare i "
         "leveranser av AI-chip för att upptäcka smuggling till Kina.", "sv"),
        ("美国在AI芯片出货中暗装追踪器", "美国当局在部分英伟达服务器的出货中放置了追踪器。", "zh-Hans"),
    ],
    "technology theft prosecuted": [
        ("Engineer charged with stealing chipmaking secrets for Russia", "The Justice Department said the engineer "
         "took trade secrets on semiconductor manufacturing to a Russian firm.", "en"),
        ("Ingenjör åtalas för att ha stulit halvledarteknik till Ryssland", "Åklagaren menar att mannen tog "
         "företagshemligheter om chiptillverkning med sig.", "sv"),
        ("前工程师窃取芯片制造技术被起诉", "检方指控他把半导体制造的商业秘密带到了俄罗斯。", "zh-Hans"),
    ],
    "Huawei and ZTE measures": [
        ("US revokes licences for Intel and Qualcomm to supply Huawei", "The Commerce Department pulled the "
         "licences that let Intel and Qualcomm sell chips to Huawei.", "en"),
        ("USA drar in licenser för chipförsäljning till Huawei", "Handelsdepartementet drog in licenser som lät "
         "Intel sälja processorer till Huawei.", "sv"),
        ("美国停止向华为发放出口许可证", "美国商务部吊销许可，英特尔和高通不再能向华为供应芯片。", "zh-Hans"),
        ("台積電停止供貨華為", "美國新規生效後，台積電停止為華為海思代工晶片。", "zh-Hant"),
    ],
}


@pytest.mark.parametrize(("title", "text", "language"),
                         [case for cases in STORY_KINDS.values() for case in cases])
def test_default_watchlist_flags_the_wider_kinds_of_story(title: str, text: str, language: str) -> None:
    result = one(default_watchlists()[0], title, text, language)
    assert result.flagged, result.reasons


# What sounds like chip export controls and is not.
NOT_CHIP_CONTROLS = [
    ("US adds Chinese firms to Entity List over spy balloon", "The Commerce Department added six aerospace firms "
     "that support the PLA's balloon programme to the Entity List.", "en"),
    ("Sanctions explained: what the Entity List, the SDN list and export bans do", "An overview of the tools "
     "Washington uses against Iran, Russia and North Korea, from the Entity List to visa bans.", "en"),
    ("China tightens export controls on rare earths", "Rare earth magnets are used in cars, wind turbines and "
     "chips, and Beijing's new licence rules worry carmakers.", "en"),
    ("Man caught smuggling 200 CPUs to dodge import duties", "Customs officers at Shenzhen found processors "
     "strapped to his body; he wanted to evade import duties.", "en"),
    ("US adds chipmaker to investment blacklist", "The Pentagon's 1260H list of Chinese military companies now "
     "names the chip firm, barring investors from buying its shares.", "en"),
    ("Kina skärper exportkontrollen av sällsynta jordartsmetaller", "Magneter av sällsynta jordartsmetaller "
     "används i bilar och chip.", "sv"),
    ("中国加强稀土出口管制", "稀土永磁广泛用于汽车、风机和芯片，新规要求出口许可证。", "zh-Hans"),
    ("海关查获走私CPU案", "旅客为偷逃税款，将二百枚CPU处理器绑在身上入境，被海关查获。", "zh-Hans"),
    ("美国将中国军事企业列入投资黑名单", "清单中包括一家芯片公司，美国投资者被禁止投资。", "zh-Hans"),
    ("Intel hits back at China's accusations it bakes in NSA backdoors", "Intel has responded to Chinese claims "
     "that its chips include security backdoors.", "en"),
]


@pytest.mark.parametrize(("title", "text", "language"), NOT_CHIP_CONTROLS)
def test_default_watchlist_leaves_what_only_sounds_like_chip_controls(title: str, text: str, language: str) -> None:
    result = one(default_watchlists()[0], title, text, language)
    assert not result.flagged, result.reasons


@pytest.mark.parametrize(
    ("title", "text", "language"),
    [
        ("Nvidia reports record data center revenue", "Demand for its H100 GPUs keeps growing.", "en"),
        ("China tightens rare earth export controls", "Magnet makers and carmakers fear shortages.", "en"),
        ("Blue-chip stocks fall as new sanctions on Russia bite", "", "en"),
        ("Ukrainians smuggle drones into Russia", "", "en"),
        ("Regeringen inför restriktioner mot Kina", "Resenärer från Kina måste visa negativt test.", "sv"),
        ("三星扩大对华芯片出口", "三星对中国科技公司的芯片出口增长。", "zh-Hans"),
    ],
)
def test_default_watchlist_leaves_hard_negatives(title: str, text: str, language: str) -> None:
    assert not one(default_watchlists()[0], title, text, language).flagged


# -- words, compounds, case --------------------------------------------------------------


def test_whole_words_for_latin_scripts() -> None:
    wl = single_term("pagan")
    assert not matched_words(wl, "Chatbots parrot propaganda")
    assert matched_words(wl, "a pagan festival")
    assert not matched_words(single_term("ban"), "urban sprawl")
    assert not matched_words(single_term("ban"), "banks")
    assert matched_words(single_term("ban"), "a US ban on chips")
    assert matched_words(single_term("export control"), "under new export-control rules")
    assert not matched_words(single_term("export control"), "under new export-controls")
    assert matched_words(single_term("export control*"), "under new export-controls")


def test_exact_case_acronym() -> None:
    wl = single_term("{term: BIS, exact_case: true}")
    assert matched_words(wl, "the BIS rule")
    assert matched_words(wl, "美国BIS发布新规")  # Latin next to CJK is still a word edge
    for text in ("BISON herds", "a bis repetition", "Bis", "XBIS"):
        assert not matched_words(wl, text), text


def test_latin_matching_is_case_insensitive_by_default() -> None:
    assert matched_words(single_term("Entity List"), "added to the ENTITY LIST today")


def test_swedish_compounds_with_wildcards() -> None:
    stem = single_term("exportrestriktion*")
    assert matched_words(stem, "de nya exportrestriktionerna")
    assert matched_words(stem, "exportrestriktioner mot Kina")
    assert not matched_words(stem, "importrestriktioner")
    suffix = single_term('"*chips"')
    assert matched_words(suffix, "Tio miljarder i smuggelchips")
    assert not matched_words(single_term("chips"), "Tio miljarder i smuggelchips")
    result = one(suffix, "", "Tio miljarder i smuggelchips – på bara tre månader")
    assert "smuggelchips" in result.hits[0].snippet


def test_space_and_hyphen_variants() -> None:
    wl = single_term("AI chip")
    for text in ("AI chip", "AI-chip", "AI\nchip", "AI  -  chip"):
        assert matched_words(wl, text), text
    assert matched_words(single_term("chip-making"), "chipmaking tools")
    assert matched_words(single_term("AI芯片"), "美国限制 AI 芯片出口")


def test_full_width_latin_is_folded() -> None:
    assert matched_words(single_term("A100"), "英伟达Ａ１００芯片")


# -- simplified / traditional folding ------------------------------------------------------


@pytest.mark.parametrize(
    ("term", "text"),
    [
        ("实体清单", "列入美國商務部實體清單"),
        ("實體清單", "列入美国商务部实体清单"),
        ("英伟达", "輝達與英偉達是同一家公司"),
        ("光刻机", "荷蘭限制出口先進光刻機"),
        ("半導體", "半导体设备出口"),
    ],
)
def test_simplified_and_traditional_fold_both_ways(term: str, text: str) -> None:
    assert matched_words(single_term(term), text)


def test_fold_keeps_original_characters_in_snippet() -> None:
    result = one(single_term("实体清单"), "", "福建晉華被列入實體清單。", "zh-Hant")
    assert result.hits[0].snippet == "福建晉華被列入實體清單。"


# -- rules: AND, proximity, NOT, threshold, title weight, caps --------------------------------

RULES = """
name: rules
threshold: 2
title_weight: 2
groups:
  control: [export control*, 出口管制]
  chip: [chip, chips, 芯片]
  cyber: [HTML smuggling]
  smuggle: [smuggl*]
  oil: [oil]
rules:
  - name: near
    all: [control, chip]
    within: 5
    within_chars: 10
    weight: 2
  - name: smuggling
    all: [smuggle, chip]
    within: 5
    not: [cyber]
    weight: 2
not: [oil]
"""


def test_and_of_groups_with_proximity_in_words() -> None:
    wl = watchlist(RULES)
    assert one(wl, "", "New export controls on chips were announced.").flagged
    filler = " ".join(["word"] * 30)
    assert not one(wl, "", f"New export controls were announced. {filler} Chips sold well.").flagged
    assert not one(wl, "", "New export controls were announced.").flagged


def test_proximity_in_characters_for_cjk() -> None:
    wl = watchlist(RULES)
    assert one(wl, "", "美国出口管制涉及芯片", "zh-Hans").flagged
    far = "美国出口管制" + "这是一段与主题无关的很长的文字" * 2 + "芯片"
    assert not one(wl, "", far, "zh-Hans").flagged


def test_not_terms_near_the_match_cancel_it() -> None:
    wl = watchlist(RULES)
    assert one(wl, "", "Chip smuggling ring broken up").flagged
    assert not one(wl, "", "An HTML smuggling attack on a chip maker").flagged


def test_watchlist_level_not_vetoes_the_article() -> None:
    result = one(watchlist(RULES), "", "Export controls on chips and oil")
    assert not result.flagged
    assert result.score >= 2
    assert any("not:" in reason for reason in result.reasons)


def test_threshold_and_title_weight() -> None:
    wl = watchlist(RULES.replace("threshold: 2", "threshold: 3"))
    body = one(wl, "Markets", "Export controls on chips.")
    assert (body.flagged, body.score) == (False, 2.0)
    title = one(wl, "Export controls on chips", "Markets.")
    assert (title.flagged, title.score) == (True, 4.0)


def test_repeats_are_capped_by_max_count() -> None:
    wl = watchlist(RULES)
    text = " ".join(["Export controls on chips."] * 10)
    assert one(wl, "", text).score == 6.0  # weight 2, counted at most 3 times (default)


def test_match_gives_one_result_per_watchlist_and_is_pure() -> None:
    lists = (watchlist(RULES), *default_watchlists())
    first = match(lists, "Export controls on chips", "", "en")
    assert [m.watchlist for m in first] == ["rules", "chip-export-controls"]
    assert first == match(lists, "Export controls on chips", "", "en")


# -- YAML errors name file:line and field ----------------------------------------------------


def error_for(source: str, tmp_path: Path) -> WatchlistError:
    path = tmp_path / "lists.yaml"
    path.write_text(textwrap.dedent(source).lstrip(), encoding="utf-8")
    with pytest.raises(WatchlistError) as caught:
        load_watchlist_file(path)
    assert str(caught.value).startswith(f"{path}:")
    return caught.value


VALID = """
name: w
threshold: 1
groups:
  g: [chip]
rules:
  - all: [g]
"""


def test_valid_file_loads_as_a_tuple(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(VALID, encoding="utf-8")
    (wl,) = load_watchlist_file(path)
    assert wl.name == "w" and wl.source == f"{path}:2"
    path.write_text(f"- {VALID.strip().replace(chr(10), chr(10) + '  ')}\n", encoding="utf-8")
    assert [w.name for w in load_watchlist_file(path)] == ["w"]


def test_bad_yaml(tmp_path: Path) -> None:
    err = error_for("name: w\ngroups:\n  g: [chip\nrules: []\n", tmp_path)
    assert err.line is not None and err.line >= 3
    assert "invalid YAML" in err.message


def test_typo_key_is_an_error_with_a_suggestion(tmp_path: Path) -> None:
    err = error_for(VALID.replace("threshold: 1", "treshold: 1"), tmp_path)
    assert (err.line, err.field) == (2, "treshold")
    assert err.hint is not None and "threshold" in err.hint


def test_unknown_key_in_a_rule(tmp_path: Path) -> None:
    err = error_for(VALID.replace("  - all: [g]", "  - all: [g]\n    whithin: 3"), tmp_path)
    assert (err.line, err.field) == (7, "rules[0].whithin")
    assert err.hint is not None and "within" in err.hint


def test_wrong_types(tmp_path: Path) -> None:
    err = error_for(VALID.replace("threshold: 1", "threshold: high"), tmp_path)
    assert (err.line, err.field) == (2, "threshold")
    err = error_for(VALID.replace("  - all: [g]", "  - all: [g]\n    within: near"), tmp_path)
    assert (err.line, err.field) == (7, "rules[0].within")
    err = error_for(VALID.replace("  g: [chip]", "  g: chip"), tmp_path)
    assert (err.line, err.field) == (4, "groups.g")


def test_unknown_group_and_bad_term(tmp_path: Path) -> None:
    err = error_for(VALID.replace("all: [g]", "all: [gg]"), tmp_path)
    assert (err.line, err.field) == (6, "rules[0].all[0]")
    err = error_for(VALID.replace("[chip]", "[chip, ex*port]"), tmp_path)
    assert (err.line, err.field) == (4, "groups.g[1]")


def test_missing_required_key(tmp_path: Path) -> None:
    err = error_for(VALID.replace("threshold: 1\n", ""), tmp_path)
    assert err.field == "threshold" and err.line == 1


def test_inline_node_errors_name_the_config_file() -> None:
    node = yaml.compose("watchlists:\n  - name: x\n    threshold: 0\n    groups: {g: [a]}\n    rules: [{all: [g]}]\n")
    assert node is not None
    item = node.value[0][1].value[0]
    with pytest.raises(WatchlistError) as caught:
        parse_watchlist_node(item, "feeds.yaml")
    assert str(caught.value).startswith("feeds.yaml:3: threshold:")


# -- two levels: alert and mention ---------------------------------------------------------


def test_levels_alert_mention_and_none() -> None:
    wl = watchlist(
        """
        name: t
        threshold: 2
        mention_threshold: 1
        groups:
          chip: [chip]
          ban: [ban]
          veto: [potato]
        rules:
          - all: [chip]
          - all: [ban]
        not: [veto]
        """
    )
    assert (one(wl, "", "chip ban").level, one(wl, "", "a chip").level, one(wl, "", "nothing").level) == (
        "alert", "mention", "none")
    assert one(wl, "", "a chip, potato").level == "none"  # a veto leaves no mention either
    assert "mention threshold 1" in one(wl, "", "a chip").reasons[-1]
    half = watchlist("name: h\nthreshold: 4\ngroups: {g: [x]}\nrules: [{all: [g]}]\n")
    assert half.mention_level == 2


def test_mention_threshold_above_the_threshold_is_an_error_naming_the_line() -> None:
    with pytest.raises(WatchlistError, match=r"inline.yaml:3: mention_threshold: 3 is above the threshold"):
        watchlist("name: t\nthreshold: 2\nmention_threshold: 3\ngroups: {g: [x]}\nrules: [{all: [g]}]\n")


def test_labels_name_groups_and_unknown_ones_are_errors() -> None:
    wl = watchlist("name: t\nthreshold: 1\ngroups: {g: [x]}\nrules: [{all: [g]}]\nlabels: {g: export control}\n")
    assert wl.label("g") == "export control" and wl.label("other") is None
    with pytest.raises(WatchlistError, match="unknown group 'h'"):
        watchlist("name: t\nthreshold: 1\ngroups: {g: [x]}\nrules: [{all: [g]}]\nlabels: {h: y}\n")
    [default] = default_watchlists()
    matched = {name for rule in default.rules for name in rule.all}  # what can put a term into the digest
    assert matched <= {name for name, _ in default.group_labels}
