"""`mailflow status`: what the worker has done and what waits, read from the database only.

Read-only, so it is safe to run while the daemon works. The daemon records each
mailbox's connection (idle, polling, reconnecting) in sync_state; "unknown"
means no daemon has run since the database was made.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import sqlite_utils
import yaml

from . import alarm, health
from .database import clock_of, disk_full
from .history import open_questions
from .releases import next_due
from .states import MessageState, OutboxState, RegistrantStatus

UNKNOWN = "unknown"


def status(db: sqlite_utils.Database, mailboxes: Iterable[str]) -> dict:
    """Per mailbox: last sync, backlog, quarantine, archived and answered-before mail with what the
    last look at the server found; the outbox by state with failures; registrants by audience."""
    daemon = health.liveness(db, clock_of(db)())
    path = health.database_path(db)
    return {
        "daemon": daemon,
        "disk": (disk_full(path) if path else None) or "ok",
        "mailboxes": _mailboxes(db, list(mailboxes), daemon),
        "alarms_waiting": alarm.waiting(db),
        "outbox": _outbox(db),
        "registrants": _registrants(db),
        "undeliverable": _undeliverable(db),
        "open_questions": len(open_questions(db)),
        "scheduled": [{k: row[k] for k in ("event_id", "name", "due_at")} for row in next_due(db)],
    }


def _mailboxes(db: sqlite_utils.Database, names: list[str], daemon: dict) -> list[dict]:
    counts: dict[tuple[str, str], int] = {
        (row["mailbox"], row["state"]): row["n"]
        for row in db.query("select mailbox, state, count(*) as n from messages group by mailbox, state")
    }
    answered_before = {row["mailbox"]: row["n"] for row in db.query(
        "select mailbox, count(*) as n from messages where answered_before is not null group by mailbox")}
    knows = {row["mailbox"]: row for row in db.query("select mailbox, first_opened_at, found, found_at "
                                                     "from mailbox_state")}
    unmarked = {row["mailbox"]: row["n"] for row in db.query(
        "select mailbox, count(*) as n from messages where marked_on_server = 0 "
        "and state in (?, ?) group by mailbox", [MessageState.PROCESSED, MessageState.QUARANTINED])}
    syncs: dict[str, list[dict]] = {}
    for row in db.query("select mailbox, folder, uidvalidity, last_uid, last_sync, connection, connection_at, "
                        "marking from sync_state order by 1, 2"):
        syncs.setdefault(row["mailbox"], []).append(row)
    # Mailboxes in rules.yaml first (even never synced), then any the database still knows.
    known = list(dict.fromkeys([*names, *syncs, *(mailbox for mailbox, _ in counts)]))
    failures: dict[str, list[dict]] = {}
    for (mailbox, server), row in sorted(health.failing(db).items()):
        failures.setdefault(mailbox, []).append({"server": server, "cause": row["cause"],
                                                 "since": row["failing_since"], "last_failed": row["failed_at"]})
    result = []
    for name in known:
        folders = syncs.get(name, [])
        connection = next((row["connection"] for row in folders if row["connection"]), UNKNOWN)
        result.append({
            "mailbox": name,
            "in_rules": name in names,
            "folders": [{k: row[k] for k in ("folder", "uidvalidity", "last_uid", "last_sync")} for row in folders],
            "last_sync": max((row["last_sync"] for row in folders if row["last_sync"]), default=None),
            "last_uid": max((row["last_uid"] for row in folders if row["last_uid"] is not None), default=None),
            "backlog": counts.get((name, MessageState.RECORDED), 0),
            "quarantined": counts.get((name, MessageState.QUARANTINED), 0),
            "processed": counts.get((name, MessageState.PROCESSED), 0),
            "archived": counts.get((name, MessageState.ARCHIVED), 0),
            "answered_before": answered_before.get(name, 0),
            "first_opened": knows.get(name, {}).get("first_opened_at"),
            "found": knows.get(name, {}).get("found"),
            "found_at": knows.get(name, {}).get("found_at"),
            "not_marked_on_server": unmarked.get(name, 0),
            # what the watcher said last, unless the daemon has stopped since (health.liveness)
            "connection": f"not running since {daemon['since']}" if daemon["running"] is False else
            connection if name in names else "not watched: not in rules.yaml",
            "failures": failures.get(name, []),
            "connection_since": next((row["connection_at"] for row in folders if row["connection_at"]), None),
            # keyword, "keyword, move", move or database: how processed mail is marked on the server
            "marking": next((row["marking"] for row in folders if row["marking"]), UNKNOWN),
        })
    return result


def database_named_in(rules_path: Path) -> Path:
    """The database a rules.yaml names, read without checking the rest (for `status` when the file has problems):
    its top-level `database:` (from the YAML, or where that is broken, the line), relative to the file, else
    the default mailflow.db beside it."""
    try:
        text = rules_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    try:   # (composed, not constructed: an alias bomb stays one node per alias)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        named = next((value.value for key, value in node.value if isinstance(key, yaml.ScalarNode)
                      and key.value == "database" and isinstance(value, yaml.ScalarNode)), "") \
            if isinstance(node, yaml.MappingNode) else ""
    except (yaml.YAMLError, RecursionError):
        line = re.search(r"""^database:[ \t]*["']?([^"'#\n]*?)["']?[ \t]*(?:#.*)?$""", text, re.MULTILINE)
        named = line.group(1) if line else ""
    path = Path(named.strip()) if named.strip() else Path("mailflow.db")
    return path if path.is_absolute() else rules_path.parent / path


def known_mailboxes(db: sqlite_utils.Database) -> list[str]:
    """The mailboxes the database has mail or a sync state of (for `status` when rules.yaml cannot be read)."""
    return [row[0] for row in db.execute("select mailbox from sync_state union select mailbox from messages")]


def _outbox(db: sqlite_utils.Database) -> dict:
    by_state = {row["state"]: row["n"] for row in db.query(
        "select state, count(*) as n from outbox group by state order by state")}
    failed, uncertain = (list(db.query(
        "select id, kind, mailbox, recipient, subject, attempts, error, created_at from outbox "
        "where state = ? order by id", [state])) for state in (OutboxState.FAILED, OutboxState.UNCERTAIN))
    return {"by_state": by_state, "total": sum(by_state.values()), "failed": failed, "uncertain": uncertain}


def _registrants(db: sqlite_utils.Database) -> dict:
    by_audience: dict[str, dict[str, int]] = {}
    total = 0
    for row in db.query("select coalesce(audience, 'unknown') as audience, status, count(*) as n "
                        "from registrants group by 1, 2 order by 1, 2"):
        by_audience.setdefault(row["audience"], {})[row["status"]] = row["n"]
        total += row["n"]
    return {"by_audience": by_audience, "total": total}


def _undeliverable(db: sqlite_utils.Database) -> list[dict]:
    """Addresses a bounce reported, with the queued mails that were cancelled for them."""
    return list(db.query(
        "select r.address, max(r.bounced_at) as bounced_at, (select count(*) from outbox o where o.recipient = "
        "r.address and o.state = ? and o.error like 'not sent: % bounced %') as cancelled "
        "from registrants r where r.status = ? group by r.address order by 2, 1",
        [OutboxState.CANCELLED, RegistrantStatus.BOUNCED]))
