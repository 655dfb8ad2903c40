"""Sending the digest to a real SMTP server (aiosmtpd on 127.0.0.1) and reading what arrived."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from click.testing import CliRunner

from monitor.cli import main
from monitor.config import load_config
from monitor.errors import MailError
from monitor.mailer import Mailer, build_message
from monitor.settings import SmtpSettings
from monitor.storage import Store
from tests.support import seedsite
from tests.support.digestsite import EVIL_TITLE, copy_fetched
from tests.support.smtp import digest_section, free_port, smtp_server

PASSWORD = "pw-Zq7-never-logged"
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def cli(config: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--config", str(config), *args], env=env, catch_exceptions=False)
    return result.exit_code, result.output


def test_digest_arrives_as_multipart_alternative_escaped_and_grouped(fetched_template: Path, tmp_path: Path) -> None:
    with smtp_server() as (port, sink):
        config = copy_fetched(fetched_template, tmp_path, digest_section(port))
        before = datetime.now(ZoneInfo("Europe/Stockholm")).strftime("%Y-%m-%d")
        code, out = cli(config, "digest", "--send")
        after = datetime.now(ZoneInfo("Europe/Stockholm")).strftime("%Y-%m-%d")
        assert code == 0, out
        assert re.search(r"sent digest <[^>]+@example\.org>: 4 article\(s\) to desk@example\.org", out), out
        [msg] = sink.messages
        assert sorted(sink.rcpt_tos[0]) == ["analyst@example.org", "desk@example.org"]

    # headers
    assert msg["From"] == "Monitor <monitor@example.org>"
    assert msg["To"] == "desk@example.org, analyst@example.org"
    assert msg["Subject"] in {f"Monitor digest {day}: 4 flagged" for day in (before, after)}
    sent = parsedate_to_datetime(msg["Date"])
    assert sent.tzinfo is not None and abs(datetime.now(UTC) - sent) < timedelta(minutes=1)
    assert re.fullmatch(r"<[^@<>\s]+@example\.org>", msg["Message-ID"])
    # both parts
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    text_part, html_part = msg.get_body(("plain",)), msg.get_body(("html",))
    assert text_part is not None and html_part is not None
    text, html = text_part.get_content(), html_part.get_content()
    # escaping: feed text is data in the HTML part, verbatim in the text part
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;friends&#34;" in html
    assert EVIL_TITLE in text
    assert re.search(r"<mark[^>]*>[^<]+</mark>", html) and "«" in text
    # grouping: the Dagens PS story (also linked by the syndicator, and mirrored under another URL) once
    ps_title = seedsite.dagens_ps().title
    assert html.count(f">{ps_title}</a>") == 1
    assert text.count(f"* {ps_title}") == 1
    assert "Also in:" in html and "Mirror" in html.split("Also in:")[1].split("</div>")[0]
    assert "== Failing feeds ==" in text and "HTTP 404" in text

    with Store(load_config(config).database) as store:
        last = store.last_digest()
    assert last is not None and last.article_count == 4
    assert last.recipients == ("desk@example.org", "analyst@example.org")


def test_second_send_the_same_day_with_empty_skip_sends_nothing(fetched_template: Path, tmp_path: Path) -> None:
    with smtp_server() as (port, sink):
        config = copy_fetched(fetched_template, tmp_path, digest_section(port, empty="skip"))
        assert cli(config, "digest", "--send")[0] == 0
        code, out = cli(config, "digest", "--send")
        assert code == 0, out
        assert "nothing flagged since the last digest; not sent" in out
        assert len(sink.messages) == 1
    with Store(load_config(config).database) as store:
        assert store.last_digest() is not None and store.last_digest().article_count == 4  # type: ignore[union-attr]


def test_second_send_with_empty_send_mails_nothing_flagged(fetched_template: Path, tmp_path: Path) -> None:
    with smtp_server() as (port, sink):
        config = copy_fetched(fetched_template, tmp_path, digest_section(port, empty="send"))
        assert cli(config, "digest", "--send")[0] == 0
        code, out = cli(config, "digest", "--send")
        assert code == 0, out
        assert len(sink.messages) == 2
        second = sink.messages[1]
    assert second["Subject"].endswith(": 0 flagged")
    text = second.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = second.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Nothing flagged since" in text and "Nothing was flagged" in html
    assert seedsite.dagens_ps().title not in html  # nothing is repeated from the first digest


def test_a_send_repeated_after_a_crash_carries_the_same_message_id(fetched_template: Path, tmp_path: Path) -> None:
    """The worker died after the SMTP server took the digest but before it was recorded (here: the
    record removed): the repeat is the same message, so a mail store that drops duplicate ids keeps one.
    The next digest (a new window) has its own id."""
    with smtp_server() as (port, sink):
        config = copy_fetched(fetched_template, tmp_path, digest_section(port, empty="send"))
        assert cli(config, "digest", "--send")[0] == 0
        with Store(load_config(config).database) as store, store.transaction() as conn:
            conn.exec_driver_sql("DELETE FROM digests")
        assert cli(config, "digest", "--send")[0] == 0
        assert cli(config, "digest", "--send")[0] == 0
        first, repeat, nxt = sink.messages
    assert first["Message-ID"] == repeat["Message-ID"]
    assert re.fullmatch(r"<digest\.\d{4}-\d\d-\d\d\.0-\d+\.[0-9a-f]{12}@example\.org>", first["Message-ID"])
    assert first.get_body(("plain",)).get_content() == repeat.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert nxt["Message-ID"] != first["Message-ID"] and nxt["Subject"].endswith(": 0 flagged")


def test_smtp_down_is_one_clear_error_not_marked_sent_and_sent_next_time(fetched_template: Path,
                                                                        tmp_path: Path) -> None:
    port = free_port()  # nothing listens here
    config = copy_fetched(fetched_template, tmp_path, digest_section(port))
    result = CliRunner().invoke(main, ["--config", str(config), "digest", "--send"])
    assert result.exit_code == 1
    message = f"could not send the digest via 127.0.0.1:{port} (none): connection refused"
    assert result.output.count(message) == 1, result.output
    assert "Traceback" not in result.output
    with Store(load_config(config).database) as store:
        assert store.last_digest() is None
    with smtp_server(port) as (_, sink):
        code, out = cli(config, "digest", "--send")
        assert code == 0, out
        [msg] = sink.messages
    assert msg["Subject"].endswith(": 4 flagged")  # the same articles, now delivered
    with Store(load_config(config).database) as store:
        assert store.last_digest() is not None


def test_login_with_password_from_the_environment_never_shown(
    fetched_template: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == PASSWORD.encode(), handled=False)

    caplog.set_level(logging.DEBUG)
    with smtp_server(authenticator=authenticator, auth_require_tls=False, auth_required=True) as (port, sink):
        config = copy_fetched(fetched_template, tmp_path, digest_section(port, extra="    username: digest-bot\n"))
        code, out = cli(config, "digest", "--send", env={"MONITOR_SMTP_PASSWORD": ""})
        assert code == 1 and "MONITOR_SMTP_PASSWORD is not" in out, out
        code, out = cli(config, "digest", "--send", env={"MONITOR_SMTP_PASSWORD": "wrong-" + PASSWORD})
        assert code == 1 and "refused the login of 'digest-bot'" in out and "535" in out
        assert PASSWORD not in out
        code, out = cli(config, "digest", "--send", env={"MONITOR_SMTP_PASSWORD": PASSWORD})
        assert code == 0, out
        assert len(sink.messages) == 1
    assert logins[-1] == (b"digest-bot", PASSWORD.encode())
    assert PASSWORD not in caplog.text


# -- the mailer on its own --------------------------------------------------------------------


def _message(to: tuple[str, ...] = ("a@example.org",)) -> EmailMessage:
    return build_message("Subject", "text", "<p>html</p>", sender="m@example.org", to=to,
                         now=datetime(2025, 3, 30, 5, 0, tzinfo=UTC))


def test_password_is_not_in_repr_and_not_sent_in_clear_to_a_remote_host() -> None:
    mailer = Mailer(SmtpSettings(host="smtp.example.org", port=25, username="u"), PASSWORD)
    assert PASSWORD not in repr(mailer) and "***" in repr(mailer)
    with pytest.raises(MailError, match="refusing to send the SMTP password unencrypted") as info:
        mailer.send(_message())
    assert PASSWORD not in str(info.value)


def test_no_recipients_is_a_mail_error() -> None:
    with pytest.raises(MailError, match="no recipients"):
        Mailer(SmtpSettings(host="127.0.0.1", port=free_port())).send(_message(to=()))


def test_starttls_not_offered_and_ssl_to_a_plain_server_are_mail_errors() -> None:
    with smtp_server() as (port, sink):
        with pytest.raises(MailError, match="does not offer STARTTLS"):
            Mailer(SmtpSettings(host="127.0.0.1", port=port, security="starttls", timeout=5)).send(_message())
        with pytest.raises(MailError, match=rf"127\.0\.0\.1:{port} \(ssl\)"):
            Mailer(SmtpSettings(host="127.0.0.1", port=port, security="ssl", timeout=5)).send(_message())
        assert sink.messages == []
