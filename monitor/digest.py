"""The daily digest: select flagged articles, group them, render them.

``build_digest`` is pure: stored articles in, a :class:`Digest` out, grouped by
watchlist and then by story (the same URL, or a near-identical title across
feeds, is one story shown once with "also in: ..."), newest story first.
Rendering it is :mod:`monitor.rendering`; reading the store and sending,
:mod:`monitor.delivery`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from .gist import Glossary
from .marking import Segment, fold, highlight, surface, term_pattern, term_patterns
from .models import Hit, TranslationState, WatchlistMatch
from .storage import FeedRow, StoredArticle
from .translation import aligned_passage, install_command
from .urls import canonical_url, http_link
from .watchrules import Watchlist

MAX_ITEMS_PER_WATCHLIST = 100
MAX_MENTIONS_PER_WATCHLIST = 15  # "also mentioned" stays short
MAX_SNIPPETS = 2
LEAD_CHARS = 200
SIMILAR_TITLE = 0.9  # difflib ratio above which two titles are the same story
MIN_FUZZY_TITLE = 20  # shorter titles must match exactly to be one story

LANGUAGE_NAMES = {
    "en": "English", "sv": "Swedish", "zh": "Chinese", "zh-Hans": "Chinese (simplified)",
    "zh-Hant": "Chinese (traditional)", "de": "German", "fr": "French", "es": "Spanish", "ja": "Japanese",
    "ko": "Korean", "ru": "Russian", "nl": "Dutch", "no": "Norwegian", "nb": "Norwegian", "da": "Danish",
    "fi": "Finnish", "it": "Italian", "pt": "Portuguese", "pl": "Polish", "uk": "Ukrainian", "und": "unknown",
}


# -- the digest as data ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Mention:
    """Another outlet that carried the same story."""

    outlet: str
    url: str | None
    title: str


@dataclass(frozen=True, slots=True)
class DigestItem:
    article_id: int
    title: str  # English when translated, else the original
    original_title: str | None  # the original, when ``title`` is a translation of it
    outlet: str
    language: str
    language_name: str
    date: datetime  # published (else fetched), in the digest's time zone
    date_text: str
    url: str | None  # http(s) links only
    snippets: tuple[tuple[Segment, ...], ...]
    terms: tuple[str, ...]  # the matched words as the article writes them (its own script), first hit first
    reasons: tuple[str, ...]  # the rules that fired
    score: float
    also_in: tuple[Mention, ...] = ()
    english: tuple[str | None, ...] = ()  # the English of each of ``terms`` (None: English already, or unknown)
    gist: str | None = None  # a dictionary gist of a Chinese title that has no translation
    snippets_en: tuple[str, ...] = ()  # the snippets' sentences in the English translation, when there is one
    page_url: str | None = None  # its page in the web interface (`web.base_url`)
    languages: tuple[str, ...] = ()  # the languages the story was told in, the lead article's first
    level: str = "alert"  # or "mention"
    more: tuple[Mention, ...] = ()  # the story's other articles from the same outlet, under their own titles
    size: int = 1  # the story's articles in this digest


@dataclass(frozen=True, slots=True)
class WatchlistSection:
    name: str
    description: str
    items: tuple[DigestItem, ...]  # alerts, one per story: highest score first, then newest
    articles: int  # flagged articles in this section, before grouping into stories
    omitted: int = 0  # stories left out beyond MAX_ITEMS_PER_WATCHLIST (or the size budget)
    mentions: tuple[DigestItem, ...] = ()  # passing mentions, ranked the same way
    mentions_omitted: int = 0
    tag: str | None = None  # with ``digest.by_tag``: the feed tag this section holds (None: untagged feeds)


@dataclass(frozen=True, slots=True)
class FailingFeed:
    name: str
    url: str
    failures: int
    last_error: str | None
    next_attempt: str | None
    disabled_reason: str | None


@dataclass(frozen=True, slots=True)
class LanguageLine:
    """One line of the summary on top: alerts and mentions in one language."""

    language: str
    name: str
    alerts: int
    mentions: int


@dataclass(frozen=True, slots=True)
class MissingModel:
    """A language whose articles wait for a translation model, and the command that installs it."""

    language: str
    name: str
    command: str | None  # None: no Argos model exists for it


@dataclass(frozen=True, slots=True)
class Digest:
    generated: datetime  # in the digest's time zone
    since: datetime | None  # the previous digest, in the digest's time zone; None for the first one
    timezone: str
    sections: tuple[WatchlistSection, ...]
    failing: tuple[FailingFeed, ...]
    article_count: int  # distinct articles covered (alerts and mentions)
    summary: tuple[LanguageLine, ...] = ()
    missing_models: tuple[MissingModel, ...] = ()
    by_tag: bool = False  # sections are per watchlist and feed tag

    @property
    def empty(self) -> bool:
        return self.article_count == 0

    @property
    def story_count(self) -> int:
        return sum(len(s.items) for s in self.sections)

    @property
    def install_commands(self) -> tuple[str, ...]:
        """The commands that install the missing models, each once (zh-Hans and zh-Hant may share one)."""
        return tuple(dict.fromkeys(m.command for m in self.missing_models if m.command))

    @property
    def alert_count(self) -> int:
        return sum(line.alerts for line in self.summary)

    @property
    def mention_count(self) -> int:
        return sum(line.mentions for line in self.summary)

    @property
    def has_translations(self) -> bool:
        return any(item.original_title for s in self.sections for item in s.items)


# -- pure: build ---------------------------------------------------------------------------

_SectionKey = tuple[str, str | None]  # (watchlist, feed tag)


def build_digest(
    articles: Sequence[StoredArticle],
    failing: Sequence[FeedRow],
    *,
    now: datetime,
    since: datetime | None,
    timezone: str,
    feed_names: Mapping[str, str] | None = None,
    watchlists: Sequence[Watchlist] = (),
    max_items: int = MAX_ITEMS_PER_WATCHLIST,
    max_mentions: int = MAX_MENTIONS_PER_WATCHLIST,
    glossary: Glossary | None = None,
    page_base: str | None = None,
    feed_tags: Mapping[str, Sequence[str]] | None = None,
    by_tag: bool = False,
) -> Digest:
    """Group ``articles`` by watchlist (and, ``by_tag``, by their feed's first tag in
    ``feed_tags``' order, untagged last), then story: alerts ranked by score then recency, passing
    mentions below them. With a ``glossary``, foreign items carry the English of their terms and
    untranslated Chinese titles a dictionary gist. Pure (the glossary reads its dictionary once)."""
    tz = ZoneInfo(timezone)
    names = dict(feed_names or {})
    order = {w.name: i for i, w in enumerate(watchlists)}
    descriptions = {w.name: w.description for w in watchlists}
    patterns = term_patterns(watchlists)
    first_tag = {url: tags[0] for url, tags in (feed_tags or {}).items() if tags} if by_tag else {}
    tag_order = {t: i for i, t in enumerate(dict.fromkeys(first_tag.values()))}

    alerts: dict[str, list[tuple[StoredArticle, WatchlistMatch]]] = {}
    mentions: dict[str, list[tuple[StoredArticle, WatchlistMatch]]] = {}
    levels: dict[int, tuple[str, str]] = {}  # article id -> (language, "alert" | "mention")
    for stored in articles:
        for m in stored.article.matches:
            if m.flagged:
                alerts.setdefault(m.watchlist, []).append((stored, m))
                levels[stored.id] = (stored.article.language.code, "alert")
        if stored.id not in levels:
            for m in stored.article.matches:
                if m.mentioned:
                    mentions.setdefault(m.watchlist, []).append((stored, m))
                    levels[stored.id] = (stored.article.language.code, "mention")

    def placed(key: _SectionKey) -> tuple[int, int, str, str]:
        name, tag = key
        return (order.get(name, len(order)), tag_order.get(tag, len(tag_order)) if tag else len(tag_order) + 1,
                name, tag or "")

    def ranked(entries: Sequence[tuple[StoredArticle, WatchlistMatch]], level: str
               ) -> dict[str | None, list[DigestItem]]:
        """The stories of one watchlist (grouped across tags first), each under its lead's tag."""
        by_tag: dict[str | None, list[DigestItem]] = {}
        for story in group_stories(entries, names):
            item = replace(_story_item(story, tz, names, patterns, glossary, level),
                           page_url=f"{page_base}/article/{story[0][0].id}" if page_base else None)
            by_tag.setdefault(first_tag.get(story[0][0].article.feed_url), []).append(item)
        for items in by_tag.values():
            items.sort(key=lambda item: (item.score, item.date, item.article_id), reverse=True)
        return by_tag

    sections = []
    placed_items: dict[_SectionKey, tuple[list[DigestItem], list[DigestItem]]] = {}
    for name in set(alerts) | set(mentions):
        for level, source in (("alert", alerts), ("mention", mentions)):
            for tag, items in ranked(source.get(name, []), level).items():
                placed_items.setdefault((name, tag), ([], []))[0 if level == "alert" else 1].extend(items)
    for key in sorted(placed_items, key=placed):
        stories, passing = placed_items[key]
        sections.append(WatchlistSection(name=key[0], description=descriptions.get(key[0], ""),
                                         items=tuple(stories[:max_items]), articles=sum(i.size for i in stories),
                                         omitted=max(0, len(stories) - max_items),
                                         mentions=tuple(passing[:max_mentions]),
                                         mentions_omitted=max(0, len(passing) - max_mentions),
                                         tag=key[1] if by_tag else None))
    return Digest(
        generated=now.astimezone(tz),
        since=since.astimezone(tz) if since else None,
        timezone=timezone,
        sections=tuple(sections),
        failing=tuple(_failing(row, names, tz) for row in failing),
        article_count=len(levels),
        summary=_summary(levels),
        missing_models=_missing_models(articles),
        by_tag=by_tag,
    )


def _summary(levels: Mapping[int, tuple[str, str]]) -> tuple[LanguageLine, ...]:
    counts: dict[str, list[int]] = {}
    for language, level in levels.values():
        counts.setdefault(language, [0, 0])[0 if level == "alert" else 1] += 1
    return tuple(LanguageLine(lang, LANGUAGE_NAMES.get(lang, lang), a, m)
                 for lang, (a, m) in sorted(counts.items(), key=lambda kv: (-kv[1][0] - kv[1][1], kv[0])))


def _missing_models(articles: Sequence[StoredArticle]) -> tuple[MissingModel, ...]:
    waiting = sorted({s.article.language.code for s in articles
                      if s.article.translation is TranslationState.UNAVAILABLE and s.article.language.code != "en"})
    out = []
    for lang in waiting:
        try:
            command: str | None = install_command(lang)
        except ValueError:
            command = None
        out.append(MissingModel(lang, LANGUAGE_NAMES.get(lang, lang), command))
    return tuple(out)


def group_stories(
    entries: Sequence[tuple[StoredArticle, WatchlistMatch]], feed_names: Mapping[str, str] | None = None
) -> list[list[tuple[StoredArticle, WatchlistMatch]]]:
    """Partition articles into stories: same canonical URL or near-identical title (original or
    English). Each story lists its articles first-published first. Pure."""
    names = feed_names or {}
    parent = list(range(len(entries)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(i: int, j: int) -> None:
        parent[find(i)] = find(j)

    first: dict[str, int] = {}  # exact URL or title key -> first entry with it
    fuzzy: list[tuple[int, str, difflib.SequenceMatcher[str]]] = []
    postings: dict[str, list[int]] = {}  # token -> indexes into ``fuzzy``
    for i, (s, _) in enumerate(entries):
        keys = _title_keys(s.article.title, s.article.title_en, names.get(s.article.feed_url, s.article.feed_name))
        url = canonical_url(s.article.url) if s.article.url else None
        story = [f"story:{s.story}"] if s.story is not None else []  # the story stage's: across languages
        for key in story + ([f"url:{url}"] if url else []) + [f"title:{k}" for k in keys]:
            if key in first:
                join(i, first[key])
            else:
                first[key] = i
        for key in keys:
            if len(key) < MIN_FUZZY_TITLE:
                continue
            tokens = set(_TOKEN.findall(key))
            shared: dict[int, int] = {}  # earlier fuzzy keys sharing tokens with this one: only those are compared
            for token in tokens:
                for k in postings.get(token, ()):
                    shared[k] = shared.get(k, 0) + 1
            for k, count in shared.items():
                j, other, matcher = fuzzy[k]  # the matcher caches ``other`` as its second sequence
                if count >= len(tokens) // 2 and find(i) != find(j) \
                        and 2 * min(len(key), len(other)) >= SIMILAR_TITLE * (len(key) + len(other)):
                    matcher.set_seq1(key)
                    if matcher.quick_ratio() >= SIMILAR_TITLE and matcher.ratio() >= SIMILAR_TITLE:
                        join(i, j)
            for token in tokens:
                postings.setdefault(token, []).append(len(fuzzy))
            fuzzy.append((i, key, difflib.SequenceMatcher(None, key, key, autojunk=False)))
    groups: dict[int, list[tuple[StoredArticle, WatchlistMatch]]] = {}
    for i, entry in enumerate(entries):
        groups.setdefault(find(i), []).append(entry)
    return [sorted(g, key=lambda e: (_when(e[0]), e[0].id)) for g in groups.values()]


def _story_item(
    story: Sequence[tuple[StoredArticle, WatchlistMatch]],
    tz: ZoneInfo,
    names: Mapping[str, str],
    patterns: Mapping[tuple[str, str], re.Pattern[str]],
    glossary: Glossary | None = None,
    level: str = "alert",
) -> DigestItem:
    lead, match = story[0]
    a = lead.article
    outlet = names.get(a.feed_url, a.feed_name)
    seen: dict[str, str] = {}
    for h in match.hits:
        seen.setdefault(h.term.casefold(), h.term)
    written = tuple(seen.values())
    compiled = [patterns.get((match.watchlist, t)) or term_pattern(t) for t in written]
    where = f"{a.title}\n{a.text}"
    folded = fold(where)
    surfaces = [surface(p, where, folded) or t for p, t in zip(compiled, written, strict=True)]
    terms = tuple(dict.fromkeys(surfaces))
    english: tuple[str | None, ...] = ()
    if glossary is not None:
        by_surface = dict(zip(surfaces, written, strict=True))
        english = tuple(glossary.term(match.watchlist, by_surface[t], a.language.code) for t in terms)
    translated = bool(a.title_en and a.title_en.strip() and a.title_en.strip() != a.title.strip())
    gist = glossary.gist(a.title) if glossary is not None and not translated and a.language.code.startswith("zh") \
        else None
    also: dict[str, Mention] = {}
    more = tuple(Mention(outlet=outlet, url=http_link(st.article.url), title=st.article.title)
                 for st, _ in story[1:] if names.get(st.article.feed_url, st.article.feed_name) == outlet
                 and st.article.title.strip() != a.title.strip())  # the story's other articles from this outlet
    for stored, _ in story:
        for feed_url in (stored.article.feed_url, *stored.feeds):
            name = names.get(feed_url) or (stored.article.feed_name if feed_url == stored.article.feed_url
                                           else urlsplit(feed_url).hostname or feed_url)
            if name != outlet and name not in also:
                also[name] = Mention(outlet=name, url=http_link(stored.article.url), title=stored.article.title)
    when = max(_when(s) for s, _ in story).astimezone(tz)
    snippets, plain = _snippets(match.hits, a.text, compiled)
    english_snippets: tuple[str, ...] = ()
    if a.text_en and a.language.code != "en":
        found = (aligned_passage(a.text, a.text_en, p, a.language.code) for p in plain)
        english_snippets = tuple(dict.fromkeys(e for e in found if e))
    return DigestItem(
        article_id=lead.id,
        title=a.title_en.strip() if translated and a.title_en else a.title,
        original_title=a.title if translated else None,
        outlet=outlet,
        language=a.language.code,
        language_name=LANGUAGE_NAMES.get(a.language.code, a.language.code),
        date=when,
        date_text=_when(lead).astimezone(tz).strftime("%Y-%m-%d %H:%M"),
        url=http_link(a.url),
        snippets=snippets,
        snippets_en=english_snippets,
        terms=terms,
        reasons=_rules(match.reasons),
        score=max(m.score for _, m in story),
        also_in=tuple(also.values()),
        more=more,
        size=len(story),
        english=english,
        gist=gist,
        level=level,
        languages=tuple(dict.fromkeys(s.article.language.code for s, _ in story)),
    )


def _snippets(hits: Sequence[Hit], text: str, patterns: Sequence[re.Pattern[str]]
              ) -> tuple[tuple[tuple[Segment, ...], ...], tuple[str, ...]]:
    """The snippets to show (marked), and the same as plain text."""
    candidates = list(dict.fromkeys(h.snippet for h in hits if h.field == "text" and h.snippet.strip()))
    if not candidates:  # matched in the title only: show the article's lead
        lead = " ".join(text.split())
        candidates = [lead if len(lead) <= LEAD_CHARS else lead[:LEAD_CHARS].rsplit(" ", 1)[0] + "…"] if lead else []
    marked = [highlight(c, patterns) for c in candidates]

    def distinct_terms(segments: tuple[Segment, ...]) -> int:
        return len({s.text.casefold() for s in segments if s.mark})

    chosen: list[int] = []
    for i in sorted(range(len(marked)), key=lambda i: (-distinct_terms(marked[i]), i)):
        if len(chosen) < MAX_SNIPPETS and not any(_overlap(candidates[i], candidates[j]) for j in chosen):
            chosen.append(i)
    return tuple(marked[i] for i in sorted(chosen)), tuple(candidates[i] for i in sorted(chosen))


def _overlap(a: str, b: str) -> bool:
    """Two snippets around nearby hits share most of their text: show one."""
    a, b = a.strip("…"), b.strip("…")
    m = difflib.SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b))
    return m.size >= 0.4 * min(len(a), len(b))


def _rules(reasons: Sequence[str]) -> tuple[str, ...]:
    """Rule names from the watchlist's reasons ("evasion near chip: 1x in title (+4)"), once each."""
    return tuple(dict.fromkeys(r.split(":", 1)[0].strip() for r in reasons
                               if r.strip() and not r.startswith("score")))


def _failing(row: FeedRow, names: Mapping[str, str], tz: ZoneInfo) -> FailingFeed:
    s = row.state
    return FailingFeed(
        name=names.get(s.url, row.name),
        url=s.url,
        failures=s.consecutive_failures,
        last_error=s.last_error,
        next_attempt=s.next_attempt.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        if s.next_attempt and not s.disabled_reason else None,
        disabled_reason=s.disabled_reason,
    )


def _when(stored: StoredArticle) -> datetime:
    return stored.article.published or stored.article.fetched


_PUNCT = re.compile(r"[^\w]+")
_TOKEN = re.compile(r"[^\W\d_]{2,}|\d+|[\u3400-\u9fff]")  # words, numbers, single CJK characters


def _title_keys(title: str, title_en: str | None, outlet: str) -> tuple[str, ...]:
    keys = []
    for t in (title, title_en):
        if not t:
            continue
        t = fold(t).casefold()
        for sep in (" | ", " - ", " – ", " — "):  # "Headline - Outlet"
            head, _, tail = t.rpartition(sep)
            if head and tail.strip() == outlet.casefold():
                t = head
        key = " ".join(_PUNCT.sub(" ", t).split())
        if key:
            keys.append(key)
    return tuple(dict.fromkeys(keys))
