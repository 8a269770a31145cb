"""What mailflow knows before it answers a mail: that it was answered before, or that it is archived.

*Answered before*: the server's processed flag (fetched with every mail) or mailflow's own reply in a
Sent folder (`X-Mailflow: reply`, its In-Reply-To the mail's Message-ID) says a reply went out, even
when this database does not remember it: a new database, or one restored from a backup. Such a mail
is recorded and classified with no effect (no reply, no registrant change, no bounce applied), and
its reasons say why. A reply the coordinator wrote by hand has no X-Mailflow header and does not count.

How a new or restored database is noticed, without guessing: a mail new to this database that already
carries the processed flag; and at every pass, before it answers or sends anything, mailflow reads its
own mail in each Sent folder above the UID it read up to last time (`mailbox_state.sent_last_uid`, all of
it when it never read that folder). A restored database's mark is as old as the backup, so that read
covers everything sent since; a queued mail found there is settled as sent, not sent again, and a release
or reminder (`X-Mailflow: release EVENT KIND`) the database has no row of is recorded as sent to its
registrant, so that nobody gets it again.

*Questions answered by a coordinator*: a reply in a Sent folder without the X-Mailflow header is the
coordinator's own, written in their mail client; the open questions its In-Reply-To and References
name are closed when it went to their sender (a forward to a colleague answers nothing), with its From
and Date as who and when (the worker then takes their \\Flagged off).

*Archived*: a mail that arrived in the mailbox (IMAP INTERNALDATE, never its Date header) before the
mailbox's `answer_mail_since` is recorded and classified with no effect, until a coordinator runs
`mailflow archive answer`. Unset, it is the event's registration opening, else 7 days before mailflow
first opened the mailbox, so pointing mailflow at an inbox with years of mail does not answer them.
"""

from __future__ import annotations

import email.utils
import json
import logging
import re
import urllib.parse
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlite_utils

from . import database, history
from .addresses import domain_of, local_part, unicode_domain
from .clock import parse_stamp, stamp
from .database import now
from .message import clean, decode_words
from .outbox import DIGEST, INVITATION, MAILFLOW_HEADER, RELEASE, REPLY, SentCopies, released
from .rules import Event, Rules
from .states import MessageState, OutboxState

log = logging.getLogger(__name__)

DEFAULT_LOOK_BACK = timedelta(days=7)   # the default answer_mail_since: this long before the first open
_ID = re.compile(r"<[^<>\s]+>")


@dataclass(frozen=True)
class SentMail:
    """One of mailflow's own mails in a Sent folder."""

    uid: int
    message_id: str | None
    role: str                 # X-Mailflow: reply, release, notice, confirmation; "" for a coordinator's own mail
    answers: str | None       # a reply's In-Reply-To (else the last of its References)
    refers: tuple[str, ...] = ()   # every Message-ID in In-Reply-To and References
    sender: str = ""          # From, decoded: who wrote it
    date: str | None = None   # its Date, as the database stores moments (None when unreadable)
    recipients: tuple[str, ...] = ()   # the addresses in To and Cc, in lower case
    about: tuple[str, ...] = ()        # what X-Mailflow says after the role: a release's event and outbox kind


def read_sent(uid: int, header: bytes) -> SentMail:
    """The fields of a Sent copy that say which mail it is and which mail it answers."""
    fields: dict[str, str] = {}
    for name, value in re.findall(rb"(?im)^([!-9;-~]+):[ \t]*(.*(?:\r?\n[ \t].*)*)", header):
        fields.setdefault(name.decode("ascii").lower(), value.decode("ascii", "replace"))

    def ids(name: str) -> list[str]:
        return [clean(i, 250) for i in _ID.findall(fields.get(name, ""))]

    parents = ids("in-reply-to") or ids("references")[-1:]
    try:
        date: str | None = stamp(email.utils.parsedate_to_datetime(clean(fields.get("date", ""))))
    except (TypeError, ValueError, IndexError):
        date = None
    role, *about = clean(fields.get(MAILFLOW_HEADER.lower(), "")).split() or [""]
    return SentMail(uid, next(iter(ids("message-id")), None), role.lower(),
                    parents[0] if parents else None, tuple(dict.fromkeys(ids("in-reply-to") + ids("references"))),
                    decode_words(fields.get("from", "")), date,
                    # (the addresses read before any name is decoded: "=?utf-8?q?Weber=2C_M=C3=A4x?=" has a comma)
                    tuple(a.lower() for _, a in email.utils.getaddresses(
                        [clean(fields.get("to", ""), 10_000), clean(fields.get("cc", ""), 10_000)]) if "@" in a),
                    tuple(about))


@dataclass
class Found:
    """What one pass found that this database did not know, for one mailbox."""

    flagged: int = 0          # mails new to it that already carry the processed flag
    sent_unknown: int = 0     # mailflow's mail in the Sent folder that it has no record of
    answered: int = 0         # mails waiting to be answered that those replies answer
    settled: int = 0          # queued (or uncertain) mails found in the Sent folder: sent
    releases: int = 0         # releases and reminders among the unknown: recorded as sent to their registrant
    invitations: int = 0      # invitations among the unknown: recorded as made (`mailflow invite` skips them)

    def __bool__(self) -> bool:
        return bool(self.flagged or self.sent_unknown or self.answered or self.settled)

    def text(self) -> str:
        parts = []
        if self.flagged:
            parts.append(f"{self.flagged} mails new to this database already flagged processed on the server")
        if self.sent_unknown:
            parts.append(f"{self.sent_unknown} mails of mailflow's in the Sent folder that it has no record of")
        if self.answered:
            parts.append(f"{self.answered} waiting mails answered by them")
        if self.settled:
            parts.append(f"{self.settled} queued mails found sent")
        if self.releases:
            parts.append(f"{self.releases} releases and reminders among them recorded as sent")
        if self.invitations:
            parts.append(f"{self.invitations} invitations among them recorded as made")
        return "; ".join(parts) + " (a new or restored database): none of them is answered or sent again"


# -- first open and answer_mail_since ---------------------------------------------------------

def note_opened(db: sqlite_utils.Database, mailbox: str) -> None:
    """Record when mailflow first opened `mailbox` (kept for good)."""
    database.insert(db, "mailbox_state", {"mailbox": mailbox, "first_opened_at": now(db)}, ignore=True)


def first_opened(db: sqlite_utils.Database, mailbox: str) -> datetime | None:
    row = db.execute("select first_opened_at from mailbox_state where mailbox = ?", [mailbox]).fetchone()
    return parse_stamp(row[0]) if row and row[0] else None


def answer_since(rules: Rules, mailbox: str, event: Event, opened: datetime | None) -> tuple[datetime | None, str]:
    """From when a mail of `mailbox` about `event` is answered, and what says so: answer_mail_since
    (the mailbox's, else the top level's), else the event's registration opening, else 7 days before
    mailflow first opened the mailbox."""
    explicit = rules.answer_mail_since_at(mailbox)
    if explicit is not None:
        return explicit[0], f"{explicit[1]} in rules.yaml"
    if event.registration_opens_at is not None:
        return event.registration_opens_at, f"the registration opening of {event.id}"
    if opened is not None:
        return opened - DEFAULT_LOOK_BACK, f"7 days before mailflow first opened mailbox {mailbox}"
    return None, ""


def archived_reason(arrived: datetime, since: datetime, why: str) -> str:
    return (f"archived: arrived {arrived:%Y-%m-%d %H:%M %Z} before {since:%Y-%m-%d %H:%M %Z} ({why}); "
            "not answered, nobody registered; `mailflow archive answer` answers it")


# -- the server's flags and the Sent folders ----------------------------------------------------

def note_flagged(db: sqlite_utils.Database, mailbox: str, uidvalidity: int, uids: set[int], flag: str) -> int:
    """Mails of `mailbox` still waiting to be answered that the server says were handled."""
    cursor = db.execute(
        "update messages set answered_before = ? where mailbox = ? and uidvalidity = ? and state = ? "
        "and answered_before is null and uid in (select value from json_each(?))",
        [flagged_reason(flag), mailbox, uidvalidity, MessageState.RECORDED, json.dumps(sorted(uids))])
    return cursor.rowcount


def flagged_reason(flag: str) -> str:
    return f"it carries {flag} on the server"


def read_sent_folder(db: sqlite_utils.Database, mailbox: str, folder: SentCopies) -> Found:
    """Read mailflow's own mail in `mailbox`'s Sent folder above the last UID read, and apply what it
    says: a waiting mail a reply answers is answered before; a queued or uncertain mail found there
    was sent. ConnectionFailed when the folder cannot be read (then nothing may be sent)."""
    row = db.execute("select sent_uidvalidity, sent_last_uid from mailbox_state where mailbox = ?",
                     [mailbox]).fetchone() or (None, 0)
    uidvalidity, items = folder.mailflow_mail(row[0], row[1] or 0)
    mails = [read_sent(uid, header) for uid, header in items]
    found = Found()
    with database.transaction(db):
        ids = json.dumps([m.message_id for m in mails if m.message_id])
        known = {r[0]: r[1] for r in db.execute(
            "select message_id, state from outbox where message_id in (select value from json_each(?))", [ids])}
        found.sent_unknown = sum(1 for m in mails if m.role and m.message_id not in known)
        for mail in mails:
            if mail.role == RELEASE and mail.message_id and mail.message_id not in known:
                found.releases += _record_sent_release(db, mailbox, mail)
            if mail.role == INVITATION and mail.message_id and mail.message_id not in known:
                found.invitations += _record_sent_invitation(db, mailbox, mail)
            day = mail.about[0] if mail.about else ""
            if mail.role == DIGEST and mail.message_id not in known and _DAY.fullmatch(day):
                # a digest sent after the backup a database was restored from: its day is decided (it went twice)
                db.execute("insert or ignore into digests (mailbox, day, due_at, since, until, message_id) "
                           "values (?, ?, ?, ?, ?, ?)", [mailbox, day, *[mail.date or now(db)] * 3, mail.message_id])
            if not mail.role and mail.refers:   # a coordinator's own reply (no X-Mailflow): it answers
                _close_answered(db, mailbox, mail)
            if mail.role == REPLY and mail.answers:
                found.answered += db.execute(
                    "update messages set answered_before = ? where message_id = ? and state = ? "
                    "and answered_before is null",
                    [f"mailflow's reply {mail.message_id} is in the Sent folder of mailbox {mailbox}",
                     mail.answers, MessageState.RECORDED]).rowcount
            if known.get(mail.message_id) in (OutboxState.QUEUED, OutboxState.UNCERTAIN):
                found.settled += db.execute(
                    "update outbox set state = ?, sent_at = coalesce(sent_at, ?), error = ? "
                    "where message_id = ? and state in (?, ?)",
                    [OutboxState.SENT, now(db), "found in the Sent folder: sent before this database knew it",
                     mail.message_id, OutboxState.QUEUED, OutboxState.UNCERTAIN]).rowcount
        last = max([m.uid for m in mails], default=(row[1] or 0) if row[0] == uidvalidity else 0)
        db.execute("update mailbox_state set sent_uidvalidity = ?, sent_last_uid = ? where mailbox = ?",
                   [uidvalidity, last, mailbox])
    return found


_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _record_sent_release(db: sqlite_utils.Database, mailbox: str, mail: SentMail) -> int:
    """A release, reminder or calendar cancellation of mailflow's in the Sent folder that this database has no
    row of (restored from a backup made before it went out): recorded as sent to its registrant, so that the
    next fan-out, the coordinator's `mailflow release` of the same version or the reminder's second run does
    not send it again (they all went to everyone a second time). 1 when recorded."""
    what = released(mail.about)
    if what is None or len(mail.recipients) != 1:
        return 0
    (event_id, kind), (address,) = what, mail.recipients
    found = db.execute("select id, address from registrants where event_id = ? and address in (?, ?)",
                       [event_id, address, f"{local_part(address)}@{unicode_domain(domain_of(address))}"]).fetchone()
    if found is None:
        return 0
    # (queued again meanwhile: by a pass that could not read this folder, or by the coordinator's release)
    if db.execute("update outbox set state = ?, sent_at = ?, error = ? where registrant_id = ? and kind = ? "
                  "and state in (?, ?)",
                  [OutboxState.SENT, mail.date or now(db), "a copy is in the Sent folder: sent before this database "
                   "knew it", found[0], kind, OutboxState.QUEUED, OutboxState.UNCERTAIN]).rowcount:
        return 1
    return database.insert(db, "outbox", {
        "message_id": mail.message_id, "kind": kind, "mailbox": mailbox, "registrant_id": found[0],
        "recipient": found[1], "raw": b"", "state": OutboxState.SENT, "attempts": 1, "created_at": now(db),
        "sent_at": mail.date or now(db), "error": "found in the Sent folder: sent before this database knew it",
    }, ignore=True) is not None


def _record_sent_invitation(db: sqlite_utils.Database, mailbox: str, mail: SentMail) -> int:
    """An invitation of mailflow's in the Sent folder that this database has no row of (restored from a backup
    made before it went out): recorded as sent and made, so that `mailflow invite` does not invite its
    addressee to that event a second time. 1 when recorded."""
    if len(mail.about) != 1 or len(mail.recipients) != 1:
        return 0   # (a mailflow before the header named the event)
    event_id, (address,) = urllib.parse.unquote(mail.about[0]), mail.recipients
    forms = [address, f"{local_part(address)}@{unicode_domain(domain_of(address))}"]   # (the second as a list has it)
    if db.execute("select 1 from invites where event_id = ? and lower(address) in (?, ?)",
                  [event_id, *forms]).fetchone():
        # queued again meanwhile (`invite --send` while this folder could not be read): it went out already
        return db.execute("update outbox set state = ?, sent_at = ?, error = ? where kind = ? and lower(recipient) in "
                          "(?, ?) and state in (?, ?)",
                          [OutboxState.SENT, mail.date or now(db), "a copy is in the Sent folder: sent before this "
                           "database knew it", f"{INVITATION}:{event_id}", *forms, OutboxState.QUEUED,
                           OutboxState.UNCERTAIN]).rowcount
    outbox_id = database.insert(db, "outbox", {
        "message_id": mail.message_id, "kind": f"{INVITATION}:{event_id}", "mailbox": mailbox, "recipient": address,
        "raw": b"", "state": OutboxState.SENT, "attempts": 1, "created_at": now(db), "sent_at": mail.date or now(db),
        "error": "found in the Sent folder: sent before this database knew it",
    }, ignore=True)
    return int(outbox_id is not None and database.insert(db, "invites", {
        "event_id": event_id, "address": forms[1], "name": "", "audience": None, "source": f"{mailbox}'s Sent folder",
        "outbox_id": outbox_id, "invited_at": mail.date or now(db), "by": "mailflow (found in the Sent folder)",
    }, ignore=True) is not None)


def _close_answered(db: sqlite_utils.Database, mailbox: str, mail: SentMail) -> None:
    """Questions (or mail not read yet) that a coordinator's reply in `mailbox`'s Sent folder answers
    are closed, with who and when; mailflow takes their \\Flagged off at its next look at the server."""
    by = f"{mail.sender or 'the coordinator'}, replying from their mail client ({mailbox}'s Sent: {mail.message_id})"
    rows = history.close_answered(db, list(mail.refers), list(mail.recipients), by, mail.date or now(db))
    for row in rows:
        log.info("mailbox=%s message=%s message_id=%s question closed: answered by %s (Sent uid=%s message_id=%s)",
                 row["mailbox"], row["id"], row["message_id"], mail.sender, mail.uid, mail.message_id)


def save_found(db: sqlite_utils.Database, mailbox: str, found: Found, archived: int) -> str:
    """Log and keep (for `mailflow status`) what a pass found for `mailbox`; the line, or '' for nothing."""
    parts = [found.text()] if found else []
    if archived:
        parts.append(f"{archived} mails archived: they arrived before answer_mail_since (or its default; "
                     "`mailflow explain` says which), `mailflow archive answer` answers them")
    if not parts:
        return ""
    line = "; ".join(parts)
    db.execute("update mailbox_state set found = ?, found_at = ? where mailbox = ?", [line, now(db), mailbox])
    log.warning("mailbox=%s %s", mailbox, line)
    return line


# -- mailflow archive answer ----------------------------------------------------------------------

def archive_answer(db: sqlite_utils.Database, mailboxes: Collection[str], since: datetime | None = None) -> int:
    """Archived mails of `mailboxes` (rules.yaml's: one it no longer names could not answer them)
    that arrived at or after `since` wait to be answered as usual by the next pass; returns how many."""
    marks = ",".join("?" * len(mailboxes))
    with database.transaction(db):
        cursor = db.execute(
            "update messages set state = ?, unarchived_at = ? where state = ? "
            f"and coalesce(arrived_at, recorded_at) >= ? and mailbox in ({marks})",
            [MessageState.RECORDED, now(db), MessageState.ARCHIVED, stamp(since) if since else "", *mailboxes])
    log.info("%s archived mails queued to be answered (since %s)", cursor.rowcount, since or "the beginning")
    return cursor.rowcount
