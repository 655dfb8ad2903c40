"""Argos Translate packages in our own folder: read, list, install (from a file or the index).

Reading is argostranslate's (``argostranslate.package.Package`` parses ``metadata.json``),
always given an explicit directory, never argostranslate's global settings. Installing is
ours: ``argostranslate.package.install_from_path`` extracts into the global directory and
imports ``argostranslate.translate`` (-> stanza, spaCy, torch).
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.errors import TranslationError

log = logging.getLogger(__name__)

DEFAULT_INDEX_URL = "https://raw.githubusercontent.com/argosopentech/argospm-index/main/index.json"


_NOT_LANGUAGES = frozenset({"und", "mul", "mis", "zxx"})
_LANGUAGE_CODE = re.compile(r"[a-z]{2,3}")


def argos_code(language: str) -> str:
    """Our language code ("sv", "zh-Hans", "zh-Hant", "en-GB") -> Argos code ("sv", "zh", "en").

    Raises ValueError for codes that name no language ("und", "", "mul").
    """
    primary = re.split(r"[-_]", language.strip(), maxsplit=1)[0].lower()
    if not _LANGUAGE_CODE.fullmatch(primary) or primary in _NOT_LANGUAGES:
        raise ValueError(f"not a language code: {language!r}")
    return primary


@dataclass(frozen=True, slots=True)
class InstalledPackage:
    from_code: str
    to_code: str
    version: str
    path: Path
    target_prefix: str = ""

    @property
    def pair(self) -> tuple[str, str]:
        return (self.from_code, self.to_code)


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", version))


def _read_package(path: Path) -> InstalledPackage:
    """Read one package directory with argostranslate's own Package class."""
    from argostranslate.package import Package

    pkg = Package(path)
    if pkg.type != "translate" or not pkg.from_code or not pkg.to_code:
        raise TranslationError(f"{path}: not a translation package (type {pkg.type!r})")
    return InstalledPackage(
        from_code=str(pkg.from_code),
        to_code=str(pkg.to_code),
        version=str(pkg.package_version),
        path=path,
        target_prefix=str(pkg.target_prefix or ""),
    )


def _scan(packages_dir: Path) -> list[InstalledPackage]:
    if not packages_dir.is_dir():
        return []
    found: list[InstalledPackage] = []
    for child in sorted(packages_dir.iterdir()):
        if child.name.startswith(".") or not (child / "metadata.json").is_file():
            continue
        try:
            found.append(_read_package(child))
        except (OSError, ValueError, TranslationError) as exc:  # JSONDecodeError is a ValueError
            log.warning("ignoring unreadable Argos package %s: %s", child, exc)
    return found


def best_packages(packages_dir: Path) -> dict[tuple[str, str], InstalledPackage]:
    best: dict[tuple[str, str], InstalledPackage] = {}
    for pkg in _scan(packages_dir):
        old = best.get(pkg.pair)
        if old is None or _version_key(pkg.version) > _version_key(old.version):
            best[pkg.pair] = pkg
    return best


def installed_pairs(packages_dir: Path) -> list[tuple[str, str, str]]:
    """(from, to, version) of every usable package in ``packages_dir``, sorted."""
    return sorted((p.from_code, p.to_code, p.version) for p in best_packages(packages_dir).values())


def install_package_file(path: Path, packages_dir: Path) -> None:
    """Install an ``.argosmodel`` file into ``packages_dir``, replacing older packages of its pair.

    The archive is checked (one top-level folder, metadata.json, model/model.bin,
    sentencepiece.model, no path escapes), staged in a hidden folder and renamed
    into place, so a Translator scanning concurrently never sees half a package.
    """
    path = Path(path)
    if not path.is_file():
        raise TranslationError(f"{path}: no such file")
    if not zipfile.is_zipfile(path):
        raise TranslationError(f"{path}: not an Argos package (an .argosmodel file is a zip archive)")
    try:
        packages_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".installing-", dir=packages_dir))
    except OSError as exc:
        raise TranslationError(f"cannot write to the packages folder {packages_dir}: {exc}") from exc
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            tops = {n.split("/", 1)[0] for n in names}
            if len(tops) != 1 or any(n.startswith("/") or ".." in n.split("/") for n in names):
                raise TranslationError(f"{path}: expected exactly one top-level folder, got {sorted(tops)}")
            top = tops.pop()
            archive.extractall(staging)
        staged = staging / top
        for required in ("metadata.json", "model/model.bin", "sentencepiece.model"):
            if not (staged / required).is_file():
                raise TranslationError(f"{path}: {required} missing from the package")
        try:
            pkg = _read_package(staged)
        except (OSError, ValueError) as exc:
            raise TranslationError(f"{path}: unreadable metadata.json: {exc}") from exc
        # move the pair's old packages aside (into staging, deleted below), then the new one in
        destination = packages_dir / top
        old = [p.path for p in _scan(packages_dir) if p.pair == pkg.pair and p.path != destination]
        old += [destination] if destination.exists() else []
        for i, path_ in enumerate(old):
            path_.rename(staging / f".old-{i}")
        try:
            staged.rename(destination)
        except OSError:
            for i, path_ in enumerate(old):
                (staging / f".old-{i}").rename(path_)
            raise
        log.info("installed Argos package %s->%s %s in %s", pkg.from_code, pkg.to_code, pkg.version,
                 destination)
    except (OSError, zipfile.BadZipFile) as exc:
        raise TranslationError(f"{path}: could not install: {exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def needed_languages(languages: Iterable[str], packages_dir: Path) -> list[str]:
    """The Argos codes among ``languages`` (ours: sv, zh-Hans, ...) that have no model into English
    in ``packages_dir``; codes that name no language, and English itself, are skipped."""
    have = {p.pair for p in _scan(packages_dir)} if packages_dir.is_dir() else set()
    out: set[str] = set()
    for language in languages:
        try:
            code = argos_code(language)
        except ValueError:
            continue
        if code != "en" and (code, "en") not in have:
            out.add(code)
    return sorted(out)


Progress = Callable[[int, int | None], None]  # bytes so far, total (None: unknown)


def install_from_index(
    source: str,
    target: str,
    packages_dir: Path,
    *,
    index_url: str = DEFAULT_INDEX_URL,
    timeout: float = 60.0,
    progress: Progress | None = None,
) -> None:
    """Download the newest ``source`` -> ``target`` package from the Argos index and install it.

    Needs network access; raises TranslationError saying so when the index or the
    package cannot be fetched.
    """
    src, tgt = argos_code(source), argos_code(target)
    offline_hint = (
        f"this needs network access; on an offline machine, fetch translate-{src}_{tgt}-*.argosmodel "
        "elsewhere and install it from the file"
    )
    try:
        with urllib.request.urlopen(index_url, timeout=timeout) as response:
            index = json.loads(response.read())
    except (urllib.error.URLError, OSError) as exc:
        raise TranslationError(
            f"could not download the Argos package index {index_url}: {exc}; {offline_hint}"
        ) from exc
    except ValueError as exc:
        raise TranslationError(f"the Argos package index {index_url} is not valid JSON: {exc}") from exc
    candidates = [
        m for m in index
        if isinstance(m, dict) and m.get("type", "translate") == "translate"
        and (m.get("from_code"), m.get("to_code")) == (src, tgt)
    ]
    if not candidates:
        raise TranslationError(f"the Argos package index has no {src}->{tgt} package")
    best = max(candidates, key=lambda m: _version_key(str(m.get("package_version", ""))))
    errors: list[str] = []
    packages_dir.mkdir(parents=True, exist_ok=True)
    for link in best.get("links", []):
        with tempfile.NamedTemporaryFile(dir=packages_dir, prefix=".download-", suffix=".argosmodel") as tmp:
            try:
                with urllib.request.urlopen(link, timeout=timeout) as response:
                    _copy(response, tmp, progress)
                tmp.flush()
            except (urllib.error.URLError, OSError) as exc:
                errors.append(f"{link}: {exc}")
                continue
            install_package_file(Path(tmp.name), packages_dir)
            return
    reasons = "; ".join(errors) or "no links"
    raise TranslationError(f"could not download the {src}->{tgt} package ({reasons}); {offline_hint}")




def _copy(response: Any, out: Any, progress: Progress | None) -> None:
    length = response.headers.get("Content-Length") if getattr(response, "headers", None) else None
    total = int(length) if length and str(length).isdigit() else None
    done = 0
    while chunk := response.read(1 << 16):
        out.write(chunk)
        done += len(chunk)
        if progress is not None:
            progress(done, total)
