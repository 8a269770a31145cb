"""The outbox: replies waiting to be sent, each with its Message-ID fixed when it was queued.

States: queued -> sending -> sent, or failed (permanent refusal), or cancelled
by a coordinator. Composing and queuing live here; sending is dispatch.py.
"""

from __future__ import annotations

import email.policy
import email.utils
import io
from email import encoders, quoprimime
from email.generator import BytesGenerator
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import sqlite_utils

from . import database
from .clock import stamp
from .database import now
from .errors import MailflowError
from .message import clean

log = logging.getLogger(__name__)

QUEUED, SENDING, SENT, FAILED = "queued", "sending", "sent", "failed"
# Interrupted while the SMTP server had it, with no copy in Sent to tell: a coordinator decides.
UNCERTAIN = "uncertain"


class Sender(Protocol):
    """Delivers one composed mail; raises errors.DeliveryError or errors.ConnectionFailed."""

    def send(self, raw: bytes, sender: str, recipient: str) -> None: ...


def new_message_id(from_address: str) -> str:
    return email.utils.make_msgid(domain=from_address.rpartition("@")[2] or "mailflow.invalid")


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str       # e.g. application/pdf, text/calendar
    data: bytes
    params: tuple[tuple[str, str], ...] = ()


def compose(
    *,
    from_name: str,
    from_address: str,
    to_name: str,
    to_address: str,
    subject: str,
    text: str,
    message_id: str,
    in_reply_to: str | None = None,
    references: tuple[str, ...] = (),
    date: datetime,
    auto_submitted: str = "auto-replied",
    attachments: tuple[Attachment, ...] = (),
) -> bytes:
    """Build an outgoing mail from cleaned strings only, never from parsed header objects.

    compat32 classes with explicit RFC 2047 encoding: five times faster than
    EmailMessage with policy.SMTP, which re-parses every header it is given.
    Every value passes through clean() first, so no CR or LF reaches a header.
    """
    if attachments:
        msg: Message = MIMEMultipart()
        msg.attach(MIMEText(text, "plain", _UTF8_QP))
        for item in attachments:
            maintype, _, subtype = item.content_type.partition("/")
            part = MIMEBase(maintype, subtype, **dict(item.params))
            part.set_payload(item.data)
            encoders.encode_base64(part)
            part.add_header("Content-Disposition", "attachment", filename=clean(item.filename))
            msg.attach(part)
    headers = [
        ("From", _address(from_name, from_address)),
        ("To", _address(to_name, to_address)),
        ("Subject", _encoded(clean(subject, 900))),
        ("Date", email.utils.format_datetime(date)),
        ("Message-ID", clean(message_id)),
    ]
    if in_reply_to:
        headers.append(("In-Reply-To", clean(in_reply_to)))
        # One Message-ID per line: fifty of them would pass the 998-character line limit.
        headers.append(("References", "\r\n ".join(dict.fromkeys(clean(r) for r in (*references, in_reply_to) if r))))
    headers += [("Auto-Submitted", clean(auto_submitted)), ("X-Auto-Response-Suppress", "All")]
    # Our headers are written by hand: every value is clean (one line) and ASCII (RFC 2047
    # encoded where needed), and the generator's folding machinery cost more than the rest.
    head = "".join(f"{name}: {value}\r\n" for name, value in headers).encode("ascii")
    if not attachments:
        # What MIMEText(text, "plain", utf-8 quoted-printable) would write, byte for byte, without
        # the generator (a test compares the two); "From " at a line start stays as it is (no
        # mbox ">From" mangling: this goes to SMTP, not into an mbox file).
        return head + _PLAIN_TEXT_HEAD + quoprimime.body_encode(text.encode("utf-8").decode("latin-1"),
                                                                eol="\r\n").encode("ascii")
    out = io.BytesIO()
    BytesGenerator(out, mangle_from_=False, policy=_WIRE).flatten(msg)
    return head + out.getvalue()


_PLAIN_TEXT_HEAD = (b'Content-Type: text/plain; charset="utf-8"\r\nMIME-Version: 1.0\r\n'
                    b"Content-Transfer-Encoding: quoted-printable\r\n\r\n")


_WIRE = email.policy.compat32.clone(linesep="\r\n")
_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP  # readable in any client's source view, unlike base64


def _encoded(value: str) -> str:
    """Plain ASCII as it is; anything else as RFC 2047 words, folded onto continuation lines.

    ASCII text that contains "=?" is encoded too: written raw, a reader would decode
    it as an encoded word (an attacker's "=?utf-8?q?...=0A...?=" in a name).
    """
    if value.isascii() and "=?" not in value and len(value) <= 900:
        return value
    return Header(value, "utf-8").encode(maxlinelen=76).replace("\n", "\r\n")


def _address(name: str, address: str) -> str:
    address = _ascii_address(clean(address))
    name = clean(name, 200)
    if name and (not name.isascii() or "=?" in name):
        return f"{_encoded(name)} <{address}>"
    return email.utils.formataddr((name, address))


def envelope_address(address: str) -> str:
    """The address as SMTP's RCPT TO needs it (IDNA domain); see _ascii_address."""
    return _ascii_address(address)


class UnsendableAddress(ValueError):
    """An address that cannot be written into a plain (non-SMTPUTF8) mail."""


def _ascii_address(address: str) -> str:
    """The address as ASCII: an international domain in IDNA form ("xn--"); a local part
    outside ASCII would need SMTPUTF8, which mailflow does not speak, so it is refused."""
    if any(c in address for c in '<>,;" ') or address.count("@") != 1:
        raise UnsendableAddress(f"not a plain address: {address!r}")
    local, domain = address.split("@")
    if not local.isascii():
        raise UnsendableAddress(f"{address!r} has non-ASCII characters before the @ (needs SMTPUTF8)")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise UnsendableAddress(f"{address!r} has a domain that cannot be written in ASCII") from None
    return f"{local}@{domain}"


def compose_notice(
    *, from_name: str, from_address: str, to_name: str, to_address: str, subject: str, text: str,
    message_id: str, original: bytes, date: datetime,
) -> bytes:
    """A note to a coordinator with the original mail attached byte for byte (base64, as original.eml)."""
    return compose(
        from_name=from_name, from_address=from_address, to_name=to_name, to_address=to_address,
        subject=subject, text=text, message_id=message_id, date=date, auto_submitted="auto-generated",
        attachments=(Attachment("original.eml", "application/octet-stream", original),),
    )


def enqueue(
    db: sqlite_utils.Database,
    *,
    raw: bytes,
    message_id: str,
    kind: str,
    mailbox: str,
    recipient: str,
    subject: str,
    source_message: int | None = None,
    registrant_id: int | None = None,
    expires_at: datetime | None = None,
) -> None:
    """Queue a mail once: the unique (source_message, kind) key makes a second call a no-op.
    A mail still queued at `expires_at` is cancelled, not sent (dispatch)."""
    database.insert(db, "outbox", {
        "message_id": message_id, "source_message": source_message, "kind": kind,
        "mailbox": mailbox, "registrant_id": registrant_id, "recipient": recipient,
        "subject": subject, "raw": raw, "state": QUEUED, "attempts": 0, "created_at": now(db),
        "expires_at": stamp(expires_at) if expires_at else None,
    }, ignore=True)


class SentCopies(Protocol):
    """A mailbox's Sent folder (mailbox.SentFolder): `append` copies, `contains` a Message-ID."""

    def append(self, raws: list[bytes]) -> None: ...

    def contains(self, message_id: str) -> bool: ...


# Postfix's schedule for deferred mail: 5 minutes, doubling, at most 4000 s apart, for 5 days.
FIRST_RETRY = timedelta(seconds=300)
LONGEST_RETRY = timedelta(seconds=4000)
GIVE_UP_AFTER = timedelta(days=5)


def retry_delay(attempts: int) -> timedelta:
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)


# -- coordinators' hand on the outbox: list, retry, cancel ----------------------

CANCELLED = "cancelled"
LISTED_COLUMNS = "id, state, kind, mailbox, recipient, subject, attempts, error, created_at, sent_at, message_id"


def listing(db: sqlite_utils.Database, state: str | None = None) -> list[dict]:
    """Outbox rows without their bytes, oldest first; only one state when `state` is given."""
    where, args = ("where state = ?", [state]) if state else ("", [])
    return list(db.query(f"select {LISTED_COLUMNS} from outbox {where} order by id", args))


def _row(db: sqlite_utils.Database, outbox_id: int) -> dict:
    rows = list(db.query(f"select {LISTED_COLUMNS} from outbox where id = ?", [outbox_id]))
    if not rows:
        raise MailflowError(f"no outbox mail {outbox_id}; `mailflow outbox` lists them with their numbers")
    return rows[0]


def _move(db: sqlite_utils.Database, outbox_id: int, allowed: tuple[str, ...], changes: dict) -> bool:
    """Change a row only if it is still in an allowed state (the worker may be sending meanwhile)."""
    marks = ",".join("?" * len(allowed))
    sets = ", ".join(f"{column} = ?" for column in changes)
    cursor = db.execute(
        f"update outbox set {sets} where id = ? and state in ({marks})", [*changes.values(), outbox_id, *allowed]
    )
    return cursor.rowcount == 1


def retry(db: sqlite_utils.Database, outbox_id: int) -> dict:
    """A failed (or uncertain: the coordinator checked it did not arrive) mail goes back to the queue
    with a fresh attempt count; its last error stays on the row."""
    row = _row(db, outbox_id)
    if row["state"] not in (FAILED, UNCERTAIN) or not _move(db, outbox_id, (FAILED, UNCERTAIN),
                                                             {"state": QUEUED, "attempts": 0}):
        state = _row(db, outbox_id)["state"]
        raise MailflowError(f"outbox mail {outbox_id} is {state}; only failed or uncertain mails can be retried")
    log.info("outbox=%s message_id=%s %s -> queued by hand (last error: %s)",
             outbox_id, row["message_id"], row["state"], row["error"])
    return {**row, "state": QUEUED, "attempts": 0}


def retry_all_failed(db: sqlite_utils.Database) -> list[dict]:
    return [retry(db, row["id"]) for row in listing(db, FAILED)]


def cancel(db: sqlite_utils.Database, outbox_id: int) -> tuple[dict, bool]:
    """Queued, failed or uncertain -> cancelled, so it is never sent (again); returns (row, changed).
    A sent mail cannot be unsent."""
    row = _row(db, outbox_id)
    if row["state"] == CANCELLED:
        return row, False
    if _move(db, outbox_id, (QUEUED, FAILED, UNCERTAIN), {"state": CANCELLED}):
        log.info("outbox=%s %s -> cancelled by hand", outbox_id, row["state"])
        return {**row, "state": CANCELLED}, True
    row = _row(db, outbox_id)
    if row["state"] == SENT:
        raise MailflowError(f"outbox mail {outbox_id} was already sent to {row['recipient']} on {row['sent_at']}; "
                            "a sent mail cannot be cancelled")
    if row["state"] == SENDING:
        raise MailflowError(f"outbox mail {outbox_id} is being sent right now; "
                            "check again with `mailflow outbox` when the pass is over")
    raise MailflowError(f"outbox mail {outbox_id} is {row['state']}; only queued, failed or uncertain mails "
                        "can be cancelled")
