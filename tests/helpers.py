"""Small builders shared by the tests."""

from __future__ import annotations

import yaml
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


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


def write_demo_rules(folder: Path) -> Path:
    """The shipped rules.yaml with the database in folder/out and the shipped templates."""
    data = yaml.safe_load((REPO / "rules.yaml").read_text())
    data["database"] = "out/mailflow-demo.db"
    data["templates"] = str(REPO / "templates")
    path = folder / "rules.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path
