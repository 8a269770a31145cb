"""Releases: the agenda and the access details promised "in due course", and reminders.

A release is a versioned record (event, kind, version). Fan-out never sends
directly: it queues one outbox row per eligible registrant with the kind
`release:agenda:v2`, and a unique (registrant, kind) key makes every fan-out
idempotent. So the same function serves a fresh release, a crash in the middle,
a late registrant and a newly approved one: each call queues what is missing.

Reminders are rows in `scheduled` with a due time; the row is marked done in
the same transaction that queues the mails, so a restarted daemon sends an
overdue reminder once, and a reminder whose moment has passed the event's end
is skipped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import mimetypes
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import sqlite_utils

from . import database, invitations, outbox
from .bounces import held, is_held
from .changes import describe
from .context import coordinator_context, event_context, registrant_context, times_context
from .database import now
from .errors import MailflowError, RulesProblem, not_utf8
from .invitation import Invitation, event_calendar
from .outbox import Attachment
from .registrants import orphans_note, recorded_whereabouts
from .replies import Replies
from .rules import Event, Rules, parse_duration
from .states import ACTIVE_STATUSES, OutboxState, RegistrantStatus

log = logging.getLogger(__name__)

AGENDA, ACCESS, REMINDER = "agenda", "access", "reminder"
# The mail with an invitation's METHOD:CANCEL, to a registrant who cancelled after one reached them.
CALENDAR_CANCEL: Final = "calendar_cancel"
# A thank-you or the recording after the event: only ever released by a coordinator (`mailflow release
# followup`), never from rules.yaml, so it is the one kind that goes out when the event is over.
FOLLOWUP = "followup"
FAN_OUT_BATCH = 100


@dataclass(frozen=True)
class Release:
    """One version of an agenda or of the access details; `id` is None until saved."""

    event_id: str
    kind: str
    version: int
    text: str | None = None
    link: str | None = None
    attachment_name: str | None = None
    attachment: bytes | None = None
    id: int | None = None

    @property
    def outbox_kind(self) -> str:
        return f"release:{self.kind}:v{self.version}"

    @property
    def content_hash(self) -> str:
        digest = hashlib.sha256()
        for part in (self.text or "", self.link or "", self.attachment_name or ""):
            digest.update(part.encode() + b"\0")
        digest.update(self.attachment or b"")
        return digest.hexdigest()


def _row_to_release(row: dict) -> Release:
    return Release(
        event_id=row["event_id"], kind=row["kind"], version=row["version"], text=row["text"], link=row["link"],
        attachment_name=row["attachment_name"], attachment=row["attachment"], id=row["id"],
    )


def latest(db: sqlite_utils.Database, event_id: str, kind: str) -> Release | None:
    rows = list(db.table("releases").rows_where("event_id = ? and kind = ?", [event_id, kind],
                                          order_by="version desc", limit=1))
    return _row_to_release(rows[0]) if rows else None


def candidate(
    db: sqlite_utils.Database, event_id: str, kind: str, *, text: str | None = None, link: str | None = None,
    attachment: Path | None = None,
) -> tuple[Release, bool]:
    """The release these contents make: (release, is_new). Unchanged contents give the latest version back."""
    if kind not in (AGENDA, ACCESS, FOLLOWUP):
        raise MailflowError(f"unknown release kind {kind!r}; use agenda, access or followup")
    if kind == ACCESS and not link:
        raise MailflowError("access details need a link (--link URL)")
    if kind in (AGENDA, FOLLOWUP) and not (text or attachment):
        raise MailflowError(f"a {kind} needs a text (--text FILE) or a file (--file FILE)")
    data = None
    if attachment is not None:
        try:
            data = attachment.read_bytes()
        except OSError as exc:
            raise MailflowError(f"cannot read {attachment}: {exc.strerror}") from None
    current = latest(db, event_id, kind)
    new = Release(event_id, kind, (current.version + 1) if current else 1, text, link,
                  attachment.name if attachment else None, data)
    if current and _same(current, new):
        return current, False
    return new, True


def _same(stored: Release, new: Release) -> bool:
    """The same contents (one stored with Notepad's byte-order mark, before it was taken off, is the same)."""
    return new.content_hash in (stored.content_hash, dataclasses.replace(
        stored, text=stored.text.removeprefix("\ufeff") if stored.text else stored.text).content_hash)


def save(db: sqlite_utils.Database, release: Release, source: str) -> Release:
    db.table("releases").insert({
        "event_id": release.event_id, "kind": release.kind, "version": release.version, "text": release.text,
        "link": release.link, "attachment_name": release.attachment_name, "attachment": release.attachment,
        "content_hash": release.content_hash, "source": source, "created_at": now(db),
    })
    saved = latest(db, release.event_id, release.kind)
    assert saved is not None
    log.info("event=%s release %s v%s saved (%s)", release.event_id, release.kind, release.version, source)
    return saved


def sync_from_rules(db: sqlite_utils.Database, rules: Rules, moment: datetime) -> list[Release]:
    """Releases rules.yaml declares (released: true, or send_at reached) become versioned records,
    for events not over at `moment`."""
    created = []
    for event in rules.events:
        if event.over(moment):
            continue
        agenda, access = event.releases.agenda, event.releases.access
        wanted: list[tuple[str, dict[str, Any]]] = []
        if _due(event, agenda, moment):
            text = _read_text(rules, agenda.text) if agenda.text else None
            wanted.append((AGENDA, {"text": text, "attachment": rules.resolve(agenda.file) if agenda.file else None}))
        if _due(event, access, moment):
            details = _read_text(rules, access.details) if access.details else None
            wanted.append((ACCESS, {"text": details, "link": access.link}))
        for kind, contents in wanted:
            release, is_new = candidate(db, event.id, kind, **contents)
            if is_new and not _said_before(db, release):
                created.append(save(db, release, "rules.yaml"))
    return created


def _said_before(db: sqlite_utils.Database, release: Release) -> bool:
    """rules.yaml still says what it said when it last made a version: a coordinator's `mailflow release`
    since then is the newer word (the old agenda went out over the correction as an "update" at the next pass)."""
    rows = list(db.table("releases").rows_where("event_id = ? and kind = ? and source = 'rules.yaml'",
                                                [release.event_id, release.kind], order_by="version desc", limit=1))
    return bool(rows) and _same(_row_to_release(rows[0]), release)


def _due(event: Event, release: Any, moment: datetime) -> bool:
    """Released in rules.yaml, or its `send_at` reached (the agenda's or the access's settings)."""
    return bool(release.released or (release.send_at and event.zoned(release.send_at) <= moment))


def _read_text(rules: Rules, path: Path) -> str:
    try:
        return read_release_text(rules.resolve(path))
    except UnreadableFile as exc:
        raise MailflowError(f"{rules.source}: release file {exc}") from None


class UnreadableFile(MailflowError):
    """A release's file that cannot be read: why, and what to do."""

    def __init__(self, path: Path, reason: str, fix: str):
        self.reason, self.fix = reason, fix
        super().__init__(f"{path}: {reason}; {fix}")


def read_release_text(path: Path) -> str:
    """A release's text file as the coordinator sees it: UTF-8 without Notepad's byte-order mark, lines
    ending in LF. The same agenda saved again on Windows (BOM, CRLF) is no new version: it went to every
    registrant as an "update" whose only change was the invisible mark."""
    data = _read_bytes(path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problem = not_utf8(path, data, exc)
        raise UnreadableFile(path, f"line {problem.line}: {problem.message}", problem.hint) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UnreadableFile(path, f"cannot be read ({exc.strerror or exc})",
                             "put the file there or correct the path (relative to rules.yaml's folder)") from None


def release_file_problems(rules: Rules, moment: datetime) -> list[RulesProblem]:
    """The agenda, attachment and access-details files of releases due at `moment` (released, or `send_at`
    reached; events not over) that cannot be read (missing, or text not in UTF-8), each at its line: found by
    `check` and a reload, not by the pass that releases them. One not due yet may still be written."""
    problems = []
    for index, event in enumerate(rules.events):
        if event.over(moment):
            continue
        agenda, access = event.releases.agenda, event.releases.access
        for kind, key, path in (("agenda", "text", agenda.text), ("agenda", "file", agenda.file),
                                ("access", "details", access.details)):
            if path is None or not _due(event, agenda if kind == "agenda" else access, moment):
                continue
            try:
                read_release_text(rules.resolve(path)) if key != "file" else _read_bytes(rules.resolve(path))
            except UnreadableFile as exc:
                problems.append(RulesProblem(rules.source, rules.line_of("events", index, "releases", kind, key),
                                             f"events[{index}].releases.{kind}.{key}: {path}: {exc.reason}", exc.fix))
    return problems


def waiting_for_approval(event: Event) -> tuple[RegistrantStatus, ...]:
    """Who `mailflow approve` may approve: pending registrants, and, once the event requires
    approval, those who registered before it did (they are `registered` and get no link)."""
    if event.releases.access.require_approval:
        return (RegistrantStatus.PENDING, RegistrantStatus.REGISTERED)
    return (RegistrantStatus.PENDING,)


def eligible_statuses(event: Event, kind: str) -> tuple[RegistrantStatus, ...]:
    """Access is not for anyone who can send a mail: with approval required, only approved ones."""
    if kind == ACCESS and event.releases.access.require_approval:
        return (RegistrantStatus.APPROVED,)
    if kind == ACCESS:
        return (RegistrantStatus.REGISTERED, RegistrantStatus.APPROVED)
    return ACTIVE_STATUSES


@dataclass(frozen=True)
class Delivery:
    registrant: dict
    template_kind: str           # agenda, agenda_update, access, reminder, followup
    previous_version: int | None = None


def plan(db: sqlite_utils.Database, rules: Rules, release: Release) -> list[Delivery]:
    """Who should get this release and with which template; those who have it are left out."""
    event = event_by_id(rules, release.event_id)
    statuses = eligible_statuses(event, release.kind)
    marks = ",".join("?" * len(statuses))
    version = "(select max(cast(substr(o.kind, length(?) + 1) as integer)) from outbox o " \
              "where o.registrant_id = r.id and o.kind like ? and o.state not in ({}))"
    prefix = [f"release:{release.kind}:v", f"release:{release.kind}:v%"]
    rows = db.query(
        # got: the latest version queued for them; had: the latest that may have reached them (an update
        # says what changed since that one, not since a mail that failed: "the link we sent earlier")
        f"""select r.*, {version.format("?")} as got, {version.format("?, ?")} as had
            from registrants r where r.event_id = ? and r.status in ({marks}) order by r.id""",
        [*prefix, OutboxState.CANCELLED, *prefix, OutboxState.CANCELLED, OutboxState.FAILED, release.event_id,
         *statuses],
    )
    deliveries = []
    waiting = held(db, rules.bounce_grace_minutes)   # a new address gets its confirmation alone first (bounces.py)
    for row in rows:
        got, had = row.pop("got"), row.pop("had")
        if is_held(row["address"], waiting):
            continue
        if got is not None and got >= release.version:
            continue
        if release.kind == AGENDA and had is not None:
            deliveries.append(Delivery(row, "agenda_update", had))
        else:   # (a changed access says so: the version they had)
            deliveries.append(Delivery(row, release.kind, had if release.kind == ACCESS else None))
    return deliveries


def event_by_id(rules: Rules, event_id: str) -> Event:
    for event in rules.events:
        if event.id == event_id:
            return event
    raise MailflowError(f"no event {event_id!r} in {rules.source}; known: {', '.join(e.id for e in rules.events)}")


def render_delivery(
    rules: Rules, replies: Replies, release: Release | None, delivery: Delivery, *, moment: datetime,
    previous: Release | None = None, reminder: str = "", access: Release | None = None,
    invitation: Invitation | None = None,
) -> dict[str, Any]:
    """Subject, text and attachments of one release or reminder mail, made at `moment`; with
    `invitation`, its .ics attached."""
    registrant = delivery.registrant
    event = event_by_id(rules, registrant["event_id"])
    audience = registrant["audience"] or rules.audiences[0]
    # Release kinds are plain strings here, the announcements' keys a Literal: a ReleaseKind enum would join them.
    template = rules.announcements.get(delivery.template_kind, {}).get(audience)  # type: ignore[call-overload]
    if not template:
        raise MailflowError(
            f"{rules.source}: no template for announcements.{delivery.template_kind}.{audience}; add one"
        )
    mailbox = rules.mailbox_for_audience(audience)
    box = rules.mailboxes[mailbox]
    access_release = release if release and release.kind == ACCESS else access
    context = {
        "event": {**event_context(event), "times": times_context(event, recorded_whereabouts(registrant)["time_zone"])},
        "registrant": registrant_context(registrant["name"] or "", registrant["address"]),
        "coordinator": coordinator_context(box),
        "agenda": _agenda_context(release, previous) if release and release.kind == AGENDA else None,
        "followup": ({"text": release.text or "", "attachment": release.attachment_name or ""}
                     if release and release.kind == FOLLOWUP else None),
        "access": _access_context(access_release, previous if release and release.kind == ACCESS else None)
        if access_release else None,
        "reminder": {"before": reminder},
    }
    rendered = replies.render(template, context)
    attachments: list[Attachment] = []
    if release and release.kind in (AGENDA, FOLLOWUP) and release.attachment is not None:
        content_type = mimetypes.guess_type(release.attachment_name or "")[0] or "application/octet-stream"
        attachments.append(Attachment(release.attachment_name or release.kind, content_type, release.attachment))
    if invitation is not None:
        ics = event_calendar(event, box.address, invitation, moment, box.coordinator)
        attachments.append(Attachment("invitation.ics", "text/calendar", ics, (("method", invitation.method),)))
    return {"mailbox": mailbox, "box": box, "subject": rendered.subject, "text": rendered.text,
            "attachments": tuple(attachments)}


def _access_context(access: Release, previous: Release | None) -> dict[str, Any]:
    """The link and details; for a registrant who had an earlier version, that it changed and the link it
    replaces (a new link came as a look-alike of the first mail, and people joined with the old one)."""
    return {"link": access.link, "details": access.text or "", "changed": previous is not None,
            "previous_link": previous.link if previous is not None and previous.link != access.link else ""}


def _invitation(db: sqlite_utils.Database, rules: Rules, delivery: Delivery, access: Release | None, *,
                record: bool = True) -> Invitation | None:
    """The REQUEST an access mail or a reminder carries (recorded: the next one is its update)."""
    if delivery.template_kind not in (ACCESS, REMINDER):
        return None
    registrant = delivery.registrant
    box = rules.mailboxes[rules.mailbox_for_audience(registrant["audience"] or rules.audiences[0])]
    return invitations.request(db, event_by_id(rules, registrant["event_id"]), registrant, box.address,
                               access.link if access else None, (access.text or "") if access else "", record=record)


def withdraw_invitation(db: sqlite_utils.Database, rules: Rules, replies: Replies, registrant: dict) -> bool:
    """A registrant who cancelled: their queued invitations are never sent, and when one may have
    reached them, the CANCEL goes out (the `calendar_cancel` announcement). True when it was queued."""
    event = next((e for e in rules.events if e.id == registrant["event_id"]), None)
    moment = database.clock_of(db)()
    if event is None or event.over(moment):
        return False
    invitation = invitations.cancel(db, registrant)
    if invitation is None:
        return False
    delivery = Delivery(registrant, CALENDAR_CANCEL)
    audience = registrant["audience"] or rules.audiences[0]
    if audience not in rules.announcements.get(CALENDAR_CANCEL, {}):
        log.warning("registrant=%s event=%s cancelled: no CANCEL for their calendar, rules.yaml has no "
                    "announcements.%s.%s", registrant["id"], event.id, CALENDAR_CANCEL, audience)
        return False
    mail = render_delivery(rules, replies, None, delivery, moment=moment, invitation=invitation)
    _queue(db, f"calendar:cancel:{invitation.sequence}", delivery, mail, event.ends_at)
    log.info("registrant=%s event=%s cancelled: calendar CANCEL queued (sequence %s)", registrant["id"], event.id,
             invitation.sequence)
    return True


def _agenda_context(release: Release, previous: Release | None) -> dict[str, Any]:
    """The agenda's variables; an update's changes in sentences, English and German (changes.py)."""
    old, new = (previous.text if previous else "") or "", release.text or ""
    both = bool(old and new)
    return {"version": release.version, "text": new, "attachment": release.attachment_name or "",
            "changes": describe(old, new, "en") if both else "", "changes_de": describe(old, new, "de") if both else ""}


def _queue(db: sqlite_utils.Database, kind: str, delivery: Delivery, mail: dict, expires: datetime | None) -> None:
    box = mail["box"]
    message_id = outbox.new_message_id(box.address)
    # An update answers the mail it updates, so mail clients show the two as one thread.
    updated = db.execute("select message_id from outbox where registrant_id = ? and kind = ?",
                         [delivery.registrant["id"], kind.rpartition(":v")[0] + f":v{delivery.previous_version}"]
                         ).fetchone() if delivery.previous_version else None
    raw = outbox.compose(
        from_name=box.coordinator, from_address=box.address, to_name=delivery.registrant["name"] or "",
        to_address=delivery.registrant["address"], subject=mail["subject"], text=mail["text"],
        # (the event and the kind in X-Mailflow: a database restored from a backup finds in the Sent folder
        # what went out since, and sends it nobody again: answered.read_sent_folder)
        message_id=message_id, role=outbox.release_role(delivery.registrant["event_id"], kind),
        date=database.clock_of(db)(), auto_submitted="auto-generated",
        attachments=mail["attachments"], in_reply_to=updated[0] if updated else None,
    )
    outbox.enqueue(db, raw=raw, message_id=message_id, kind=kind, mailbox=mail["mailbox"],
                   recipient=delivery.registrant["address"], subject=mail["subject"],
                   registrant_id=delivery.registrant["id"], expires_at=expires)


def fan_out(
    db: sqlite_utils.Database, rules: Rules, replies: Replies, release: Release,
    progress: Callable[[int], None] = lambda n: None, expires: datetime | None = None,
) -> int:
    """Queue this release for everyone eligible who does not have it yet; returns how many were queued.

    `expires`: what is still unsent then is cancelled (the daemon's automatic fan-out passes the
    event's end; a coordinator's `mailflow release` passes nothing, so it goes out even after)."""
    deliveries = plan(db, rules, release)
    previous_versions: dict[int, Release | None] = {}
    access = latest(db, release.event_id, ACCESS) if release.kind == AGENDA else None
    moment = database.clock_of(db)()
    queued = 0
    for start in range(0, len(deliveries), FAN_OUT_BATCH):
        with database.transaction(db):
            for delivery in deliveries[start:start + FAN_OUT_BATCH]:
                previous = None
                if delivery.previous_version is not None:
                    if delivery.previous_version not in previous_versions:
                        previous_versions[delivery.previous_version] = _version(db, release, delivery.previous_version)
                    previous = previous_versions[delivery.previous_version]
                shown = access if _may_have_access(rules, delivery) else None
                mail = render_delivery(rules, replies, release, delivery, moment=moment, previous=previous,
                                       access=shown,
                                       invitation=_invitation(db, rules, delivery, release if release.kind == ACCESS
                                                              else shown))
                _queue(db, release.outbox_kind, delivery, mail, expires)
                queued += 1
        progress(min(FAN_OUT_BATCH, len(deliveries) - start))
    if queued:
        log.info("event=%s release %s v%s queued for %s registrants", release.event_id, release.kind,
                 release.version, queued)
    return queued


def _may_have_access(rules: Rules, delivery: Delivery) -> bool:
    event = event_by_id(rules, delivery.registrant["event_id"])
    return delivery.registrant["status"] in eligible_statuses(event, ACCESS)


def _version(db: sqlite_utils.Database, release: Release, version: int) -> Release | None:
    rows = list(db.table("releases").rows_where("event_id = ? and kind = ? and version = ?",
                                          [release.event_id, release.kind, version]))
    return _row_to_release(rows[0]) if rows else None


def fan_out_all(
    db: sqlite_utils.Database, rules: Rules, replies: Replies, moment: datetime,
    progress: Callable[[int], None] = lambda n: None,
) -> int:
    """Every pass: releases from rules.yaml, then what is missing for late or newly approved registrants.

    Nothing for an event that is over at `moment`, and what this queues is cancelled if it is still
    unsent when the event ends. `progress` is called after each committed batch (the worker sends meanwhile)."""
    sync_from_rules(db, rules, moment)
    queued = 0
    for event in rules.events:
        if event.over(moment):
            continue
        for kind in (AGENDA, ACCESS):
            release = latest(db, event.id, kind)
            if release is not None:
                queued += fan_out(db, rules, replies, release, progress, expires=event.ends_at)
    return queued + run_due_reminders(db, rules, replies, moment)


def preview(db: sqlite_utils.Database, rules: Rules, replies: Replies, release: Release) -> dict[str, Any]:
    """What a release would do: recipients per audience and status, one rendered sample per template."""
    deliveries = plan(db, rules, release)
    counts = Counter((d.registrant["audience"], d.registrant["status"], d.template_kind) for d in deliveries)
    samples: dict[str, dict] = {}
    for delivery in deliveries:
        key = f"{delivery.template_kind}/{delivery.registrant['audience']}"
        if key not in samples:
            previous = _version(db, release, delivery.previous_version) if delivery.previous_version else None
            invitation = _invitation(db, rules, delivery, release, record=False)
            mail = render_delivery(rules, replies, release, delivery, moment=database.clock_of(db)(),
                                   previous=previous, invitation=invitation)
            samples[key] = {"to": delivery.registrant["address"], "subject": mail["subject"], "text": mail["text"],
                            "attachments": [a.filename for a in mail["attachments"]]}
    excluded = list(db.query(
        "select status, count(*) as n from registrants where event_id = ? group by status", [release.event_id]))
    return {
        "release": {"event": release.event_id, "kind": release.kind, "version": release.version},
        "recipients": [{"audience": a, "status": s, "template": t, "count": n}
                       for (a, s, t), n in sorted(counts.items())],
        "total": len(deliveries),
        "registrants_by_status": {row["status"]: row["n"] for row in excluded},
        "samples": samples,
    }


# -- reminders ---------------------------------------------------------------


def ensure_schedule(db: sqlite_utils.Database, rules: Rules) -> None:
    """One `scheduled` row per reminder in rules.yaml, due by the event's start as rules.yaml has it now:
    a postponed event's reminders that have not gone out move with it ("in 1 day" went out a week early),
    and one taken out of rules.yaml is dropped (it was still sent). A reminder that went out stays done."""
    wanted = {(event.id, f"reminder:{reminder.before}"): (event.starts_at - reminder.delta).astimezone(UTC).isoformat()
              for event in rules.events for reminder in event.reminders}
    for row in db.table("scheduled").rows_where("state = 'pending'"):
        due = wanted.get((row["event_id"], row["name"]))
        if due is None:
            db.table("scheduled").delete(row["id"])
            log.info("event=%s %s dropped: no longer in rules.yaml", row["event_id"], row["name"])
        elif due != row["due_at"]:
            db.table("scheduled").update(row["id"], {"due_at": due})
            log.info("event=%s %s now due at %s: the event's time changed", row["event_id"], row["name"], due)
    for (event_id, name), due in wanted.items():
        db.table("scheduled").insert({"event_id": event_id, "name": name, "due_at": due, "state": "pending"},
                                     ignore=True)


def run_due_reminders(db: sqlite_utils.Database, rules: Rules, replies: Replies, moment: datetime) -> int:
    """Queue the reminders that are due. After a time mailflow did not run, only an event's latest due
    reminder goes, saying the time really left (not "in 1 day" and "in 1 hour" at once, 50 minutes before the
    start), and none once the event has begun."""
    ensure_schedule(db, rules)
    events = {e.id: e for e in rules.events}
    queued = 0
    due = list(db.table("scheduled").rows_where("state = 'pending' and due_at <= ?",
                                          [moment.astimezone(UTC).isoformat()], order_by="due_at"))
    latest = {row["event_id"]: row["id"] for row in due}
    for row in due:
        event = events.get(row["event_id"])
        if event is None:
            continue
        why = ("the event had begun when the reminder was to go out" if moment >= event.starts_at else
               "a later reminder was due too (mailflow did not run meanwhile): that one went" if row["id"] !=
               latest[event.id] else "")
        if why:
            db.table("scheduled").update(row["id"], {"state": "skipped", "done_at": now(db), "note": why})
            log.warning("event=%s %s skipped: %s", event.id, row["name"], why)
            continue
        with database.transaction(db):
            queued += _send_reminder(db, rules, replies, event, row["name"], moment)
            db.table("scheduled").update(row["id"], {"state": "done", "done_at": now(db)})
        log.info("event=%s %s queued", event.id, row["name"])
    return queued


def _send_reminder(db: sqlite_utils.Database, rules: Rules, replies: Replies, event: Event, name: str,
                   moment: datetime) -> int:
    before = name.partition(":")[2]
    left = event.starts_at - moment
    # On time (a pass every minute or so) it says what rules.yaml says; late, the time really left.
    spoken = _spoken(before) if left >= parse_duration(before) * 0.9 else _time_left(left)
    access = latest(db, event.id, ACCESS)
    marks = ",".join("?" * len(ACTIVE_STATUSES))
    waiting = held(db, rules.bounce_grace_minutes)
    active = db.query(f"select * from registrants where event_id = ? and status in ({marks}) order by id",
                      [event.id, *ACTIVE_STATUSES])
    registrants = [r for r in active if not is_held(r["address"], waiting)]
    for registrant in registrants:
        delivery = Delivery(registrant, REMINDER)
        shown = access if _may_have_access(rules, delivery) else None
        mail = render_delivery(rules, replies, None, delivery, moment=database.clock_of(db)(), reminder=spoken,
                               access=shown, invitation=_invitation(db, rules, delivery, shown))
        _queue(db, name, delivery, mail, event.starts_at)   # ("starts in 50 minutes" after the start says nothing)
    if not registrants and (orphans := orphans_note(db, rules, event.id)):
        log.warning("event=%s %s goes to nobody: %s", event.id, name, orphans)
    return len(registrants)


def _time_left(left: timedelta) -> str:
    """The time until the start in words, to the nearest day, hour or minute."""
    for unit, length in (("d", timedelta(days=1)), ("h", timedelta(hours=1))):
        if left >= length:
            return _spoken(f"{round(left / length)}{unit}")
    return _spoken(f"{max(1, round(left / timedelta(minutes=1)))}m")


def _spoken(before: str) -> str:
    amount, unit = int(before[:-1]), before[-1]
    word = {"d": "day", "h": "hour", "m": "minute"}[unit]
    return f"{amount} {word}{'' if amount == 1 else 's'}"


def next_due(db: sqlite_utils.Database) -> list[dict]:
    return list(db.table("scheduled").rows_where("state = 'pending'", order_by="due_at"))
