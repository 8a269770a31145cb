"""The coordinators' inboxes as a mail client sees them: what aiosmtpd takes for a coordinator's address
is handed to their Dovecot inbox (before its 250), where the test reads it back over IMAP and the next
pass of mailflow, which watches that inbox, finds it."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

from .rules import MAILBOX_USERS

COORDINATORS = {"international@cc-events.example": MAILBOX_USERS["international"],
                "german@cc-events.example": MAILBOX_USERS["german"]}


def deliver_to_coordinators(dovecot, *smtp_servers) -> None:
    """Each of `smtp_servers` hands what it takes for a coordinator's address to their Dovecot inbox."""
    for smtp in smtp_servers:
        smtp.on_accept = lambda mail: [dovecot.append(COORDINATORS[r], mail.data) for r in mail.rcpt_tos
                                       if r in COORDINATORS]


def mailflow_mail_in(dovecot, user: str, role: str) -> list[EmailMessage]:
    """The mails in `user`'s Dovecot inbox (read over IMAP) that mailflow sent as `role` (X-Mailflow)."""
    found = [email.message_from_bytes(raw, policy=email.policy.default) for raw in dovecot.messages(user)]
    return [m for m in found if (m["X-Mailflow"] or "").split()[:1] == [role]]
