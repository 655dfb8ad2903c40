"""Load and validate ``feeds.yaml``.

Every error names the file, the line and the field; unknown keys are errors.
Relative paths resolve against the folder of the configuration file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import time as dtime
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from . import watchrules as wl
from .errors import ConfigError
from .settings import DigestSettings, FeedConfig, FetchSettings, JobSettings, SmtpSettings, TranslationSettings
from .yamlnodes import NodeReader

DEFAULT_CONFIG = "feeds.yaml"

_TOP_KEYS = (
    "database",
    "data_dir",
    "allow_private_networks",
    "fetch",
    "translation",
    "digest",
    "jobs",
    "workers",
    "web",
    "feeds",
    "watchlists",
)
_FEED_KEYS = ("name", "url", "language", "interval", "tags", "enabled")
_FETCH_KEYS = (
    "timeout",
    "max_bytes",
    "max_redirects",
    "user_agent",
    "concurrency",
    "feed_concurrency",
    "per_host",
    "min_host_delay",
    "page_text_min_chars",
    "fetch_pages",
)
_TRANSLATION_KEYS = ("enabled", "packages_dir", "translate_all", "batch_size", "beam_size", "threads", "device")
_JOBS_KEYS = ("tick", "heartbeat", "stalled_after")
_DIGEST_KEYS = ("time", "timezone", "to", "from", "subject", "smtp", "empty", "templates", "tags", "by_tag")
_SMTP_KEYS = ("host", "port", "security", "username", "timeout")
_LANGUAGE_HINT = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")
_DURATION_PART = re.compile(
    r"(\d+(?:\.\d+)?)\s*(days?|d|hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)(?![a-z])", re.I
)
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


@dataclass(frozen=True, slots=True)
class Config:
    path: Path
    database: str  # a filesystem path for SQLite, or a URL
    data_dir: Path
    feeds: tuple[FeedConfig, ...]
    watchlists: tuple[wl.Watchlist, ...]
    fetch: FetchSettings
    translation: TranslationSettings
    digest: DigestSettings
    jobs: JobSettings = field(default_factory=JobSettings)
    workers: int = 0  # processes for the CPU stages; 0: one per core
    allow_private_networks: bool = False
    web_base_url: str | None = None  # where `monitor serve` is reached: digest items link to its article pages

    @property
    def enabled_feeds(self) -> tuple[FeedConfig, ...]:
        return tuple(f for f in self.feeds if f.enabled)


def _file_stamp(path: Path) -> tuple[int, int] | None:
    """What tells that the config file changed (modification time and size); None when it is gone."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


class ConfigWatch:
    """A config file that may be edited while monitor runs (the daemon, the schedulers, the
    workers, the web interface each hold one). :meth:`changed` reads it again once its
    modification time or size changed; an edit that does not load comes back as its error, for
    the caller to log while it keeps the config it has, and is not read again until the next edit."""

    def __init__(self, path: Path, load: Callable[[Path], Config] | None = None) -> None:
        self.path = path
        self._load = load or load_config
        self._stamp = _file_stamp(path)

    def changed(self) -> Config | ConfigError | None:
        """The config as the file now says, when the file changed since it was last read; None when not."""
        if _file_stamp(self.path) == self._stamp:
            return None
        return self.read()

    def read(self) -> Config | ConfigError:
        """The config as the file now says, read whether or not it changed (SIGHUP)."""
        self._stamp = _file_stamp(self.path)
        try:
            return self._load(self.path)
        except ConfigError as exc:
            return exc


def parse_duration(text: str) -> timedelta | None:
    """'90s', '30m', '1h30m', '2 hours', '1d' -> timedelta; None when not a duration."""
    text = text.strip()
    pos, total = 0, 0.0
    for m in _DURATION_PART.finditer(text):
        if text[pos : m.start()].strip():
            return None
        total += float(m.group(1)) * _UNIT_SECONDS[m.group(2)[0].lower()]
        pos = m.end()
    if pos == 0 or text[pos:].strip():
        return None
    return timedelta(seconds=total)


def load_config(path: Path) -> Config:
    """Read and validate a configuration file. Raises ConfigError."""
    path = Path(path)
    reader, root = NodeReader.compose_file(path)
    base = path.resolve().parent
    if root is None:
        raise reader.fail(None, None, "the file is empty", "it needs at least a 'feeds:' list")
    top = reader.mapping(root, "", allowed=_TOP_KEYS, required=("feeds",))

    data_dir = base / "data"
    if "data_dir" in top:
        data_dir = _path(reader, top["data_dir"], "data_dir", base)
    database = str(data_dir / "monitor.sqlite3")
    if "database" in top:
        database = _database(reader, top["database"], base)
    allow_private = reader.boolean(top["allow_private_networks"], "allow_private_networks") if (
        "allow_private_networks" in top
    ) else False

    feeds = _feeds(reader, top["feeds"])
    watchlists = _watchlists(reader, top.get("watchlists"), base)
    return Config(
        path=path,
        database=database,
        data_dir=data_dir,
        feeds=feeds,
        watchlists=watchlists,
        fetch=_fetch(reader, top.get("fetch")),
        translation=_translation(reader, top.get("translation"), base, data_dir),
        digest=_digest(reader, top.get("digest"), base, {t for f in feeds for t in f.tags}),
        jobs=_jobs(reader, top.get("jobs")),
        workers=reader.integer(top["workers"], "workers", minimum=0) if "workers" in top else 0,
        allow_private_networks=allow_private,
        web_base_url=_web(reader, top.get("web")),
    )


def _web(reader: NodeReader, node: yaml.Node | None) -> str | None:
    """``web: {base_url: https://monitor.example.org}``: the address digest links to article pages use."""
    if node is None or reader.is_null(node):
        return None
    m = reader.mapping(node, "web", allowed=("base_url",))
    if "base_url" not in m:
        return None
    url = reader.string(m["base_url"], "web.base_url").rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise reader.fail(m["base_url"], "web.base_url", f"expected an http(s) URL, got {url!r}")
    return url


# -- sections ------------------------------------------------------------------


def _path(reader: NodeReader, node: yaml.Node, field: str, base: Path) -> Path:
    p = Path(reader.string(node, field)).expanduser()
    return p if p.is_absolute() else base / p


def _database(reader: NodeReader, node: yaml.Node, base: Path) -> str:
    value = reader.string(node, "database")
    if "://" not in value:
        p = Path(value).expanduser()
        return str(p if p.is_absolute() else base / p)
    scheme = value.split("://", 1)[0].lower()
    if scheme == "sqlite":
        rest = value.split("://", 1)[1]
        # sqlite:///relative.db and sqlite:////absolute.db, as SQLAlchemy writes them
        p = Path(rest[1:] if rest.startswith("/") else rest)
        return str(p if p.is_absolute() else base / p)
    if scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        if not urlsplit(value).path.strip("/"):
            raise reader.fail(node, "database", "the PostgreSQL URL names no database",
                              "write postgresql://user@host/dbname")
        return value
    raise reader.fail(
        node, "database", f"unsupported database URL scheme '{scheme}'",
        "use a SQLite file path, sqlite:///path or postgresql://user@host/dbname"
    )


def _feeds(reader: NodeReader, node: yaml.Node) -> tuple[FeedConfig, ...]:
    if reader.is_null(node):
        return ()
    feeds: list[FeedConfig] = []
    seen_urls: dict[str, int] = {}
    seen_names: dict[str, int] = {}
    for i, item in enumerate(reader.sequence(node, "feeds")):
        where = f"feeds[{i}]"
        m = reader.mapping(item, where, allowed=_FEED_KEYS, required=("url",))
        url = reader.string(m["url"], f"{where}.url")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise reader.fail(m["url"], f"{where}.url", f"not an http(s) URL: {url!r}", "write https://host/path")
        line = item.start_mark.line + 1
        key = url.rstrip("/")
        if key in seen_urls:
            raise reader.fail(
                m["url"], f"{where}.url", f"duplicate feed URL (already at line {seen_urls[key]})"
            )
        seen_urls[key] = line
        name = reader.string(m["name"], f"{where}.name") if "name" in m else (parts.hostname or url)
        if name in seen_names:
            raise reader.fail(item, f"{where}.name",
                              f"duplicate feed name {name!r} (already at line {seen_names[name]})")
        seen_names[name] = line
        language = None
        if "language" in m and not reader.is_null(m["language"]):
            language = reader.string(m["language"], f"{where}.language")
            if not _LANGUAGE_HINT.match(language):
                raise reader.fail(m["language"], f"{where}.language", f"not a language tag: {language!r}",
                                  "use sv, en, zh-Hans, zh-Hant ...")
        interval = timedelta(hours=1)
        if "interval" in m:
            raw = reader.string(m["interval"], f"{where}.interval")
            # a bare number is minutes, as in RSS's <ttl>
            parsed = timedelta(minutes=float(raw)) if re.fullmatch(r"\d+(\.\d+)?", raw) else parse_duration(raw)
            if parsed is None or parsed < timedelta(minutes=1):
                raise reader.fail(m["interval"], f"{where}.interval", f"not a duration of at least 1 minute: {raw!r}",
                                  "write e.g. 15m, 2h, 1d")
            interval = parsed
        tags = reader.strings(m["tags"], f"{where}.tags") if "tags" in m else ()
        if "tags" in m and isinstance(m["tags"], yaml.ScalarNode) and "," in tags[0]:
            listed = ", ".join(t.strip() for t in tags[0].split(",") if t.strip())
            raise reader.fail(m["tags"], f"{where}.tags", f"{tags[0]!r} is one tag with a comma in it",
                              f"write a list: tags: [{listed}]")
        enabled = reader.boolean(m["enabled"], f"{where}.enabled") if "enabled" in m else True
        feeds.append(FeedConfig(name=name, url=url, language=language, interval=interval, tags=tags,
                                enabled=enabled, line=line))
    return tuple(feeds)


def _watchlists(reader: NodeReader, node: yaml.Node | None, base: Path) -> tuple[wl.Watchlist, ...]:
    if node is None or reader.is_null(node):
        return wl.default_watchlists()
    result: list[wl.Watchlist] = []
    for i, item in enumerate(reader.sequence(node, "watchlists")):
        if isinstance(item, yaml.ScalarNode):
            value = reader.string(item, f"watchlists[{i}]")
            if value == "default":
                result.extend(wl.default_watchlists())
                continue
            file = _path(reader, item, f"watchlists[{i}]", base)
            if not file.is_file():
                raise reader.fail(item, f"watchlists[{i}]", f"watchlist file not found: {file}",
                                  "paths are relative to this config file; 'default' is the shipped watchlist")
            loaded = wl.load_watchlist_file(file)
            result.extend(loaded if isinstance(loaded, Sequence) else (loaded,))
        else:
            result.append(wl.parse_watchlist_node(item, reader.path))
    names = [w.name for w in result]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise reader.fail(node, "watchlists", f"duplicate watchlist name(s): {', '.join(dupes)}")
    return tuple(result)


def _fetch(reader: NodeReader, node: yaml.Node | None) -> FetchSettings:
    if node is None:
        return FetchSettings()
    m = reader.mapping(node, "fetch", allowed=_FETCH_KEYS)
    d = FetchSettings()
    return FetchSettings(
        timeout=reader.number(m["timeout"], "fetch.timeout", minimum=0.1) if "timeout" in m else d.timeout,
        max_bytes=reader.integer(m["max_bytes"], "fetch.max_bytes", minimum=1024) if "max_bytes" in m else d.max_bytes,
        max_redirects=reader.integer(m["max_redirects"], "fetch.max_redirects", minimum=0)
        if "max_redirects" in m else d.max_redirects,
        user_agent=reader.string(m["user_agent"], "fetch.user_agent") if "user_agent" in m else d.user_agent,
        concurrency=reader.integer(m["concurrency"], "fetch.concurrency", minimum=1)
        if "concurrency" in m else d.concurrency,
        feed_concurrency=reader.integer(m["feed_concurrency"], "fetch.feed_concurrency", minimum=1)
        if "feed_concurrency" in m else d.feed_concurrency,
        per_host=reader.integer(m["per_host"], "fetch.per_host", minimum=1) if "per_host" in m else d.per_host,
        min_host_delay=reader.number(m["min_host_delay"], "fetch.min_host_delay", minimum=0)
        if "min_host_delay" in m else d.min_host_delay,
        page_text_min_chars=reader.integer(m["page_text_min_chars"], "fetch.page_text_min_chars", minimum=0)
        if "page_text_min_chars" in m else d.page_text_min_chars,
        fetch_pages=reader.boolean(m["fetch_pages"], "fetch.fetch_pages") if "fetch_pages" in m else d.fetch_pages,
    )


def _translation(reader: NodeReader, node: yaml.Node | None, base: Path, data_dir: Path) -> TranslationSettings:
    default_dir = data_dir / "argos-packages"
    if node is None:
        return TranslationSettings(packages_dir=default_dir)
    m = reader.mapping(node, "translation", allowed=_TRANSLATION_KEYS)
    d = TranslationSettings(packages_dir=default_dir)
    return TranslationSettings(
        packages_dir=_path(reader, m["packages_dir"], "translation.packages_dir", base)
        if "packages_dir" in m else default_dir,
        enabled=reader.boolean(m["enabled"], "translation.enabled") if "enabled" in m else d.enabled,
        translate_all=reader.boolean(m["translate_all"], "translation.translate_all")
        if "translate_all" in m else d.translate_all,
        batch_size=reader.integer(m["batch_size"], "translation.batch_size", minimum=1)
        if "batch_size" in m else d.batch_size,
        beam_size=reader.integer(m["beam_size"], "translation.beam_size", minimum=1)
        if "beam_size" in m else d.beam_size,
        threads=reader.integer(m["threads"], "translation.threads", minimum=0) if "threads" in m else d.threads,
        device=_choice(reader, m, "device", "translation.device", ("cpu", "cuda", "auto"), d.device),
    )


def _choice(reader: NodeReader, m: dict[str, yaml.Node], key: str, field: str, allowed: tuple[str, ...],
            default: str) -> str:
    if key not in m:
        return default
    value = reader.string(m[key], field).lower()
    if value not in allowed:
        raise reader.fail(m[key], field, f"unknown value {value!r}", f"use {', '.join(allowed)}")
    return value


def _jobs(reader: NodeReader, node: yaml.Node | None) -> JobSettings:
    d = JobSettings()
    if node is None:
        return d
    m = reader.mapping(node, "jobs", allowed=_JOBS_KEYS)

    def seconds(key: str, default: float) -> float:
        if key not in m:
            return default
        raw = reader.string(m[key], f"jobs.{key}")
        parsed = timedelta(seconds=float(raw)) if re.fullmatch(r"\d+(\.\d+)?", raw) else parse_duration(raw)
        if parsed is None or parsed.total_seconds() <= 0:
            raise reader.fail(m[key], f"jobs.{key}", f"not a duration: {raw!r}", "write e.g. 5s, 30s or 2m")
        return parsed.total_seconds()
    jobs = JobSettings(
        tick=seconds("tick", d.tick), heartbeat=seconds("heartbeat", d.heartbeat),
        stalled_after=seconds("stalled_after", d.stalled_after),
    )
    if jobs.stalled_after < 2 * jobs.heartbeat:
        raise reader.fail(m.get("stalled_after", node), "jobs.stalled_after",
                          f"{jobs.stalled_after:g}s is under two heartbeats ({jobs.heartbeat:g}s each): live "
                          "workers would look dead", "make it at least twice jobs.heartbeat")
    return jobs


def _digest(reader: NodeReader, node: yaml.Node | None, base: Path, known_tags: set[str]) -> DigestSettings:
    if node is None:
        return DigestSettings()
    m = reader.mapping(node, "digest", allowed=_DIGEST_KEYS)
    d = DigestSettings()
    at = d.time
    if "time" in m:
        raw = reader.string(m["time"], "digest.time")
        match = re.fullmatch(r"(\d{1,2}):(\d{2})", raw)
        if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
            raise reader.fail(m["time"], "digest.time", f"not a time of day: {raw!r}", "write HH:MM, e.g. '07:00'")
        at = dtime(int(match.group(1)), int(match.group(2)))
    tz = d.timezone
    if "timezone" in m:
        tz = reader.string(m["timezone"], "digest.timezone")
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise reader.fail(m["timezone"], "digest.timezone", f"unknown time zone {tz!r}",
                              "use an IANA name such as Europe/Stockholm") from None
    to = reader.strings(m["to"], "digest.to") if "to" in m else ()
    for addr, item in zip(to, _items(m.get("to")), strict=False):
        if "@" not in addr:
            raise reader.fail(item, "digest.to", f"not an e-mail address: {addr!r}")
    sender = reader.string(m["from"], "digest.from") if "from" in m else d.sender
    empty = d.empty
    if "empty" in m:
        empty = reader.string(m["empty"], "digest.empty")
        if empty not in ("send", "skip"):
            raise reader.fail(m["empty"], "digest.empty", f"must be 'send' or 'skip', got {empty!r}")
    tags = reader.strings(m["tags"], "digest.tags") if "tags" in m else ()
    for tag, item in zip(tags, _items(m.get("tags")), strict=False):
        if tag not in known_tags:
            raise reader.fail(item, "digest.tags", f"no feed has the tag {tag!r}",
                              "tags in use: " + (", ".join(sorted(known_tags)) or "none"))
    return DigestSettings(
        time=at,
        timezone=tz,
        to=to,
        sender=sender,
        subject=reader.string(m["subject"], "digest.subject") if "subject" in m else d.subject,
        smtp=_smtp(reader, m.get("smtp")),
        empty=empty,
        templates=_path(reader, m["templates"], "digest.templates", base) if "templates" in m else None,
        tags=tags,
        by_tag=reader.boolean(m["by_tag"], "digest.by_tag") if "by_tag" in m else False,
    )


def _items(node: yaml.Node | None) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return [node] if node is not None else []


def _smtp(reader: NodeReader, node: yaml.Node | None) -> SmtpSettings:
    if node is None:
        return SmtpSettings()
    m = reader.mapping(node, "digest.smtp", allowed=_SMTP_KEYS)
    security = "none"
    if "security" in m:
        security = reader.string(m["security"], "digest.smtp.security").lower()
        if security not in ("none", "starttls", "ssl"):
            raise reader.fail(m["security"], "digest.smtp.security", f"unknown value {security!r}",
                              "use none, starttls or ssl")
    default_port = {"none": 25, "starttls": 587, "ssl": 465}[security]
    return SmtpSettings(
        host=reader.string(m["host"], "digest.smtp.host") if "host" in m else "localhost",
        port=reader.integer(m["port"], "digest.smtp.port", minimum=1) if "port" in m else default_port,
        security=security,
        username=reader.string(m["username"], "digest.smtp.username") if "username" in m else None,
        timeout=reader.number(m["timeout"], "digest.smtp.timeout", minimum=1) if "timeout" in m else 30.0,
    )
