"""Command line: each command is a thin wrapper over the library."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from . import __version__
from .config import DEFAULT_CONFIG, Config, load_config
from .errors import ConfigError, MonitorError
from .sanitize import for_terminal
from .translation import install_hint

if TYPE_CHECKING:  # the stages are imported by the commands that run them: `monitor --help` stays quick
    from .pipeline import FeedOutcome, PassSummary
    from .storyrun import StoryRun
    from .translating import TranslationSummary

EXIT_CONFIG = 2
EXIT_NOTHING_FETCHED = 3  # `fetch`: not one enabled feed could be fetched (offline, every feed failing)


class Context:
    def __init__(self, config_path: Path) -> None:
        self.config_path = config_path
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            try:
                self._config = load_config(self.config_path)
            except ConfigError as exc:
                click.echo(f"error: {exc}", err=True)
                sys.exit(EXIT_CONFIG)
        return self._config


pass_ctx = click.make_pass_decorator(Context)


class MonitorGroup(click.Group):
    """Turns the package's own errors into one clean line and exit status 1 (2 for configuration)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_CONFIG)
        except MonitorError as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=MonitorGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), envvar="MONITOR_CONFIG",
              default=DEFAULT_CONFIG, show_default=True, show_envvar=True, help="The feeds.yaml to use.")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.version_option(__version__, prog_name="monitor")
@click.pass_context
def main(ctx: click.Context, config_path: Path, verbose: int) -> None:
    """Multilingual news monitoring: fetch feeds, extract full text, detect language,
    flag watchlist matches, translate to English and mail a daily digest."""
    level = logging.WARNING - 10 * verbose
    logging.basicConfig(level=max(level, logging.DEBUG), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx.obj = Context(config_path)


@main.command()
@pass_ctx
def fetch(ctx: Context) -> None:
    """Run one pass over every enabled feed now and store what is new. Exit status: 0 when the
    pass ran (some feeds may have failed: they are listed), 3 when not one enabled feed could be
    fetched, 2 for a configuration error, 1 for another error."""
    from .app import open_app

    config = ctx.config
    feeds = config.enabled_feeds
    show_bar = sys.stderr.isatty()

    async def run() -> tuple[PassSummary, StoryRun, TranslationSummary | None]:
        async with open_app(config) as app:
            if not show_bar:
                summary = await app.pipeline().run_pass(feeds)
            else:
                with click.progressbar(length=len(feeds), label="Fetching feeds", file=sys.stderr) as bar:
                    def done(_: FeedOutcome) -> None:
                        bar.update(1)
                    summary = await app.pipeline().run_pass(feeds, on_feed_done=done)
            from .storyrun import assign_stories

            try:
                translated = app.translate() if config.translation.enabled else None  # English titles join stories
            finally:  # a translation that fails holds no story back
                stories = assign_stories(app.store, app.clock())
            return summary, stories, translated

    summary, stories, translated = asyncio.run(run())
    _print_summary(summary)
    if stories.assigned:
        click.echo(f"stories: {stories.assigned} article(s) placed, {stories.joined} joining a story already told")
    if translated is not None:
        _print_translation(translated)
    if summary.nothing_fetched:
        first = summary.outcomes[0]
        click.echo(f"error: none of the {len(summary.outcomes)} enabled feed(s) could be fetched "
                   f"(first: {for_terminal(first.feed.name)}: {for_terminal(first.error, 200)})", err=True)
        sys.exit(EXIT_NOTHING_FETCHED)


def _print_translation(summary: TranslationSummary) -> None:
    if summary.translated or summary.unavailable:
        click.echo(f"translated {summary.translated} article(s); {summary.unavailable} wait for a model")
    for language in summary.missing_pairs:
        click.echo(f"  no model for {language}->en: {install_hint(language)}")


@main.command()
@pass_ctx
def translate(ctx: Context) -> None:
    """Translate stored articles that wait for it (after installing a model, say)."""
    from .app import build_translator, open_store
    from .translating import translate_pending

    config = ctx.config
    with open_store(config) as store:
        summary = translate_pending(store, build_translator(config, store), config.translation)
    _print_translation(summary)
    if not (summary.translated or summary.unavailable):
        click.echo("nothing to translate")


def _print_summary(summary: PassSummary) -> None:
    seconds = (summary.finished - summary.started).total_seconds()
    counts: dict[str, int] = {}
    for o in summary.outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    states = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    click.echo(f"{len(summary.outcomes)} feeds ({states}): {summary.new_articles} new articles, "
               f"{summary.flagged} flagged, in {seconds:.1f}s")
    for o in summary.outcomes:
        if o.status in ("failed", "disabled"):
            name, url = for_terminal(o.feed.name), for_terminal(o.feed.url)
            click.echo(f"  {o.status.upper()}: {name} <{url}>: {for_terminal(o.error, 300)}")
        elif o.page_failures:
            click.echo(f"  note: {for_terminal(o.feed.name)}: {o.page_failures} page(s) could not be fetched or"
                       " extracted; the feed's own text was used")


@main.group()
def feeds() -> None:
    """Inspect configured feeds."""


@feeds.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Output format.")
@pass_ctx
def feeds_list(ctx: Context, fmt: str) -> None:
    """Show each feed's status, last fetch, last error, article counts (all, last 24 h) and pages that
    failed, times in the digest's time zone."""
    import json
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from .app import open_store
    from .storage.search import feed_activity

    config = ctx.config
    tz = ZoneInfo(config.digest.timezone)
    with open_store(config, read_only=True) as store:
        rows = {r.state.url: r for r in store.feed_rows()}
        cutoff = datetime.now(UTC) - timedelta(hours=24)
        recent = store.run(lambda conn: feed_activity(conn, cutoff))

    def when(value: datetime | None) -> str | None:
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z") if value else None

    records = []
    for feed in config.feeds:
        row = rows.get(feed.url)
        if not feed.enabled:
            status = "disabled (config)"
        elif row is None:
            status = "never fetched"
        elif row.state.disabled_reason:
            status = "disabled"
        elif row.state.consecutive_failures:
            status = f"FAILING x{row.state.consecutive_failures}"
        else:
            status = "ok"
        state = row.state if row is not None else None
        day, failed = recent.get(feed.url, (0, 0))
        records.append({
            "name": feed.name, "url": feed.url, "status": status, "tags": list(feed.tags),
            "last_fetch": when(state.last_fetched if state else None),
            "last_success": when(state.last_success if state else None),
            "next_attempt": when(state.next_attempt if state and state.consecutive_failures else None),
            "failures": state.consecutive_failures if state else 0,
            "last_error": state.last_error if state else None,
            "disabled_reason": state.disabled_reason if state else None,
            "articles": row.articles if row else 0, "flagged": row.flagged if row else 0,
            "articles_24h": day, "page_failures_24h": failed})
    if fmt == "json":
        click.echo(json.dumps(records, ensure_ascii=False, indent=2))
        return
    for r in records:
        click.echo(f"{for_terminal(str(r['name']))}  <{for_terminal(str(r['url']))}>")
        click.echo(f"    status: {r['status']}")
        if r["last_fetch"]:
            click.echo(f"    last fetch: {r['last_fetch']}   articles: {r['articles']} ({r['flagged']} flagged), "
                       f"{r['articles_24h']} in the last 24 h, {r['page_failures_24h']} with the page failed")
        if r["next_attempt"]:
            click.echo(f"    next attempt: {r['next_attempt']}")
        if r["last_error"]:
            click.echo(f"    last error: {for_terminal(str(r['last_error']), 400)}")
        if r["disabled_reason"]:
            click.echo(f"    {for_terminal(str(r['disabled_reason']), 400)}")


@feeds.command("check")
@pass_ctx
def feeds_check(ctx: Context) -> None:
    """Validate the configuration and probe each feed once (nothing is stored)."""
    from .app import open_app
    from .feeds import parse_feed

    config = ctx.config
    click.echo(f"{config.path}: valid; {len(config.feeds)} feeds, {len(config.watchlists)} watchlist(s), "
               f"database {config.database}")

    async def probe() -> list[tuple[str, str]]:
        results: list[tuple[str, str]] = []
        async with open_app(config) as app:
            async def one(url: str) -> str:
                try:
                    response = await app.fetcher.fetch_feed(url)
                    parsed = parse_feed(response.content, response.url, response.headers)
                except MonitorError as exc:
                    return f"FAILED: {exc}"
                return f"ok: {len(parsed.entries)} entries, declared language {parsed.language or '-'}"
            outcomes = await asyncio.gather(*(one(f.url) for f in config.enabled_feeds))
            results = [(f.name, o) for f, o in zip(config.enabled_feeds, outcomes, strict=True)]
        return results

    failed = 0
    for name, outcome in asyncio.run(probe()):
        failed += outcome.startswith("FAILED")
        click.echo(f"  {for_terminal(name)}: {for_terminal(outcome, 400)}")
    if failed:
        click.echo(f"{failed} feed(s) failed the probe")
        sys.exit(1)


@main.command("digest")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the HTML digest to this file. Without --send it is only a preview: nothing is "
                   "sent or marked sent.")
@click.option("--send", is_flag=True, help="Send the digest now and record it as sent (digest.empty applies).")
@pass_ctx
def digest_command(ctx: Context, output: Path | None, send: bool) -> None:
    """Build the digest of everything flagged since the last digest sent. Preview it (--output
    FILE.html, or the text part on stdout) or send it now (--send; SMTP password from
    MONITOR_SMTP_PASSWORD)."""
    import os

    from .app import build_mailer, open_store, system_clock
    from .delivery import deliver_digest, plan_digest
    from .mailer import PASSWORD_ENV

    config = ctx.config
    with open_store(config, read_only=not send) as store:  # a preview only reads
        if send:
            mailer = build_mailer(config, os.environ.get(PASSWORD_ENV))
            outcome = asyncio.run(deliver_digest(store, config, mailer, system_clock()))
            plan = outcome.plan
        else:
            plan = plan_digest(store, config, system_clock())
    if output is not None:
        output.write_text(plan.rendered.html, encoding="utf-8")
        click.echo(f"wrote {output} ({plan.digest.article_count} article(s), {plan.digest.story_count} stories)")
    if not send and output is None:
        click.echo("".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in plan.rendered.text))
    if send and outcome.sent:
        click.echo(f"sent digest {outcome.message_id}: {plan.digest.article_count} article(s) to "
                   f"{', '.join(config.digest.to)}")
    elif send:
        click.echo("nothing flagged since the last digest; not sent (digest.empty: skip)")


def _own_config(ctx: Context, path: Path | None) -> Config:
    """A command's own ``--config`` (scripts write `monitor worker --config F`) wins over the group's."""
    if path is not None:
        ctx.config_path, ctx._config = path, None
    return ctx.config


_CONFIG_OPTION = click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
                              default=None, help="The feeds.yaml to use (as `monitor --config`).")


@main.command("run")
@_CONFIG_OPTION
@pass_ctx
def run_command(ctx: Context, config_path: Path | None) -> None:
    """Run as a daemon: poll each feed at its own interval, send the digest daily at digest.time
    (digest.timezone). Reloads the config when the file changes or on SIGHUP; stops cleanly on
    Ctrl-C or SIGTERM. On PostgreSQL: a scheduler and a worker for every queue, in one process."""
    import dataclasses
    import os

    from .app import build_background_translator, build_mailer, open_app, system_clock
    from .mailer import PASSWORD_ENV
    from .scheduler import Daemon
    from .storage.engine import is_postgres

    config = _own_config(ctx, config_path)
    if is_postgres(config.database):
        from .distributed.service import serve_all

        _daemon_logging()
        asyncio.run(serve_all(config))
        return
    password = os.environ.get(PASSWORD_ENV)
    _daemon_logging()

    async def serve() -> None:
        background = build_background_translator(config, system_clock)
        try:
            async with open_app(config) as app:
                from .storyrun import StoryStage, translation_wait

                stories = StoryStage()  # its index lives with the daemon: each run reads only what is new

                def place() -> None:  # those waiting for their translation wait (storyrun.TRANSLATION_WAIT)
                    stories.run(app.store, app.clock(), translation_wait(app.config.translation))

                background.then(place)  # once translated, they join their stories

                async def after_feed(outcome: FeedOutcome) -> None:
                    if not outcome.new_articles:
                        return
                    if app.config.translation.enabled:
                        background.request()  # in the background: the feed's next poll does not wait
                    place()  # new articles join their stories at once

                async def before_digest() -> None:
                    try:
                        if app.config.translation.enabled:
                            await background.run()  # the digest shows English titles
                    finally:  # the digest is the deadline: every article in its story, translated or not
                        stories.run(app.store, app.clock())

                daemon = Daemon(config, store=app.store, clock=app.clock,
                                make_pipeline=lambda c: dataclasses.replace(app, config=c).pipeline(),
                                make_mailer=lambda c: build_mailer(c, password),
                                after_feed=after_feed, before_digest=before_digest)
                await daemon.run()
        finally:
            await background.aclose()

    asyncio.run(serve())


def _daemon_logging() -> None:
    if logging.getLogger().level > logging.INFO:
        logging.getLogger("monitor").setLevel(logging.INFO)  # a daemon says what it does


@main.command()
@_CONFIG_OPTION
@pass_ctx
def schedule(ctx: Context, config_path: Path | None) -> None:
    """Defer feed polls at their intervals and the daily digest as jobs for `monitor worker`s, and
    put back the jobs of workers that died (PostgreSQL only). Any number may run. Stops on SIGTERM."""
    from .distributed.service import serve_scheduler

    config = _own_config(ctx, config_path)
    _daemon_logging()
    asyncio.run(serve_scheduler(config))


@main.command()
@_CONFIG_OPTION
@click.option("--queues", default="fetch,pages,translate,digest", show_default=True,
              help="Comma-separated queues to take jobs from (e.g. `translate` on a GPU machine).")
@click.option("--concurrency", type=click.IntRange(min=1), default=4, show_default=True,
              help="Jobs run at once by this worker.")
@pass_ctx
def worker(ctx: Context, config_path: Path | None, queues: str, concurrency: int) -> None:
    """Run jobs (PostgreSQL only): feed polls, pages, translation, the digest. Start any number, on
    any number of machines sharing the database. Stops on SIGTERM, finishing the jobs in hand."""
    from .distributed.service import serve_worker
    from .distributed.tasks import QUEUES

    config = _own_config(ctx, config_path)
    chosen = tuple(q.strip() for q in queues.split(",") if q.strip())
    unknown = sorted(set(chosen) - set(QUEUES))
    if unknown or not chosen:
        raise click.BadParameter(f"unknown queue(s) {', '.join(unknown) or '(none given)'}; "
                                 f"choose from {', '.join(QUEUES)}", param_hint="--queues")
    _daemon_logging()
    asyncio.run(serve_worker(config, chosen, concurrency))


@main.command()
@click.option("--status", "statuses", multiple=True, default=("todo", "doing", "failed"), show_default=True,
              type=click.Choice(["todo", "doing", "succeeded", "failed", "cancelled", "aborted"]),
              help="Which jobs to list (repeatable).")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@pass_ctx
def jobs(ctx: Context, statuses: tuple[str, ...], limit: int) -> None:
    """Jobs queued, running and failed, per queue, with the error of each failed one (PostgreSQL only)."""
    from .distributed.service import job_report

    report = asyncio.run(job_report(ctx.config, statuses, limit))
    for (queue, status), n in sorted(report.counts.items()):
        click.echo(f"{queue:10} {status:10} {n}")
    for row in report.rows:
        error = report.errors.get(row.id)
        click.echo(f"#{row.id} {row.status} {row.task} (queue {row.queue}, attempts {row.attempts}) "
                   f"{for_terminal(row.args, 160)}" + (f"\n    error: {for_terminal(error, 400)}" if error else ""))


WEB_TOKEN_ENV = "MONITOR_WEB_TOKEN"


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help=f"Address to listen on; anything but loopback needs ${WEB_TOKEN_ENV}.")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True, help="Port to listen on.")
@click.option("--read-only", is_flag=True, help="No feed forms: the interface changes nothing, feeds.yaml included.")
@pass_ctx
def serve(ctx: Context, host: str, port: int, read_only: bool) -> None:
    """Serve the local web interface: alerts, search, articles, feeds, Atom feeds of alerts."""
    import ipaddress
    import os
    from datetime import UTC, datetime

    import uvicorn

    from .app import open_fetcher, open_store
    from .web import build_app

    token = os.environ.get(WEB_TOKEN_ENV) or None
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback and token is None:
        raise click.UsageError(f"refusing to serve on {host} without a token: set {WEB_TOKEN_ENV} (clients send it "
                               "as a Bearer token or as the basic-auth password), or serve on 127.0.0.1")
    config = ctx.config
    app = build_app(config, lambda: open_store(config, read_only=True), clock=lambda: datetime.now(UTC),
                    token=token, edits=not read_only, open_fetcher=open_fetcher)
    click.echo(f"serving {config.path} on http://{host}:{port}/" + (" (token required)" if token else ""))
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _register() -> None:
    """The command groups kept in their own modules (each imports ``Context`` and ``pass_ctx`` from here)."""
    from .cli_archive import copy_db, eval_command, eval_stories, export, search
    from .cli_feeds import COMMANDS
    from .cli_models import models

    for command in (models, export, eval_command, eval_stories, search, copy_db):
        main.add_command(command)
    for command in COMMANDS:
        feeds.add_command(command)


_register()
