"""The loopback site most tests fetch: the seed articles as outlets serve them, and its config."""

from __future__ import annotations

from pathlib import Path

from tests.support import seedsite
from tests.support.httpserver import TestServer

DATA = Path(__file__).parents[1] / "data"


def seed_site(server: TestServer) -> TestServer:
    """The three seed outlets on ``server``: Dagens PS (sv RSS), DW (Big5 RDF), Ars Technica (en)."""
    ps, dw = seedsite.dagens_ps(), seedsite.dw_chinese()
    ps_url = server.add("/dagensps/2025/tio-miljarder-i-smuggelchips/",
                        seedsite.article_page(ps, "Dagens PS").encode(), "text/html; charset=utf-8")
    dw_url = server.add("/zh/a-65967606", seedsite.article_page(dw, "DW").encode(), "text/html; charset=utf-8")
    ars_html = (DATA / "pages/readability/ars-1/source.html").read_bytes()
    ars_url = server.add("/ars/minecraft-exploit/", ars_html, "text/html; charset=utf-8")
    ars_item = seedsite.Seed(slug="ars-minecraft", title="Just-released Minecraft exploit makes it easy to crash "
                             "game servers", paragraphs_html="", lang="en",
                             published_rfc822="Mon, 13 Apr 2015 10:00:00 +0000",
                             summary="Two-year-old bug exposes thousands of servers to crippling attack.",
                             last_sentence="")
    server.add("/dagensps/feed/", seedsite.rss_feed("Dagens PS", "sv-SE", [(ps, ps_url)]).encode(),
               "application/rss+xml; charset=UTF-8", etag='"ps-v1"')
    server.add("/rss-chi-all", seedsite.rdf_feed_big5("DW 中文", [(dw, dw_url)]),
               "application/rdf+xml", last_modified="Tue, 20 Jun 2023 03:00:00 GMT")
    server.add("/ars/feed", seedsite.rss_feed("Ars Technica", "en-us", [(ars_item, ars_url)]).encode(),
               "application/rss+xml")  # no validators: only the content hash can tell it is unchanged
    return server


def write_config(tmp_path: Path, server: TestServer, extra: str = "") -> Path:
    config = tmp_path / "feeds.yaml"
    config.write_text(f"""
database: data/monitor.sqlite3
allow_private_networks: true   # the test server is on 127.0.0.1
feeds:
  - name: Dagens PS
    url: {server.url("/dagensps/feed/")}
    language: sv
    interval: 30m
    tags: [sv, business]
  - name: DW Chinese
    url: {server.url("/rss-chi-all")}
  - name: Ars Technica
    url: {server.url("/ars/feed")}
{extra}""", encoding="utf-8")
    return config


def feed_of_links(server: TestServer, links: list[str]) -> bytes:
    ps = seedsite.dagens_ps()
    items = [(seedsite.Seed(**{**ps.__dict__, "slug": f"h{i}", "title": f"Artikel {i}"}), link)
             for i, link in enumerate(links)]
    return seedsite.rss_feed("Hostile", "sv", items).encode()
