"""`mailflow invite`: one invitation to a new event for people of an earlier one (or of a list).

They are not registered: the invitation asks them, and their answer is a mail like any other
(the worker registers who says yes). Each person gets at most one invitation per event, whatever
happens to its mail: the `invites` table is unique on (event, address) and is written in the
transaction that queues the mail. Bounced addresses, people who cancelled, people registered
already and people invited already are skipped, each with the reason.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlite_utils

from . import database, outbox
from .context import coordinator_context, event_context, registrant_context, times_context
from .countries import named_country
from .database import now
from .errors import MailflowError
from .imports import Person, guess_audience, known_audience
from .registrants import whereabouts
from .replies import Replies
from .rules import Event, Rules
from .states import RegistrantStatus

log = logging.getLogger(__name__)

# The template kind (announcements.invitation) and the outbox kind's prefix.
INVITATION: Literal["invitation"] = "invitation"


@dataclass(frozen=True)
class Invitee:
    person: Person
    audience: str


@dataclass(frozen=True)
class Skipped:
    person: Person
    reason: str


def from_event(db: sqlite_utils.Database, rules: Rules, source_id: str) -> list[Person]:
    """The registrants of an earlier event (any status: the plan skips whom it must, with the reason)."""
    rows = database.rows(db, "select * from registrants where event_id = ? order by id", [source_id])
    if not rows:
        known = sorted({r["event_id"] for r in database.rows(db, "select distinct event_id from registrants")})
        raise MailflowError(f"nobody is registered for {source_id!r}; events with registrants: "
                            f"{', '.join(known) or 'none'}")
    return [Person(f"{source_id} registrant {row['id']}", row["address"], source_id, row["name"] or "",
                   row["organisation"] or "", row["country"] or "", row["audience"]) for row in rows]


def target_event(rules: Rules, event_id: str | None, moment: datetime) -> Event:
    """--event, else the one event of rules.yaml, else the first one open for registration."""
    if event_id:
        for event in rules.events:
            if event.id == event_id:
                if event.registration_closed(moment):
                    closes = event.registration_closes_at
                    raise MailflowError(f"registration for {event.id} closed on {closes:%Y-%m-%d %H:%M %Z}: nobody "
                                        "could answer an invitation; invite to an event that takes registrations")
                return event
        raise MailflowError(f"no event {event_id!r} in rules.yaml (known: {', '.join(e.id for e in rules.events)})")
    open_now = sorted((e for e in rules.events if e.registration_open(moment) and not e.over(moment)),
                      key=lambda e: e.starts_at)
    if len(rules.events) == 1 or not open_now:
        if rules.events[0].registration_open(moment):
            return rules.events[0]
        raise MailflowError("no event in rules.yaml takes registrations now; say which with --event ID")
    return open_now[0]


def plan(db: sqlite_utils.Database, rules: Rules, event: Event, people: list[Person],
         source_event: str | None = None) -> tuple[list[Invitee], list[Skipped]]:
    """Whom to invite, and whom not with the reason."""
    invitees: list[Invitee] = []
    skipped: list[Skipped] = []
    own = {a.lower() for a in rules.own_addresses}
    for person in people:   # each address once (read_people merges a list's repeated lines)
        address = person.address
        reason = _reason_to_skip(db, event, address, source_event) if address not in own else "our own address"
        audience = person.audience or known_audience(db, address) or guess_audience(rules, address)
        if reason is None and audience is None:
            reason = (f"cannot tell the audience; add an 'audience' column ({' or '.join(rules.audiences)}) "
                      "or give --audience")
        elif reason is None and audience and not rules.announcements.get(INVITATION, {}).get(audience):
            reason = f"rules.yaml has no template announcements.invitation.{audience}; add one"
        if reason is None and audience:
            invitees.append(Invitee(person, audience))
        else:
            skipped.append(Skipped(person, reason or ""))
    return invitees, skipped


def _reason_to_skip(db: sqlite_utils.Database, event: Event, address: str, source_event: str | None) -> str | None:
    invited = database.rows(db, "select i.invited_at, o.state from invites i left join outbox o "
                                "on o.id = i.outbox_id where i.event_id = ? and lower(i.address) = lower(?)",
                             [event.id, address])
    if invited:
        return f"invited already on {invited[0]['invited_at'][:10]} (that mail: {invited[0]['state'] or 'gone'})"
    rows = database.rows(db, "select event_id, status, bounced_at, updated_at from registrants where address = ? "
                             "order by id", [address])
    for row in rows:
        if row["status"] == RegistrantStatus.BOUNCED:
            return f"the address bounced ({(row['bounced_at'] or '')[:10]}, registration for {row['event_id']})"
    for row in rows:
        if row["event_id"] == event.id:
            if row["status"] == RegistrantStatus.CANCELLED:
                return f"cancelled their registration for {event.id}"
            return f"registered for {event.id} already (status {row['status']})"
    for row in rows:
        if row["status"] == RegistrantStatus.CANCELLED and (source_event is None or row["event_id"] == source_event):
            return f"cancelled their registration for {row['event_id']}"
    return None


def render(rules: Rules, replies: Replies, event: Event, invitee: Invitee, previous: Event | None) -> dict[str, Any]:
    """The invitation's mailbox, subject and text."""
    mailbox = rules.mailbox_for_audience(invitee.audience)
    box = rules.mailboxes[mailbox]
    person = invitee.person
    # The country a list or an earlier registration names, else what the address says.
    place = named_country(person.country) if person.country else None
    zone = place.zone if place else whereabouts(person.address)["time_zone"]
    context = {
        "event": {**event_context(event), "times": times_context(event, zone)},
        "registrant": registrant_context(person.name, person.address),
        "coordinator": coordinator_context(box),
        "previous_event": {**event_context(previous)} if previous else None,
    }
    rendered = replies.render(rules.announcements[INVITATION][invitee.audience], context)
    return {"mailbox": mailbox, "box": box, "subject": rendered.subject, "text": rendered.text}


def queue(db: sqlite_utils.Database, rules: Rules, replies: Replies, event: Event, invitees: list[Invitee], *,
          previous: Event | None, by: str) -> int:
    """Queue one invitation per invitee not invited meanwhile, in one transaction; returns how many."""
    queued = 0
    moment = database.clock_of(db)()
    with database.transaction(db):
        for invitee in invitees:
            person = invitee.person
            if _reason_to_skip(db, event, person.address, None if previous is None else previous.id):
                continue   # invited, registered or bounced since the plan was shown
            mail = render(rules, replies, event, invitee, previous)
            box = mail["box"]
            message_id = outbox.new_message_id(box.address)
            raw = outbox.compose(
                from_name=box.coordinator, from_address=box.address, to_name=person.name, to_address=person.address,
                subject=mail["subject"], text=mail["text"], message_id=message_id,
                role=outbox.invitation_role(event.id), date=moment, auto_submitted="auto-generated",
            )
            outbox.enqueue(
                db, raw=raw, message_id=message_id, kind=f"{INVITATION}:{event.id}", mailbox=mail["mailbox"],
                recipient=outbox.envelope_address(person.address), subject=mail["subject"],
                expires_at=event.registration_closes_at)
            outbox_id = database.rows(db, "select id from outbox where message_id = ?", [message_id])[0]["id"]
            database.insert(db, "invites", {
                "event_id": event.id, "address": person.address, "name": person.name, "audience": invitee.audience,
                "source": person.where, "outbox_id": outbox_id, "invited_at": now(db), "by": by})
            queued += 1
    log.info("event=%s %s invitations queued by %s", event.id, queued, by)
    return queued
