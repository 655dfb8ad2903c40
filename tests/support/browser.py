"""Debian's chromium, headless, driven through Playwright's Python API (pointed at that
executable: no browser is downloaded). The web tests skip without it, unless
MONITOR_REQUIRE_BROWSER is set (CI), where its absence fails them."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page, sync_playwright

REQUIRE_BROWSER = "MONITOR_REQUIRE_BROWSER"
_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--no-first-run", "--hide-scrollbars")


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get(REQUIRE_BROWSER):
            pytest.fail(f"no chromium on PATH and {REQUIRE_BROWSER} is set: install Debian's chromium")
        pytest.skip("no chromium on PATH: install Debian's chromium to run the browser tests")
    return found


@contextmanager
def launched() -> Iterator[Browser]:
    """One headless chromium for a test module."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=list(_ARGS), headless=True)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Watched:
    """A page and what it did that a reader would not see: console messages (a Content-Security-
    Policy violation is reported there) and dialogs (an ``alert()`` an injected script raised)."""

    page: Page
    console: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@contextmanager
def page(browser: Browser, *, width: int = 1280, height: int = 900, mobile: bool = False,
         headers: dict[str, str] | None = None) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": width, "height": height}, is_mobile=mobile,
                                  has_touch=mobile, device_scale_factor=2 if mobile else 1,
                                  extra_http_headers=headers)
    watched = Watched(context.new_page())

    def on_console(message: ConsoleMessage) -> None:
        watched.console.append(f"{message.type}: {message.text}")

    def on_dialog(dialog: Dialog) -> None:
        watched.dialogs.append(dialog.message)
        dialog.dismiss()

    watched.page.on("console", on_console)
    watched.page.on("dialog", on_dialog)
    try:
        yield watched
    finally:
        context.close()
