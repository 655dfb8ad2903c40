"""`monitor models ...`: the offline translation models (Argos packages): list, install from the
index, from a file, or every one the feeds and the stored articles need. Registered by ``cli``."""

from __future__ import annotations

from pathlib import Path

import click

from .cli import Context, pass_ctx
from .packages import Progress
from .sanitize import for_terminal
from .translation import install_hint


@click.group()
def models() -> None:
    """Manage the offline translation models (Argos packages)."""


@models.command("list")
@pass_ctx
def models_list(ctx: Context) -> None:
    """Show installed language pairs and configured languages that lack one."""
    from .packages import installed_pairs, needed_languages

    config = ctx.config
    pairs = installed_pairs(config.translation.packages_dir)
    click.echo(f"packages folder: {config.translation.packages_dir}")
    for src, dst, version in pairs:
        click.echo(f"  {src} -> {dst}  (version {version})")
    if not pairs:
        click.echo("  (none installed)")
    for code in needed_languages({f.language for f in config.feeds if f.language}, config.translation.packages_dir):
        click.echo(f"  missing for feeds in {code}: {install_hint(code)}")


@models.command("install")
@click.argument("source", required=False)
@click.argument("target", required=False)
@click.option("--file", "file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Install from a downloaded .argosmodel file instead of the package index.")
@click.option("--needed", is_flag=True,
              help="Install into English every model the feeds' languages and the stored articles need.")
@click.option("--index", "index_url", default=None, metavar="URL", help="The Argos package index to read.")
@pass_ctx
def models_install(ctx: Context, source: str | None, target: str | None, file: Path | None, needed: bool,
                   index_url: str | None) -> None:
    """Install a model: `models install sv en` from the Argos index (needs network),
    `models install --file X.argosmodel`, or `models install --needed`."""
    from .packages import DEFAULT_INDEX_URL, install_from_index, install_package_file

    packages_dir = ctx.config.translation.packages_dir
    if needed:
        _install_needed(ctx, index_url or DEFAULT_INDEX_URL)
        return
    if file is not None:
        install_package_file(file, packages_dir)
        click.echo(f"installed {file.name} into {packages_dir}")
        return
    if not source or not target:
        raise click.UsageError("give SOURCE and TARGET language codes (e.g. sv en), or --file")
    install_from_index(source, target, packages_dir, index_url=index_url or DEFAULT_INDEX_URL,
                       progress=_progress_bar(f"{source} -> {target}"))
    click.echo(f"installed {source} -> {target} into {packages_dir}")


def _install_needed(ctx: Context, index_url: str) -> None:
    """Every model the configured feeds' languages and the stored articles waiting for one need."""
    from .app import open_store
    from .errors import StorageError, TranslationError
    from .packages import install_from_index, needed_languages

    config = ctx.config
    languages = {f.language for f in config.enabled_feeds if f.language}
    try:
        with open_store(config, read_only=True) as store:
            languages |= set(store.translation_queue())
    except StorageError as exc:
        click.echo(f"note: the stored articles were not read ({for_terminal(str(exc), 200)}); "
                   "the feeds' languages alone decide")
    wanted = needed_languages(languages, config.translation.packages_dir)
    if not wanted:
        click.echo("every language in the feeds and the store has a model (or needs none)")
        return
    click.echo(f"models needed: {', '.join(f'{c} -> en' for c in wanted)}")
    failed: list[str] = []
    for code in wanted:
        try:
            install_from_index(code, "en", config.translation.packages_dir, index_url=index_url,
                               progress=_progress_bar(f"{code} -> en"))
        except TranslationError as exc:
            failed.append(code)
            click.echo(f"could not install {code} -> en: {for_terminal(str(exc), 400)}", err=True)
            continue
        click.echo(f"installed {code} -> en into {config.translation.packages_dir}")
    if failed:
        raise click.exceptions.Exit(1)


def _progress_bar(label: str) -> Progress:
    """A download progress line on the terminal: bytes so far (and the share, when the size is known)."""
    def show(done: int, total: int | None) -> None:
        share = f" {done * 100 // total:3d}%" if total else ""
        click.echo(f"\r  {label}: {done / 1e6:6.1f} MB{share}", nl=done == total, err=True)
    return show
