"""The mail-server fixtures themselves work (no mailflow import here)."""

from __future__ import annotations

import smtplib
import socket
import ssl
import time

import imapclient
import pytest
from imapclient.exceptions import LoginError

from tests.support.servers import GERMAN_USER, INTL_USER, PASSWORD, SmtpServer

RAW = (
    b"From: Anna <anna@example.net>\r\n"
    b"To: intl@example.org\r\n"
    b"Subject: Registration question\r\n"
    b"Message-ID: <q1@example.net>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b"Gr\xc3\xbc\xc3\x9fe, is there still room?\r\n"
)


def make_raw(n: int) -> bytes:
    return RAW.replace(b"<q1@", b"<q%d@" % n)


# -- Dovecot -------------------------------------------------------------------


def test_append_then_fetch_body_peek(clean_dovecot):
    uid = clean_dovecot.append(INTL_USER, RAW, flags=[b"\\Flagged"])
    with clean_dovecot.session(INTL_USER) as client:
        info = client.select_folder("INBOX")
        assert info[b"EXISTS"] == 1
        assert client.search("ALL") == [uid]
        data = client.fetch([uid], ["BODY.PEEK[]", "FLAGS"])[uid]
    assert data[b"BODY[]"] == RAW
    assert b"\\Flagged" in data[b"FLAGS"]
    assert b"\\Seen" not in data[b"FLAGS"]  # PEEK did not mark it read
    assert clean_dovecot.messages(INTL_USER) == [RAW]
    assert clean_dovecot.messages(GERMAN_USER) == []


def test_append_to_other_folder_and_special_use_folders(clean_dovecot):
    clean_dovecot.append(GERMAN_USER, make_raw(2), folder="Sent", flags=["\\Seen"])
    clean_dovecot.append(GERMAN_USER, make_raw(3), folder="Archive/2025")
    clean_dovecot.append(GERMAN_USER, make_raw(4), folder="Veranstaltung 12.10.")
    with clean_dovecot.session(GERMAN_USER) as client:
        folders = {name: flags for flags, _sep, name in client.list_folders()}
        assert client.find_special_folder(b"\\Sent") == "Sent"
    assert {"INBOX", "Sent", "Drafts", "Trash", "Archive/2025", "Veranstaltung 12.10."} <= set(folders)
    assert b"\\Sent" in folders["Sent"]
    assert clean_dovecot.messages(GERMAN_USER, "Sent") == [make_raw(2)]
    assert clean_dovecot.messages(GERMAN_USER, "Archive/2025") == [make_raw(3)]
    assert clean_dovecot.messages(GERMAN_USER, "Veranstaltung 12.10.") == [make_raw(4)]
    assert list(clean_dovecot.flags(GERMAN_USER, "Sent").values()) == [(b"\\Seen",)]


def test_tls_port_needs_the_test_ca(clean_dovecot):
    with pytest.raises(ssl.SSLCertVerificationError):
        imapclient.IMAPClient(
            clean_dovecot.host, port=clean_dovecot.ssl_port, ssl=True,
            ssl_context=ssl.create_default_context(), timeout=5,
        )
    ctx = ssl.create_default_context(cafile=str(clean_dovecot.cafile))
    client = imapclient.IMAPClient(
        clean_dovecot.host, port=clean_dovecot.ssl_port, ssl=True, ssl_context=ctx, timeout=5
    )
    try:
        client.login(INTL_USER, PASSWORD)
        assert client.folder_exists("INBOX")
        assert client._imap.sock.version() in ("TLSv1.2", "TLSv1.3")
    finally:
        client.logout()


def test_plain_port_wrong_password_is_refused(clean_dovecot):
    client = imapclient.IMAPClient(clean_dovecot.host, port=clean_dovecot.port, ssl=False, timeout=5)
    try:
        with pytest.raises(LoginError):
            client.login(INTL_USER, "wrong")
    finally:
        client.shutdown()


@pytest.mark.parametrize("folder", ["INBOX", "Sent", "Custom"])
def test_recreate_folder_gives_new_uidvalidity(clean_dovecot, folder):
    assert clean_dovecot.append_many(INTL_USER, [make_raw(n) for n in range(3)], folder) == [1, 2, 3]
    before = clean_dovecot.status(INTL_USER, folder)
    assert before["MESSAGES"] == 3 and before["UIDNEXT"] == 4

    clean_dovecot.recreate_folder(INTL_USER, folder)

    after = clean_dovecot.status(INTL_USER, folder)
    assert after["UIDVALIDITY"] != before["UIDVALIDITY"]
    assert after["MESSAGES"] == 0
    # UIDs are reused under the new UIDVALIDITY, like a real re-created folder.
    assert clean_dovecot.append(INTL_USER, make_raw(9), folder=folder) == 1
    assert clean_dovecot.messages(INTL_USER, folder) == [make_raw(9)]
    assert "Sent" in clean_dovecot.folders(INTL_USER)


def test_recreate_inbox_twice_and_keeps_other_folders(clean_dovecot):
    clean_dovecot.append(INTL_USER, make_raw(1), folder="Sent")
    seen = {clean_dovecot.uidvalidity(INTL_USER)}
    for _ in range(2):
        clean_dovecot.append(INTL_USER, make_raw(2))
        clean_dovecot.recreate_folder(INTL_USER, "INBOX")
        seen.add(clean_dovecot.uidvalidity(INTL_USER))
    assert len(seen) == 3
    assert clean_dovecot.messages(INTL_USER, "Sent") == [make_raw(1)]


def test_recreate_inbox_disconnects_open_sessions(clean_dovecot):
    clean_dovecot.append(INTL_USER, make_raw(1))
    client = clean_dovecot.client(INTL_USER)
    client.select_folder("INBOX")
    clean_dovecot.recreate_folder(INTL_USER, "INBOX")
    with pytest.raises((imapclient.exceptions.IMAPClientAbortError, OSError)):
        client.noop()
    assert clean_dovecot.messages(INTL_USER) == []


def test_reset_user_empties_only_that_user(clean_dovecot):
    clean_dovecot.append(INTL_USER, make_raw(1))
    clean_dovecot.append(INTL_USER, make_raw(2), folder="Projects")
    clean_dovecot.append(GERMAN_USER, make_raw(3))
    old_validity = clean_dovecot.uidvalidity(INTL_USER)
    still_open = clean_dovecot.client(INTL_USER)  # a leaked session is kicked

    clean_dovecot.reset_user(INTL_USER)

    assert clean_dovecot.messages(INTL_USER) == []
    assert sorted(clean_dovecot.folders(INTL_USER)) == ["Drafts", "INBOX", "Sent", "Trash"]
    assert clean_dovecot.uidvalidity(INTL_USER) > old_validity
    assert clean_dovecot.messages(GERMAN_USER) == [make_raw(3)]
    with pytest.raises((imapclient.exceptions.IMAPClientAbortError, OSError)):
        still_open.noop()


def test_add_user_and_reset_restores_users(clean_dovecot):
    clean_dovecot.add_user("extra@example.org", "pw1")
    clean_dovecot.append("extra@example.org", make_raw(1))
    clean_dovecot.add_user(INTL_USER, "changed")  # same size, maybe same second
    with clean_dovecot.session(INTL_USER) as client:  # logs in with "changed"
        assert client.folder_exists("INBOX")

    clean_dovecot.reset()

    assert clean_dovecot.users == {INTL_USER: PASSWORD, GERMAN_USER: PASSWORD}
    leftovers = [p.name for p in clean_dovecot.home("extra@example.org").rglob("*")]
    assert all(name.startswith(("Maildir", "dovecot-uidvalidity")) for name in leftovers)
    with imapclient.IMAPClient(clean_dovecot.host, port=clean_dovecot.port, ssl=False) as c:
        c.login(INTL_USER, PASSWORD)
        client = imapclient.IMAPClient(clean_dovecot.host, port=clean_dovecot.port, ssl=False)
        try:
            with pytest.raises(LoginError):
                client.login("extra@example.org", "pw1")
        finally:
            client.shutdown()


def test_down_refuses_connections_and_restart_keeps_mail(clean_dovecot):
    clean_dovecot.append(INTL_USER, make_raw(1))
    started = time.monotonic()
    with clean_dovecot.down():
        assert not clean_dovecot.running
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((clean_dovecot.host, clean_dovecot.port), timeout=2)
    assert clean_dovecot.running
    clean_dovecot.restart()
    assert time.monotonic() - started < 3
    assert clean_dovecot.messages(INTL_USER) == [make_raw(1)]


def test_clean_dovecot_restarts_a_stopped_server(dovecot, clean_dovecot):
    dovecot.stop()
    dovecot.reset()
    assert dovecot.running
    assert dovecot.messages(INTL_USER) == []


# -- SMTP ----------------------------------------------------------------------


def test_smtp_receives_message(smtp_server):
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=5) as smtp:
        refused = smtp.sendmail("intl@example.org", ["anna@example.net", "cc@example.net"], RAW)
    assert refused == {}
    (msg,) = smtp_server.wait_for(1)
    assert msg.mail_from == "intl@example.org"
    assert msg.rcpt_tos == ["anna@example.net", "cc@example.net"]
    assert msg.data == RAW
    assert msg.message["Subject"] == "Registration question"
    assert "Grüße" in msg.message.get_content()
    assert msg.login is None
    smtp_server.clear()
    assert smtp_server.messages == []


def test_smtp_wait_for_times_out(smtp_server):
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        smtp_server.wait_for(1, timeout=0.2)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("code", [451, 550])
def test_smtp_fail_next_at_data(smtp_server, code):
    smtp_server.fail_next(2, code)
    for _ in range(2):
        with (smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=5) as smtp,
              pytest.raises(smtplib.SMTPDataError) as info):
            smtp.sendmail("intl@example.org", ["a@example.net"], RAW)
        assert info.value.smtp_code == code
    assert smtp_server.messages == []
    assert [r.reply[:3] for r in smtp_server.rejections] == [str(code)] * 2
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=5) as smtp:
        smtp.sendmail("intl@example.org", ["a@example.net"], RAW)
    assert len(smtp_server.wait_for(1)) == 1


def test_smtp_fail_next_at_rcpt_and_mail(smtp_server):
    smtp_server.fail_next(1, 550, "5.1.1 No such user", stage="RCPT")
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=5) as smtp:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as info:
            smtp.sendmail("intl@example.org", ["gone@example.net"], RAW)
        assert info.value.recipients["gone@example.net"][0] == 550
        smtp_server.fail_next(1, 451, stage="MAIL")
        with pytest.raises(smtplib.SMTPSenderRefused) as info2:
            smtp.sendmail("intl@example.org", ["a@example.net"], RAW)
        assert info2.value.smtp_code == 451
        smtp.sendmail("intl@example.org", ["a@example.net"], RAW)
    assert [m.rcpt_tos for m in smtp_server.wait_for(1)] == [["a@example.net"]]


def test_smtp_auth_required(smtp_server_factory):
    server = smtp_server_factory(auth=("mailer", "s3cret"))
    with smtplib.SMTP(server.host, server.port, timeout=5) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("auth")
        with pytest.raises(smtplib.SMTPSenderRefused) as info:
            smtp.sendmail("intl@example.org", ["a@example.net"], RAW)
        assert info.value.smtp_code == 530
        with pytest.raises(smtplib.SMTPAuthenticationError) as bad:
            smtp.login("mailer", "wrong")
        assert bad.value.smtp_code == 535
    with smtplib.SMTP(server.host, server.port, timeout=5) as smtp:
        smtp.login("mailer", "s3cret")
        smtp.sendmail("intl@example.org", ["a@example.net"], RAW)
    (msg,) = server.wait_for(1)
    assert msg.login == "mailer"
    assert msg.data == RAW


def test_smtp_down_and_back_on_same_port(smtp_server):
    port = smtp_server.port
    with smtp_server.down(), pytest.raises(ConnectionRefusedError):
        smtplib.SMTP(smtp_server.host, port, timeout=2)
    assert smtp_server.port == port
    with smtplib.SMTP(smtp_server.host, port, timeout=5) as smtp:
        smtp.sendmail("intl@example.org", ["a@example.net"], RAW)
    assert len(smtp_server.wait_for(1)) == 1


def test_smtp_server_context_manager():
    with SmtpServer() as server:
        with smtplib.SMTP(server.host, server.port, timeout=5) as smtp:
            smtp.sendmail("x@example.org", ["y@example.org"], b"Subject: t\r\n\r\nhi\r\n")
        assert server.wait_for(1)[0].data == b"Subject: t\r\n\r\nhi\r\n"
    assert not server.running
