"""`monitor serve` as users run it (a real process on 127.0.0.1 over a real fetched store), read by
httpx and by a real browser (Debian's chromium, headless): alerts, search (a Chinese term finds the
DW seed), the article page with its hits, a hostile title that stays text, feed health, the Atom
feed, the security headers and the token rule."""

from __future__ import annotations

import html
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import feedparser
import httpx
import pytest
from playwright.sync_api import Browser

from tests.support import browser, seedsite
from tests.support.digestsite import EVIL_TITLE, copy_fetched
from tests.support.httpserver import TestServer
from tests.support.smtp import free_port

SHOTS = Path(os.environ.get("MONITOR_SCREENSHOTS", "")) if os.environ.get("MONITOR_SCREENSHOTS") else None


def serve(config: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "serve", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, **(env or {})})


def wait_up(url: str, proc: subprocess.Popen[str], headers: dict[str, str] | None = None) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"monitor serve exited: {proc.stdout.read() if proc.stdout else ''}")
        try:
            httpx.get(url, headers=headers, timeout=10)  # a first page may read CC-CEDICT
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("monitor serve did not answer within 60 s")


def stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def site(fetched_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("web")
    config = copy_fetched(fetched_template, folder, "digest:\n  timezone: Europe/Stockholm\n")
    port = free_port()
    proc = serve(config, "--port", str(port))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_up(base + "/", proc)
        yield base
    finally:
        stop(proc)


def article_id(base: str, title: str) -> int:
    page = httpx.get(base + "/search", params={"q": title.split()[0], "sort": "date"}).text
    links = re.findall(r'href="/article/(\d+)"[^>]*>([^<]*)<', page)
    for number, text in links:
        if html.unescape(text.strip()) == title:
            return int(number)
    raise AssertionError(f"{title!r} not found in {links}")


def test_pages_answer_with_the_security_headers(site: str) -> None:
    home = httpx.get(site + "/")
    assert home.status_code == 200
    csp = home.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "'unsafe-inline'" not in csp
    assert home.headers["x-content-type-options"] == "nosniff"
    assert "<script" not in home.text.lower() and "style=" not in home.text  # nothing the policy would block
    assert "4 alerts" in home.text and seedsite.dagens_ps().title in home.text
    assert httpx.get(site + "/style.css").headers["content-type"].startswith("text/css")
    assert httpx.get(site + "/article/9999").status_code == 404
    assert httpx.get(site + "/article/x").status_code == 404
    assert httpx.get(site + "/article/100000000000000000000").status_code == 404
    # without a token it answers only to this machine's names: a rebound DNS name gets nothing
    assert httpx.get(site + "/", headers={"Host": "attacker.example"}).status_code == 400
    assert httpx.get(site + "/", headers={"Host": "localhost:8080"}).status_code == 200


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with browser.launched() as launched:
        yield launched


def _quiet(watched: browser.Watched) -> None:
    """Nothing the policy refused (a violation is logged to the console) and no dialog raised."""
    assert not [m for m in watched.console if "Content Security Policy" in m or m.startswith("error")], \
        watched.console
    assert watched.dialogs == []


def test_search_finds_a_chinese_term_in_a_real_browser(site: str, chromium: Browser) -> None:
    with browser.page(chromium) as watched:
        page = watched.page
        page.goto(site + "/")
        page.fill("header input[name=q]", "黑市")  # typed into the header's search box, sent with Enter
        page.press("header input[name=q]", "Enter")
        page.wait_for_url("**/search?q=*")
        titles = page.locator("a[href^='/article/']").all_inner_texts()
        assert [t.strip() for t in titles] == [seedsite.dw_chinese().title], titles
        body = page.inner_text("main")
        assert "1 article" in body and "Chinese (traditional) 1" in body
        assert page.input_value("form.filters input[name=q]") == "黑市"
        assert page.locator(".passage mark").all_inner_texts() == ["黑市"]  # the query marked in its passage
        # the filter form: Swedish only, a Swedish compound's stem
        page.fill("form.filters input[name=q]", "smuggel")
        page.select_option("form.filters select[name=language]", "sv")
        page.press("form.filters input[name=q]", "Enter")
        page.wait_for_url("**language=sv*")
        swedish = [t.strip() for t in page.locator("a[href^='/article/']").all_inner_texts()]
        assert seedsite.dagens_ps().title in swedish and seedsite.dw_chinese().title not in swedish
        _quiet(watched)


def test_the_article_page_shows_its_hits_and_why(site: str, chromium: Browser) -> None:
    number = article_id(site, seedsite.dw_chinese().title)
    with browser.page(chromium) as watched:
        page = watched.page
        page.goto(f"{site}/article/{number}")
        marks = page.locator("mark").all_inner_texts()
        assert "出口管制" in marks and any("黑市" in m for m in marks) and any("晶片" in m for m in marks), marks
        body = page.text_content("body") or ""
        assert "chip-export-controls" in body and "alert" in body and "export control near chip" in body
        assert "Dictionary gist" in body and "black market" in body  # no model installed: the gist stands in
        original = page.locator("a", has_text="original").first.get_attribute("href") or ""
        assert original.startswith("http://127.0.0.1:")  # the original link
        # a mark is drawn as a highlight: the style sheet applied (the CSP allows /style.css)
        colour = page.locator("mark").first.evaluate("m => getComputedStyle(m).backgroundColor")
        assert colour not in ("rgba(0, 0, 0, 0)", "transparent"), colour
        _quiet(watched)


def test_a_hostile_title_stays_text_in_the_browser(site: str, chromium: Browser) -> None:
    number = article_id(site, EVIL_TITLE)
    with browser.page(chromium) as watched:
        page = watched.page
        page.goto(f"{site}/article/{number}")
        assert page.inner_text("h1").strip() == EVIL_TITLE  # shown as the text it is
        assert page.title().startswith("Chip smugglers <script>")
        assert page.evaluate("document.scripts.length") == 0  # nothing became an element
        assert page.locator("img").count() == 0
        _quiet(watched)  # and no alert() ran


def test_a_story_page_and_the_article_page_that_links_to_it(site: str, chromium: Browser) -> None:
    """Dagens PS and its mirror tell one story (the syndicated copy is the same article): the
    article page names the other, its link leads to the story page with both."""
    number = article_id(site, seedsite.dagens_ps().title)
    with browser.page(chromium) as watched:
        page = watched.page
        page.goto(f"{site}/article/{number}")
        box = page.inner_text(".story")
        assert "2 articles from 2 outlets in sv" in box and "Mirror" in box
        page.click(".story a[href^='/story/']")
        page.wait_for_url("**/story/*")
        listed = [t.strip() for t in page.locator("article.result h3 a").all_inner_texts()]
        assert len(listed) == 2 and seedsite.dagens_ps().title in listed
        assert "One story: 2 articles from 2 outlets in sv." in page.inner_text("main")
        _quiet(watched)
    dw = httpx.get(f"{site}/article/{article_id(site, seedsite.dw_chinese().title)}").text
    assert 'class="story"' not in dw  # a story of one article has no box
    for bad in ("/story/999999", "/story/0", "/story/x", "/story/100000000000000000000"):
        assert httpx.get(site + bad).status_code == 404, bad


def test_feed_health_and_the_atom_feed(site: str) -> None:
    feeds = httpx.get(site + "/feeds").text
    assert "Broken" in feeds and "404" in feeds and "Dagens PS" in feeds
    atom = httpx.get(site + "/feeds/chip-export-controls.atom")
    assert atom.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(atom.content)
    assert not parsed.bozo and len(parsed.entries) == 4
    assert all(re.fullmatch(re.escape(site) + r"/article/\d+", e.link) for e in parsed.entries)
    assert httpx.get(site + "/feeds/nope.atom").status_code == 404


def test_screenshots_at_desktop_and_phone_widths(site: str, chromium: Browser, tmp_path: Path) -> None:
    folder = SHOTS or tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    number = article_id(site, seedsite.dw_chinese().title)
    pages = (("alerts", "/"), ("search", "/search?q=" + quote("出口管制")), ("article", f"/article/{number}"))
    for width, mobile in ((1280, False), (420, True)):
        with browser.page(chromium, width=width, mobile=mobile) as watched:
            for name, path in pages:
                watched.page.goto(site + path)
                # nothing wider than the screen: the layout holds at phone width
                assert watched.page.evaluate("document.documentElement.scrollWidth") <= width
                shot = folder / f"web-{name}-{width}.png"
                watched.page.screenshot(path=str(shot), full_page=True)
                assert shot.stat().st_size > 10_000
            _quiet(watched)


NEW_FEED = (b"<?xml version='1.0'?><rss version='2.0'><channel><title>Chip Wire</title><language>en</language>"
            b"<item><title>Chips</title><link>https://wire.example/1</link></item></channel></rss>")


def test_the_feeds_page_adds_and_removes_a_feed_and_refuses_forged_posts(
        fetched_template: Path, tmp_path: Path, chromium: Browser) -> None:
    config = copy_fetched(fetched_template, tmp_path, "# the desk's own note\n")
    before = config.read_text(encoding="utf-8")
    origin = TestServer().start()
    origin.add("/wire/feed.xml", NEW_FEED)
    origin.add("/wire/", b"<html><head><link rel='alternate' type='application/rss+xml' href='/wire/feed.xml'>"
                         b"</head><body>news</body></html>", "text/html")
    port = free_port()
    proc = serve(config, "--port", str(port))
    site = f"http://127.0.0.1:{port}"
    try:
        wait_up(site + "/", proc)
        with browser.page(chromium) as watched:
            page = watched.page
            page.goto(site + "/feeds")
            page.fill("form.addfeed input[name=url]", origin.url("/wire/"))  # a page: its feed is found
            page.fill("form.addfeed input[name=tags]", "wire, en")
            page.click("form.addfeed button")
            page.wait_for_load_state()
            assert "/feeds?done=" in page.url, page.inner_text("main")[:500]
            assert "added Chip Wire" in page.inner_text("main")
            assert "not polled yet" in page.inner_text("tr:has-text('Chip Wire')")
            text = config.read_text(encoding="utf-8")
            assert text.endswith("# the desk's own note\n") and len(text) > len(before)  # the comment kept
            assert origin.url("/wire/feed.xml") in text and "tags: [wire, en]" in text
            page.fill("form.addfeed input[name=url]", origin.url("/nothing-here"))
            page.click("form.addfeed button")
            assert "could not fetch" in page.inner_text(".error")
            page.click("tr:has-text('Chip Wire') form.remove button")
            page.wait_for_url("**/feeds?done=removed*")
            assert "Chip Wire" not in page.inner_text("table") and config.read_text(encoding="utf-8") == before
            _quiet_but_for_the_refusal(watched)
        # a post from elsewhere changes nothing: without the form's token, or from another origin
        token = re.search(r'name="csrf" value="([0-9a-f]+)"', httpx.get(site + "/feeds").text)
        assert token
        forged = {"url": origin.url("/wire/feed.xml")}
        assert httpx.post(site + "/feeds/add", data=forged).status_code == 403
        assert httpx.post(site + "/feeds/add", data={**forged, "csrf": token.group(1)},
                          headers={"Origin": "http://evil.example"}).status_code == 403
        assert httpx.post(site + "/feeds/add", data={**forged, "csrf": token.group(1)},
                          headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
        assert config.read_text(encoding="utf-8") == before
    finally:
        stop(proc)
        origin.stop()
    port = free_port()
    proc = serve(config, "--port", str(port), "--read-only")
    try:
        wait_up(f"http://127.0.0.1:{port}/", proc)
        assert "<form action=\"/feeds/add\"" not in httpx.get(f"http://127.0.0.1:{port}/feeds").text
        assert httpx.post(f"http://127.0.0.1:{port}/feeds/add", data={"url": "x"}).status_code in (404, 405)
    finally:
        stop(proc)


def _quiet_but_for_the_refusal(watched: browser.Watched) -> None:
    """The 422 of the failed add is the one console error expected."""
    errors = [m for m in watched.console if m.startswith("error") and "422" not in m]
    assert not errors and watched.dialogs == [], watched.console


def test_serving_beyond_loopback_needs_a_token(fetched_template: Path, tmp_path: Path) -> None:
    config = copy_fetched(fetched_template, tmp_path, "")
    env = {k: v for k, v in os.environ.items() if k != "MONITOR_WEB_TOKEN"}
    refused = subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "serve", "--host",
                              "0.0.0.0", "--port", str(free_port())], capture_output=True, text=True, timeout=60,
                             env=env)
    assert refused.returncode == 2 and "refusing to serve on 0.0.0.0 without a token" in refused.stderr
    port = free_port()
    proc = serve(config, "--port", str(port), env={"MONITOR_WEB_TOKEN": "s3cret-Token"})
    base = f"http://127.0.0.1:{port}"
    try:
        wait_up(base + "/", proc)
        assert httpx.get(base + "/").status_code == 401
        assert httpx.get(base + "/", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert httpx.get(base + "/", headers={"Authorization": "Bearer s3cret-Token"}).status_code == 200
        assert httpx.get(base + "/", auth=("anyone", "s3cret-Token")).status_code == 200
    finally:
        stop(proc)
