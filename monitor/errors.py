"""One exception tree for the whole package, rooted in :class:`MonitorError`.

Per-feed and per-article errors are caught by the pipeline, recorded on the
feed's row as values, and the run goes on; anything outside this tree is a bug
and is allowed to propagate loudly.
"""

from __future__ import annotations

from .sanitize import strip_controls


class MonitorError(Exception):
    """Base class of every error this package raises on purpose.

    Messages often quote what a server or a feed sent (a redirect target, a parser's complaint):
    control characters are stripped from them here, once, so no error text carries a terminal
    escape or a bell into the store, the logs, the export or the digest."""

    def __init__(self, *args: object) -> None:
        super().__init__(*(strip_controls(a) if isinstance(a, str) else a for a in args))


# -- configuration -----------------------------------------------------------


class ConfigError(MonitorError):
    """A configuration file is invalid. The message names file, line and field."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.path = path
        self.line = line
        self.field = field
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.path or "<config>"
        if self.line is not None:
            where = f"{where}:{self.line}"
        text = f"{where}: {self.field + ': ' if self.field else ''}{self.message}"
        if self.hint:
            text += f" (hint: {self.hint})"
        return text


class FeedListError(ConfigError):
    """A feed operation refused: the feed or its name is already listed, or no feed has that name."""


class WatchlistError(ConfigError):
    """A watchlist definition is invalid."""


class LabelledSetError(MonitorError):
    """A labelled evaluation set (JSON Lines) is malformed; the message names file and line."""


# -- network -----------------------------------------------------------------


class FetchError(MonitorError):
    """A feed or page could not be fetched."""

    def __init__(self, message: str, *, url: str) -> None:
        self.url = url
        super().__init__(f"{message} ({url})")


class HTTPStatusError(FetchError):
    """The server answered with an error status."""

    def __init__(self, status: int, *, url: str, retry_after: float | None = None) -> None:
        self.status = status
        self.retry_after = retry_after
        super().__init__(f"HTTP {status}", url=url)


class ResponseTooLargeError(FetchError):
    """The (decoded) body exceeded the configured size cap."""


class BlockedURLError(FetchError):
    """The URL is not allowed: bad scheme or a private/loopback address."""


# -- content -----------------------------------------------------------------


class FeedParseError(MonitorError):
    """A body could not be read as a feed at all."""

    def __init__(self, message: str, *, url: str) -> None:
        self.url = url
        super().__init__(f"{message} ({url})")


class ExtractionError(MonitorError):
    """No usable article text could be extracted from a page."""


class FeedDiscoveryError(MonitorError):
    """No feed could be found at an address (it, the feeds its page links to, common paths)."""


# -- storage -----------------------------------------------------------------


class StorageError(MonitorError):
    """The database is unusable (corrupt, locked for too long, ...)."""


class SchemaVersionError(StorageError):
    """The database was written by a newer, unknown schema version."""


# -- translation -------------------------------------------------------------


class TranslationError(MonitorError):
    """Translation failed for a reason other than a missing model."""


class ModelUnavailableError(TranslationError):
    """No installed model translates ``source`` to ``target``."""

    def __init__(self, source: str, target: str, *, hint: str | None = None) -> None:
        self.source = source
        self.target = target
        self.hint = hint
        message = f"no translation model installed for {source}->{target}"
        if hint:
            message += f"; {hint}"
        super().__init__(message)


# -- mail --------------------------------------------------------------------


class MailError(MonitorError):
    """A digest could not be sent."""
