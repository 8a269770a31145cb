"""XOAUTH2 for providers without passwords: the token comes from a command, the SMTP server checks it."""

from __future__ import annotations

import pytest

from mailflow.credentials import Credentials
from mailflow.delivery import SmtpSender
from mailflow.errors import ConnectionFailed
from mailflow.rules import SmtpSettings
from tests.support.mail import make_mail

from .conftest import TokenIssuer

TOKEN = "ya29.test-access-token"
SENDER, RECIPIENT = "international@cc-events.example", "nino@tbilisi.gov.ge"


def smtp_sender(controller, command: str) -> SmtpSender:
    config = SmtpSettings(host="127.0.0.1", port=controller.port, security="none", username="user@example.org",
                          oauth2_token_command=command, timeout=10)
    return SmtpSender(config, Credentials.of(config, "mailbox international, SMTP"), "international")


def test_token_from_command_logs_in_with_xoauth2(xoauth2_smtp):
    controller, handler = xoauth2_smtp(lambda token: token == TOKEN)
    sender = smtp_sender(controller, f"printf '{TOKEN}\\n'")
    sender.send(make_mail(), SENDER, RECIPIENT)
    sender.close()
    assert handler.responses == [f"user=user@example.org\x01auth=Bearer {TOKEN}\x01\x01"]
    assert handler.received == [(SENDER, [RECIPIENT])]


def test_a_wrong_token_is_a_login_failure_not_a_crash(xoauth2_smtp):
    controller, handler = xoauth2_smtp(lambda token: token == TOKEN)
    sender = smtp_sender(controller, "printf 'expired'")
    with pytest.raises(ConnectionFailed, match="SMTP login refused"):
        sender.send(make_mail(), SENDER, RECIPIENT)
    assert handler.received == []


def test_each_smtp_session_logs_in_with_the_token_of_its_time(xoauth2_smtp, tmp_path):
    """A token kept from the first session would be refused in the second: the server takes only
    the newest."""
    tokens = TokenIssuer(tmp_path)
    controller, handler = xoauth2_smtp(tokens.valid)
    sender = smtp_sender(controller, tokens.command)
    for _ in range(2):
        sender.send(make_mail(), SENDER, RECIPIENT)
        sender.send(make_mail(), SENDER, RECIPIENT)   # the same session: no new login
        sender.close()
    assert handler.logins == [("user@example.org", "tok-1", True), ("user@example.org", "tok-2", True)]
    assert len(handler.received) == 4
