"""monitor.translation and monitor.sentences, against tiny random-weight Argos packages.

The packages are built by tests/argos_tiny.py once per session. Their output is
nonsense, so these tests check structure, determinism, batching and caching, not
wording. Real-model checks run only when MONITOR_ARGOS_PACKAGES names a folder of
installed real Argos packages (sv->en and/or zh->en).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from monitor.errors import ModelUnavailableError, TranslationError
from monitor.packages import argos_code, install_from_index, install_package_file, installed_pairs
from monitor.sentences import split_sentences
from monitor.translation import MemoryTranslationCache, Translator, install_command
from tests import argos_tiny

SV_ARTICLE = (
    "Tio miljarder i smuggelchips. Det gäller t.ex. grafikkretsar från Nvidia!\n"
    "\n"
    "Enligt bl.a. Reuters ökade handeln med 3.5 procent. Är det sant?\n"
    "Tullverket vill inte kommentera."
)
ZH_HANT = "規避美晶片出口管制。中國地下黑市成形！\n\n專家警告說，管制措施難以執行。"
ZH_HANS = "规避美晶片出口管制。中国地下黑市成形！\n\n专家警告说，管制措施难以执行。"


@pytest.fixture(scope="session")
def argos_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("argosmodels")
    return {code: argos_tiny.build_argosmodel(out, code, "en", seed=i) for i, code in enumerate(("sv", "zh"))}


@pytest.fixture
def packages_dir(tmp_path: Path, argos_files: dict[str, Path]) -> Path:
    target = tmp_path / "argos-packages"
    for path in argos_files.values():
        install_package_file(path, target)
    return target


@pytest.fixture
def translator(packages_dir: Path) -> Translator:
    return Translator(packages_dir, cache=MemoryTranslationCache())


class RecordingTranslator:
    """Wraps a ctranslate2.Translator and records every batch it is given."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.inputs: list[list[list[str]]] = []

    def translate_batch(self, source: list[list[str]], **kwargs: Any) -> Any:
        self.inputs.append(source)
        return self.inner.translate_batch(source, **kwargs)


def record(translator: Translator, pair: tuple[str, str]) -> RecordingTranslator:
    model = translator._models[pair]
    recorder = RecordingTranslator(model.translator)
    translator._models[pair] = dataclasses.replace(model, translator=recorder)
    return recorder


# -- sentence splitting ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        (
            "Det gäller t.ex. chip från Nvidia. Enligt bl.a. Reuters steg priset 3.5 procent! Sant? Ja.",
            "sv",
            ["Det gäller t.ex. chip från Nvidia.", "Enligt bl.a. Reuters steg priset 3.5 procent!", "Sant?", "Ja."],
        ),
        (
            "Dr. Smith of the U.S. Commerce Department spoke. Prices rose 3.5% in 2023. See example.com/a.b now.",
            "en",
            ["Dr. Smith of the U.S. Commerce Department spoke.", "Prices rose 3.5% in 2023.",
             "See example.com/a.b now."],
        ),
        ("”Vi följer reglerna.” Sedan kl. 14.30 i går.", "sv", ["”Vi följer reglerna.”", "Sedan kl. 14.30 i går."]),
        (
            "规避美晶片出口管制。中国地下黑市成形！真的吗？“是的。”他说；英伟达 3.5 版",
            "zh-Hans",
            ["规避美晶片出口管制。", "中国地下黑市成形！", "真的吗？", "“是的。”", "他说；", "英伟达 3.5 版"],
        ),
        ("It was 5 p.m. and he left", "en", ["It was 5 p.m. and he left"]),
        ("", "sv", []),
    ],
)
def test_split_sentences(text: str, language: str, expected: list[str]) -> None:
    assert split_sentences(text, language) == expected


def test_split_caps_long_sentences() -> None:
    long_sv = ", ".join(["en mycket lång bisats om exportkontroller"] * 40) + "."
    parts = split_sentences(long_sv, "sv", max_chars=200)
    assert len(parts) > 1 and all(len(p) <= 200 for p in parts)
    assert " ".join(parts) == long_sv  # cut at commas, nothing lost
    long_zh = "中" * 500
    assert [len(p) for p in split_sentences(long_zh, "zh-Hans")] == [150, 150, 150, 50]


# -- language codes, packages ------------------------------------------------------


def test_language_codes() -> None:
    assert [argos_code(c) for c in ("sv", "zh-Hans", "zh-Hant", "en-GB", "ZH_hant")] == ["sv", "zh", "zh", "en", "zh"]
    assert install_command("sv") == "monitor models install sv en"
    assert install_command("zh-Hant") == "monitor models install zh en"
    for bad in ("und", "", "x", "zxx"):
        with pytest.raises(ValueError):
            argos_code(bad)


def test_package_is_valid_for_argostranslate(packages_dir: Path) -> None:
    from argostranslate.package import get_installed_packages

    packages = get_installed_packages([packages_dir])
    assert sorted((p.from_code, p.to_code, p.type) for p in packages) == [
        ("sv", "en", "translate"), ("zh", "en", "translate")]
    assert installed_pairs(packages_dir) == [("sv", "en", "1.0"), ("zh", "en", "1.0")]


def test_install_makes_pair_available_on_a_live_translator(tmp_path: Path, argos_files: dict[str, Path]) -> None:
    translator = Translator(tmp_path / "not-yet-created")
    assert translator.available_pairs() == frozenset()
    assert not translator.can_translate("sv")
    assert translator.can_translate("en")
    with pytest.raises(ModelUnavailableError) as err:
        translator.translate(["Hej."], "sv")
    assert err.value.source == "sv" and err.value.target == "en"
    assert err.value.hint == "monitor models install sv en"
    assert "monitor models install sv en" in str(err.value)

    install_package_file(argos_files["sv"], tmp_path / "not-yet-created")
    assert translator.can_translate("sv")
    assert not translator.can_translate("zh-Hant")
    assert translator.translate(["Hej."], "sv")[0]
    assert installed_pairs(tmp_path / "not-yet-created") == [("sv", "en", "1.0")]


def test_missing_chinese_model_names_the_chinese_install(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="monitor models install zh en"):
        Translator(tmp_path).translate(["中國"], "zh-Hant")


def test_unknown_language_is_unavailable(translator: Translator) -> None:
    assert not translator.can_translate("und")
    with pytest.raises(ModelUnavailableError):
        translator.translate(["???"], "und")


def test_install_replaces_older_version(tmp_path: Path) -> None:
    target = tmp_path / "pk"
    install_package_file(argos_tiny.build_argosmodel(tmp_path, "sv", "en", package_version="1.0"), target)
    install_package_file(argos_tiny.build_argosmodel(tmp_path, "sv", "en", package_version="1.1"), target)
    assert installed_pairs(target) == [("sv", "en", "1.1")]
    assert [p.name for p in target.iterdir()] == ["translate-sv_en-1_1"]


def test_install_rejects_bad_files(tmp_path: Path) -> None:
    target = tmp_path / "pk"
    not_zip = tmp_path / "x.argosmodel"
    not_zip.write_text("hello")
    with pytest.raises(TranslationError, match="zip"):
        install_package_file(not_zip, target)
    no_model = tmp_path / "y.argosmodel"
    with zipfile.ZipFile(no_model, "w") as archive:
        archive.writestr("translate-sv_en/metadata.json", json.dumps({"from_code": "sv", "to_code": "en"}))
    with pytest.raises(TranslationError, match=r"model/model\.bin"):
        install_package_file(no_model, target)
    escape = tmp_path / "z.argosmodel"
    with zipfile.ZipFile(escape, "w") as archive:
        archive.writestr("../evil/metadata.json", "{}")
    with pytest.raises(TranslationError):
        install_package_file(escape, target)
    with pytest.raises(TranslationError, match="no such file"):
        install_package_file(tmp_path / "missing.argosmodel", target)
    assert installed_pairs(target) == [] and list(target.iterdir()) == []


def test_install_from_index_offline_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TranslationError, match="network access"):
        install_from_index("sv", "en", tmp_path, index_url="http://127.0.0.1:9/index.json", timeout=5)


def test_install_from_index_with_a_local_index(tmp_path: Path, argos_files: dict[str, Path]) -> None:
    index = tmp_path / "index.json"
    entry = {"type": "translate", "from_code": "sv", "to_code": "en", "package_version": "1.0",
             "links": [argos_files["sv"].as_uri()]}
    index.write_text(json.dumps([entry]))
    install_from_index("sv", "en", tmp_path / "pk", index_url=index.as_uri())
    assert installed_pairs(tmp_path / "pk") == [("sv", "en", "1.0")]
    with pytest.raises(TranslationError, match="no de->en package"):
        install_from_index("de", "en", tmp_path / "pk", index_url=index.as_uri())


def test_models_install_needed_installs_what_feeds_need_over_http(tmp_path: Path, argos_files: dict[str, Path]
                                                                   ) -> None:
    """`monitor models install --needed` as `make run` calls it: the Swedish feed's model is fetched
    from a loopback index with a progress line; a second run has nothing to do; offline says so."""
    from tests.support.httpserver import TestServer

    server = TestServer().start()
    try:
        link = server.add("/translate-sv_en.argosmodel", argos_files["sv"].read_bytes(), "application/zip")
        entry = {"type": "translate", "from_code": "sv", "to_code": "en", "package_version": "1.0", "links": [link]}
        index = server.add("/index.json", json.dumps([entry]).encode(), "application/json")
        config = tmp_path / "feeds.yaml"
        config.write_text("feeds:\n  - {name: PS, url: 'https://example.org/feed', language: sv}\n"
                          "  - {name: Reg, url: 'https://example.org/en', language: en}\n", encoding="utf-8")

        def install(url: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "models", "install",
                                   "--needed", "--index", url], capture_output=True, text=True, timeout=120)

        first = install(index)
        assert first.returncode == 0, first.stderr
        assert "models needed: sv -> en" in first.stdout and "installed sv -> en" in first.stdout
        assert re.search(r"sv -> en:\s+\d+\.\d MB 100%", first.stderr), first.stderr
        assert installed_pairs(tmp_path / "data" / "argos-packages") == [("sv", "en", "1.0")]
        again = install(index)
        assert again.returncode == 0 and "every language in the feeds and the store has a model" in again.stdout
    finally:
        server.stop()
    shutil.rmtree(tmp_path / "data" / "argos-packages")
    offline = install("http://127.0.0.1:9/index.json")
    assert offline.returncode == 1
    assert "could not install sv -> en" in offline.stderr and "this needs network access" in offline.stderr


# -- translating -------------------------------------------------------------------------


def test_one_output_per_input_and_layout_kept(translator: Translator) -> None:
    texts = ["Tio miljarder i smuggelchips", SV_ARTICLE, "", "  \n", "Hej.\r\n\r\n  Hej då!  "]
    out = translator.translate(texts, "sv")
    assert len(out) == len(texts)
    assert out[0] and out[1]
    assert out[2] == "" and out[3] == "  \n"
    assert not any("▁" in o for o in out)  # SentencePiece markers decoded
    for source, result in zip(texts, out, strict=True):
        src_lines, out_lines = source.split("\n"), result.split("\n")
        assert len(src_lines) == len(out_lines)
        assert [not line.strip() for line in src_lines] == [not line.strip() for line in out_lines]
    assert out[4].startswith(out[4].split("\r\n")[0]) and out[4].endswith("  ")


def test_deterministic(packages_dir: Path) -> None:
    first = Translator(packages_dir).translate([SV_ARTICLE, "Hej."], "sv")
    again = Translator(packages_dir)
    assert again.translate([SV_ARTICLE, "Hej."], "sv") == first
    assert again.translate([SV_ARTICLE, "Hej."], "sv") == first


def test_many_texts_one_batch(translator: Translator) -> None:
    texts = [f"Artikel nummer {i} handlar om chip. Den nämner Nvidia {i} gånger." for i in range(40)]
    translator.translate(texts, "sv")
    assert translator.batches == 1
    assert translator.calls == 80  # every sentence is distinct


def test_cache_second_run_sends_nothing(packages_dir: Path) -> None:
    cache = MemoryTranslationCache()
    first = Translator(packages_dir, cache=cache)
    out = first.translate([SV_ARTICLE], "sv")
    assert first.calls == 5 and len(cache.data) == 5  # five sentences
    # a new Translator (a new process) sharing the store: nothing is sent to the model
    second = Translator(packages_dir, cache=cache)
    assert second.translate([SV_ARTICLE], "sv") == out
    assert second.calls == 0 and second.batches == 0 and second.cache_hits == 5


def test_repeated_sentences_translated_once(translator: Translator) -> None:
    boilerplate = "Läs mer om exportkontroller."
    out = translator.translate([f"Första artikeln. {boilerplate}", f"Andra artikeln. {boilerplate}", boilerplate],
                               "sv")
    assert translator.calls == 3
    assert out[2] and out[0].endswith(out[2]) and out[1].endswith(out[2])
    translator.translate([boilerplate, "Första artikeln."], "sv")
    assert translator.calls == 3


def test_whitespace_variants_share_cache_entries(translator: Translator) -> None:
    translator.translate(["Hej  på\u00a0dig."], "sv")
    translator.translate(["Hej på dig."], "sv")
    assert translator.calls == 1


def test_sentences_without_letters_pass_through(translator: Translator) -> None:
    assert translator.translate(["2023-06-20", "– 42 –"], "sv") == ["2023-06-20", "– 42 –"]
    assert translator.calls == 0


def test_traditional_chinese_is_converted_to_simplified(translator: Translator) -> None:
    hant = translator.translate([ZH_HANT], "zh-Hant")
    sent = translator.calls
    assert sent == 3
    # the simplified text is the very input the model saw: all cache hits, same output
    assert translator.translate([ZH_HANS], "zh-Hans") == hant
    assert translator.calls == sent
    assert hant[0].count("\n\n") == 1


def test_english_needs_no_model(tmp_path: Path) -> None:
    translator = Translator(tmp_path)
    assert translator.translate(["Hello.\n\nWorld."], "en") == ["Hello.\n\nWorld."]
    assert translator.calls == 0


def test_long_sentences_are_capped_in_tokens(translator: Translator) -> None:
    translator.translate(["Hej."], "sv")
    recorder = record(translator, ("sv", "en"))
    long_text = " ".join(["exportkontrollerna", "skärps"] * 400)  # no punctuation at all
    out = translator.translate([long_text], "sv")
    assert out[0]
    lengths = [len(tokens) for batch in recorder.inputs for tokens in batch]
    assert len(lengths) > 1 and max(lengths) <= translator.max_input_tokens


def test_model_loaded_once_per_pair(translator: Translator) -> None:
    translator.translate(["Hej."], "sv")
    model = translator._models[("sv", "en")]
    translator.translate(["Hej igen."], "sv")
    translator.translate(["你好。"], "zh-Hans")
    assert translator._models[("sv", "en")] is model
    assert translator.stats().loaded_pairs == (("sv", "en"), ("zh", "en"))


def test_concurrent_use(packages_dir: Path) -> None:
    translator = Translator(packages_dir)
    texts = [f"Mening {i}. En till {i}." for i in range(30)]
    expected = Translator(packages_dir).translate(texts, "sv")
    results: list[list[str]] = []

    def work() -> None:
        results.append(translator.translate(texts, "sv"))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 4


def test_rejects_a_bare_string(translator: Translator) -> None:
    with pytest.raises(TypeError):
        translator.translate("Hej.", "sv")


def test_nothing_downloads_or_imports_sentencizers(packages_dir: Path) -> None:
    """Run in a fresh interpreter: no stanza/spaCy/torch/MiniSBD import, no network."""
    script = f"""
import socket, sys
def no_network(*a, **k):
    raise AssertionError("network access attempted")
socket.socket.connect = no_network
socket.create_connection = no_network
from pathlib import Path
from monitor.translation import Translator
t = Translator(Path({str(packages_dir)!r}))
assert t.translate(["Hej. Hur mår du?"], "sv")[0]
assert t.translate(["中國。"], "zh-Hant")[0]
loaded = [m for m in ("stanza", "spacy", "torch", "minisbd", "argostranslate.translate") if m in sys.modules]
assert not loaded, loaded
"""
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


# -- real models (optional) ------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_translator() -> Iterator[Translator]:
    folder = os.environ.get("MONITOR_ARGOS_PACKAGES")
    if not folder:
        pytest.skip("MONITOR_ARGOS_PACKAGES is not set (a folder of installed real Argos packages)")
    yield Translator(Path(folder), cache=MemoryTranslationCache())


def _looks_english(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    words = set(text.lower().replace(".", " ").replace(",", " ").split())
    return bool(letters) and sum(c.isascii() for c in letters) / len(letters) > 0.9 and bool(
        words & {"the", "of", "and", "to", "in", "is", "on", "chips", "export", "controls", "government"})


@pytest.mark.parametrize(
    ("language", "text"),
    [("sv", "Regeringen skärper exportkontrollen av avancerade halvledare till Kina."),
     ("zh-Hans", "美国商务部加强了对中国先进芯片的出口管制。"),
     ("zh-Hant", "美國商務部加強了對中國先進晶片的出口管制。")],
)
def test_real_model_translates(real_translator: Translator, language: str, text: str) -> None:
    if not real_translator.can_translate(language):
        pytest.skip(f"no {argos_code(language)}->en package in MONITOR_ARGOS_PACKAGES")
    (out,) = real_translator.translate([text], language)
    assert _looks_english(out), out
