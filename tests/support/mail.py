"""One test mail, built with the standard library: an interest mail from Tbilisi unless told otherwise."""

from __future__ import annotations

import textwrap
from email.message import EmailMessage
from email.utils import make_msgid


def make_mail(
    *,
    sender: str = "Nino Beridze <nino@tbilisi.gov.ge>",
    to: str = "international@cc-events.example",
    subject: str = "Participation in the online event",
    body: str = "Dear Mr. Samkharadze,\n\nI would like to participate in the online event.\n\nBest regards,\nNino",
    headers: dict[str, str] | None = None,
    message_id: str | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = "Mon, 14 Sep 2020 10:00:00 +0200"
    msg["Message-ID"] = message_id or make_msgid(domain="sender.example")
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return msg.as_bytes()


def calendar_answer(attendee: str, uid: str, partstat: str, *, note: str = "",
                    subject: str = "", to: str = "international@cc-events.example") -> bytes:
    """What Outlook sends when someone clicks Yes or No on an invitation: the typed note and a
    text/calendar REPLY with the invitation's UID and the attendee's PARTSTAT."""
    from datetime import UTC, datetime

    import icalendar

    reply = icalendar.Calendar()
    reply.add("method", "REPLY")
    reply.add("prodid", "Microsoft Exchange Server 2010")
    reply.add("version", "2.0")
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstart", datetime(2020, 10, 7, 11, 0, tzinfo=UTC))
    event.add("attendee", f"mailto:{attendee}", parameters={"PARTSTAT": partstat, "CN": "Expert"})
    reply.add_component(event)
    mail = EmailMessage()
    mail["From"] = f"Expert <{attendee}>"
    mail["To"] = to
    mail["Subject"] = subject or f"{partstat.title()}: Digitalisation of Municipal Services"
    mail["Message-ID"] = f"<{partstat.lower()}-{uid.partition('@')[0]}@{attendee.partition('@')[2]}>"
    mail.set_content(note or "\n")
    mail.add_alternative(reply.to_ical().decode(), subtype="calendar", params={"method": "REPLY"})
    return mail.as_bytes()


def as_sent(body: str) -> str:
    """`body` as a mail client sends it: wrapped at 40 columns under a greeting, signed, with a legal
    footer and the coordinator's invitation quoted below (its "register" and "cancel" must not count)."""
    return ("Dear Mr. Samkharadze,\n\n" + textwrap.fill(body, 40) + "\n\nBest regards,\nNino Beridze\n"
            "Tbilisi City Hall\n+995 32 2 00 00\n\nThis e-mail is confidential and intended solely for the "
            "addressee.\n\nOn Mon, 14 Sep 2020 at 10:21, Irakli Samkharadze <\ninternational@cc-events.example> "
            "wrote:\n> Please register by mail; you can cancel at any time.\n> Any questions?\n")
