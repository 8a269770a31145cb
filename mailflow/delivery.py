"""Senders at the edge: SMTP for real mailboxes, a folder of .eml files for the demo."""

from __future__ import annotations

import contextlib
import re
import smtplib
import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .credentials import Credentials, xoauth2
from .errors import ConnectionFailed, DeliveryError

if TYPE_CHECKING:
    from .outbox import Sender
    from .rules import ServerSettings


def tls_context(settings: ServerSettings) -> ssl.SSLContext:
    """Certificates are always verified; ca_file adds a trusted CA (a self-signed server)."""
    return ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)


class SmtpSender:
    """One SMTP connection per batch, opened on the first mail and reused; the secret is asked
    for at each connect."""

    def __init__(self, settings: ServerSettings, credentials: Credentials, name: str = ""):
        self.settings = settings
        self.credentials = credentials
        self.name = name
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        secret = self.credentials.secret() if s.username else None
        try:
            if s.security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=tls_context(s))
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
                if s.security == "starttls":
                    smtp.starttls(context=tls_context(s))
            if s.username and self.credentials.oauth2:
                smtp.ehlo_or_helo_if_needed()
                token = xoauth2(s.username, secret or "")
                smtp.auth("XOAUTH2", lambda challenge=None: token if challenge is None else "")
            elif s.username:
                smtp.login(s.username, secret or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise ConnectionFailed(
                f"mailbox {self.name}: SMTP login refused for {s.username} ({exc.smtp_code})") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise ConnectionFailed(f"mailbox {self.name}: cannot reach SMTP server {s.host}:{s.port}: {exc}") from None
        return smtp

    def open(self) -> None:
        """Connect (and log in) now, if not connected yet: dispatch does it before it says "begin"."""
        if self._smtp is None:
            self._smtp = self._connect()

    def send(self, raw: bytes, sender: str, recipient: str) -> None:
        self.open()
        assert self._smtp is not None
        try:
            refused = self._smtp.sendmail(sender, [recipient], raw)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            raise DeliveryError(f"recipient refused: {code} {_text(text)}", permanent=code >= 500) from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(f"SMTP answered {exc.smtp_code} {_text(exc.smtp_error)}",
                                permanent=exc.smtp_code >= 500) from None
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise ConnectionFailed(f"mailbox {self.name}: SMTP connection lost: {exc}") from None
        if refused:
            code, text = next(iter(refused.values()))
            raise DeliveryError(f"recipient refused: {code} {_text(text)}", permanent=code >= 500)

    def close(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(TimeoutError, OSError, smtplib.SMTPException):
                self._smtp.quit()
            self._smtp = None


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class RateLimitedSender:
    """Spaces sends evenly: at most `per_minute` mails a minute through the wrapped sender."""

    def __init__(self, sender: Sender, per_minute: int, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.sender = sender
        self.gap = 60.0 / per_minute
        self.sleep = sleep
        self.clock = clock
        self._last: float | None = None

    def wait_turn(self) -> None:
        if self._last is not None:
            wait = self._last + self.gap - self.clock()
            if wait > 0:
                self.sleep(wait)

    def send(self, raw: bytes, sender: str, recipient: str) -> None:
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

    def send(self, raw: bytes, sender: str, recipient: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        match = re.search(rb"^Message-ID:\s*<([^>]+)>", raw, re.IGNORECASE | re.MULTILINE)
        stem = re.sub(r"[^A-Za-z0-9._-]", "_", match.group(1).decode() if match else str(hash(raw)))
        target = self.folder / f"{stem}.eml"
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(raw)
        tmp.replace(target)

    def close(self) -> None:
        pass
