"""What is wrong with a mailbox, from the database alone (the digest's first section).

A minimal stand-in written on the `digest` branch against the interface of the `health` branch's
module (`problems(db, mailboxes, now, *, after) -> list[Problem]`); that module replaces it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import sqlite_utils

from .clock import parse_stamp, stamp
from .states import OutboxState


class ProblemKind(StrEnum):
    NOT_READ = "not_read"               # the inbox was not read for longer than `after`
    SMTP_LOGIN = "smtp_login_refused"   # the SMTP server refused the login
    NOT_SENT = "not_sent"               # mail due for longer than `after` and not sent


@dataclass(frozen=True)
class Problem:
    mailbox: str
    kind: ProblemKind
    since: datetime
    cause: str


def problems(db: sqlite_utils.Database, mailboxes: Iterable[str], now: datetime, *,
             after: timedelta = timedelta(hours=1)) -> list[Problem]:
    """Per mailbox: not read for over `after`, an SMTP login refused, mail due for over `after`."""
    cutoff = stamp(now - after)
    found: list[Problem] = []
    for name in mailboxes:
        (last_sync,) = db.execute("select max(last_sync) from sync_state where mailbox = ?", [name]).fetchone()
        if last_sync and last_sync < cutoff:
            found.append(Problem(name, ProblemKind.NOT_READ, parse_stamp(last_sync), "no pass read it since"))
        due = db.execute(
            "select min(coalesce(next_attempt_at, created_at)), max(error) from outbox "
            "where mailbox = ? and state = ? and coalesce(next_attempt_at, created_at) < ?",
            [name, OutboxState.QUEUED, cutoff]).fetchone()
        refused = db.execute("select min(created_at), error from outbox where mailbox = ? and state = ? "
                             "and error like '%SMTP login refused%'", [name, OutboxState.QUEUED]).fetchone()
        if refused and refused[0]:
            found.append(Problem(name, ProblemKind.SMTP_LOGIN, parse_stamp(refused[0]), refused[1]))
        if due and due[0]:
            found.append(Problem(name, ProblemKind.NOT_SENT, parse_stamp(due[0]), due[1] or "not tried yet"))
    return found
