"""Feed operations on ``feeds.yaml``: find a feed from a page address and add it, remove one. The
file is edited as text (comments and layout kept, :mod:`monitor.feedsfile`) and the result must
load before it replaces the file, atomically, keeping the file's mode (through a symlink, the file
it points to). A running daemon, worker or web server re-reads it by itself. The CLI's `monitor
feeds add/remove` and the web interface's feed forms are thin wrappers over this.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from .config import Config, load_config
from .errors import ConfigError, FeedDiscoveryError, FeedListError, MonitorError
from .feeds import discover_feed_links, parse_feed
from .feedsfile import append_feeds, remove_feed
from .fetching import Fetcher

__all__ = ["COMMON_FEED_PATHS", "DiscoveredFeed", "add_feed", "discover", "remove_feed_named", "rewrite"]

COMMON_FEED_PATHS = ("/feed", "/feed/", "/rss", "/rss.xml", "/feed.xml", "/atom.xml", "/index.xml", "/feeds/all.atom")


@dataclass(frozen=True, slots=True)
class DiscoveredFeed:
    url: str  # the feed itself (after redirects)
    title: str
    language: str | None  # what the feed declares


async def discover(fetcher: Fetcher, url: str) -> DiscoveredFeed:
    """The feed at ``url``, or the one a page there links to (``<link rel=alternate>``, then
    common paths), each probed once through the guarded fetcher. FeedDiscoveryError names the
    address and what was tried."""
    try:
        page = await fetcher.fetch_feed(url)
    except MonitorError as exc:
        raise FeedDiscoveryError(f"could not fetch {url}: {exc}") from None
    try:
        parsed = parse_feed(page.content, page.url, page.headers)
        if parsed.entries or parsed.title:
            return DiscoveredFeed(str(page.url), parsed.title, parsed.language)
    except MonitorError:
        pass  # a page, not a feed: look for its feed
    tried: list[str] = []
    candidates = discover_feed_links(page.content, str(page.url))
    candidates += [urljoin(str(page.url), p) for p in COMMON_FEED_PATHS]
    for candidate in dict.fromkeys(candidates):
        tried.append(candidate)
        try:
            response = await fetcher.fetch_feed(candidate)
            parsed = parse_feed(response.content, response.url, response.headers)
        except MonitorError:
            continue
        if parsed.entries or parsed.title:
            return DiscoveredFeed(str(response.url), parsed.title, parsed.language)
    raise FeedDiscoveryError(f"no feed found at {url} (tried: {', '.join(tried) or 'nothing'})")


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One edit of the feeds list at a time (web, CLI, another process): a lock file beside it."""
    lock = path.resolve().with_name(f".{path.resolve().name}.lock")
    with open(lock, "a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def add_feed(config: Config, found: DiscoveredFeed, *, name: str | None = None, language: str | None = None,
             interval: str | None = None, tags: Sequence[str] = ()) -> dict[str, Any]:
    """Append ``found`` to ``config``'s file; the entry written. FeedListError when the feed or
    its name is already there; ConfigError when the result would not load (the file is then left
    as it was). Checked against the file as it is under the lock, not as ``config`` read it."""
    with _locked(config.path):
        return _add(load_config(config.path), found, name, language, interval, tags)


def _add(config: Config, found: DiscoveredFeed, name: str | None, language: str | None, interval: str | None,
         tags: Sequence[str]) -> dict[str, Any]:
    if any(f.url == found.url for f in config.feeds):
        raise FeedListError(f"{found.url} is already in the feeds list", path=str(config.path))
    entry: dict[str, Any] = {"name": (name or "").strip() or found.title.strip() or found.url, "url": found.url}
    if any(f.name == entry["name"] for f in config.feeds):
        raise FeedListError(f"a feed named {entry['name']!r} is already in the feeds list", path=str(config.path),
                            hint="give it another name")
    if language or found.language:
        entry["language"] = language or found.language
    if interval:
        entry["interval"] = interval
    if tags:
        entry["tags"] = [t for t in (t.strip() for t in tags) if t]
    text = config.path.read_text(encoding="utf-8")
    rewrite(config.path, append_feeds(text, [entry], str(config.path)))
    return entry


def remove_feed_named(path: Path, name: str) -> str:
    """Remove the feed with this name (or URL) from the file at ``path``; its URL. Its stored
    articles stay. FeedListError when no feed has that name."""
    with _locked(path):
        try:
            updated, url = remove_feed(path.read_text(encoding="utf-8"), name, str(path))
        except ConfigError as exc:
            raise FeedListError(exc.message, path=exc.path, line=exc.line, field=exc.field, hint=exc.hint) from None
        rewrite(path, updated)
    return url


def rewrite(path: Path, text: str) -> None:
    """Write ``text`` over the config at ``path`` only if it loads; atomically, keeping the file's
    mode (and, for a symlink, writing the file it points to)."""
    path = path.resolve()
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".new")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        try:
            load_config(Path(temp))  # the file stays as it was when the result would not load
        except ConfigError as exc:
            raise ConfigError(f"the edit was not saved: {exc.message}", path=str(path), line=exc.line,
                              field=exc.field, hint=exc.hint) from None
        shutil.copymode(path, temp)
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
