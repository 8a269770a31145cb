"""Event timing on a real Dovecot: the IMAP INTERNALDATE, not the sender's Date header, decides."""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from mailflow import runner
from mailflow.database import open_database
from mailflow.rules import load_rules
from tests.support.mail import make_mail
from tests.support.rules import rules_data, write_rules
from tests.support.servers import INTL_USER

SHIPPED_DATE = b"Date: Mon, 14 Sep 2020 10:00:00 +0200"   # make_mail's Date header


def with_date(raw: bytes, moment: datetime) -> bytes:
    assert SHIPPED_DATE in raw
    return raw.replace(SHIPPED_DATE, b"Date: " + email.utils.format_datetime(moment).encode())


def test_internaldate_decides_not_the_date_header(servers, tmp_path):
    """Registration closed a day ago (the event is a month ahead). A mail whose Date header says it was
    written before that, but that reached the mailbox now, is late; one whose Date header says now, but
    that the server received three days ago (APPEND with that internal date), is in time."""
    dovecot, smtp = servers
    now = datetime.now(UTC).replace(microsecond=0)
    events = rules_data()["events"]
    closes = (now - timedelta(days=1)).astimezone(ZoneInfo("Europe/Berlin"))
    events[0]["registration"] = {"closes": closes.strftime("%Y-%m-%dT%H:%M")}
    rules_path = write_rules(tmp_path, dovecot, smtp, events=events)

    early = now - timedelta(days=3)
    dovecot.append(INTL_USER, with_date(make_mail(sender="late@tbilisi.gov.ge", message_id="<late@tbilisi.gov.ge>"),
                                        now - timedelta(days=2)))                   # internal date: now
    dovecot.append(INTL_USER, with_date(make_mail(sender="early@tbilisi.gov.ge", message_id="<early@tbilisi.gov.ge>"),
                                        now), msg_time=early)
    report = runner.run_once(load_rules(rules_path))
    assert (report.processed, report.sent, report.errors) == (2, 2, [])

    subjects = {m.rcpt_tos[0]: m.message["Subject"] for m in smtp.wait_for(2)}
    assert subjects["late@tbilisi.gov.ge"].startswith("Registration closed:")
    assert subjects["early@tbilisi.gov.ge"].startswith("Your registration:")
    db = open_database(tmp_path / "mailflow.db")
    assert [r["address"] for r in db["registrants"].rows] == ["early@tbilisi.gov.ge"]
    arrived = dict(db.execute("select sender, arrived_at from messages").fetchall())
    assert arrived["early@tbilisi.gov.ge"] == early.isoformat()            # the server's INTERNALDATE, stored
