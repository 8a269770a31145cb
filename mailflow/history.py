"""What mailflow recorded and decided, for coordinators: explain, open questions, replay.

Read-only over the database except closing questions; replay classifies stored
raw mail with other rules and sends nothing.
"""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass

import sqlite_utils

from . import database, invitations, outbox, registrants
from .classify import classify
from .database import now
from .errors import MailflowError, MessageError
from .message import parse_message
from .rules import Rules
from .states import Intent, MessageState

log = logging.getLogger(__name__)


def find_message(db: sqlite_utils.Database, ref: str) -> dict:
    """A message by its number in the database or its Message-ID (with or without <>)."""
    if ref.isdigit():
        rows = list(db.table("messages").rows_where("id = ?", [int(ref)]))
    else:
        message_id = ref if ref.startswith("<") else f"<{ref}>"
        rows = list(db.table("messages").rows_where("message_id = ?", [message_id], order_by="id"))
    if not rows:
        raise MailflowError(f"no message {ref!r} in the database; "
                            "use the number from `mailflow questions` or a Message-ID")
    return rows[0]


def explain(db: sqlite_utils.Database, ref: str) -> dict:
    row = find_message(db, ref)
    replies = list(db.query(
        "select id, kind, recipient, subject, state, error, created_at, sent_at from outbox where source_message = ?",
        [row["id"]],
    ))
    registrant = db.table("registrants").get(row["registrant_id"]) if row["registrant_id"] else None
    return {
        "id": row["id"], "mailbox": row["mailbox"], "uid": row["uid"], "message_id": row["message_id"],
        "sender": row["sender"], "subject": row["subject"], "state": row["state"], "error": row["error"],
        "audience": row["audience"], "intent": row["intent"], "confidence": row["confidence"],
        "answered": bool(row["answer"]), "reply_limited": row["reply_limited"], "attention": row["attention"],
        "answered_before": row["answered_before"], "archived": row["state"] == MessageState.ARCHIVED,
        "unarchived_at": row["unarchived_at"],
        "question_closed_at": row["question_closed_at"], "question_closed_by": row["question_closed_by"],
        "reasons": json.loads(row["reasons"] or "[]"),
        "registrant": {k: registrant[k] for k in ("id", "address", "status", "audience")} if registrant else None,
        "outbox": replies,
    }


# A mail that waits for a coordinator: a question, a registration that also asks, an unsure registration
# on behalf of others, a late registration that may be for the next event.
NEEDS_COORDINATOR = f"(intent = '{Intent.QUESTION.value}' or asks = 1 or review = 1 or attention is not null)"


def open_questions(db: sqlite_utils.Database) -> list[dict]:
    """Questions, and mails flagged for a coordinator's attention (a late registration that may be
    for the next event), not yet closed; not those answered before this database knew them."""
    return list(db.query(
        f"""select id, mailbox, sender, subject, audience, processed_at, attention from messages
           where {NEEDS_COORDINATOR} and state = ?
           and question_closed_at is null and answered_before is null order by id""",
        [MessageState.PROCESSED]
    ))


def close_question(db: sqlite_utils.Database, ref: str, by: str) -> tuple[dict, bool]:
    """Close a question by hand (`mailflow questions --close`): (its row, True), or (its row with
    when and by whom, False) when it was closed already. Its \\Flagged goes at the next look at the
    server (`flags_to_clear`)."""
    row = find_message(db, ref)
    if row["intent"] != Intent.QUESTION and not row.get("asks") and not row.get("review") and not row["attention"]:
        raise MailflowError(f"message {row['id']} is not a question (intent: {row['intent']})")
    with database.transaction(db):
        closed = db.execute("update messages set question_closed_at = ?, question_closed_by = ? "
                            "where id = ? and question_closed_at is null", [now(db), by, row["id"]]).rowcount
    row = find_message(db, str(row["id"]))
    if closed:
        log.info("message=%s message_id=%s question closed by %s", row["id"], row["message_id"], by)
    return row, bool(closed)


def close_answered(db: sqlite_utils.Database, message_ids: list[str], recipients: list[str], by: str,
                   at: str) -> list[dict]:
    """Close the open questions among `message_ids` whose sender is among `recipients` (a coordinator
    answered them from their own mail client; a forward to someone else answers nothing), and any mail
    among them not yet read, in case it is one (its sender read from its header, as the database does
    not know it yet); returns the rows closed."""
    found = db.query(
        f"""select id, message_id, mailbox, sender, state, raw from messages
            where message_id in (select value from json_each(?)) and question_closed_at is null
            and answered_before is null and (state = ? or (state = ? and {NEEDS_COORDINATOR}))""",
        [json.dumps(sorted(set(message_ids))), MessageState.RECORDED, MessageState.PROCESSED])
    rows = [{key: row[key] for key in ("id", "message_id", "mailbox")} for row in found
            if _sender(row) is None or _sender(row) in recipients]
    db.execute("update messages set question_closed_at = ?, question_closed_by = ? "
               "where id in (select value from json_each(?))", [at, by, json.dumps([r["id"] for r in rows])])
    return rows


def _sender(row: dict) -> str | None:
    """A message's sender in lower case; for one not read yet, from its From (None when it has none)."""
    if row["state"] != MessageState.RECORDED:
        return row["sender"].lower() if row["sender"] else None
    try:
        return parse_message(row["raw"]).sender if row["raw"] else ""
    except MessageError:   # quarantined when it is read: nobody answered it
        return ""


def flags_to_clear(db: sqlite_utils.Database, mailbox: str, uidvalidity: int) -> list[dict]:
    """Closed questions of `mailbox` whose \\Flagged (set when mailflow marked them) is still on the server."""
    return list(db.query(
        "select id, uid from messages where mailbox = ? and uidvalidity = ? and marked_on_server = 1 "
        "and question_closed_at is not null and flag_cleared_at is null order by uid", [mailbox, uidvalidity]))


def flags_cleared(db: sqlite_utils.Database, ids: list[int]) -> None:
    with database.transaction(db):
        db.execute("update messages set flag_cleared_at = ? where id in (select value from json_each(?))",
                   [now(db), json.dumps(ids)])


@dataclass(frozen=True)
class ReplayChange:
    id: int
    sender: str | None
    subject: str | None
    before: dict
    after: dict

    def as_dict(self) -> dict:
        return {"id": self.id, "sender": self.sender, "subject": self.subject,
                "before": self.before, "after": self.after}


def _was_registered(db: sqlite_utils.Database, answered: int | None, address: str) -> bool:
    """What the worker found when it asked (messages.sender_was_registered), else the registrants now."""
    return bool(answered) if answered is not None else registrants.is_registered(db, address)


def replay(db: sqlite_utils.Database, rules: Rules, last: int | None = None) -> tuple[int, list[ReplayChange]]:
    """Classify recorded mail again with `rules`; return (messages looked at, what would change)."""
    # Mails whose raw text was purged after the event cannot be classified again.
    sql = "select * from messages where state in (?, ?) and raw is not null order by id desc"
    done = [MessageState.PROCESSED, MessageState.QUARANTINED]
    rows = list(db.query(sql + (f" limit {int(last)}" if last else ""), done))
    ours = {r["message_id"]: r["kind"] for r in db.query("select message_id, kind from outbox")}
    # As the worker reads them: the threads of `mailflow invite`'s invitations, the access mail's calendar UIDs.
    invited = {r["message_id"]
               for r in db.query("select o.message_id from invites i join outbox o on o.id = i.outbox_id")}
    withdrawals = outbox.withdrawal_ids(ours)   # our cancellations' confirmations: "register me again" in reply
    changes: list[ReplayChange] = []
    for row in reversed(rows):
        before = {
            "audience": row["audience"], "intent": row["intent"],
            # A reply held back by the per-sender limit was still the classifier's "yes".
            "reply": bool(row["answer"] or row["reply_limited"]),
        }
        try:
            message = parse_message(row["raw"], rules.limits)
            uid = message.calendar_reply.uid if message.calendar_reply else ""
            verdict = classify(message, row["mailbox"], rules, set(ours), invitation_ids=invited,
                               calendar_uids={uid} if invitations.invited_event(db, uid, message.sender) else (),
                               withdrawal_ids=withdrawals,
                               is_registered=functools.partial(_was_registered, db, row["sender_was_registered"]))
            after = {"audience": verdict.audience, "intent": verdict.intent, "reply": verdict.answer}
        except MessageError as exc:
            after = {"audience": None, "intent": None, "reply": False, "quarantined": str(exc)}
        if row["state"] == MessageState.QUARANTINED:
            before = {"audience": None, "intent": None, "reply": False, "quarantined": row["error"]}
        if after != before:
            changes.append(ReplayChange(row["id"], row["sender"], row["subject"], before, after))
    return len(rows), changes
