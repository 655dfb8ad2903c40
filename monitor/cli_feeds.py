"""`monitor feeds add/remove/import/export`: the feeds list edited in place (comments and layout
kept, the result validated before it replaces the file; a running daemon or worker re-reads it by
itself) and OPML in and out. Registered by ``cli``."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .cli import Context, pass_ctx
from .errors import FeedDiscoveryError, FeedListError
from .sanitize import for_terminal

if TYPE_CHECKING:
    from .feedops import DiscoveredFeed


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
    from .app import open_fetcher
    from .feedops import add_feed, discover

    async def find() -> DiscoveredFeed:
        async with open_fetcher(ctx.config) as fetcher:
            return await discover(fetcher, url)

    try:
        entry = add_feed(ctx.config, asyncio.run(find()), name=name, language=language, interval=interval,
                         tags=tags.split(",") if tags else ())
    except FeedDiscoveryError as exc:
        raise click.ClickException(str(exc)) from None
    except FeedListError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"added {for_terminal(entry['name'])} <{for_terminal(entry['url'])}> to {ctx.config_path}")


@click.command("remove")
@click.argument("name")
@pass_ctx
def feeds_remove(ctx: Context, name: str) -> None:
    """Remove the feed with this name (or URL) from the config; its stored articles stay."""
    from .feedops import remove_feed_named

    try:
        url = remove_feed_named(ctx.config_path, name)
    except FeedListError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"removed {for_terminal(name)} <{for_terminal(url)}> from {ctx.config_path}")


@click.command("import")
@click.argument("opml_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_ctx
def feeds_import(ctx: Context, opml_file: Path) -> None:
    """Add every feed of an OPML file (Miniflux, FreshRSS, any reader's export) not yet in the
    config; its categories become tags."""
    from .feedops import rewrite
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
        rewrite(ctx.config_path, append_feeds(text, entries, str(ctx.config_path)))
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
