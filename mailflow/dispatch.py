"""Sending the outbox: claim queued rows, hand them to a courier, record what came back.

Only the calling thread touches the database. A pass opens one `sending()`
session; the worker calls `pump()` between its batches (never inside a
transaction), so the courier sends the replies of batch n while batch n+1 is
being processed, and `finish()` at the end waits for the rest.

Crash safety, in order:
- a row is committed as `sending` before the courier gets it;
- the courier appends the row's id to the sent journal (`<database>-sent`) as
  soon as the SMTP server accepted the mail, before anything else;
- the outcome is committed later, in batches;
- a session starts by reconciling rows left in `sending`: in the journal or in
  the Sent folder means sent, otherwise queued again.
The journal file is flock()ed for the whole session (the courier child inherits
the lock), so two mailflow processes never send at the same time and a new one
waits until an orphaned courier has finished its last mail.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from pathlib import Path

import sqlite_utils

from . import courier, database
from .courier import InlineCourier, Item, ProcessCourier, Result, portable
from .clock import stamp
from .database import now
from .errors import ConnectionFailed
from .outbox import CANCELLED, FAILED, GIVE_UP_AFTER, QUEUED, SENDING, SENT, Sender, SentCopies, retry_delay

log = logging.getLogger(__name__)

WINDOW_ROWS = 1000            # claimed but not yet answered, at most
WINDOW_SECONDS = 10           # ... and with a rate limit, no more than this many seconds of sending
WINDOW_BYTES = 32 << 20       # ... and at most this many bytes of mail in flight (agenda attachments)
COPY_BATCH = 100              # copies appended to a Sent folder per APPEND


class SentJournal:
    """`<database>-sent`: ids of outbox rows the SMTP server accepted, one per line, plus the send lock."""

    def __init__(self, path: Path | None, wait: float | None = None):
        """Takes the lock, waiting `wait` seconds at most (None: as long as it takes); `held` says
        whether it got it."""
        self.path = path
        self.fd: int | None = None
        self.held = True
        if path is None:
            return
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        if self._try():
            return
        if wait is None:
            log.warning("another mailflow process is sending (lock %s); waiting for it to finish", path)
            fcntl.flock(self.fd, fcntl.LOCK_EX)
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            time.sleep(0.05)
            if self._try():
                return
        self.close()
        self.held = False

    def _try(self) -> bool:
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    def accepted(self) -> set[int]:
        if self.fd is None:
            return set()
        with open(self.path, "rb") as f:
            return {int(line) for line in f.read().split() if line.isdigit()}

    def clear(self) -> None:
        if self.fd is not None:
            os.ftruncate(self.fd, 0)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)   # releases the lock once no courier holds the same file open
            self.fd = None


def journal_path(db: sqlite_utils.Database) -> Path | None:
    name = next((row[2] for row in db.execute("pragma database_list") if row[1] == "main"), "")
    return Path(f"{name}-sent") if name else None


def reconcile_interrupted(
    db: sqlite_utils.Database, journal: SentJournal, sent_folders: Mapping[str, SentCopies] | None = None
) -> int:
    """Rows a crash left in `sending`: sent if the journal or the Sent folder has them, else queued again.

    Without either to ask, the row is queued again (at least once).
    """
    rows = list(db.query("select id, mailbox, message_id from outbox where state = ?", [SENDING]))
    accepted = journal.accepted() if rows else set()
    for row in rows:
        ids = f"mailbox={row['mailbox']} outbox={row['id']} message_id={row['message_id']}"
        folder = (sent_folders or {}).get(row["mailbox"])
        if row["id"] in accepted:
            found = "the server had accepted it"
        else:
            try:
                found = "found in the Sent folder" if folder and folder.contains(row["message_id"]) else ""
            except ConnectionFailed as exc:
                log.warning("%s interrupted while sending; cannot check the Sent folder (%s): left for later",
                            ids, exc)
                continue
        if found:
            database.update(db, "outbox", row["id"], {"state": SENT, "sent_at": now(db), "error": None})
            log.warning("%s interrupted while sending, but %s: not sent again", ids, found)
        else:
            database.update(db, "outbox", row["id"], {"state": QUEUED})
            log.warning("%s interrupted while sending; not in the Sent folder: queued again", ids)
    return len(rows)


def window_rows(senders: Mapping[str, Sender]) -> int:
    """How many rows to claim ahead. Under a rate limit a claimed row may wait minutes for its
    turn, and a coordinator cannot cancel a row in `sending`: claim only about ten seconds' worth."""
    rates = [sender.gap for sender in senders.values() if getattr(sender, "gap", None)]
    return max(1, min(WINDOW_ROWS, int(WINDOW_SECONDS / max(rates)))) if rates else WINDOW_ROWS


class Dispatch:
    """One pass's sending: claims due rows in id order, records each courier result."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        senders: Mapping[str, Sender],
        addresses: Mapping[str, str],
        journal: SentJournal,
        sent_copies: Mapping[str, SentCopies] | None = None,
        on_sent: Callable[[int], None] = lambda n: None,
        should_stop: Callable[[], bool] = lambda: False,
        enabled: bool = True,
    ):
        self.db = db
        self.enabled = enabled          # False: another process sends; this one only queues
        self.claiming = enabled
        self.should_stop = should_stop
        self.senders = senders
        self.addresses = addresses
        self.journal = journal
        self.sent_copies = sent_copies or {}
        self.on_sent = on_sent
        self.moment = database.clock_of(db)()   # the session's "now", for retries
        self.counts: dict = {SENT: 0, FAILED: 0, "deferred": 0, "errors": [], "more": False}
        self.courier: InlineCourier | ProcessCourier | None = None
        self.in_flight: dict[int, dict] = {}
        self.last_claimed = 0
        self.window = window_rows(senders)
        self.stopping = False
        self._unreachable: set[str] = set()
        self._copies: dict[str, list[bytes]] = {}
        self.copier: SentCopier | None = None

    def pump(self, wait: float | None = 0) -> None:
        """Record what the courier answered and claim more; waits up to `wait` s for an answer."""
        assert not self.db.conn.in_transaction, "claims must be committed before the courier sees them"
        if not self.enabled:
            return
        if self.should_stop() and not self.stopping:
            self.stopping = True   # the mail on the wire is finished, the rest come back skipped
            if self.courier:
                self.courier.stop()
        results = self.courier.results(wait if self.in_flight else 0) if self.courier else []
        claimed: list[Item] = []
        with database.transaction(self.db):
            for result in results:
                self._record(result)
            if self.claiming and not self.stopping:
                self._expire()
                claimed = self._claim()
        self._save_copies(minimum=COPY_BATCH)
        if self.courier is not None and self.courier.ended() and self.in_flight:
            self._settle_lost_courier()
            claimed = []   # they were claimed, and now they are queued again
        if claimed:
            if self.courier is None:
                self.courier = self._start_courier()
            self.courier.submit(claimed)

    def _start_courier(self) -> InlineCourier | ProcessCourier:
        recipes = portable(self.senders)
        if recipes:
            try:
                return ProcessCourier(recipes, self.journal.fd)
            except OSError as exc:   # no process to spare: slower, but the mail still goes out
                log.warning("cannot start the courier process (%s); sending from this process", exc)
        return InlineCourier(self.senders, self.journal.fd, self.should_stop)

    def finish(self, budget: float | None = None) -> dict:
        """Send until nothing is due; a stop request lets the mail on the wire finish, the rest wait.

        After `budget` seconds no more rows are claimed (the daemon's passes: a long rate-limited
        release must not keep new mail waiting); counts["more"] then says mail is left to send.
        """
        deadline = None if budget is None else time.monotonic() + budget
        try:
            while self.enabled:
                if deadline is not None and time.monotonic() >= deadline:
                    self.claiming = False
                self.pump(wait=0.5)
                if not self.in_flight and (self.stopping or not self.claiming or not self._due_left()):
                    break
        finally:
            self.close()
        self.counts["more"] = self.enabled and not self.stopping and self._due_left()
        return self.counts

    def close(self) -> None:
        """End the courier and record its last answers; rows it never answered stay `sending`
        for the next session's reconcile (the journal says which were accepted)."""
        if self.courier is not None:
            if self.in_flight:
                self.courier.stop()
            results = self.courier.close()
            self.courier = None
            with database.transaction(self.db):
                for result in results:
                    self._record(result)
        self._save_copies(minimum=1)
        if self.copier is not None:
            self.copier.close()
            self.copier = None

    def _settle_lost_courier(self) -> None:
        """The courier process died: what the journal says was accepted is sent, the rest waits."""
        accepted = self.journal.accepted()
        reason = "the sending process ended unexpectedly"
        log.error("%s with %s mails unanswered", reason, len(self.in_flight))
        with database.transaction(self.db):
            for outbox_id in list(self.in_flight):
                self._record(Result(outbox_id, courier.SENT) if outbox_id in accepted
                             else Result(outbox_id, courier.UNREACHABLE, reason))
        self.courier.close()
        self.courier = None

    def _due_left(self) -> bool:
        return self._claimable_query("1", 1).fetchone() is not None

    def _claimable_query(self, columns: str, limit: int):
        usable = [m for m in self.senders if m not in self._unreachable]
        marks = ",".join("?" * len(usable)) or "null"
        return self.db.execute(
            f"""select {columns} from outbox where state = ? and id > ? and mailbox in ({marks})
                and (next_attempt_at is null or next_attempt_at <= ?) order by id limit ?""",
            [QUEUED, self.last_claimed, *usable, self.moment.isoformat(timespec="seconds"), limit],
        )

    def _expire(self) -> None:
        """Queued mail past its expiry (an automatic release or reminder whose event is over) is
        cancelled, never sent."""
        cursor = self.db.execute(
            "update outbox set state = ?, error = ? where state = ? and expires_at <= ?",
            [CANCELLED, "not sent: its event was over", QUEUED, stamp(self.moment)])
        if cursor.rowcount:
            log.warning("%s queued mails cancelled: their event is over", cursor.rowcount)

    def _claim(self) -> list[Item]:
        room = self.window - len(self.in_flight)
        budget = WINDOW_BYTES - sum(row["size"] for row in self.in_flight.values())
        items: list[Item] = []
        if room <= 0 or budget <= 0:
            return items
        chosen = []
        for outbox_id, size in self._claimable_query("id, length(raw)", room).fetchall():
            chosen.append(outbox_id)
            budget -= size
            if budget <= 0:
                break
        if not chosen:
            return items
        marks = ",".join("?" * len(chosen))
        rows = self.db.execute(
            f"select id, mailbox, recipient, raw, attempts, created_at, message_id from outbox where id in ({marks})"
            " order by id", chosen).fetchall()
        self.db.execute(f"update outbox set state = ?, attempts = attempts + 1 where id in ({marks})", [SENDING, *chosen])
        for outbox_id, mailbox, recipient, raw, attempts, created_at, message_id in rows:
            self.in_flight[outbox_id] = {"mailbox": mailbox, "recipient": recipient, "attempts": attempts,
                                         "created_at": created_at, "message_id": message_id, "size": len(raw),
                                         "raw": raw if mailbox in self.sent_copies else None}
            items.append(Item(outbox_id, mailbox, self.addresses[mailbox], recipient, raw))
        self.last_claimed = chosen[-1]
        return items

    def _record(self, result: Result) -> None:
        row = self.in_flight.pop(result.outbox_id)
        ids = f"mailbox={row['mailbox']} outbox={result.outbox_id} message_id={row['message_id']}"
        if result.outcome == courier.SENT:
            database.update(self.db, "outbox", result.outbox_id, {"state": SENT, "sent_at": now(self.db), "error": None})
            log.info("%s sent to %s", ids, row["recipient"])
            self.counts[SENT] += 1
            self.on_sent(1)
            if row["raw"] is not None:
                self._copies.setdefault(row["mailbox"], []).append(row["raw"])
        elif result.outcome == courier.SKIPPED:
            database.update(self.db, "outbox", result.outbox_id, {"state": QUEUED, "attempts": row["attempts"]})
        elif result.outcome == courier.UNREACHABLE:
            # The server, not this mail, is the problem: no attempt is counted.
            database.update(self.db, "outbox", result.outbox_id,
                            {"state": QUEUED, "attempts": row["attempts"], "error": result.error})
            log.warning("%s deferred: %s", ids, result.error)
            self.counts["deferred"] += 1
            if row["mailbox"] not in self._unreachable:
                self._unreachable.add(row["mailbox"])
                self.counts["errors"].append(result.error)
        elif result.outcome == courier.UNSENDABLE:
            # A mail this server can never take (e.g. an address that needs SMTPUTF8): failing
            # the row keeps one bad mail from blocking the queue on every pass.
            self._fail(result.outbox_id, ids, f"cannot be sent: {result.error}")
        elif result.outcome == courier.REFUSED:
            created = datetime.fromisoformat(row["created_at"]) if row["created_at"] else self.moment
            if result.permanent:
                self._fail(result.outbox_id, ids, result.error)
            elif self.moment - created >= GIVE_UP_AFTER:
                self._fail(result.outbox_id, ids, f"gave up after {GIVE_UP_AFTER.days} days: {result.error}")
            else:
                retry_at = (self.moment + retry_delay(row["attempts"] + 1)).isoformat(timespec="seconds")
                database.update(self.db, "outbox", result.outbox_id,
                                {"state": QUEUED, "error": result.error, "next_attempt_at": retry_at})
                log.warning("%s deferred until %s: %s", ids, retry_at, result.error)
                self.counts["deferred"] += 1

    def _fail(self, outbox_id: int, ids: str, reason: str) -> None:
        database.update(self.db, "outbox", outbox_id, {"state": FAILED, "error": reason})
        log.warning("%s failed: %s", ids, reason)
        self.counts[FAILED] += 1

    def _save_copies(self, minimum: int) -> None:
        """Copies go to Sent after their rows say `sent`, in batches, from the copier thread."""
        for mailbox in [m for m, raws in self._copies.items() if len(raws) >= minimum]:
            if self.copier is None:
                self.copier = SentCopier(self.sent_copies)
            self.copier.put(mailbox, self._copies.pop(mailbox))


class SentCopier:
    """Appends copies to the Sent folders on a thread of its own: an APPEND of 100 mails waits
    about 80 ms for the IMAP server, which the worker spends processing instead (measured: 1.4 s
    of a 2,000-mail pass). A lost copy costs a coordinator a view in the mail client, never a
    second mail, so a failure is logged and the pass goes on. Only this thread uses the folders
    until close() has joined it."""

    def __init__(self, folders: Mapping[str, SentCopies]):
        self.folders = folders
        self.batches: queue.Queue[tuple[str, list[bytes]] | None] = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="sent-copier", daemon=True)
        self.thread.start()

    def put(self, mailbox: str, raws: list[bytes]) -> None:
        self.batches.put((mailbox, raws))

    def _run(self) -> None:
        while (batch := self.batches.get()) is not None:
            mailbox, raws = batch
            try:
                self.folders[mailbox].append(raws)
            except ConnectionFailed as exc:
                log.warning("mailbox=%s %s mails sent, but not copied to the Sent folder: %s", mailbox, len(raws), exc)
            except Exception:   # a thread must not die silently with copies still queued behind it
                log.exception("mailbox=%s %s mails sent, but not copied to the Sent folder", mailbox, len(raws))

    def close(self) -> None:
        self.batches.put(None)
        self.thread.join()


@contextlib.contextmanager
def sending(
    db: sqlite_utils.Database,
    senders: Mapping[str, Sender],
    addresses: Mapping[str, str],
    sent_folders: Mapping[str, SentCopies] | None = None,
    sent_copies: Mapping[str, SentCopies] | None = None,
    on_sent: Callable[[int], None] = lambda n: None,
    should_stop: Callable[[], bool] = lambda: False,
    wait: float | None = None,
) -> Iterator[Dispatch]:
    """A send session: take the send lock, settle what a crash left in `sending`, then dispatch.

    `sent_folders` answer "was it sent?" after a crash; `sent_copies` (a subset)
    get a copy of every mail mailflow sends. `wait` bounds the wait for the send lock (the
    worker's passes: a few seconds, time for an orphaned courier to end); when another
    process (a `mailflow release` sending) still holds it, the session sends nothing and
    the mail goes out with a later pass.
    """
    journal = SentJournal(journal_path(db), wait)
    if not journal.held:
        log.info("another mailflow process is sending (lock %s): this pass queues, a later one sends",
                 journal.path)
        yield Dispatch(db, senders, addresses, journal, enabled=False)
        return
    try:
        reconcile_interrupted(db, journal, sent_folders)
        journal.clear()
        dispatch = Dispatch(db, senders, addresses, journal, sent_copies, on_sent, should_stop)
        try:
            yield dispatch
        finally:
            dispatch.close()
        if not db.execute("select 1 from outbox where state = ? limit 1", [SENDING]).fetchone():
            journal.clear()
    finally:
        journal.close()


def drain(
    db: sqlite_utils.Database,
    senders: Mapping[str, Sender],
    addresses: Mapping[str, str],
    should_stop: Callable[[], bool] = lambda: False,
    on_sent: Callable[[int], None] = lambda n: None,
    sent_folders: Mapping[str, SentCopies] | None = None,
    sent_copies: Mapping[str, SentCopies] | None = None,
    budget: float | None = None,
) -> dict:
    """Send everything that is due, in one session; counts by outcome (sent, failed, deferred)
    and, under "errors", why a mailbox's server could not be used."""
    with sending(db, senders, addresses, sent_folders, sent_copies, on_sent, should_stop) as dispatch:
        return dispatch.finish(budget)
