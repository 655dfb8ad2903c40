"""Scripts: the one home for the Han/CJK character ranges and for traditional -> simplified
folding (OpenCC's tables, read on first use).

- :data:`HAN` and :data:`CJK` are character-class bodies (for ``re``): Han ideographs, and
  everything written without spaces between words (Han, kana, Hangul).
- :func:`fold_table` folds 1:1 (traditional -> simplified, full-width -> ASCII), so offsets into
  the folded text are offsets into the original: matching and highlighting use it.
- :func:`phrase_converter` is OpenCC's phrase-level t2s (not 1:1: "乾淨" -> "干净", but "乾隆" kept),
  for text that is translated, where lengths need not be kept.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from importlib import resources

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"


@lru_cache(maxsize=1)
def _opencc_tables() -> tuple[dict[int, str], frozenset[str], frozenset[str]]:
    """(traditional->simplified fold table, simplified-only chars, traditional-only chars).

    Built from OpenCC's one-character dictionaries; only 1:1 character mappings are
    used, so folding never changes a string's length (offsets stay valid).
    """
    folder = resources.files("opencc") / "dictionary"
    ts = _read_opencc(folder.joinpath("TSCharacters.txt").read_text(encoding="utf-8"))
    st = _read_opencc(folder.joinpath("STCharacters.txt").read_text(encoding="utf-8"))
    fold = {ord(k): v[0] for k, v in ts.items() if v[0] != k}
    traditional = frozenset(k for k, v in ts.items() if k not in v and k not in st)
    simplified = frozenset(k for k, v in st.items() if k not in v and k not in ts)
    return fold, simplified, traditional


def _read_opencc(text: str) -> dict[str, list[str]]:
    table: dict[str, list[str]] = {}
    for line in text.splitlines():
        key, _, values = line.partition("\t")
        targets = [v for v in values.split() if len(v) == 1]
        if len(key) == 1 and targets:
            table[key] = targets
    return table


@lru_cache(maxsize=1)
def fold_table() -> Mapping[int, str]:
    """For matching: traditional -> simplified and full-width -> ASCII, 1:1 so offsets survive."""
    table = dict(simplified_fold_table())
    table.update({code: chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)})
    table[0x3000] = " "
    return table


def simplified_fold_table() -> Mapping[int, str]:
    """``str.translate`` table: traditional Chinese character -> simplified (1:1)."""
    return _opencc_tables()[0]


def fold_to_simplified(text: str) -> str:
    """Traditional Chinese characters replaced by their simplified form; same length."""
    return text.translate(_opencc_tables()[0])


def script_specific_chars() -> tuple[frozenset[str], frozenset[str]]:
    """(characters only simplified Chinese writes, characters only traditional Chinese writes)."""
    _, simplified, traditional = _opencc_tables()
    return simplified, traditional


def phrase_converter() -> Callable[[str], str]:
    """A new OpenCC t2s converter (phrase-level), for the translator to keep."""
    import opencc

    convert: Callable[[str], str] = opencc.OpenCC("t2s").convert
    return convert
