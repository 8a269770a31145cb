"""`mailflow demo`: the whole pipeline on shipped sample Maildirs, with no mail server.

Replies are written as .eml files instead of being sent; the database lives in
the output folder, so a second run finds everything done and sends nothing.
The demo runs "as of" its samples: its clock stands at the last sample's arrival
(from the Maildir file names), so the shipped 2020 event still takes registrations.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from .clock import stopped_at, system_clock
from .database import open_database
from .delivery import FolderSender
from .mailbox import MaildirMailbox, latest_delivery
from .rules import Rules
from .worker import PassReport, Worker, build_report_rows


def as_of(rules: Rules, samples: Path) -> datetime:
    """The demo's "now": when the last sample mail arrived (now, when there is none)."""
    return latest_delivery([samples / name for name in rules.mailboxes]) or system_clock()


def run_demo(rules: Rules, samples: Path, output: Path) -> tuple[PassReport, list[dict]]:
    db = open_database(output / "mailflow-demo.db", clock=stopped_at(as_of(rules, samples)),
                       group=rules.database_group)
    mailboxes = {name: MaildirMailbox(name, samples / name) for name in rules.mailboxes}
    sender = FolderSender(output / "outbox")
    worker = Worker(rules, db, mailboxes, {name: sender for name in rules.mailboxes})
    report = worker.run_once()
    return report, build_report_rows(db)
