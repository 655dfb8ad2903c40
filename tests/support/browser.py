"""Debian's chromium, headless, driven by its command line: the DOM after the page ran (scripts
included, had the page any) and screenshots. The web tests skip without it, unless
MONITOR_REQUIRE_BROWSER is set (CI), where its absence fails them."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REQUIRE_BROWSER = "MONITOR_REQUIRE_BROWSER"
_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
          "--disable-component-update", "--no-first-run", "--hide-scrollbars", "--virtual-time-budget=3000")


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get(REQUIRE_BROWSER):
            pytest.fail(f"no chromium on PATH and {REQUIRE_BROWSER} is set: install Debian's chromium")
        pytest.skip("no chromium on PATH: install Debian's chromium to run the browser tests")
    return found


def dom(url: str, *, headers: dict[str, str] | None = None) -> str:
    """The page's DOM as the browser holds it after loading (and running whatever it would run)."""
    done = subprocess.run([chromium(), *_FLAGS, "--dump-dom", url], capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def screenshot(url: str, out: Path, width: int, height: int = 1600) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([chromium(), *_FLAGS, f"--window-size={width},{height}", f"--screenshot={out}", url],
                          capture_output=True, text=True, timeout=90)
    assert done.returncode == 0 and out.is_file() and out.stat().st_size > 10_000, done.stderr[-2000:]
    return out
