"""`mailflow demo`: the whole pipeline on shipped sample Maildirs, with no mail server.

Replies are written as .eml files instead of being sent; the database lives in
the output folder, so a second run finds everything done and sends nothing.
"""

from __future__ import annotations

from pathlib import Path

from .database import open_database
from .delivery import FolderSender
from .mailbox import MaildirMailbox
from .rules import Rules
from .worker import PassReport, Worker, build_report_rows


def run_demo(rules: Rules, samples: Path, output: Path) -> tuple[PassReport, list[dict]]:
    db = open_database(output / "mailflow-demo.db")
    mailboxes = {name: MaildirMailbox(name, samples / name) for name in rules.mailboxes}
    sender = FolderSender(output / "outbox")
    worker = Worker(rules, db, mailboxes, {name: sender for name in rules.mailboxes})
    report = worker.run_once()
    return report, build_report_rows(db)
