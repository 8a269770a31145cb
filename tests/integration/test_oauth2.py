"""XOAUTH2 for providers without passwords: the token comes from a command, the SMTP server checks it."""

from __future__ import annotations

import base64

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from mailflow.credentials import Credentials
from mailflow.delivery import SmtpSender
from mailflow.errors import ConnectionFailed
from mailflow.rules import SmtpSettings
from servers import free_port
from tests.helpers import make_mail

TOKEN = "ya29.test-access-token"


class XOAuth2Handler:
    """Accepts AUTH XOAUTH2 for user@example.org with TOKEN only, and records what was sent."""

    def __init__(self):
        self.received: list[tuple[str, list[str]]] = []
        self.responses: list[str] = []

    async def auth_XOAUTH2(self, server, args):
        response = base64.b64decode(args[1]).decode() if len(args) > 1 else ""
        self.responses.append(response)
        ok = response == f"user=user@example.org\x01auth=Bearer {TOKEN}\x01\x01"
        return AuthResult(success=ok, handled=False, auth_data="user@example.org" if ok else None)

    async def handle_DATA(self, server, session, envelope):
        if not session.authenticated:
            return "530 5.7.0 Authentication required"
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


@pytest.fixture
def xoauth2_server():
    handler = XOAuth2Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), auth_require_tls=False)
    controller.start()
    yield controller, handler
    controller.stop()


def settings(controller, command: str) -> SmtpSettings:
    return SmtpSettings(host="127.0.0.1", port=controller.port, security="none", username="user@example.org",
                        oauth2_token_command=command, timeout=10)


def test_token_from_command_logs_in_with_xoauth2(xoauth2_server):
    controller, handler = xoauth2_server
    config = settings(controller, f"printf '{TOKEN}\\n'")
    sender = SmtpSender(config, Credentials.of(config, "mailbox international, SMTP"), "international")
    sender.send(make_mail(), "international@cc-events.example", "nino@tbilisi.gov.ge")
    sender.close()
    assert handler.responses == [f"user=user@example.org\x01auth=Bearer {TOKEN}\x01\x01"]
    assert handler.received == [("international@cc-events.example", ["nino@tbilisi.gov.ge"])]


def test_a_wrong_token_is_a_login_failure_not_a_crash(xoauth2_server):
    controller, handler = xoauth2_server
    config = settings(controller, "printf 'expired'")
    sender = SmtpSender(config, Credentials.of(config, "mailbox international, SMTP"), "international")
    with pytest.raises(ConnectionFailed, match="SMTP login refused"):
        sender.send(make_mail(), "international@cc-events.example", "nino@tbilisi.gov.ge")
    assert handler.received == []
