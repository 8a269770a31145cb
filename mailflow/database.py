"""The SQLite database: schema steps and the connection settings every command shares.

Unique keys make each pipeline step idempotent: a message is recorded once per
(mailbox, key), a registrant once per (event, address), a reply once per
(source message, kind).

The files hold people's mail: the database and every file beside it (-wal, -shm, the send
journal -sent) are the owner's alone (0600), or readable by `database_group` too (0640).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import grp
import logging
import os
import shutil
import sqlite3
import stat
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import sqlite_utils
from sqlite_utils.migrations import Migrations

from .clock import Clock, stamp, system_clock
from .errors import MailflowError, StorageTrouble

if TYPE_CHECKING:
    from .rules import Rules

log = logging.getLogger(__name__)

# How long a write waits for another program's lock (a long VACUUM, a sqlite3 shell in a transaction)
# before it is given up as weather; MAILFLOW_BUSY_TIMEOUT (seconds) sets it (the tests: a short one).
BUSY_TIMEOUT_SECONDS = float(os.environ.get("MAILFLOW_BUSY_TIMEOUT") or 30)
PRIVATE_MODE = 0o600        # the database files without a database_group
GROUP_MODE = 0o640          # ... with one: its members may read them (backups, Datasette)
BESIDE = ("-wal", "-shm", "-sent")   # the files next to the database: SQLite's two, the send journal
SQLITE_HEADER = b"SQLite format 3\x00"   # the first 16 bytes of every SQLite database file

# The schema steps, applied in the order they are registered here. A new step goes at the end of the
# list and is named with the next number: NNNN_what, four digits, so the names sort in that order
# (tests/unit/test_database.py checks it). A step never changes once released: a later one does.
migrations = Migrations("mailflow")


@migrations(name="0001_initial")
def _initial(db: sqlite_utils.Database) -> None:
    db.table("sync_state").create(
        {"mailbox": str, "folder": str, "uidvalidity": int, "last_uid": int, "last_sync": str},
        pk=("mailbox", "folder"),
    )
    db.table("messages").create(
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
    db.table("messages").create_index(["mailbox", "key"], unique=True)
    db.table("messages").create_index(["state"])
    db.table("registrants").create(
        {
            "id": int, "event_id": str, "address": str, "name": str, "audience": str,
            "status": str, "first_message": int, "created_at": str, "updated_at": str,
        },
        pk="id",
        not_null={"event_id", "address", "status"},
        foreign_keys=[("first_message", "messages", "id")],
    )
    db.table("registrants").create_index(["event_id", "address"], unique=True)
    db.table("messages").add_foreign_key("registrant_id", "registrants", "id")
    db.table("outbox").create(
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
    db.table("outbox").create_index(["message_id"], unique=True)
    db.table("outbox").create_index(["source_message", "kind"], unique=True)
    db.table("outbox").create_index(["state"])


@migrations(name="0002_review")
def _review(db: sqlite_utils.Database) -> None:
    # Why an answer the classifier allowed was held back (replay compares against it),
    # and when a coordinator closed a question.
    db.table("messages").add_column("reply_limited", str)
    db.table("messages").add_column("question_closed_at", str)


@migrations(name="0003_releases")
def _releases(db: sqlite_utils.Database) -> None:
    db.table("releases").create(
        {
            "id": int, "event_id": str, "kind": str, "version": int, "text": str, "link": str,
            "attachment_name": str, "attachment": bytes, "content_hash": str, "source": str, "created_at": str,
        },
        pk="id",
        not_null={"event_id", "kind", "version"},
    )
    db.table("releases").create_index(["event_id", "kind", "version"], unique=True)
    db.table("scheduled").create(
        {"id": int, "event_id": str, "name": str, "due_at": str, "state": str, "done_at": str, "note": str},
        pk="id",
        not_null={"event_id", "name", "due_at", "state"},
    )
    db.table("scheduled").create_index(["event_id", "name"], unique=True)
    # One copy of each release (or reminder) per registrant, however often fan-out runs.
    db.execute(
        "create unique index outbox_once_per_registrant on outbox(registrant_id, kind) "
        "where source_message is null and registrant_id is not null"
    )


@migrations(name="0004_people")
def _people(db: sqlite_utils.Database) -> None:
    # Who changed a registrant's audience or status by hand, from what, and when.
    db.table("corrections").create(
        {"id": int, "registrant_id": int, "field": str, "old": str, "new": str, "by": str, "at": str},
        pk="id",
        not_null={"registrant_id", "field", "by", "at"},
        foreign_keys=[("registrant_id", "registrants", "id")],
    )
    db.table("corrections").create_index(["registrant_id"])


@migrations(name="0005_lookups")
def _lookups(db: sqlite_utils.Database) -> None:
    # Per-mail look-ups of the worker: the same mail in the other inbox, earlier replies to a sender.
    db.table("messages").create_index(["message_id"])
    db.table("outbox").create_index(["recipient"])
    db.table("registrants").create_index(["address"])


@migrations(name="0006_delivery")
def _delivery(db: sqlite_utils.Database) -> None:
    # When a deferred mail (4xx) may be tried again; the live state of each mailbox's connection.
    db.table("outbox").add_column("next_attempt_at", str)
    db.table("sync_state").add_column("connection", str)
    db.table("sync_state").add_column("connection_at", str)


@migrations(name="0007_asks")
def _asks(db: sqlite_utils.Database) -> None:
    # A registration that also asks: the mail is an open question too.
    db.table("messages").add_column("asks", int)


@migrations(name="0008_raw_purged_at")
def _raw_purged_at(db: sqlite_utils.Database) -> None:
    # When `mailflow purge` emptied a mail's raw bytes. Before this step the first purge added the column.
    if "raw_purged_at" not in db.table("messages").columns_dict:
        db.table("messages").add_column("raw_purged_at", str)


@migrations(name="0012_bounces")
def _bounces(db: sqlite_utils.Database) -> None:
    # A bounce keeps the status to return to when the registrant writes again, and its time: mail
    # sent before it proves nothing about the address (bounces.held).
    db.table("registrants").add_column("status_before_bounce", str)
    db.table("registrants").add_column("bounced_at", str)


@migrations(name="0013_timing")
def _timing(db: sqlite_utils.Database) -> None:
    # When the mail arrived in the mailbox (IMAP INTERNALDATE, a Maildir's delivery time): the time
    # a mail is judged by, never its Date header. Null for mail recorded before this step: then
    # recorded_at stands in.
    db.table("messages").add_column("arrived_at", str)
    # Why a coordinator should look at a mail that is not a question (a registration after the
    # window closed that may be for the next event): listed by `mailflow questions`, \Flagged.
    db.table("messages").add_column("attention", str)
    # Mail that is pointless after this moment (an automatic release or reminder: the event's end)
    # is cancelled instead of sent.
    db.table("outbox").add_column("expires_at", str)


@migrations(name="0014_on_behalf")
def _on_behalf(db: sqlite_utils.Database) -> None:
    # Registration on behalf of others: who registered whom; what a mail proposed (JSON, for
    # `registrants confirm`) and whether a coordinator must settle it (review = 1).
    db.table("registrants").add_column("registered_by", str)
    db.table("messages").add_column("nominations", str)
    db.table("messages").add_column("review", int)


@migrations(name="0015_content_hash")
def _content_hash(db: sqlite_utils.Database) -> None:
    # message.content_hash() of a mail, stored once computed: when its Message-ID came again (the
    # same mail delivered again, or another mail with that Message-ID), and before `purge` blanks it.
    db.table("messages").add_column("content_hash", str)


@migrations(name="0016_knows")
def _knows(db: sqlite_utils.Database) -> None:
    # What mailflow knows before answering (answered.py): why a mail counts as answered before this
    # database knew it (the server's processed flag, mailflow's reply in the Sent folder), and when a
    # coordinator had an archived mail answered (`mailflow archive answer`).
    db.table("messages").add_column("answered_before", str)
    db.table("messages").add_column("unarchived_at", str)
    # Per mailbox: when mailflow first opened it (the default answer_mail_since is 7 days before), how
    # far its Sent folder was read for mailflow's own mail, and what the last look found.
    db.table("mailbox_state").create(
        {"mailbox": str, "first_opened_at": str, "sent_uidvalidity": int, "sent_last_uid": int,
         "found": str, "found_at": str},
        pk="mailbox",
    )
    # A database that synced before this step is not new: its mailboxes count as opened when their
    # first mail was recorded (else at their last sync), so upgrading archives nothing already waiting.
    db.execute(
        """insert into mailbox_state (mailbox, first_opened_at)
           select mailbox, min(opened) from (
               select mailbox, recorded_at as opened from messages
               union all select mailbox, last_sync from sync_state where last_sync is not null)
           group by mailbox"""
    )


@migrations(name="0017_marking")
def _marking(db: sqlite_utils.Database) -> None:
    # How processed mail is marked on the server, as SELECT's PERMANENTFLAGS allow: keyword, move,
    # or the database alone (a server that stores no new keywords, such as Microsoft 365).
    db.table("sync_state").add_column("marking", str)


@migrations(name="0018_digest")
def _digest(db: sqlite_utils.Database) -> None:
    # One row per coordinator's mailbox and local day whose daily digest was decided (digest.py): the
    # Message-ID of the digest queued in the same transaction, or null when there was nothing to say.
    # The primary key makes it once a day, whatever restarts; `until` is where the next one starts.
    db.table("digests").create(
        {"mailbox": str, "day": str, "due_at": str, "since": str, "until": str, "message_id": str},
        pk=("mailbox", "day"),
        not_null={"due_at", "until"},
    )


@migrations(name="0019_health")
def _health(db: sqlite_utils.Database) -> None:
    # Per mailbox and server (imap, smtp): the last success, and the failure going on now with its cause
    # in words and since when (health.py); the daemon's heartbeat (one row); the alarms of outages, one per
    # (mailbox, server, outage start), so a restart never sends one twice.
    db.table("health").create(
        {"mailbox": str, "server": str, "ok_at": str, "failing_since": str, "failed_at": str, "cause": str},
        pk=("mailbox", "server"),
    )
    db.table("heartbeat").create(
        {"id": int, "pid": int, "started_at": str, "beat_at": str, "stopped_at": str, "poll_interval": int},
        pk="id",
    )
    db.table("alarms").create(
        {"mailbox": str, "server": str, "since": str, "cause": str, "state": str, "raised_at": str,
         "alarm_outbox": int, "recovered_at": str, "recovery_outbox": int},
        pk=("mailbox", "server", "since"),
    )


@migrations(name="0020_answering")
def _answering(db: sqlite_utils.Database) -> None:
    # Who closed a question (a coordinator's reply found in a Sent folder, or `questions --close`),
    # and when the \Flagged mailflow set on it was taken off the server again.
    db.table("messages").add_column("question_closed_by", str)
    db.table("messages").add_column("flag_cleared_at", str)


@migrations(name="0021_calendar")
def _calendar(db: sqlite_utils.Database) -> None:
    # What each registrant's last calendar invitation said (invitations.py): its UID stays theirs, its
    # SEQUENCE grows when the times or the access details change, and a CANCEL follows a REQUEST.
    db.table("invitations").create(
        {"registrant_id": int, "uid": str, "sequence": int, "method": str, "content_hash": str,
         "updated_at": str},
        pk="registrant_id",
        not_null={"uid", "sequence", "method", "content_hash"},
        foreign_keys=[("registrant_id", "registrants", "id")],
    )


@migrations(name="0023_exports")
def _exports(db: sqlite_utils.Database) -> None:
    # Where a registrant works and is, found when they were recorded (the signature of their mail,
    # else their address): organisation, ISO country code, IANA zone (NULL: several, none known).
    for column in ("organisation", "country", "time_zone"):
        db.table("registrants").add_column(column, str)


@migrations(name="0024_imports")
def _imports(db: sqlite_utils.Database) -> None:
    # People registered by other channels (`mailflow import registrants`): what the file said about
    # them, and where they came from ("registrants.csv line 7").
    # (organisation and country: 0023_exports)
    db.table("registrants").add_column("imported_from", str)
    # `mailflow invite`: one invitation per person per event, whatever happens to its mail.
    db.table("invites").create(
        {"id": int, "event_id": str, "address": str, "name": str, "audience": str, "source": str,
         "outbox_id": int, "invited_at": str, "by": str},
        pk="id",
        not_null={"event_id", "address", "invited_at"},
        foreign_keys=[("outbox_id", "outbox", "id")],
    )
    db.table("invites").create_index(["event_id", "address"], unique=True)


@migrations(name="0025_sender_was_registered")
def _sender_was_registered(db: sqlite_utils.Database) -> None:
    # Whether the sender was registered when the mail was classified, where classify asked (a refusal in a mail
    # of its own): `mailflow replay` reads the mail with the same fact. NULL: not asked.
    db.table("messages").add_column("sender_was_registered", int)


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
        # A savepoint named by its depth: sqlite-utils' atomic() names each one anew, so its
        # statements were compiled again for every mail. Each level still has a name of its own:
        # its ROLLBACK TO and RELEASE take back whatever an inner level failed to undo.
        depth = _depths.get(db, 0) + 1
        name = f"nested{depth}"
        _depths[db] = depth
        try:
            db.conn.execute(f"SAVEPOINT {name}")
            try:
                yield db
            except BaseException:
                if db.conn.in_transaction:   # an error may have ended the whole transaction already
                    db.conn.execute(f"ROLLBACK TO {name}")
                    db.conn.execute(f"RELEASE {name}")
                raise
            db.conn.execute(f"RELEASE {name}")
        finally:
            _depths[db] = depth - 1
        return
    db.execute(f"BEGIN {lock}")
    try:
        yield db
        db.execute("COMMIT")
    except BaseException:
        # Also when COMMIT itself fails (a full disk): SQLite may leave the transaction open.
        if db.conn.in_transaction:
            db.conn.rollback()
        raise


_FULL, _LOCKED, _FAILING = "full", "locked", "failing"
_WEATHER_CODES = {sqlite3.SQLITE_FULL: _FULL, sqlite3.SQLITE_BUSY: _LOCKED, sqlite3.SQLITE_IOERR: _FAILING}
_WEATHER_ERRNOS = {errno.ENOSPC: _FULL, errno.EDQUOT: _FULL, errno.EIO: _FAILING}


def _weather_kind(exc: BaseException) -> str | None:
    if isinstance(exc, sqlite3.OperationalError):
        code = getattr(exc, "sqlite_errorcode", None)
        return None if code is None else _WEATHER_CODES.get(code & 0xFF)   # extended codes: the primary one
    if isinstance(exc, OSError):
        return _WEATHER_ERRNOS.get(exc.errno or 0)
    return None


def is_weather(exc: BaseException) -> bool:
    """A full disk, a lock held too long, a failing disk: nothing to do with the mail at hand."""
    return _weather_kind(exc) is not None


def storage_trouble(exc: BaseException, path: Path) -> StorageTrouble | None:
    """The admin's line for weather at the database `path` (what, and what to do); None for other errors."""
    kind = _weather_kind(exc)
    filename = getattr(exc, "filename", None)
    where = Path(filename) if isinstance(filename, str) else path
    if kind == _FAILING and _nearly_full(where.parent):   # SQLite says "disk I/O error" when -shm finds no room
        kind = _FULL
    if kind == _FULL:
        return StorageTrouble(f"the disk holding {where.parent} is full: free space")
    if kind == _LOCKED:
        return StorageTrouble(f"the database {path} is locked by another program for more than "
                              f"{BUSY_TIMEOUT_SECONDS:g} s (a VACUUM, a sqlite3 shell in a transaction): "
                              "let it finish or end it")
    if kind == _FAILING:
        return StorageTrouble(f"disk I/O error on {where} or the files beside it: check the disk (dmesg)")
    return None


def _nearly_full(folder: Path) -> bool:
    try:
        return shutil.disk_usage(folder).free < 1024 * 1024
    except OSError:
        return False


def disk_full(database: Path) -> str | None:
    """The admin's line when the disk holding `database` is (nearly) full, for `mailflow status`: the daemon
    can record nothing then, not even that it is stuck (status said "idle, backlog 0" with 120 mails waiting)."""
    if not _nearly_full(database.parent):
        return None
    return (f"the disk holding {database.parent} is full: mailflow records and answers nothing until space is "
            "freed (free space; it goes on by itself)")


@contextlib.contextmanager
def weather(path: Path) -> Iterator[None]:
    """Raise weather at the database `path` as StorageTrouble, with its line (storage_trouble)."""
    try:
        yield
    except (sqlite3.OperationalError, OSError) as exc:
        trouble = storage_trouble(exc, path)
        if trouble is None:
            raise
        raise trouble from exc


def update(db: sqlite_utils.Database, table: str, row_id: int, values: dict) -> None:
    """UPDATE by primary key in plain SQL: sqlite-utils' Table.update reads the schema on every
    call, which the benchmark showed as a cost on the per-mail path."""
    db.execute(_update_sql(table, tuple(values)), [*values.values(), row_id])


def insert(db: sqlite_utils.Database, table: str, values: dict, ignore: bool = False,
           unless: tuple[str, object] = ("", None)) -> int | None:
    """INSERT in plain SQL; returns the new rowid (None when ignored as a duplicate). `unless`
    (column, value): nothing is inserted when a row has that value there (never for None)."""
    column, value = unless
    params = [*values.values(), value] if value is not None else [*values.values()]
    cursor = db.execute(_insert_sql(table, tuple(values), ignore, column if value is not None else None), params)
    return cursor.lastrowid if cursor.rowcount else None


# The statements of update() and insert(), made once for each shape: the code has a few dozen, and the
# per-mail path writes the same four for every mail.
@functools.lru_cache(maxsize=128)
def _update_sql(table: str, columns: tuple[str, ...]) -> str:
    sets = ", ".join(f"[{column}] = ?" for column in columns)
    return f"update [{table}] set {sets} where id = ?"


@functools.lru_cache(maxsize=128)
def _insert_sql(table: str, columns: tuple[str, ...], ignore: bool, unless: str | None) -> str:
    names = ", ".join(f"[{column}]" for column in columns)
    marks = ", ".join("?" * len(columns))
    condition = f" where not exists (select 1 from [{table}] where [{unless}] = ?)" if unless is not None else ""
    return f"insert {'or ignore ' if ignore else ''}into [{table}] ({names}) select {marks}{condition}"


def rows(db: sqlite_utils.Database, sql: str, params: list | tuple = ()) -> list[dict]:
    """A SELECT as dicts on the bare connection: sqlite-utils' query() wraps every read in a
    SAVEPOINT and RELEASE, two extra statements per look-up on the per-mail path."""
    cursor = db.conn.execute(sql, params)
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]


# Each connection's clock, kept beside it rather than as an attribute on it, so that every module
# can go on taking a plain sqlite_utils.Database and the type checker still knows what a clock is.
_clocks: weakref.WeakKeyDictionary[sqlite_utils.Database, Clock] = weakref.WeakKeyDictionary()
# How deep each connection's nested transactions are (transaction()), kept beside it likewise.
_depths: weakref.WeakKeyDictionary[sqlite_utils.Database, int] = weakref.WeakKeyDictionary()


def clock_of(db: sqlite_utils.Database) -> Clock:
    """The clock this connection was opened with: the one "now" of everything that uses it."""
    return _clocks[db]


def set_clock(db: sqlite_utils.Database, clock: Clock) -> None:
    """Give the connection its clock (open_database; tests about dates move it)."""
    _clocks[db] = clock


def now(db: sqlite_utils.Database) -> str:
    """The connection's clock as a stored timestamp."""
    return stamp(_clocks[db]())


def open_database(path: Path | str, clock: Clock = system_clock, group: str | None = None, *,
                  named_by: str = "") -> sqlite_utils.Database:
    """Open (and create or upgrade) the database with WAL, foreign keys and a busy timeout.

    `clock` is the edge's choice of "now" (the demo's differs); it travels with the connection.
    The database and the files beside it get mode 0600, or 0640 and `group` (rules.yaml's
    database_group); files a looser earlier version left are tightened, with one log line.
    `named_by` (`where_named(rules)`) says where the path comes from, for a file that is not SQLite."""
    path = Path(path)
    refuse_not_sqlite(path, named_by)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        mode, gid = _access(group)
        _create(path, mode, gid)
        db = _connect(path)
        set_clock(db, clock)
        _refuse_newer(db, path)
        if migrations.pending(db) or db.journal_mode != "wal":
            _upgrade(path)
        # In WAL mode NORMAL survives any crash of mailflow itself (the kill tests); only a power
        # loss may roll back the last commits, which the unique keys then redo without duplicates
        # of recorded mail (a reply sent just before such a loss may go out twice).
        db.execute("PRAGMA synchronous = NORMAL")
        # A read opens the WAL: SQLite creates -wal and -shm now (with the database file's mode, but,
        # unless it runs as root, in this process's group), so they are set right below.
        db.execute("select count(*) from sqlite_master").fetchone()
        _restrict(path, mode, gid)
    except (sqlite3.Error, OSError) as exc:
        if type(exc) is sqlite3.DatabaseError:   # "malformed", "not a database"
            raise MailflowError(damaged(exc, path)) from None
        trouble = storage_trouble(exc, path)   # weather (a full disk): the daemon waits it out
        if trouble is not None:
            raise trouble from None
        raise MailflowError(f"cannot open the database {path}: {exc}") from None
    return db


def where_named(rules: Rules) -> str:
    """Where rules.yaml names its database, for the messages about the file: "`database:` in
    /srv/event/rules.yaml line 52"; where the key is not set, the default it stands for."""
    line = rules.line_of("database")
    if line is None:
        return f"`database:` in {rules.source} (not set: the default is mailflow.db beside it)"
    return f"`database:` in {rules.source} line {line}"


def refuse_not_sqlite(path: Path, named_by: str = "") -> None:
    """MailflowError when `path` is a file that is not SQLite at all (a typo naming notes.txt or rules.yaml
    itself): SQLite calls it "not a database", and "damaged ... restore its last backup" was wrong advice
    for a wrong path. An empty file is a new database to SQLite; a missing one is created."""
    try:
        with path.open("rb") as file:
            head = file.read(len(SQLITE_HEADER))
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        return   # (open_database and open_to_read say what is wrong with those)
    if head and head != SQLITE_HEADER:
        raise MailflowError(f"{path} is not a mailflow database (it is not SQLite at all): "
                            f"check {named_by or 'the path'}")


def damaged(exc: sqlite3.DatabaseError, path: Path | None = None) -> str:
    """What to do about a database file SQLite finds damaged ("malformed", "not a database")."""
    name = path or "named by rules.yaml's `database:`"
    return (f"the database file {name} is damaged ({exc}): stop mailflow and restore its last backup, or recover "
            "what is left: sqlite3 OLD.db .recover | sqlite3 NEW.db, and name NEW.db in rules.yaml")


def _refuse_newer(db: sqlite_utils.Database, path: Path) -> None:
    """A database a newer mailflow upgraded has tables and columns this one does not fill in: using it
    failed later, mid-pass, with a mail not recorded."""
    known = {migration.name for migration in migrations._migrations} | set(RENAMED_STEPS)
    unknown = sorted(m.name for m in migrations.applied(db) if m.name not in known)
    if unknown:
        raise MailflowError(f"the database {path} was upgraded by a newer mailflow (its steps {', '.join(unknown)} "
                            "are unknown to this one): upgrade mailflow here, or restore a backup made by this "
                            "version")


def open_for(rules: Rules, clock: Clock = system_clock) -> sqlite_utils.Database:
    """The database rules.yaml names, its files readable by its database_group."""
    return open_database(rules.database_path, clock, rules.database_group, named_by=where_named(rules))


def read_for(rules: Rules, clock: Clock = system_clock) -> sqlite_utils.Database:
    """The database rules.yaml names, for a command that only reads it (status, registrants, export-person,
    outbox, explain, questions, replay), opened read-only (open_to_read). Refused when the file does not exist,
    since a typo in `database:` made those commands create a new, empty database and report "registrants: 0".
    The commands that add (run, release, registrants add, import ...) create it with open_for()."""
    path = rules.database_path
    _refuse_missing(rules)
    # Read-only (a reader in database_group may not write the files, nor create any in the folder: "attempt to
    # write a readonly database" ended `status` for them), and its files' modes left as they are.
    db = open_to_read(path, clock, named_by=where_named(rules))
    try:
        _refuse_newer(db, path)
        pending = migrations.pending(db)
    except BaseException:
        db.close()
        raise
    if not pending:
        return db
    db.close()   # an earlier mailflow's database: its new steps are applied once, by whoever may write it
    if not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK):
        raise MailflowError(f"the database {path} was made by an earlier mailflow and is upgraded at its next "
                            "start: start mailflow (or run this command once as the database's owner), then "
                            "run it again")
    return open_for(rules, clock)


def open_to_change(rules: Rules, clock: Clock = system_clock) -> sqlite_utils.Database:
    """The database rules.yaml names, for a command that changes what is in it (questions --close, set-status,
    set-audience, set-name, forget, approve, registrants confirm, outbox retry and cancel, purge, archive answer,
    release --dry-run): refused when the file does not exist, as read_for() refuses it (a typo in `database:`
    made them create an empty database and say "not found")."""
    _refuse_missing(rules)
    return open_for(rules, clock)


def _refuse_missing(rules: Rules) -> None:
    path = rules.database_path
    try:
        there = path.exists()
    except PermissionError:
        raise MailflowError(f"cannot read the database {path}: its folder {path.parent} does not let this user in; "
                            "give the folder rules.yaml's database_group and mode 0750, or run this as the "
                            "database's owner") from None
    if not there:
        raise MailflowError(missing(rules))


def missing(rules: Rules) -> str:
    """What to do when the database rules.yaml names is not there."""
    return (f"the database {rules.database_path} does not exist ({where_named(rules)}): check the path; "
            "`mailflow run` creates it (`mailflow demo --output FOLDER` makes its own, FOLDER/mailflow-demo.db)")


def _access(group: str | None) -> tuple[int, int]:
    """(mode, gid) of the database files; gid -1 leaves the group as it is."""
    if group is None:
        return PRIVATE_MODE, -1
    try:
        return GROUP_MODE, grp.getgrnam(group).gr_gid
    except KeyError:
        raise MailflowError(f"database_group {group!r}: no such group on this machine; "
                            "name an existing group in rules.yaml, or remove the key") from None


def _create(path: Path, mode: int, gid: int) -> None:
    """A new database file, empty (which SQLite takes for a new database), with its mode and group
    from the start: SQLite would create it 0644 less the umask."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, mode & PRIVATE_MODE)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, mode)
        if gid != -1:
            os.fchown(fd, -1, gid)
    finally:
        os.close(fd)


def _restrict(path: Path, mode: int, gid: int) -> None:
    """Give the database and the files beside it `mode` and group `gid`; one log line when a file
    had others (a database an earlier version created 0644)."""
    changed = []
    for file in (path, *(Path(f"{path}{suffix}") for suffix in BESIDE)):
        try:
            found = os.stat(file)
        except FileNotFoundError:
            continue
        was = stat.S_IMODE(found.st_mode)
        try:
            if was != mode:
                os.chmod(file, mode)
            if gid != -1 and found.st_gid != gid:
                os.chown(file, -1, gid)
        except PermissionError:
            raise MailflowError(
                f"{file} has mode {was:04o} and group {_group_name(found.st_gid)}; it should have {mode:04o}"
                f"{'' if gid == -1 else f' and group {_group_name(gid)}'}, which only its owner can set: "
                "run mailflow as the database's owner") from None
        if was != mode or (gid != -1 and found.st_gid != gid):
            changed.append(f"{file.name} {was:04o} group {_group_name(found.st_gid)}")
    if changed:
        log.warning("database files set to mode %04o%s (they hold people's mail; they were: %s)", mode,
                    "" if gid == -1 else f" group {_group_name(gid)}", ", ".join(changed))


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def open_beside(path: Path) -> int:
    """Open (creating) a file of mailflow's beside the database, `<database>-sent`: a new one gets
    the database file's mode and group (and, for root, owner), as SQLite gives -wal and -shm."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, PRIVATE_MODE)
    except FileExistsError:
        return os.open(path, os.O_RDWR)
    try:
        like = os.stat(path.with_name(path.name.rsplit("-", 1)[0]))
    except FileNotFoundError:
        return fd
    os.fchmod(fd, stat.S_IMODE(like.st_mode))
    os.fchown(fd, like.st_uid if os.geteuid() == 0 else -1, like.st_gid)
    return fd


def open_to_read(path: Path, clock: Clock = system_clock, *, named_by: str = "") -> sqlite_utils.Database:
    """The database opened read-only, as it is: no upgrade, its files' mode and group left alone, and no file made
    beside it (for the commands that only read, `read_for`, and for `status` while rules.yaml, which names the group,
    cannot be read). While a -wal file is there (a daemon has the database open) it is read with the WAL; else as
    immutable: a read-only open of a WAL database makes -wal and -shm, owned by whoever read, which a group member's
    `mailflow status` cannot create in the owner's folder and which could lock the daemon's user out of them."""
    refuse_not_sqlite(path, named_by)
    wal = Path(f"{path}-wal").exists()
    # (a group member with no write access to the WAL's -shm, the daemon stopped: the file as it is)
    tries = ("mode=ro", "mode=ro&immutable=1") if wal else ("mode=ro&immutable=1",)
    for query in tries:
        try:
            db = _read_only(path, query)
            break
        except sqlite3.Error as exc:
            if query != tries[-1]:
                continue
            if type(exc) is sqlite3.DatabaseError:   # "malformed": a real SQLite file, damaged
                raise MailflowError(damaged(exc, path)) from None
            raise MailflowError(f"cannot read the database {path}: {exc}") from None
    set_clock(db, clock)
    return db


def _read_only(path: Path, query: str) -> sqlite_utils.Database:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?{query}", uri=True, timeout=BUSY_TIMEOUT_SECONDS)
    db = sqlite_utils.Database(conn, execute_plugins=False)
    db.execute("select count(*) from sqlite_master").fetchone()
    return db


def _connect(path: Path) -> sqlite_utils.Database:
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    # Each mail is a savepoint, whose journal of the pages it changed outgrows the 64 KiB that SQLite keeps in
    # memory: in a temporary file it took three of every four writes of a pass (people.compact's VACUUM, which
    # copies the whole database, keeps it in a file).
    conn.execute("PRAGMA temp_store = MEMORY")
    # No sqlite-utils plugins: they are for the sqlite-utils command, and finding them read the
    # entry points of every installed package at each start.
    return sqlite_utils.Database(conn, execute_plugins=False)


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
