"""Every CLI command has help text, and `monitor --help` lists what exists."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from monitor.cli import main


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    found: list[tuple[tuple[str, ...], click.Command]] = []
    for name, command in group.commands.items():
        found.append(((*prefix, name), command))
        if isinstance(command, click.Group):
            found.extend(_commands(command, (*prefix, name)))
    return found


def test_every_command_has_help_text() -> None:
    commands = _commands(main)
    assert {"fetch", "export", "feeds", "eval"} <= {path[0] for path, _ in commands}
    missing = [" ".join(path) for path, cmd in commands if not (cmd.help or "").strip()]
    assert not missing, f"commands without help text: {missing}"
    for path, _ in commands:
        result = CliRunner().invoke(main, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage:" in result.output


def test_top_level_help_lists_commands() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name in ("fetch", "export", "feeds", "eval"):
        assert name in result.output


def test_installed_entry_point_runs() -> None:
    script = Path(sys.executable).parent / "monitor"
    out = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=True)
    assert "monitor, version" in out.stdout
    out = subprocess.run([sys.executable, "-m", "monitor", "--version"], capture_output=True, text=True, check=True)
    assert "monitor, version" in out.stdout


def test_eval_command_on_a_small_labelled_file(tmp_path: Path) -> None:
    import json

    from tests.support import seedsite

    ps, dw = seedsite.dagens_ps(), seedsite.dw_chinese()
    rows = [
        {"id": "ps", "lang": "sv", "label": "yes", "title": ps.title, "text": ps.paragraphs_html, "outlet": "PS"},
        {"id": "dw", "lang": "zh-Hant", "label": "yes", "title": dw.title, "text": dw.paragraphs_html, "outlet": "DW"},
        {"id": "x", "lang": "en", "label": "no", "title": "Minecraft servers crash",
         "text": "A two-year-old bug lets anyone crash game servers.", "outlet": "Ars"},
    ]
    labelled = tmp_path / "l.jsonl"
    labelled.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    floors = tmp_path / "floors.json"
    floors.write_text(json.dumps({"sv": {"recall": 1.0}, "zh-Hant": {"recall": 1.0}}))
    result = CliRunner().invoke(main, ["--config", str(tmp_path / "none.yaml"), "eval", str(labelled),
                                       "--floors", str(floors)])
    assert result.exit_code == 0, result.output
    assert "False flags (labelled no, flagged): 0" in result.output
    floors.write_text(json.dumps({"en": {"lang_accuracy": 1.01}}))
    result = CliRunner().invoke(main, ["--config", str(tmp_path / "none.yaml"), "eval", str(labelled),
                                       "--floors", str(floors)])
    assert result.exit_code == 1


@pytest.mark.parametrize(("content", "message"), [
    (b'{"id": "a", "lang": "en", "label": "yes"}\n{"id": "b", "lang": \n', "bad.jsonl:2: not valid JSON"),
    (b'{"id": "a", "lang": "en", "label": "maybe"}\n', "bad.jsonl:1: label 'maybe' is not one of"),
    (b'["not", "an", "object"]\n', "bad.jsonl:1: expected a JSON object"),
    (b"\xff\xfe\x00binary", "bad.jsonl: not UTF-8 text"),
])
def test_eval_on_a_malformed_labelled_file_is_one_line_naming_file_and_line(
    tmp_path: Path, content: bytes, message: str
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(content)
    out = subprocess.run([sys.executable, "-m", "monitor", "--config", str(tmp_path / "none.yaml"), "eval", str(bad)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    [line] = out.stderr.strip().splitlines()
    assert message in line, line


def test_help_imports_no_stage_that_it_does_not_run() -> None:
    """`monitor --help` stays quick: the fetcher, parsers and extractor load with the commands that use them."""
    code = ("import sys; from click.testing import CliRunner; from monitor.cli import main; "
            "r = CliRunner().invoke(main, ['--help']); assert r.exit_code == 0; "
            "heavy = ('trafilatura', 'httpx', 'feedparser', 'lxml', 'apscheduler'); "
            "print(sorted(m for m in heavy if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
