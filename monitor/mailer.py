"""SMTP: build a multipart message and send it with smtplib (plain, STARTTLS or implicit TLS).
The digest workflow (plan, send, record) is ``delivery.py``'s.

The password is passed in by the composition root (read from the environment
there); it is never logged, printed or put into an error message. Every failure
is raised as one :class:`MailError` whose message says where and why.
"""

from __future__ import annotations

import ipaddress
import logging
import smtplib
import ssl
from collections.abc import Sequence
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid, parseaddr

from .errors import MailError
from .settings import SmtpSettings

log = logging.getLogger(__name__)

PASSWORD_ENV = "MONITOR_SMTP_PASSWORD"  # read by app.py/cli.py, named here for messages


def build_message(
    subject: str, text: str, html: str, *, sender: str, to: Sequence[str], now: datetime, key: str | None = None
) -> EmailMessage:
    """A multipart/alternative message: the plain-text part first, the HTML part last.

    ``key`` makes the Message-ID repeatable (``<digest.KEY@domain>``): the same digest sent
    again after a crash carries the same id, so a mail store that drops duplicate ids keeps one;
    without it the id is random."""
    msg = EmailMessage(policy=policy.SMTP)
    msg["Subject"] = " ".join(subject.split())
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Date"] = format_datetime(now if now.tzinfo else now.astimezone())
    domain = parseaddr(sender)[1].rpartition("@")[2] or "monitor.localhost"
    msg["Message-ID"] = f"<digest.{key}@{domain}>" if key else make_msgid("digest", domain=domain)
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(text, subtype="plain", charset="utf-8")
    msg.add_alternative(html, subtype="html", charset="utf-8")
    return msg


class Mailer:
    """Sends messages through the configured SMTP server; one connection per message."""

    __slots__ = ("_password", "local_hostname", "settings")

    def __init__(self, settings: SmtpSettings, password: str | None = None, *,
                 local_hostname: str | None = "localhost") -> None:
        self.settings = settings
        self._password = password or None
        self.local_hostname = local_hostname  # EHLO name; None: the host's FQDN (may need DNS)

    def __repr__(self) -> str:
        s = self.settings
        hidden = "***" if self._password else None
        return f"Mailer({s.host}:{s.port}, security={s.security}, user={s.username!r}, password={hidden})"

    @property
    def where(self) -> str:
        s = self.settings
        return f"{s.host}:{s.port} ({s.security})"

    def send(self, message: EmailMessage) -> None:
        """Deliver ``message`` to its To/Cc recipients. Raises MailError; nothing is retried here."""
        recipients = [addr for _, addr in getaddresses(message.get_all("To", []) + message.get_all("Cc", [])) if addr]
        if not recipients:
            raise MailError("the digest has no recipients: list addresses under digest.to in the config")
        s = self.settings
        if s.username and not self._password:
            raise MailError(f"digest.smtp.username is set but {PASSWORD_ENV} is not: set it in the environment")
        if s.username and s.security == "none" and not _is_loopback(s.host):
            raise MailError(f"refusing to send the SMTP password unencrypted to {self.where}: "
                            "set digest.smtp.security to starttls or ssl")
        try:
            refused = self._deliver(message, recipients)
        except smtplib.SMTPAuthenticationError as exc:
            raise MailError(f"could not send the digest via {self.where}: the server refused the login of "
                            f"{s.username!r} ({exc.smtp_code} {_text(exc.smtp_error)})") from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise MailError(f"could not send the digest via {self.where}: every recipient was refused "
                            f"({_refusals(exc.recipients)})") from None
        except smtplib.SMTPResponseException as exc:
            raise MailError(f"could not send the digest via {self.where}: "
                            f"{exc.smtp_code} {_text(exc.smtp_error)}") from None
        except smtplib.SMTPNotSupportedError as exc:
            raise MailError(f"could not send the digest via {self.where}: {exc}") from None
        except (smtplib.SMTPException, OSError) as exc:  # refused, timeout, TLS, DNS, disconnected
            raise MailError(f"could not send the digest via {self.where}: {_describe(exc)}") from None
        if refused:
            log.warning("digest sent, but the server refused %d recipient(s): %s", len(refused), _refusals(refused))

    def _deliver(self, message: EmailMessage, recipients: list[str]) -> dict[str, tuple[int, bytes]]:
        s = self.settings
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if s.security == "ssl":
            smtp = smtplib.SMTP_SSL(s.host, s.port, local_hostname=self.local_hostname, timeout=s.timeout,
                                    context=context)
        else:
            smtp = smtplib.SMTP(s.host, s.port, local_hostname=self.local_hostname, timeout=s.timeout)
        with smtp:
            smtp.ehlo()
            if s.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise smtplib.SMTPNotSupportedError("the server does not offer STARTTLS")
                smtp.starttls(context=context)
                smtp.ehlo()
            if s.username and self._password:
                smtp.login(s.username, self._password)
            return smtp.send_message(message, to_addrs=recipients)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _refusals(recipients: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(f"{addr}: {code} {_text(msg)}" for addr, (code, msg) in recipients.items())


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the SMTP server running and the host/port right?)"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc.reason or exc}"
    return str(exc) or type(exc).__name__
