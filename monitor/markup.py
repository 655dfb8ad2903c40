"""HTML fragments to plain text (feed summaries and contents; the feed parser and the page
extractor share it): paragraphs kept as blank lines, scripts and styles dropped."""

from __future__ import annotations

import html
import re

import lxml.etree
import lxml.html

_BLOCK_TAGS = {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "tr",
               "table", "section", "article", "pre", "figcaption", "dd", "dt", "hr"}
_DROP_TAGS = ("script", "style", "noscript", "template", "iframe", "svg")


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment (feed summaries/content), paragraphs kept as blank lines."""
    if not fragment or "<" not in fragment:
        return tidy_text(html.unescape(fragment))
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (lxml.etree.ParserError, ValueError, AssertionError):
        # lxml refuses some fragments (a whole escaped document: "too many bodies"): strip tags instead
        return tidy_text(html.unescape(re.sub(r"<[^>]+>", " ", fragment)))
    for bad in root.iter(*_DROP_TAGS):
        bad.drop_tree()
    parts: list[str] = []

    def walk(el: lxml.html.HtmlElement) -> None:
        if not isinstance(el.tag, str):
            return  # a comment or processing instruction: its text is not content (its tail is kept)
        tag = el.tag
        if tag in _BLOCK_TAGS:
            parts.append("\n\n")
        if el.text:
            parts.append(el.text)
        for child in el:
            walk(child)
            if child.tail:
                parts.append(child.tail)
        if tag in _BLOCK_TAGS:
            parts.append("\n\n")

    walk(root)
    return tidy_text("".join(parts))


def tidy_text(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\xa0", " ")
    lines = [re.sub(r"[ \t\f\v]+", " ", line).strip() for line in text.split("\n")]
    out = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", out).strip()
