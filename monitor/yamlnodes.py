"""Typed reading of composed PyYAML nodes, so every error can name file:line.

Configuration and watchlist files are read with ``yaml.compose`` (not
``yaml.safe_load``): the node tree keeps the line of every key and value. The
helpers here turn nodes into Python values or raise :class:`ConfigError` (or a
subclass chosen by the caller) naming the file, the line and the field.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError

_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_STR = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"


class NodeReader:
    """Reads nodes of one file; ``error`` is the exception class raised."""

    def __init__(self, path: str, error: type[ConfigError] = ConfigError) -> None:
        self.path = path
        self.error = error
        self._constructor = yaml.SafeLoader("")

    # -- entry points ---------------------------------------------------------

    @classmethod
    def compose_file(
        cls, path: Path, error: type[ConfigError] = ConfigError
    ) -> tuple[NodeReader, yaml.Node | None]:
        reader = cls(str(path), error)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise error("file not found", path=str(path)) from None
        except UnicodeDecodeError as exc:
            raise error(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path=str(path)) from None
        except OSError as exc:
            raise error(f"cannot read: {exc.strerror}", path=str(path)) from None
        return reader, reader.compose(text)

    def compose(self, text: str) -> yaml.Node | None:
        try:
            return yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else None
            problem = exc.problem or exc.context or "invalid YAML"
            raise self.error(
                f"invalid YAML: {problem}",
                path=self.path,
                line=line,
                hint="check indentation and quoting around this line",
            ) from None
        except yaml.YAMLError as exc:
            raise self.error(f"invalid YAML: {exc}", path=self.path) from None

    # -- errors ---------------------------------------------------------------

    def fail(self, node: yaml.Node | None, field: str | None, message: str, hint: str | None = None) -> ConfigError:
        line = node.start_mark.line + 1 if node is not None else None
        return self.error(message, path=self.path, line=line, field=field, hint=hint)

    # -- shapes ---------------------------------------------------------------

    def mapping(
        self,
        node: yaml.Node,
        field: str,
        *,
        allowed: Iterable[str],
        required: Iterable[str] = (),
    ) -> dict[str, yaml.Node]:
        """A mapping with string keys, rejecting unknown and duplicate keys."""
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, field, f"expected a mapping, got {describe(node)}")
        allowed_set = set(allowed)
        out: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                raise self.fail(key_node, field, "keys must be plain strings")
            name = f"{field}.{key}" if field else key
            if key not in allowed_set:
                close = difflib.get_close_matches(key, sorted(allowed_set), n=1)
                hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(sorted(allowed_set))}"
                raise self.fail(key_node, name, "unknown key", hint)
            if key in out:
                raise self.fail(key_node, name, "duplicate key")
            out[key] = value_node
        for key in required:
            if key not in out:
                raise self.fail(node, f"{field}.{key}" if field else key, "required key is missing")
        return out

    def sequence(self, node: yaml.Node, field: str) -> list[yaml.Node]:
        if isinstance(node, yaml.SequenceNode):
            return list(node.value)
        raise self.fail(node, field, f"expected a list, got {describe(node)}")

    def is_null(self, node: yaml.Node) -> bool:
        return isinstance(node, yaml.ScalarNode) and node.tag == _NULL

    # -- scalars --------------------------------------------------------------

    def _value(self, node: yaml.Node) -> Any:
        return self._constructor.construct_object(node, deep=True)

    def string(self, node: yaml.Node, field: str, *, allow_empty: bool = False) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.tag not in (_STR, _INT, _FLOAT):
            raise self.fail(node, field, f"expected a string, got {describe(node)}")
        value = str(node.value).strip()
        if not value and not allow_empty:
            raise self.fail(node, field, "must not be empty")
        return value

    def boolean(self, node: yaml.Node, field: str) -> bool:
        if isinstance(node, yaml.ScalarNode) and node.tag == _BOOL:
            return bool(self._value(node))
        raise self.fail(node, field, f"expected true or false, got {describe(node)}")

    def integer(self, node: yaml.Node, field: str, *, minimum: int | None = None) -> int:
        if not (isinstance(node, yaml.ScalarNode) and node.tag == _INT):
            raise self.fail(node, field, f"expected a whole number, got {describe(node)}")
        value = int(self._value(node))
        if minimum is not None and value < minimum:
            raise self.fail(node, field, f"must be at least {minimum}, got {value}")
        return value

    def number(self, node: yaml.Node, field: str, *, minimum: float | None = None) -> float:
        if not (isinstance(node, yaml.ScalarNode) and node.tag in (_INT, _FLOAT)):
            raise self.fail(node, field, f"expected a number, got {describe(node)}")
        value = float(self._value(node))
        if minimum is not None and value < minimum:
            raise self.fail(node, field, f"must be at least {minimum}, got {value}")
        return value

    def strings(self, node: yaml.Node, field: str) -> tuple[str, ...]:
        """A list of strings; a single string is accepted as a one-item list."""
        if isinstance(node, yaml.ScalarNode):
            return (self.string(node, field),)
        return tuple(self.string(item, field) for item in self.sequence(node, field))


def describe(node: yaml.Node | None) -> str:
    if node is None:
        return "nothing"
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if node.tag == _NULL:
        return "an empty value"
    kind = {_INT: "a number", _FLOAT: "a number", _BOOL: "a boolean", _STR: "a string"}.get(node.tag, "a value")
    return f"{kind} ({node.value!r})"
