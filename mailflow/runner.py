"""Running the worker: wiring rules to real servers, one pass, or the daemon loop.

The daemon is a small loop in the spirit of rq's worker: `schedule` drives the
passes, SIGTERM/SIGINT ask for a warm stop (finish the current message), a
second signal stops at once. rules.yaml is re-read before each pass; a broken
edit is logged with file and line and the last good rules stay in force.
"""

from __future__ import annotations

import logging
import signal
import time
from pathlib import Path

import schedule

from .database import open_database
from .delivery import RateLimitedSender, SmtpSender
from .errors import RulesError
from .mailbox import ImapMailbox, SentFolder
from .credentials import password_for
from .rules import Rules, load_rules
from .worker import PassReport, Worker

log = logging.getLogger(__name__)


def server_worker(rules: Rules) -> Worker:
    """A worker for the IMAP and SMTP servers that rules.yaml names."""
    mailboxes, senders, sent_folders = {}, {}, {}
    for name, box in rules.mailboxes.items():
        if box.imap:
            password = password_for(box.imap, f"mailbox {name}, IMAP")
            mailboxes[name] = ImapMailbox(name, box.imap, box.processed, password)
            if box.sent_copy != "none":
                sent_folders[name] = SentFolder(name, box.imap, password, box.sent_folder)
        if box.smtp:
            smtp = SmtpSender(box.smtp, password_for(box.smtp, f"mailbox {name}, SMTP"), name)
            senders[name] = RateLimitedSender(smtp, rules.send_rate_per_minute) if rules.send_rate_per_minute else smtp
    return Worker(rules, open_database(rules.database_path), mailboxes, senders, sent_folders=sent_folders)


def close_connections(worker: Worker) -> None:
    for sender in worker.senders.values():
        sender.close()
    for folder in worker.sent_folders.values():
        folder.close()


def run_once(rules: Rules) -> PassReport:
    worker = server_worker(rules)
    try:
        return worker.run_once()
    finally:
        close_connections(worker)


class Daemon:
    def __init__(self, rules_path: Path):
        self.rules_path = rules_path
        self.rules = load_rules(rules_path)
        self._rules_mtime = rules_path.stat().st_mtime
        self.worker = server_worker(self.rules)
        self.scheduler = schedule.Scheduler()
        self.stopping = False

    def request_stop(self, signum: int, _frame) -> None:
        if self.stopping:
            log.warning("second signal %s: stopping now", signum)
            raise SystemExit(1)
        log.info("signal %s: finishing the current message, then stopping", signum)
        self.stopping = True
        self.worker.stop_requested = True

    def reload_rules_if_changed(self) -> None:
        try:
            mtime = self.rules_path.stat().st_mtime
        except OSError as exc:
            log.error("cannot read %s (%s); keeping the last good rules", self.rules_path, exc)
            return
        if mtime == self._rules_mtime:
            return
        self._rules_mtime = mtime
        try:
            rules = load_rules(self.rules_path)
        except RulesError as exc:
            for problem in exc.problems:
                log.error("rules not reloaded, keeping the last good rules: %s", problem)
            return
        self.rules = rules
        self.worker = server_worker(rules)
        log.info("rules reloaded from %s", self.rules_path)

    def one_pass(self) -> None:
        self.reload_rules_if_changed()
        report = self.worker.run_once()
        close_connections(self.worker)
        log.info(
            "pass done: recorded=%s processed=%s quarantined=%s sent=%s failed=%s",
            report.recorded, report.processed, report.quarantined, report.sent, report.failed,
        )

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        self.scheduler.every(self.rules.poll_interval).seconds.do(self.one_pass)
        self.one_pass()
        while not self.stopping:
            self.scheduler.run_pending()
            time.sleep(0.2)
        log.info("stopped cleanly")
