"""Health facts: whether each mailbox can be read and sent from, since when not, and why; the daemon's
heartbeat.

The worker records each connection's outcome (`record_ok`, `record_failure`) where it meets it: an
IMAP pass read a mailbox and marked its mail, an SMTP server took (or refused) a login. The daemon
beats (`beat`) every pass and at least every minute, also while it waits in IDLE and during a long pass
(after each committed batch, between sends: `Worker.alive`). `failing()` is what `mailflow status` and
the alarm read; `problems()` turns the records into facts for the digest, with the cause in words:
"SMTP login refused by smtp.example.org for intl: 535 5.7.8 Authentication credentials invalid".
Times are stored as `clock.stamp` text (UTC), as everywhere in the database.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path

import sqlite_utils

from .clock import parse_stamp, stamp
from .database import now as now_of
from .states import OutboxState

IMAP, SMTP = "imap", "smtp"
# The daemon beats at least this often (more often with a shorter poll_interval), while it waits and
# during a pass; MAILFLOW_BEAT_SECONDS sets it (the tests: a short one, to see it beat while idle).
BEAT_SECONDS = float(os.environ.get("MAILFLOW_BEAT_SECONDS") or 60)


class ProblemKind(StrEnum):
    NOT_READ = "not_read"            # the mailbox was not read successfully for over `after`
    SEND_REFUSED = "send_refused"    # its SMTP server refuses the login or cannot be used now
    NOT_SENT = "not_sent"            # mail due for over `after` and not sent


@dataclass(frozen=True)
class Problem:
    mailbox: str
    kind: ProblemKind
    since: datetime          # when it started (aware UTC)
    cause: str               # for a person: "login refused by imap.example.org: [AUTHENTICATIONFAILED] ..."


def record_ok(db: sqlite_utils.Database, mailbox: str, server: str) -> None:
    """`server` (IMAP: the mailbox was read and its mail marked; SMTP: it took the login or a mail) works now."""
    db.execute(
        """insert into health (mailbox, server, ok_at) values (?, ?, ?)
           on conflict (mailbox, server) do update set ok_at = excluded.ok_at, failing_since = null, cause = null""",
        [mailbox, server, now_of(db)])


def record_failure(db: sqlite_utils.Database, mailbox: str, server: str, cause: str) -> None:
    """`server` failed with `cause` (the ConnectionFailed's text); an outage's start is kept until it works."""
    at = now_of(db)
    db.execute(
        """insert into health (mailbox, server, failing_since, failed_at, cause) values (?, ?, ?, ?, ?)
           on conflict (mailbox, server) do update set failing_since = coalesce(failing_since, excluded.failed_at),
           failed_at = excluded.failed_at, cause = excluded.cause""",
        [mailbox, server, at, at, cause])


def failing(db: sqlite_utils.Database) -> dict[tuple[str, str], dict]:
    """(mailbox, server) -> {failing_since, failed_at, cause} for every failure going on now."""
    return {(row["mailbox"], row["server"]): row for row in db.query(
        "select mailbox, server, failing_since, failed_at, cause, ok_at from health where failing_since is not null")}


def problems(db: sqlite_utils.Database, mailboxes: list[str], now: datetime, *,
             after: timedelta = timedelta(hours=1)) -> list[Problem]:
    """What is wrong with each of `mailboxes` at `now`: not read successfully for over `after` (also when
    the daemon is not running), its SMTP server refusing or unreachable (now, however long), mail due
    for over `after` and not sent. Ordered by mailbox, then kind."""
    limit = stamp(now - after)
    health = {(row["mailbox"], row["server"]): row for row in db.query("select * from health")}
    found: list[Problem] = []
    for name in mailboxes:
        read = health.get((name, IMAP))
        if read is not None:
            since = read["ok_at"] or read["failing_since"]
            if since and since < limit:
                cause = read["cause"] if read["failing_since"] else "not read since then (is mailflow running?)"
                found.append(Problem(name, ProblemKind.NOT_READ, parse_stamp(since), cause))
        send = health.get((name, SMTP))
        if send is not None and send["failing_since"]:
            found.append(Problem(name, ProblemKind.SEND_REFUSED, parse_stamp(send["failing_since"]), send["cause"]))
        due = db.execute(
            """select count(*), min(created_at), max(error) from outbox
               where mailbox = ? and state in (?, ?) and created_at < ?""",
            [name, OutboxState.QUEUED, OutboxState.SENDING, limit]).fetchone()
        if due[0]:
            why = f": {due[2]}" if due[2] else ""
            found.append(Problem(name, ProblemKind.NOT_SENT, parse_stamp(due[1]),
                                 f"{due[0]} mails due and not sent{why}"))
    return found


# -- the daemon's heartbeat -------------------------------------------------------------------------

def beat_seconds(poll_interval: float) -> float:
    return min(BEAT_SECONDS, poll_interval)


def started(db: sqlite_utils.Database, pid: int, poll_interval: int) -> None:
    at = now_of(db)
    db.execute("insert or replace into heartbeat (id, pid, started_at, beat_at, stopped_at, poll_interval) "
               "values (1, ?, ?, ?, null, ?)", [pid, at, at, poll_interval])


def beat(db: sqlite_utils.Database, poll_interval: int) -> None:
    db.execute("insert into heartbeat (id, beat_at, poll_interval) values (1, ?, ?) on conflict (id) do update "
               "set beat_at = excluded.beat_at, poll_interval = excluded.poll_interval, stopped_at = null",
               [now_of(db), poll_interval])


def stopped(db: sqlite_utils.Database) -> None:
    at = now_of(db)
    db.execute("update heartbeat set beat_at = ?, stopped_at = ? where id = 1", [at, at])


def liveness(db: sqlite_utils.Database, now: datetime) -> dict:
    """{running, since, pid}: running when the last beat is at most two poll intervals old (and no clean
    stop since) and, where this process can tell, the daemon's lock is held; else `since` says from when it
    has not been running. None: no daemon has run here."""
    row = db.execute("select pid, started_at, beat_at, stopped_at, poll_interval from heartbeat where id = 1"
                     ).fetchone()
    if row is None:
        return {"running": None, "since": None, "pid": None}
    pid, started_at, beat_at, stopped_at, interval = row
    if stopped_at:
        return {"running": False, "since": stopped_at, "pid": pid}
    # (a SIGKILLed or OOM-killed daemon beat last less than two poll intervals ago: "running" and "idle" for an
    # hour with a long poll_interval, while nothing was answered; its lock went with its process)
    # (and one whose pass waits on a hung server beats late, but runs: its lock says so, the silence too)
    held = daemon_lock_held(database_path(db))
    quiet = parse_stamp(beat_at) < now - timedelta(seconds=2 * (interval or 60))
    if held is False or quiet and not held:
        return {"running": False, "since": beat_at, "pid": pid}
    return {"running": True, "since": started_at, "pid": pid, **({"quiet_since": beat_at} if quiet else {})}


def daemon_lock_path(database: Path) -> Path:
    """The file whose lock `mailflow run` holds for as long as it runs (runner.hold_daemon_lock)."""
    return database.with_name(database.name + ".daemon")


def daemon_lock_held(database: Path | None) -> bool | None:
    """Whether a process holds the daemon's lock on this database; None when this process cannot tell (no
    lock file, or one it may not open: another user's daemon)."""
    if database is None:
        return None
    try:
        fd = os.open(daemon_lock_path(database), os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return None
    finally:
        os.close(fd)   # (a lock it took goes with it)
    return False


def database_path(db: sqlite_utils.Database) -> Path | None:
    row = db.execute("select file from pragma_database_list where name = 'main'").fetchone()
    return Path(row[0]) if row and row[0] else None
