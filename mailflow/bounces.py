"""Bounces: an address reported undeliverable gets no more mail until its owner writes from it again.

A bounce marks every active registrant with that address `bounced` (each keeps
the status to return to) and cancels the mail still queued for it, with the
reason on the outbox row. A mail from that address (one a person wrote, not an
automatic one) makes them active again.

A brand-new address costs at most one bounce: release and reminder mail to an
address is held while an earlier mail to it is unproven, that is queued,
being sent, or sent less than `bounce_grace_minutes` (rules.yaml) ago, unless
some mail to it went out longer ago than that without a bounce since. A
registrant's first mail (the confirmation) thus goes alone; agenda and access
follow when it has been out that long and no bounce has come back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, timedelta

import sqlite_utils

from . import database, registrants
from .outbox import UnsendableAddress, envelope_address
from .states import OutboxState

log = logging.getLogger(__name__)

REASON = "not sent: {address} bounced (bounce {message_id})"


def _forms(address: str) -> list[str]:
    """The address as registrants hold it and as the outbox's recipient may hold it (IDNA domain)."""
    address = address.lower()
    try:
        return list(dict.fromkeys([address, envelope_address(address)]))
    except UnsendableAddress:
        return [address]


def bounced(
    db: sqlite_utils.Database, address: str, message_id: str | None, own: Iterable[str] = ()
) -> tuple[int, int]:
    """A bounce names `address`: its active registrants become `bounced`, its queued mail is cancelled.
    Returns (registrants marked, mails cancelled); our own addresses are left alone."""
    address = address.lower()
    if address in {a.lower() for a in own}:
        return 0, 0
    marked = registrants.mark_undeliverable(db, address)
    forms = _forms(address)
    marks = ",".join("?" * len(forms))
    # A release or reminder row lets go of its registrant: the once-per-registrant key would keep a
    # fresh copy from being queued if they write again (the row still names the recipient).
    cancelled = db.execute(
        f"update outbox set state = ?, error = ?, "
        f"registrant_id = case when source_message is null then null else registrant_id end "
        f"where state = ? and recipient in ({marks})",
        [OutboxState.CANCELLED, REASON.format(address=address, message_id=message_id or "without Message-ID"),
         OutboxState.QUEUED, *forms],
    ).rowcount
    log.info("bounce message_id=%s address=%s: %s registrants undeliverable, %s queued mails cancelled",
             message_id, address, marked, cancelled)
    return marked, cancelled


def wrote_again(db: sqlite_utils.Database, address: str, message_id: str | None) -> int:
    """A person wrote from an address that bounced: their registrations are active again."""
    count = registrants.reactivate(db, address)
    if count:
        log.info("message_id=%s address=%s wrote again: %s registrants active again", message_id, address, count)
    return count


def held(db: sqlite_utils.Database, grace_minutes: float) -> set[str]:
    """Addresses whose earlier mail is still unproven (see the module's text): no release or reminder for
    them yet, as of the database's clock (it is compared with `sent_at`)."""
    moment = database.clock_of(db)()
    cutoff = (moment - timedelta(minutes=grace_minutes)).astimezone(UTC).isoformat(timespec="seconds")
    rows = db.execute(
        """select distinct o.recipient from outbox o
           where (o.state in (:queued, :sending) or (o.state = :sent and o.sent_at > :cutoff))
             and o.kind not like 'notice:%'
             and not exists (
                 select 1 from outbox p where p.recipient = o.recipient and p.state = :sent and p.sent_at <= :cutoff
                 and p.sent_at > coalesce((select max(r.bounced_at) from registrants r
                                           where r.address = o.recipient), ''))""",
        {"queued": OutboxState.QUEUED, "sending": OutboxState.SENDING, "sent": OutboxState.SENT, "cutoff": cutoff},
    ).fetchall()
    return {row[0] for row in rows}


def is_held(address: str, held_addresses: set[str]) -> bool:
    return any(form in held_addresses for form in _forms(address))
