"""The one digest delivery path: plan the digest from the store, send it, and only then record
it as sent, all with one ``now`` (the period it covers, the mail's Date and ``sent_at`` agree).
`monitor digest --send` and the daemon both call :func:`deliver_digest`; the daemon passes
``asyncio.to_thread`` so the blocking SMTP exchange leaves its event loop free.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Protocol
from zoneinfo import ZoneInfo

from .config import Config
from .digest import Digest, build_digest
from .gist import Dictionary, Glossary
from .mailer import build_message
from .rendering import RenderedDigest, render_digest
from .storage import Store


class Sender(Protocol):
    """What sends a message: :class:`monitor.mailer.Mailer`, or anything with its ``send``."""

    def send(self, message: EmailMessage) -> None: ...


Offload = Callable[[Callable[[EmailMessage], None], EmailMessage], Awaitable[None]]


async def inline(send: Callable[[EmailMessage], None], message: EmailMessage) -> None:
    """Send in the calling thread (a command line run has nothing else to do meanwhile)."""
    send(message)


@dataclass(frozen=True, slots=True)
class DigestPlan:
    """A rendered digest and what to record once it is sent."""

    digest: Digest
    rendered: RenderedDigest
    after_article_id: int  # it covers flagged articles with ids in (after_article_id, last_article_id]
    last_article_id: int
    covers_until: datetime

    def worth_sending(self, empty: str) -> bool:
        """False for an empty digest when the config says ``empty: skip``."""
        return not self.digest.empty or empty == "send"


@dataclass(frozen=True, slots=True)
class DigestOutcome:
    plan: DigestPlan
    sent: bool  # False: empty and ``digest.empty: skip``
    message_id: str | None = None


def plan_digest(store: Store, config: Config, now: datetime, dictionary: Dictionary | None = None) -> DigestPlan:
    """Everything flagged or mentioned since the last digest that was sent, grouped and rendered;
    marks nothing. Foreign items get their terms' English and, for untranslated Chinese titles, a
    dictionary gist (CC-CEDICT is read only when one is needed: through ``dictionary``, when a
    long-lived caller holds one)."""
    last = store.last_digest()
    after = last.last_article_id if last else 0
    upto, articles = store.flagged_after(after)
    if config.digest.tags:  # this digest is about some of the feeds only
        wanted = {f.url for f in config.feeds if set(f.tags) & set(config.digest.tags)}
        articles = [a for a in articles if a.article.feed_url in wanted]
    names = {f.url: f.name for f in config.feeds}
    enabled = {f.url for f in config.enabled_feeds}
    failing = [r for r in store.failing_feeds() if r.state.url in enabled]
    digest = build_digest(articles, failing, now=now, since=last.sent_at if last else None,
                          timezone=config.digest.timezone, feed_names=names, watchlists=config.watchlists,
                          glossary=Glossary(config.watchlists, dictionary), page_base=config.web_base_url,
                          feed_tags={f.url: f.tags for f in config.feeds}, by_tag=config.digest.by_tag)
    rendered = render_digest(digest, subject=config.digest.subject, templates=config.digest.templates)
    return DigestPlan(digest=digest, rendered=rendered, after_article_id=after, last_article_id=upto,
                      covers_until=now)


def digest_key(plan: DigestPlan, config: Config) -> str:
    """What names one digest: its day (in the digest's timezone), the flagged articles it covers
    (the id window) and its recipients. A send repeated because the worker died after the SMTP
    server took it but before it was recorded has the same key, hence the same Message-ID."""
    day = plan.covers_until.astimezone(ZoneInfo(config.digest.timezone)).date().isoformat()
    who = hashlib.sha256("\n".join(sorted(a.lower() for a in config.digest.to)).encode()).hexdigest()[:12]
    return f"{day}.{plan.after_article_id}-{plan.last_article_id}.{who}"


async def deliver_digest(
    store: Store, config: Config, sender: Sender, now: datetime, *, offload: Offload = inline
) -> DigestOutcome:
    """Plan, send, and only then record the digest as sent. A MailError from ``sender``
    propagates with nothing recorded, so the same articles go into the next attempt."""
    plan = plan_digest(store, config, now)
    if not plan.worth_sending(config.digest.empty):
        return DigestOutcome(plan=plan, sent=False)
    message = build_message(plan.rendered.subject, plan.rendered.text, plan.rendered.html,
                            sender=config.digest.sender, to=config.digest.to, now=now, key=digest_key(plan, config))
    await offload(sender.send, message)
    store.record_digest(sent_at=now, covers_until=plan.covers_until, article_count=plan.digest.article_count,
                        recipients=config.digest.to, last_article_id=plan.last_article_id)
    return DigestOutcome(plan=plan, sent=True, message_id=str(message["Message-ID"]))
