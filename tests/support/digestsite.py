"""A fetched database for digest tests: real outlets (mirror, syndicator, hostile wire, broken feed)
fetched once per module; tests copy it and append a ``digest:`` section."""

from __future__ import annotations

import html
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from click.testing import CliRunner

from monitor.cli import main
from tests.support import seedsite
from tests.support.httpserver import TestServer

EVIL_TITLE = 'Chip smugglers <script>alert(1)</script> & "friends" dodge export controls'
EVIL_SUMMARY = ("US export controls <img src=x onerror=alert(2)> on Nvidia AI chips are being dodged: smugglers "
                "move chips through shell companies in Singapore, investigators say.")


def build_site(server: TestServer) -> dict[str, str]:
    """Feeds as outlets serve them: Dagens PS (sv), DW (zh-Hant, Big5 RDF), a mirror that carries the
    Dagens PS story under its own URL and a suffixed title, a syndicator that links the same URL, an
    English wire whose title carries markup, an unflagged Ars Technica story and a broken feed."""
    ps, dw = seedsite.dagens_ps(), seedsite.dw_chinese()
    ps_url = server.add("/dagensps/2025/tio-miljarder-i-smuggelchips/",
                        seedsite.article_page(ps, "Dagens PS").encode(), "text/html; charset=utf-8")
    server.add("/dagensps/2025/tio-miljarder-i-smuggelchips/?utm_source=synd",
               seedsite.article_page(ps, "Dagens PS").encode(), "text/html; charset=utf-8")
    mirror_url = server.add("/mirror/smuggelchips", seedsite.article_page(ps, "Mirror").encode(),
                            "text/html; charset=utf-8")
    dw_url = server.add("/zh/a-65967606", seedsite.article_page(dw, "DW").encode(), "text/html; charset=utf-8")
    mirrored = seedsite.Seed(**{**ps.__dict__, "slug": "mirror-1", "title": f"{ps.title} - Mirror",
                                "published_rfc822": "Fri, 25 Jul 2025 09:30:00 +0200"})
    syndicated = seedsite.Seed(**{**ps.__dict__, "slug": "synd-1"})
    # escaped twice, as some feeds do: the parsed title is the literal text "<script>..."
    evil = seedsite.Seed(slug="evil-1", title=html.escape(EVIL_TITLE, quote=False), paragraphs_html="", lang="en",
                         published_rfc822="Sat, 26 Jul 2025 06:00:00 +0000",
                         summary=html.escape(EVIL_SUMMARY, quote=False), last_sentence="")
    quiet = seedsite.Seed(slug="ars-1", title="Just-released Minecraft exploit makes it easy to crash game servers",
                          paragraphs_html="", lang="en", published_rfc822="Mon, 13 Apr 2015 10:00:00 +0000",
                          summary="Two-year-old bug exposes thousands of servers to crippling attack.",
                          last_sentence="")
    server.add("/dagensps/feed/", seedsite.rss_feed("Dagens PS", "sv-SE", [(ps, ps_url)]).encode(),
               "application/rss+xml; charset=UTF-8")
    server.add("/rss-chi-all", seedsite.rdf_feed_big5("DW 中文", [(dw, dw_url)]), "application/rdf+xml")
    server.add("/mirror/feed", seedsite.rss_feed("Mirror", "sv", [(mirrored, mirror_url)]).encode(),
               "application/rss+xml")
    server.add("/synd/feed", seedsite.rss_feed("Syndicator", "sv", [(syndicated, ps_url + "?utm_source=synd")])
               .encode(), "application/rss+xml")
    server.add("/evil/feed", seedsite.rss_feed("Evil Wire", "en", [(evil, server.url("/evil/gone"))]).encode(),
               "application/rss+xml")
    server.add("/ars/feed", seedsite.rss_feed("Ars", "en", [(quiet, server.url("/ars/gone"))]).encode(),
               "application/rss+xml")
    return {"ps": ps_url, "mirror": mirror_url, "dw": dw_url}


def write_config(tmp_path: Path, server: TestServer, digest: str = "") -> Path:
    config = tmp_path / "feeds.yaml"
    config.write_text(f"""
database: data/monitor.sqlite3
allow_private_networks: true
translation:
  enabled: false
feeds:
  - name: Dagens PS
    url: {server.url("/dagensps/feed/")}
    language: sv
  - name: DW Chinese
    url: {server.url("/rss-chi-all")}
  - name: Mirror
    url: {server.url("/mirror/feed")}
  - name: Syndicator
    url: {server.url("/synd/feed")}
  - name: Evil Wire
    url: {server.url("/evil/feed")}
  - name: Ars Technica
    url: {server.url("/ars/feed")}
  - name: Broken
    url: {server.url("/broken/feed")}
{digest}""", encoding="utf-8")
    return config


def fetch(config: Path) -> None:
    result = CliRunner().invoke(main, ["--config", str(config), "fetch"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    # PS (also carried by the syndicator), its mirror, DW, the evil wire; not Ars
    assert "5 new articles, 4 flagged" in result.output, result.output


def copy_fetched(template: Path, tmp_path: Path, digest: str) -> Path:
    """The fetched database and config, with a ``digest:`` section appended."""
    shutil.copytree(template / "data", tmp_path / "data")
    config = tmp_path / "feeds.yaml"
    config.write_text((template / "feeds.yaml").read_text(encoding="utf-8") + digest, encoding="utf-8")
    return config


@contextmanager
def fetched_once(base: Path) -> Iterator[Path]:
    """One real fetch into ``base`` (a few seconds), its server stopped afterwards."""
    srv = TestServer().start()
    try:
        build_site(srv)
        fetch(write_config(base, srv))
        yield base
    finally:
        srv.stop()
