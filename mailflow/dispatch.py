"""Sending the outbox, in the worker's own process: claim due rows, send each, record the answer.

Crash safety, in order, for every mail:
- the row is committed as `sending` before it is sent;
- the journal (`<database>-sent`) gets "begin id" just before the mail goes to the SMTP
  server and "sent id" right after the server's 250, before anything else; the space for
  both is reserved when rows are claimed, so the write after a 250 cannot fail for lack
  of space (a full disk stops the claiming instead, and nothing is lost);
- the outcome is committed right after.
With PIPELINING the next mail's MAIL, RCPT and DATA go out before its "begin": commands alone
deliver nothing, its text and final dot follow the "begin".
A session starts by settling rows a crash left in `sending`: "sent" in the journal, or the
Message-ID in the Sent folder, means sent; no "begin" means it never left, so it is queued
again; "begin" without "sent" is unknown: with `sent_copy: provider` the server files every
mail it accepts, so its absence from Sent means not sent; otherwise the row is held as
`uncertain` for a coordinator (`mailflow outbox`), never re-sent blindly.
The journal is flock()ed for the whole session: two mailflow processes never send at once.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import sqlite_utils

from . import database
from .clock import stamp
from .database import now
from .errors import AnswerLost, ConnectionFailed, DeliveryError
from .outbox import GIVE_UP_AFTER, Envelope, Sender, SentCopies, envelope_address, retry_delay
from .states import OutboxState

log = logging.getLogger(__name__)

WINDOW_ROWS = 1000            # claimed at once, at most
WINDOW_SECONDS = 10           # ... and with a rate limit, no more than this many seconds of sending
WINDOW_BYTES = 32 << 20       # ... and at most this many bytes of mail (agenda attachments)
COPY_BATCH = 100              # copies appended to a Sent folder per APPEND
SENT_BATCH = 100              # "sent" outcomes committed together (each is in the journal first)
# While the sender thread waits for SMTP answers, the worker's thread parses and classifies. Each
# answer wakes the sender, which then needs the GIL: at Python's default switch interval (5 ms) it
# waits that long for the busy worker to let go, four times a mail. At 0.2 ms it still fell about
# 300 mails behind a 2,000-mail pass, which then waited 0.25-0.5 s for it; at 0.05 ms, 0.07-0.15 s.
SENDER_SWITCH_INTERVAL = 0.00005
SETTLE_SECONDS = 5            # settle() waits this long at most; the rest of the window is queued again


class SentJournal:
    """`<database>-sent`: fixed-size records "B id" (handed to the server) and "S id" (250), written
    into space reserved beforehand, and the send lock (flock)."""

    RECORD = 24

    def __init__(self, path: Path | None, wait: float | None = None):
        """Takes the lock, waiting `wait` seconds at most (None: as long as it takes); `held` says
        whether it got it."""
        self.path = path
        self.fd: int | None = None
        self.held = True
        self.offset = 0
        self.reserved = 0
        if path is None:
            return
        self.fd = database.open_beside(path)   # the database file's mode and group
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
        assert self.fd is not None
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    def read(self) -> tuple[set[int], set[int]]:
        """(begun, sent): the ids handed to the server, and those it accepted."""
        return journal_records(self.path) if self.path is not None else (set(), set())

    def reserve(self, records: int) -> bool:
        """Room for `records` more records, allocated on disk now; False when the disk is full."""
        if self.fd is None:
            return True
        wanted = self.offset + records * self.RECORD
        if wanted <= self.reserved:
            return True
        try:
            os.posix_fallocate(self.fd, 0, wanted)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                return False
            raise
        self.reserved = wanted
        return True

    def write(self, kind: bytes, outbox_id: int) -> None:
        if self.fd is None:
            return
        assert self.offset + self.RECORD <= self.reserved, "journal records are reserved before rows are claimed"
        os.pwrite(self.fd, f"{kind.decode()} {outbox_id}".encode().ljust(self.RECORD - 1) + b"\n", self.offset)
        self.offset += self.RECORD

    def clear(self) -> None:
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            self.offset = self.reserved = 0

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)   # releases the lock
            self.fd = None


def journal_records(path: Path) -> tuple[set[int], set[int]]:
    """(begun, sent) as a journal file says; reserved space not written yet reads as nothing."""
    begun: set[int] = set()
    sent: set[int] = set()
    data = path.read_bytes() if path.exists() else b""
    for at in range(0, len(data) - SentJournal.RECORD + 1, SentJournal.RECORD):
        kind, _, number = data[at:at + SentJournal.RECORD].rstrip(b"\0\n ").partition(b" ")
        if number.isdigit():
            (sent if kind == b"S" else begun).add(int(number))
    return begun, sent


def journal_path(db: sqlite_utils.Database) -> Path | None:
    name = next((row[2] for row in db.execute("pragma database_list") if row[1] == "main"), "")
    return Path(f"{name}-sent") if name else None


def reconcile_interrupted(
    db: sqlite_utils.Database, journal: SentJournal, sent_folders: Mapping[str, SentCopies] | None = None,
    provider_copies: frozenset[str] = frozenset(),
) -> int:
    """Settle rows a crash left in `sending`, and look again for `uncertain` ones in Sent (see the
    module's text). `provider_copies`: mailboxes whose SMTP server files every accepted mail in Sent."""
    rows = list(db.query("select id, mailbox, message_id, state from outbox where state in (?, ?)",
                         [OutboxState.SENDING, OutboxState.UNCERTAIN]))
    begun, accepted = journal.read() if rows else (set(), set())
    for row in rows:
        ids = f"mailbox={row['mailbox']} outbox={row['id']} message_id={row['message_id']}"
        if row["state"] == OutboxState.SENDING and row["id"] not in begun and row["id"] not in accepted:
            database.update(db, "outbox", row["id"], {"state": OutboxState.QUEUED})
            log.warning("%s interrupted before it was sent: queued again", ids)
            continue
        folder = (sent_folders or {}).get(row["mailbox"])
        found = "the server had accepted it" if row["id"] in accepted else ""
        if not found and folder is not None:
            try:
                found = "found in the Sent folder" if folder.contains(row["message_id"]) else ""
            except ConnectionFailed as exc:
                log.warning("%s interrupted while sending; cannot check the Sent folder (%s): left for later",
                            ids, exc)
                continue
        if found:
            database.update(db, "outbox", row["id"], {"state": OutboxState.SENT, "sent_at": now(db), "error": None})
            log.warning("%s interrupted while sending, but %s: not sent again", ids, found)
        elif folder is not None and row["mailbox"] in provider_copies:
            database.update(db, "outbox", row["id"], {"state": OutboxState.QUEUED})
            log.warning("%s interrupted while sending; the server filed no copy in Sent: queued again", ids)
        elif row["state"] == OutboxState.SENDING:
            database.update(db, "outbox", row["id"], {
                "state": OutboxState.UNCERTAIN,
                "error": "interrupted while the SMTP server had it; it may or may not have arrived: "
                         "`mailflow outbox retry ID` sends it again, `mailflow outbox cancel ID` never"})
            log.error("%s interrupted while the SMTP server had it, and no copy to look in: held as uncertain "
                      "for a coordinator", ids)
    return len(rows)


def window_rows(senders: Mapping[str, Sender]) -> int:
    """How many rows to claim at once. Under a rate limit a claimed row may wait minutes for its
    turn, and a coordinator cannot cancel a row in `sending`: claim only about ten seconds' worth."""
    rates = [gap for sender in senders.values() if (gap := getattr(sender, "gap", None))]
    return max(1, min(WINDOW_ROWS, int(WINDOW_SECONDS / max(rates)))) if rates else WINDOW_ROWS


@dataclass
class SendCounts:
    """What a session did: mails sent, failed for good, deferred; why a server could not be used."""

    sent: int = 0
    failed: int = 0
    deferred: int = 0
    errors: list[str] = field(default_factory=list)
    more: bool = False           # the budget ran out (or a stop came) with mail still due
    unreachable: set[str] = field(default_factory=set)   # mailboxes whose SMTP server failed
    reached: set[str] = field(default_factory=set)       # ... whose server took the login (health.py)
    delivered: set[str] = field(default_factory=set)     # ... whose server answered a mail (250, or a refusal)
    failures: dict[str, str] = field(default_factory=dict)   # ... whose server failed in this session, why


class Dispatch:
    """One session's sending: claims due rows (mail to one person before releases, reminders and invitations,
    each in id order, the mailboxes taking turns) and sends each from this process."""

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
        resting: Mapping[str, str] | None = None,
        alive: Callable[[], None] = lambda: None,
    ):
        self.db = db
        self.enabled = enabled          # False: another process sends; this one only queues
        # Set: only mail of these kinds (prefixes) is sent, as when a Sent folder cannot say what was
        # answered: the health alarm (alarm.KINDS) answers nobody and still goes out.
        self.only: tuple[str, ...] | None = None
        # mailboxes whose Sent folder this pass could not read: nothing of theirs is claimed (what it holds
        # says what went out; a restored database queued releases again that are there)
        self.held: set[str] = set()
        self.held_but: tuple[str, ...] = ()   # kinds a held mailbox still sends (the health alarm)
        self.should_stop = should_stop
        self.senders = senders
        self.addresses = addresses
        self.journal = journal
        self.sent_copies = sent_copies or {}
        self.on_sent = on_sent
        self.alive = alive   # called between sends, outside any transaction (the daemon's heartbeat)
        self.moment = database.clock_of(db)()   # the session's "now", for retries and expiry
        self.counts = SendCounts()
        self.window = window_rows(senders)
        self.deadline: float | None = None     # the session's budget (finish)
        self._flight: _Flight | None = None    # the sender thread, with the window it was given
        self._until: float | None = None       # settle()'s bound on the window in flight
        self.stopping = False
        # mailbox -> why its SMTP server cannot be used; `resting`: servers that failed in an earlier
        # pass, not tried again before the daemon's next retry (a stuck server delays others once)
        self._unreachable: dict[str, str] = dict(resting or {})
        self._sent: list[int] = []                 # accepted (journal says "S"), not yet committed as sent
        self._copies: dict[str, list[bytes]] = {}

    def pump(self, wait: bool = False) -> None:
        """Send what is due, a window at a time, within the session's budget, until a stop is asked
        for (the mail on the wire is finished, the rest waits).

        Between batches of new mail the worker pumps: a window is claimed and handed to a sender
        thread, and the worker goes back to reading and answering while the thread waits for the
        SMTP server's answers (most of a mail's sending time is that wait). When the thread is still
        busy with the last window, nothing more happens. `wait` sends until nothing is due, waiting
        for every window (finish())."""
        assert not self.db.conn.in_transaction, "claims must be committed before their mails are sent"
        while self.enabled:
            self.alive()
            if self._flight is not None:
                if not wait and self._flight.is_alive():
                    return
                self._land()
            if self._done():
                return
            with database.transaction(self.db):
                self._expire()
                rows = self._claim()
            if not rows:
                return
            flight = _Flight(self, rows)
            try:
                flight.start()
            except BaseException:
                self._unclaim(rows)   # no thread, nothing begun
                raise
            self._flight = flight
            if not wait:
                return

    def _done(self) -> bool:
        if self.should_stop():
            self.stopping = True
        ends = [t for t in (self.deadline, self._until) if t is not None]
        return self.stopping or bool(ends) and time.monotonic() >= min(ends)

    def _transmit(self, flight: _Flight) -> None:
        """The sender thread's work: for each row, wait for its turn, then journal "begin", send,
        journal "sent". No database here: the worker's thread records the outcomes (_land())."""
        then: dict[int, dict] = {}   # row id -> the next row through the same connection (Sender.send's `then`)
        last: dict[str, dict] = {}
        for row in reversed(flight.rows):
            if row["mailbox"] in last:
                then[row["id"]] = last[row["mailbox"]]
            last[row["mailbox"]] = row
        try:
            for row in flight.rows:
                self._ready(row["mailbox"])
                if self._done():
                    break
                flight.outcomes.append((row, self._send_one(row, then.get(row["id"]))))
                flight.ticks.release()
        finally:
            # A window cut short leaves a mail's commands ahead; the next window may begin with other mail,
            # which would connect after its "begin": they are taken back here, with no "begin" pending.
            for sender in self.senders.values():
                pause = getattr(sender, "pause", None)
                if pause is not None:
                    with contextlib.suppress(Exception):
                        pause()

    def _envelope(self, row: dict) -> Envelope:
        """MAIL FROM, RCPT TO and size. SMTP without SMTPUTF8 takes an international domain in its IDNA form:
        a registrant stored as j.koehler@münchen.de got the confirmation, then every release failed ('ascii')."""
        return envelope_address(self.addresses[row["mailbox"]]), envelope_address(row["recipient"]), len(row["raw"])

    def _send_one(self, row: dict, then: dict | None = None) -> Exception | None:
        if row["mailbox"] in self._unreachable:
            return ConnectionFailed(self._unreachable[row["mailbox"]])
        try:
            mail_from, recipient, _size = self._envelope(row)
            following = None
            if then is not None:
                with contextlib.suppress(UnicodeError, ValueError):   # (said when that row's own turn comes)
                    following = self._envelope(then)
            self.journal.write(b"B", row["id"])
            self.senders[row["mailbox"]].send(row["raw"], mail_from, recipient, then=following)
        except (ConnectionFailed, DeliveryError, UnicodeError, ValueError) as exc:
            if isinstance(exc, ConnectionFailed):   # AnswerLost included: the server is done for this session
                self._down(row["mailbox"], exc)
            elif isinstance(exc, DeliveryError):   # (it answered: it works, though not for this mail)
                self.counts.delivered.add(row["mailbox"])
            return exc
        self.journal.write(b"S", row["id"])
        self.counts.delivered.add(row["mailbox"])
        return None

    def _land(self) -> None:
        """Wait for the sender thread and record what happened to each mail it had; rows it never
        began (a stop, the budget) are queued again. While it waits, the worker reports each mail
        sent (`on_sent`) and beats (`alive`). When the wait itself is cut short (Ctrl-C, the
        daemon's second SIGTERM, an error in a callback), the thread finishes the mail on the wire,
        begins no more and is joined; its rows stay `sending` for the journal, as after a crash."""
        flight = self._flight
        assert flight is not None
        try:
            while flight.is_alive():
                if flight.ticks.acquire(timeout=1):
                    self._report(flight)
                    self.alive()
        finally:
            if flight.is_alive():
                self.stopping = True
            flight.join()
            self._flight = None
        self._report(flight)
        for row, error in flight.outcomes:
            self._settle(row, error)
            if len(self._sent) >= SENT_BATCH:
                self._commit_sent()
        self._commit_sent()
        left = flight.rows[len(flight.outcomes):]
        if flight.crash is not None:
            # A row the thread had begun ("B" in the journal, maybe "S") stays `sending`: the next
            # session settles it from the journal. Only rows never begun are queued again.
            begun, _sent = self.journal.read()
            self._unclaim([row for row in left if row["id"] not in begun])
            raise flight.crash
        if left:
            self._unclaim(left)
        self._save_copies(minimum=COPY_BATCH)

    def _report(self, flight: _Flight) -> None:
        """`on_sent` for the mails the thread has sent since the last report (the progress of a release)."""
        done = flight.outcomes[flight.reported:]
        flight.reported += len(done)
        sent = sum(1 for _row, error in done if error is None)
        if sent:
            self.on_sent(sent)

    def settle(self) -> None:
        """Wait for the mail in flight, SETTLE_SECONDS at most (the rest of its window is queued
        again), and record it: what comes next (releases, health) asks what was sent."""
        if self._flight is not None:
            self._until = time.monotonic() + SETTLE_SECONDS
            try:
                self._land()
            finally:
                self._until = None

    def finish(self, budget: float | None = None) -> SendCounts:
        """Send until nothing is due, for at most `budget` seconds (the daemon's passes: a long,
        rate-limited release must not keep new mail waiting); `more` says mail is left."""
        if budget is not None:
            self.deadline = time.monotonic() + budget
        try:
            self.pump(wait=True)
        finally:
            self.close()
        self.counts.more = self.enabled and self._due_left()
        self.counts.unreachable = set(self._unreachable)
        return self.counts

    def close(self) -> None:
        if self._flight is not None:
            self.stopping = True       # an error elsewhere: the mail on the wire is finished, no more
            self._land()
        self._commit_sent()
        self._save_copies(minimum=1)
        for sender in self.senders.values():
            sender.close()

    def _due_left(self) -> bool:
        return self._claimable_query("1", 1).fetchone() is not None

    def _claimable_query(self, columns: str, limit: int) -> sqlite3.Cursor:
        usable = [m for m in self.senders if m not in self._unreachable]
        marks = ",".join("?" * len(usable)) or "null"
        kinds = "" if self.only is None else "and (" + " or ".join(["kind like ?"] * len(self.only)) + ")"
        held = [m for m in usable if m in self.held]
        if held:
            kinds += (f" and (mailbox not in ({','.join('?' * len(held))})"
                      + "".join(" or kind like ?" for _ in self.held_but) + ")")
        # Mail that answers someone now (replies, notices, alarms) before mail to many (releases, reminders,
        # invitations): under the rate limit a new registration waited behind a whole release (77 s for 151
        # registrants, 8 minutes for 1,000), IDLE or not; each group in the order it was queued, the mailboxes
        # taking turns (one sender thread sends for all: german's reply waited 258 s behind 30 of international's
        # on its slow server).
        bulk = "(kind like 'release:%' or kind like 'reminder:%' or kind like 'invitation%')"
        return self.db.execute(
            f"""select {columns} from outbox where state = ? and mailbox in ({marks})
                and (next_attempt_at is null or next_attempt_at <= ?) {kinds}
                order by {bulk}, row_number() over (partition by mailbox, {bulk} order by id), id limit ?""",
            [OutboxState.QUEUED, *usable, stamp(self.moment), *(f"{kind}%" for kind in self.only or ()),
             *(held and [*held, *(f"{kind}%" for kind in self.held_but)]), limit],
        )

    def _expire(self) -> None:
        """Queued mail past its expiry (a confirmation or release whose event is over, a reminder whose event
        has begun) is cancelled, never sent."""
        cursor = self.db.execute(
            "update outbox set state = ?, error = case when kind like 'reminder:%' then ? else ? end "
            "where state = ? and expires_at <= ?",
            [OutboxState.CANCELLED, "not sent: its event had begun", "not sent: its event was over",
             OutboxState.QUEUED, stamp(self.moment)])
        if cursor.rowcount:
            log.warning("%s queued mails cancelled: their event is over", cursor.rowcount)

    def _claim(self) -> list[dict]:
        budget = WINDOW_BYTES
        chosen = []
        for outbox_id, size in self._claimable_query("id, length(raw)", self.window).fetchall():
            chosen.append(outbox_id)
            budget -= size
            if budget <= 0:
                break
        if not chosen:
            return []
        if not self.journal.reserve(2 * len(chosen)):
            log.error("the disk is full (journal %s): nothing is sent until there is space; the mail waits",
                      self.journal.path)
            self.counts.errors.append("disk full: sending waits for space")
            self.stopping = True
            return []
        marks = ",".join("?" * len(chosen))
        rows = database.rows(self.db, f"select id, mailbox, recipient, raw, attempts, created_at, message_id "
                                      f"from outbox where id in ({marks})", chosen)
        order = {outbox_id: i for i, outbox_id in enumerate(chosen)}
        rows.sort(key=lambda row: order[row["id"]])   # (as claimed: answers to people first)
        self.db.execute(f"update outbox set state = ?, attempts = attempts + 1 where id in ({marks})",
                        [OutboxState.SENDING, *chosen])
        return rows

    def _unclaim(self, rows: list[dict]) -> None:
        """Claimed but never handed to the server (a stop, the budget, the server gone): queued again."""
        marks = ",".join("?" * len(rows))
        with database.transaction(self.db):
            self.db.execute(f"update outbox set state = ?, attempts = attempts - 1 where state = ? and id in ({marks})",
                            [OutboxState.QUEUED, OutboxState.SENDING, *(row["id"] for row in rows)])

    def _ready(self, mailbox: str) -> None:
        """The rate limit's pause and the connection come before the journal's "begin": a kill or a
        stop while waiting for them leaves nothing uncertain."""
        sender = self.senders[mailbox]
        if mailbox in self._unreachable:
            return
        try:
            wait_turn = getattr(sender, "wait_turn", None)
            if wait_turn is not None:
                wait_turn(self._done)   # a stop or the end of the budget ends the wait
            if self.stopping:
                return
            opener = getattr(sender, "open", None)
            if opener is not None:
                opener()
        except ConnectionFailed as exc:
            self._down(mailbox, exc)
            return
        self.counts.reached.add(mailbox)

    def probe(self, mailbox: str) -> None:
        """Connect to this mailbox's SMTP server now (health.py: a failed server with nothing to send is
        tried once a pass, so its recovery is seen); `counts.reached` or `counts.failures` says how it went."""
        self.settle()   # the sender thread is done with the connections
        if mailbox not in self._unreachable:
            self._ready(mailbox)

    def _down(self, mailbox: str, exc: ConnectionFailed) -> None:
        """This mailbox's SMTP server cannot be used in this session (its mail waits), and why."""
        self._unreachable[mailbox] = self.counts.failures[mailbox] = str(exc)
        self.counts.errors.append(str(exc))

    def _settle(self, row: dict, error: Exception | None) -> None:
        """Record what sending one mail came to (in the worker's thread)."""
        ids = f"mailbox={row['mailbox']} outbox={row['id']} message_id={row['message_id']}"
        if isinstance(error, AnswerLost):
            # The server had the whole mail; whether it took it, nobody knows. The row stays in
            # `sending` with its "B": the next session settles it from Sent, or holds it uncertain.
            log.error("%s handed to the server, no answer (%s): the next pass settles it", ids, error)
        elif isinstance(error, ConnectionFailed):
            # The server, not this mail, is the problem: no attempt is counted, the mailbox waits.
            self._record(row, {"state": OutboxState.QUEUED, "attempts": row["attempts"], "error": str(error)})
            log.warning("%s deferred: %s", ids, error)
            self.counts.deferred += 1
        elif isinstance(error, DeliveryError):
            self._refused(row, ids, str(error), error.permanent)
        elif error is not None:
            # A mail this server can never take (e.g. an address that needs SMTPUTF8): failing it
            # keeps one bad mail from blocking the queue on every pass.
            self._fail(row, ids, f"cannot be sent: {error}")
        else:
            self._sent.append(row["id"])
            log.info("%s sent to %s", ids, row["recipient"])
            self.counts.sent += 1
            if row["mailbox"] in self.sent_copies:
                self._copies.setdefault(row["mailbox"], []).append(row["raw"])

    def _commit_sent(self) -> None:
        """Commit the accepted mails as sent, many in one transaction: each is in the journal
        already, which is what a crash before this commit is settled from."""
        if not self._sent:
            return
        marks = ",".join("?" * len(self._sent))
        with database.transaction(self.db):
            self.db.execute(f"update outbox set state = ?, sent_at = ?, error = null where id in ({marks})",
                            [OutboxState.SENT, now(self.db), *self._sent])
        self._sent = []

    def _record(self, row: dict, changes: dict) -> None:
        with database.transaction(self.db):
            database.update(self.db, "outbox", row["id"], changes)

    def _refused(self, row: dict, ids: str, error: str, permanent: bool) -> None:
        created = datetime.fromisoformat(row["created_at"]) if row["created_at"] else self.moment
        if permanent:
            self._fail(row, ids, error)
        elif self.moment - created >= GIVE_UP_AFTER:
            self._fail(row, ids, f"gave up after {GIVE_UP_AFTER.days} days: {error}")
        else:
            retry_at = stamp(self.moment + retry_delay(row["attempts"] + 1))
            self._record(row, {"state": OutboxState.QUEUED, "error": error, "next_attempt_at": retry_at})
            log.warning("%s deferred until %s: %s", ids, retry_at, error)
            self.counts.deferred += 1

    def _fail(self, row: dict, ids: str, reason: str) -> None:
        self._record(row, {"state": OutboxState.FAILED, "error": reason})
        log.warning("%s failed: %s", ids, reason)
        self.counts.failed += 1

    def _save_copies(self, minimum: int) -> None:
        """Copies go to Sent after their rows say `sent`, in batches. A lost copy costs a coordinator
        a view in the mail client, never a second mail: a failure is logged and sending goes on."""
        for mailbox in [m for m, raws in self._copies.items() if len(raws) >= minimum]:
            raws = self._copies.pop(mailbox)
            for attempt in (1, 2):   # the second on a new connection: a restarted IMAP server broke the old one
                try:
                    self.sent_copies[mailbox].append(raws)
                    break
                except ConnectionFailed as exc:
                    if attempt == 2:
                        log.warning("mailbox=%s %s mails sent, but not copied to the Sent folder: %s", mailbox,
                                    len(raws), exc)


class _Flight(threading.Thread):
    """One claimed window, sent by its own thread (Dispatch._transmit) while the worker goes on;
    Dispatch._land() joins it and records the outcomes. Both are started and joined by the worker's
    thread."""

    def __init__(self, dispatch: Dispatch, rows: list[dict]):
        super().__init__(name="sender", daemon=True)
        self.dispatch = dispatch
        self.rows = rows
        self.outcomes: list[tuple[dict, Exception | None]] = []
        self.ticks = threading.Semaphore(0)   # one per mail handled, so the waiting worker can beat
        self.reported = 0                      # outcomes the worker has passed to on_sent
        self.crash: BaseException | None = None
        self.switch_interval = sys.getswitchinterval()
        self.cpus: set[int] | None = None

    def run(self) -> None:
        try:
            self.dispatch._transmit(self)
        except BaseException as exc:   # re-raised in the worker's thread by _land()
            self.crash = exc

    def start(self) -> None:
        sys.setswitchinterval(min(self.switch_interval, SENDER_SWITCH_INTERVAL))
        self.cpus = _share_one_cpu()
        try:
            super().start()
        except BaseException:
            self._give_back()
            raise

    def join(self, timeout: float | None = None) -> None:
        super().join(timeout)
        self._give_back()

    def _give_back(self) -> None:
        """The switch interval and the worker's CPUs as they were before the flight."""
        sys.setswitchinterval(self.switch_interval)
        if self.cpus is not None:
            with contextlib.suppress(OSError):
                os.sched_setaffinity(0, self.cpus)


def _share_one_cpu() -> set[int] | None:
    """Keep the worker's thread, and the sender thread it starts next, on the CPU it runs on; returns
    the CPUs it was allowed before (None: nothing changed).

    The two threads take turns holding the GIL, four times a mail: a turn handed to a thread
    waiting on another CPU costs that CPU a wake-up, which took 0.8 s of CPU over 2,000 replies
    (benchmarks/README.md). On one CPU the turns are cheap, and nothing is lost: only one of them
    runs Python at a time. On Linux the affinity is the calling thread's, so other threads (IDLE
    watchers, the deadline watchdog) keep theirs; join() gives the worker its CPUs back."""
    try:
        before = os.sched_getaffinity(0)
        with open("/proc/thread-self/stat", "rb") as stat:
            current = int(stat.read().rpartition(b")")[2].split()[36])   # field 39, "processor"
        if len(before) < 2 or current not in before:
            return None
        os.sched_setaffinity(0, {current})
    except (AttributeError, OSError, ValueError, IndexError):   # not Linux, or not allowed here
        return None
    return before


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
    provider_copies: frozenset[str] = frozenset(),
    resting: Mapping[str, str] | None = None,
    alive: Callable[[], None] = lambda: None,
) -> Iterator[Dispatch]:
    """A send session: take the send lock, settle what a crash left in `sending`, then dispatch.

    `sent_folders` answer "was it sent?" after a crash; `sent_copies` (a subset) get a copy of
    every mail mailflow sends; `provider_copies` name mailboxes whose server files them itself.
    `wait` bounds the wait for the send lock (the worker's passes: a few seconds); when another
    process (a `mailflow release` sending) still holds it, this session only queues and the mail
    goes out with a later pass. `resting`: mailboxes whose SMTP server is not tried in this session.
    `alive` is called between sends (the daemon's heartbeat).
    """
    journal = SentJournal(journal_path(db), wait)
    if not journal.held:
        log.info("another mailflow process is sending (lock %s): this pass queues, a later one sends",
                 journal.path)
        yield Dispatch(db, senders, addresses, journal, enabled=False)
        return
    dispatch: Dispatch | None = None
    try:
        reconcile_interrupted(db, journal, sent_folders, provider_copies)
        if not db.execute("select 1 from outbox where state = ? limit 1", [OutboxState.SENDING]).fetchone():
            journal.clear()   # else the journal still answers for rows a Sent folder could not be asked about
        else:
            journal.offset = journal.reserved = os.fstat(journal.fd).st_size if journal.fd is not None else 0
        dispatch = Dispatch(db, senders, addresses, journal, sent_copies, on_sent, should_stop, resting=resting,
                            alive=alive)
        yield dispatch
        if not db.execute("select 1 from outbox where state = ? limit 1", [OutboxState.SENDING]).fetchone():
            journal.clear()   # every row it speaks for is settled
    finally:
        if dispatch is not None and dispatch._flight is not None:
            # Left by an error: the mail on the wire is finished, nothing more is begun, and the rows
            # stay `sending` for the next session to settle from the journal, as after a crash.
            dispatch.stopping = True
            dispatch._flight.join()
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
) -> SendCounts:
    """Send everything that is due, in one session."""
    with sending(db, senders, addresses, sent_folders, sent_copies, on_sent, should_stop) as dispatch:
        return dispatch.finish(budget)
