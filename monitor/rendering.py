"""The digest rendered: an HTML and a plain-text part from Jinja2 templates (autoescaped HTML; a
user's ``digest.templates`` folder overrides the shipped ones), the HTML kept under a size budget
(Gmail clips a message past about 102 KB): past it, the lowest-ranked items are counted, not
shown, mentions first. Pure.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import jinja2

from .digest import Digest
from .errors import ConfigError

__all__ = ["HTML_BUDGET", "RenderedDigest", "format_subject", "render_digest", "template_environment"]

HTML_TEMPLATE = "digest.html.j2"
TEXT_TEMPLATE = "digest.txt.j2"
HTML_BUDGET = 95_000  # bytes of the HTML part


@dataclass(frozen=True, slots=True)
class RenderedDigest:
    subject: str
    html: str
    text: str


def template_environment(templates: Path | None = None) -> jinja2.Environment:
    """Templates from ``templates`` (the user's folder) first, then the shipped ones; HTML
    templates autoescaped."""
    loaders: list[jinja2.BaseLoader] = []
    if templates is not None:
        loaders.append(jinja2.FileSystemLoader(str(templates)))
    loaders.append(jinja2.PackageLoader("monitor", "templates"))
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "htm", "html.j2", "htm.j2"),
                                            default_for_string=True, default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def format_subject(template: str, digest: Digest) -> str:
    """The configured subject with {date}, {count}, {stories}, {watchlists} filled in; an unknown
    placeholder is left as written."""
    values = {"date": digest.generated.strftime("%Y-%m-%d"), "count": str(digest.article_count),
              "stories": str(digest.story_count), "watchlists": ", ".join(s.name for s in digest.sections)}
    out = []
    try:
        for literal, field, spec, _ in string.Formatter().parse(template):
            out.append(literal)
            if field is not None:
                out.append(values[field] if field in values else "{" + field + (":" + spec if spec else "") + "}")
    except ValueError:  # unbalanced braces: use it as written
        out = [template]
    return " ".join("".join(out).split())  # one line: no header injection


def render_digest(digest: Digest, *, subject: str, templates: Path | None = None,
                  budget: int = HTML_BUDGET) -> RenderedDigest:
    """Render both parts, the HTML within ``budget`` bytes (items past it are counted as not shown).
    A broken user template raises ConfigError naming its file and line."""
    env = template_environment(templates)
    title = format_subject(subject, digest)
    html, text = _render(env, digest, title, templates)
    shown = digest
    while len(html.encode()) > budget and _shown(shown) > 0:
        over = len(html.encode()) - budget
        drop = max(1, round(_shown(shown) * over / max(1, len(html.encode()))) + 1)
        shown = _trim(shown, drop)
        html, text = _render(env, shown, title, templates)
    return RenderedDigest(subject=title, html=html, text=text)


def _render(env: jinja2.Environment, digest: Digest, title: str, templates: Path | None) -> tuple[str, str]:
    context: dict[str, Any] = {"digest": digest, "subject": title}
    try:
        return env.get_template(HTML_TEMPLATE).render(context), env.get_template(TEXT_TEMPLATE).render(context)
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(f"digest template: {exc.message}", path=exc.filename or exc.name, line=exc.lineno,
                          field="digest.templates") from None
    except jinja2.TemplateError as exc:
        raise ConfigError(f"digest template: {exc}", path=str(templates) if templates else None,
                          field="digest.templates") from None


def _shown(digest: Digest) -> int:
    return sum(len(s.items) + len(s.mentions) for s in digest.sections)


def _trim(digest: Digest, count: int) -> Digest:
    """Leave out ``count`` items: the last mentions first, then the lowest-ranked alerts of the
    longest section."""
    sections = list(digest.sections)
    for _ in range(count):
        with_mentions = [i for i, s in enumerate(sections) if s.mentions]
        if with_mentions:
            i = max(with_mentions, key=lambda k: len(sections[k].mentions))
            s = sections[i]
            sections[i] = replace(s, mentions=s.mentions[:-1], mentions_omitted=s.mentions_omitted + 1)
            continue
        with_items = [i for i, s in enumerate(sections) if s.items]
        if not with_items:
            break
        i = max(with_items, key=lambda k: len(sections[k].items))
        s = sections[i]
        sections[i] = replace(s, items=s.items[:-1], omitted=s.omitted + 1)
    return replace(digest, sections=tuple(sections))


