"""The command line in-process (click's runner), for tests that read its output."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from monitor.cli import main


def run(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--config", str(config), *args], catch_exceptions=False)
    return result.exit_code, result.output


def export(config: Path, *args: str) -> list[dict[str, object]]:
    code, out = run(config, "export", "--format", "jsonl", *args)
    assert code == 0, out
    return [json.loads(line) for line in out.splitlines() if line.strip()]
