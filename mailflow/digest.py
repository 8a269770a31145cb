"""The daily digest: one mail a day to each coordinator, at a time of day in their own zone.

`queue_due()` runs at the end of every worker pass. For each mailbox whose digest time of today (in
its `digest.timezone`) has passed and whose day has no row in `digests` yet, it gathers what the
coordinator should know since the last digest, renders `digest_<language>.txt` and queues it in the
outbox (From and To the mailbox's own address, `X-Mailflow: digest`), in one transaction with the
day's row. The row's primary key (mailbox, local day) makes it once a day whatever restarts; a
daemon that was down at that time sends it at its first pass later that day, never the next day.
A day with nothing to say gets its row and no mail.

Sections, in order: health (health.py), new registrants, cancellations, open questions with their
age, mails waiting for a human, bounces and failed sends, and what is scheduled. "Something to say"
is any section but the last: a reminder weeks ahead alone is no reason for a mail.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlite_utils

from . import database, health, outbox
from .clock import parse_stamp, stamp
from .context import digest_template
from .people import shown_whereabouts
from .replies import Replies, TemplateProblem
from .rules import Rules
from .states import AUTOMATIC_INTENTS, Intent, MessageState, OutboxState, RegistrantStatus

log = logging.getLogger(__name__)

FIRST_LOOK_BACK = timedelta(days=1)   # the first digest of a mailbox covers the day before it
NEWS = ("health", "registrants", "cancellations", "questions", "waiting", "bounces", "failed")


def zone_of(rules: Rules, mailbox: str) -> ZoneInfo:
    """The mailbox's digest.timezone, else the first event's zone."""
    return ZoneInfo(rules.mailboxes[mailbox].digest.timezone or rules.events[0].timezone)


@dataclass(frozen=True)
class Due:
    mailbox: str
    day: date          # the coordinator's local day
    at: datetime       # when the digest of that day is due (aware)


def due(rules: Rules, moment: datetime) -> list[Due]:
    """The mailboxes whose digest time of their local today has come by `moment` (pure)."""
    found = []
    for name, box in rules.mailboxes.items():
        if not box.digest.enabled:
            continue
        zone = zone_of(rules, name)
        day = moment.astimezone(zone).date()
        at = datetime.combine(day, box.digest.time, tzinfo=zone)
        if moment >= at:
            found.append(Due(name, day, at))
    return found


def queue_due(db: sqlite_utils.Database, rules: Rules, replies: Replies, moment: datetime) -> int:
    """Queue each due digest not decided yet (see the module's text); returns how many were queued. A
    template problem leaves that day undecided (tried again at the next pass) and is raised after the
    other mailboxes' digests."""
    queued = 0
    problems: list[TemplateProblem] = []
    for item in due(rules, moment):
        if _decided(db, item):
            continue
        try:
            with database.transaction(db):
                if _decided(db, item):   # another process decided it meanwhile
                    continue
                since = _since(db, item.mailbox) or moment - FIRST_LOOK_BACK
                context = gather(db, rules, item.mailbox, since, moment)
                message_id = _queue(db, rules, replies, item, context, moment) if has_news(context) else None
                database.insert(db, "digests", {
                    "mailbox": item.mailbox, "day": item.day.isoformat(), "due_at": stamp(item.at),
                    "since": stamp(since), "until": stamp(moment), "message_id": message_id,
                })
        except TemplateProblem as exc:
            problems.append(exc)
            continue
        if message_id:
            queued += 1
            log.info("mailbox=%s digest of %s queued message_id=%s", item.mailbox, item.day, message_id)
        else:
            log.info("mailbox=%s digest of %s: nothing to say, no mail", item.mailbox, item.day)
    if problems:
        raise problems[0]
    return queued


def _decided(db: sqlite_utils.Database, item: Due) -> bool:
    return db.execute("select 1 from digests where mailbox = ? and day = ?",
                      [item.mailbox, item.day.isoformat()]).fetchone() is not None


def _since(db: sqlite_utils.Database, mailbox: str) -> datetime | None:
    """Where the last digest that was not cancelled (it expires at the end of its day) stopped."""
    row = db.execute(
        """select max(d.until) from digests d where d.mailbox = ? and (d.message_id is null or not exists
               (select 1 from outbox o where o.message_id = d.message_id and o.state = ?))""",
        [mailbox, OutboxState.CANCELLED]).fetchone()
    return parse_stamp(row[0]) if row and row[0] else None


def _queue(db: sqlite_utils.Database, rules: Rules, replies: Replies, item: Due, context: dict,
           moment: datetime) -> str:
    box = rules.mailboxes[item.mailbox]
    rendered = replies.render(digest_template(box.language), context)
    message_id = outbox.new_message_id(box.address)
    raw = outbox.compose(
        from_name="mailflow", from_address=box.address, to_name=box.coordinator, to_address=box.address,
        # (with its day: a database restored from a backup finds it in Sent and does not send it again)
        subject=rendered.subject, text=rendered.text, message_id=message_id, role=f"{outbox.DIGEST} {item.day}",
        date=moment,
        auto_submitted="auto-generated",
    )
    # Pointless after its day: a digest that cannot go out by then is cancelled, and the next one
    # covers its time too (_since).
    end_of_day = datetime.combine(item.day + timedelta(days=1), time(0), tzinfo=item.at.tzinfo)
    outbox.enqueue(db, raw=raw, message_id=message_id, kind=f"digest:{item.day.isoformat()}",
                   mailbox=item.mailbox, recipient=outbox.envelope_address(box.address),
                   subject=rendered.subject, expires_at=end_of_day)
    return message_id


def has_news(context: dict) -> bool:
    return any(context[section] for section in NEWS)


# -- what the digest says ------------------------------------------------------------


def gather(db: sqlite_utils.Database, rules: Rules, mailbox: str, since: datetime, moment: datetime) -> dict:
    """The digest's template context for `mailbox`'s coordinator, from the database (read only)."""
    zone = zone_of(rules, mailbox)
    box = rules.mailboxes[mailbox]
    audience = rules.audience_of(mailbox)
    after = stamp(since)

    def local(text: str | None) -> str:
        return _local(parse_stamp(text), zone) if text else ""

    problems = health.problems(db, list(rules.mailboxes), moment)
    titles = {event.id: event.title for event in rules.events}
    return {
        "coordinator": {"name": box.coordinator, "address": box.address},
        "mailbox": mailbox, "audience": audience,
        "day": moment.astimezone(zone).date().isoformat(), "since": _local(since, zone), "zone": str(zone),
        "health": [{"mailbox": p.mailbox, "kind": str(p.kind), "since": _local(p.since, zone), "cause": p.cause}
                   for p in problems],
        "registrants": [
            {"name": r["name"] or "", "address": r["address"],
             **{key: value or "" for key, value in shown_whereabouts(r, box.language).items() if key != "time_zone"},
             "audience": r["audience"] or "",
             "registered_by": r["registered_by"] or "", "event": titles.get(r["event_id"], r["event_id"]),
             "at": local(r["created_at"])}
            for r in database.rows(db, "select * from registrants where audience = ? and created_at > ? "
                                       "and status != ? order by created_at, id",
                                   [audience, after, RegistrantStatus.CANCELLED])],
        "cancellations": [
            {"name": r["name"] or "", "address": r["address"], "event": titles.get(r["event_id"], r["event_id"]),
             "at": local(r["updated_at"])}
            for r in database.rows(db, "select * from registrants where audience = ? and status = ? "
                                       "and updated_at > ? order by updated_at, id",
                                   [audience, RegistrantStatus.CANCELLED, after])],
        "questions": [
            {"id": r["id"], "sender": r["sender"] or "", "subject": r["subject"] or "", "at": local(r["arrived"]),
             **_age(moment - parse_stamp(r["arrived"]))}
            for r in database.rows(db, f"""select id, sender, subject, coalesce(arrived_at, recorded_at) as arrived
                                   from messages where {_OPEN} and (intent = ? or asks = 1) and mailbox = ?
                                   order by id""", [MessageState.PROCESSED, Intent.QUESTION, mailbox])],
        "waiting": _waiting(db, box.address, mailbox, after, local),
        "bounces": [
            {"address": r["address"], "name": r["name"] or "", "at": local(r["bounced_at"]),
             "reason": r["reason"] or ""}
            for r in database.rows(db, """select r.address, r.name, r.bounced_at, (select m.subject from messages m
                                       where m.intent = ? and m.processed_at >= r.bounced_at order by m.id limit 1)
                                       as reason from registrants r where r.audience = ? and r.status = ?
                                       and r.bounced_at > ? order by r.bounced_at""",
                                   [Intent.BOUNCE, audience, RegistrantStatus.BOUNCED, after])],
        "failed": [
            {"id": r["id"], "recipient": r["recipient"], "subject": r["subject"] or "", "state": r["state"],
             "error": r["error"] or "", "at": local(r["created_at"])}
            for r in database.rows(db, "select * from outbox where mailbox = ? and state in (?, ?) order by id",
                                   [mailbox, OutboxState.FAILED, OutboxState.UNCERTAIN])],
        "scheduled": _scheduled(db, rules, moment, zone),
    }


# An open question or a mail waiting for a coordinator: processed, not answered before this database
# knew it, not closed (`mailflow questions --close`).
_OPEN = "state = ? and answered_before is null and question_closed_at is null"


def _waiting(db: sqlite_utils.Database, address: str, mailbox: str, after: str, local: Any) -> list[dict]:
    """Mails for a human: registrations on behalf of others to confirm and mails flagged for attention
    (until closed); since the last digest, mails of low confidence, quarantined ones, and mails that
    arrived at the other mailbox and were handed over to this coordinator."""
    automatic = sorted(AUTOMATIC_INTENTS)
    marks = ",".join("?" * len(automatic))
    rows = database.rows(db, f"""
        select id, sender, subject, coalesce(arrived_at, recorded_at) as arrived, review, attention, state,
               error from messages
        where mailbox = ? and ((({_OPEN}) and (review = 1 or attention is not null))
              or (state = ? and answered_before is null and confidence = 'low' and intent not in ({marks})
                  and processed_at > ?)
              or (state = ? and processed_at > ?))
        order by id""", [mailbox, MessageState.PROCESSED, MessageState.PROCESSED, *automatic, after,
                         MessageState.QUARANTINED, after])
    found = []
    for r in rows:
        why = ("to_confirm" if r["review"] else "attention" if r["attention"]
               else "quarantined" if r["state"] == MessageState.QUARANTINED else "low_confidence")
        found.append({"id": r["id"], "sender": r["sender"] or "", "subject": r["subject"] or "", "why": why,
                      "detail": r["attention"] or r["error"] or "", "at": local(r["arrived"])})
    for r in database.rows(db, """select m.id, m.mailbox, m.sender, m.subject, o.created_at from outbox o
                                  join messages m on m.id = o.source_message where o.kind like 'notice:%'
                                  and lower(o.recipient) = lower(?) and o.created_at > ? order by o.id""",
                           [address, after]):
        found.append({"id": r["id"], "sender": r["sender"] or "", "subject": r["subject"] or "",
                      "why": "handed_over", "detail": r["mailbox"], "at": local(r["created_at"])})
    return found


def _scheduled(db: sqlite_utils.Database, rules: Rules, moment: datetime, zone: ZoneInfo) -> list[dict]:
    """Pending reminders and releases rules.yaml sets a `send_at` for, of events not over, soonest first."""
    events = {event.id: event for event in rules.events if not event.over(moment)}
    items = [(parse_stamp(r["due_at"]), r["name"].partition(":")[0], r["event_id"])
             for r in db.table("scheduled").rows_where("state = 'pending'") if r["event_id"] in events]
    for event in events.values():
        for kind, release in (("agenda", event.releases.agenda), ("access", event.releases.access)):
            if release.send_at and event.zoned(release.send_at) > moment:
                items.append((event.zoned(release.send_at), kind, event.id))
    return [{"what": what, "event": events[event_id].title, "at": _local(at, zone)}
            for at, what, event_id in sorted(items, key=lambda item: item[0].astimezone(UTC))]


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def _age(delta: timedelta) -> dict:
    hours = max(int(delta.total_seconds() // 3600), 0)
    return {"days": hours // 24, "hours": hours}
