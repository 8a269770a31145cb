"""The health alarm: a mailbox that cannot be read or sent from for longer than its `alarm.after` gets
one mail to a coordinator (default: the other one), and one more when it works again.

Exactly once per outage, across restarts: an outage is (mailbox, server, its start) in the `alarms`
table, whose state goes waiting -> raised (the alarm is queued) -> recovering -> closed (the recovery
mail is queued); an outage that ends before its alarm could go out gets the recovery mail alone (it
says since when and why). Each mail goes through a route that works: another mailbox's SMTP server
that is not failing (for an IMAP outage, and for the recovery mail, the mailbox's own SMTP server
last), never the broken one. With no such route it waits
(`mailflow status`, the log) and goes out with the first pass that has one. The alarm of a mailbox
rules.yaml no longer names is closed without a mail. The outbox and dispatch
send it, with `X-Mailflow: alarm`, in the receiving coordinator's `language`.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime

import sqlite_utils

from . import health, outbox
from .clock import parse_stamp, stamp
from .health import IMAP
from .rules import Rules
from .states import OutboxState

log = logging.getLogger(__name__)

WAITING, RAISED, RECOVERING, CLOSED = "waiting", "raised", "recovering", "closed"
KINDS = ("alarm:", "recovery:")   # outbox.kind of its mails

TEXTS = {
    "en": {
        "imap": "cannot be read",
        "smtp": "cannot send mail",
        "imap_past": "could not be read",
        "smtp_past": "could not send mail",
        "alarm_subject": "[mailflow] mailbox {mailbox} {what}",
        "alarm": "mailflow: the mailbox {mailbox} ({address}) {what} since {since}.\n\n"
                 "Cause: {cause}\n\n"
                 "Its mail waits and is handled when the server works again. Check the server, the user name and "
                 "the password in rules.yaml; `mailflow status` shows the state.\n\n"
                 "This mail went out through the mailbox {route}. mailflow writes again when {mailbox} works.\n",
        "recovery_subject": "[mailflow] mailbox {mailbox} works again",
        "recovery": "mailflow: the mailbox {mailbox} ({address}) works again since {recovered}.\n\n"
                    "Down from {since}: it {what_past}. Cause: {cause}\n\n"
                    "What waited is handled now.\n",
    },
    "de": {
        "imap": "kann nicht gelesen werden",
        "smtp": "kann keine Mail senden",
        "imap_past": "konnte nicht gelesen werden",
        "smtp_past": "konnte keine Mail senden",
        "alarm_subject": "[mailflow] Postfach {mailbox} {what}",
        "alarm": "mailflow: Das Postfach {mailbox} ({address}) {what}, seit {since}.\n\n"
                 "Ursache: {cause}\n\n"
                 "Seine Mail wartet und wird bearbeitet, sobald der Server wieder geht. Bitte den Server, den "
                 "Benutzernamen und das Passwort in rules.yaml prüfen; `mailflow status` zeigt den Stand.\n\n"
                 "Diese Mail ging über das Postfach {route}. mailflow meldet sich wieder, wenn {mailbox} geht.\n",
        "recovery_subject": "[mailflow] Postfach {mailbox} geht wieder",
        "recovery": "mailflow: Das Postfach {mailbox} ({address}) geht wieder, seit {recovered}.\n\n"
                    "Ausfall ab {since}: es {what_past}. Ursache: {cause}\n\n"
                    "Was gewartet hat, wird jetzt bearbeitet.\n",
    },
}


def _when(text: str) -> str:
    return parse_stamp(text).strftime("%Y-%m-%d %H:%M UTC")


def check(db: sqlite_utils.Database, rules: Rules, now: datetime, can_send: Collection[str]) -> int:
    """Raise alarms for outages older than their `after`, note recoveries, and queue the mails that
    have a route (`can_send`: mailboxes whose SMTP server this pass may use). Call inside a
    transaction. Returns how many mails it queued."""
    failing = health.failing(db)
    for (mailbox, server), row in failing.items():
        if mailbox not in rules.mailboxes:
            continue
        after, _ = rules.alarm_for(mailbox)
        if parse_stamp(row["failing_since"]) <= now - after and db.execute(
                "insert or ignore into alarms (mailbox, server, since, cause, state, raised_at) "
                "values (?, ?, ?, ?, ?, ?)",
                [mailbox, server, row["failing_since"], row["cause"], WAITING, stamp(now)]).rowcount:
            log.warning("mailbox=%s %s down since %s: alarm (%s)", mailbox, server, row["failing_since"], row["cause"])
    queued = _reroute(db, rules, failing, now, can_send)
    for alarm in list(db.query("select * from alarms where state in (?, ?, ?)", [WAITING, RAISED, RECOVERING])):
        key = (alarm["mailbox"], alarm["server"])
        if alarm["mailbox"] not in rules.mailboxes:   # renamed or removed in rules.yaml: nothing more to say
            _set(db, alarm, state=CLOSED)
            log.info("mailbox=%s %s alarm closed: rules.yaml has no such mailbox any more", *key)
            continue
        ongoing = key in failing and failing[key]["failing_since"] == alarm["since"]
        state = alarm["state"]
        if not ongoing and state != RECOVERING:
            if state == WAITING:
                log.warning("mailbox=%s %s works again before its alarm found a route: the recovery mail says it",
                            *key)
            state = RECOVERING
            _set(db, alarm, state=state, recovered_at=stamp(now))
        cause = failing[key]["cause"] if ongoing else alarm["cause"]   # the latest, as it may change
        if cause != alarm["cause"]:
            _set(db, alarm, cause=cause)
        if state not in (WAITING, RECOVERING):
            continue
        route = _route(rules, failing, alarm["mailbox"], alarm["server"] == IMAP or state == RECOVERING, can_send)
        if route is None:
            log.warning("mailbox=%s %s alarm waits: no mailbox's SMTP server works to send it", *key)
            continue
        outbox_id = _queue(db, rules, {**alarm, "cause": cause}, route, recovered=state == RECOVERING, now=now)
        if state == WAITING:
            _set(db, alarm, state=RAISED, alarm_outbox=outbox_id)
        else:
            _set(db, alarm, state=CLOSED, recovery_outbox=outbox_id)
        queued += 1
    return queued


def _reroute(db: sqlite_utils.Database, rules: Rules, failing: dict, now: datetime, can_send: Collection[str]) -> int:
    """An alarm or recovery mail queued on a route whose SMTP server has failed since is cancelled there
    and queued again through one that works, if there is one."""
    moved = 0
    for alarm in list(db.query("select * from alarms where state in (?, ?)", [RAISED, CLOSED])):
        column = "alarm_outbox" if alarm["state"] == RAISED else "recovery_outbox"
        row = db.execute("select mailbox from outbox where id = ? and state = ?",
                         [alarm[column], OutboxState.QUEUED]).fetchone()
        if row is None or (row[0], health.SMTP) not in failing or alarm["mailbox"] not in rules.mailboxes:
            continue
        own = alarm["server"] == IMAP or alarm["state"] == CLOSED
        route = _route(rules, failing, alarm["mailbox"], own, can_send)
        if route is None:
            continue
        db.execute("update outbox set state = ?, error = ? where id = ?",
                   [OutboxState.CANCELLED, f"not sent: the SMTP server of {row[0]} fails; sent through {route}",
                    alarm[column]])
        _set(db, alarm, **{column: _queue(db, rules, alarm, route, recovered=alarm["state"] == CLOSED, now=now)})
        moved += 1
    return moved


def waiting(db: sqlite_utils.Database) -> list[dict]:
    """Alarms (or recovery mails) that wait for a route, for `mailflow status`."""
    return list(db.query("select mailbox, server, since, cause, state, raised_at from alarms where state in (?, ?) "
                         "order by since", [WAITING, RECOVERING]))


def _set(db: sqlite_utils.Database, alarm: dict, **values: object) -> None:
    columns = ", ".join(f"{name} = ?" for name in values)
    db.execute(f"update alarms set {columns} where mailbox = ? and server = ? and since = ?",
               [*values.values(), alarm["mailbox"], alarm["server"], alarm["since"]])


def _route(rules: Rules, failing: dict, mailbox: str, own: bool, can_send: Collection[str]) -> str | None:
    """Another mailbox whose SMTP server works; with `own` (an IMAP outage, a recovery) the mailbox's
    own SMTP server last. While the mailbox's own SMTP server fails, no mailbox on that same server is a
    route (both mailboxes at one provider: it counted as working for having had nothing to send, and the
    alarm arrived with the recovery mail)."""
    candidates = [name for name in rules.mailboxes if name != mailbox] + ([mailbox] if own else [])
    failure = failing.get((mailbox, health.SMTP))
    if failure and not any(own_fault in (failure["cause"] or "").lower() for own_fault in _THE_MAILBOXES_OWN):
        candidates = [name for name in candidates if _server(rules, name) != _server(rules, mailbox)]
    return next((name for name in candidates if name in can_send and (name, health.SMTP) not in failing), None)


# Causes that are the mailbox's own, not its server's: another mailbox's login on that server still works.
_THE_MAILBOXES_OWN = ("login refused", "password", "token", "secret")


def _server(rules: Rules, mailbox: str) -> tuple[str, int] | None:
    smtp = rules.mailboxes[mailbox].smtp
    return (smtp.host.lower(), smtp.port) if smtp else None


def _queue(db: sqlite_utils.Database, rules: Rules, alarm: dict, route: str, *, recovered: bool,
           now: datetime) -> int:
    box, via = rules.mailboxes[alarm["mailbox"]], rules.mailboxes[route]
    _, to = rules.alarm_for(alarm["mailbox"])
    language = next((b.language for b in rules.mailboxes.values() if b.address == to), "en")
    words = TEXTS[language]
    values = {"mailbox": alarm["mailbox"], "address": box.address, "what": words[alarm["server"]],
              "what_past": words[f"{alarm['server']}_past"],
              "since": _when(alarm["since"]), "cause": alarm["cause"], "route": route,
              "recovered": _when(alarm.get("recovered_at") or stamp(now))}
    kind = "recovery" if recovered else "alarm"
    subject = words[f"{kind}_subject"].format(**values)
    message_id = outbox.new_message_id(via.address)
    to_name = next((b.coordinator for b in rules.mailboxes.values() if b.address == to), "")
    raw = outbox.compose(
        from_name=f"mailflow ({via.coordinator})", from_address=via.address, to_name=to_name, to_address=to,
        subject=subject, text=words[kind].format(**values), message_id=message_id, role=outbox.ALARM, date=now,
        auto_submitted="auto-generated",
    )
    outbox.enqueue(db, raw=raw, message_id=message_id, kind=f"{kind}:{alarm['mailbox']}:{alarm['server']}",
                   mailbox=route, recipient=to, subject=subject)
    log.warning("mailbox=%s %s %s queued to %s through %s message_id=%s", alarm["mailbox"], alarm["server"], kind,
                to, route, message_id)
    return db.execute("select id from outbox where message_id = ?", [message_id]).fetchone()[0]
