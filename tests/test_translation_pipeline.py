"""Translation in the pipeline, with the tiny real Argos packages the fixture builds:
missing model -> "unavailable" with the install command; install from file; `monitor translate`
fills in what waited; flags never depend on translation."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests import argos_tiny
from tests.support.cli import export, run
from tests.support.httpserver import TestServer
from tests.support.site import write_config


@pytest.fixture(scope="module")
def argos_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("argos")
    return {code: argos_tiny.build_argosmodel(out, code, "en", seed=i) for i, code in enumerate(("sv", "zh"))}


def test_missing_model_then_install_then_translate(
    site: TestServer, tmp_path: Path, argos_files: dict[str, Path]
) -> None:
    config = write_config(tmp_path, site)
    code, out = run(config, "fetch")
    assert code == 0, out
    assert "no model for sv->en: install it with `monitor models install sv en`" in out
    assert "no model for zh-Hant->en: install it with `monitor models install zh en`" in out
    before = {r["language"]: r for r in export(config)}
    assert before["sv"]["translation"] == "unavailable" and before["sv"]["title_en"] is None
    assert before["zh-Hant"]["translation"] == "unavailable"
    assert before["en"]["translation"] == "not-needed"
    assert before["sv"]["flagged"] is True and before["zh-Hant"]["flagged"] is True  # flags did not wait

    code, out = run(config, "models", "list")
    assert "(none installed)" in out and "monitor models install sv en" in out
    code, out = run(config, "digest")  # the text preview: no model yet
    assert code == 0 and out.count("No translation model is installed for") == 1, out
    assert "  monitor models install sv en\n" in out and "  monitor models install zh en\n" in out
    assert "Dictionary gist: evade · US · chip · export control" in out and "[en]" not in out
    for path in argos_files.values():
        code, out = run(config, "models", "install", "--file", str(path))
        assert code == 0, out
    code, out = run(config, "models", "list")
    assert "sv -> en" in out and "zh -> en" in out and "missing for feeds" not in out

    code, out = run(config, "translate")
    assert code == 0, out
    assert "translated 2 article(s)" in out
    after = {r["language"]: r for r in export(config)}
    for lang in ("sv", "zh-Hant"):
        record = after[lang]
        assert record["translation"] == "done"
        assert isinstance(record["title_en"], str) and record["title_en"].strip()
        # flagged articles get their body translated, paragraph structure kept
        assert isinstance(record["text_en"], str) and record["text_en"].strip()
        assert record["text_en"].count("\n\n") == str(record["text"]).count("\n\n")
    assert after["en"]["text_en"] is None
    code, out = run(config, "digest")  # now each foreign item leads with its snippets in English
    assert code == 0 and "No translation model" not in out and "Dictionary gist" not in out, out
    english = [line for line in out.splitlines() if line.startswith("  > [en] ")]
    assert len(english) >= 2, out
    for line in english:  # each is read from a translated body
        assert any(line[len("  > [en] "):][:20] in " ".join(str(r["text_en"]).split()) for r in after.values()
                   if r["text_en"]), line

    # nothing left; the cache holds the sentences, so a re-translation would cost nothing
    code, out = run(config, "translate")
    assert "nothing to translate" in out
    con = sqlite3.connect(tmp_path / "data" / "monitor.sqlite3")
    assert con.execute("SELECT count(*) FROM translation_cache").fetchone()[0] > 10
    con.close()


def test_translation_is_deterministic_across_databases(
    site: TestServer, tmp_path: Path, argos_files: dict[str, Path]
) -> None:
    results = []
    for name in ("one", "two"):
        folder = tmp_path / name
        folder.mkdir()
        config = write_config(folder, site)
        for path in argos_files.values():
            run(config, "models", "install", "--file", str(path))
        code, out = run(config, "fetch")
        assert code == 0 and "translated 2 article(s)" in out, out
        results.append({r["language"]: (r["title_en"], r["text_en"]) for r in export(config)})
    assert results[0] == results[1]


def test_background_translation_leaves_the_event_loop_free(
    site: TestServer, tmp_path: Path, argos_files: dict[str, Path]
) -> None:
    import asyncio

    from monitor.app import build_background_translator
    from monitor.config import load_config

    config_path = write_config(tmp_path, site, "translation:\n  enabled: false\n")
    assert run(config_path, "fetch")[0] == 0  # stored, nothing translated
    for path in argos_files.values():
        run(config_path, "models", "install", "--file", str(path))
    config = load_config(config_path)

    async def main() -> tuple[int, int, int]:
        background = build_background_translator(config)
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.001)

        task = asyncio.create_task(ticker())
        try:
            background.request()
            background.request()  # merged into the run in flight (or one more)
            summary = await background.run()
            await background.drain()
        finally:
            task.cancel()
            await background.aclose()
        return summary.translated, ticks, background.runs

    translated, ticks, runs = asyncio.run(main())
    assert translated == 2  # the awaited run reaches the worker first and does the work
    assert runs == 2  # the two requests merged into one more run (which found nothing left)
    assert ticks > 3  # the loop kept running while the model worked
    assert {r["translation"] for r in export(config_path)} == {"done", "not-needed"}


def test_the_background_translator_calls_back_on_the_loop_after_each_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The daemon's translation thread (a real store, no model installed): after each run the
    callback runs on the event loop's thread (where the daemon's story stage lives); a store error
    it raises is logged and the next run still calls it."""
    import asyncio
    import logging
    import threading
    from datetime import UTC, datetime

    from monitor.errors import StorageError
    from monitor.settings import TranslationSettings
    from monitor.storage import Store
    from monitor.translating import BackgroundTranslator
    from monitor.translation import Translator

    db, models = tmp_path / "m.sqlite3", tmp_path / "no-models"
    Store(db).close()
    background = BackgroundTranslator(lambda: (Store(db), Translator(models)), TranslationSettings(models),
                                      lambda: datetime(2026, 1, 1, tzinfo=UTC))
    threads: list[int] = []

    def after() -> None:
        threads.append(threading.get_ident())
        if len(threads) == 1:
            raise StorageError("the database is locked")

    async def scenario() -> int:
        background.then(after)
        for _ in range(2):
            background.request()
            await background.drain()
        await background.aclose()
        return threading.get_ident()

    with caplog.at_level(logging.ERROR, logger="monitor.translating"):
        loop_thread = asyncio.run(scenario())
    assert background.runs == 2 and threads == [loop_thread, loop_thread]
    assert "after translation: the database is locked" in caplog.text


def test_a_failed_background_run_still_places_stories(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The translation run itself fails (its store is a file that is no database): the error is
    logged, the callback still runs (a failed translation holds no story back), and the next
    request translates again."""
    import asyncio
    import logging
    from datetime import UTC, datetime

    from monitor.settings import TranslationSettings
    from monitor.storage import Store
    from monitor.translating import BackgroundTranslator
    from monitor.translation import Translator

    good, bad, models = tmp_path / "m.sqlite3", tmp_path / "broken.sqlite3", tmp_path / "no-models"
    Store(good).close()
    bad.write_bytes(b"this is not a database, it only has the name of one" * 100)
    opened: list[Path] = []

    def open_parts() -> tuple[Store, Translator]:
        opened.append(bad if not opened else good)
        return Store(opened[-1]), Translator(models)

    background = BackgroundTranslator(open_parts, TranslationSettings(models), lambda: datetime(2026, 1, 1, tzinfo=UTC))
    called: list[int] = []

    async def scenario() -> None:
        background.then(lambda: called.append(background.runs))
        for _ in range(2):
            background.request()
            await background.drain()
        await background.aclose()

    with caplog.at_level(logging.ERROR, logger="monitor.translating"):
        asyncio.run(scenario())
    assert called == [1, 2] and opened == [bad, good]
    assert "background translation: " in caplog.text and str(bad) in caplog.text
