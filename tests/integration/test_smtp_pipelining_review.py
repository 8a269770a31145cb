"""Review of PIPELINING (eddb312): adversarial servers against SmtpSender and dispatch."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import pytest

from mailflow import dispatch, outbox
from mailflow.credentials import Credentials
from mailflow.database import open_database
from mailflow.delivery import RateLimitedSender, SmtpSender
from mailflow.errors import AnswerLost, ConnectionFailed, DeliveryError
from mailflow.rules import SmtpSettings
from tests.integration.test_smtp_pipelining import SENDER, envelope, mail, received, send_chain
from tests.support.servers import _RecordingHandler

ADDRESSES = {"international": SENDER, "german": "german@cc-events.example"}


def sender_for(server, name="international", **options) -> SmtpSender:
    settings = SmtpSettings(host=server.host, port=server.port, security=getattr(server, "security", "none"),
                            ca_file=getattr(server, "cafile", None), timeout=10, **options)
    return SmtpSender(settings, Credentials.of(settings, f"mailbox {name}, SMTP"), name)


# --- 1. the connection breaks after the text's dot, before the next mail's commands are all written ---

class CutAfterTheDot:
    """The socket as the kernel sees a blocked write: the text and its dot are taken, then whatever follows
    waits until the deadline shuts the connection down (a server that reads slowly, a big mail)."""

    def __init__(self, sock):
        self._sock = sock
        self.dot = False

    def __getattr__(self, name):
        return getattr(self._sock, name)

    def sendall(self, data):
        while data:
            data = data[self.send(data):]

    def send(self, data):
        if not self.dot and (end := bytes(data).find(b"\r\n.\r\n")) >= 0:
            self.dot = True
            return self._sock.send(data[:end + 5])   # the kernel takes the text up to its dot ...
        if self.dot:
            time.sleep(1.5)                       # ... the rest does not fit; the 1 s deadline cuts the connection
        return self._sock.send(data)


def test_a_deadline_after_the_dot_but_before_the_next_commands_is_answer_lost(smtp_server_factory):
    server = smtp_server_factory()
    sender = sender_for(server, deadline=1)
    sender.open()
    sender._smtp.ehlo_or_helo_if_needed()
    sender._smtp.sock = CutAfterTheDot(sender._smtp.sock)
    raw, recipient = mail(1)
    try:
        with pytest.raises(ConnectionFailed) as caught:
            sender.send(raw, SENDER, recipient, then=envelope(2))
    finally:
        sender.close()
    server.wait_for(1)
    assert received(server) == [recipient]       # the server took it ...
    assert isinstance(caught.value, AnswerLost), caught.value   # ... so dispatch must not queue it again


# --- 2. the server hangs up while the next mail's commands wait ahead (its timeout for the text, a restart) ---

def timing_out(server, seconds):
    """aiosmtpd closes a connection that says nothing for `seconds` (as Postfix's smtpd_timeout does,
    10 s under stress, though Postfix says 421 first)."""
    server._controller.SMTP_kwargs["timeout"] = seconds
    return server


@pytest.mark.parametrize("security", ["none", "starttls", "tls"])
def test_a_server_that_hung_up_while_commands_waited_ahead_never_makes_the_mail_answer_lost(smtp_server_factory,
                                                                                           security):
    server = timing_out(smtp_server_factory(security=security), 1)
    sender = sender_for(server)
    try:
        raw, recipient = mail(1)
        sender.send(raw, SENDER, recipient, then=envelope(2))
        time.sleep(2)                              # another mailbox's slow server has its turn meanwhile
        raw, recipient = mail(2)
        with pytest.raises(ConnectionFailed) as caught:
            sender.send(raw, SENDER, recipient)
    finally:
        sender.close()
    assert received(server) == [mail(1)[1]]
    assert not isinstance(caught.value, AnswerLost), caught.value   # nothing of mail 2 can have arrived


class SlowHandler(_RecordingHandler):
    async def handle_DATA(self, server, session, envelope):
        import asyncio
        await asyncio.sleep(1.5)
        return await super().handle_DATA(server, session, envelope)


def queue(db, mailbox, n):
    for i in range(n):
        raw, recipient = mail(i)
        outbox.enqueue(db, raw=raw, message_id=f"<{mailbox}{i}@x>", kind=f"test:{i}", mailbox=mailbox,
                       recipient=recipient, subject=str(i))


@pytest.mark.parametrize("pipelining", [True, False])
def test_two_mailboxes_one_slow_the_other_times_out_nothing_is_held_uncertain(smtp_server_factory, tmp_path,
                                                                              pipelining):
    """The mailboxes take turns; german's server takes 1.5 s a mail, international's closes a connection
    silent for 1 s. Before PIPELINING international's second mail found the connection closed at MAIL
    (deferred, sent next pass); now its text goes into the closed connection: AnswerLost, uncertain."""
    fast = timing_out(smtp_server_factory(pipelining=pipelining), 1)
    slow = smtp_server_factory()
    slow._controller.handler = SlowHandler(slow)
    db = open_database(tmp_path / "mailflow.db")
    queue(db, "international", 2)
    queue(db, "german", 1)
    senders = {"international": sender_for(fast), "german": sender_for(slow, "german")}
    dispatch.drain(db, senders, ADDRESSES)
    with dispatch.sending(db, senders, ADDRESSES) as again:   # the next session settles what was left
        again.finish()
    states = [r["state"] for r in db.query("select state from outbox where mailbox = 'international' order by id")]
    assert states == ["sent", "sent"], states
    assert received(fast) == [mail(0)[1], mail(1)[1]]


# --- checks expected to pass ---

@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_tls_servers_with_pipelining(smtp_server_factory, security):
    server = smtp_server_factory(security=security)
    sender = sender_for(server)
    server.fail_next(1, 550, stage="RCPT", to=mail(2)[1])
    try:
        outcomes = send_chain(sender, [1, 2, 3, 4])
    finally:
        sender.close()
    assert outcomes[1] is None and outcomes[3] is None and outcomes[4] is None
    assert isinstance(outcomes[2], DeliveryError) and outcomes[2].permanent
    assert received(server) == [mail(n)[1] for n in (1, 3, 4)]


class Lying(_RecordingHandler):
    """Refuses RCPT for one address and still answers 354 to DATA (the recipient is kept)."""
    victim = mail(2)[1]

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == self.victim:
            envelope.rcpt_tos.append(address)
            return "550 5.1.1 no such user"
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)


def test_354_after_a_refused_recipient_sends_no_text(smtp_server_factory):
    server = smtp_server_factory()
    server._controller.handler = Lying(server)
    sender = sender_for(server)
    try:
        outcomes = send_chain(sender, [1, 2, 3])
    finally:
        sender.close()
    assert outcomes[1] is None and outcomes[3] is None
    assert isinstance(outcomes[2], DeliveryError) and outcomes[2].permanent
    assert received(server) == [mail(n)[1] for n in (1, 3)]


class MultiLine(_RecordingHandler):
    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        reply = await super().handle_MAIL(server, session, envelope, address, mail_options)
        return reply.replace("250 ", "250-sender fine\r\n250-really\r\n250 ", 1)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = await super().handle_RCPT(server, session, envelope, address, rcpt_options)
        return reply.replace("250 ", "250-recipient fine\r\n250 ", 1)

    async def handle_DATA(self, server, session, envelope):
        reply = await super().handle_DATA(server, session, envelope)
        return reply.replace("250 ", "250-queued\r\n250-as\r\n250 ", 1).replace("451 ", "451-later\r\n451 ", 1)


class ByteByByte:
    """A proxy that hands the server's answers on a byte at a time, each its own segment, a little late."""

    def __init__(self, upstream):
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.host = "127.0.0.1"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self.listener.accept()
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                up = socket.create_connection(self.upstream)
                threading.Thread(target=self._pump, args=(conn, up, False), daemon=True).start()
                threading.Thread(target=self._pump, args=(up, conn, True), daemon=True).start()

    @staticmethod
    def _pump(src, dst, slow):
        with contextlib.suppress(OSError):
            while chunk := src.recv(65536):
                if slow:
                    for i in range(len(chunk)):
                        dst.sendall(chunk[i:i + 1])
                        time.sleep(0.0005)
                else:
                    dst.sendall(chunk)
            dst.shutdown(socket.SHUT_WR)


def test_multi_line_and_split_answers(smtp_server_factory):
    server = smtp_server_factory()
    server._controller.handler = MultiLine(server)
    proxy = ByteByByte((server.host, server.port))
    sender = sender_for(proxy)
    server.fail_next(1, 451, stage="DATA", to=mail(2)[1])
    try:
        outcomes = send_chain(sender, [1, 2, 3, 4])
    finally:
        sender.close()
    assert outcomes[1] is None and outcomes[3] is None and outcomes[4] is None, outcomes
    assert isinstance(outcomes[2], DeliveryError) and not outcomes[2].permanent
    assert received(server) == [mail(n)[1] for n in (1, 3, 4)]


@pytest.mark.parametrize("stage", ["MAIL", "RCPT", "DATA"])
def test_421_on_a_mail_whose_commands_went_ahead(smtp_server_factory, stage):
    """421 to mail 2's MAIL, RCPT or text (its commands came with mail 1's text): mail 1 sent, mail 2 not
    delivered and not AnswerLost (unless DATA), mails 2-3 go once on a later connection."""
    server = smtp_server_factory()
    sender = sender_for(server)

    def arm(message):
        if message.rcpt_tos == [mail(1)[1]]:
            server.fail_next(1, 421, stage=stage, **({} if stage == "MAIL" else {"to": mail(2)[1]}))

    server.on_accept = arm
    try:
        outcomes = send_chain(sender, [1, 2, 3])
        retried = send_chain(sender, [n for n, e in outcomes.items() if e is not None])
    finally:
        sender.close()
    got = received(server)
    assert outcomes[1] is None and outcomes[2] is not None, outcomes
    assert not isinstance(outcomes[2], AnswerLost)
    assert sorted(got) == sorted({mail(n)[1] for n in (1, 2, 3)}), (got, outcomes, retried)


def test_a_mail_over_the_size_limit_among_commands_ahead(smtp_server_factory):
    server = smtp_server_factory()
    server._controller.SMTP_kwargs["data_size_limit"] = 400
    sender = sender_for(server)
    big = b"x" * 500 + b"\r\n"
    try:
        outcomes = {}
        plain = b"We have registered you.\r\n"
        for n, body, then in ((1, plain, envelope(2, big)), (2, big, envelope(3)), (3, plain, None)):
            raw, recipient = mail(n, body)
            try:
                sender.send(raw, SENDER, recipient, then=then)
                outcomes[n] = None
            except DeliveryError as exc:
                outcomes[n] = exc
    finally:
        sender.close()
    assert outcomes[1] is None and outcomes[3] is None
    assert isinstance(outcomes[2], DeliveryError) and outcomes[2].permanent and "552" in str(outcomes[2])
    assert received(server) == [mail(n)[1] for n in (1, 3)]


def test_refusal_after_a_send_with_commands_ahead(smtp_server_factory):
    server = smtp_server_factory()
    sender = sender_for(server)
    try:
        raw, recipient = mail(1)
        sender.send(raw, SENDER, recipient, then=envelope(2))
        assert sender.refusal(SENDER, "someone@city.example") is None
        server.fail_next(1, 550, stage="RCPT")
        assert sender.refusal(SENDER, "nobody@city.example")[1] == 550
        outcomes = send_chain(sender, [2, 3])
    finally:
        sender.close()
    assert outcomes == {2: None, 3: None}
    assert received(server) == [mail(n)[1] for n in (1, 2, 3)]


def test_rate_limited_sender_sends_nothing_ahead(smtp_server_factory):
    server = smtp_server_factory()
    inner = sender_for(server)
    limited = RateLimitedSender(inner, per_minute=6000)
    try:
        raw, recipient = mail(1)
        limited.send(raw, SENDER, recipient, then=envelope(2))
        assert inner._ahead is None
        raw, recipient = mail(3)
        limited.send(raw, SENDER, recipient)
    finally:
        limited.close()
    assert received(server) == [mail(n)[1] for n in (1, 3)]


def test_a_stop_between_mails_in_dispatch_and_the_next_pass(smtp_server_factory, tmp_path):
    server = smtp_server_factory()
    german = smtp_server_factory()
    db = open_database(tmp_path / "mailflow.db")
    queue(db, "international", 3)
    queue(db, "german", 2)
    senders = {"international": sender_for(server), "german": sender_for(german, "german")}
    def stop():
        return len(server.messages) >= 2   # after international's second mail (its third is ahead)

    dispatch.drain(db, senders, ADDRESSES, should_stop=stop)
    assert len(server.messages) == 2
    dispatch.drain(db, senders, ADDRESSES)
    assert sorted(received(server)) == sorted(mail(n)[1] for n in range(3))
    assert sorted(received(german)) == sorted(mail(n)[1] for n in range(2))
    assert {r["state"] for r in db.query("select state from outbox")} == {"sent"}


def test_commands_ahead_do_not_outlive_their_window(smtp_server_factory, tmp_path):
    """A window cut short (settle(), before the releases) with mail 2's commands ahead; the next window
    begins with a new answer to a person. Its connection must be made before its "begin" (dispatch._ready):
    a kill while connecting must not leave it `sending` with a "begin", held uncertain."""
    server = smtp_server_factory()
    db = open_database(tmp_path / "mailflow.db")
    for i in range(1, 4):
        raw, recipient = mail(i)
        outbox.enqueue(db, raw=raw, message_id=f"<r{i}@x>", kind=f"release:{i}", mailbox="international",
                       recipient=recipient, subject=str(i))
    sender = sender_for(server)
    begun_but_not_taken = []
    connect = sender._connect

    def watching():
        begun, _sent = dispatch.journal_records(tmp_path / "mailflow.db-sent")
        begun_but_not_taken.append(len(begun) - len(server.messages))
        return connect()

    sender._connect = watching
    with dispatch.sending(db, {"international": sender}, ADDRESSES) as d:
        def cut(message):
            d._until = 0.0   # settle()'s bound passes as mail 1 is taken: mail 2's commands are ahead
        server.on_accept = cut
        d.pump()
        d._land()
        server.on_accept = None
        d._until = None
        raw, recipient = mail(9)
        outbox.enqueue(db, raw=raw, message_id="<a9@x>", kind="answer:9", mailbox="international",
                       recipient=recipient, subject="9")
        d.finish()
    assert received(server) == [mail(n)[1] for n in (1, 9, 2, 3)]
    assert begun_but_not_taken == [0, 0], begun_but_not_taken


def test_commands_that_waited_too_long_are_not_trusted(smtp_server_factory):
    """A connection whose server has waited AHEAD_SECONDS for a text may be gone without a word (a NAT that
    forgot it): open(), which dispatch calls before the "begin", replaces it."""
    from mailflow import delivery
    server = smtp_server_factory()
    sender = sender_for(server)
    try:
        raw, recipient = mail(1)
        sender.send(raw, SENDER, recipient, then=envelope(2))
        first = sender._smtp
        sender.open()
        assert sender._smtp is first                      # fresh commands are kept
        sender._ahead_since -= delivery.AHEAD_SECONDS + 1
        sender.open()
        assert sender._smtp is not first and sender._ahead is None
        raw, recipient = mail(2)
        sender.send(raw, SENDER, recipient)
    finally:
        sender.close()
    assert received(server) == [mail(n)[1] for n in (1, 2)]
