"""The daily digest on real servers: sent through aiosmtpd, which delivers it into the coordinator's
Dovecot inbox, read back from there; mailflow then finds it in the inbox it watches and answers
nothing; and `mailflow run` killed around it sends it once."""

from __future__ import annotations

import email
import re
import signal
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from mailflow import history
from mailflow.rules import load_rules
from mailflow.runner import close_connections, server_worker
from tests.integration.test_daemon import daemon, wait_until
from tests.support import REPO
from tests.support.clock import SettableClock
from tests.support.inboxes import deliver_to_coordinators, mailflow_mail_in
from tests.support.mail import make_mail
from tests.support.rules import MAILBOX_USERS, write_rules
from tests.support.servers import INTL_USER

DSN = (REPO / "samples/maildir/international/new/1600762446.M6P1.demo").read_bytes()


def morning_zone(moment: datetime) -> ZoneInfo:
    """A fixed-offset zone where `moment` is between 08:00 and 11:59: a digest time two hours
    later is still the same local day, whenever the test runs."""
    for offset in range(-12, 15):
        zone = ZoneInfo("UTC" if offset == 0 else f"Etc/GMT{-offset:+d}")
        if 8 <= moment.astimezone(zone).hour < 12:
            return zone
    raise AssertionError("every hour has a zone")


def digest_rules(tmp_path: Path, dovecot, smtp, at: str, zone: ZoneInfo, **overrides) -> Path:
    path = write_rules(tmp_path, dovecot, smtp, **overrides,
                       mailbox={"digest": {"time": at, "timezone": str(zone), "enabled": True}})
    data = yaml.safe_load(path.read_text())
    data["mailboxes"]["german"]["language"] = "de"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


def digests_in(dovecot, user: str) -> list[email.message.EmailMessage]:
    return mailflow_mail_in(dovecot, user, "digest")


def test_digest_goes_through_smtp_into_dovecot_and_is_not_answered_there(servers, tmp_path):
    dovecot, smtp = servers
    deliver_to_coordinators(dovecot, smtp)
    clock = SettableClock(datetime.now(UTC))
    zone = morning_zone(clock())
    due = (clock().astimezone(zone) + timedelta(hours=2)).strftime("%H:%M")
    rules_path = digest_rules(tmp_path, dovecot, smtp, due, zone)
    worker = server_worker(load_rules(rules_path))
    worker.clock = clock
    try:
        # A reply the server refuses for good, a registration, a question, then a bounce for the registrant.
        smtp.fail_next(1, 550)
        dovecot.append(INTL_USER, make_mail(sender="Gone <gone@nowhere.example>"))
        assert worker.run_once().failed == 1
        dovecot.append(INTL_USER, make_mail(sender="Nino Beridze <nino@tbilisi.gov.ge>"))
        dovecot.append(INTL_USER, make_mail(sender="Giorgi <g.k@mrdi.gov.ge>", subject="Recording?",
                                            body="Dear colleagues,\n\nwill the event be recorded?\n\nGiorgi"))
        worker.run_once()
        dovecot.append(INTL_USER, DSN.replace(b"m.petrovic@podgorica.me", b"nino@tbilisi.gov.ge"))
        report = worker.run_once()
        assert report.digests == 0 and digests_in(dovecot, INTL_USER) == []     # not due yet

        clock.advance(hours=2)
        report = worker.run_once()
        assert report.digests == 1                       # the german mailbox had nothing to say: no digest
        (digest,) = digests_in(dovecot, INTL_USER)
        assert digests_in(dovecot, MAILBOX_USERS["german"]) == []
        assert digest["From"].addresses[0].addr_spec == digest["To"].addresses[0].addr_spec == \
            "international@cc-events.example"
        text = digest.get_content().replace("\r\n", "\n")
        headings = ["NEW REGISTRANTS (2)", "OPEN QUESTIONS (1)", "WAITING FOR YOU (1)", "BOUNCES AND FAILED SENDS",
                    "SCHEDULED"]
        assert [text.index(h) for h in headings] == sorted(text.index(h) for h in headings), text
        assert "Gone <gone@nowhere.example>, nowhere.example; international" in text   # registered, reply refused
        assert "Nino Beridze <nino@tbilisi.gov.ge>, tbilisi.gov.ge, Georgia; international" in text
        assert re.search(r' g\.k@mrdi\.gov\.ge: "Recording\?", waiting (1 hour|2 hours)\n', text), text
        assert "  - nino@tbilisi.gov.ge bounced " in text and ": Undelivered Mail Returned to Sender" in text
        assert "to gone@nowhere.example (\"Your registration: " in text and \
            "failed: SMTP answered 550 5.7.1 Rejected (injected by test)" in text

        # The next pass reads the digest in the inbox mailflow watches: recognised, never answered.
        smtp.clear()
        clock.advance(minutes=5)
        report = worker.run_once()
        assert (report.recorded, report.processed, report.sent, report.errors) == (1, 1, 0, [])
        row = worker.db.execute("select intent, answer, reasons from messages order by id desc limit 1").fetchone()
        assert row[:2] == ("bulk", 0) and "X-Mailflow: digest" in row[2]
        assert [q["sender"] for q in history.open_questions(worker.db)] == ["g.k@mrdi.gov.ge"]
        assert b"\\Flagged" not in dovecot.flags(INTL_USER)[max(dovecot.flags(INTL_USER))]
    finally:
        close_connections(worker)


def test_late_the_same_day_and_not_again_after_a_restart_on_real_servers(servers, tmp_path):
    dovecot, smtp = servers
    deliver_to_coordinators(dovecot, smtp)
    clock = SettableClock(datetime.now(UTC))
    zone = morning_zone(clock())
    missed = (clock().astimezone(zone) - timedelta(hours=3)).strftime("%H:%M")   # nobody ran at that time
    rules_path = digest_rules(tmp_path, dovecot, smtp, missed, zone)
    dovecot.append(INTL_USER, make_mail(sender="Giorgi <g.k@mrdi.gov.ge>", subject="Recording?",
                                        body="Dear colleagues,\n\nwill the event be recorded?\n\nGiorgi"))
    for minutes in (0, 5):   # the first start, three hours late; then a restart: a new worker and connections
        worker = server_worker(load_rules(rules_path))
        worker.clock = lambda minutes=minutes: clock() + timedelta(minutes=minutes)
        try:
            worker.run_once()
        finally:
            close_connections(worker)
    (digest,) = digests_in(dovecot, INTL_USER)
    assert "OPEN QUESTIONS (1)" in digest.get_content()
    assert digests_in(dovecot, MAILBOX_USERS["german"]) == []     # nothing to say: no mail
    assert [m.rcpt_tos for m in smtp.messages if m.message["X-Mailflow"].split()[0] == "digest"] == \
        [["international@cc-events.example"]]


def count_passes(log: Path) -> int:
    return log.read_text().count("pass done") if log.exists() else 0


def test_a_killed_daemon_sends_each_days_digest_once(servers, tmp_path):
    dovecot, smtp = servers
    deliver_to_coordinators(dovecot, smtp)
    now = datetime.now(UTC)
    zone = morning_zone(now)
    due = (now.astimezone(zone) - timedelta(minutes=1)).strftime("%H:%M")          # due at the first pass
    rules_path = digest_rules(tmp_path, dovecot, smtp, due, zone, poll_interval=1)
    db = tmp_path / "mailflow.db"
    dovecot.append(INTL_USER, make_mail(sender="Nino Beridze <nino@tbilisi.gov.ge>"))
    # An open question is news at every pass: only the day's row keeps a second digest from going out.
    dovecot.append(INTL_USER, make_mail(sender="Giorgi <g.k@mrdi.gov.ge>", subject="Recording?",
                                        body="Dear colleagues,\n\nwill the event be recorded?\n\nGiorgi"))

    # Killed while the digest waits in the outbox (the SMTP server is down) ...
    smtp.stop()
    with daemon(rules_path, tmp_path / "log1") as process:
        assert wait_until(lambda: count_passes(tmp_path / "log1") >= 2)
        queued = sqlite3.connect(db).execute("select state from outbox where kind like 'digest:%'").fetchall()
        assert queued == [("queued",)]
        process.send_signal(signal.SIGKILL)
        process.wait()
    smtp.start()
    # ... then killed right after it went out ...
    with daemon(rules_path, tmp_path / "log2") as process:
        assert wait_until(lambda: len(digests_in(dovecot, INTL_USER)) == 1, timeout=30)
        process.send_signal(signal.SIGKILL)
        process.wait()
    # ... and started again: that day's digest is never sent twice.
    with daemon(rules_path, tmp_path / "log3"):
        assert wait_until(lambda: count_passes(tmp_path / "log3") >= 3, timeout=30)
    assert len(digests_in(dovecot, INTL_USER)) == 1
    assert [m.rcpt_tos for m in smtp.messages if b"X-Mailflow: digest" in m.data] == \
        [["international@cc-events.example"]]
    rows = sqlite3.connect(db).execute("select mailbox, message_id is not null from digests").fetchall()
    assert sorted(rows) == [("german", 0), ("international", 1)]
