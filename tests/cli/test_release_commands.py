"""`mailflow release` after the event: an explicit release is never blocked (issue 11)."""

import json
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

from click.testing import CliRunner

from mailflow import registrants, releases
from mailflow.cli import main
from mailflow.clock import stopped_at
from mailflow.database import open_for
from mailflow.rules import load_rules
from tests.support.mail import make_mail
from tests.support.maildirs import deliver, maildir_worker
from tests.support.rules import write_rules

REGISTRATION_TIME = datetime(2020, 9, 20, tzinfo=UTC)


def test_a_followup_after_the_event_goes_to_everyone_registered_with_its_own_words(tmp_path, maildirs):
    """A thank-you or the recording after the event stays possible, as an explicit release."""
    rules = load_rules(write_rules(tmp_path, ahead=False, bounce_grace_minutes=0))   # the 2020 event, over
    event = rules.events[0]
    for i in range(3):
        deliver(maildirs, make_mail(sender=f"expert{i}@city{i}.gov.ge"), f"{i:05d}", arrived=REGISTRATION_TIME)
    worker = maildir_worker(rules, maildirs, rules.database_path, clock=stopped_at(REGISTRATION_TIME))
    worker.run_once()
    registrants.cancel(worker.db, event.id, "expert1@city1.gov.ge")
    (tmp_path / "thanks.txt").write_text("The recording: https://rec.example/1\n")
    after = event.ends_at + timedelta(hours=1)
    assert releases.fan_out_all(worker.db, rules, worker.replies, after) == 0     # nothing automatic after the event
    result = CliRunner().invoke(main, ["--rules", str(tmp_path / "rules.yaml"), "release", "followup",
                                       "--text", str(tmp_path / "thanks.txt"), "--yes", "--queue-only"])
    assert result.exit_code == 0, result.output
    assert "is over" not in result.output and "queued 2 mails (followup v1)" in result.output
    rows = list(worker.db["outbox"].rows_where("kind = 'release:followup:v1'", order_by="recipient"))
    assert [r["recipient"] for r in rows] == ["expert0@city0.gov.ge", "expert2@city2.gov.ge"]
    mail = message_from_bytes(rows[0]["raw"], policy=policy.default)
    text = mail.get_content()
    assert mail["Subject"].endswith(": thank you") and "https://rec.example/1" in text
    assert "agenda" not in text.lower() and "in due course" not in text


def test_a_followup_before_the_event_says_so(tmp_path):
    """`release followup` on an event still ahead offered to send "thank you for taking part" without a word."""
    open_for(load_rules(write_rules(tmp_path))).close()   # the event a month ahead; its database, with nobody
    (tmp_path / "thanks.txt").write_text("Thank you for taking part.\n")
    result = CliRunner().invoke(main, ["--rules", str(tmp_path / "rules.yaml"), "release", "followup",
                                       "--text", str(tmp_path / "thanks.txt"), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "has not ended yet" in result.output and "send it after the event" in result.output
    as_json = CliRunner().invoke(main, ["--rules", str(tmp_path / "rules.yaml"), "release", "followup",
                                        "--text", str(tmp_path / "thanks.txt"), "--dry-run", "--json"])
    assert as_json.exit_code == 0 and json.loads(as_json.stdout)["total"] == 0, as_json.output   # (the note: stderr)


def test_a_full_disk_during_a_release_is_one_line_with_what_to_do(tmp_path, maildirs, monkeypatch):
    """It ended in a traceback (sqlite3.OperationalError: database or disk is full); what was sent is kept."""
    import sqlite3

    rules = load_rules(write_rules(tmp_path, ahead=False, bounce_grace_minutes=0))
    deliver(maildirs, make_mail(sender="expert0@city0.gov.ge"), "00000", arrived=REGISTRATION_TIME)
    maildir_worker(rules, maildirs, rules.database_path, clock=stopped_at(REGISTRATION_TIME)).run_once()
    (tmp_path / "thanks.txt").write_text("The recording: https://rec.example/1\n")

    def full(*args, **kwargs):
        error = sqlite3.OperationalError("database or disk is full")
        error.sqlite_errorcode = 13   # SQLITE_FULL, as SQLite sets it
        raise error

    monkeypatch.setattr(releases, "fan_out", full)
    result = CliRunner().invoke(main, ["--rules", str(tmp_path / "rules.yaml"), "release", "followup",
                                       "--text", str(tmp_path / "thanks.txt"), "--yes", "--queue-only"])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert f"the disk holding {tmp_path} is full: free space; what was done is kept: run the command again then" \
        in result.output


def test_an_access_link_that_opens_nothing_is_refused_before_anything_is_saved(tmp_path):
    """`release access --link zoom.us/j/845` went to every registrant as plain text."""
    rules = write_rules(tmp_path)
    result = CliRunner().invoke(main, ["--rules", str(rules), "release", "access", "--link", "zoom.us/j/845", "--yes"])
    assert result.exit_code == 2
    assert ("Invalid value for --link: the access link must be a whole https:// address, like "
            "https://meet.example.org/room, not 'zoom.us/j/845'") in result.output
    assert not (tmp_path / "mailflow.db").exists()
