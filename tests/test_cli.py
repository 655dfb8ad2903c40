"""Every CLI command has help text, and `monitor --help` lists what exists."""

from __future__ import annotations

import subprocess
import sys

import click
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
    out = subprocess.run([sys.executable, "-m", "monitor", "--version"], capture_output=True, text=True, check=True)
    assert "monitor" in out.stdout
