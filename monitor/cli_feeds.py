"""`monitor feeds add/remove/import/export`: the feeds list edited in place (comments and layout
kept, the result validated before it replaces the file; a running daemon or worker re-reads it by
itself) and OPML in and out. Registered by ``cli``."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import click

from .cli import Context, pass_ctx
from .errors import ConfigError, MonitorError
from .sanitize import for_terminal

COMMON_FEED_PATHS = ("/feed", "/feed/", "/rss", "/rss.xml", "/feed.xml", "/atom.xml", "/index.xml", "/feeds/all.atom")


def _rewrite(path: Path, text: str) -> None:
    """Write ``text`` over the config at ``path`` only if it loads; atomically, keeping the file's
    mode (and, for a symlink, writing the file it points to)."""
    from .config import load_config

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


@click.command("add")
@click.argument("url")
@click.option("--name", default=None, help="Its name (default: the feed's title).")
@click.option("--language", default=None, help="Its language hint (default: what the feed declares).")
@click.option("--interval", default=None, help="How often to poll it (e.g. 30m, 2h).")
@click.option("--tags", default=None, help="Comma-separated tags.")
@pass_ctx
def feeds_add(ctx: Context, url: str, name: str | None, language: str | None, interval: str | None,
              tags: str | None) -> None:
    """Add a feed: URL may be the feed or a page that links to it (found by <link rel=alternate> or a
    common path); it is probed once, then appended to the config."""
    from .feedsfile import append_feeds

    config = ctx.config
    feed_url, title, declared = asyncio.run(_discover(ctx, url))
    if any(f.url == feed_url for f in config.feeds):
        raise click.UsageError(f"{feed_url} is already in {ctx.config_path}")
    entry: dict[str, Any] = {"name": name or title or feed_url, "url": feed_url}
    if any(f.name == entry["name"] for f in config.feeds):
        raise click.UsageError(f"a feed named {entry['name']!r} is already in {ctx.config_path}: give --name")
    if language or declared:
        entry["language"] = language or declared
    if interval:
        entry["interval"] = interval
    if tags:
        entry["tags"] = [t.strip() for t in tags.split(",") if t.strip()]
    text = ctx.config_path.read_text(encoding="utf-8")
    _rewrite(ctx.config_path, append_feeds(text, [entry], str(ctx.config_path)))
    click.echo(f"added {for_terminal(entry['name'])} <{for_terminal(feed_url)}> to {ctx.config_path}")


async def _discover(ctx: Context, url: str) -> tuple[str, str, str | None]:
    from .app import open_app
    from .feeds import discover_feed_links, parse_feed

    tried: list[str] = []
    async with open_app(ctx.config) as app:
        async def probe(candidate: str) -> tuple[str, str, str | None] | None:
            tried.append(candidate)
            try:
                response = await app.fetcher.fetch_feed(candidate)
                parsed = parse_feed(response.content, response.url, response.headers)
            except MonitorError:
                return None
            return (str(response.url), parsed.title, parsed.language) if parsed.entries or parsed.title else None

        try:
            page = await app.fetcher.fetch_feed(url)
        except MonitorError as exc:
            raise click.ClickException(f"could not fetch {url}: {exc}") from None
        try:
            parsed = parse_feed(page.content, page.url, page.headers)
            if parsed.entries or parsed.title:
                return str(page.url), parsed.title, parsed.language
        except MonitorError:
            pass
        candidates = discover_feed_links(page.content, str(page.url))
        candidates += [urljoin(str(page.url), p) for p in COMMON_FEED_PATHS]
        for candidate in dict.fromkeys(candidates):
            found = await probe(candidate)
            if found:
                return found
    raise click.ClickException(f"no feed found at {url} (tried: {', '.join(tried) or 'nothing'})")


@click.command("remove")
@click.argument("name")
@pass_ctx
def feeds_remove(ctx: Context, name: str) -> None:
    """Remove the feed with this name (or URL) from the config; its stored articles stay."""
    from .feedsfile import remove_feed

    text = ctx.config_path.read_text(encoding="utf-8")
    try:
        updated, url = remove_feed(text, name, str(ctx.config_path))
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    _rewrite(ctx.config_path, updated)
    click.echo(f"removed {for_terminal(name)} <{for_terminal(url)}> from {ctx.config_path}")


@click.command("import")
@click.argument("opml_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_ctx
def feeds_import(ctx: Context, opml_file: Path) -> None:
    """Add every feed of an OPML file (Miniflux, FreshRSS, any reader's export) not yet in the
    config; its categories become tags."""
    from .feedsfile import append_feeds
    from .opml import parse_opml

    found = parse_opml(opml_file.read_bytes(), str(opml_file))
    known = {f.url for f in ctx.config.feeds}
    names = {f.name for f in ctx.config.feeds}
    entries: list[dict[str, Any]] = []
    for feed in found:
        if feed.url in known:
            continue
        known.add(feed.url)
        name = feed.name if feed.name not in names else f"{feed.name} ({feed.url})"
        names.add(name)
        entry: dict[str, Any] = {"name": name, "url": feed.url}
        if feed.categories:
            entry["tags"] = list(feed.categories)
        entries.append(entry)
    if entries:
        text = ctx.config_path.read_text(encoding="utf-8")
        _rewrite(ctx.config_path, append_feeds(text, entries, str(ctx.config_path)))
    click.echo(f"imported {len(entries)} feed(s) from {opml_file} ({len(found) - len(entries)} already there)")


@click.command("export")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of stdout.")
@pass_ctx
def feeds_export(ctx: Context, output: Path | None) -> None:
    """Write the configured feeds as OPML 2.0 (for any feed reader)."""
    from datetime import UTC, datetime

    from .opml import write_opml

    text = write_opml(ctx.config.feeds, title=f"monitor feeds ({ctx.config_path.name})", now=datetime.now(UTC))
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {len(ctx.config.feeds)} feed(s) to {output}", err=True)


COMMANDS = (feeds_add, feeds_remove, feeds_import, feeds_export)
