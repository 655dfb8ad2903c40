"""The README's layout list stays true to the code.

README.md's "## Development" section lists the modules of `monitor/` in data-flow order, one a line
(`name.py` a module, `name/` a package, whose modules all count as that one entry). These tests keep it honest:
every module and subpackage is listed exactly once and nothing listed is missing; no module imports one listed
after it (lazy imports inside functions count, `if TYPE_CHECKING:` blocks do not), except the composition root and
the command line, which may import anything; and no module grows past MAX_LINES lines.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "monitor"
MAY_IMPORT_ANYTHING = {"app.py", "cli.py", "cli_models.py", "cli_archive.py", "cli_feeds.py"}
MAX_LINES = 500


def readme_layout() -> list[str]:
    """The entries of the layout list, in order ("settings.py", ..., "storage/", ...)."""
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    section = lines.index("## Development")
    start = next(i for i in range(section, len(lines)) if lines[i].startswith("Layout of `monitor/`"))
    entries: list[str] = []
    for line in lines[start + 1 :]:
        if not line.strip():
            if entries:
                break
            continue
        if match := re.match(r"- `([^`]+)`:", line):
            entries.append(match.group(1))
    return entries


def on_disk() -> set[str]:
    """Top-level modules (`x.py`) and subpackages (`x/`, any directory holding Python files) of monitor/."""
    modules = {p.name for p in PACKAGE.glob("*.py") if p.name not in {"__init__.py", "__main__.py"}}
    packages = {p.name + "/" for p in PACKAGE.iterdir() if p.is_dir() and any(p.rglob("*.py"))}
    return modules | packages


def entry_of(dotted: str) -> str | None:
    """The layout entry a `monitor...` module name belongs to; None for `monitor` itself or a non-module name."""
    parts = dotted.split(".")
    if parts[0] != "monitor" or len(parts) < 2:
        return None
    if (PACKAGE / f"{parts[1]}.py").is_file():
        return f"{parts[1]}.py"
    if (PACKAGE / parts[1]).is_dir():
        return f"{parts[1]}/"
    return None


class Imports(ast.NodeVisitor):
    """Names of every `monitor` module a file imports, lazy ones too, skipping `if TYPE_CHECKING:` bodies."""

    def __init__(self, path: Path) -> None:
        self.package = list(path.relative_to(ROOT).parent.parts)  # ["monitor", "storage"] for storage/store.py
        self.names: set[str] = set()

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        if (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
            isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
        ):
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.names.update(alias.name for alias in node.names)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = self.package[: len(self.package) - node.level + 1] if node.level else []
        module = ".".join(base + ([node.module] if node.module else []))
        self.names.add(module)
        self.names.update(f"{module}.{alias.name}" for alias in node.names)  # `from . import x` imports module x


def sources(entry: str) -> list[Path]:
    return sorted((PACKAGE / entry).rglob("*.py")) if entry.endswith("/") else [PACKAGE / entry]


def test_layout_lists_every_module_once() -> None:
    entries = readme_layout()
    duplicates = sorted({e for e in entries if entries.count(e) > 1})
    assert not duplicates, f"listed more than once in README.md: {duplicates}"
    present = on_disk()
    assert not (present - set(entries)), f"missing from README.md's layout list: {sorted(present - set(entries))}"
    assert not (set(entries) - present), f"listed in README.md but not in monitor/: {sorted(set(entries) - present)}"


def test_no_module_imports_one_listed_later() -> None:
    entries = readme_layout()
    position = {entry: i for i, entry in enumerate(entries)}
    violations = []
    for entry in entries:
        if entry in MAY_IMPORT_ANYTHING:
            continue
        for path in sources(entry):
            visitor = Imports(path)
            visitor.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
            for target in sorted({entry_of(name) for name in visitor.names} - {None, entry}):
                if position.get(target, -1) > position[entry]:
                    violations.append(f"{path.relative_to(ROOT)} imports monitor/{target} (listed later)")
    assert not violations, "imports against the README's data-flow order:\n" + "\n".join(violations)


def test_no_module_over_max_lines() -> None:
    too_long = [
        f"{path.relative_to(ROOT)}: {n} lines"
        for path in sorted(PACKAGE.rglob("*.py"))
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    ]
    assert not too_long, f"modules over {MAX_LINES} lines:\n" + "\n".join(too_long)
