"""Registrants: one per (event, normalized address), whichever inbox they wrote to."""

from __future__ import annotations

from collections.abc import Sequence

import sqlite_utils

from . import database
from .countries import locate
from .database import now
from .organisations import organisation_of
from .states import ACTIVE_STATUSES, RegistrantStatus
from .text import Written


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
