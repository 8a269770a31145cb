"""What each registrant's calendar invitation said, so the next one is its update (RFC 5546).

A registrant's first invitation gets a UID that stays theirs (table `invitations`, one row a
registrant); every later one has the same UID, and its SEQUENCE grows by one when what it says
(times, title, place, link, details) changed, or after a CANCEL. An unchanged one (a reminder's copy)
keeps its SEQUENCE. The row is written in the transaction that queues the mail carrying it.
"""

from __future__ import annotations

import hashlib
import uuid

import sqlite_utils

from . import database, outbox
from .database import now
from .invitation import CANCEL, REQUEST, Invitation
from .rules import Event
from .states import OutboxState

# The outbox kinds whose mail carries a REQUEST: access releases and reminders (releases.py).
CARRIERS = ("release:access:%", "reminder:%")


def _content_hash(event: Event, link: str | None, details: str) -> str:
    digest = hashlib.sha256()
    for part in (event.starts_at.isoformat(), event.ends_at.isoformat(), event.title, event.venue, link or "", details):
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()


def invited_event(db: sqlite_utils.Database, uid: str, address: str | None) -> str | None:
    """The event whose invitation with this UID mailflow sent to `address`, or None (a calendar's answer to
    it is about that event; one to an invitation someone forwarded answers the forwarder's, not theirs)."""
    if not uid or not address:
        return None
    row = db.execute("select r.event_id from invitations i join registrants r on r.id = i.registrant_id "
                     "where i.uid = ? and r.address = ?", [uid, address]).fetchone()
    return row[0] if row else None


def _row(db: sqlite_utils.Database, registrant_id: int) -> dict | None:
    rows = database.rows(db, "select * from invitations where registrant_id = ?", [registrant_id])
    return rows[0] if rows else None


def request(db: sqlite_utils.Database, event: Event, registrant: dict, organizer: str, link: str | None,
            details: str, *, record: bool = True) -> Invitation:
    """The REQUEST for this registrant now; `record=False` only looks (a preview)."""
    content = _content_hash(event, link, details)
    row = _row(db, registrant["id"])
    if row is None:
        uid, sequence = f"{uuid.uuid4()}@{outbox.mail_domain(organizer)}", 0
    elif row["method"] == REQUEST and row["content_hash"] == content:
        uid, sequence = row["uid"], row["sequence"]
    else:
        uid, sequence = row["uid"], row["sequence"] + 1
    invitation = Invitation(uid, sequence, REQUEST, registrant["address"], registrant.get("name") or "", link, details)
    if record:
        _save(db, registrant["id"], invitation, content)
    return invitation


def cancel(db: sqlite_utils.Database, registrant: dict) -> Invitation | None:
    """The CANCEL for a registrant who cancelled, when a REQUEST may have reached them; their
    invitations still queued are cancelled (never sent). None when there is nothing to take back."""
    row = _row(db, registrant["id"])
    if row is None or row["method"] != REQUEST:
        return None
    kinds = " or ".join("kind like ?" for _ in CARRIERS)
    db.execute(f"update outbox set state = ?, error = ? where registrant_id = ? and state = ? and ({kinds})",
               [OutboxState.CANCELLED, "not sent: the registrant cancelled", registrant["id"], OutboxState.QUEUED,
                *CARRIERS])
    reached = db.execute(
        f"select 1 from outbox where registrant_id = ? and state in (?, ?, ?) and ({kinds}) limit 1",
        [registrant["id"], OutboxState.SENT, OutboxState.SENDING, OutboxState.UNCERTAIN, *CARRIERS]).fetchone()
    invitation = Invitation(row["uid"], row["sequence"] + 1, CANCEL, registrant["address"],
                            registrant.get("name") or "")
    _save(db, registrant["id"], invitation, row["content_hash"])
    return invitation if reached else None


def _save(db: sqlite_utils.Database, registrant_id: int, invitation: Invitation, content: str) -> None:
    db.table("invitations").upsert(
        {"registrant_id": registrant_id, "uid": invitation.uid, "sequence": invitation.sequence,
         "method": invitation.method, "content_hash": content, "updated_at": now(db)},
        pk="registrant_id",
    )
