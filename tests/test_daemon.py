"""`monitor run` as the researcher lives with it: the real daemon in a subprocess against the
loopback site and a real SMTP server, its log read as it runs.

One scenario runs once per module (a few minutes at most: it waits for a real digest minute) and
records what it saw; each test below asserts one fact of it. Every wait is bounded and every
process started is ended by PID.

  daemon 1: first poll -> `monitor export` from a second process -> feeds.yaml edited on disk to
            add a feed -> an invalid edit -> the fixed file adds another feed -> the digest at its
            local time -> SIGHUP -> SIGTERM
  daemon 2: restarted the same day: sends nothing
  daemon 3: started after a digest time that passed while it was down: sends it once
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import DATA, REPO
from tests.support import seedsite
from tests.support.httpserver import TestServer
from tests.support.smtp import Sink, smtp_server

TZ = "Europe/Stockholm"
WAIT = 30.0  # seconds for anything that should happen at once (a poll, a reload)
POLL_WITHIN = 120.0  # the bound: an added feed is polled within two minutes
TRACEBACK = "Traceback (most recent call last)"


class Daemon:
    """One `monitor run` subprocess whose combined output goes to a log file we read."""

    def __init__(self, config: Path, log: Path) -> None:
        self.log_path = log
        self._log = log.open("w", encoding="utf-8")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONFAULTHANDLER": "1"}
        self.process = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "run"],
                                        stdout=self._log, stderr=subprocess.STDOUT, cwd=REPO, env=env)
        self._seen = 0  # offset up to which wait_for has consumed the log

    def text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, pattern: str, timeout: float = WAIT) -> re.Match[str]:
        """The first match of ``pattern`` after the previous match; fails after ``timeout`` seconds."""
        regex = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()
            m = regex.search(text, self._seen)
            if m is not None:
                self._seen = m.end()
                return m
            if self.process.poll() is not None:
                pytest.fail(f"the daemon exited ({self.process.returncode}) while waiting for {pattern!r}:\n{text}")
            if time.monotonic() > deadline:
                pytest.fail(f"no {pattern!r} within {timeout:.0f}s; log:\n{text}")
            time.sleep(0.1)

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 20.0) -> tuple[int, float]:
        """Send ``sig`` and wait: (exit status, seconds it took)."""
        started = time.monotonic()
        self.process.send_signal(sig)
        code = self.process.wait(timeout=timeout)
        self._log.close()
        return code, time.monotonic() - started

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self._log.close()


@dataclass
class Observed:
    """What the scenario saw, for the tests to assert one by one."""

    logs: list[str] = field(default_factory=list)
    first_poll_new: int = 0
    stories: tuple[int, int] = (0, 0)  # articles, and of them with a story, when the first daemon stopped
    placed_after_translation: bool = False
    export_rc: int = -1
    export_rows: list[dict[str, object]] = field(default_factory=list)
    added_feed_polled_after: float | None = None
    invalid_edit_lines: list[str] = field(default_factory=list)
    polls_after_invalid_edit: int = 0
    fixed_feed_polled: bool = False
    mails_before_slot: int = -1
    mails_after_slot: int = -1
    digest_sent_at: datetime | None = None
    slot: datetime | None = None
    mails_at_end_of_first_run: int = -1
    sighup_reloaded: bool = False
    sigterm: tuple[int, float] = (-1, 0.0)
    integrity: str = ""
    restart_mails: int = -1
    missed_mails: int = -1
    missed_logged: bool = False
    sigterm_runs: list[tuple[int, float]] = field(default_factory=list)


def _site(server: TestServer) -> dict[str, str]:
    """Three feeds on the loopback site: Swedish RSS, Big5 RDF (DW Chinese), English RSS."""
    ps, dw = seedsite.dagens_ps(), seedsite.dw_chinese()
    ps_url = server.add("/ps/smuggelchips/", seedsite.article_page(ps, "Dagens PS").encode(),
                        "text/html; charset=utf-8")
    dw_url = server.add("/zh/a-65967606", seedsite.article_page(dw, "DW").encode(), "text/html; charset=utf-8")
    ars_url = server.add("/ars/minecraft/", (DATA / "pages/readability/ars-1/source.html").read_bytes(),
                         "text/html; charset=utf-8")
    ars = seedsite.Seed(slug="ars-minecraft", title="Just-released Minecraft exploit makes it easy to crash game "
                        "servers", paragraphs_html="", lang="en", published_rfc822="Mon, 13 Apr 2015 10:00:00 +0000",
                        summary="Two-year-old bug exposes thousands of servers to crippling attack.", last_sentence="")
    return {
        "Dagens PS": server.add("/ps/feed/", seedsite.rss_feed("Dagens PS", "sv-SE", [(ps, ps_url)]).encode(),
                                "application/rss+xml; charset=UTF-8", etag='"ps-v1"'),
        "DW Chinese": server.add("/rss-chi-all", seedsite.rdf_feed_big5("DW 中文", [(dw, dw_url)]),
                                 "application/rdf+xml"),
        "Ars Technica": server.add("/ars/feed", seedsite.rss_feed("Ars", "en-us", [(ars, ars_url)]).encode(),
                                   "application/rss+xml"),
    }


def _config(feeds: dict[str, str], names: list[str], port: int, at: datetime, *, broken: bool = False) -> str:
    lines = ["database: data/monitor.sqlite3", "translation:", "  packages_dir: data/no-models", "feeds:"]
    for name in names:
        lines += [f"  - name: {name}", f"    url: {feeds[name]}", "    interval: 1m"]
    if broken:
        lines.append("    intervall: 5m")  # the typo a user makes
    lines += ["digest:", f'  time: "{at:%H:%M}"', f"  timezone: {TZ}", "  to: [desk@example.org]",
              "  from: monitor@example.org", "  empty: send", "  smtp:", "    host: 127.0.0.1", f"    port: {port}",
              "    timeout: 5"]
    return "\n".join(lines) + "\n"


def _write(path: Path, text: str) -> None:
    """Write the file as an editor does (the daemon sees a new mtime or size)."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    if path.stat().st_mtime_ns == before:  # a coarse file-system clock: make the change visible
        os.utime(path, ns=(before + 1_000_000_000, before + 1_000_000_000))


def _next_slot(after: timedelta) -> datetime:
    """The first whole local minute at least ``after`` from now."""
    now = datetime.now(ZoneInfo(TZ)) + after
    return (now + timedelta(minutes=1)).replace(second=0, microsecond=0)


def _sleep_until(when: datetime) -> None:
    while (left := (when - datetime.now(ZoneInfo(TZ))).total_seconds()) > 0:
        time.sleep(min(left, 1.0))


def _export(config: Path) -> tuple[int, list[dict[str, object]]]:
    out = subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "export"], cwd=REPO,
                         capture_output=True, text=True, timeout=60)
    return out.returncode, [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def _run_scenario(tmp: Path, server: TestServer, sink: Sink, port: int) -> Observed:
    seen = Observed()
    feeds = _site(server)
    config = tmp / "feeds.yaml"
    later = _next_slot(timedelta(hours=12))  # not due during the edits; the last edit sets the real time
    _write(config, _config(feeds, ["Dagens PS"], port, later))
    daemons: list[Daemon] = []
    try:
        # -- daemon 1 ------------------------------------------------------------------------
        first = Daemon(config, tmp / "run1.log")
        daemons.append(first)
        m = first.wait_for(r"feed Dagens PS: ok, \d+ entries, (\d+) new")
        seen.first_poll_new = int(m.group(1))
        seen.export_rc, seen.export_rows = _export(config)
        # the Swedish article waits for its translation run, which places it (no model: unavailable)
        first.wait_for(r"stories: 0 article\(s\) placed, 0 joining a story already told; 1 wait for their "
                       r"translation")
        first.wait_for(r"no translation model for sv->en")
        first.wait_for(r"stories: 1 article\(s\) placed, 0 joining a story already told; 0 wait")
        seen.placed_after_translation = True

        _write(config, _config(feeds, ["Dagens PS", "DW Chinese"], port, later))
        edited = time.monotonic()
        first.wait_for(r"changed: configuration reloaded \(2 feeds enabled\)")
        first.wait_for(r"feed DW Chinese: ok, \d+ entries, 1 new", timeout=POLL_WITHIN)
        seen.added_feed_polled_after = time.monotonic() - edited

        _write(config, _config(feeds, ["Dagens PS", "DW Chinese"], port, later, broken=True))
        first.wait_for(r"not reloaded, the previous configuration keeps running")
        first.wait_for(r"feed (Dagens PS|DW Chinese): (not-modified|unchanged)", timeout=75)  # old config polls on
        seen.polls_after_invalid_edit = 1
        seen.invalid_edit_lines = [line for line in first.text().splitlines() if "not reloaded" in line]

        slot = _next_slot(timedelta(seconds=25))  # the digest time, moved by this edit to the next minute
        seen.slot = slot
        _write(config, _config(feeds, ["Dagens PS", "DW Chinese", "Ars Technica"], port, slot))
        first.wait_for(r"changed: configuration reloaded \(3 feeds enabled\)")
        first.wait_for(r"feed Ars Technica: ok, \d+ entries, 1 new", timeout=POLL_WITHIN)
        seen.fixed_feed_polled = True

        _sleep_until(slot - timedelta(seconds=2))
        seen.mails_before_slot = len(sink.messages)
        first.wait_for(r"digest sent: \d+ article\(s\)", timeout=(slot - datetime.now(ZoneInfo(TZ))).total_seconds()
                       + 60)
        seen.digest_sent_at = datetime.now(ZoneInfo(TZ))
        seen.mails_after_slot = len(sink.messages)

        first.process.send_signal(signal.SIGHUP)
        first.wait_for(r"SIGHUP: configuration reloaded")
        seen.sighup_reloaded = True
        time.sleep(2)  # a catch-up check or cron misfire that would send twice has its chance
        seen.mails_at_end_of_first_run = len(sink.messages)
        seen.sigterm = first.stop()
        seen.logs.append(first.text())
        db = tmp / "data" / "monitor.sqlite3"
        with sqlite3.connect(db) as con:
            seen.integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
            seen.stories = con.execute("SELECT count(*), count(story) FROM articles").fetchone()

        # -- daemon 2: a restart later the same day ----------------------------------------------
        second = Daemon(config, tmp / "run2.log")
        daemons.append(second)
        second.wait_for(r"monitor running: 3 feed\(s\)")  # the missed-digest check ran just before this line
        time.sleep(5)
        seen.restart_mails = len(sink.messages)
        seen.sigterm_runs.append(second.stop())
        seen.logs.append(second.text())

        # -- daemon 3: the next digest time passes while no daemon runs ------------------------------
        missed = _next_slot(timedelta(seconds=0))
        _write(config, _config(feeds, ["Dagens PS", "DW Chinese", "Ars Technica"], port, missed))
        _sleep_until(missed + timedelta(seconds=2))
        third = Daemon(config, tmp / "run3.log")
        daemons.append(third)
        third.wait_for(r"a digest is due and was not sent at its time")
        third.wait_for(r"digest sent: \d+ article\(s\)")
        seen.missed_logged = True
        time.sleep(3)
        seen.missed_mails = len(sink.messages)
        seen.sigterm_runs.append(third.stop())
        seen.logs.append(third.text())
    finally:
        for d in daemons:
            d.kill()
    return seen


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Observed]:
    tmp = tmp_path_factory.mktemp("daemon")
    server = TestServer().start()
    try:
        with smtp_server() as (port, sink):
            yield _run_scenario(tmp, server, sink, port)
    finally:
        server.stop()


def test_first_poll_stores_articles(observed: Observed) -> None:
    assert observed.first_poll_new == 1


def test_articles_waiting_for_their_translation_get_their_stories(observed: Observed) -> None:
    """The Swedish and Chinese articles wait for the translation run (no model here: it marks
    them unavailable), then the daemon places them; the English one at once."""
    assert observed.placed_after_translation and observed.stories == (3, 3)


def test_export_from_a_second_process_while_the_daemon_runs(observed: Observed) -> None:
    assert observed.export_rc == 0
    assert [row["feed"] for row in observed.export_rows] == ["Dagens PS"]
    assert observed.export_rows[0]["flagged"] is True


def test_a_feed_added_on_disk_is_polled_within_two_minutes(observed: Observed) -> None:
    assert observed.added_feed_polled_after is not None and observed.added_feed_polled_after < POLL_WITHIN


def test_an_invalid_edit_is_logged_once_with_file_line_and_field(observed: Observed) -> None:
    [line] = observed.invalid_edit_lines  # once, although the watcher looks every few seconds
    assert re.search(r"feeds\.yaml:\d+: feeds\[1\]\.intervall: unknown key", line), line


def test_the_old_config_keeps_running_after_an_invalid_edit(observed: Observed) -> None:
    assert observed.polls_after_invalid_edit == 1


def test_the_fixed_file_is_picked_up(observed: Observed) -> None:
    assert observed.fixed_feed_polled


def test_the_digest_is_sent_once_at_its_local_time(observed: Observed) -> None:
    assert observed.slot is not None and observed.digest_sent_at is not None
    assert observed.mails_before_slot == 0
    assert observed.mails_after_slot == 1
    assert timedelta(0) <= observed.digest_sent_at - observed.slot < timedelta(seconds=60)
    assert observed.mails_at_end_of_first_run == 1


def test_sighup_reloads(observed: Observed) -> None:
    assert observed.sighup_reloaded


def test_sigterm_exits_0_within_seconds_with_the_database_intact(observed: Observed) -> None:
    code, seconds = observed.sigterm
    assert code == 0 and seconds < 10
    assert all(code == 0 and seconds < 10 for code, seconds in observed.sigterm_runs)
    assert observed.integrity == "ok"


def test_a_restart_later_that_day_sends_nothing(observed: Observed) -> None:
    assert observed.restart_mails == 1


def test_a_digest_missed_while_down_is_sent_once_on_start(observed: Observed) -> None:
    assert observed.missed_logged
    assert observed.missed_mails == 2


def test_the_missing_model_warning_is_logged_once(observed: Observed) -> None:
    """Three feeds brought new articles (three translation runs); no model for sv: one warning a day
    (the day is UTC's: a run that crosses 00:00 UTC may warn once on each side)."""
    days = [line[:10] for line in observed.logs[0].splitlines() if "no translation model for sv->en" in line]
    assert days and len(days) == len(set(days)), days


def test_the_log_holds_no_traceback(observed: Observed) -> None:
    assert len(observed.logs) == 3
    for log in observed.logs:
        assert TRACEBACK not in log, log
        assert "ProgrammingError" not in log
