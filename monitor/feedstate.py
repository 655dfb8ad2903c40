"""Feed-state rules, pure: how a feed's stored state changes after a fetch succeeds or fails,
and whether a scheduled poll should fetch it. ``now`` is always passed in.

- Success: validators and content hash saved, failures reset, next attempt one interval on.
- Failure: exponential backoff from the feed's interval (1x, 2x, 4x, ...), capped at a day (or the
  interval, when longer); a Retry-After longer than that wins; HTTP 410 Gone disables the feed
  until its URL is changed in the config.
- No poll fetches a disabled feed; a scheduled poll also skips one whose next attempt is more
  than half an interval ahead (polls fire on the interval grid plus jitter, next attempts count
  from the last fetch).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from .errors import HTTPStatusError, MonitorError
from .models import FeedState
from .settings import FeedConfig

BACKOFF_CAP = timedelta(hours=24)
GONE = "HTTP 410 Gone: the feed was removed; fix its URL in the config to re-enable"


def after_success(
    state: FeedState,
    feed: FeedConfig,
    now: datetime,
    *,
    etag: str | None,
    last_modified: str | None,
    content_hash: str | None,
    last_error: str | None = None,
) -> FeedState:
    return replace(state, etag=etag, last_modified=last_modified, content_hash=content_hash, last_error=last_error,
                   last_fetched=now, last_success=now, consecutive_failures=0, next_attempt=now + feed.interval)


def after_failure(state: FeedState, feed: FeedConfig, error: MonitorError, now: datetime) -> FeedState:
    """Record a failure: exponential backoff from the feed's interval, capped; 410 disables."""
    failures = state.consecutive_failures + 1
    delay = min(feed.interval * (2 ** min(failures - 1, 16)), max(BACKOFF_CAP, feed.interval))
    if isinstance(error, HTTPStatusError) and error.retry_after:
        delay = max(delay, timedelta(seconds=error.retry_after))
    disabled = state.disabled_reason
    if isinstance(error, HTTPStatusError) and error.status == 410:
        disabled = GONE
    return replace(state, last_fetched=now, last_error=str(error), consecutive_failures=failures,
                   next_attempt=now + delay, disabled_reason=disabled)


def disabled(state: FeedState) -> str | None:
    """Why no poll, scheduled or asked for (``monitor fetch``), may fetch this feed; None if one may."""
    return state.disabled_reason


@dataclass(frozen=True, slots=True)
class PollDecision:
    due: bool
    reason: str


def feed_due(state: FeedState, now: datetime, interval: timedelta) -> PollDecision:
    """Whether a scheduled poll should fetch (see the module docstring)."""
    if (why := disabled(state)) is not None:
        return PollDecision(False, f"disabled: {why}")
    if state.next_attempt is not None and state.next_attempt - interval / 2 > now:
        kind = f"backing off after {state.consecutive_failures} failure(s)" if state.consecutive_failures \
            else "fetched recently"
        return PollDecision(False, f"{kind}; next attempt {state.next_attempt.isoformat()}")
    return PollDecision(True, "due")
