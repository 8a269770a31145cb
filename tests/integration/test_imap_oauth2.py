"""XOAUTH2 on IMAP against a real Dovecot: the token comes from a command, Dovecot checks it with an
introspection endpoint (a tiny HTTP server here), as a provider's IMAP server checks its own tokens.

With a token command that hands out a new token at each run and an endpoint that takes only the
newest, every login of a worker (two passes, the Sent folder, SMTP from the courier process) and
of an IDLE watcher reconnecting after the server dropped it must come with a fresh token."""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
import yaml

from mailflow import runner
from mailflow.credentials import Credentials
from mailflow.errors import ConnectionFailed
from mailflow.mailbox import ImapMailbox
from mailflow.rules import ImapSettings, ProcessedMarker, load_rules
from mailflow.watch import IDLE, RECONNECTING, IdleWatcher
from tests.support.mail import make_mail
from tests.support.rules import write_rules
from tests.support.servers import DEFAULT_USERS, HOST, INTL_USER, PASSWORD, DovecotServer, dovecot_available

from .conftest import TokenIssuer

TOKEN = "ya29.test-access-token"


class IntrospectionHandler(BaseHTTPRequestHandler):
    """RFC 7662 style: POST token=... -> {"active": true, "username": ...} for a token the server's
    `accept` takes (TOKEN unless a test says otherwise)."""

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        token = form.get("token", [""])[0]
        self.server.tokens.append(token)
        active = self.server.accept(token)
        self.server.checked.append((token, active))
        reply = {"active": True, "username": INTL_USER} if active else {"active": False}
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
    server.checked = []
    server.accept = lambda token: token == TOKEN
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


@pytest.fixture
def fresh_tokens(introspection, tmp_path, monkeypatch) -> TokenIssuer:
    """IMAP tokens that Dovecot takes only until the next one is issued."""
    tokens = TokenIssuer(tmp_path / "imap-tokens")
    monkeypatch.setattr(introspection, "accept", tokens.valid)
    monkeypatch.setattr(introspection, "checked", [])
    return tokens


def test_a_worker_logs_in_with_a_fresh_token_at_every_connect(
    oauth2_dovecot, introspection, fresh_tokens, xoauth2_smtp, tmp_path, monkeypatch, caplog
):
    caplog.set_level(logging.DEBUG)
    smtp_tokens = TokenIssuer(tmp_path / "smtp-tokens")
    controller, smtp = xoauth2_smtp(smtp_tokens.valid)
    oauth2_dovecot.reset_user(INTL_USER)
    monkeypatch.setenv("MAILFLOW_TEST_PASSWORD", PASSWORD)   # the german mailbox logs in with a password
    rules_path = write_rules(tmp_path, oauth2_dovecot, SimpleNamespace(host=controller.hostname, port=controller.port))
    data = yaml.safe_load(rules_path.read_text())
    box = data["mailboxes"]["international"]
    del box["imap"]["password_env"]
    box["imap"]["oauth2_token_command"] = fresh_tokens.command
    box["smtp"].update(username=INTL_USER, oauth2_token_command=smtp_tokens.command)
    box["sent_copy"] = "append"
    rules_path.write_text(yaml.safe_dump(data, allow_unicode=True))
    rules = load_rules(rules_path)

    for sender in ("first@x.ge", "second@x.ge"):
        oauth2_dovecot.append(INTL_USER, make_mail(sender=sender))
        report = runner.run_once(rules)
        assert (report.sent, report.errors) == (1, [])

    assert [recipients for _, recipients in smtp.received] == [["first@x.ge"], ["second@x.ge"]]
    # SMTP: one session a pass, in the courier process, which ran the command itself
    assert smtp.logins == [(INTL_USER, "tok-1", True), (INTL_USER, "tok-2", True)]
    # IMAP: the inbox and the Sent folder, in each pass, every login with the newest token
    assert introspection.checked == [(f"tok-{n}", True) for n in range(1, 5)]
    assert len(oauth2_dovecot.messages(INTL_USER, "Sent")) == 2
    assert "tok-" not in caplog.text
    with pytest.raises(ConnectionFailed, match="IMAP login refused"):   # an old token is refused now
        open_mailbox(oauth2_dovecot, "printf tok-1").open()


def test_idle_reconnects_with_a_fresh_token_after_the_server_drops_it(oauth2_dovecot, introspection, fresh_tokens):
    settings = ImapSettings(host=oauth2_dovecot.host, port=oauth2_dovecot.port, security="none",
                            username=INTL_USER, oauth2_token_command=fresh_tokens.command, timeout=10)
    states: list[str] = []
    watcher = IdleWatcher("international", settings, Credentials.of(settings, "mailbox international, IMAP"),
                          threading.Event(), lambda mailbox, state: states.append(state), max_delay=1)
    watcher.start()
    try:
        assert wait_until(lambda: states == [IDLE])
        oauth2_dovecot.kick(INTL_USER)   # as a provider does when the token expires
        assert wait_until(lambda: states.count(IDLE) == 2)
    finally:
        watcher.stop()
        watcher.join(5)
    assert states == [IDLE, RECONNECTING, IDLE]
    assert introspection.checked == [("tok-1", True), ("tok-2", True)]


def wait_until(condition, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False
