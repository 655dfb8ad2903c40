"""A real SMTP server (aiosmtpd on 127.0.0.1) that keeps what it receives, and a digest section for it."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


class Sink:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.rcpt_tos: list[list[str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.rcpt_tos.append(list(envelope.rcpt_tos))
        raw = envelope.original_content or envelope.content
        msg = message_from_bytes(raw, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append(msg)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def smtp_server(port: int | None = None, **kwargs: Any) -> Iterator[tuple[int, Sink]]:
    sink = Sink()
    port = port or free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield port, sink
    finally:
        controller.stop()


def digest_section(port: int, empty: str = "skip", extra: str = "") -> str:
    return f"""digest:
  time: "07:00"
  timezone: Europe/Stockholm
  from: Monitor <monitor@example.org>
  to: [desk@example.org, analyst@example.org]
  empty: {empty}
  smtp:
    host: 127.0.0.1
    port: {port}
    timeout: 5
{extra}"""
