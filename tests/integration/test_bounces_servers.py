"""A registration whose confirmation bounces, against a real Dovecot and a real aiosmtpd server.

The bounce is a Postfix delivery report delivered into the international Dovecot INBOX; the
agenda and access mails are still queued (the recipient's server deferred them) when it arrives.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from click.testing import CliRunner

from mailflow import runner
from mailflow.cli import main
from mailflow.database import open_database
from mailflow.rules import load_rules
from tests.support import REPO
from tests.support.mail import make_mail
from tests.support.rules import rules_data, write_rules
from tests.support.servers import INTL_USER

GONE = "gone@city.gov.ge"
DSN = (REPO / "samples/maildir/international/new/1600762446.M6P1.demo").read_bytes()


def rules_with_releases(tmp_path, dovecot, smtp):
    (tmp_path / "agenda.md").write_text("13:00 Welcome\n")
    events = rules_data()["events"]          # a month ahead: the registration is in time
    events[0]["releases"] = {"agenda": {"released": True, "text": str(tmp_path / "agenda.md")},
                             "access": {"released": True, "link": "https://meet.example/x"}}
    return write_rules(tmp_path, dovecot, smtp, events=events, bounce_grace_minutes=10)


def outbox(db, state: str | None = None) -> list[tuple[str, str]]:
    rows = db.execute("select kind, state from outbox where recipient = ? order by id", [GONE]).fetchall()
    return [(kind, row_state) for kind, row_state in rows if state in (None, row_state)]


def test_a_bounced_confirmation_cancels_the_queued_mail_and_a_new_mail_makes_them_active_again(servers, tmp_path):
    dovecot, smtp = servers
    rules_path = rules_with_releases(tmp_path, dovecot, smtp)
    db = open_database(tmp_path / "mailflow.db")

    dovecot.append(INTL_USER, make_mail(sender=f"Gone <{GONE}>", message_id="<register@city.gov.ge>"))
    report = runner.run_once(load_rules(rules_path))
    assert (report.processed, report.sent, report.errors) == (1, 1, [])
    (ack,) = smtp.wait_for(1)
    assert ack.rcpt_tos == [GONE] and ack.message["Subject"].startswith("Your registration")
    assert outbox(db) == [("reply:interest", "sent")]         # agenda and access wait: a new address

    # Later: the confirmation has been out for longer than the grace (no bounce yet), so agenda and
    # access are queued; the recipient's server defers them.
    sent_at = db.execute("select sent_at from outbox where recipient = ?", [GONE]).fetchone()[0]
    earlier = (datetime.fromisoformat(sent_at) - timedelta(minutes=11)).isoformat(timespec="seconds")
    db.execute("update outbox set sent_at = ? where recipient = ?", [earlier, GONE])
    smtp.clear()
    smtp.fail_next(2, 451, stage="RCPT")
    report = runner.run_once(load_rules(rules_path))
    assert (report.announced, report.sent) == (2, 0)
    assert outbox(db, "queued") == [("release:agenda:v1", "queued"), ("release:access:v1", "queued")]

    # Then the bounce of the confirmation arrives.
    smtp.clear()
    bounce = (DSN.replace(b"m.petrovic@podgorica.me", GONE.encode())
              .replace(b"20200922081405.7A3F1C0AB2@mail.cc-events.example", b"bounce1@mail.example"))
    dovecot.append(INTL_USER, bounce)
    report = runner.run_once(load_rules(rules_path))
    assert (report.processed, report.sent, report.errors) == (1, 0, [])
    assert db.execute("select intent from messages order by id desc").fetchone()[0] == "bounce"
    assert db.execute("select status from registrants where address = ?", [GONE]).fetchone()[0] == "bounced"
    assert outbox(db, "cancelled") == [("release:agenda:v1", "cancelled"), ("release:access:v1", "cancelled")]
    listing = CliRunner().invoke(main, ["--rules", str(rules_path), "outbox"])
    assert listing.output.count(f"not sent: {GONE} bounced") == 2, listing.output
    status = CliRunner().invoke(main, ["--rules", str(rules_path), "status"])
    assert f"undeliverable: {GONE}" in status.output, status.output
    assert smtp.messages == []

    # They write again from that address (a colleague fixed their mailbox): active again.
    dovecot.append(INTL_USER, make_mail(sender=f"Gone <{GONE}>", message_id="<again@city.gov.ge>",
                                        subject="Recording", body="Will the presentations be recorded?"))
    report = runner.run_once(load_rules(rules_path))
    assert (report.processed, report.errors) == (1, [])
    assert db.execute("select status from registrants where address = ?", [GONE]).fetchone()[0] == "registered"
    status = CliRunner().invoke(main, ["--rules", str(rules_path), "status"])
    assert "undeliverable" not in status.output


def test_a_delay_warning_leaves_the_registrant_active_and_the_queued_mail_goes_out(servers, tmp_path):
    """Postfix warns after four hours that it still retries (greylisting, a slow server): the address is
    not dead, and agenda and access must still reach it."""
    dovecot, smtp = servers
    rules_path = rules_with_releases(tmp_path, dovecot, smtp)
    db = open_database(tmp_path / "mailflow.db")
    dovecot.append(INTL_USER, make_mail(sender=f"Slow <{GONE}>", message_id="<register@city.gov.ge>"))
    assert runner.run_once(load_rules(rules_path)).sent == 1
    earlier = (datetime.fromisoformat(db.execute("select sent_at from outbox").fetchone()[0])
               - timedelta(minutes=11)).isoformat(timespec="seconds")
    db.execute("update outbox set sent_at = ?", [earlier])
    smtp.clear()
    smtp.fail_next(2, 451, stage="RCPT")
    assert runner.run_once(load_rules(rules_path)).announced == 2
    assert outbox(db, "queued") == [("release:agenda:v1", "queued"), ("release:access:v1", "queued")]

    warning = (DSN.replace(b"m.petrovic@podgorica.me", GONE.encode())
               .replace(b"20200922081405.7A3F1C0AB2@mail.cc-events.example", b"delay1@mail.example")
               .replace(b"Subject: Undelivered Mail Returned to Sender", b"Subject: Delayed Mail (still being retried)")
               .replace(b"Action: failed\nStatus: 5.1.1", b"Action: delayed\nStatus: 4.4.1"))
    assert b"Action: delayed" in warning
    smtp.clear()
    dovecot.append(INTL_USER, warning)
    db.execute("update outbox set next_attempt_at = null")     # the retry is due
    report = runner.run_once(load_rules(rules_path))
    assert (report.processed, report.errors) == (1, [])
    assert db.execute("select intent from messages order by id desc").fetchone()[0] == "auto_reply"
    assert db.execute("select status from registrants where address = ?", [GONE]).fetchone()[0] == "registered"
    assert outbox(db) == [("reply:interest", "sent"), ("release:agenda:v1", "sent"), ("release:access:v1", "sent")]
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == [GONE, GONE]
    status = CliRunner().invoke(main, ["--rules", str(rules_path), "status"])
    assert "undeliverable" not in status.output, status.output
