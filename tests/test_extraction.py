"""Page decoding and extraction (no network): charsets, fallbacks, and the choice of text."""

from __future__ import annotations

from datetime import UTC, datetime

import opencc
import pytest

from monitor.decoding import decode_html
from monitor.errors import ExtractionError
from monitor.extraction import choose_text, extract
from monitor.language import LanguageDetector
from monitor.markup import html_to_text
from monitor.models import Extracted, FeedEntry, TextSource
from tests.conftest import DATA
from tests.support import seedsite

DW = seedsite.dw_chinese()


@pytest.mark.parametrize(("codec", "meta", "header"), [
    ("big5hkscs", "big5", None),
    ("big5hkscs", None, "text/html; charset=big5"),
    ("big5hkscs", None, None),           # nothing declared: detected
    ("gb18030", "gb2312", None),         # GB2312 declared, GBK/GB18030 bytes
    ("gb18030", None, "text/html;charset=GB18030"),
    ("gb18030", None, None),
    ("utf-8", "iso-8859-1", None),        # a wrong declaration is not believed
])
def test_chinese_pages_in_legacy_encodings(codec: str, meta: str | None, header: str | None) -> None:
    page = seedsite.article_page(DW, "DW")
    page = page.replace('<meta charset="utf-8">', f'<meta charset="{meta}">' if meta else "")
    if codec == "gb18030":
        page = opencc.OpenCC("t2s").convert(page)
    text = decode_html(page.encode(codec, errors="xmlcharrefreplace"), {"content-type": header} if header else {})
    extracted = extract(text, "http://dw.test/a")
    assert "限制打壓阻擋不了中國的發展" in extracted.text or "限制打压阻挡不了中国的发展" in extracted.text
    assert "\ufffd" not in extracted.text


def test_mostly_utf8_page_with_a_broken_byte() -> None:
    body = "<html><body><p>Exportkontroll på chip och halvledare.</p></body></html>".encode() + b"\xff"
    assert "på chip" in decode_html(body)


def test_empty_and_textless_pages_raise() -> None:
    with pytest.raises(ExtractionError, match="empty page"):
        extract("   ", "http://x.test/")
    with pytest.raises(ExtractionError, match="no article text"):
        extract("<html><body><script>x()</script></body></html>", "http://x.test/")


def test_html_fragments_become_paragraphs() -> None:
    assert html_to_text("<p>One &amp; two</p><script>bad()</script><p>Three<br>four</p>") == \
        "One & two\n\nThree\n\nfour"


def _entry(summary: str = "", content: str = "") -> FeedEntry:
    return FeedEntry(feed_url="f", key="k", link="http://x.test/a", title="T", summary=summary, content=content,
                     published=datetime(2026, 1, 1, tzinfo=UTC))


def test_choose_text_prefers_the_page_then_the_richest_feed_text() -> None:
    page = Extracted(text="p" * 500, source=TextSource.PAGE)
    assert choose_text(page, _entry("short", "longer content"), 200).source is TextSource.PAGE
    thin = Extracted(text="tiny", source=TextSource.PAGE)
    chosen = choose_text(thin, _entry("summary here", "the full content of the entry"), 200)
    assert chosen.source is TextSource.FEED_CONTENT and chosen.text == "the full content of the entry"
    assert choose_text(None, _entry("only a summary"), 200).source is TextSource.FEED_SUMMARY
    assert choose_text(None, _entry(), 200).source is TextSource.NONE


@pytest.mark.parametrize("paragraphs", [1, None])  # a short page (headline and lead), the whole article
def test_undeclared_swedish_cp1252_page_is_read_as_cp1252(paragraphs: int | None) -> None:
    # the Dagens PS seed as a page in Windows-1252 ("–", "“" beside å, ä, ö) that declares nothing:
    # charset_normalizer ranked cp1250 first on the short page, tied with cp1252 ("pĺ bara tre mĺnader")
    seed = seedsite.dagens_ps()
    body = [p for p in seed.paragraphs_html.split("\n") if p.startswith("<p>")][:paragraphs]
    page = f"<html><head><title>{seed.title}</title></head><body><article><h1>{seed.title}</h1>" \
           f"{''.join(body)}</article></body></html>"
    text = decode_html(page.encode("cp1252"))
    assert text == page
    extracted = extract(text, "https://www.dagensps.se/a")
    assert extracted.title == "Tio miljarder i smuggelchips – på bara tre månader"
    assert "Kraftiga AI-chip till ett värde ett samlat värde på över en miljard dollar har smugglats" in extracted.text


def test_short_undeclared_latin1_page_is_not_taken_for_broken_utf8() -> None:
    # two sentences from lingua-py's Swedish test data (Leipzig corpora, Apache-2.0), in Latin-1
    page = "<html><body><p>Menyerna öppnar man genom att klicka på menynamnet. " \
           "E-postadressen når han sporadiskt i skolan.</p></body></html>"
    assert decode_html(page.encode("latin-1")) == page


def test_gb2312_page_with_a_few_bad_bytes_keeps_its_declaration() -> None:
    # a real page from the Chinese Web Content Extraction Dataset (MIT): declares gb2312, holds GBK
    # characters and a dozen invalid bytes; read as UTF-8 it was ~17,500 replacement characters
    body = (DATA / "pages/cwced/b70f455d-50d6-4c8c-a450-07d8e5ca2e06.html").read_bytes()
    extracted = extract(decode_html(body), "http://cn.cl2000.com/history/beida/ffygf/fysl_01.shtml")
    assert extracted.text.count("\ufffd") <= len(extracted.text) // 1000
    assert "有道是历史始于5000年前文字的发明。以文字的产生作为划分标志是简便的做法" in extracted.text
    assert LanguageDetector().detect(extracted.title or "", extracted.text).code == "zh-Hans"
