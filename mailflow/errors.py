"""mailflow's own exceptions: each carries a message a coordinator can act on."""

from __future__ import annotations

import ssl
from pathlib import Path


class MailflowError(Exception):
    """Base class: anything the CLI may show to a person as it is."""


class RulesError(MailflowError):
    """rules.yaml (or a template it names) is wrong; says where and how to fix it."""

    def __init__(self, problems: list[RulesProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class RulesProblem:
    def __init__(self, file: Path | str, line: int | None, message: str, hint: str = ""):
        self.file = str(file)
        self.line = line
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{where}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text


def not_utf8(path: Path | str, data: bytes, exc: UnicodeDecodeError | None) -> RulesProblem:
    """A coordinator's file (rules.yaml, a template, an agenda) saved in another encoding than UTF-8, at the
    line of its first such byte, with the fix (`exc` None: it decoded, but holds NUL bytes)."""
    if exc is None or data[:2] in (b"\xff\xfe", b"\xfe\xff") or data.count(b"\x00") * 3 > len(data):
        return RulesProblem(path, 1, "not UTF-8 text: saved as UTF-16 ('Unicode' in Notepad)",
                            "save it as UTF-8 (Notepad: Save as, Encoding: UTF-8)")
    return RulesProblem(path, data[:exc.start].count(b"\n") + 1,
                        f"not UTF-8 text (byte {data[exc.start]:#04x}: saved as 'ANSI' or Windows-1252?)",
                        "save it as UTF-8 (Notepad: Save as, Encoding: UTF-8)")


class MessageError(MailflowError):
    """An incoming mail cannot be read; it is quarantined, never dropped."""


class ConnectionFailed(MailflowError):
    """A mail server could not be reached or refused us."""


class DeadlineExceeded(ConnectionFailed):
    """A server operation outlived its overall deadline (a server that trickles or stalls); its
    connection was shut down."""


class AnswerLost(ConnectionFailed):
    """The SMTP connection broke after the whole mail was handed over, before the server's answer:
    the mail may or may not have been accepted (settled from Sent, or held `uncertain`)."""


# In every AnswerLost's text: such a failure is over only when the server takes a mail again (health.py), not
# when it takes a login (a hung content filter took every login and lost every mail's answer, with no alarm)
ANSWER_LOST = "the server had the whole mail, its answer never came"


class SecretError(ConnectionFailed):
    """A password or token could not be obtained from the environment or command. It is asked for
    at every connect, so it fails like the connection: that mailbox waits, retried with backoff
    (a token command may fail for a while), the others go on."""


class DeliveryError(MailflowError):
    """An SMTP server refused a mail. `permanent` is True for 5xx answers."""

    def __init__(self, message: str, permanent: bool):
        super().__init__(message)
        self.permanent = permanent


class StorageTrouble(MailflowError):
    """The database cannot take a write for now: the disk is full, another program holds its lock
    longer than the busy timeout, or the disk fails (database.weather). Weather, not a bug: every
    step rolled back, and the daemon waits and does it again."""


def connection_failed(what: str, host: str, port: int, exc: BaseException) -> ConnectionFailed:
    """A ConnectionFailed whose text says the cause in words (`mailflow status`, the alarm): `what` is
    "mailbox NAME: IMAP" or "...: SMTP"; `exc` what the socket, TLS or the protocol raised."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        cause = f"TLS verification failed for {host}:{port}: certificate verify failed: {exc.verify_message}"
    elif isinstance(exc, ssl.SSLError):
        cause = f"TLS failed with {host}:{port}: {exc.reason or exc}"
    elif isinstance(exc, TimeoutError):
        cause = f"timed out waiting for {host}:{port}"
    elif isinstance(exc, OSError):
        cause = f"server unreachable: cannot reach {host}:{port}: {exc.strerror or exc}"
    else:
        cause = f"cannot reach {host}:{port}: {exc}"
    return ConnectionFailed(f"{what} {cause}")


def login_refused(what: str, host: str, user: str | None, answer: object) -> ConnectionFailed:
    """The server refused the login; its answer as it said it ("[AUTHENTICATIONFAILED] ...", "535 5.7.8 ...")."""
    text = answer.decode(errors="replace") if isinstance(answer, bytes) else str(answer)
    if text[:2] in ("b'", 'b"') and text[-1:] == text[1:2]:   # imapclient gives the bytes' repr
        text = text[2:-1]
    return ConnectionFailed(f"{what} login refused by {host} for {user}: {' '.join(text.split())[:300]}")
