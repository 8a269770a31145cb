"""SMTP certificates are verified: a self-signed server is refused until its CA is trusted.

The IMAP side is tests/integration/test_pipeline_servers.py::test_tls_certificate_is_verified.
"""

from __future__ import annotations

import smtplib
import ssl
import time

import pytest
import yaml

from mailflow import runner
from mailflow.credentials import Credentials
from mailflow.database import open_database
from mailflow.delivery import SmtpSender
from mailflow.errors import ConnectionFailed, DeliveryError
from mailflow.rules import SmtpSettings, load_rules
from tests.support.mail import make_mail
from tests.support.rules import write_rules
from tests.support.servers import INTL_USER, make_self_signed_cert

RAW = (
    b"From: international@cc-events.example\r\n"
    b"To: anna@example.net\r\n"
    b"Subject: Your registration\r\n"
    b"Message-ID: <tls-1@cc-events.example>\r\n"
    b"\r\n"
    b"We have registered you.\r\n"
)
SENDER, RECIPIENT = "international@cc-events.example", "anna@example.net"


def settings(server, host: str = "127.0.0.1", **extra) -> SmtpSettings:
    return SmtpSettings(host=host, port=server.port, security=server.security, timeout=10, **extra)


def send(smtp_settings: SmtpSettings) -> None:
    sender = SmtpSender(smtp_settings, Credentials.of(smtp_settings, "mailbox international, SMTP"), "international")
    try:
        sender.send(RAW, SENDER, RECIPIENT)
    finally:
        sender.close()


# -- the test server itself ------------------------------------------------------


def test_starttls_server_refuses_mail_before_starttls(smtp_server_factory):
    server = smtp_server_factory(security="starttls")
    with smtplib.SMTP(server.host, server.port, timeout=5) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("starttls")
        with pytest.raises(smtplib.SMTPSenderRefused) as info:
            smtp.sendmail(SENDER, [RECIPIENT], RAW)
        assert info.value.smtp_code == 530
    assert server.messages == []


def test_implicit_tls_server_speaks_tls_first(smtp_server_factory):
    server = smtp_server_factory(security="tls")
    with (pytest.raises((smtplib.SMTPServerDisconnected, OSError)),
          smtplib.SMTP(server.host, server.port, timeout=2) as smtp):
        smtp.sendmail(SENDER, [RECIPIENT], RAW)
    context = ssl.create_default_context(cafile=str(server.cafile))
    with smtplib.SMTP_SSL(server.host, server.port, timeout=5, context=context) as smtp:
        assert smtp.sock.version() in ("TLSv1.2", "TLSv1.3")
        smtp.sendmail(SENDER, [RECIPIENT], RAW)
    assert server.wait_for(1)[0].data == RAW


def test_tls_server_keeps_its_port_and_certificate_across_restarts(smtp_server_factory):
    server = smtp_server_factory(security="tls")
    port, cafile = server.port, server.cafile
    with server.down(), pytest.raises(ConnectionFailed, match="cannot reach"):
        send(settings(server, ca_file=cafile))
    assert (server.port, server.cafile) == (port, cafile)
    send(settings(server, ca_file=cafile))
    assert len(server.wait_for(1)) == 1


def test_security_none_is_still_plain_smtp(smtp_server):
    assert (smtp_server.security, smtp_server.cafile) == ("none", None)
    send(settings(smtp_server))
    assert len(smtp_server.wait_for(1)) == 1


# -- SmtpSender ------------------------------------------------------------------


@pytest.mark.parametrize("security", ["starttls", "tls"])
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_self_signed_certificate_needs_the_ca(smtp_server_factory, security, host):
    server = smtp_server_factory(security=security)
    with pytest.raises(ConnectionFailed) as info:
        send(settings(server, host))
    assert "certificate verify failed" in str(info.value).lower()
    # for status
    assert f"mailbox international: SMTP TLS verification failed for {host}:{server.port}" in str(info.value)
    assert "self-signed" in str(info.value).lower() or "self signed" in str(info.value).lower()
    time.sleep(0.1)
    assert server.messages == []

    send(settings(server, host, ca_file=server.cafile))
    (received,) = server.wait_for(1)
    assert (received.mail_from, received.rcpt_tos, received.data) == (SENDER, [RECIPIENT], RAW)


def test_a_certificate_for_another_server_is_refused(smtp_server_factory, tmp_path):
    """The CA of one self-signed server does not make a different self-signed server trusted."""
    first = smtp_server_factory(security="starttls")
    other = smtp_server_factory(security="starttls", cert=make_self_signed_cert(tmp_path / "other"))
    with pytest.raises(ConnectionFailed, match="(?i)certificate verify failed"):
        send(settings(other, ca_file=first.cafile))
    assert other.messages == []


def test_login_happens_inside_starttls(smtp_server_factory, monkeypatch):
    server = smtp_server_factory(auth=("mailer", "s3cret"), security="starttls")
    monkeypatch.setenv("MF_SMTP_TLS_PW", "s3cret")
    send(settings(server, username="mailer", password_env="MF_SMTP_TLS_PW", ca_file=server.cafile))
    (received,) = server.wait_for(1)
    assert received.login == "mailer"


def test_plain_smtp_to_a_starttls_only_server_is_refused(smtp_server_factory):
    server = smtp_server_factory(security="starttls")
    plain = SmtpSettings(host="127.0.0.1", port=server.port, security="none", timeout=10)
    with pytest.raises(DeliveryError, match="530"):
        send(plain)
    assert server.messages == []


# -- through the worker ------------------------------------------------------------


def test_worker_keeps_the_reply_queued_until_the_smtp_ca_is_trusted(servers, smtp_server_factory, tmp_path):
    dovecot, _plain = servers
    smtp = smtp_server_factory(security="starttls")
    rules_path = write_rules(tmp_path, dovecot, smtp)
    data = yaml.safe_load(rules_path.read_text())
    for box in data["mailboxes"].values():
        box["smtp"]["security"] = "starttls"
    rules_path.write_text(yaml.safe_dump(data, allow_unicode=True))
    dovecot.append(INTL_USER, make_mail())

    report = runner.run_once(load_rules(rules_path))
    assert (report.recorded, report.processed, report.sent, report.failed) == (1, 1, 0, 0)
    db = open_database(rules_path.parent / "mailflow.db")
    (row,) = db["outbox"].rows
    assert row["state"] == "queued", row
    assert "certificate verify failed" in row["error"].lower(), row["error"]
    time.sleep(0.1)
    assert smtp.messages == []

    for box in data["mailboxes"].values():
        box["smtp"]["ca_file"] = str(smtp.cafile)
    rules_path.write_text(yaml.safe_dump(data, allow_unicode=True))
    report = runner.run_once(load_rules(rules_path))
    assert (report.sent, report.failed) == (1, 0), report
    (received,) = smtp.wait_for(1)
    assert received.rcpt_tos == ["nino@tbilisi.gov.ge"]
    assert received.message["Subject"].startswith("Your registration:")
    (row,) = db["outbox"].rows
    assert (row["state"], row["error"]) == ("sent", None)
