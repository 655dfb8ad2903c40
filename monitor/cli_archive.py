"""The commands that read the archive: `monitor search`, `monitor export`, `monitor eval`, `monitor copy-db`.
Registered by ``cli``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from .cli import Context, pass_ctx
from .errors import ConfigError
from .sanitize import for_terminal

_WHEN = click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"])


@click.command()
@click.option("--flagged", is_flag=True, help="Only articles a watchlist alerts on.")
@click.option("--since", type=_WHEN, default=None, help="Published (else fetched) at or after this date or time "
              "(UTC unless it says otherwise).")
@click.option("--feed", "feed_names", multiple=True, help="Only this feed (its name or URL); repeatable.")
@click.option("--tag", "tags", multiple=True, help="Only feeds with this tag; repeatable.")
@click.option("--language", "languages", multiple=True, help="Only this language; repeatable.")
@click.option("--watchlist", default=None, help="Only articles this watchlist alerts on or mentions.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most this many (the newest).")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "atom"]), default="jsonl", show_default=True,
              help="Output format (atom: a feed of the alerts, for any feed reader).")
@click.option("--bom", is_flag=True, help="CSV: start with a UTF-8 byte-order mark (for spreadsheet programs).")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of stdout.")
@pass_ctx
def export(ctx: Context, flagged: bool, since: Any, feed_names: tuple[str, ...], tags: tuple[str, ...],
           languages: tuple[str, ...], watchlist: str | None, limit: int | None, fmt: str, bom: bool,
           output: Path | None) -> None:
    """Write stored articles as JSON Lines, CSV or an Atom feed of alerts."""
    from datetime import UTC, datetime

    from .app import open_store
    from .export import write_atom, write_csv, write_jsonl
    from .storage import SearchFilters

    levels = ("alert",) if flagged or fmt == "atom" else ()
    when = (since if since.tzinfo else since.replace(tzinfo=UTC)) if since else None
    filters = SearchFilters(languages=languages, feed_urls=feed_urls(ctx, feed_names, tags), watchlist=watchlist,
                            levels=levels, since=when)
    with open_store(ctx.config, read_only=True) as store:
        articles = list(store.articles(filters=filters))
    if limit is not None:
        articles = articles[-limit:]
    with (output.open("w", encoding="utf-8", newline="") if output else _stdout()) as out:
        if fmt == "jsonl":
            count = write_jsonl(articles, out)
        elif fmt == "csv":
            count = write_csv(articles, out, bom=bom)
        else:
            name = watchlist or "all watchlists"
            count = write_atom(articles, out, title=f"monitor alerts: {name}", now=datetime.now(UTC),
                               feed_id=f"tag:monitor,2026:alerts:{watchlist or 'all'}")
    if output:
        click.echo(f"wrote {count} article(s) to {output}", err=True)


def _stdout() -> Any:
    from contextlib import nullcontext

    return nullcontext(sys.stdout)


def feed_urls(ctx: Context, names: tuple[str, ...], tags: tuple[str, ...]) -> tuple[str, ...]:
    """The feeds that ``--feed`` (a name or URL) and ``--tag`` options name; a name or tag that
    names none is a usage error."""
    config = ctx.config
    urls: list[str] = []
    for name in names:
        found = [f.url for f in config.feeds if name in (f.name, f.url)]
        if not found:
            raise click.BadParameter(f"no feed named {name!r} in {ctx.config_path}", param_hint="--feed")
        urls += found
    for tag in tags:
        tagged = [f.url for f in config.feeds if tag in f.tags]
        if not tagged:
            raise click.BadParameter(f"no feed has the tag {tag!r} in {ctx.config_path}", param_hint="--tag")
        urls += tagged
    return tuple(dict.fromkeys(urls))


@click.command("eval")
@click.argument("labelled", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--floors", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON file of minimum figures; exit 1 when one is not met.")
@click.option("--folds", type=click.IntRange(min=2), default=None, metavar="K",
              help="Also learn the alert threshold on K-1 folds and report held-out (k-fold) figures.")
@pass_ctx
def eval_command(ctx: Context, labelled: Path, floors: Path | None, folds: int | None) -> None:
    """Measure language ID and watchlists on a labelled JSONL set, per language."""
    import json

    from .app import build_detector
    from .evaluation import check_floors, evaluate, format_report

    report = evaluate(labelled, build_detector(), ctx.config.watchlists if ctx.config_path.exists()
                      else _default_watchlists())
    click.echo(format_report(report))
    if folds is not None:
        from .crossval import cross_validate, format_cross_validation

        click.echo(format_cross_validation(cross_validate(report.items, folds)))
    if floors is not None:
        try:
            wanted = json.loads(floors.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"not valid JSON: {exc}", path=str(floors)) from exc
        problems = check_floors(report, wanted)
        for p in problems:
            click.echo(f"BELOW FLOOR: {p}", err=True)
        if problems:
            sys.exit(1)


def _default_watchlists() -> Any:
    from .watchrules import default_watchlists

    return default_watchlists()


# -- digest and daemon ---


@click.command("search")
@click.argument("query", default="")
@click.option("--language", "languages", multiple=True, help="Only this language (sv, en, zh-Hans...); repeatable.")
@click.option("--feed", "feed_names", multiple=True, help="Only this feed (its name or URL); repeatable.")
@click.option("--tag", "tags", multiple=True, help="Only feeds with this tag; repeatable.")
@click.option("--watchlist", default=None, help="Only articles this watchlist alerts on or mentions.")
@click.option("--level", "levels", multiple=True, type=click.Choice(["alert", "mention", "none"]),
              help="Only this level; repeatable.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]), default=None,
              help="Published (else fetched) at or after this date or time (UTC).")
@click.option("--until", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]), default=None,
              help="... before this date or time (UTC).")
@click.option("--sort", type=click.Choice(["relevance", "date"]), default="relevance", show_default=True,
              help="Best match first, or newest first.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="At most this many.")
@click.option("--format", "fmt", type=click.Choice(["table", "jsonl"]), default="table", show_default=True,
              help="Output format.")
@pass_ctx
def search(ctx: Context, query: str, languages: tuple[str, ...], feed_names: tuple[str, ...],
           tags: tuple[str, ...], watchlist: str | None, levels: tuple[str, ...], since: Any, until: Any,
           sort: str, limit: int, fmt: str) -> None:
    """Search stored articles: every word must occur (title, text or English; Chinese inside
    sentences, Swedish compounds and simplified/traditional alike); "quote" a phrase."""
    import json
    from datetime import UTC

    from .app import open_store
    from .storage import SearchFilters

    config = ctx.config
    filters = SearchFilters(languages=languages, feed_urls=feed_urls(ctx, feed_names, tags), watchlist=watchlist,
                            levels=levels, since=since.replace(tzinfo=UTC) if since else None,
                            until=until.replace(tzinfo=UTC) if until else None, sort=sort, limit=limit)
    with open_store(config, read_only=True) as store:
        results = store.search(query, filters)
    if fmt == "jsonl":
        for r in results:
            click.echo(json.dumps({"id": r.id, "title": r.title, "title_en": r.title_en, "feed": r.feed_name,
                                   "language": r.language, "date": (r.published or r.fetched).isoformat(),
                                   "url": r.url, "level": r.level, "passage": r.passage,
                                   "relevance": round(r.relevance, 3)}, ensure_ascii=False))
        return
    if not results:
        click.echo("no article matches")
        return
    for r in results:
        when = (r.published or r.fetched).astimezone(UTC).strftime("%Y-%m-%d")
        mark = {"alert": "!", "mention": "~"}.get(r.level, " ")
        click.echo(f"{mark} {when} [{r.language}] {for_terminal(r.title, 120)}  ({for_terminal(r.feed_name, 40)})")
        if r.title_en and r.title_en != r.title:
            click.echo(f"    {for_terminal(r.title_en, 120)}")
        click.echo(f"    {for_terminal(r.passage, 220)}")
    click.echo(f"{len(results)} article(s); ! alert, ~ mention")


@click.command("eval-stories")
@click.argument("labelled", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("stories", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--folds", type=click.IntRange(min=2), default=None, metavar="K",
              help="Also choose the window and threshold on K-1 folds of whole stories and report held-out figures.")
@click.option("--translate", is_flag=True,
              help="Translate non-English titles (and leads, with translation.translate_all) with the config's "
                   "installed models first: their English joins the evidence, as in a store with translations.")
@pass_ctx
def eval_stories(ctx: Context, labelled: Path, stories: Path, folds: int | None, translate: bool) -> None:
    """Measure story clustering against hand-made clusters: pairwise precision and recall,
    recall on pairs across languages, every wrong merge and every miss."""
    from .storyeval import evaluate_stories, format_story_report, translations_of

    english = None
    if translate:
        from .app import build_translator
        from .evaluation import read_jsonl

        leads = ctx.config.translation.translate_all
        english, missing = translations_of(read_jsonl(labelled), build_translator(ctx.config, None), leads=leads)
        click.echo(f"translated {len(english)} article(s), {'titles and leads' if leads else 'titles'}"
                   + (f"; no model for {', '.join(missing)}" if missing else ""))
    click.echo(format_story_report(evaluate_stories(labelled, stories, english=english)), nl=False)
    if folds is not None:
        from .storycv import cross_validate_stories, format_story_cross_validation

        click.echo("")
        click.echo(format_story_cross_validation(cross_validate_stories(labelled, stories, folds, english=english)),
                   nl=False)


@click.command("copy-db")
@click.argument("target")
@pass_ctx
def copy_db(ctx: Context, target: str) -> None:
    """Copy this config's database into TARGET: a postgresql:// URL (when one machine is outgrown)
    or a SQLite file. Articles keep their ids, with their feeds, matches, hits and stories; feeds'
    states, the translation cache and the digests sent come along. Interrupted, run it again (before
    monitor runs on TARGET): it goes on, copying nothing twice. TARGET must be empty or a copy of this
    database begun earlier. Then point `database:` in feeds.yaml at TARGET. TARGET's password: in its
    URL, or ~/.pgpass."""
    from .app import open_store
    from .storage import Store
    from .storage.copying import copy_database
    from .storage.engine import is_postgres, redacted

    if "://" in target and not is_postgres(target):
        raise click.BadParameter(f"{target.split('://')[0]}:// is no database monitor knows: give a postgresql:// "
                                 "URL or a SQLite file's path", param_hint="TARGET")
    with open_store(ctx.config) as source, Store(target) as into:
        report = copy_database(source, into, progress=lambda n: click.echo(f"{n} article(s) done", err=True))
    added = ", ".join(f"{n} {table}" for table, n in report.copied.items())
    click.echo(f"copied into {redacted(target)}: {added}" + (f"; {report.kept} article(s) were there already"
                                                              if report.kept else ""))
