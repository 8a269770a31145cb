"""The outbox: replies waiting to be sent, each with its Message-ID fixed when it was queued.

States: queued -> sending -> sent, or failed (permanent refusal). A row is set
to `sending` and committed before the SMTP conversation, so a crash in that
window is visible afterwards instead of silently resending.
"""

from __future__ import annotations

import email.policy
import email.utils
import logging
from collections.abc import Mapping
from datetime import datetime, timezone
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Protocol

import sqlite_utils

from .database import now
from .errors import ConnectionFailed, DeliveryError
from .message import clean

log = logging.getLogger(__name__)

QUEUED, SENDING, SENT, FAILED = "queued", "sending", "sent", "failed"
MAX_TRANSIENT_ATTEMPTS = 10


class Sender(Protocol):
    """Delivers one composed mail; raises DeliveryError or ConnectionFailed."""

    def send(self, raw: bytes, sender: str, recipient: str) -> None: ...


def new_message_id(from_address: str) -> str:
    return email.utils.make_msgid(domain=from_address.rpartition("@")[2] or "mailflow.invalid")


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
    date: datetime | None = None,
) -> bytes:
    """Build an outgoing mail from cleaned strings only, never from parsed header objects."""
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = Address(display_name=clean(from_name), addr_spec=clean(from_address))
    msg["To"] = Address(display_name=clean(to_name), addr_spec=clean(to_address))
    msg["Subject"] = clean(subject)
    msg["Date"] = email.utils.format_datetime(date or datetime.now(timezone.utc))
    msg["Message-ID"] = clean(message_id)
    if in_reply_to:
        msg["In-Reply-To"] = clean(in_reply_to)
        msg["References"] = " ".join(clean(r) for r in (*references, in_reply_to) if r)
    msg["Auto-Submitted"] = "auto-replied"
    msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(text)
    return msg.as_bytes()


def compose_notice(
    *, from_name: str, from_address: str, to_name: str, to_address: str, subject: str, text: str,
    message_id: str, original: bytes,
) -> bytes:
    """A note to a coordinator with the original mail attached byte for byte (base64, as original.eml)."""
    msg = email.message_from_bytes(
        compose(from_name=from_name, from_address=from_address, to_name=to_name, to_address=to_address,
                subject=subject, text=text, message_id=message_id),
        _class=EmailMessage, policy=email.policy.SMTP,
    )
    msg.replace_header("Auto-Submitted", "auto-generated")
    msg.add_attachment(original, maintype="application", subtype="octet-stream", filename="original.eml")
    return msg.as_bytes()


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
) -> None:
    """Queue a mail once: the unique (source_message, kind) key makes a second call a no-op."""
    db["outbox"].insert(
        {
            "message_id": message_id, "source_message": source_message, "kind": kind,
            "mailbox": mailbox, "registrant_id": registrant_id, "recipient": recipient,
            "subject": subject, "raw": raw, "state": QUEUED, "attempts": 0, "created_at": now(),
        },
        ignore=True,
    )


def requeue_interrupted(db: sqlite_utils.Database) -> int:
    """Rows left in `sending` by a crash go back to the queue (at-least-once delivery)."""
    rows = list(db["outbox"].rows_where("state = ?", [SENDING], select="id, message_id"))
    for row in rows:
        log.warning("outbox %s %s was interrupted while sending; queued again", row["id"], row["message_id"])
        db["outbox"].update(row["id"], {"state": QUEUED})
    return len(rows)


def drain(
    db: sqlite_utils.Database,
    senders: Mapping[str, Sender],
    addresses: Mapping[str, str],
    should_stop=lambda: False,
) -> dict[str, int]:
    """Send every queued row through its mailbox's sender; returns counts by outcome."""
    counts = {SENT: 0, FAILED: 0, "deferred": 0}
    unreachable: set[str] = set()
    for row in list(db["outbox"].rows_where("state = ?", [QUEUED], order_by="id", select="id, mailbox")):
        if should_stop():
            break
        mailbox = row["mailbox"]
        if mailbox in unreachable or mailbox not in senders:
            continue
        row = db["outbox"].get(row["id"])
        db["outbox"].update(row["id"], {"state": SENDING, "attempts": row["attempts"] + 1})
        ids = f"mailbox={mailbox} outbox={row['id']} message_id={row['message_id']}"
        try:
            senders[mailbox].send(row["raw"], addresses[mailbox], row["recipient"])
        except ConnectionFailed as exc:
            db["outbox"].update(row["id"], {"state": QUEUED, "error": str(exc)})
            log.warning("%s deferred: %s", ids, exc)
            unreachable.add(mailbox)
            counts["deferred"] += 1
            continue
        except DeliveryError as exc:
            permanent = exc.permanent or row["attempts"] + 1 >= MAX_TRANSIENT_ATTEMPTS
            db["outbox"].update(row["id"], {"state": FAILED if permanent else QUEUED, "error": str(exc)})
            log.warning("%s %s: %s", ids, "failed" if permanent else "deferred", exc)
            counts[FAILED if permanent else "deferred"] += 1
            continue
        db["outbox"].update(row["id"], {"state": SENT, "sent_at": now(), "error": None})
        log.info("%s sent to %s", ids, row["recipient"])
        counts[SENT] += 1
    return counts
