"""The SQLite database: schema steps and the connection settings every command shares.

Unique keys make each pipeline step idempotent: a message is recorded once per
(mailbox, key), a registrant once per (event, address), a reply once per
(source message, kind).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import sqlite_utils
from sqlite_utils.migrations import Migrations

from .clock import Clock, stamp, system_clock
from .errors import MailflowError

BUSY_TIMEOUT_SECONDS = 30

# The schema steps, applied in the order they are registered here. A new step goes at the end of the
# list and is named with the next number: NNNN_what, four digits, so the names sort in that order
# (tests/unit/test_database.py checks it). A step never changes once released: a later one does.
migrations = Migrations("mailflow")


@migrations(name="0001_initial")
def _initial(db: sqlite_utils.Database) -> None:
    db["sync_state"].create(
        {"mailbox": str, "folder": str, "uidvalidity": int, "last_uid": int, "last_sync": str},
        pk=("mailbox", "folder"),
    )
    db["messages"].create(
        {
            "id": int, "mailbox": str, "key": str, "uidvalidity": int, "uid": int,
            "message_id": str, "sender": str, "subject": str, "state": str, "raw": bytes,
            "error": str, "audience": str, "intent": str, "answer": int, "confidence": str,
            "reasons": str, "event_id": str, "registrant_id": int, "marked_on_server": int,
            "recorded_at": str, "processed_at": str,
        },
        pk="id",
        not_null={"mailbox", "key", "state", "recorded_at"},
        defaults={"marked_on_server": 0},
    )
    db["messages"].create_index(["mailbox", "key"], unique=True)
    db["messages"].create_index(["state"])
    db["registrants"].create(
        {
            "id": int, "event_id": str, "address": str, "name": str, "audience": str,
            "status": str, "first_message": int, "created_at": str, "updated_at": str,
        },
        pk="id",
        not_null={"event_id", "address", "status"},
        foreign_keys=[("first_message", "messages", "id")],
    )
    db["registrants"].create_index(["event_id", "address"], unique=True)
    db["messages"].add_foreign_key("registrant_id", "registrants", "id")
    db["outbox"].create(
        {
            "id": int, "message_id": str, "source_message": int, "kind": str, "mailbox": str,
            "registrant_id": int, "recipient": str, "subject": str, "raw": bytes, "state": str,
            "attempts": int, "error": str, "created_at": str, "sent_at": str,
        },
        pk="id",
        not_null={"message_id", "kind", "mailbox", "recipient", "raw", "state"},
        defaults={"attempts": 0},
        foreign_keys=[("source_message", "messages", "id"), ("registrant_id", "registrants", "id")],
    )
    db["outbox"].create_index(["message_id"], unique=True)
    db["outbox"].create_index(["source_message", "kind"], unique=True)
    db["outbox"].create_index(["state"])


@migrations(name="0002_review")
def _review(db: sqlite_utils.Database) -> None:
    # Why an answer the classifier allowed was held back (replay compares against it),
    # and when a coordinator closed a question.
    db["messages"].add_column("reply_limited", str)
    db["messages"].add_column("question_closed_at", str)


@migrations(name="0003_releases")
def _releases(db: sqlite_utils.Database) -> None:
    db["releases"].create(
        {
            "id": int, "event_id": str, "kind": str, "version": int, "text": str, "link": str,
            "attachment_name": str, "attachment": bytes, "content_hash": str, "source": str, "created_at": str,
        },
        pk="id",
        not_null={"event_id", "kind", "version"},
    )
    db["releases"].create_index(["event_id", "kind", "version"], unique=True)
    db["scheduled"].create(
        {"id": int, "event_id": str, "name": str, "due_at": str, "state": str, "done_at": str, "note": str},
        pk="id",
        not_null={"event_id", "name", "due_at", "state"},
    )
    db["scheduled"].create_index(["event_id", "name"], unique=True)
    # One copy of each release (or reminder) per registrant, however often fan-out runs.
    db.execute(
        "create unique index outbox_once_per_registrant on outbox(registrant_id, kind) "
        "where source_message is null and registrant_id is not null"
    )


@migrations(name="0004_people")
def _people(db: sqlite_utils.Database) -> None:
    # Who changed a registrant's audience or status by hand, from what, and when.
    db["corrections"].create(
        {"id": int, "registrant_id": int, "field": str, "old": str, "new": str, "by": str, "at": str},
        pk="id",
        not_null={"registrant_id", "field", "by", "at"},
        foreign_keys=[("registrant_id", "registrants", "id")],
    )
    db["corrections"].create_index(["registrant_id"])


@migrations(name="0005_lookups")
def _lookups(db: sqlite_utils.Database) -> None:
    # Per-mail look-ups of the worker: the same mail in the other inbox, earlier replies to a sender.
    db["messages"].create_index(["message_id"])
    db["outbox"].create_index(["recipient"])
    db["registrants"].create_index(["address"])


@migrations(name="0006_delivery")
def _delivery(db: sqlite_utils.Database) -> None:
    # When a deferred mail (4xx) may be tried again; the live state of each mailbox's connection.
    db["outbox"].add_column("next_attempt_at", str)
    db["sync_state"].add_column("connection", str)
    db["sync_state"].add_column("connection_at", str)


@migrations(name="0007_asks")
def _asks(db: sqlite_utils.Database) -> None:
    # A registration that also asks: the mail is an open question too.
    db["messages"].add_column("asks", int)


@migrations(name="0008_raw_purged_at")
def _raw_purged_at(db: sqlite_utils.Database) -> None:
    # When `mailflow purge` emptied a mail's raw bytes. Before this step the first purge added the column.
    if "raw_purged_at" not in db["messages"].columns_dict:
        db["messages"].add_column("raw_purged_at", str)


@migrations(name="0012_bounces")
def _bounces(db: sqlite_utils.Database) -> None:
    # A bounce keeps the status to return to when the registrant writes again, and its time: mail
    # sent before it proves nothing about the address (bounces.held).
    db["registrants"].add_column("status_before_bounce", str)
    db["registrants"].add_column("bounced_at", str)


@migrations(name="0013_timing")
def _timing(db: sqlite_utils.Database) -> None:
    # When the mail arrived in the mailbox (IMAP INTERNALDATE, a Maildir's delivery time): the time
    # a mail is judged by, never its Date header. Null for mail recorded before this step: then
    # recorded_at stands in.
    db["messages"].add_column("arrived_at", str)
    # Why a coordinator should look at a mail that is not a question (a registration after the
    # window closed that may be for the next event): listed by `mailflow questions`, \Flagged.
    db["messages"].add_column("attention", str)
    # Mail that is pointless after this moment (an automatic release or reminder: the event's end)
    # is cancelled instead of sent.
    db["outbox"].add_column("expires_at", str)


@migrations(name="0014_on_behalf")
def _on_behalf(db: sqlite_utils.Database) -> None:
    # Registration on behalf of others: who registered whom; what a mail proposed (JSON, for
    # `registrants confirm`) and whether a coordinator must settle it (review = 1).
    db["registrants"].add_column("registered_by", str)
    db["messages"].add_column("nominations", str)
    db["messages"].add_column("review", int)


@migrations(name="0015_marking")
def _marking(db: sqlite_utils.Database) -> None:
    # How processed mail is marked on the server, as SELECT's PERMANENTFLAGS allow: keyword, move,
    # or the database alone (a server that stores no new keywords, such as Microsoft 365).
    db["sync_state"].add_column("marking", str)


@contextlib.contextmanager
def transaction(db: sqlite_utils.Database, lock: str = "IMMEDIATE") -> Iterator[sqlite_utils.Database]:
    """BEGIN IMMEDIATE: take the write lock up front, waiting up to the busy timeout.

    A deferred BEGIN that reads first and writes later fails at once with
    "database is locked" when another connection (the outbox thread, a
    coordinator's CLI command) wrote in between; IMMEDIATE waits its turn instead.
    `lock="EXCLUSIVE"` keeps readers out too (until the database is in WAL mode).
    Nested use is a savepoint.
    """
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    db.execute(f"BEGIN {lock}")
    try:
        yield db
    except BaseException:
        db.conn.rollback()
        raise
    db.execute("COMMIT")


def update(db: sqlite_utils.Database, table: str, row_id: int, values: dict) -> None:
    """UPDATE by primary key in plain SQL: sqlite-utils' Table.update reads the schema on every
    call, which the benchmark showed as a cost on the per-mail path."""
    sets = ", ".join(f"[{column}] = ?" for column in values)
    db.execute(f"update [{table}] set {sets} where id = ?", [*values.values(), row_id])


def insert(db: sqlite_utils.Database, table: str, values: dict, ignore: bool = False) -> int | None:
    """INSERT in plain SQL; returns the new rowid (None when ignored as a duplicate)."""
    columns = ", ".join(f"[{column}]" for column in values)
    marks = ", ".join("?" * len(values))
    cursor = db.execute(f"insert {'or ignore ' if ignore else ''}into [{table}] ({columns}) values ({marks})",
                        list(values.values()))
    return cursor.lastrowid if cursor.rowcount else None


def rows(db: sqlite_utils.Database, sql: str, params: list | tuple = ()) -> list[dict]:
    """A SELECT as dicts on the bare connection: sqlite-utils' query() wraps every read in a
    SAVEPOINT and RELEASE, two extra statements per look-up on the per-mail path."""
    cursor = db.conn.execute(sql, params)
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, values)) for values in cursor.fetchall()]


def clock_of(db: sqlite_utils.Database) -> Clock:
    """The clock this connection was opened with: the one "now" of everything that uses it."""
    return db.mailflow_clock


def now(db: sqlite_utils.Database) -> str:
    """The connection's clock as a stored timestamp."""
    return stamp(db.mailflow_clock())


def open_database(path: Path | str, clock: Clock = system_clock) -> sqlite_utils.Database:
    """Open (and create or upgrade) the database with WAL, foreign keys and a busy timeout.

    `clock` is the edge's choice of "now" (the demo's differs); it travels with the connection."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = _connect(path)
        db.mailflow_clock = clock
        if migrations.pending(db) or db.journal_mode != "wal":
            _upgrade(path)
        # In WAL mode NORMAL survives any crash of mailflow itself (the kill tests); only a power
        # loss may roll back the last commits, which the unique keys then redo without duplicates
        # of recorded mail (a reply sent just before such a loss may go out twice).
        db.execute("PRAGMA synchronous = NORMAL")
    except (sqlite3.Error, OSError) as exc:
        raise MailflowError(f"cannot open the database {path}: {exc}") from None
    return db


def _connect(path: Path) -> sqlite_utils.Database:
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    return sqlite_utils.Database(conn)


# Steps recorded under other names by earlier versions of mailflow, whose names did not sort in
# the order the steps ran. The steps are the same: a database recorded them once, they never run again.
RENAMED_STEPS = {
    "0010_people": "0004_people",
    "0004_lookups": "0005_lookups",
    "0005_delivery": "0006_delivery",
}


def _upgrade(path: Path) -> None:
    """Switch the database to WAL and apply the pending steps, holding it exclusively throughout.

    Another process opening the database meanwhile waits (busy timeout) and then finds it
    ready. The journal mode cannot change inside a transaction, so a database not yet in WAL
    mode (a new one) is locked by a transaction in the exclusive locking mode, which keeps the
    lock after COMMIT; this connection stays in that mode and is closed at the end, which
    releases it.
    """
    with contextlib.closing(_connect(path)) as db:
        with transaction(db, "EXCLUSIVE"):
            wal = db.journal_mode == "wal"
            if not wal:
                db.execute("PRAGMA locking_mode = EXCLUSIVE")
        if not wal:
            db.execute("PRAGMA journal_mode = WAL")
        with transaction(db, "EXCLUSIVE"):
            migrations.ensure_migrations_table(db)
            for old, new in RENAMED_STEPS.items():
                db.execute(f"update [{migrations.migrations_table}] set name = ? where migration_set = ? and name = ?",
                           [new, migrations.name, old])
            migrations.apply(db)
