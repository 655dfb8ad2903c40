"""Watchlist definitions: weighted term rules, after EMM's alert language, read from YAML and
compiled (matching them is ``watchlists.match``).

A watchlist has named **groups** of synonymous terms (an OR; every language's synonyms
in the same group) and **rules** that combine groups with AND, optionally within a
proximity window, with NOT groups. Title and text are read as one stream, title first,
so a window can join a headline to its lead. Each time a rule is satisfied (once per
match of a term of its first group, the "anchor") it scores ``rule.weight x the anchor
term's weight``, times ``title_weight`` when the anchor is in the title; at most
``max_count`` times per rule in the title and as many in the text. The article is flagged
when the total reaches ``threshold`` and no group listed under the watchlist's ``not``
occurs anywhere. YAML schema (see ``monitor/data/chip-export-controls.yaml``)::

    name: chip-export-controls        # required
    description: free text
    threshold: 2                      # required, > 0: an alert
    mention_threshold: 1              # default threshold / 2: a passing mention (digest: "also mentioned")
    title_weight: 2                   # default 2
    max_count: 3                      # default 3
    groups:                           # required: group name -> list of terms
      control: [export control*, exportrestriktion*, 出口管制]
      chip: [chip, chips, "*chips", 芯片, {term: H20, weight: 2}]
      acronyms: [{term: BIS, exact_case: true}]
      chemistry: [water, H2O]
    rules:                            # required, a list
      - name: control near chip       # default "rules[N]"
        all: [control, chip]          # required: AND of groups (the first is the anchor)
        not: [chemistry]              # optional: within the window, else anywhere
        within: 20                    # optional, words (Latin-script articles)
        within_chars: 40              # optional, characters (zh/ja/ko articles)
        weight: 1                     # default 1
        max_count: 3                  # default: the watchlist's
    not: [other-group]                # optional: article-level veto
    labels:                           # optional: each group's English, shown beside terms in other languages
      control: export control

Terms. Latin words match whole words, case-insensitively (``exact_case: true`` for
acronyms such as BIS). ``*`` at the end of a word lets it go on (``exportrestriktion*``
matches "exportrestriktionerna"), at the start lets it begin earlier (``"*chips"``
matches "smuggelchips"; quote it, YAML reads a leading ``*`` as an alias). A space
matches any run of spaces or hyphens, a hyphen an optional space or hyphen. CJK matches as
a substring, simplified and traditional folded together (write 出口管制 once; 實體清單
and 实体清单 are the same term), full-width Latin folded to ASCII; "AI芯片" also matches
"AI 芯片". Windows count a Latin word or a CJK character as one position; URLs and
HTML tags are blanked before matching. Only one of ``within``/``within_chars`` given:
the other is derived (x2 / ÷2).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml

from monitor.errors import WatchlistError
from monitor.scripts import CJK, fold_table
from monitor.yamlnodes import NodeReader, describe

__all__ = [
    "CompiledTerm",
    "Rule",
    "Term",
    "TermGroup",
    "Watchlist",
    "default_watchlists",
    "load_watchlist_file",
    "parse_watchlist_node",
]

DEFAULT_RESOURCE = "chip-export-controls.yaml"
WORD_CHARS = r"0-9A-Za-z\u00c0-\u024f"  # Latin letters and digits: what a word boundary means
_WORD = WORD_CHARS
_CJK = CJK
_SEP = r"[\s\-\u2010\u2011\u00ad]+"


@dataclass(frozen=True, slots=True)
class Term:
    text: str  # as written in the YAML
    weight: float = 1.0
    exact_case: bool = False


@dataclass(frozen=True, slots=True)
class CompiledTerm:
    term: Term
    literal: str  # must occur (lower-cased unless exact_case) for the pattern to match
    pattern: re.Pattern[str] = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class TermGroup:
    name: str
    terms: tuple[CompiledTerm, ...]


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    all: tuple[str, ...]  # group names, AND
    not_: tuple[str, ...] = ()
    within: int | None = None  # words
    within_chars: int | None = None  # CJK characters
    weight: float = 1.0
    max_count: int = 3

    def window(self, cjk: bool) -> int | None:
        if cjk:
            return self.within_chars if self.within_chars is not None else _scaled(self.within, 2.0)
        return self.within if self.within is not None else _scaled(self.within_chars, 0.5)


@dataclass(frozen=True, slots=True)
class Watchlist:
    name: str
    groups: tuple[TermGroup, ...]
    rules: tuple[Rule, ...]
    threshold: float
    title_weight: float = 2.0
    mention_threshold: float = 0.0  # 0: half the threshold
    group_labels: tuple[tuple[str, str], ...] = ()  # group -> its English, for readers of other languages
    exclude: tuple[str, ...] = ()  # the YAML's `not`: article-level veto
    description: str = ""
    source: str = ""  # file:line it was read from

    def label(self, group: str) -> str | None:
        """The English the YAML's ``labels`` gives ``group`` (for terms in other languages), or None."""
        return dict(self.group_labels).get(group)

    @property
    def mention_level(self) -> float:
        return self.mention_threshold or self.threshold / 2

    def group(self, name: str) -> TermGroup:
        for g in self.groups:
            if g.name == name:
                return g
        raise KeyError(name)


def _scaled(value: int | None, factor: float) -> int | None:
    return None if value is None else max(1, round(value * factor))


# -- loading -----------------------------------------------------------------------------


@lru_cache(maxsize=1)
def default_watchlists() -> tuple[Watchlist, ...]:
    """The watchlists shipped with the package (``monitor/data/chip-export-controls.yaml``)."""
    resource = resources.files("monitor").joinpath("data", DEFAULT_RESOURCE)
    reader = NodeReader(f"monitor/data/{DEFAULT_RESOURCE}", WatchlistError)
    return _from_root(reader, reader.compose(resource.read_text(encoding="utf-8")))


def load_watchlist_file(path: Path) -> tuple[Watchlist, ...]:
    """Every watchlist in a YAML file: a mapping (one watchlist) or a list of them.

    Always returns a tuple. Raises :class:`WatchlistError` naming file:line and field.
    """
    reader, root = NodeReader.compose_file(Path(path), WatchlistError)
    return _from_root(reader, root)


def _from_root(reader: NodeReader, root: yaml.Node | None) -> tuple[Watchlist, ...]:
    if root is None or reader.is_null(root):
        raise WatchlistError("the file holds no watchlist", path=reader.path, line=1)
    nodes = reader.sequence(root, "") if isinstance(root, yaml.SequenceNode) else [root]
    if not nodes:
        raise reader.fail(root, None, "the list of watchlists is empty")
    lists = tuple(_parse(reader, node, f"[{i}]" if len(nodes) > 1 else "") for i, node in enumerate(nodes))
    seen: set[str] = set()
    for node, watchlist in zip(nodes, lists, strict=True):
        if watchlist.name in seen:
            raise reader.fail(node, "name", f"duplicate watchlist name {watchlist.name!r}")
        seen.add(watchlist.name)
    return lists


# -- parsing composed YAML ---------------------------------------------------------------

_TOP_KEYS = ("name", "description", "threshold", "mention_threshold", "title_weight", "max_count", "groups", "rules",
             "not", "labels")
_RULE_KEYS = ("name", "all", "not", "within", "within_chars", "weight", "max_count")
_TERM_KEYS = ("term", "weight", "exact_case")


def parse_watchlist_node(node: yaml.Node, path: str) -> Watchlist:
    """A :class:`Watchlist` from a composed YAML node (``yaml.compose``).

    ``path`` names the file in error messages. Raises :class:`WatchlistError` with the
    line (``node.start_mark.line + 1``) and the dotted field that is wrong.
    """
    return _parse(NodeReader(path, WatchlistError), node, "")


def _parse(reader: NodeReader, node: yaml.Node, prefix: str) -> Watchlist:
    def at(name: str) -> str:
        return f"{prefix}.{name}" if prefix else name

    top = reader.mapping(node, prefix, allowed=_TOP_KEYS, required=("name", "threshold", "groups", "rules"))
    max_count = reader.integer(top["max_count"], at("max_count"), minimum=1) if "max_count" in top else 3
    groups = _parse_groups(reader, top["groups"], at("groups"))
    names = {g.name for g in groups}
    rule_nodes = reader.sequence(top["rules"], at("rules"))
    if not rule_nodes:
        raise reader.fail(top["rules"], at("rules"), "must not be empty")
    threshold = _positive(reader, top["threshold"], at("threshold"))
    mention = (_positive(reader, top["mention_threshold"], at("mention_threshold"))
               if "mention_threshold" in top else 0.0)
    if mention > threshold:
        raise reader.fail(top["mention_threshold"], at("mention_threshold"),
                          f"{mention:g} is above the threshold ({threshold:g}): a mention is the lower level")
    return Watchlist(
        name=reader.string(top["name"], at("name")),
        groups=groups,
        rules=tuple(
            _parse_rule(reader, item, at(f"rules[{i}]"), names, max_count) for i, item in enumerate(rule_nodes)
        ),
        threshold=threshold,
        mention_threshold=mention,
        group_labels=_parse_labels(reader, top["labels"], at("labels"), names) if "labels" in top else (),
        title_weight=_positive(reader, top["title_weight"], at("title_weight")) if "title_weight" in top else 2.0,
        exclude=_group_refs(reader, top["not"], at("not"), names) if "not" in top else (),
        description=reader.string(top["description"], at("description")) if "description" in top else "",
        source=f"{reader.path}:{_line(node)}",
    )


def _parse_labels(reader: NodeReader, node: yaml.Node, where: str, names: set[str]) -> tuple[tuple[str, str], ...]:
    if not isinstance(node, yaml.MappingNode):
        raise reader.fail(node, where, f"expected a mapping of group name -> English label, got {describe(node)}")
    labels: list[tuple[str, str]] = []
    for key_node, value in node.value:
        name = reader.string(key_node, where)
        if name not in names:
            close = difflib.get_close_matches(name, sorted(names), n=1)
            raise reader.fail(key_node, f"{where}.{name}", f"unknown group {name!r}",
                              f"did you mean {close[0]!r}?" if close else "define it under 'groups'")
        labels.append((name, reader.string(value, f"{where}.{name}")))
    return tuple(labels)


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _positive(reader: NodeReader, node: yaml.Node, where: str) -> float:
    value = reader.number(node, where)
    if not value > 0:
        raise reader.fail(node, where, f"must be greater than 0, got {node.value}")
    return value


def _parse_groups(reader: NodeReader, node: yaml.Node, where: str) -> tuple[TermGroup, ...]:
    if not isinstance(node, yaml.MappingNode) or not node.value:
        raise reader.fail(node, where, f"expected a mapping of group name -> list of terms, got {describe(node)}")
    groups: list[TermGroup] = []
    for key_node, value in node.value:
        name = reader.string(key_node, where)
        here = f"{where}.{name}"
        if any(g.name == name for g in groups):
            raise reader.fail(key_node, here, f"duplicate group {name!r}")
        items = reader.sequence(value, here)
        if not items:
            raise reader.fail(value, here, "a group needs at least one term")
        compiled: list[CompiledTerm] = []
        for i, item in enumerate(items):
            term = _parse_term(reader, item, f"{here}[{i}]")
            try:
                compiled.append(_compile_term(term))
            except ValueError as exc:
                raise reader.fail(item, f"{here}[{i}]", str(exc)) from None
        groups.append(TermGroup(name, tuple(compiled)))
    return tuple(groups)


def _parse_term(reader: NodeReader, node: yaml.Node, where: str) -> Term:
    if isinstance(node, yaml.ScalarNode):
        if reader.is_null(node) or not str(node.value).strip():
            raise reader.fail(node, where, "empty term")
        return Term(str(node.value).strip())  # the text as written: "no" or "on" stay words
    spec = reader.mapping(node, where, allowed=_TERM_KEYS, required=("term",))
    return Term(
        text=reader.string(spec["term"], f"{where}.term"),
        weight=_positive(reader, spec["weight"], f"{where}.weight") if "weight" in spec else 1.0,
        exact_case=reader.boolean(spec["exact_case"], f"{where}.exact_case") if "exact_case" in spec else False,
    )


def _group_refs(reader: NodeReader, node: yaml.Node, where: str, names: set[str]) -> tuple[str, ...]:
    refs: list[str] = []
    items = reader.sequence(node, where)
    if not items:
        raise reader.fail(node, where, "must name at least one group")
    for i, item in enumerate(items):
        name = reader.string(item, f"{where}[{i}]")
        if name not in names:
            close = difflib.get_close_matches(name, sorted(names), n=1)
            hint = f"did you mean {close[0]!r}?" if close else "define it under 'groups'"
            raise reader.fail(item, f"{where}[{i}]", f"unknown group {name!r}", hint)
        refs.append(name)
    return tuple(refs)


def _parse_rule(reader: NodeReader, node: yaml.Node, where: str, names: set[str], max_count: int) -> Rule:
    spec = reader.mapping(node, where, allowed=_RULE_KEYS, required=("all",))

    def window(key: str) -> int | None:
        return reader.integer(spec[key], f"{where}.{key}", minimum=1) if key in spec else None

    return Rule(
        name=reader.string(spec["name"], f"{where}.name") if "name" in spec else where,
        all=_group_refs(reader, spec["all"], f"{where}.all", names),
        not_=_group_refs(reader, spec["not"], f"{where}.not", names) if "not" in spec else (),
        within=window("within"),
        within_chars=window("within_chars"),
        weight=_positive(reader, spec["weight"], f"{where}.weight") if "weight" in spec else 1.0,
        max_count=reader.integer(spec["max_count"], f"{where}.max_count", minimum=1)
        if "max_count" in spec
        else max_count,
    )


def _kind_of(ch: str) -> str:
    if re.match(f"[{_WORD}]", ch):
        return "word"
    if re.match(f"[{_CJK}]", ch):
        return "cjk"
    if ch.isspace():
        return "space"
    return "hyphen" if ch in "-\u2010\u2011" else "other"


def _compile_term(term: Term) -> CompiledTerm:
    body = _term_regex(term.text)
    folded = term.text.translate(fold_table())
    runs = re.findall(f"[{_WORD}]+|[{_CJK}]+", folded)
    literal = max(runs, key=len) if runs else ""
    flags = 0 if term.exact_case else re.IGNORECASE
    return CompiledTerm(term, literal if term.exact_case else literal.lower(), re.compile(body, flags))


def _term_regex(raw: str) -> str:
    """The regular expression (without case flags) for one term; ValueError if malformed."""
    words = raw.translate(fold_table()).split()
    if not words or not any(w.strip("*") for w in words):
        raise ValueError(f"term {raw!r} has nothing to match")
    edge = f"[{_WORD}]*"
    out: list[str] = []
    for index, word in enumerate(words):
        core = word.strip("*")
        if not core or "*" in core:
            raise ValueError(f"term {raw!r}: '*' is only allowed at the start or end of a word")
        first, last = index == 0, index == len(words) - 1
        head = edge if word.startswith("*") else ""
        if first and (head or _kind_of(core[0]) == "word"):
            head = f"(?<![{_WORD}])" + head
        tail = edge if word.endswith("*") else ""
        if last and not tail and _kind_of(core[-1]) == "word":
            tail = f"(?![{_WORD}])"
        out.append(head + _core_regex(core) + tail)
    return _SEP.join(out)


def _core_regex(core: str) -> str:
    parts: list[str] = []
    previous = ""
    for ch in core:
        kind = _kind_of(ch)
        if kind == "hyphen":
            parts.append(r"[\s\-\u2010\u2011]?")
            previous = ""
            continue
        if {previous, kind} == {"word", "cjk"}:
            parts.append(r"\s?")  # "AI芯片" also matches "AI 芯片"
        parts.append(re.escape(ch))
        previous = kind
    return "".join(parts)
