"""Small builders shared by the tests."""

from __future__ import annotations

import yaml
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from mailflow.rules import Rules, parse_rules

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


def shipped_rules_data(ahead: bool = True) -> dict:
    """The shipped rules.yaml as data. Its event (7 October 2020) is over; with `ahead` (tests that
    are not about dates) it is moved to a month from today, same times of day; tests about dates
    keep it and pin the clock."""
    data = yaml.safe_load((REPO / "rules.yaml").read_text())
    if ahead:
        for event in data["events"]:
            start, end = datetime.fromisoformat(str(event["start"])), datetime.fromisoformat(str(event["end"]))
            shift = timedelta(days=(date.today() + timedelta(days=30) - start.date()).days)
            event["start"], event["end"] = (start + shift).isoformat(), (end + shift).isoformat()
    return data


def upcoming_rules(**settings) -> Rules:
    """The shipped rules with the event a month ahead (and `settings` changed), paths as shipped."""
    data = {**shipped_rules_data(), **settings}
    return parse_rules(yaml.safe_dump(data, allow_unicode=True), REPO / "rules.yaml")


def write_demo_rules(folder: Path) -> Path:
    """The shipped rules.yaml, its event a month ahead, with the database in folder/out and the
    shipped templates."""
    data = shipped_rules_data()
    data["database"] = "out/mailflow-demo.db"
    data["templates"] = str(REPO / "templates")
    path = folder / "rules.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path
