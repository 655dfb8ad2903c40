"""Editing the feeds list of ``feeds.yaml`` as text, so that its comments and layout stay: a feed is
appended as one flow-style line after the last item of ``feeds:``; a feed is removed by deleting
the lines of its item (found with the YAML's own line marks). The caller validates the result
(``config.load_config`` on the new text) before writing it. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from .errors import ConfigError

__all__ = ["append_feeds", "feed_line", "remove_feed"]



def feed_line(feed: Mapping[str, Any]) -> str:
    """One feed as a YAML flow mapping: ``{name: X, url: 'https://...', tags: [a, b]}``."""
    return yaml.safe_dump(dict(feed), default_flow_style=True, allow_unicode=True, sort_keys=False,
                          width=10_000).strip()


def _feeds_node(text: str, path: str) -> tuple[yaml.MappingNode, yaml.Node, yaml.Node]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", path=path) from None
    if not isinstance(root, yaml.MappingNode):
        raise ConfigError("the top level is not a mapping", path=path)
    for key, value in root.value:
        if key.value == "feeds":
            return root, key, value
    raise ConfigError("no `feeds:` list", path=path)


def append_feeds(text: str, feeds: Sequence[Mapping[str, Any]], path: str) -> str:
    """``text`` with ``feeds`` added at the end of its ``feeds:`` list, each on one line."""
    if not feeds:
        return text
    _, key, value = _feeds_node(text, path)
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    new = [feed_line(f) for f in feeds]
    if isinstance(value, yaml.SequenceNode) and value.flow_style:  # feeds: [] or feeds: [{...}]
        if value.value:
            raise ConfigError("`feeds:` is written as one flow list; write it as a block list to add to it",
                              path=path, line=key.start_mark.line + 1)
        row = key.start_mark.line
        lines[row] = lines[row][:key.start_mark.column] + "feeds:\n" + "".join(f"  - {n}\n" for n in new)
        return "".join(lines)
    if isinstance(value, yaml.SequenceNode) and value.value:
        first = value.value[0]
        indent = " " * max(0, first.start_mark.column - 2)
        end = value.end_mark.line if value.end_mark.column == 0 else value.end_mark.line + 1
        end = _list_end(lines, first.start_mark.line, end, len(indent))
        insert = [f"{indent}- {n}\n" for n in new]
        return "".join(lines[:end] + insert + lines[end:])
    if value.tag == "tag:yaml.org,2002:null":  # feeds: (nothing under it)
        row = key.start_mark.line
        return "".join(lines[:row + 1] + [f"  - {n}\n" for n in new] + lines[row + 1:])
    raise ConfigError("`feeds:` is not a list", path=path, line=key.start_mark.line + 1)


def remove_feed(text: str, name: str, path: str) -> tuple[str, str]:
    """``text`` without the feed named (or with the URL) ``name``; returns it and the removed feed's URL."""
    _, key, value = _feeds_node(text, path)
    if not isinstance(value, yaml.SequenceNode) or not value.value:
        raise ConfigError(f"no feed named {name!r}", path=path)
    if value.flow_style:
        raise ConfigError("`feeds:` is written as one flow list; write it as a block list to remove from it",
                          path=path, line=key.start_mark.line + 1)
    lines = text.splitlines(keepends=True)
    items = value.value
    for index, item in enumerate(items):
        fields = {k.value: v.value for k, v in item.value} if isinstance(item, yaml.MappingNode) else {}
        if name not in (fields.get("name"), fields.get("url")):
            continue
        start = item.start_mark.line
        if index + 1 < len(items):
            stop = items[index + 1].start_mark.line
        else:
            stop = value.end_mark.line if value.end_mark.column == 0 else value.end_mark.line + 1
            stop = _list_end(lines, start, stop, max(0, item.start_mark.column - 2))
        return "".join(lines[:start] + lines[stop:]), str(fields.get("url", ""))
    raise ConfigError(f"no feed named {name!r}", path=path, line=key.start_mark.line + 1)


def _list_end(lines: Sequence[str], first: int, end: int, dash_column: int) -> int:
    """Where the list's last item ends: blank lines, and comments left of the items' dashes, at its
    end belong to what follows."""
    while end > first + 1:
        line = lines[end - 1]
        stripped = line.lstrip()
        if stripped and not (stripped.startswith("#") and len(line) - len(stripped) < dash_column):
            break
        end -= 1
    return end
