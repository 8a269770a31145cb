"""Registrants: one per (event, normalized address), whichever inbox they wrote to."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import sqlite_utils

from . import database
from .clock import stamp
from .countries import locate
from .database import clock_of, now
from .organisations import organisation_of
from .states import ACTIVE_STATUSES, OutboxState, RegistrantStatus
from .text import Written

if TYPE_CHECKING:
    from .rules import Rules


def of_unnamed_events(db: sqlite_utils.Database | sqlite3.Connection, named: Iterable[str],
                      now: datetime | None = None) -> dict[str, tuple[int, int, int]]:
    """Per event id the database has registrants of that is not in `named` (rules.yaml's ids): how many
    registrants, how many of them active, and how many mails to them still wait to be sent. An event's id is
    how the database knows its people: after a rename releases, reminders and cancellations find none. With
    `now`, not an event the database knows to be over by then (its confirmations' end, `outbox.expires_at`):
    the last one of a series, removed from rules.yaml for the next, is history, no rename."""
    named = list(named)
    marks, active = ",".join("?" * len(named)) or "null", ",".join("?" * len(ACTIVE_STATUSES))
    rows = db.execute(f"select event_id, count(*), sum(status in ({active})) from registrants where event_id "
                      f"not in ({marks}) group by event_id order by event_id", [*ACTIVE_STATUSES, *named])
    counts = {event_id: (total, active_count) for event_id, total, active_count in rows}
    if counts and now is not None:
        ended = dict(db.execute(
            f"select r.event_id, max(o.expires_at) from outbox o join registrants r on r.id = o.registrant_id "
            f"where r.event_id in ({','.join('?' * len(counts))}) and o.expires_at is not null group by r.event_id",
            list(counts)).fetchall())
        counts = {event_id: n for event_id, n in counts.items()
                  if not (ended.get(event_id) and ended[event_id] <= stamp(now))}
    if not counts:
        return {}
    # (by the outbox's state index: the mail still to send is a few rows, the outbox may hold every mail ever sent)
    waiting = dict(db.execute(
        "select r.event_id, count(*) from outbox o join registrants r on r.id = o.registrant_id "
        "where o.state in (?, ?, ?) group by r.event_id", [OutboxState.QUEUED, OutboxState.SENDING,
                                                            OutboxState.UNCERTAIN]).fetchall())
    return {event_id: (total, active_count, waiting.get(event_id, 0))
            for event_id, (total, active_count) in counts.items()}


def orphans_note(db: sqlite_utils.Database, rules: Rules, event_id: str) -> str | None:
    """For a release or reminder of `event_id` that has no registrants at all: the events rules.yaml no longer names
    whose registrants the database holds (renamed?); None when there are none or the event has registrants."""
    if db.execute("select 1 from registrants where event_id = ? limit 1", [event_id]).fetchone():
        return None
    orphaned = of_unnamed_events(db, [event.id for event in rules.events], clock_of(db)())
    if not orphaned:
        return None
    others = ", ".join(f"{total} registrant{'' if total == 1 else 's'} of event {old!r}"
                       for old, (total, _, _) in orphaned.items())
    back = f"`id: {next(iter(orphaned))}`" if len(orphaned) == 1 else "its old id"
    return (f"event {event_id!r} has no registrants, but the database holds {others}, which {rules.source} "
            f"(line {rules.line_of('events')}, `events:`) no longer names: if you renamed the event, put {back} "
            "back (ids cannot change once people registered); `mailflow check` lists them")


def find(db: sqlite_utils.Database, event_id: str, address: str) -> dict | None:
    rows = database.rows(db, "select * from registrants where event_id = ? and address = ?", [event_id, address])
    return rows[0] if rows else None


# A signature is a few lines; a hostile mail's "signature" of a megabyte would cost the phone number
# matcher seconds. Only its start is read.
MAX_SIGNATURE_CHARS = 2000


def whereabouts(address: str, written: Written | None = None) -> dict[str, str | None]:
    """Organisation, country (ISO code) and time zone of a person: from the signature of their mail
    (`written`, its first MAX_SIGNATURE_CHARS), else from their address (organisations.py, countries.py)."""
    place = locate(address, written.evidence_signature[:MAX_SIGNATURE_CHARS] if written else "")
    return {"organisation": organisation_of(address, written.signature[:MAX_SIGNATURE_CHARS] if written else ""),
            "country": place.country if place else None, "time_zone": place.zone if place else None}


def recorded_whereabouts(row: dict) -> dict[str, str | None]:
    """What `register` recorded for a registrant row; for a row from before it recorded anything
    (all three empty), what the address says now."""
    about = {key: row.get(key) for key in ("organisation", "country", "time_zone")}
    return about if any(about.values()) else whereabouts(row["address"])


def register(
    db: sqlite_utils.Database, event_id: str, address: str, name: str, audience: str | None, message: int | None,
    status: RegistrantStatus = RegistrantStatus.REGISTERED, registered_by: str | None = None,
    written: Written | None = None,
) -> dict:
    """Record interest; a known registrant keeps their record (a cancelled one is registered again).
    `registered_by` is the address of whoever registered them on their behalf; `written` their own
    mail's text, whose signature names their organisation and phone (else the address is used)."""
    stamp = now(db)
    about = whereabouts(address, written)
    values = {"event_id": event_id, "address": address, "name": name, "audience": audience,
              "status": status, "first_message": message, "created_at": stamp, "updated_at": stamp, **about}
    if registered_by:
        values["registered_by"] = registered_by
    new_id = database.insert(db, "registrants", values, ignore=True)   # unique (event_id, address)
    if new_id:
        return {"id": new_id, **values}
    existing = find(db, event_id, address)
    assert existing is not None
    changes: dict[str, str] = {}
    if existing["status"] == RegistrantStatus.CANCELLED:
        changes["status"] = status
    if name and not existing["name"]:
        changes["name"] = name
    changes.update({key: value for key, value in about.items() if value and not existing.get(key)})
    if changes:
        db.table("registrants").update(existing["id"], {**changes, "updated_at": now(db)})
        existing.update(changes)
    return existing


def is_registered(db: sqlite_utils.Database, address: str, event_ids: Sequence[str] | None = None) -> bool:
    """Whether the address is registered (a bounced registrant still is) for one of `event_ids`, or for any event."""
    statuses = (*ACTIVE_STATUSES, RegistrantStatus.BOUNCED)
    sql = f"select 1 from registrants where address = ? and status in ({','.join('?' * len(statuses))})"
    args: list = [address, *statuses]
    if event_ids is not None:
        sql += f" and event_id in ({','.join('?' * len(event_ids))})"
        args += event_ids
    return db.execute(sql + " limit 1", args).fetchone() is not None


def cancel(db: sqlite_utils.Database, event_id: str, address: str) -> dict | None:
    existing = find(db, event_id, address)
    if existing and existing["status"] != RegistrantStatus.CANCELLED:
        db.table("registrants").update(existing["id"], {"status": RegistrantStatus.CANCELLED, "updated_at": now(db)})
        existing["status"] = RegistrantStatus.CANCELLED
    return existing


def mark_undeliverable(db: sqlite_utils.Database, address: str) -> int:
    """A bounce names this address: no more mail to it, for any event, whatever the active status
    (which is kept, to return to when they write again). A cancelled registrant stays cancelled."""
    stamp = now(db)
    marks = ",".join("?" * len(ACTIVE_STATUSES))
    return db.execute(
        f"update registrants set status_before_bounce = status, status = ?, bounced_at = ?, updated_at = ? "
        f"where address = ? and status in ({marks})",
        [RegistrantStatus.BOUNCED, stamp, stamp, address.lower(), *ACTIVE_STATUSES],
    ).rowcount


def reactivate(db: sqlite_utils.Database, address: str) -> int:
    """They wrote from a bounced address: back to the status they had (registered when unknown)."""
    return db.execute(
        "update registrants set status = coalesce(status_before_bounce, ?), status_before_bounce = null, "
        "updated_at = ? where address = ? and status = ?",
        [RegistrantStatus.REGISTERED, now(db), address.lower(), RegistrantStatus.BOUNCED],
    ).rowcount


def approve(
    db: sqlite_utils.Database, event_id: str, address: str | None = None, *, by: str,
    waiting: tuple[RegistrantStatus, ...] = (RegistrantStatus.PENDING,),
) -> list[str]:
    """Approve one registrant waiting for approval (by address) or, with address None, all of them.

    `waiting` says which statuses wait: `pending`, and `registered` too when an event began to
    require approval after people had registered. Each approval is a row in `corrections`.
    """
    marks = ",".join("?" * len(waiting))
    where, args = f"event_id = ? and status in ({marks})", [event_id, *waiting]
    if address is not None:
        where, args = where + " and address = ?", [*args, address.lower()]
    approved = []
    with database.transaction(db):
        for row in database.rows(db, f"select id, address, status from registrants where {where} order by id", args):
            stamp = now(db)
            database.update(db, "registrants", row["id"], {"status": RegistrantStatus.APPROVED, "updated_at": stamp})
            database.insert(db, "corrections", {"registrant_id": row["id"], "field": "status", "old": row["status"],
                                                "new": RegistrantStatus.APPROVED, "by": by, "at": stamp})
            approved.append(row["address"])
    return approved
