"""Running the worker: wiring rules to real servers, one pass, or the daemon loop.

The daemon is a small loop in the spirit of rq's worker: `schedule` drives the
passes, SIGTERM/SIGINT ask for a warm stop (the mail on the wire gets at most
STOP_GRACE_SECONDS to finish, then every server operation is cut), a second
signal stops at once. rules.yaml is re-read before each pass, and so is a
template that changed: a broken edit of either is logged with file and line and
the last good rules, or templates, stay in force.
Weather at the database (a full disk, another program's lock held past the busy
timeout, a failing disk) is one log line and a retry with backoff, never the
daemon's end: every step it cut short rolled back, and the next pass redoes it.
What start-up made (modules, compiled patterns, rules) is frozen out of the garbage collector
(gc.freeze): it is never garbage, and a pass's full collections no longer walk it.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import schedule
import sqlite_utils

from . import deadline, health
from .credentials import Credentials
from .database import clock_of, now, open_for, weather
from .delivery import RateLimitedSender, SmtpSender
from .errors import MailflowError, RulesError, RulesProblem, StorageTrouble
from .mailbox import READ_ONLY, ImapMailbox, SentFolder
from .message import clean
from .preflight import file_problems, refuse_unnamed_mailboxes, unnamed_events, unset_environment
from .replies import Replies, check_templates
from .retention import purge_raw_mail
from .rules import PATTERNS_VERSION, Rules, changed_patterns, load_rules
from .watch import POLLING, Backoff, IdleWatcher
from .worker import PassReport, Progress, Worker, clear_closed_flags

log = logging.getLogger(__name__)

SEND_SLICE_SECONDS = 60   # a daemon pass sends at most this long, then reads the inboxes again
STOP_GRACE_SECONDS = 10   # after SIGTERM, what is on the wire gets this long; then connections are cut
CLOCK_JUMP_SECONDS = 300      # the system clock may part from the monotonic one by this much between passes
CLOCK_SETTLE_SECONDS = 600    # ... else mailflow waits this long for it to hold still


class ClockWatch:
    """Whether the system clock can be trusted with what cannot be taken back. By the clock mailflow cancels
    queued mail as "event over", counts reminders as begun, answers "registration closed" and purges raw
    mail: a clock that jumped 40 days ahead for a minute (a VM restored, a bad NTP step) did all of it for
    good. Between passes the system clock must move as the monotonic clock does; after a jump the daemon
    waits until it has held still CLOCK_SETTLE_SECONDS (after a suspend, which the monotonic clock does not
    count, that too)."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic):
        self.monotonic = monotonic
        self.last: tuple[datetime, float] | None = None
        self.doubt_until: float | None = None

    def look(self, wall: datetime) -> bool:
        """Note both clocks; True when the system clock jumped since the last look."""
        mono = self.monotonic()
        jumped = False
        if self.last is not None:
            jump = (wall - self.last[0]).total_seconds() - (mono - self.last[1])
            if jumped := abs(jump) > CLOCK_JUMP_SECONDS:
                self.doubt_until = mono + CLOCK_SETTLE_SECONDS
                log.warning("the system clock jumped %s by %s since the last look (%s by the monotonic clock): "
                            "mailflow reads, answers, sends and purges nothing until it has held still for %d "
                            "minutes (check NTP: timedatectl)", "ahead" if jump > 0 else "back",
                            timedelta(seconds=round(abs(jump))), timedelta(seconds=round(mono - self.last[1])),
                            CLOCK_SETTLE_SECONDS // 60)
        self.last = (wall, mono)
        return jumped

    @property
    def in_doubt(self) -> bool:
        return self.doubt_until is not None

    def steady(self, wall: datetime) -> bool:
        """Whether what cannot be taken back may be decided by the system clock now."""
        self.look(wall)
        if self.doubt_until is not None and self.monotonic() < self.doubt_until:
            return False
        if self.doubt_until is not None:
            log.info("the system clock has held still: mailflow goes on")
            self.doubt_until = None
        return True


def server_worker(rules: Rules, progress: Progress | None = None) -> Worker:
    """A worker for the IMAP and SMTP servers that rules.yaml names; RulesError when the database holds
    mail waiting for a mailbox rules.yaml no longer names (preflight.refuse_unnamed_mailboxes); a warning in the
    log for registrants of an event it no longer names (preflight.unnamed_events)."""
    mailboxes, senders, sent_folders = {}, {}, {}
    for name, box in rules.mailboxes.items():
        if box.imap:
            imap = Credentials.of(box.imap, f"mailbox {name}, IMAP")
            mailboxes[name] = ImapMailbox(name, box.imap, box.processed, imap)
            if box.sent_copy != "none":
                sent_folders[name] = SentFolder(name, box.imap, imap, box.sent_folder)
        if box.smtp:
            smtp = SmtpSender(box.smtp, Credentials.of(box.smtp, f"mailbox {name}, SMTP"), name)
            senders[name] = RateLimitedSender(smtp, rules.send_rate_per_minute) if rules.send_rate_per_minute else smtp
    db = open_for(rules)
    try:
        refuse_unnamed_mailboxes(db, rules)
        for orphaned in unnamed_events(db, rules, clock_of(db)()):   # (a renamed event id: at start and reload)
            log.warning("%s", orphaned)
    except BaseException:
        db.close()
        raise
    worker = Worker(rules, db, mailboxes, senders, sent_folders=sent_folders)
    if progress is not None:
        worker.progress = progress
    return worker


def clear_flags_now(rules: Rules, db: sqlite_utils.Database, name: str) -> int:
    """`questions --close`: take \\Flagged off `name`'s closed questions at once rather than at the next
    pass; ConnectionFailed when the server cannot be reached (the next pass does it then)."""
    box = rules.mailboxes[name]
    read = db.execute("select marking from sync_state where mailbox = ?", [name]).fetchone()
    if box.imap is None or (read and read[0] == READ_ONLY):   # a Maildir (the demo): nothing is flagged
        return 0
    mailbox = ImapMailbox(name, box.imap, box.processed, Credentials.of(box.imap, f"mailbox {name}, IMAP"))
    try:
        return clear_closed_flags(db, name, mailbox, mailbox.open())
    finally:
        mailbox.close()


def close_connections(worker: Worker) -> None:
    for sender in worker.senders.values():
        sender.close()
    for folder in worker.sent_folders.values():
        folder.close()


def close_worker(worker: Worker) -> None:
    """Its server connections and its database, at the end of a process's work: the last connection to close
    folds the WAL into the database file and removes it, so a copy of that file alone is a whole backup (a
    daemon stopped cleanly left its last passes in mailflow.db-wal, and a cold copy of mailflow.db was empty)."""
    close_connections(worker)
    worker.db.close()


def run_once(rules: Rules, progress: Progress | None = None) -> PassReport:
    """One pass (`mailflow run --once`); weather at the database raises StorageTrouble with its line."""
    with weather(rules.database_path):
        worker = server_worker(rules, progress)
        gc.freeze()
        try:
            return worker.run_once()
        finally:
            close_worker(worker)
            gc.unfreeze()   # (a caller that goes on, as the tests do, collects its garbage as before)


def _warn_of_changed_patterns(path: Path) -> None:
    """One line for a rules.yaml written before whole-word matching; `mailflow check` lists the patterns."""
    changed = changed_patterns(path)
    if changed:
        log.warning("%s: %d word patterns now match whole words only (no 'rules_version: 2'); "
                    "`mailflow check` shows each with its line and the fix", path, len(changed))


def _templates_at_start(rules: Rules) -> Replies:
    """The daemon's first templates, read and checked now (a broken one is logged at once, not when a mail
    first needs it): the set a later edit must pass `check` to replace."""
    replies = Replies(rules.templates_path)
    for problem in check_templates(rules, replies):
        log.error("%s (mail this template answers waits until it is fixed)", problem)
    return replies


def hold_daemon_lock(database: Path) -> int:
    """One `mailflow run` daemon per database, for as long as it runs: a second one took turns with the first,
    and `status` named whichever beat last (a dead one's pid once the other stopped). The lock is the kernel's,
    so it is gone with its process however that ends; `run --once` (cron) does not take it."""
    path = health.daemon_lock_path(database)
    database.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        for attempt in range(5):   # (`status` holds it for a moment to see whether a daemon runs)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if attempt == 4:
                    raise
                time.sleep(0.1)
    except BlockingIOError:
        holder = os.read(fd, 32).decode("ascii", "replace").strip() or "?"
        os.close(fd)
        raise MailflowError(f"another mailflow run (pid {holder}) is watching the mailboxes of {database}; "
                            "stop it first (systemctl stop mailflow), or give this one its own database in "
                            "rules.yaml") from None
    with contextlib.suppress(OSError):   # the pid only names the holder; a full disk takes no bytes
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
    return fd


class Daemon:
    """`mailflow run`: passes when IDLE announces mail, every poll_interval, and after failures."""

    def __init__(self, rules_path: Path):
        self.rules_path = rules_path
        self.rules = load_rules(rules_path)
        self._lock = hold_daemon_lock(self.rules.database_path)
        self._rules_mtime = rules_path.stat().st_mtime
        if self.rules.rules_version < PATTERNS_VERSION:   # else the file need not be read again
            _warn_of_changed_patterns(rules_path)
        replies = _templates_at_start(self.rules)
        starting = Backoff(maximum=self.rules.reconnect_max_delay)
        while True:
            try:
                self.worker = self._new_worker(self.rules, replies)
                break
            except StorageTrouble as exc:   # a full disk at start is weather too: it quit, and systemd gave up
                delay = starting.next()
                log.error("%s; mailflow starts again in %.0f s", exc, delay)
                time.sleep(delay)
        self.scheduler = schedule.Scheduler()
        self.stopping = False
        self.reload_requested = False
        self.wake = threading.Event()
        self.watchers: list[IdleWatcher] = []
        self.states: dict[str, str] = {}
        self._saved_states: dict[str, str] = {}
        self.backoff = Backoff(maximum=self.rules.reconnect_max_delay)
        self.retry_at: float | None = None
        self.purge_due = False   # the scheduled purge met weather: it runs with the next pass
        self._last_beat: datetime | None = None   # the last heartbeat, by the worker's clock (health.py)
        self.clock_watch = ClockWatch()
        # the templates the last refused reload read, of rules.yaml and of the templates alone: each is tried
        # again once one of those files changes, not at every pass (a template written or fixed brings in the
        # rules.yaml it held back, without another touch of rules.yaml or a SIGHUP)
        self._refused_rules: Replies | None = None
        self._refused_templates: Replies | None = None

    def _new_worker(self, rules: Rules, replies: Replies) -> Worker:
        worker = server_worker(rules)
        worker.alive = self._alive   # a long pass beats too, between its transactions and sends
        worker.replies = replies   # the templates checked with these rules, as they were read then
        return worker

    def request_stop(self, signum: int, _frame: object) -> None:
        if self.stopping:
            log.warning("second signal %s: stopping now", signum)
            raise SystemExit(1)
        log.info("signal %s: finishing the current message (at most %s s), then stopping", signum, STOP_GRACE_SECONDS)
        self.stopping = True
        self.worker.stop_requested = True
        deadline.hurry(STOP_GRACE_SECONDS)   # a stalled server cannot hold the stop: its connection is cut
        self.wake.set()

    def request_reload(self, signum: int, _frame: object) -> None:
        log.info("signal %s: re-reading %s", signum, self.rules_path)
        self.reload_requested = True
        self.wake.set()

    def reload_rules_if_changed(self) -> None:
        """Before each pass: rules.yaml, with its templates, when it changed or a SIGHUP asked; else the
        templates alone when one of them changed (`reload_templates_if_changed`)."""
        forced, self.reload_requested = self.reload_requested, False
        try:
            mtime = self.rules_path.stat().st_mtime
        except OSError as exc:
            log.error("cannot read %s (%s); keeping the last good rules", self.rules_path, exc)
            return
        fixed = self._refused_rules is not None and self._refused_rules.changed()
        if mtime == self._rules_mtime and not forced and not fixed:
            self.reload_templates_if_changed()
            return
        self._rules_mtime = mtime
        self._refused_rules = replies = None
        try:
            rules = load_rules(self.rules_path)
            # what `mailflow check` refuses is refused here too: a template rules.yaml names that is missing
            # or broken held every registration until a coordinator noticed. The worker answers with the
            # templates as this check read them.
            replies = Replies(rules.templates_path)
            problems = file_problems(rules, self.worker.clock(), replies) + unset_environment(rules, self.rules)
            if rules.database_path != self.rules.database_path:   # the daemon's lock is on the database it has
                problems.append(RulesProblem(
                    rules.source, rules.line_of("database"), f"database: changed to {rules.database_path} while "
                    f"mailflow runs on {self.rules.database_path}", "restart mailflow to move to it "
                    "(systemctl restart mailflow)"))
            if problems:
                raise RulesError(problems)
            worker = self._new_worker(rules, replies)
        except RulesError as exc:
            self._refused_rules = replies
            for problem in exc.problems:
                # (a template's problem names the template: say which rules file was refused)
                source = "" if problem.file == str(self.rules_path) else f" from {self.rules_path}"
                log.error("rules not reloaded%s, keeping the last good rules: %s", source, problem)
            return
        except Exception as exc:  # noqa: BLE001  no edit of rules.yaml may stop the daemon (MemoryError too)
            log.error("rules not reloaded from %s, keeping the last good rules: %s: %s",
                      self.rules_path, type(exc).__name__, clean(exc, 300))
            return
        self.rules = rules
        self._refused_templates = None
        if rules.rules_version < PATTERNS_VERSION:
            _warn_of_changed_patterns(self.rules_path)
        worker.stop_requested = self.stopping   # a SIGTERM while the new worker was made marked the old one
        worker.sent_read |= self.worker.sent_read   # (a Sent folder read once need not be read before sending again)
        self.worker, old = worker, self.worker
        old.db.close()   # between passes: its server connections are closed already (one_pass)
        self._schedule_jobs()
        self._restart_watchers()
        log.info("rules reloaded from %s", self.rules_path)

    def reload_templates_if_changed(self) -> None:
        """A template edited while the daemon runs answers only once the whole set passes what `mailflow check`
        asks: until then the templates the worker has (read once, `Replies`) answer, and each problem of the
        new set is logged once, with its file and line."""
        refused = self._refused_templates
        if not self.worker.replies.changed() or refused is not None and not refused.changed():
            return
        replies = Replies(self.rules.templates_path)
        try:
            problems = check_templates(self.rules, replies)
        except Exception as exc:  # noqa: BLE001  no edit of a template may stop the daemon
            problems = [RulesProblem(self.rules.templates_path, None, f"{type(exc).__name__}: {clean(exc, 300)}")]
        if problems:
            self._refused_templates = replies
            for problem in problems:
                log.error("templates not reloaded, keeping the last good templates: %s", problem)
            return
        self._refused_templates = None
        self.worker.replies = replies
        log.info("templates reloaded from %s", self.rules.templates_path)

    def one_pass(self) -> None:
        self.reload_rules_if_changed()
        if not self.clock_watch.steady(self.worker.clock()):
            return
        if self.purge_due:
            self.purge()
        try:
            with weather(self.rules.database_path):
                report = self.worker.run_once(send_budget=SEND_SLICE_SECONDS)
        except StorageTrouble as exc:
            self._wait_out(exc)
            return
        finally:
            close_connections(self.worker)
        self._save_states()
        self._beat(force=True)
        log.info(
            "pass done: recorded=%s processed=%s quarantined=%s archived=%s digests=%s sent=%s failed=%s",
            report.recorded, report.processed, report.quarantined, report.archived, report.digests, report.sent,
            report.failed,
        )
        if report.more_to_send:
            self.wake.set()   # the rest in the next pass, after a look at the inboxes
        if report.errors:
            delay = self.backoff.next()
            self.retry_at = time.monotonic() + delay
            # Until then the passes that IDLE or the schedule start leave the failed servers alone: a
            # stuck server costs the other mailboxes one deadline, not one per pass.
            for server in report.unreachable:
                self.worker.resting[server] = self.retry_at
            log.warning("a server could not be reached, or the disk is full (see above); next try in %.1f s", delay)
        elif all(until <= time.monotonic() for until in self.worker.resting.values()):
            self.backoff.reset()
            self.retry_at = None

    def tick(self) -> None:
        """Half a second of the daemon's life: a pass when woken or due, the schedule, states, heartbeat."""
        if self.clock_watch.look(self.worker.clock()):
            # the schedule counts by the system clock: after a jump of 40 days and back it ran no pass for 40 days
            self._schedule_jobs()
        if self.wake.wait(timeout=0.5) and not self.stopping:
            self.wake.clear()
            self.one_pass()
        elif self.retry_at is not None and time.monotonic() >= self.retry_at:
            self.one_pass()
        self.scheduler.run_pending()
        self._save_states()
        self._beat()

    def _wait_out(self, exc: StorageTrouble) -> None:
        """Weather: one line (what, and what to do), then the next pass after a backoff."""
        if self.worker.db.conn.in_transaction:
            self.worker.db.conn.rollback()
        delay = self.backoff.next()
        self.retry_at = time.monotonic() + delay
        log.error("%s; mailflow retries in %.0f s", exc, delay)

    def _schedule_jobs(self) -> None:
        self.scheduler.clear()
        self.scheduler.every(self.rules.poll_interval).seconds.do(self.one_pass)
        self.scheduler.every().day.do(self.purge)

    def purge(self) -> None:
        """Retention: raw mail bodies go `keep_raw_mail_days_after_event` days after the event."""
        if not self.clock_watch.steady(self.worker.clock()):
            self.purge_due = True
            return
        try:
            with weather(self.rules.database_path):
                purged = purge_raw_mail(self.worker.db, self.rules, self.worker.clock())
        except StorageTrouble as exc:
            self.purge_due = True
            self._wait_out(exc)
            return
        self.purge_due = False
        if purged:
            log.info("retention: raw text of %s mails purged", purged)

    def _on_state(self, mailbox: str, state: str) -> None:
        self.states[mailbox] = state   # written by watcher threads, saved by the main thread

    def _save_states(self) -> None:
        """The connection states for `mailflow status`; under weather they wait for the next call."""
        changed = {k: v for k, v in self.states.items() if self._saved_states.get(k) != v}
        try:
            with weather(self.rules.database_path):
                for mailbox, state in changed.items():
                    self.worker.db.execute(
                        "update sync_state set connection = ?, connection_at = ? where mailbox = ?",
                        [state, now(self.worker.db), mailbox],
                    )
                    self._saved_states[mailbox] = state
        except StorageTrouble as exc:
            if self.retry_at is None:   # else the failed pass has said it already
                self._wait_out(exc)

    def _beat(self, force: bool = False, mark: Callable[[sqlite_utils.Database, int], None] = health.beat) -> None:
        """The heartbeat (`mailflow status` says "not running since ..." when it is two poll intervals old):
        every pass and at least every minute, also while the watchers wait in IDLE. It is measured by the
        clock the beat is stored by (the database's), so a clock set back beats at once. Under weather it
        waits for the next call; while the system clock has just jumped, it waits too (a beat stamped 40 days
        ahead is the time the last one would be for a month)."""
        if not force and self.clock_watch.in_doubt:
            return
        moment = clock_of(self.worker.db)()
        every = timedelta(seconds=health.beat_seconds(self.rules.poll_interval))
        if not force and self._last_beat is not None and self._last_beat <= moment < self._last_beat + every:
            return
        try:
            with weather(self.rules.database_path):
                mark(self.worker.db, self.rules.poll_interval)
        except StorageTrouble:
            return
        self._last_beat = moment

    def _alive(self) -> None:
        """A long pass (a first sync of thousands of mails, a slow or rate-limited send) beats too, after
        each committed batch and between sends: a write at most once a minute, none per mail."""
        if not self.worker.db.conn.in_transaction:
            self._beat()

    def _restart_watchers(self) -> None:
        for watcher in self.watchers:
            watcher.stop()
        self.watchers = []
        for name, box in self.rules.mailboxes.items():
            if box.imap is None:
                continue
            if not box.imap.idle:
                self.states[name] = POLLING
                continue
            watcher = IdleWatcher(name, box.imap, Credentials.of(box.imap, f"mailbox {name}, IMAP"), self.wake,
                                  self._on_state, self.rules.reconnect_max_delay)
            watcher.start()
            self.watchers.append(watcher)

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        signal.signal(signal.SIGHUP, self.request_reload)
        self._schedule_jobs()
        self._beat(force=True, mark=lambda db, interval: health.started(db, os.getpid(), interval))
        self._restart_watchers()
        gc.freeze()
        self.purge()
        self.one_pass()
        while not self.stopping:
            self.tick()
        for watcher in self.watchers:
            watcher.stop()
        self._beat(force=True, mark=lambda db, interval: health.stopped(db))
        close_worker(self.worker)
        log.info("stopped cleanly")
