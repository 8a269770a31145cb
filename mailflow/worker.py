"""The worker: one pass is intake -> process -> mark on server -> send.

Each phase only reads what the previous one committed, so a crash anywhere
leaves work that the next pass picks up, and unique keys keep it from being
done twice:
- intake commits raw mail (state `recorded`) before anything changes on the server;
- process turns `recorded` into `processed` or `quarantined`, queuing the reply
  in the same transaction;
- marking flags the server copy only after that commit;
- sending (dispatch.py, in this same process) follows each committed batch.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import sqlite_utils

from . import (
    alarm,
    answered,
    behalf,
    bounces,
    database,
    digest,
    dispatch,
    health,
    history,
    invitations,
    notices,
    outbox,
    registrants,
    releases,
)
from .classify import Classification, classify
from .clock import Clock, parse_stamp, stamp
from .context import event_context, reply_context
from .database import now
from .errors import ANSWER_LOST, ConnectionFailed, MailflowError, MessageError
from .events import Timing, judge
from .mailbox import DATABASE, MOVE, Mailbox, size_batches
from .message import IncomingMessage, clean, content_hash, message_id_of, message_key, parse_message
from .nominations import Nominations
from .outbox import Sender
from .replies import Replies, TemplateProblem
from .rules import INTEREST_WITH_QUESTION, REGISTRATION_CLOSED, Event, Rules
from .states import AUTOMATIC_INTENTS, Intent, MessageState, OutboxState
from .text import Written

log = logging.getLogger(__name__)

LOCK_WAIT_SECONDS = 5   # for the send lock: meanwhile a `mailflow release` may be sending
PROCESS_BATCH = 200   # mails per commit: each batch costs a commit and a send window (about 2 ms)
PROCESS_BATCH_BYTES = 4 << 20   # raw mail per batch: a parsed mail takes several times its size
PROCESS_BATCH_SECONDS = 10   # by the worker's clock: then the batch is committed, sent and the heartbeat beats
Progress = Callable[[str, int, int], None]   # (phase, done, total): a progress bar on a first, large sync


class Reply(NamedTuple):
    """An automatic reply, rendered and composed before it is known whether it will be queued."""
    mailbox: str
    message_id: str
    raw: bytes
    subject: str
    kind: str          # the key in rules.replies: the intent, or registration_closed
    recipient: str     # the sender's address as SMTP takes it


@dataclass
class PassReport:
    recorded: int = 0
    processed: int = 0
    quarantined: int = 0
    archived: int = 0
    announced: int = 0
    digests: int = 0
    sent: int = 0
    failed: int = 0
    more_to_send: bool = False   # the send budget ran out with mail still due
    errors: list[str] = field(default_factory=list)
    unreachable: set[tuple[str, str]] = field(default_factory=set)   # ("imap" | "smtp", mailbox) that failed


class Worker:
    def __init__(
        self,
        rules: Rules,
        db: sqlite_utils.Database,
        mailboxes: Mapping[str, Mailbox],
        senders: Mapping[str, Sender],
        sent_folders: Mapping[str, outbox.SentCopies] | None = None,
        progress: Progress = lambda phase, done, total: None,
    ):
        self.progress = progress   # (phase, done, total) for a progress bar on a first, large sync
        # A sign of life between the steps of a pass, outside any transaction: after each committed batch
        # (fetched, processed) and between sends. The daemon beats through it (health.py, once a minute).
        self.alive: Callable[[], None] = lambda: None
        self.sent_folders = dict(sent_folders or {})
        self.rules = rules
        self.db = db
        self.mailboxes = mailboxes
        self.senders = senders
        self.replies = Replies(rules.templates_path)
        self.stop_requested = False
        self._first_opened: dict[str, datetime] = {}   # per mailbox, once known (answered.first_opened)
        # mailboxes whose Sent folder this process has read (read_sent_folders; the daemon's next worker keeps it)
        self.sent_read: set[str] = set()
        # ("imap" | "smtp", mailbox) -> time.monotonic() until which that server is not tried (the
        # daemon rests a failed server until its next retry, so it delays the others' mail once)
        self.resting: dict[tuple[str, str], float] = {}
        # event id -> (the event, context.event_context() of it): an event never changes (its model is frozen),
        # and formatting its dates was two thirds of the variables of every reply
        self._event_contexts: dict[str, tuple[Event, dict[str, Any]]] = {}

    def _event_context(self, event: Event) -> dict[str, Any]:
        known = self._event_contexts.get(event.id)
        if known is None or known[0] is not event:   # (another event of that id: rules read again)
            known = self._event_contexts[event.id] = (event, event_context(event))
        return known[1]

    def rests(self, server: tuple[str, str]) -> bool:
        return time.monotonic() < self.resting.get(server, 0.0)

    @property
    def clock(self) -> Clock:
        """The database connection's clock (open_database): one "now" for the worker and its records."""
        return database.clock_of(self.db)

    @clock.setter
    def clock(self, clock: Clock) -> None:   # tests about dates set the time
        database.set_clock(self.db, clock)

    def run_once(self, send_budget: float | None = None) -> PassReport:
        """One pass; with `send_budget` (seconds) it stops claiming mail to send after that long."""
        report = PassReport()
        # One send session for the whole pass: replies go out while later mail is still being processed.
        with self.send_session(should_stop=lambda: self.stop_requested, wait=LOCK_WAIT_SECONDS,
                               alive=lambda: self.alive()) as sending:
            self._receive(report, sending)
            if not self.stop_requested:
                sending.settle()   # a release goes to a late registrant only once their confirmation is out
                try:
                    report.announced = releases.fan_out_all(self.db, self.rules, self.replies, self.clock(),
                                                            progress=lambda n: sending.pump())
                except (MailflowError, TemplateProblem) as exc:
                    log.error("releases not sent: %s", exc)
                    report.errors.append(str(exc))
                try:   # after the mail of this pass: its registrants are in today's digest
                    report.digests = digest.queue_due(self.db, self.rules, self.replies, self.clock())
                except (MailflowError, TemplateProblem) as exc:
                    log.error("digest not sent: %s", exc)
                    report.errors.append(str(exc))
            if not self.stop_requested:
                self._watch_health(sending)
            counts = sending.finish(send_budget)
        self._note_smtp(counts)
        report.sent, report.failed, report.more_to_send = counts.sent, counts.failed, counts.more
        report.errors.extend(counts.errors)
        report.unreachable.update(("smtp", name) for name in counts.unreachable)
        return report

    def send_session(self, **options: Any) -> AbstractContextManager[dispatch.Dispatch]:
        """dispatch.sending() for this worker's mailboxes (`options`: on_sent, should_stop, wait, alive)."""
        addresses = {name: box.address for name, box in self.rules.mailboxes.items()}
        folders = {name: folder for name, folder in self.sent_folders.items() if not self.rests(("imap", name))}
        copies = {name: folder for name, folder in folders.items() if self.rules.mailboxes[name].sent_copy == "append"}
        provider = frozenset(name for name, box in self.rules.mailboxes.items() if box.sent_copy == "provider")
        resting = {name: "its SMTP server failed in an earlier pass: tried again at the next retry"
                   for name in self.senders if self.rests(("smtp", name))}
        return dispatch.sending(self.db, self.senders, addresses, folders, copies,
                                provider_copies=provider, resting=resting, **options)

    def _watch_health(self, sending: dispatch.Dispatch) -> None:
        """An SMTP server that failed and has nothing to send is tried once (its recovery is seen); then
        the alarms of outages are raised or closed, their mails queued through a route that works."""
        if sending.enabled:
            sending.settle()   # the sender thread's outcomes (and its failures) first
            failing = health.failing(self.db)
            for name in self.senders:
                if (name, health.SMTP) in failing and not self.rests(("smtp", name)):
                    sending.probe(name)
            self._note_smtp(sending.counts)
        usable = [name for name in self.senders if not self.rests(("smtp", name))]
        with database.transaction(self.db):
            alarm.check(self.db, self.rules, self.clock(), usable)

    def _note_smtp(self, counts: dispatch.SendCounts) -> None:
        """health.py: the SMTP servers that took the login, and those that failed, with why. One that lost a
        mail's answer works again only once it takes a mail: its logins go on working (a hung content filter)."""
        with database.transaction(self.db):
            failing = health.failing(self.db)
            for name in counts.reached - set(counts.failures):
                lost = ANSWER_LOST in ((failing.get((name, health.SMTP)) or {}).get("cause") or "")
                if name in counts.delivered or not lost:
                    health.record_ok(self.db, name, health.SMTP)
            for name, cause in counts.failures.items():
                health.record_failure(self.db, name, health.SMTP, cause)

    def _imap_failed(self, name: str, exc: ConnectionFailed, report: PassReport) -> None:
        log.error("%s", exc)
        report.errors.append(str(exc))
        report.unreachable.add(("imap", name))
        with database.transaction(self.db):
            health.record_failure(self.db, name, health.IMAP, str(exc))

    def _receive(self, report: PassReport, sending: dispatch.Dispatch) -> None:
        opened: dict[str, int] = {}
        found = {name: answered.Found() for name in self.mailboxes}
        try:
            for name, mailbox in self.mailboxes.items():
                if self.stop_requested:
                    break
                if self.rests(("imap", name)):
                    continue
                try:
                    opened[name] = mailbox.open()
                    if name not in self._first_opened:   # recorded once for good; then known without a write
                        with database.transaction(self.db):
                            answered.note_opened(self.db, name)
                        if at := answered.first_opened(self.db, name):
                            self._first_opened[name] = at
                    self._note_marking(name, mailbox)
                    report.recorded += self.intake(name, mailbox, opened[name], found[name])
                except ConnectionFailed as exc:
                    opened.pop(name, None)
                    self._imap_failed(name, exc, report)
            # Every inbox is recorded before any mail is processed, so a mail sent to
            # both coordinators is seen as one, whichever inbox is read first; and what the
            # Sent folders say was answered is known before anything is answered or sent.
            unread = self.read_sent_folders(sending, report, found)
            if not unread:
                archived = self.process_recorded(report, after_batch=sending.pump)
                for name in self.mailboxes:
                    answered.save_found(self.db, name, found[name], archived.get(name, 0))
            else:
                sending.only = alarm.KINDS   # nothing that answers anyone; the health alarm does not
            for name, uidvalidity in opened.items():
                try:
                    self.mark_on_server(name, self.mailboxes[name], uidvalidity)
                except ConnectionFailed as exc:
                    self._imap_failed(name, exc, report)
                    continue
                # Read, its Sent folder too, and marked: it works (an intake that works while the marking or
                # the Sent folder fails every pass is one outage, its start kept, not a new one each pass).
                if name not in sending.held:
                    with database.transaction(self.db):
                        health.record_ok(self.db, name, health.IMAP)
        finally:
            for mailbox in self.mailboxes.values():
                mailbox.close()

    # -- intake -------------------------------------------------------------

    def intake(self, name: str, mailbox: Mailbox, uidvalidity: int, found: answered.Found | None = None) -> int:
        """Record new mail (with what the server's flag says, counted in `found`); returns how many."""
        found = found if found is not None else answered.Found()
        state = self._sync_state(name, mailbox.folder)
        last_uid = state["last_uid"] or 0
        if state["uidvalidity"] not in (None, uidvalidity):
            log.warning(
                "mailbox=%s folder=%s UIDVALIDITY changed %s -> %s; re-scanning, known mail is matched by Message-ID",
                name, mailbox.folder, state["uidvalidity"], uidvalidity,
            )
            last_uid = 0
        self._note_flagged_leftovers(name, mailbox, uidvalidity, last_uid, found)
        flagged = answered.flagged_reason(self.rules.mailboxes[name].processed.flag)
        recorded = fetched = 0
        for batch in mailbox.fetch_after(last_uid):
            fetched += len(batch)
            self.progress(f"fetching {name}", fetched, getattr(mailbox, "pending", fetched))
            with database.transaction(self.db):
                for mail in batch:
                    new = self._record(name, uidvalidity, mail.uid, mail.raw, mail.arrived,
                                       flagged if mail.processed else None)
                    recorded += new
                    found.flagged += int(bool(new) and mail.processed)
                last_uid = max([last_uid, *(m.uid for m in batch)])
                self._save_sync_state(name, mailbox.folder, uidvalidity, last_uid)
            del batch   # before the next is fetched: one batch of raw mail in memory at a time
            self.alive()
            if self.stop_requested:
                break
        self._save_sync_state(name, mailbox.folder, uidvalidity, last_uid)
        return recorded

    def _note_flagged_leftovers(self, name: str, mailbox: Mailbox, uidvalidity: int, last_uid: int,
                                found: answered.Found) -> None:
        """Mails recorded by an earlier pass and not answered yet (a crash, or a database restored from a
        backup taken between recording and answering): the server's flag may say they were answered since."""
        waiting = [r[0] for r in self.db.execute(
            "select uid from messages where mailbox = ? and uidvalidity = ? and state = ? and uid <= ? "
            "and answered_before is null", [name, uidvalidity, MessageState.RECORDED, last_uid])]
        flagged = mailbox.flagged(waiting) if waiting else set()
        if flagged:
            with database.transaction(self.db):
                found.flagged += answered.note_flagged(self.db, name, uidvalidity, flagged,
                                                       self.rules.mailboxes[name].processed.flag)

    def read_sent_folders(self, sending: dispatch.Dispatch, report: PassReport,
                          found: dict[str, answered.Found] | None = None) -> list[str]:
        """Before anything is answered or sent: mailflow's own mail and the replies in each Sent folder since
        the last look (answered.read_sent_folder), at every pass: a coordinator's reply closes a question, and
        a database restored from a backup learns what went out since (a release went to everyone again when
        nothing else waited).

        A mailbox whose folder cannot be read sends nothing this pass but the health alarm (`sending.held`),
        and it is an outage of its IMAP (health.py: `mailflow status`, the alarm; it used to be silent while
        every answer waited). One whose IMAP server rests after a failure is not tried (each pass waited for
        its timeout), but held the same until this process has read its folder once (a database restored while
        that server was down sent its releases again). Returns the mailboxes held so while mail waits: then
        this pass answers and sends nothing but the alarm, as it cannot know what was answered. `mailflow
        release` reads them too before its fan-out: run before the first pass after a restore, it sent again."""
        found = found if found is not None else {}
        waiting = [MessageState.RECORDED, OutboxState.QUEUED, OutboxState.UNCERTAIN]
        mail_waits = bool(self.db.execute("select 1 from messages where state = ? union all select 1 from outbox "
                                          "where state in (?, ?) limit 1", waiting).fetchone())
        unread = []
        for name, folder in self.sent_folders.items():
            if self.rests(("imap", name)):
                if name in self.sent_read:
                    continue
                problem = f"mailbox {name}: its Sent folder was not read since mailflow started (its IMAP failed)"
            else:
                try:
                    look = answered.read_sent_folder(self.db, name, folder)
                except ConnectionFailed as exc:
                    problem = str(exc)
                    if ("imap", name) not in report.unreachable:   # (its inbox's failure this pass says why)
                        with database.transaction(self.db):
                            health.record_failure(self.db, name, health.IMAP, problem)
                else:
                    self.sent_read.add(name)
                    # (what the Sent folder says, with what the inbox's flags said: a new count needs no line here)
                    found[name] = dataclasses.replace(look, flagged=found.get(name, answered.Found()).flagged)
                    continue
            sending.held.add(name)
            sending.held_but = alarm.KINDS   # (the health alarm goes through any route that works)
            if not mail_waits:
                log.warning("%s; its mailbox sends nothing until it can be read", problem)
                continue
            log.error("%s; nothing is answered or sent until it can be read (it says what was answered and "
                      "sent), but the health alarm", problem)
            report.errors.append(problem)
            unread.append(name)
        return unread

    def _note_marking(self, name: str, mailbox: Mailbox) -> None:
        """Record how this mailbox's processed mail is marked (`mailflow status`); say it in the log
        once, when it changes, not at every pass."""
        marking = getattr(mailbox, "marking", None)
        known = self.db.execute("select marking from sync_state where mailbox = ? and folder = ?",
                                [name, mailbox.folder]).fetchone()
        if marking is None or (known and known[0] == marking):
            return
        self.db.table("sync_state").upsert({"mailbox": name, "folder": mailbox.folder, "marking": marking},
                                     pk=("mailbox", "folder"))
        if marking in (MOVE, DATABASE):
            flag = self.rules.mailboxes[name].processed.flag
            instead = (f"moved to {self.rules.mailboxes[name].processed.move_to}" if marking == MOVE
                       else "recorded in mailflow's database only")
            log.warning("mailbox=%s folder=%s the server stores no keyword %s (PERMANENTFLAGS without \\*): "
                        "processed mail is %s", name, mailbox.folder, flag, instead)
        else:
            log.info("mailbox=%s folder=%s processed mail is marked: %s", name, mailbox.folder, marking)

    def _record(self, mailbox: str, uidvalidity: int, uid: int, raw: bytes, arrived: datetime | None,
                answered_before: str | None = None) -> int:
        message_id = message_id_of(raw)
        recorded_at = now(self.db)
        values = {
            "mailbox": mailbox, "key": message_key(raw, message_id), "uidvalidity": uidvalidity, "uid": uid,
            "message_id": message_id, "state": MessageState.RECORDED, "raw": raw, "recorded_at": recorded_at,
            "arrived_at": stamp(arrived) if arrived else recorded_at, "answered_before": answered_before,
        }
        # Insert first, one statement for a new mail: a Message-ID no mailbox has seen (or, without one,
        # bytes not seen in this mailbox) is recorded at once; anything else is looked at more closely.
        if database.insert(self.db, "messages", values, ignore=True, unless=("message_id", message_id)):
            log.info("mailbox=%s uid=%s message_id=%s recorded%s", mailbox, uid, message_id,
                     f" ({answered_before})" if answered_before else "")
            return 1
        if message_id:
            # The same mail (delivered again, a UIDVALIDITY re-scan, the copy to the other coordinator)
            # keeps its key; another mail with that Message-ID gets one of its own.
            seen = database.rows(self.db, "select id, mailbox, key, uidvalidity, uid, content_hash from messages "
                                          "where message_id = ? order by id", [message_id])
            if any(row["mailbox"] == mailbox and (row["uidvalidity"], row["uid"]) == (uidvalidity, uid)
                   for row in seen):
                return 0   # this very server copy, fetched again after a crash
            values["key"], values["content_hash"] = self._key_among(seen, raw, message_id, mailbox, uid)
            if database.insert(self.db, "messages", values, ignore=True):
                log.info("mailbox=%s uid=%s message_id=%s recorded", mailbox, uid, message_id)
                return 1
        existing = self.db.execute(
            "select id, uidvalidity, uid from messages where mailbox = ? and key = ?", [mailbox, values["key"]]
        ).fetchone()
        if tuple(existing[1:]) != (uidvalidity, uid):
            if existing[1] == uidvalidity:
                log.info("mailbox=%s uid=%s message_id=%s the same mail as uid %s (delivered again): "
                         "not recorded twice", mailbox, uid, message_id, existing[2])
            database.update(self.db, "messages", existing[0],
                            {"uidvalidity": uidvalidity, "uid": uid, "marked_on_server": 0})
        return 0

    def _key_among(self, seen: list[dict], raw: bytes, message_id: str, mailbox: str, uid: int) -> tuple[str, str]:
        """(key, content hash) of a mail whose Message-ID the rows `seen` already carry: the key of
        the one with the same content, or a key of its own. A row whose raw mail was purged before
        its hash was kept counts as the same mail (nothing is answered twice)."""
        content = content_hash(raw)
        purged = None
        for row in seen:
            known = row["content_hash"] or self._content_of(row["id"])
            if known == content:
                return row["key"], content
            if known is None and purged is None:
                purged = row["key"]
        if purged is not None:
            return purged, content
        log.warning("mailbox=%s uid=%s message_id=%s carries other content than the mail with that Message-ID "
                    "recorded before (mailbox=%s uid=%s): recorded as a mail of its own",
                    mailbox, uid, message_id, seen[0]["mailbox"], seen[0]["uid"])
        return message_key(raw, message_id, content), content

    def _content_of(self, row_id: int) -> str | None:
        """A recorded mail's content hash, computed from its raw bytes once and kept (None: purged)."""
        (raw,) = self.db.execute("select raw from messages where id = ?", [row_id]).fetchone()
        if raw is None:
            return None
        content = content_hash(raw)
        database.update(self.db, "messages", row_id, {"content_hash": content})
        return content

    def _sync_state(self, mailbox: str, folder: str) -> dict:
        rows = list(self.db.table("sync_state").rows_where("mailbox = ? and folder = ?", [mailbox, folder]))
        return rows[0] if rows else {"uidvalidity": None, "last_uid": 0}

    def _save_sync_state(self, mailbox: str, folder: str, uidvalidity: int, last_uid: int) -> None:
        self.db.table("sync_state").upsert(
            {"mailbox": mailbox, "folder": folder, "uidvalidity": uidvalidity, "last_uid": last_uid,
             "last_sync": now(self.db)},
            pk=("mailbox", "folder"),
        )

    # -- process ------------------------------------------------------------

    def process_recorded(self, report: PassReport, after_batch: Callable[[], None] = lambda: None) -> dict[str, int]:
        """Process in batches of at most PROCESS_BATCH mails (and PROCESS_BATCH_BYTES of raw mail, and
        PROCESS_BATCH_SECONDS), each batch one transaction and each mail a savepoint in it: one mail's
        failure never takes the others with it, and a crash rolls back at most one batch, which the next
        pass redoes. Only one mail is held parsed at a time. `after_batch` runs after each commit (the send
        session's pump). Returns how many mails of each mailbox were archived."""
        total = self.db.execute("select count(*) from messages where state = ?", [MessageState.RECORDED]).fetchone()[0]
        done = last_id = 0
        archived: dict[str, int] = {}
        while not self.stop_requested:
            with database.transaction(self.db):
                batch = next(size_batches(self.db.execute(
                    "select id, length(raw) from messages where state = ? and id > ? order by id limit ?",
                    [MessageState.RECORDED, last_id, PROCESS_BATCH]).fetchall(),
                    PROCESS_BATCH, PROCESS_BATCH_BYTES), [])
                if not batch:
                    return archived
                moment = self.clock()     # the batch is judged at one moment
                for message_id in batch:
                    if self.stop_requested:
                        return archived
                    if self.clock() - moment > timedelta(seconds=PROCESS_BATCH_SECONDS):
                        break
                    (row,) = database.rows(self.db, "select id, mailbox, key, uid, message_id, raw, "
                                                    "coalesce(arrived_at, recorded_at) as arrived_at, "
                                                    "answered_before, unarchived_at from messages where id = ?",
                                           [message_id])
                    outcome = self.process(row, moment)
                    done += 1
                    self.progress("processing", done, total)
                    if outcome == MessageState.PROCESSED:
                        report.processed += 1
                    elif outcome == MessageState.QUARANTINED:
                        report.quarantined += 1
                    elif outcome == MessageState.ARCHIVED:
                        report.archived += 1
                        archived[row["mailbox"]] = archived.get(row["mailbox"], 0) + 1
                    last_id = message_id
            self.alive()
            after_batch()
        return archived

    def process(self, row: dict, moment: datetime) -> MessageState:
        """Parse, classify, judge by the time, answer and record one mail, in one savepoint;
        returns its new state."""
        ids = f"mailbox={row['mailbox']} uid={row['uid']} message_id={row['message_id']}"
        try:
            incoming = parse_message(row["raw"], self.rules.limits)
        except MessageError as exc:
            database.update(self.db, "messages", row["id"],
                            {"state": MessageState.QUARANTINED, "error": str(exc), "processed_at": now(self.db)})
            log.warning("%s quarantined: %s", ids, exc)
            return MessageState.QUARANTINED
        role = own_role(incoming, self.rules.own_addresses)
        if role:   # before classification: never answered, never a question, never in a digest
            database.update(self.db, "messages", row["id"], {
                "state": MessageState.PROCESSED, "sender": incoming.sender, "subject": incoming.subject,
                "intent": Intent.BULK, "answer": 0, "confidence": "high", "asks": 0,
                "reasons": json.dumps([f"mailflow's own mail (X-Mailflow: {role}): never answered"]),
                "processed_at": now(self.db), "error": None,
            })
            log.info("%s mailflow's own mail (%s): not answered", ids, role)
            return MessageState.PROCESSED
        try:
            with database.transaction(self.db):
                ours = self._our_ids(incoming)
                invited_to, invitation_ids = self._invitations(ours)
                calendar_uid = incoming.calendar_reply.uid if incoming.calendar_reply else ""
                calendar_event = invitations.invited_event(self.db, calendar_uid, incoming.sender)
                asked: list[bool] = []   # whether the sender is registered, if classify asks: kept for `replay`

                def is_registered(address: str) -> bool:   # (for an event not over: "I can't come this time")
                    ahead = [event.id for event in self.rules.events if not event.over(moment)]
                    asked.append(registrants.is_registered(self.db, address, ahead))
                    return asked[-1]

                verdict = classify(incoming, row["mailbox"], self.rules, ours, invitation_ids=invitation_ids,
                                   calendar_uids={calendar_uid} if calendar_event else set(),
                                   withdrawal_ids=outbox.withdrawal_ids(ours),
                                   is_registered=is_registered)
                was_registered = int(asked[-1]) if asked else None
                # A calendar's No cancels the event of the invitation it answers, whatever the mail's words
                # name; a Yes that registers for another event goes by its words, as any mail.
                declined = calendar_event if verdict.intent == Intent.CANCELLATION else None
                # By when the mail reached the mailbox, never its Date header; the wording by `moment`.
                timing = judge(self.rules, incoming, verdict.intent, parse_stamp(row["arrived_at"]), moment,
                               declined or invited_to)
                verdict = dataclasses.replace(verdict, reasons=(*verdict.reasons, *timing.reasons))
                held, state = self._held(row, timing)
                if held:   # answered before, or archived: recorded and classified, with no effect
                    return self._record_held(row, incoming, verdict, timing, held, state, was_registered)
                limited = self._reply_limit(incoming, row, verdict, timing)
                if limited:
                    verdict = dataclasses.replace(verdict, answer=False, reasons=(*verdict.reasons, limited))
                reply = self._reply(incoming, verdict, timing, moment) if verdict.answer and incoming.sender else None
                registrant_id = self._apply(row, incoming, verdict, timing, reply)
                database.update(self.db, "messages", row["id"], {
                    "state": MessageState.PROCESSED, "sender": incoming.sender, "subject": incoming.subject,
                    "audience": verdict.audience, "intent": verdict.intent, "answer": int(verdict.answer),
                    "confidence": verdict.confidence, "asks": int(verdict.asks),
                    "reasons": json.dumps(list(verdict.reasons), ensure_ascii=False),
                    "event_id": timing.event.id, "registrant_id": registrant_id,
                    "reply_limited": limited or None, "attention": timing.attention,
                    "sender_was_registered": was_registered,
                    "processed_at": now(self.db), "error": None,
                })
        except TemplateProblem as exc:
            # A broken template is the coordinators' to fix; the mail waits in `recorded`.
            log.error("%s not answered yet, template problem: %s", ids, exc)
            return MessageState.RECORDED
        except Exception as exc:
            if database.is_weather(exc):
                raise   # a full disk or a lock is not the mail's fault: the batch rolls back and is redone
            # Whatever else goes wrong with one mail must not stop the others (a crash loop):
            # it is quarantined with the error, for a coordinator to look at.
            log.exception("%s quarantined: processing failed", ids)
            database.update(self.db, "messages", row["id"], {
                "state": MessageState.QUARANTINED, "processed_at": now(self.db),
                "error": f"processing failed: {type(exc).__name__}: {clean(exc, 300)}",
            })
            return MessageState.QUARANTINED
        log.info(
            "%s registrant=%s processed: audience=%s intent=%s answer=%s",
            ids, registrant_id, verdict.audience, verdict.intent, verdict.answer,
        )
        return MessageState.PROCESSED

    def _held(self, row: dict, timing: Timing) -> tuple[str, MessageState]:
        """Why this mail must have no effect, and the state it is recorded in ('' when it has its effect):
        answered before this database knew it (never answered again), or arrived before the mailbox's
        answer_mail_since (archived until a coordinator runs `mailflow archive answer`)."""
        if row["answered_before"]:
            why = f"answer: no (answered before this database knew it: {row['answered_before']})"
            return why, MessageState.PROCESSED
        if row["unarchived_at"]:
            return "", MessageState.PROCESSED
        mailbox = row["mailbox"]
        if mailbox not in self._first_opened and (opened := answered.first_opened(self.db, mailbox)):
            self._first_opened[mailbox] = opened
        since, why = answered.answer_since(self.rules, mailbox, timing.event, self._first_opened.get(mailbox))
        arrived = parse_stamp(row["arrived_at"])
        if since is not None and arrived < since:
            return answered.archived_reason(arrived, since, why), MessageState.ARCHIVED
        return "", MessageState.PROCESSED

    def _record_held(self, row: dict, incoming: IncomingMessage, verdict: Classification, timing: Timing,
                     held: str, state: MessageState, was_registered: int | None = None) -> MessageState:
        database.update(self.db, "messages", row["id"], {
            "state": state, "sender": incoming.sender, "subject": incoming.subject,
            "audience": verdict.audience, "intent": verdict.intent, "answer": 0,
            "confidence": verdict.confidence, "asks": int(verdict.asks),
            "reasons": json.dumps([*verdict.reasons, held], ensure_ascii=False),
            "event_id": timing.event.id, "registrant_id": None,
            # What the classifier would have done, so `mailflow replay` compares like with like.
            "reply_limited": held if verdict.answer else None, "attention": None,
            "processed_at": now(self.db), "error": None, "sender_was_registered": was_registered,
        })
        log.info("mailbox=%s uid=%s message_id=%s %s: audience=%s intent=%s, no effect: %s", row["mailbox"],
                 row["uid"], row["message_id"], state, verdict.audience, verdict.intent, held)
        return state

    def _our_ids(self, incoming: IncomingMessage) -> dict[str, str]:
        """The Message-IDs of our mails in the thread, each with its outbox kind."""
        refs = [*incoming.in_reply_to, *incoming.references]
        if not refs:
            return {}
        marks = ",".join("?" * len(refs))
        return {r["message_id"]: r["kind"] for r in database.rows(
            self.db, f"select message_id, kind from outbox where message_id in ({marks})", refs)}

    def _invitations(self, ours: Mapping[str, str]) -> tuple[str | None, set[str]]:
        """The event an invitation of ours in the thread invited to (`mailflow invite`), and the
        Message-IDs of those invitations (none: None and an empty set)."""
        if not ours:
            return None, set()
        marks = ",".join("?" * len(ours))
        found = database.rows(self.db, f"select i.event_id, o.message_id from invites i join outbox o "
                                       f"on o.id = i.outbox_id where o.message_id in ({marks}) order by i.id desc",
                              sorted(ours))
        return (found[0]["event_id"] if found else None), {row["message_id"] for row in found}

    def _reply_limit(self, incoming: IncomingMessage, row: dict, verdict: Classification, timing: Timing) -> str:
        """Why an answer the rules allow is held back: one per mail sent to both coordinators (one key:
        its Message-ID and content), one of a kind per sender per reply_interval_days ('' when not held
        back). A reply of another kind goes: a cancellation a day after the registration is confirmed."""
        if not verdict.answer:
            return ""
        days = self.rules.reply_interval_days
        since = (self.clock() - timedelta(days=days)).isoformat(timespec="seconds") if days else None
        # Both look-ups in one statement (one of the few per mail); a NULL id or `since` finds nothing.
        ((other, last),) = self.db.conn.execute(
            "select (select mailbox from messages where message_id = ? and key = ? and mailbox != ? "
            "and answer = 1 limit 1), (select kind || ' ' || created_at from outbox where recipient = ? "
            "and kind like 'reply:%' and created_at >= ? order by created_at desc, id desc limit 1)",
            [incoming.message_id or None, row["key"], row["mailbox"], incoming.sender, since],
        ).fetchall()
        if other is not None:
            return f"answer: no (the same mail was already answered from mailbox {other!r})"
        kind, _, earlier = (last or "").partition(" ")
        if kind == f"reply:{_reply_kind(verdict, timing)}":
            return (f"answer: no (this sender got the same automatic reply ({kind}) on {earlier}; "
                    f"at most one of a kind every {days:g} days)")
        return ""

    def _apply(self, row: dict, incoming: IncomingMessage, verdict: Classification, timing: Timing,
               reply: Reply | None) -> int | None:
        event = timing.event
        registrant = None
        if incoming.sender and verdict.intent not in AUTOMATIC_INTENTS:
            bounces.wrote_again(self.db, incoming.sender, incoming.message_id)
        # Registers others on their behalf (nominations.py); whom a cancellation names waits for a coordinator.
        if verdict.nominations is not None and (timing.register or verdict.intent == Intent.CANCELLATION):
            registrant = self._on_behalf(row, incoming, verdict.audience, verdict.nominations, event, verdict.written)
        if incoming.sender and verdict.intent == Intent.CANCELLATION and (
                verdict.nominations is None or verdict.nominations.sender_withdraws):
            registrant = registrants.cancel(self.db, event.id, incoming.sender)
            if registrant:   # their calendar's invitation is taken back (METHOD:CANCEL)
                releases.withdraw_invitation(self.db, self.rules, self.replies, registrant)
        elif incoming.sender and verdict.intent == Intent.INTEREST and timing.register and verdict.nominations is None:
            registrant = registrants.register(self.db, event.id, incoming.sender, incoming.sender_name,
                                              verdict.audience, row["id"], event.new_registrant_status,
                                              written=verdict.written)
        for address in verdict.bounced:
            bounces.bounced(self.db, address, incoming.message_id, self.rules.own_addresses)
        if self._misdirected(row, incoming, verdict):
            self._queue_notice(row, incoming, verdict, reply if verdict.answer else None)
        if verdict.answer and reply:   # (the reply limit may have said no since read())
            outbox.enqueue(
                self.db, raw=reply.raw, message_id=reply.message_id, kind=f"reply:{reply.kind}",
                mailbox=reply.mailbox, recipient=reply.recipient, subject=reply.subject,
                source_message=row["id"], registrant_id=registrant["id"] if registrant else None,
                # A confirmation promises the agenda and link "in due course": never sent once the event is over.
                expires_at=event.ends_at if reply.kind == Intent.INTEREST else None,
            )
        return registrant["id"] if registrant else None

    def _on_behalf(self, row: dict, incoming: IncomingMessage, audience: str, nominations: Nominations,
                   event: Event, written: Written | None) -> dict | None:
        """Register the nominees (each gets a confirmation) and the sender when they attend too;
        when mailflow is unsure, nobody: the mail waits for a coordinator (`mailflow questions`)."""
        proposal = json.dumps(nominations.as_dict(), ensure_ascii=False)   # for `mailflow registrants confirm`
        database.update(self.db, "messages", row["id"],
                        {"review": int(bool(nominations.unsure)), "nominations": proposal})
        if nominations.unsure or not incoming.sender:
            log.info("mailbox=%s uid=%s message_id=%s on behalf of others, unsure: left to a coordinator",
                     row["mailbox"], row["uid"], row["message_id"])
            return None
        status = event.new_registrant_status
        behalf.register(self.db, self.rules, self.replies, event, row["id"], incoming.sender, incoming.sender_name,
                        nominations, status)
        if not nominations.sender_attends:
            return None
        return registrants.register(self.db, event.id, incoming.sender, incoming.sender_name, audience,
                                    row["id"], status, written=written)

    def _reply(self, incoming: IncomingMessage, verdict: Classification, timing: Timing, moment: datetime) -> Reply:
        sender = incoming.sender
        assert sender, "only a mail with a sender address is answered (process)"
        kind = _reply_kind(verdict, timing)
        template = self.rules.replies[kind][verdict.audience]
        if kind == Intent.INTEREST and verdict.asks:
            template = self.rules.replies.get(INTEREST_WITH_QUESTION, {}).get(verdict.audience, template)
        # The reply comes from the coordinator of the audience the evidence chose.
        from_box = self.rules.mailbox_for_audience(verdict.audience)
        box = self.rules.mailboxes[from_box]
        context = reply_context(self.rules, timing.event, from_box, incoming.sender_name, sender,
                                incoming.subject, now=moment, next_event=timing.next_event, in_time=timing.in_time,
                                events=self._event_context)
        if verdict.nominations is not None and kind == Intent.INTEREST:   # the summary of whom mailflow registered
            template = self.rules.on_behalf["summary"][verdict.audience]
            known = behalf.already_registered(self.db, timing.event.id, verdict.nominations)
            context.update(behalf.summary_context(verdict.nominations, verdict.nominations.sender_attends, known))
        rendered = self.replies.render(template, context)
        message_id = outbox.new_message_id(box.address)
        raw = outbox.compose(
            from_name=box.coordinator, from_address=box.address,
            to_name=incoming.sender_name, to_address=sender,
            subject=rendered.subject, text=rendered.text, message_id=message_id, role=outbox.REPLY,
            in_reply_to=incoming.message_id, references=_thread_of(incoming), date=moment,
        )
        return Reply(from_box, message_id, raw, rendered.subject, kind, outbox.envelope_address(sender))

    def _misdirected(self, row: dict, incoming: IncomingMessage, verdict: Classification) -> bool:
        """A mail for the other audience that its coordinator has not received directly."""
        mailbox = row["mailbox"]
        if not (
            self.rules.notify_other_coordinator == "forward"
            and verdict.intent not in AUTOMATIC_INTENTS
            and verdict.confidence == "high"
            and verdict.audience != self.rules.audience_of(mailbox)
        ):
            return False
        target = self.rules.mailbox_for_audience(verdict.audience)
        return not (incoming.message_id and self.db.execute(
            "select 1 from messages where mailbox = ? and key = ?", [target, row["key"]]
        ).fetchone())

    def _queue_notice(self, row: dict, incoming: IncomingMessage, verdict: Classification,
                      reply: Reply | None) -> None:
        """Tell the other coordinator, in their language, with the reasons in words and the original attached."""
        home = self.rules.mailboxes[row["mailbox"]]
        target = self.rules.mailboxes[self.rules.mailbox_for_audience(verdict.audience)]
        message_id = outbox.new_message_id(home.address)
        subject, text = notices.notice(
            target.language, to_name=target.coordinator, home_name=home.coordinator, home_address=home.address,
            home_audience=self.rules.audience_of(row["mailbox"]), sender_name=incoming.sender_name,
            sender=incoming.sender or "", subject=incoming.subject, evidence=verdict.evidence,
            told=notices.Told(reply.kind, reply.subject) if reply else None, number=row["id"])
        raw = outbox.compose_notice(
            from_name=f"mailflow ({home.coordinator})", from_address=home.address,
            to_name=target.coordinator, to_address=target.address,
            subject=subject, text=text, message_id=message_id, original=row["raw"], date=self.clock(),
        )
        outbox.enqueue(
            self.db, raw=raw, message_id=message_id, kind="notice:misdirected", mailbox=row["mailbox"],
            recipient=target.address, subject=f"for {verdict.audience}: {incoming.subject}", source_message=row["id"],
        )

    # -- mark ---------------------------------------------------------------

    def mark_on_server(self, name: str, mailbox: Mailbox, uidvalidity: int) -> None:
        rows = list(self.db.query(
            """select id, uid, answered_before is null and question_closed_at is null
                      and (state = :quarantined or intent = :question
                      or asks = 1 or review = 1 or attention is not null
                      or (confidence = 'low'
                          and intent not in (select value from json_each(:automatic)))) as needs_human
               from messages where mailbox = :mailbox and uidvalidity = :uidvalidity and marked_on_server = 0
                     and state in (:processed, :quarantined)""",
            {"mailbox": name, "uidvalidity": uidvalidity, "processed": MessageState.PROCESSED,
             "quarantined": MessageState.QUARANTINED, "question": Intent.QUESTION,
             "automatic": json.dumps(sorted(AUTOMATIC_INTENTS))},
        ))
        clear_closed_flags(self.db, name, mailbox, uidvalidity)   # answered questions lose their star
        if not rows:
            return
        # Questions, mails a coordinator should look at (late registrations, unsure registrations on behalf
        # of others), unsure audiences and quarantined mail get \Flagged: they stand out in the client;
        # not a mail answered before this database knew it (it was handled then). Archived mail is not
        # marked at all: it is marked when it is answered.
        mailbox.mark_processed(sorted(r["uid"] for r in rows), sorted(r["uid"] for r in rows if r["needs_human"]))
        with database.transaction(self.db):
            self.db.execute("update messages set marked_on_server = 1 where id in (select value from json_each(?))",
                            [json.dumps([r["id"] for r in rows])])


def _thread_of(incoming: IncomingMessage) -> tuple[str, ...]:
    """The thread the mail answers: its References, or its one In-Reply-To when it has none (RFC 5322 3.6.4;
    a client that writes only In-Reply-To lost the coordinator's mail from the answer's thread)."""
    return incoming.references or (incoming.in_reply_to if len(incoming.in_reply_to) == 1 else ())


def _reply_kind(verdict: Classification, timing: Timing) -> str:
    """Which reply a mail gets: its intent's, or "registration closed" when it came too late."""
    return REGISTRATION_CLOSED if timing.closed_reply else verdict.intent


def own_role(incoming: IncomingMessage, own_addresses: frozenset[str]) -> str:
    """What mailflow sent this as (X-Mailflow: digest, notice, ...) when one of its own addresses
    sent it ('' otherwise): its digests, alarms and notices land in the inboxes it watches."""
    role = incoming.header(outbox.MAILFLOW_HEADER) or ""
    return clean(role, 40) if role and incoming.sender in own_addresses else ""


def clear_closed_flags(db: sqlite_utils.Database, name: str, mailbox: Mailbox, uidvalidity: int) -> int:
    """Take \\Flagged off `mailbox`'s closed questions (answered from a coordinator's client, or
    `questions --close`), the mailbox being open at `uidvalidity`; returns how many."""
    rows = history.flags_to_clear(db, name, uidvalidity)
    if rows:
        mailbox.unflag([r["uid"] for r in rows])
        history.flags_cleared(db, [r["id"] for r in rows])
        log.info("mailbox=%s \\Flagged taken off %s closed questions (uids %s)", name, len(rows),
                 ",".join(str(r["uid"]) for r in rows))
    return len(rows)


def build_report_rows(db: sqlite_utils.Database, since_id: int = 0) -> list[dict]:
    """Sender, audience, intent and what was done, for the demo's table."""
    return list(db.query(
        """
        select m.id, m.mailbox, coalesce(m.sender, '?') as sender, m.audience, m.intent, m.state,
               m.error, o.state as reply_state, o.subject as reply_subject,
               exists(select 1 from outbox n where n.source_message = m.id and n.kind like 'notice:%') as notified
        from messages m left join outbox o on o.source_message = m.id and o.kind like 'reply:%'
        where m.id > ? order by m.id
        """,
        [since_id],
    ))

