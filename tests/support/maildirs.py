"""Maildirs and the worker on them: the whole pipeline without a mail server, as the demo runs it."""

from __future__ import annotations

import itertools
import os
from datetime import datetime
from pathlib import Path

from mailflow.clock import Clock, system_clock
from mailflow.database import open_database
from mailflow.delivery import FolderSender
from mailflow.mailbox import MaildirMailbox
from mailflow.rules import Rules
from mailflow.worker import Worker

MAILBOXES = ("international", "german")   # the shipped rules' mailboxes
_deliveries = itertools.count(1)


def make_maildirs(root: Path, names: tuple[str, ...] = MAILBOXES) -> Path:
    """root/NAME/{new,cur,tmp} for every mailbox; returns root."""
    for name in names:
        for sub in ("new", "cur", "tmp"):
            (root / name / sub).mkdir(parents=True, exist_ok=True)
    return root


def deliver(maildirs: Path, raw: bytes, name: str | None = None, *, mailbox: str = "international",
            arrived: datetime | None = None) -> Path:
    """`raw` as a new mail of `mailbox`. With `arrived`, the file is named by that delivery time, as a
    server names it (unless `name` is given), and carries it as its time: the mail's arrival."""
    if name is None:
        if arrived is None:
            raise ValueError("deliver() needs a file name or an arrival time")
        name = f"{int(arrived.timestamp())}.M{next(_deliveries)}P1.test"
    path = maildirs / mailbox / "new" / name
    path.write_bytes(raw)
    if arrived is not None:
        os.utime(path, (arrived.timestamp(),) * 2)
    return path


def maildir_worker(rules: Rules, maildirs: Path, database: Path, *, clock: Clock = system_clock,
                   sender: FolderSender | None = None) -> Worker:
    """The worker of `rules` on the Maildirs below `maildirs`, with its database at `database` on
    `clock`; replies go as .eml files into sent/ beside the database, or to `sender`."""
    sender = sender or FolderSender(database.parent / "sent")
    boxes = {name: MaildirMailbox(name, maildirs / name) for name in rules.mailboxes}
    db = open_database(database, clock=clock, group=rules.database_group)
    return Worker(rules, db, boxes, {name: sender for name in rules.mailboxes})
