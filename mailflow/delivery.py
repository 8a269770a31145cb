"""Senders at the edge: SMTP for real mailboxes, a folder of .eml files for the demo."""

from __future__ import annotations

import contextlib
import re
import select
import smtplib
import socket
import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .credentials import Credentials, xoauth2
from .deadline import Deadline
from .errors import ANSWER_LOST, AnswerLost, ConnectionFailed, DeliveryError, connection_failed, login_refused

if TYPE_CHECKING:
    from typing_extensions import Buffer

    from .outbox import Envelope, Sender
    from .rules import ServerSettings


def tls_context(settings: ServerSettings) -> ssl.SSLContext:
    """Certificates are always verified; ca_file adds a trusted CA (a self-signed server)."""
    return ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)


class _SMTP(smtplib.SMTP):
    """smtplib with its socket handed to the Deadline as soon as it exists (the greeting is read in
    the constructor), and `handed_over` set once the whole mail, with its final dot, is written:
    a connection lost after that may have delivered it."""

    def __init__(self, deadline: Deadline, host: str, port: int, **options: Any) -> None:
        self._watch(deadline)
        super().__init__(host, port, **options)

    def _watch(self, deadline: Deadline) -> None:
        self.deadline = deadline
        self.handed_over = False
        deadline.current = lambda: self.sock

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        sock = super()._get_socket(host, port, timeout)  # type: ignore[misc]  # smtplib's own, untyped in typeshed
        self.deadline.attach(sock)
        return sock

    def send(self, s: Buffer | str) -> None:
        super().send(s)
        if isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):   # only DATA's payload ends so
            self.handed_over = True


class _SMTP_SSL(smtplib.SMTP_SSL, _SMTP):
    """Implicit TLS: SMTP_SSL wraps the socket _SMTP attached (the handshake is bounded too)."""

    def __init__(self, deadline: Deadline, host: str, port: int, **options: Any) -> None:
        self._watch(deadline)
        smtplib.SMTP_SSL.__init__(self, host, port, **options)


class SmtpSender:
    """One SMTP connection per batch, opened on the first mail and reused; the secret is asked
    for at each connect. Every operation is bounded by the server's deadline."""

    def __init__(self, settings: ServerSettings, credentials: Credentials, name: str = ""):
        self.settings = settings
        self.credentials = credentials
        self.name = name
        self._smtp: _SMTP | None = None
        self._ahead: Envelope | None = None   # MAIL, RCPT and DATA already sent for this mail (PIPELINING)
        self._ahead_since = 0.0                # ... when (time.monotonic())

    def _connect(self) -> _SMTP:
        s = self.settings
        secret = self.credentials.secret() if s.username else None
        deadline = Deadline(s.deadline, f"mailbox {self.name}: SMTP {s.host}:{s.port}")
        try:
            with deadline.running():
                if s.security == "tls":
                    smtp: _SMTP = _SMTP_SSL(deadline, s.host, s.port, timeout=s.timeout, context=tls_context(s))
                else:
                    smtp = _SMTP(deadline, s.host, s.port, timeout=s.timeout)
                    if s.security == "starttls":
                        smtp.starttls(context=tls_context(s))
                if s.username and self.credentials.oauth2:
                    smtp.ehlo_or_helo_if_needed()
                    token = xoauth2(s.username, secret or "")
                    smtp.auth("XOAUTH2", lambda challenge=None: token if challenge is None else "")
                elif s.username:
                    smtp.login(s.username, secret or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise login_refused(f"mailbox {self.name}: SMTP", s.host, s.username,
                                f"{exc.smtp_code} {_text(exc.smtp_error)}") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise connection_failed(f"mailbox {self.name}: SMTP", s.host, s.port, exc) from None
        return smtp

    def open(self) -> None:
        """Connect (and log in) now, if not connected yet: dispatch does it before it says "begin". A connection
        whose server has waited for a text AHEAD_SECONDS or more is replaced (before the "begin" too): it may
        have given up on it, even without a word (a NAT that forgot the connection)."""
        if self._ahead is not None and time.monotonic() - self._ahead_since > AHEAD_SECONDS:
            self._drop()
        if self._smtp is None:
            self._smtp = self._connect()

    def send(self, raw: bytes, sender: str, recipient: str, then: Envelope | None = None) -> None:
        """AnswerLost when the connection broke (or the deadline cut it) after the whole mail was
        handed over: the server may have accepted it. `then`: the next mail on this connection (its
        MAIL FROM, RCPT TO and size)."""
        if self._ahead is not None and self._ahead != (sender, recipient, len(raw)):
            self._drop()   # the server waits for another mail's text: none of it was handed over
        self.open()
        smtp = self._smtp
        assert smtp is not None
        smtp.handed_over = False
        try:
            with smtp.deadline.running(size=len(raw)):
                smtp.ehlo_or_helo_if_needed()
                if smtp.has_extn("pipelining"):
                    self._pipelined(smtp, raw, sender, recipient, then)
                    refused = {}
                else:
                    refused = smtp.sendmail(sender, [recipient], raw)
        except ConnectionFailed as exc:
            self._drop()
            if smtp.handed_over:
                raise AnswerLost(f"{exc}; {ANSWER_LOST}") from None
            raise
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            raise DeliveryError(f"recipient refused: {code} {_text(text)}", permanent=code >= 500) from None
        except smtplib.SMTPResponseException as exc:
            if smtp.handed_over and smtp.sock is None and exc.smtp_code == 500:
                # smtplib's own "500 Line too long." for an answer it could not read, after the whole mail: it hung
                # up, and the server may have taken the mail (it was marked failed for good)
                self._drop()
                raise AnswerLost(f"mailbox {self.name}: the SMTP server's answer to the mail could not be read "
                                 f"({_text(exc.smtp_error)}); {ANSWER_LOST}") from None
            raise DeliveryError(f"SMTP answered {exc.smtp_code} {_text(exc.smtp_error)}",
                                permanent=exc.smtp_code >= 500) from None
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            if smtp.handed_over:
                raise AnswerLost(f"mailbox {self.name}: SMTP connection lost after the whole mail was handed "
                                 f"over: {exc}; {ANSWER_LOST}") from None
            raise ConnectionFailed(f"mailbox {self.name}: SMTP connection lost: {exc}") from None
        if refused:
            code, text = next(iter(refused.values()))
            raise DeliveryError(f"recipient refused: {code} {_text(text)}", permanent=code >= 500)

    def _pipelined(self, smtp: _SMTP, raw: bytes, sender: str, recipient: str, then: Envelope | None) -> None:
        """One mail with PIPELINING (RFC 2920), which every provider's server offers: MAIL, RCPT and DATA
        go out in one write, and the next mail's right behind this one's final dot, so a mail waits for
        one answer of the server instead of four. Commands alone deliver nothing: until the text and its
        dot are written, a lost connection or a stop loses no mail and sends none twice."""
        ahead, self._ahead = self._ahead is not None, None
        if not ahead:
            smtp.send(_commands(smtp, sender, recipient, len(raw)))
        (mail, mail_text), (rcpt, rcpt_text), (data, data_text) = (smtp.getreply() for _ in range(3))
        if mail != 250 or rcpt not in (250, 251) or data != 354:
            if data == 354 or 421 in (mail, rcpt, data):   # it waits for a text it cannot deliver, or hung up
                self._drop()
            else:
                try:
                    smtp.rset()
                except (OSError, smtplib.SMTPException):
                    self._drop()
            if mail != 250:
                raise smtplib.SMTPSenderRefused(mail, mail_text, sender)
            if rcpt not in (250, 251):
                raise smtplib.SMTPRecipientsRefused({recipient: (rcpt, rcpt_text)})
            raise smtplib.SMTPDataError(data, data_text)
        if ahead and _spoke(smtp):
            # Its commands waited while other mail went out: a server that hung up meanwhile (its timeout for
            # the text, a restart) would take the text for nothing, and its lost answer would make this mail
            # AnswerLost, held uncertain. Nothing is handed over yet: ConnectionFailed, sent another time.
            raise smtplib.SMTPServerDisconnected("the server hung up (or spoke) while the mail's commands waited")
        text = _LEADING_DOT.sub(b"..", raw)
        following = b""
        if then is not None:
            with contextlib.suppress(UnicodeError):   # (that mail's own send says what is wrong with it)
                following = _commands(smtp, *then)
        whole = text + (b"" if text.endswith(b"\r\n") else b"\r\n") + b".\r\n"
        _write(smtp, whole + following, handed_over_at=len(whole))
        if following:
            self._ahead, self._ahead_since = then, time.monotonic()
        code, answer = smtp.getreply()
        if code != 250:
            if code == 421:
                self._drop()
            raise smtplib.SMTPDataError(code, answer)

    def refusal(self, sender: str, recipient: str) -> tuple[str, int, str] | None:
        """(command, code, text) of the server's refusal of MAIL FROM `sender` or RCPT TO `recipient`
        (ASCII addresses), before RSET ends the transaction with no mail sent (`check --connect`);
        None when it takes both."""
        if self._ahead is not None:
            self._drop()
        self.open()
        smtp = self._smtp
        assert smtp is not None
        try:
            with smtp.deadline.running():
                smtp.ehlo_or_helo_if_needed()
                for command, step, address in (("MAIL FROM", smtp.mail, sender), ("RCPT TO", smtp.rcpt, recipient)):
                    code, text = step(address)
                    if code not in (250, 251):
                        try:
                            smtp.rset()
                        except (OSError, smtplib.SMTPException):   # a 421: the server has hung up
                            self._drop()
                        return f"{command}:<{address}>", code, _text(text)
                smtp.rset()
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            raise ConnectionFailed(f"mailbox {self.name}: SMTP connection lost: {exc}") from None
        return None

    def pause(self) -> None:
        """Nothing follows right away (dispatch, at the end of each window): commands sent ahead are taken
        back by hanging up, so a different next mail never finds them and connects after its "begin"."""
        if self._ahead is not None:
            self._drop()

    def close(self) -> None:
        if self._ahead is not None:
            self._drop()   # QUIT would be read as the text of the mail it waits for: hung up instead
        if self._smtp is not None:
            try:
                with self._smtp.deadline.running():
                    self._smtp.quit()
            except (OSError, smtplib.SMTPException, ConnectionFailed):
                pass
            self._drop()

    def _drop(self) -> None:
        """Forget a connection that is done for (closed, or broken mid-transaction)."""
        self._ahead = None
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None


AHEAD_SECONDS = 10   # commands sent ahead longer ago than this are not trusted: a new connection instead

_LEADING_DOT = re.compile(rb"(?m)^\.")   # a line of the text that starts with a dot gets a second (RFC 5321 4.5.2)


def _commands(smtp: _SMTP, sender: str, recipient: str, size: int) -> bytes:
    """MAIL, RCPT and DATA in one piece, as smtplib's sendmail() writes them one by one."""
    mail = f"MAIL FROM:{smtplib.quoteaddr(sender)}" + (f" SIZE={size}" if smtp.has_extn("size") else "")
    return f"{mail}\r\nRCPT TO:{smtplib.quoteaddr(recipient)}\r\nDATA\r\n".encode("ascii")


def _write(smtp: _SMTP, data: bytes, handed_over_at: int) -> None:
    """The text, its dot and the next mail's commands in one write, so they leave together (a server that saw
    the dot alone would answer it alone and hold the next answers back for its ACK: Postfix 2-20x slower),
    counting how far it came: a write cut after the dot (a deadline, a reset) has handed the mail over, and
    sendall() cannot say so."""
    if smtp.sock is None:
        raise smtplib.SMTPServerDisconnected("please run connect() first")
    view, written = memoryview(data), 0
    while written < len(view):
        written += smtp.sock.send(view[written:])
        smtp.handed_over = smtp.handed_over or written >= handed_over_at


def _spoke(smtp: _SMTP) -> bool:
    """Whether a server that should be silently waiting for a text has hung up or said something (a 421 on its
    way out), seen without waiting: a last answer already read but not taken, or the socket readable."""
    sock = smtp.sock
    if sock is None or smtp.file is None:
        return True
    poll = select.poll()
    poll.register(sock, select.POLLIN)
    if poll.poll(0) or (isinstance(sock, ssl.SSLSocket) and sock.pending()):
        return True
    timeout = sock.gettimeout()
    sock.settimeout(0)
    try:
        return bool(smtp.file.peek(1))   # answers read with the last ones and not taken (peek reads nothing else)
    except (BlockingIOError, ssl.SSLWantReadError):
        return False
    except OSError:
        return True
    finally:
        sock.settimeout(timeout)


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


WAIT_SLICE_SECONDS = 0.5   # how soon a stop ends the wait for the rate limit's next turn


class RateLimitedSender:
    """Spaces sends evenly: at most `per_minute` mails a minute through the wrapped sender."""

    def __init__(self, sender: Sender, per_minute: int, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.sender = sender
        self.gap = 60.0 / per_minute
        self.sleep = sleep
        self.clock = clock
        self._last: float | None = None

    def wait_turn(self, stop: Callable[[], bool] = lambda: False) -> None:
        """Sleep until the next mail's turn, in slices: a stop, or the pass's sending budget, ends the wait
        (at one mail a minute a SIGTERM waited out the minute, and sent meanwhile)."""
        while self._last is not None and not stop():
            wait = self._last + self.gap - self.clock()
            if wait <= 0:
                return
            self.sleep(min(wait, WAIT_SLICE_SECONDS))

    def send(self, raw: bytes, sender: str, recipient: str, then: Envelope | None = None) -> None:
        """(`then` is not passed on: a command sent ahead would keep the server waiting for the next turn.)"""
        self.wait_turn()
        self._last = self.clock()
        self.sender.send(raw, sender, recipient)

    def open(self) -> None:
        opener = getattr(self.sender, "open", None)
        if opener is not None:
            opener()

    def close(self) -> None:
        self.sender.close()


class FolderSender:
    """Writes each mail as an .eml file named after its Message-ID, so a resend overwrites itself."""

    def __init__(self, folder: Path):
        self.folder = folder

    def send(self, raw: bytes, sender: str, recipient: str, then: Envelope | None = None) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        match = re.search(rb"^Message-ID:\s*<([^>]+)>", raw, re.IGNORECASE | re.MULTILINE)
        stem = re.sub(r"[^A-Za-z0-9._-]", "_", match.group(1).decode() if match else str(hash(raw)))
        target = self.folder / f"{stem}.eml"
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(raw)
        tmp.replace(target)

    def close(self) -> None:
        pass
