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
from .mailbox import MaildirMailbox, delivery_time, latest_delivery, maildir_files
from .rules import Rules
from .worker import PassReport, Worker, build_report_rows


def as_of(rules: Rules, samples: Path) -> datetime:
    """The demo's "now": when the last sample mail arrived (now, when there is none)."""
    return latest_delivery([samples / name for name in rules.mailboxes]) or system_clock()


def run_demo(rules: Rules, samples: Path, output: Path) -> tuple[PassReport, list[dict]]:
    # As if mailflow had watched the mailboxes all along: every sample is answered, none archived
    # (answer_mail_since defaults to 7 days before a mailbox was first opened, here the last arrival).
    first = min((delivery_time(f) for name in rules.mailboxes for f in maildir_files(samples / name)), default=None)
    if rules.answer_mail_since is None and first is not None:
        rules = rules.model_copy(update={"answer_mail_since": first})
    db = open_database(output / "mailflow-demo.db", clock=stopped_at(as_of(rules, samples)),
                       group=rules.database_group)
    mailboxes = {name: MaildirMailbox(name, samples / name) for name in rules.mailboxes}
    sender = FolderSender(output / "outbox")
    worker = Worker(rules, db, mailboxes, {name: sender for name in rules.mailboxes})
    report = worker.run_once()
    return report, build_report_rows(db)
