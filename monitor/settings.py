"""The settings a configuration file holds, as typed values: the ground floor of the house.

Every stage that needs settings imports them from here (the fetcher its ``FetchSettings``, the
mailer its ``SmtpSettings``); ``config.py`` only reads and validates YAML into them. This
module imports nothing of the package.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time as dtime
from datetime import timedelta
from pathlib import Path

DEFAULT_USER_AGENT = "monitor/0.1 (+https://github.com/monitor-news/monitor; news monitoring for research)"


@dataclass(frozen=True, slots=True)
class FeedConfig:
    """One feed as configured in feeds.yaml."""

    name: str
    url: str
    language: str | None = None
    interval: timedelta = timedelta(minutes=60)
    tags: tuple[str, ...] = ()
    enabled: bool = True
    line: int | None = None  # line in the config file, for messages


@dataclass(frozen=True, slots=True)
class FetchSettings:
    timeout: float = 20.0  # total deadline per request, seconds
    max_bytes: int = 10_000_000  # cap on decoded body size
    max_redirects: int = 5
    user_agent: str = DEFAULT_USER_AGENT
    concurrency: int = 8  # requests (feeds and pages) in flight overall
    feed_concurrency: int = 8  # feeds being processed at once (each fetches its pages meanwhile)
    per_host: int = 2  # page fetches in flight per host
    min_host_delay: float = 0.0  # seconds between requests to one host
    page_text_min_chars: int = 200  # below this, fall back to the feed's text
    fetch_pages: bool = True


@dataclass(frozen=True, slots=True)
class TranslationSettings:
    packages_dir: Path
    enabled: bool = True
    translate_all: bool = False  # translate every body, not only flagged ones
    batch_size: int = 64  # sentences per model batch; measured: 16-128 level, 2048 slowest (padding)
    beam_size: int = 1
    threads: int = 0  # 0: let CTranslate2 decide
    device: str = "cpu"  # CTranslate2's device: cpu | cuda | auto (cuda when a GPU is visible)


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 25
    security: str = "none"  # none | starttls | ssl
    username: str | None = None
    timeout: float = 30.0


@dataclass(frozen=True, slots=True)
class DigestSettings:
    time: dtime = dtime(7, 0)
    timezone: str = "UTC"
    to: tuple[str, ...] = ()
    sender: str = "monitor@localhost"
    subject: str = "Monitor digest {date}: {count} flagged"
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    empty: str = "send"  # send | skip
    templates: Path | None = None
    tags: tuple[str, ...] = ()  # only articles from feeds with one of these tags; () = every feed
    by_tag: bool = False  # one section per watchlist and feed tag (a feed's first tag), untagged last


@dataclass(frozen=True, slots=True)
class JobSettings:
    """The distributed deployment (PostgreSQL + Procrastinate workers): ``monitor schedule/worker``."""

    tick: float = 5.0  # seconds between the scheduler's looks at what is due
    heartbeat: float = 10.0  # seconds between a worker's heartbeats
    stalled_after: float = 30.0  # a worker silent this long is dead: its running jobs are retried
