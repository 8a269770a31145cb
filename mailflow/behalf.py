"""Registration on behalf of others, at the edge: register the people a mail named (nominations.py
decided whom) and queue the confirmation each of them gets, saying who registered them and that
answering it withdraws the registration.

Used by the worker (inside the mail's transaction) and by `mailflow registrants confirm` (a
coordinator settling a mail mailflow was unsure about). The summary for the sender is a reply
like any other (worker._reply, with `summary_context`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from . import database, outbox, registrants, releases
from .addresses import InvalidAddress, normalize_address
from .context import reply_context
from .database import now
from .errors import MailflowError
from .history import find_message
from .nominations import Nominations, Nominee
from .replies import RenderedReply, Replies
from .rules import Event, Rules
from .states import RegistrantStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Registered:
    nominee: Nominee
    registrant: dict
    already: bool   # registered before this mail: no second confirmation


def register(
    db: sqlite_utils.Database, rules: Rules, replies: Replies, event: Event, source_message: int,
    sender: str, sender_name: str, nominations: Nominations, status: RegistrantStatus,
) -> list[Registered]:
    """Register each nominee with registered_by = sender and queue a confirmation to each new one.
    Call inside a transaction; a template problem (TemplateProblem) rolls it back."""
    done = []
    known = already_registered(db, event.id, nominations)
    for nominee in nominations.nominees:
        already = nominee.address in known
        row = registrants.register(db, event.id, nominee.address, nominee.name, nominee.audience, source_message,
                                   status, registered_by=sender)
        if not already:
            _queue_confirmation(db, rules, replies, event, source_message, row, sender, sender_name)
        # Ids only: the addresses stay out of the log (forget cannot erase a log).
        log.info("message=%s registrant=%s registered on behalf of others%s", source_message, row["id"],
                 " (already registered)" if already else "")
        done.append(Registered(nominee, row, already))
    if nominations.sender_replaced:
        give_place(db, rules, replies, event, sender)
    return done


def give_place(db: sqlite_utils.Database, rules: Rules, replies: Replies, event: Event, sender: str) -> bool:
    """"X will attend instead of me": the sender's own registration is cancelled and their calendar's
    invitation taken back (they kept the link and the reminders beside X). True when it was active."""
    existing = registrants.find(db, event.id, sender)
    if existing is None or existing["status"] == RegistrantStatus.CANCELLED:
        return False
    cancelled = registrants.cancel(db, event.id, sender)
    assert cancelled is not None
    releases.withdraw_invitation(db, rules, replies, cancelled)
    log.info("registrant=%s event=%s cancelled: someone takes their place", existing["id"], event.id)
    return True


def already_registered(db: sqlite_utils.Database, event_id: str, nominations: Nominations) -> set[str]:
    """The nominees' addresses that are registered for the event already (and not cancelled)."""
    found = (registrants.find(db, event_id, n.address) for n in nominations.nominees)
    return {row["address"] for row in found if row and row["status"] != RegistrantStatus.CANCELLED}


def summary_context(nominations: Nominations, sender_registered: bool, known: AbstractSet[str] = frozenset()) -> dict:
    """What the sender's summary lists: `registered` (name, address, already) and `sender_registered`."""
    return {
        "registered": [{"name": n.name, "address": n.address, "already": n.address in known}
                       for n in nominations.nominees],
        "sender_registered": sender_registered,
    }


def confirmation_context(
    rules: Rules, event: Event, mailbox: str, name: str, address: str, by_name: str, by_address: str, *,
    now: datetime,
) -> dict[str, Any]:
    return {**reply_context(rules, event, mailbox, name, address, "", now=now),
            "registered_by": {"name": by_name, "address": by_address}}


def confirm(db: sqlite_utils.Database, rules: Rules, replies: Replies, ref: str, *, by: str) -> list[dict]:
    """A coordinator settles a mail mailflow was unsure about: register the people it proposed (those
    with an address, and the sender when they said they attend), queue the nominees' confirmations
    and close the mail in `mailflow questions`. Returns the registrant rows."""
    row = find_message(db, ref)
    if not row["nominations"]:
        raise MailflowError(f"message {row['id']} registers nobody on behalf of others; "
                            "`mailflow explain` shows how it was read")
    if not row["review"]:
        raise MailflowError(f"message {row['id']} was not left to a coordinator: mailflow registered its people "
                            "already (`mailflow registrants` shows them)")
    if row["question_closed_at"]:
        raise MailflowError(f"message {row['id']} was settled already, at {row['question_closed_at']}")
    nominations = Nominations.from_dict(json.loads(row["nominations"]))
    if not nominations.nominees and not (nominations.sender_attends and row["sender"]):
        raise MailflowError(f"message {row['id']} names nobody with an address; register people with "
                            "`mailflow registrants add ADDRESS --name NAME --registered-by SENDER`")
    event = _event(rules, row["event_id"])
    status = event.new_registrant_status
    name = _sender_name(row["raw"])
    registered = []
    with database.transaction(db):
        done = register(db, rules, replies, event, row["id"], row["sender"], name, nominations, status)
        registered = [r.registrant for r in done]
        if nominations.sender_attends and row["sender"]:
            sender = registrants.register(db, event.id, row["sender"], name, row["audience"], row["id"], status)
            database.update(db, "messages", row["id"], {"registrant_id": sender["id"]})
            registered.append(sender)
        database.update(db, "messages", row["id"], {"question_closed_at": now(db)})
    log.info("message=%s on-behalf registration confirmed by %s: %s registrants", row["id"], by, len(registered))
    return registered


def add(
    db: sqlite_utils.Database, rules: Rules, replies: Replies, address: str, name: str, *,
    event_id: str | None, registered_by: str | None, audience: str | None, by: str,
) -> dict:
    """A coordinator registers a person by hand (e.g. the colleague a mail named without an address).
    With `registered_by` the person gets the confirmation saying who registered them."""
    address = _valid(address, "ADDRESS")
    registered_by = _valid(registered_by, "--registered-by") if registered_by else None
    if not name.strip():
        raise MailflowError("--name is empty; give the person's name, e.g. --name \"Armen Hakobyan\"")
    event = _event(rules, event_id)
    _not_registered(db, event, address)
    audience = audience or _audience_of(db, registered_by)
    if audience is None:
        raise MailflowError(f"cannot tell the audience of {address}; say which with --audience "
                            f"({', '.join(rules.audiences)})")
    if audience not in rules.audiences:
        raise MailflowError(f"unknown audience {audience!r}; rules.yaml has: {', '.join(rules.audiences)}")
    status = event.new_registrant_status
    with database.transaction(db):
        known = _not_registered(db, event, address)
        row = registrants.register(db, event.id, address, name.strip(), audience, None, status,
                                   registered_by=registered_by)
        database.insert(db, "corrections", {"registrant_id": row["id"], "field": "status",
                                            "old": known["status"] if known else None, "new": status,
                                            "by": by, "at": now(db)})
        if registered_by and rules.on_behalf.get("confirmation", {}).get(audience):
            known_by = database.rows(db, "select name from registrants where address = ? and name != '' "
                                         "order by id desc limit 1", [registered_by])
            _queue_confirmation(db, rules, replies, event, None, row, registered_by,
                                known_by[0]["name"] if known_by else "")
    log.info("registrant=%s added by %s", row["id"], by)
    return row


def _not_registered(db: sqlite_utils.Database, event: Event, address: str) -> dict | None:
    """The cancelled registration of `address`, if any; an error when they are registered."""
    known = registrants.find(db, event.id, address)
    if known and known["status"] != RegistrantStatus.CANCELLED:
        raise MailflowError(f"{address} is registered for {event.id} already (status {known['status']}); "
                            "`mailflow registrants` shows them")
    return known


def _valid(address: str, what: str) -> str:
    try:
        return normalize_address(address)
    except InvalidAddress as exc:
        raise MailflowError(f"{what}: {exc}; write it as name@domain, e.g. a.hakobyan@yerevan.am") from None


def _event(rules: Rules, event_id: str | None) -> Event:
    events = {event.id: event for event in rules.events}
    if event_id is None:
        if len(events) > 1:
            raise MailflowError(f"rules.yaml has several events; say which with --event ({', '.join(events)})")
        return rules.events[0]
    if event_id not in events:
        raise MailflowError(f"no event {event_id!r} in rules.yaml (known: {', '.join(events)})")
    return events[event_id]


def _audience_of(db: sqlite_utils.Database, address: str | None) -> str | None:
    """The audience of whoever registered the person: their latest mail or registration."""
    if not address:
        return None
    for sql in ("select audience from messages where lower(sender) = ? and audience is not null order by id desc",
                "select audience from registrants where address = ? and audience is not null order by id desc"):
        found = database.rows(db, sql + " limit 1", [address])
        if found:
            return found[0]["audience"]
    return None


def _sender_name(raw: bytes | None) -> str:
    from .message import parse_message

    try:
        return parse_message(raw).sender_name if raw else ""
    except MailflowError:
        return ""


def _queue_confirmation(
    db: sqlite_utils.Database, rules: Rules, replies: Replies, event: Event, source_message: int | None, row: dict,
    sender: str, sender_name: str,
) -> None:
    audience = row["audience"]
    from_box = rules.mailbox_for_audience(audience)
    moment = database.clock_of(db)()
    rendered = replies.render(rules.on_behalf["confirmation"][audience], confirmation_context(
        rules, event, from_box, row["name"] or "", row["address"], sender_name, sender, now=moment))
    queue_confirmation(db, rules, event, source_message, row, rendered)


def queue_confirmation(db: sqlite_utils.Database, rules: Rules, event: Event, source_message: int | None, row: dict,
                       rendered: RenderedReply) -> None:
    """Queue `rendered` to registrant `row` from its audience's coordinator, once (kind confirmation:ID).
    Also the confirmation of an imported registrant (imports.py)."""
    mailbox = rules.mailbox_for_audience(row["audience"])
    box = rules.mailboxes[mailbox]
    moment = database.clock_of(db)()
    message_id = outbox.new_message_id(box.address)
    raw = outbox.compose(
        from_name=box.coordinator, from_address=box.address, to_name=row["name"] or "", to_address=row["address"],
        subject=rendered.subject, text=rendered.text, message_id=message_id, role=outbox.CONFIRMATION,
        auto_submitted="auto-generated",
        date=moment,
    )
    # Like the sender's own confirmation, it promises the agenda "in due course": not after the event.
    outbox.enqueue(db, raw=raw, message_id=message_id, kind=f"confirmation:{row['id']}", mailbox=mailbox,
                   recipient=outbox.envelope_address(row["address"]), subject=rendered.subject,
                   source_message=source_message, registrant_id=row["id"], expires_at=event.ends_at)
