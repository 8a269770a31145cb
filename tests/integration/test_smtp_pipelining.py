"""SmtpSender with PIPELINING (RFC 2920) against a real aiosmtpd: the next mail's MAIL, RCPT and DATA go
out behind this mail's final dot. Every refusal, hang-up and stop between them must still send each mail
once and lose none."""

from __future__ import annotations

import pytest

from mailflow.credentials import Credentials
from mailflow.delivery import SmtpSender
from mailflow.errors import AnswerLost, DeliveryError
from mailflow.rules import SmtpSettings
from tests.support.servers import _RecordingHandler

SENDER = "international@cc-events.example"


def mail(n: int, body: bytes = b"We have registered you.\r\n") -> tuple[bytes, str]:
    recipient = f"expert{n}@city.example"
    raw = (f"From: {SENDER}\r\nTo: {recipient}\r\nSubject: Your registration {n}\r\n"
           f"Message-ID: <r{n}@cc-events.example>\r\n\r\n").encode() + body
    return raw, recipient


def sender_for(server) -> SmtpSender:
    settings = SmtpSettings(host=server.host, port=server.port, security="none", timeout=10)
    return SmtpSender(settings, Credentials.of(settings, "mailbox international, SMTP"), "international")


def envelope(n: int, body: bytes = b"We have registered you.\r\n") -> tuple[str, str, int]:
    raw, recipient = mail(n, body)
    return SENDER, recipient, len(raw)


def send_chain(sender: SmtpSender, numbers: list[int]) -> dict[int, Exception | None]:
    """Send mails `numbers` in turn, each naming the next as `then`, as dispatch does; the outcome of each."""
    outcomes: dict[int, Exception | None] = {}
    for i, n in enumerate(numbers):
        raw, recipient = mail(n)
        then = envelope(numbers[i + 1]) if i + 1 < len(numbers) else None
        try:
            sender.send(raw, SENDER, recipient, then=then)
            outcomes[n] = None
        except (DeliveryError, AnswerLost) as exc:
            outcomes[n] = exc
    return outcomes


def received(server) -> list[str]:
    return [m.rcpt_tos[0] for m in server.messages]


class CountingWrites:
    """Counts the client's writes to the server's socket, to see the commands go together."""

    def __init__(self, sender: SmtpSender):
        sender.open()
        smtp = sender._smtp
        smtp.ehlo_or_helo_if_needed()
        self.count = 0
        self._sock = smtp.sock
        smtp.sock = self

    def __getattr__(self, name):
        return getattr(self._sock, name)

    def send(self, data):
        self.count += 1
        return self._sock.send(data)

    def sendall(self, data):
        self.count += 1
        return self._sock.sendall(data)


@pytest.mark.parametrize("pipelining", [True, False])
def test_every_mail_arrives_once_and_whole_with_or_without_pipelining(smtp_server_factory, pipelining):
    server = smtp_server_factory(pipelining=pipelining)
    sender = sender_for(server)
    writes = CountingWrites(sender)
    bodies = {1: b"Line one\r\n.starts with a dot\r\n.\r\nlast line without its end",
              2: b"..two dots\r\n", 3: b"plain\r\n"}
    try:
        for n, body in bodies.items():
            raw, recipient = mail(n, body)
            sender.send(raw, SENDER, recipient, then=envelope(n + 1, bodies[n + 1]) if n + 1 in bodies else None)
        written = writes.count
    finally:
        sender.close()
    assert received(server) == [mail(n)[1] for n in bodies]
    for message, (n, body) in zip(server.messages, bodies.items(), strict=True):
        raw = mail(n, body)[0]
        assert message.data == (raw if raw.endswith(b"\r\n") else raw + b"\r\n")   # the server took the dots off
    # pipelined: the first mail's commands, then one write a mail (its text with the next one's commands);
    # without: MAIL, RCPT, DATA and the text, each waiting for its answer
    assert written == (1 + len(bodies) if pipelining else 4 * len(bodies))


def test_a_recipient_refused_among_commands_sent_ahead_fails_that_mail_only(smtp_server_factory):
    server = smtp_server_factory()
    sender = sender_for(server)
    server.fail_next(1, 550, "5.1.1 No such user", stage="RCPT", to=mail(2)[1])   # sent with mail 1's text
    try:
        outcomes = send_chain(sender, [1, 2, 3])
    finally:
        sender.close()
    assert isinstance(outcomes[2], DeliveryError) and outcomes[2].permanent
    assert "550" in str(outcomes[2])
    assert outcomes[1] is None and outcomes[3] is None
    assert received(server) == [mail(n)[1] for n in (1, 3)]


def test_a_refused_text_keeps_the_next_mails_commands_good(smtp_server_factory):
    server = smtp_server_factory()
    sender = sender_for(server)
    server.fail_next(1, 451, stage="DATA")   # mail 1's text; mail 2's commands came with it
    try:
        outcomes = send_chain(sender, [1, 2, 3])
    finally:
        sender.close()
    assert isinstance(outcomes[1], DeliveryError) and not outcomes[1].permanent
    assert outcomes[2] is None and outcomes[3] is None
    assert received(server) == [mail(n)[1] for n in (2, 3)]


def test_a_refused_sender_fails_that_mail_only_and_the_next_sends_its_own_commands(smtp_server_factory):
    server = smtp_server_factory()
    sender = sender_for(server)
    try:
        raw, recipient = mail(1)
        server.fail_next(1, 451, "4.3.0 Try again later", stage="MAIL")
        with pytest.raises(DeliveryError, match="451"):
            sender.send(raw, SENDER, recipient, then=envelope(2))
        outcomes = send_chain(sender, [2, 3])
    finally:
        sender.close()
    assert outcomes == {2: None, 3: None}
    assert received(server) == [mail(n)[1] for n in (2, 3)]


def test_a_hang_up_after_the_text_is_answer_lost_and_the_mail_ahead_goes_once_on_a_new_connection(
        smtp_server_factory):
    server = smtp_server_factory()
    sender = sender_for(server)
    server.drop_after_data(1)   # takes mail 1, then hangs up before its 250 (mail 2's commands were sent)
    try:
        outcomes = send_chain(sender, [1, 2, 3])
    finally:
        sender.close()
    assert isinstance(outcomes[1], AnswerLost)
    assert outcomes[2] is None and outcomes[3] is None
    assert received(server) == [mail(n)[1] for n in (1, 2, 3)]   # each once: mail 1 was taken before the cut


def test_closing_with_commands_ahead_sends_nothing_and_hangs_up_without_quit(smtp_server_factory):
    """A stop after a mail whose `then` never comes: the server waits for a text; QUIT would be that text."""
    server = smtp_server_factory()
    sender = sender_for(server)
    raw, recipient = mail(1)
    sender.send(raw, SENDER, recipient, then=envelope(2))
    smtp = sender._smtp
    quits: list[str] = []
    smtp.quit = lambda: quits.append("QUIT")
    sender.close()
    assert quits == [] and sender._smtp is None
    later = sender_for(server)   # the next pass sends mail 2, once
    try:
        raw, recipient = mail(2)
        later.send(raw, SENDER, recipient)
    finally:
        later.close()
    assert received(server) == [mail(n)[1] for n in (1, 2)]


def test_a_mail_other_than_the_one_announced_goes_on_a_new_connection(smtp_server_factory):
    server = smtp_server_factory()
    sender = sender_for(server)
    try:
        raw, recipient = mail(1)
        sender.send(raw, SENDER, recipient, then=envelope(2))
        first = sender._smtp
        raw3, recipient3 = mail(3)
        sender.send(raw3, SENDER, recipient3)   # not mail 2: its commands are dropped with the connection
        assert sender._smtp is not first
    finally:
        sender.close()
    assert received(server) == [mail(n)[1] for n in (1, 3)]


class LongAnswer(_RecordingHandler):
    """Takes the mail, then answers its text with a line longer than smtplib reads (8 KB)."""

    async def handle_DATA(self, server, session, envelope):
        await super().handle_DATA(server, session, envelope)
        return "250 " + "x" * 9000


@pytest.mark.parametrize("pipelining", [True, False])
def test_an_answer_to_the_text_that_cannot_be_read_is_answer_lost_not_failed_for_good(smtp_server_factory,
                                                                                     pipelining):
    """smtplib hangs up on an answer line over 8 KB and calls it "500 Line too long.": the mail, which the
    server had taken, was marked failed for good."""
    server = smtp_server_factory(pipelining=pipelining)
    server._controller.handler = LongAnswer(server)
    sender = sender_for(server)
    raw, recipient = mail(1)
    try:
        with pytest.raises(AnswerLost, match="could not be read"):
            sender.send(raw, SENDER, recipient, then=envelope(2))
    finally:
        sender.close()
    assert received(server) == [recipient]
