"""People: the registrant list, coordinators' corrections, and one person's data (export, erasure).

A person is an address. Export and erasure look at the same rows (`find_person`),
so what `export-person` shows is what `forget` removes. Erasure (GDPR art. 17)
also removes every stored mail that mentions the address, then rewrites the
database files so the deleted bytes are gone from disk, and checks that they are.
"""

from __future__ import annotations

import base64
import difflib
import email
import email.policy
import getpass
import json
import logging
import os
import re
import sqlite3
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

from . import database
from .addresses import InvalidAddress, normalize_address
from .countries import LOCAL_TIME_UNKNOWN, country_name
from .database import now
from .errors import MailflowError
from .registrants import recorded_whereabouts
from .states import ACTIVE_STATUSES, RegistrantStatus

log = logging.getLogger(__name__)

STATUSES = tuple(status.value for status in RegistrantStatus)   # plain words: click shows an enum by name

# Tables whose rows forget handles by name; every other table is scanned generically.
KNOWN_TABLES = ("registrants", "messages", "outbox", "corrections")

# An address inside a longer one ("xa@b.de" for "a@b.de") is someone else.
_BEFORE = r"(?<![A-Za-z0-9._%+\-])"
_AFTER = r"(?![A-Za-z0-9\-]|\.[A-Za-z0-9])"
_ENCODED = re.compile(rb"content-transfer-encoding:\s*\"?(?:base64|quoted-printable)", re.IGNORECASE)
_FROM_LINE = re.compile(rb"^from:[^\r\n]*(?:\r?\n[ \t][^\r\n]*)*", re.IGNORECASE | re.MULTILINE)
_FILE_CHUNK = 1 << 20
BUSY = ("the rows are deleted, but another program keeps the database busy (is `mailflow run` running?), "
        "so old copies can remain in the database files; stop it and run the same `mailflow forget` again to finish")


# -- the registrant list ---------------------------------------------------------


def shown_whereabouts(row: dict, language: str = "en") -> dict[str, str | None]:
    """A registrant's organisation, country name (in `language`) and time zone as shown
    (registrants.recorded_whereabouts); the time zone is "local time unknown" when the country has
    several and nothing said which."""
    about = recorded_whereabouts(row)
    country = about["country"]
    return {"organisation": about["organisation"], "country": country_name(country, language) if country else None,
            "time_zone": about["time_zone"] or (LOCAL_TIME_UNKNOWN if country else None)}


def list_registrants(
    db: sqlite_utils.Database,
    *,
    event_id: str | None = None,
    audience: str | None = None,
    status: str | None = None,
) -> list[dict]:
    """Registrants with organisation, country and what was sent to them when."""
    conditions = [(column, value) for column, value in
                  (("event_id", event_id), ("audience", audience), ("status", status)) if value]
    where = " and ".join(f"{column} = ?" for column, _ in conditions)
    rows = db.query(
        "select id, event_id, name, address, audience, status, registered_by, organisation, country, time_zone, "
        "created_at, updated_at from registrants"
        + (f" where {where}" if where else "") + " order by event_id, id",
        [value for _, value in conditions],
    )
    by_registrant: dict[int, list[dict]] = {}
    by_recipient: dict[str, list[dict]] = {}
    for mail in db.query("select id, registrant_id, lower(recipient) as recipient, kind, state, sent_at "
                         "from outbox order by id"):
        by_registrant.setdefault(mail["registrant_id"], []).append(mail)
        by_recipient.setdefault(mail["recipient"], []).append(mail)
    result = []
    for row in rows:
        mails = {m["id"]: m for m in [*by_registrant.get(row["id"], []), *by_recipient.get(row["address"].lower(), [])]}
        result.append({
            "id": row["id"], "event_id": row["event_id"], "name": row["name"], **shown_whereabouts(row),
            "address": row["address"], "audience": row["audience"], "status": row["status"],
            "registered_by": row["registered_by"],
            "sent": [{"outbox": m["id"], "kind": m["kind"], "state": m["state"], "sent_at": m["sent_at"]}
                     for _, m in sorted(mails.items())],
        })
    return result


def event_ids(db: sqlite_utils.Database) -> set[str]:
    """Events that have registrants, including ones no longer in rules.yaml."""
    return {row[0] for row in db.execute("select distinct event_id from registrants").fetchall()}


def sent_summary(sent: Iterable[dict]) -> str:
    """One line for tables and CSV: 'reply:interest 2020-09-14T10:00:00+00:00; release:agenda:v1 (queued)'."""
    return "; ".join(f"{m['kind']} {m['sent_at']}" if m["state"] == "sent" else f"{m['kind']} ({m['state']})"
                     for m in sent)


# -- corrections -----------------------------------------------------------------


def current_user() -> str:
    """Who is correcting: $MAILFLOW_USER (e.g. set per coordinator), else the login name."""
    try:
        return os.environ.get("MAILFLOW_USER") or getpass.getuser()
    except (OSError, KeyError):  # no login name in some containers
        return "unknown"


def set_audience(
    db: sqlite_utils.Database, address: str, audience: str, audiences: Collection[str], *,
    by: str, event_id: str | None = None,
) -> list[dict]:
    if audience not in audiences:
        raise MailflowError(f"unknown audience {audience!r}{_did_you_mean(audience, audiences)}; "
                            f"rules.yaml has: {', '.join(sorted(audiences))}")
    return _correct(db, address, "audience", audience, by=by, event_id=event_id)


MAX_NAME = 200


def set_name(db: sqlite_utils.Database, address: str, name: str, *, by: str, event_id: str | None = None) -> list[dict]:
    """A registrant's name as they spell it ("my name is misspelt: it is Tsereteli"): every later mail,
    list and export uses it."""
    name = " ".join(name.split())   # one line: it goes into mail headers and greetings
    if not name:
        raise MailflowError('the name is empty; give it in quotes, e.g. mailflow set-name ADDRESS "Nino Tsereteli"')
    if len(name) > MAX_NAME or not name.isprintable():
        raise MailflowError(f"that is no name (at most {MAX_NAME} printable characters): {name[:60]!r}")
    return _correct(db, address, "name", name, by=by, event_id=event_id)


def set_status(
    db: sqlite_utils.Database, address: str, status: str, *, by: str, event_id: str | None = None,
    withdraw: Callable[[dict], bool] = lambda registrant: False,
) -> list[dict]:
    """`withdraw(registrant)` is called for each registration this cancels that still got mail, in the
    same transaction (releases.withdraw_invitation: the CANCEL for their calendar, as a cancellation by
    mail gets; not for a bounced address); its answer is the change's "calendar_cancel"."""
    if status not in STATUSES:
        raise MailflowError(f"unknown status {status!r}{_did_you_mean(status, STATUSES)}; "
                            f"known: {', '.join(STATUSES)}")
    after = (lambda row, change: change.update(calendar_cancel=change["old"] in ACTIVE_STATUSES and withdraw(row))) \
        if status == RegistrantStatus.CANCELLED else None
    return _correct(db, address, "status", status, by=by, event_id=event_id, after=after)


def _correct(
    db: sqlite_utils.Database, address: str, column: str, value: str, *, by: str, event_id: str | None,
    after: Callable[[dict, dict], None] | None = None,
) -> list[dict]:
    """Change one column of a person's registration, keeping who changed it from what and when;
    `after(registrant, change)` for each changed one, in the same transaction."""
    results = []
    with database.transaction(db):
        for row in _registrations(db, address, event_id):
            change = {"registrant_id": row["id"], "event_id": row["event_id"], "address": row["address"],
                      "field": column, "old": row[column], "new": value, "by": by, "at": now(db)}
            change["changed"] = row[column] != value
            if change["changed"]:
                db.table("registrants").update(row["id"], {column: value, "updated_at": change["at"]})
                logged = ("registrant_id", "field", "old", "new", "by", "at")
                db.table("corrections").insert({k: change[k] for k in logged})
                if after is not None:
                    after({**row, column: value}, change)
            results.append(change)
    for change in results:
        if change["changed"]:
            log.info("registrant=%s %s %s -> %s corrected by %s",
                     change["registrant_id"], column, change["old"], value, by)
    return results


def _registrations(db: sqlite_utils.Database, address: str, event_id: str | None) -> list[dict]:
    address = _normal(address)
    rows = list(db.table("registrants").rows_where("lower(address) = ?", [address], order_by="id"))
    if not rows:
        known = [r["address"] for r in db.query("select distinct address from registrants")]
        raise MailflowError(f"no registrant with the address {address!r}{_close_addresses(address, known)}")
    events = [r["event_id"] for r in rows]
    if event_id is not None:
        rows = [r for r in rows if r["event_id"] == event_id]
        if not rows:
            raise MailflowError(f"{address} is not registered for event {event_id!r}; "
                                f"they are registered for: {', '.join(events)}")
    elif len(rows) > 1:
        raise MailflowError(f"{address} is registered for several events ({', '.join(events)}); "
                            "say which one with --event")
    return rows


# -- one person's data: find, export, forget -------------------------------------


@dataclass
class Person:
    """Row ids (rowids) of everything stored about one address, by table."""

    address: str
    rows: dict[str, set[int]] = field(default_factory=dict)
    own_messages: set[int] = field(default_factory=set)  # sent by them or recorded for their registration
    cleared: dict[str, set[int]] = field(default_factory=dict)  # others' rows that only point at deleted rows
    unscanned: list[str] = field(default_factory=list)  # tables that cannot be searched (WITHOUT ROWID)

    @property
    def found(self) -> bool:
        return any(self.rows.values())

    def count(self, table: str) -> int:
        return len(self.rows.get(table, ()))


class _Matcher:
    """The address as a whole word, in text and in mail bytes (also inside base64/quoted-printable parts)."""

    def __init__(self, address: str):
        self.text_pattern = re.compile(_BEFORE + re.escape(address) + _AFTER, re.IGNORECASE)
        self.bytes_pattern = re.compile(_BEFORE.encode() + re.escape(address.encode()) + _AFTER.encode(),
                                        re.IGNORECASE)

    def value(self, value: object) -> bool:
        if isinstance(value, str):
            return bool(self.text_pattern.search(value))
        if isinstance(value, bytes):
            return self.mail(value)
        return False

    def mail(self, raw: bytes, depth: int = 2) -> bool:
        if self.bytes_pattern.search(raw):
            return True
        if depth == 0 or not _ENCODED.search(raw):
            return False
        try:
            for part in email.message_from_bytes(raw, policy=email.policy.compat32).walk():
                payload = None if part.is_multipart() else part.get_payload(decode=True)
                # An attached mail (e.g. original.eml in a notice) may itself be encoded.
                if isinstance(payload, bytes) and self.mail(payload, depth - 1):
                    return True
        except Exception:  # noqa: BLE001  hostile mail: the plain-bytes search above still counted
            return False
        return False


def find_person(db: sqlite_utils.Database, address: str) -> Person:
    """Everything about `address`: their registrations, their mails and replies, corrections, and
    every row of any table that mentions the address or points at one of those rows."""
    address = _normal(address)
    match = _Matcher(address)
    person = Person(address)
    rows = person.rows
    rows["registrants"] = _ids(db, "select id from registrants where lower(address) = ?", [address])
    person.own_messages = _ids(
        db, "select id from messages where lower(sender) = ? or registrant_id in (select value from json_each(?))",
        [address, json.dumps(sorted(rows["registrants"]))],
    )
    rows["messages"] = set(person.own_messages)
    for table in _tables(db):
        try:
            for row in db.query(f"select rowid as _rowid_, * from [{table}]"):
                if any(match.value(v) for k, v in row.items() if k != "_rowid_"):
                    rows.setdefault(table, set()).add(row["_rowid_"])
        except sqlite3.OperationalError:
            person.unscanned.append(table)
    # People they registered on their behalf keep their registration; only the link to them goes.
    behalf = _ids(db, "select id from registrants where lower(registered_by) = ? and lower(address) != ?",
                  [address, address])
    if behalf:
        rows["registrants"] -= behalf
        person.cleared.setdefault("registrants.registered_by", set()).update(behalf)
    # A quarantined mail has no parsed sender; its From line still says whose it is.
    for row in db.query("select id, raw from messages where sender is null and id in (select value from json_each(?))",
                        [json.dumps(sorted(rows.get("messages", ())))]):
        if any(match.bytes_pattern.search(line) for line in _FROM_LINE.findall(_header_block(row["raw"] or b""))):
            person.own_messages.add(row["id"])
    # Rows that point at deleted rows go too (a reply to their mail, a correction of their registration),
    # except another person's registration, which only loses its link to a deleted mail.
    links = _links(db)
    changed = True
    while changed:
        changed = False
        for table, column, parent in links:
            targets = rows.get(parent)
            if not targets:
                continue
            pointing = _ids(db, f"select rowid from [{table}] where [{column}] in (select value from json_each(?))",
                            [json.dumps(sorted(targets))]) - rows.get(table, set())
            if not pointing:
                continue
            if table == "registrants":
                person.cleared.setdefault(f"{table}.{column}", set()).update(pointing)
            else:
                rows.setdefault(table, set()).update(pointing)
                changed = True
    for key in list(person.cleared):
        person.cleared[key] -= rows.get(key.partition(".")[0], set())
    return person


def export_person(db: sqlite_utils.Database, address: str, include_raw: bool = False) -> dict:
    """Everything stored about one person, as plain data (mail bytes only with include_raw)."""
    person = find_person(db, address)
    if not person.found:
        raise _unknown_person(db, person.address)
    data: dict = {"address": person.address, "exported_at": now(db)}
    registrants = _rows(db, "registrants", person.rows.get("registrants", ()), include_raw)
    for row in registrants:
        row.update(shown_whereabouts(row))
    data["registrants"] = registrants
    messages = []
    for row in db.query("select * from messages where id in (select value from json_each(?)) order by id",
                        [json.dumps(sorted(person.rows.get("messages", ())))]):
        item = _plain(row, include_raw)
        item["relation"] = "from them" if row["id"] in person.own_messages else "mentions them"
        item["subject"] = row["subject"] if row["subject"] is not None else _subject_of(row["raw"])
        item["reasons"] = json.loads(row["reasons"]) if row["reasons"] else []
        messages.append(item)
    data["messages"] = messages
    data["outbox"] = _rows(db, "outbox", person.rows.get("outbox", ()), include_raw)
    data["corrections"] = _rows(db, "corrections", person.rows.get("corrections", ()), include_raw)
    data["other"] = {table: _rows(db, table, ids, include_raw)
                     for table, ids in sorted(person.rows.items()) if table not in KNOWN_TABLES and ids}
    if person.unscanned:
        data["not_searched"] = person.unscanned
    return data


@dataclass
class ForgetReport:
    address: str
    deleted: dict[str, int]              # table -> rows deleted
    messages_from_them: int
    messages_mentioning_them: int
    links_cleared: int                   # other people's registrations that pointed at a deleted mail
    server_copies: list[dict]            # mailbox, uid, message_id: mail mailflow never deletes on the server
    not_searched: list[str]
    files_still_mentioning: list[str]    # empty when the erasure is verified on disk


def forget(db: sqlite_utils.Database, address: str, protected: Collection[str] = ()) -> ForgetReport:
    """Erase a person from every table, then from the database files (secure_delete, WAL truncated, VACUUM).

    Run again after an interruption: a second run finds the leftover bytes in the
    files (if any) and finishes the compaction.
    """
    refuse_own(address, protected)
    person = find_person(db, address)
    if not person.found and not files_mentioning(db, person.address):
        raise _unknown_person(db, person.address, " (in no table and nowhere in the database files)")
    server_copies = list(db.query(
        "select mailbox, uid, message_id from messages where id in (select value from json_each(?)) order by id",
        [json.dumps(sorted(person.rows.get("messages", ())))]))
    db.execute("PRAGMA secure_delete = ON")  # freed pages are overwritten with zeros
    with database.transaction(db):
        db.execute("PRAGMA defer_foreign_keys = ON")  # registrants and messages point at each other
        for key, ids in person.cleared.items():
            table, _, column = key.partition(".")
            db.execute(f"update [{table}] set [{column}] = null where rowid in (select value from json_each(?))",
                       [json.dumps(sorted(ids))])
        for table, ids in person.rows.items():
            db.execute(f"delete from [{table}] where rowid in (select value from json_each(?))",
                       [json.dumps(sorted(ids))])
    compact(db)
    deleted = {table: len(ids) for table, ids in person.rows.items() if ids}
    report = ForgetReport(
        address=person.address, deleted=deleted, messages_from_them=len(person.own_messages),
        messages_mentioning_them=person.count("messages") - len(person.own_messages),
        links_cleared=sum(len(ids) for ids in person.cleared.values()), server_copies=server_copies,
        not_searched=person.unscanned, files_still_mentioning=files_mentioning(db, person.address),
    )
    # The address itself is never logged: the log would keep what was erased.
    log.info("forgot a person: %s; %s other registrations unlinked; verified on disk: %s",
             ", ".join(f"{t} {n}" for t, n in sorted(deleted.items())) or "no rows left",
             report.links_cleared, "yes" if not report.files_still_mentioning else "NO")
    return report


def refuse_own(address: str, protected: Collection[str]) -> None:
    """Our own mailboxes are in every reply: forgetting one would erase the whole history."""
    if _normal(address) in {a.lower() for a in protected}:
        raise MailflowError(f"{_normal(address)} is one of our own mailboxes in rules.yaml; it cannot be forgotten")


def compact(db: sqlite_utils.Database) -> None:
    """Move everything out of the WAL and rebuild the file, so no old copy of a deleted row stays on disk."""
    try:
        _checkpoint(db)
        db.execute("PRAGMA temp_store = FILE")   # VACUUM's copy of the whole database: not in memory
        db.execute("VACUUM")
        _checkpoint(db)
    except sqlite3.OperationalError as exc:  # e.g. "database is locked" after the busy timeout
        raise MailflowError(f"{BUSY}: {exc}") from None


def files_mentioning(db: sqlite_utils.Database, address: str) -> list[str]:
    """Database files (main, -wal, -shm, -journal) whose bytes still contain the address."""
    pattern = _Matcher(_normal(address)).bytes_pattern
    overlap = len(address.encode()) + 64
    found = []
    for path in _database_files(db):
        with path.open("rb") as handle:
            tail = b""
            while chunk := handle.read(_FILE_CHUNK):
                if pattern.search(tail + chunk):
                    found.append(str(path))
                    break
                tail = chunk[-overlap:]
    return found


def _checkpoint(db: sqlite_utils.Database) -> None:
    busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    if busy:
        raise MailflowError(BUSY)


def _database_files(db: sqlite_utils.Database) -> list[Path]:
    main = next((row[2] for row in db.execute("PRAGMA database_list").fetchall() if row[1] == "main"), "")
    if not main:
        return []  # an in-memory database has no files
    return [p for p in (Path(main + suffix) for suffix in ("", "-wal", "-shm", "-journal")) if p.exists()]


# -- helpers ---------------------------------------------------------------------


def _normal(address: str) -> str:
    try:
        return normalize_address(address)
    except InvalidAddress:
        return address.strip().lower()  # still search for it: stored senders may be malformed


def _ids(db: sqlite_utils.Database, sql: str, args: list) -> set[int]:
    return {row[0] for row in db.execute(sql, args).fetchall()}


def _tables(db: sqlite_utils.Database) -> list[str]:
    """Ordinary tables to search; not SQLite's or sqlite-utils' own, not virtual tables and their shadows."""
    entries = db.execute("select name, coalesce(sql, '') from sqlite_master where type = 'table'").fetchall()
    virtual = [name for name, sql in entries if sql.upper().startswith("CREATE VIRTUAL TABLE")]
    return [name for name, _ in entries
            if not name.startswith(("sqlite_", "_"))
            and not any(name == v or name.startswith(v + "_") for v in virtual)]


def _links(db: sqlite_utils.Database) -> list[tuple[str, str, str]]:
    """(table, column, parent table) for every foreign key that points at a parent's row id."""
    links = []
    for table in _tables(db):
        for fk in db.execute(f"PRAGMA foreign_key_list([{table}])").fetchall():
            parent, column, to = fk[2], fk[3], fk[4]
            if to in (None, "id", "rowid"):
                links.append((table, column, parent))
    return links


def _rows(db: sqlite_utils.Database, table: str, ids: Iterable[int], include_raw: bool) -> list[dict]:
    return [_plain(row, include_raw) for row in db.query(
        f"select * from [{table}] where rowid in (select value from json_each(?)) order by rowid",
        [json.dumps(sorted(ids))])]


def _plain(row: dict, include_raw: bool) -> dict:
    """JSON-ready: bytes become their size, or with include_raw the text (base64 when not UTF-8)."""
    plain = {}
    for key, value in row.items():
        if not isinstance(value, bytes):
            plain[key] = value
        elif not include_raw:
            plain[f"{key}_size"] = len(value)
        else:
            try:
                plain[key] = value.decode("utf-8")
            except UnicodeDecodeError:
                plain[f"{key}_base64"] = base64.b64encode(value).decode("ascii")
    return plain


def _subject_of(raw: bytes | None) -> str | None:
    """The decoded Subject of a mail that was never parsed (quarantined)."""
    if not raw:
        return None
    try:
        subject = email.message_from_bytes(_header_block(raw), policy=email.policy.default)["subject"]
    except Exception:  # noqa: BLE001  a hostile header: the subject stays unknown
        return None
    return str(subject) if subject is not None else None


def _header_block(raw: bytes) -> bytes:
    return raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]


def _unknown_person(db: sqlite_utils.Database, address: str, where: str = "") -> MailflowError:
    known = [r[0] for r in db.execute(
        "select lower(address) from registrants union select lower(sender) from messages where sender is not null "
        "union select lower(recipient) from outbox").fetchall()]
    return MailflowError(f"nothing is stored about {address!r}{where}{_close_addresses(address, known)}")


def _close_addresses(address: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(address, list(known), n=3, cutoff=0.6)
    if close:
        return "; did you mean " + " or ".join(repr(c) for c in close) + "?"
    return "; `mailflow registrants` lists the known addresses"


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
