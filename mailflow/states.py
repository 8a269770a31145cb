"""The words mailflow stores in its state, status and intent columns, as types.

Each is a `StrEnum`: a member is the plain string the database has always held, so
it is stored, compared with a row's value, formatted and written to JSON unchanged,
and a type checker sees a misspelt state. No import of mailflow's own modules: every
module may use these.
"""

from __future__ import annotations

from enum import StrEnum


class MessageState(StrEnum):
    """messages.state: committed at intake (`recorded`), then `processed` or `quarantined`, or
    `archived` (arrived before answer_mail_since: classified, no effect, until `archive answer`)."""

    RECORDED = "recorded"
    PROCESSED = "processed"
    QUARANTINED = "quarantined"
    ARCHIVED = "archived"


class OutboxState(StrEnum):
    """outbox.state: queued -> sending -> sent, or failed (refused for good), or cancelled
    (by a coordinator, a bounce or expiry); uncertain: interrupted while the SMTP server
    had it, with no copy in Sent to tell, so a coordinator decides."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"
    UNCERTAIN = "uncertain"


class RegistrantStatus(StrEnum):
    """registrants.status. `pending` and `approved` are used when access needs a coordinator's
    approval; `bounced` keeps the status to return to in `status_before_bounce`."""

    REGISTERED = "registered"
    CANCELLED = "cancelled"
    BOUNCED = "bounced"
    APPROVED = "approved"
    PENDING = "pending"


# The statuses that get mail: releases, reminders, and a bounce stops them.
ACTIVE_STATUSES = (RegistrantStatus.REGISTERED, RegistrantStatus.PENDING, RegistrantStatus.APPROVED)


class Intent(StrEnum):
    """What a mail wants (messages.intent, and the keys of rules.yaml's `replies`)."""

    INTEREST = "interest"
    QUESTION = "question"
    CANCELLATION = "cancellation"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"
    BULK = "bulk"
    OTHER = "other"


# Mail written by a machine: never answered, and rules.yaml cannot name a template for it.
AUTOMATIC_INTENTS = frozenset({Intent.AUTO_REPLY, Intent.BOUNCE, Intent.BULK})
ANSWERABLE_INTENTS = tuple(intent for intent in Intent if intent not in AUTOMATIC_INTENTS)
