"""Turn the two seed articles (tests/data/seeds) into what a real outlet serves:
an article page with site boilerplate, and a feed (RSS for Dagens PS, RDF in Big5
for DW Chinese) that links to it."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).parents[1] / "data"
SEEDS = DATA / "seeds"


@dataclass(frozen=True)
class Seed:
    slug: str
    title: str
    paragraphs_html: str  # the article body as HTML
    lang: str
    published_rfc822: str
    summary: str
    last_sentence: str  # a sentence from the end of the body, to prove full text was stored


def dagens_ps() -> Seed:
    lines = (SEEDS / "000_007c8cc8a336648e.txt").read_text(encoding="utf-8").splitlines()
    title = lines[2].strip()
    body_lines = lines[lines.index("Uppdaterad: 25 juli 2025Publicerad: 25 juli 2025") + 1:]
    end = next(i for i, line in enumerate(body_lines) if line.startswith("Läs mer från Dagens PS"))
    paragraphs = []
    for line in body_lines[:end]:
        line = line.strip()
        if not line:
            continue
        if line == "ANNONS":
            paragraphs.append('<div class="ad-slot" aria-hidden="true">ANNONS</div>')
        elif line in ("Mest läst i kategorin", "Senaste nytt", "Spela klippet", "Missa inte:", "Läs även:"):
            paragraphs.append(f'<div class="widget-title">{html.escape(line)}</div>')
        else:
            paragraphs.append(f"<p>{html.escape(line)}</p>")
    return Seed(
        slug="dagensps-smuggelchips",
        title=title,
        paragraphs_html="\n".join(paragraphs),
        lang="sv",
        published_rfc822="Fri, 25 Jul 2025 08:12:00 +0200",
        summary="Kraftiga AI-chip till ett värde på över en miljard dollar har smugglats till Kina.",
        last_sentence="Jensen Huang har tidigare uttryckt en vilja att kunna sälja mer avancerade chip",
    )


def dw_chinese() -> Seed:
    raw = (SEEDS / "004_7be077216a394de0.txt").read_text(encoding="utf-8")
    m = re.search(r"^\[(.+?)\]\((https?://[^)]+)\)", raw, re.M)
    assert m is not None
    body = raw.split("------", 1)[1].strip()
    return Seed(
        slug="dw-chip-black-market",
        title=m.group(1),
        paragraphs_html=body,
        lang="zh-Hant",
        published_rfc822="Tue, 20 Jun 2023 02:48:54 +0000",
        summary="美國下令英偉達不可出口高階的人工智慧晶片到中國，但中國當地業者仍然能設法取得。",
        last_sentence="限制打壓阻擋不了中國的發展",
    )


def article_page(seed: Seed, site: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="{seed.lang}">
<head><meta charset="utf-8"><title>{html.escape(seed.title)} | {site}</title>
<meta property="og:title" content="{html.escape(seed.title)}">
<script>window.dataLayer = [];</script></head>
<body>
<header><nav><a href="/">{site}</a> <a href="/nyheter">Nyheter</a> <a href="/ekonomi">Ekonomi</a>
<a href="/teknik">Teknik</a> <a href="/login">Logga in</a></nav></header>
<main>
<article>
<h1>{html.escape(seed.title)}</h1>
<div class="byline">{site}</div>
{seed.paragraphs_html}
</article>
<aside><h3>Populärt</h3><ul><li><a href="/a">Annan nyhet ett</a></li><li><a href="/b">Annan nyhet två</a></li></ul>
</aside>
</main>
<footer><p>© {site}. Alla rättigheter förbehållna. Cookies · Integritetspolicy · Kontakt</p></footer>
</body></html>"""


def rss_feed(title: str, language: str, items: list[tuple[Seed, str]]) -> str:
    entries = "\n".join(
        f"""<item><title>{html.escape(s.title)}</title><link>{html.escape(url)}</link>
<guid isPermaLink="false">{s.slug}</guid><pubDate>{s.published_rfc822}</pubDate>
<description>{html.escape(s.summary)}</description></item>"""
        for s, url in items
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>{html.escape(title)}</title><link>https://example.invalid/</link>
<description>test</description><language>{language}</language>
{entries}
</channel></rss>"""


def rdf_feed_big5(title: str, items: list[tuple[Seed, str]]) -> bytes:
    """An RSS 1.0 (RDF) feed like DW's, encoded in Big5 (HKSCS) with the declaration to match."""
    entries = "\n".join(
        f"""<item rdf:about="{html.escape(url)}"><title>{html.escape(s.title)}</title>
<link>{html.escape(url)}</link><description>{html.escape(s.summary)}</description>
<dc:date>2023-06-20T02:48:54Z</dc:date><dc:language>zh-TW</dc:language></item>"""
        for s, url in items
    )
    seq = "".join(f'<rdf:li rdf:resource="{html.escape(url)}"/>' for _, url in items)
    text = f"""<?xml version="1.0" encoding="big5"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="https://example.invalid/zh"><title>{html.escape(title)}</title>
<link>https://example.invalid/zh</link><description>DW</description>
<items><rdf:Seq>{seq}</rdf:Seq></items></channel>
{entries}
</rdf:RDF>"""
    return text.encode("big5hkscs", errors="xmlcharrefreplace")
