"""Offline machine translation with Argos Translate packages, run efficiently.

A package is an ``.argosmodel`` zip of ``<name>/metadata.json``, ``<name>/model/``
(CTranslate2) and ``<name>/sentencepiece.model``, installed into our own
``packages_dir`` (by default under the monitor's data directory).

How argostranslate is used:

* Reading packages is argostranslate's (``argostranslate.package.Package`` parses
  ``metadata.json``), always given an explicit directory: its global
  ``settings.package_data_dir`` (from ``ARGOS_PACKAGES_DIR`` at import time) is
  never read or changed, so nothing leaks between Translator instances. Importing
  ``argostranslate.package`` does create argostranslate's own empty folders under
  ``$HOME`` (a side effect of ``argostranslate/settings.py``); nothing is stored there.
* Reading, listing and installing packages live in :mod:`monitor.packages`
  (installing is ours: ``install_from_path`` extracts into the global directory and
  imports ``argostranslate.translate`` -> stanza, spaCy, torch).
* Inference bypasses ``argostranslate.translate``, whose sentence splitters download
  models at run time and whose defaults (beam 4, batches of 32 *tokens*, one
  paragraph at a time) are several times slower: we split with
  :mod:`monitor.sentences` and run ``ctranslate2.Translator.translate_batch`` once
  per call over the unique, uncached sentences of all texts.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from monitor.errors import ModelUnavailableError, TranslationError
from monitor.packages import InstalledPackage, argos_code, best_packages
from monitor.scripts import phrase_converter
from monitor.sentences import split_sentences

log = logging.getLogger(__name__)

# Sentences per CTranslate2 batch. CTranslate2 sorts inputs by length before cutting
# batches, so small batches waste little on padding: on 2 cores, 32-64 ran ~1.5x
# faster than 2048 over real article text (bench/bench_translation.py).
DEFAULT_BATCH_SIZE = 64
MAX_INPUT_TOKENS = 200  # longer sentences are cut into pieces of at most this many tokens
_CACHE_KEY_VERSION = "argos-v1"
_NO_SPACE_TARGETS = frozenset({"zh", "zt", "ja"})  # join translated sentences without spaces
_PARAGRAPH_BREAK = re.compile(r"([^\S\n]*\n\s*)")
_CLAUSE_TOKENS = frozenset({",", "，", ";", "；", "、"})


class TranslationCache(Protocol):
    """Persistent sentence cache. Keys are opaque sha256 hex digests (see ``cache_key``)."""

    def get_many(self, keys: Sequence[str]) -> dict[str, str]: ...

    def put_many(self, items: Mapping[str, str]) -> None: ...


class MemoryTranslationCache:
    """A dict-backed :class:`TranslationCache` (tests, one-off CLI runs)."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    def get_many(self, keys: Sequence[str]) -> dict[str, str]:
        return {k: self.data[k] for k in keys if k in self.data}

    def put_many(self, items: Mapping[str, str]) -> None:
        self.data.update(items)


@dataclass(frozen=True, slots=True)
class TranslationStats:
    sentences: int  # model inputs actually sent to CTranslate2
    cache_hits: int  # unique sentences answered by the cache
    batches: int  # translate_batch calls (one per translate() that needed the model)
    loaded_pairs: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class _Model:
    package: InstalledPackage
    translator: Any  # ctranslate2.Translator
    tokenizer: Any  # sentencepiece.SentencePieceProcessor


# -- language codes ------------------------------------------------------------


def is_traditional_chinese(language: str) -> bool:
    parts = [p.lower() for p in re.split(r"[-_]", language.strip())]
    return parts[0] == "zh" and any(p in {"hant", "tw", "hk", "mo"} for p in parts[1:])


def install_command(language: str, target: str = "en") -> str:
    """The CLI command that installs the model for ``language`` -> ``target``."""
    return f"monitor models install {argos_code(language)} {argos_code(target)}"


def install_hint(language: str) -> str:
    """What to tell a user whose articles in ``language`` wait for a model."""
    try:
        return f"install it with `{install_command(language)}`"
    except ValueError:
        return f"no Argos model exists for language {language!r}"


def aligned_passage(text: str, text_en: str, passage: str, language: str) -> str | None:
    """The English of ``passage`` (a snippet of ``text``, whitespace collapsed, maybe with "…"),
    read from ``text_en``, the translation of ``text``. Translation keeps every line break and
    joins a line's translated sentences in order, so the line holding the passage maps to the same
    line of ``text_en``, and its sentence to the sentence at the same place when both sides split
    into as many. None when the passage is not found or the lines do not correspond."""
    core = " ".join(passage.strip("…").split())
    if not core:
        return None
    lines, lines_en = _PARAGRAPH_BREAK.split(text)[::2], _PARAGRAPH_BREAK.split(text_en)[::2]
    if len(lines) != len(lines_en):
        return None
    probe = core[len(core) // 3: len(core) // 3 + 24] or core  # from the middle: the ends may be cut
    for line, line_en in zip(lines, lines_en, strict=True):
        flat = " ".join(line.split())
        if probe not in flat:
            continue
        sentences = split_sentences(flat, language)
        english = split_sentences(" ".join(line_en.split()), "en")
        picked = [i for i, sentence in enumerate(sentences) if _shares(sentence, core)]
        if picked and len(sentences) == len(english):
            return " ".join(english[i] for i in picked)
        return " ".join(line_en.split()) or None
    return None


def _shares(sentence: str, core: str) -> bool:
    """Whether a sentence is (part of) the passage: a run of 12 characters in common."""
    step = 12
    return any(sentence[i:i + step] in core for i in range(0, max(1, len(sentence) - step + 1), 4))


# -- translation ---------------------------------------------------------------


def _normalise(sentence: str) -> str:
    return " ".join(unicodedata.normalize("NFC", sentence).split())


def _needs_model(sentence: str) -> bool:
    return any(ch.isalpha() for ch in sentence)


def _chunk_tokens(tokens: list[str], limit: int) -> list[list[str]]:
    """Cut a too-long token list into pieces of at most ``limit``, preferably after punctuation."""
    chunks: list[list[str]] = []
    while len(tokens) > limit:
        breaks = (i + 1 for i in range(limit - 1, limit // 2, -1) if tokens[i].strip("▁") in _CLAUSE_TOKENS)
        cut = next(breaks, limit)
        chunks.append(tokens[:cut])
        tokens = tokens[cut:]
    return [*chunks, tokens] if tokens else chunks


class Translator:
    """Translates texts to ``target`` with the Argos packages installed in ``packages_dir``.

    Build once per process; models are loaded lazily on first use and kept (one
    per language pair) for the life of the object. Thread-safe.
    """

    def __init__(
        self,
        packages_dir: Path,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        beam_size: int = 1,
        cache: TranslationCache | None = None,
        target: str = "en",
        threads: int = 0,
        inter_threads: int = 1,
        compute_type: str = "auto",
        max_input_tokens: int = MAX_INPUT_TOKENS,
        max_decoding_length: int = 256,
        device: str = "cpu",
    ) -> None:
        """``threads``: CTranslate2 intra_threads (0: its default); ``inter_threads``: batches
        translated in parallel, each on ``threads`` threads."""
        limits = {"batch_size": (batch_size, 1), "beam_size": (beam_size, 1), "threads": (threads, 0),
                  "inter_threads": (inter_threads, 1), "max_input_tokens": (max_input_tokens, 8),
                  "max_decoding_length": (max_decoding_length, 1)}
        for name, (value, minimum) in limits.items():
            if value < minimum:
                raise ValueError(f"{name} must be >= {minimum}, got {value}")
        self.packages_dir = Path(packages_dir)
        self.batch_size = batch_size
        self.beam_size = beam_size
        self.cache = cache
        self.target = argos_code(target)
        self.threads = threads
        self.inter_threads = inter_threads
        self.compute_type = compute_type
        if device not in ("cpu", "cuda", "auto"):
            raise ValueError(f"device must be cpu, cuda or auto, not {device!r}")
        self.device = device
        self.max_input_tokens = max_input_tokens
        self.max_decoding_length = max_decoding_length
        self.calls = 0  # sentences (model inputs) sent to the model, over the object's life
        self.cache_hits = 0
        self.batches = 0
        self._models: dict[tuple[str, str], _Model] = {}
        self._t2s: Callable[[str], str] | None = None
        self._lock = threading.Lock()

    # -- what is installed ---------------------------------------------------

    def available_pairs(self) -> frozenset[tuple[str, str]]:
        """Installed (from, to) Argos code pairs; re-read from disk on every call."""
        return frozenset(best_packages(self.packages_dir)) | frozenset(self._models)

    def can_translate(self, language: str) -> bool:
        """True when ``language`` (ours: "sv", "zh-Hant", ...) is the target or has a model."""
        try:
            source = argos_code(language)
        except ValueError:
            return False
        return source == self.target or (source, self.target) in self.available_pairs()

    def stats(self) -> TranslationStats:
        with self._lock:
            return TranslationStats(self.calls, self.cache_hits, self.batches, tuple(sorted(self._models)))

    # -- translating -----------------------------------------------------------

    def translate(self, texts: Sequence[str], language: str) -> list[str]:
        """Translate ``texts`` (titles, bodies, ...) from ``language``; one output per input.

        All sentences of all texts go to the model in one batched call; line
        breaks and blank lines are kept as they were. Sentences already in the
        cache, or repeated within the call, are translated once. Texts already in
        the target language come back unchanged.
        """
        if isinstance(texts, str):
            raise TypeError("texts must be a sequence of strings, not a single str")
        try:
            source = argos_code(language)
        except ValueError:
            hint = "the text's language is unknown"
            raise ModelUnavailableError(language, self.target, hint=hint) from None
        if source == self.target or not texts:
            return list(texts)
        model = self._model(source, language)
        if is_traditional_chinese(language):
            texts = [self._to_simplified(t) for t in texts]

        units: dict[str, int] = {}
        layouts = [self._layout(text, source, units) for text in texts]
        translations = self._translate_units(model, list(units))
        joiner = "" if self.target in _NO_SPACE_TARGETS else " "
        return [
            "".join(p if isinstance(p, str) else joiner.join(translations[i] for i in p) for p in layout)
            for layout in layouts
        ]

    def _layout(self, text: str, source: str, units: dict[str, int]) -> list[str | list[int]]:
        """Text -> literal whitespace/line breaks interleaved with lists of sentence ids."""
        layout: list[str | list[int]] = []
        for i, part in enumerate(_PARAGRAPH_BREAK.split(text)):  # odd items: the line breaks
            if i % 2 or not part.strip():
                layout.append(part)
                continue
            sentences = (_normalise(s) for s in split_sentences(part.strip(), source))
            ids = [units.setdefault(s, len(units)) for s in sentences if s]
            layout.extend([part[: len(part) - len(part.lstrip())], ids, part[len(part.rstrip()):]])
        return layout

    def _translate_units(self, model: _Model, sentences: list[str]) -> list[str]:
        results: dict[str, str] = {s: s for s in sentences if not _needs_model(s)}
        keys = {s: self.cache_key(model.package, s) for s in sentences if s not in results}
        if self.cache is not None and keys:
            found = self.cache.get_many(list(keys.values()))
            hits = {s: found[k] for s, k in keys.items() if k in found}
            results.update(hits)
            with self._lock:
                self.cache_hits += len(hits)
        todo = [s for s in sentences if s not in results]
        if todo:
            outputs = self._run(model, todo)
            results.update(zip(todo, outputs, strict=True))
            if self.cache is not None:
                self.cache.put_many({keys[s]: out for s, out in zip(todo, outputs, strict=True)})
        return [results[s] for s in sentences]

    def cache_key(self, package: InstalledPackage, sentence: str) -> str:
        """sha256 of model identity (pair, package version, beam size) + the normalised sentence."""
        ident = "\x1f".join((_CACHE_KEY_VERSION, package.from_code, package.to_code, package.version,
                             f"beam={self.beam_size}", _normalise(sentence)))
        return hashlib.sha256(ident.encode("utf-8")).hexdigest()

    def _run(self, model: _Model, sentences: list[str]) -> list[str]:
        encoded: list[list[str]] = model.tokenizer.encode(sentences, out_type=str)
        inputs: list[list[str]] = []
        owners: list[int] = []
        for i, tokens in enumerate(encoded):
            for chunk in _chunk_tokens(tokens, self.max_input_tokens):
                inputs.append(chunk)
                owners.append(i)
        prefix = model.package.target_prefix
        try:
            results = model.translator.translate_batch(
                inputs, target_prefix=[[prefix]] * len(inputs) if prefix else None,
                max_batch_size=self.batch_size, beam_size=self.beam_size, num_hypotheses=1,
                replace_unknowns=True, max_decoding_length=self.max_decoding_length, min_decoding_length=1,
            )
        except (RuntimeError, ValueError) as exc:
            raise TranslationError(f"CTranslate2 failed on {model.package.path.name}: {exc}") from exc
        with self._lock:
            self.calls += len(inputs)
            self.batches += 1
        parts: list[list[str]] = [[] for _ in sentences]
        for owner, result in zip(owners, results, strict=True):
            tokens = list(result.hypotheses[0])
            if prefix and tokens[:1] == [prefix]:
                tokens = tokens[1:]
            # decode_pieces returns pieces verbatim (with ▁) when one is not in its vocabulary
            text = " ".join(str(model.tokenizer.decode_pieces(tokens)).replace("▁", " ").split())
            if text:
                parts[owner].append(text)
        joiner = "" if self.target in _NO_SPACE_TARGETS else " "
        return [joiner.join(p) for p in parts]

    def _to_simplified(self, text: str) -> str:
        if self._t2s is None:
            self._t2s = phrase_converter()
        return self._t2s(text)

    def _model(self, source: str, language: str) -> _Model:
        pair = (source, self.target)
        with self._lock:
            model = self._models.get(pair)
            if model is None:
                package = best_packages(self.packages_dir).get(pair)
                if package is None:
                    hint = install_command(language, self.target)
                    raise ModelUnavailableError(language, self.target, hint=hint)
                model = self._load(package)
                self._models[pair] = model
            return model

    def _load(self, package: InstalledPackage) -> _Model:
        import ctranslate2
        import sentencepiece

        sp_path = package.path / "sentencepiece.model"
        if not sp_path.is_file():
            raise TranslationError(f"{package.path}: no sentencepiece.model (BPE packages are not supported)")
        try:
            tokenizer = sentencepiece.SentencePieceProcessor(model_file=str(sp_path))
            translator = ctranslate2.Translator(
                str(package.path / "model"), device=self.device, compute_type=self.compute_type,
                inter_threads=self.inter_threads, intra_threads=self.threads,
            )
        except (RuntimeError, ValueError, OSError) as exc:
            raise TranslationError(f"could not load the Argos package {package.path}: {exc}") from exc
        log.info("loaded translation model %s->%s %s", package.from_code, package.to_code, package.version)
        return _Model(package=package, translator=translator, tokenizer=tokenizer)
