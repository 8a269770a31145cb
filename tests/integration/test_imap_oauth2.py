"""XOAUTH2 on IMAP against a real Dovecot: the token comes from a command, Dovecot checks it with an
introspection endpoint (a tiny HTTP server here), as a provider's IMAP server checks its own tokens."""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mailflow.credentials import Credentials
from mailflow.errors import ConnectionFailed
from mailflow.mailbox import ImapMailbox
from mailflow.rules import ImapSettings, ProcessedMarker
from servers import DEFAULT_USERS, HOST, INTL_USER, DovecotServer, dovecot_available
from tests.helpers import make_mail

TOKEN = "ya29.test-access-token"


class IntrospectionHandler(BaseHTTPRequestHandler):
    """RFC 7662 style: POST token=... -> {"active": true, "username": ...} for TOKEN only."""

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        token = form.get("token", [""])[0]
        self.server.tokens.append(token)
        reply = {"active": True, "username": INTL_USER} if token == TOKEN else {"active": False}
        body = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def introspection():
    server = ThreadingHTTPServer((HOST, 0), IntrospectionHandler)
    server.tokens = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def oauth2_dovecot(introspection):
    if not dovecot_available():
        pytest.fail("Dovecot is not installed; run scripts/test.sh")
    url = f"http://{HOST}:{introspection.server_address[1]}/introspect"
    with DovecotServer(users=DEFAULT_USERS, oauth2_introspection_url=url) as server:
        yield server


def open_mailbox(dovecot, command: str) -> ImapMailbox:
    config = ImapSettings(host=dovecot.host, port=dovecot.port, security="none", username=INTL_USER,
                          oauth2_token_command=command, timeout=10)
    return ImapMailbox("international", config, ProcessedMarker(),
                       Credentials.of(config, "mailbox international, IMAP"))


def test_token_from_command_logs_in_to_imap_with_xoauth2(oauth2_dovecot, introspection):
    raw = make_mail()
    uid = oauth2_dovecot.append(INTL_USER, raw)
    mailbox = open_mailbox(oauth2_dovecot, f"printf '{TOKEN}\\n'")
    try:
        mailbox.open()
        fetched = [m for batch in mailbox.fetch_after(0) for m in batch]
    finally:
        mailbox.close()
    assert [m.uid for m in fetched] == [uid]
    assert fetched[0].raw.replace(b"\r\n", b"\n") == raw.replace(b"\r\n", b"\n")
    assert TOKEN in introspection.tokens


def test_a_wrong_imap_token_is_a_login_failure(oauth2_dovecot, introspection):
    mailbox = open_mailbox(oauth2_dovecot, "printf expired")
    with pytest.raises(ConnectionFailed, match="IMAP login refused"):
        mailbox.open()
    assert "expired" in introspection.tokens


def test_plain_logins_still_work_next_to_oauth2(oauth2_dovecot):
    with oauth2_dovecot.client(INTL_USER) as client:
        assert client.select_folder("INBOX")
