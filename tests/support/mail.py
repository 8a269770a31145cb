"""One test mail, built with the standard library: an interest mail from Tbilisi unless told otherwise."""

from __future__ import annotations

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
