"""Retention: how long the raw mails (full text and attachments) stay in the database.

`keep_raw_mail_days_after_event: N` in rules.yaml keeps the raw bytes of every
mail about an event until N days after the event's end; then the purge sets
`messages.raw` to NULL and records `messages.raw_purged_at`, and empties the
bytes of a sent notice that forwarded that mail to the other coordinator
(`notice:misdirected`, which carries it as an attachment). Everything else
stays: sender, subject, audience, intent, reasons, the registrant, the
outbox, so `mailflow explain`, `registrants` and `status` work as before, and
the mail's content hash (computed now if it was not yet), which tells the mail
delivered again from another mail with its Message-ID. The server copy of
the mail is never touched (mailflow never deletes mail there).

Only mails that are done are purged (`processed` or `quarantined`); a mail
still `recorded` waits for the worker. A quarantined mail was never parsed and
so has no event_id: it counts for the event the worker would have chosen by
date (`events.match_event` without a parsed mail): the only event, else the
first one that had not ended when the mail arrived (recorded, for older rows), else the last one.
Mails of an event no longer in rules.yaml are kept (its end is unknown).

The purge turns SQLite's secure_delete on for its own statements (freed bytes
are overwritten with zeros) and then checkpoints the WAL with TRUNCATE, so the
purged bytes leave the database files too. The file does not shrink; a VACUUM
(daemon stopped) gives the space back.

`mailflow purge [--dry-run]` runs it by hand; the daemon calls `purge_raw_mail`
once a day.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlite_utils

from . import database
from .database import now as stamp
from .message import content_hash
from .rules import Event, Rules
from .states import MessageState, OutboxState

log = logging.getLogger(__name__)

DONE_STATES = (MessageState.PROCESSED, MessageState.QUARANTINED)


@dataclass
class EventRetention:
    """The raw mails still stored for one event, and whether their time is up."""

    event_id: str
    ends_at: datetime | None        # None: the event is no longer in rules.yaml
    keep_until: datetime | None     # None: kept forever (no setting, or the end is unknown)
    due: bool
    message_ids: list[int] = field(default_factory=list)   # processed or quarantined, raw still stored
    quarantined: int = 0            # of those, quarantined ones
    purged_before: int = 0          # raw mails of this event purged by an earlier run

    @property
    def count(self) -> int:
        return len(self.message_ids)


def plan(db: sqlite_utils.Database, rules: Rules, now: datetime) -> list[EventRetention]:
    """Per event (rules.yaml order, then unknown events): the raw mails stored and whether they are due."""
    now = _aware(now)
    days = rules.keep_raw_mail_days_after_event
    entries: dict[str, EventRetention] = {}
    for event in rules.events:
        keep_until = event.ends_at + timedelta(days=days) if days is not None else None
        entries[event.id] = EventRetention(event.id, event.ends_at, keep_until,
                                           due=keep_until is not None and keep_until < now)
    marks = ", ".join("?" * len(DONE_STATES))
    for message_id, event_id, state, recorded_at in db.execute(
        f"select id, event_id, state, coalesce(arrived_at, recorded_at) from messages "
        f"where raw is not null and state in ({marks}) order by id", list(DONE_STATES),
    ).fetchall():
        entry = _entry(entries, rules, event_id, recorded_at)
        entry.message_ids.append(message_id)
        entry.quarantined += state == MessageState.QUARANTINED
    for event_id, recorded_at in db.execute(
        "select event_id, coalesce(arrived_at, recorded_at) from messages where raw_purged_at is not null"
    ).fetchall():
        _entry(entries, rules, event_id, recorded_at).purged_before += 1
    return list(entries.values())


def _entry(entries: dict[str, EventRetention], rules: Rules, event_id: str | None,
           recorded_at: str | None) -> EventRetention:
    if event_id is None:  # quarantined: never parsed, so never matched to an event
        event_id = event_for_unparsed(rules, recorded_at).id
    if event_id not in entries:  # an event no longer in rules.yaml: its end is unknown
        entries[event_id] = EventRetention(event_id, None, None, due=False)
    return entries[event_id]


def purge(db: sqlite_utils.Database, rules: Rules, now: datetime, dry_run: bool = False) -> list[EventRetention]:
    """Blank the raw mails whose time is up (nothing changes with dry_run); returns what was (or would be) done."""
    entries = plan(db, rules, now)
    if dry_run or not (any(entry.due and entry.count for entry in entries) or _notices_left(db)):
        return entries
    previous = db.execute("PRAGMA secure_delete").fetchone()[0]
    db.execute("PRAGMA secure_delete = ON")  # freed bytes are overwritten with zeros, not just unlinked
    try:
        # The write lock first (BEGIN IMMEDIATE), then the plan again: the worker may have
        # processed mail meanwhile.
        with database.transaction(db):
            entries = plan(db, rules, now)
            due = [entry for entry in entries if entry.due and entry.count]
            at = stamp(db)
            db.conn.create_function("mailflow_content_hash", 1, content_hash, deterministic=True)
            for entry in due:
                db.execute("update messages set content_hash = coalesce(content_hash, mailflow_content_hash(raw)), "
                           "raw = null, raw_purged_at = ? where id in (select value from json_each(?)) "
                           "and raw is not null", [at, json.dumps(entry.message_ids)])
            notices = db.execute(f"update outbox set raw = x'' where {_NOTICES_LEFT}").rowcount if due or \
                _notices_left(db) else 0
    finally:
        db.execute(f"PRAGMA secure_delete = {int(previous)}")
    for entry in due:
        log.info("event=%s %s raw mails purged (kept until %s)", entry.event_id, entry.count,
                 entry.keep_until.isoformat(timespec="minutes") if entry.keep_until else "?")
    if notices:
        log.info("%s notices to a coordinator purged (they carried a purged mail as an attachment)", notices)
    _checkpoint(db)
    return entries


# Notices that forwarded a mail to the other coordinator carry it whole (original.eml); once that
# mail's raw bytes are purged, so is the copy. Queued or failed ones keep it until they are settled.
_NOTICES_LEFT = (f"kind like 'notice:%' and state in ('{OutboxState.SENT}', '{OutboxState.CANCELLED}') "
                 "and length(raw) > 0 "
                 "and source_message in (select id from messages where raw_purged_at is not null)")


def _notices_left(db: sqlite_utils.Database) -> bool:
    return db.execute(f"select 1 from outbox where {_NOTICES_LEFT} limit 1").fetchone() is not None


def purge_raw_mail(db: sqlite_utils.Database, rules: Rules, now: datetime) -> int:
    """For the daemon, once a day: purge what is due; returns how many raw mails were purged."""
    if rules.keep_raw_mail_days_after_event is None:
        return 0
    return purged_count(purge(db, rules, now))


def purged_count(entries: Iterable[EventRetention]) -> int:
    """How many raw mails a purge removed (or a dry run would remove)."""
    return sum(entry.count for entry in entries if entry.due)


def event_for_unparsed(rules: Rules, recorded_at: str | None) -> Event:
    """The event of a mail that was never parsed: match_event's choice by date, with the time it arrived
    (or, recorded before arrival times were kept, the time it was recorded)."""
    if len(rules.events) == 1:
        return rules.events[0]
    try:
        moment = _aware(datetime.fromisoformat(recorded_at)) if recorded_at else None
    except ValueError:
        moment = None
    upcoming = sorted((e for e in rules.events if moment is None or e.ends_at >= moment), key=lambda e: e.starts_at)
    return upcoming[0] if upcoming else max(rules.events, key=lambda e: e.starts_at)


def _aware(moment: datetime) -> datetime:
    """A naive time is taken as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _checkpoint(db: sqlite_utils.Database) -> None:
    busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    if busy:
        # Not an error: the next checkpoint (SQLite runs them on its own) moves the rest.
        log.warning("raw mails purged, but another program was reading the database; old copies stay in "
                    "the write-ahead log until the next checkpoint")
