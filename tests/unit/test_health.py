"""health.py on a real SQLite file: outcomes recorded, problems found with their start and cause, the heartbeat."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import yaml
from imapclient.exceptions import LoginError

from mailflow import alarm, health, outbox
from mailflow.database import open_database
from mailflow.errors import RulesError, connection_failed, login_refused
from mailflow.health import IMAP, SMTP, Problem, ProblemKind
from mailflow.rules import parse_rules
from tests.support import REPO
from tests.support.clock import SettableClock
from tests.support.rules import rules_data, upcoming_rules

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_problems_name_the_start_and_the_cause_and_clear_when_it_works(tmp_path):
    clock = SettableClock(START)
    db = open_database(tmp_path / "m.db", clock=clock)
    health.record_ok(db, "international", IMAP)
    health.record_ok(db, "german", IMAP)
    clock.advance(minutes=10)
    health.record_failure(db, "international", IMAP, "mailbox international: server unreachable 10.0.0.1:993")
    health.record_failure(db, "german", SMTP, "mailbox german: SMTP login refused by smtp.example.org")
    clock.advance(minutes=5)
    health.record_failure(db, "german", SMTP, "mailbox german: SMTP login refused by smtp.example.org (again)")
    outbox.enqueue(db, raw=b"x", message_id="<1@x>", kind="reply:interest", mailbox="german",
                   recipient="a@b.de", subject="s")
    db.execute("update outbox set error = 'SMTP login refused' where message_id = '<1@x>'")
    health.record_ok(db, "german", IMAP)

    assert health.problems(db, ["international", "german"], clock()) == [
        Problem("german", ProblemKind.SEND_REFUSED, START + timedelta(minutes=10),
                "mailbox german: SMTP login refused by smtp.example.org (again)"),
    ]
    clock.advance(minutes=50)   # international last read 9:00, german's reply queued 9:15
    assert health.problems(db, ["international", "german"], clock()) == [
        Problem("international", ProblemKind.NOT_READ, START, "mailbox international: server unreachable 10.0.0.1:993"),
        Problem("german", ProblemKind.SEND_REFUSED, START + timedelta(minutes=10),
                "mailbox german: SMTP login refused by smtp.example.org (again)"),
    ]
    clock.advance(minutes=20)
    found = health.problems(db, ["international", "german"], clock())
    assert found[-1] == Problem("german", ProblemKind.NOT_SENT, START + timedelta(minutes=15),
                                "1 mails due and not sent: SMTP login refused")
    assert [p.kind for p in found] == [ProblemKind.NOT_READ, ProblemKind.NOT_READ, ProblemKind.SEND_REFUSED,
                                       ProblemKind.NOT_SENT]
    assert found[1].cause == "not read since then (is mailflow running?)"
    health.record_ok(db, "international", IMAP)
    health.record_ok(db, "german", IMAP)
    health.record_ok(db, "german", SMTP)
    db.execute("update outbox set state = 'sent'")
    assert health.problems(db, ["international", "german"], clock()) == []
    assert health.failing(db) == {}


def test_liveness_says_since_when_the_daemon_is_not_running(tmp_path):
    clock = SettableClock(START)
    db = open_database(tmp_path / "m.db", clock=clock)
    assert health.liveness(db, clock())["running"] is None
    health.started(db, pid=42, poll_interval=60)
    clock.advance(seconds=100)
    assert health.liveness(db, clock()) == {"running": True, "since": "2026-11-02T09:00:00+00:00", "pid": 42}
    health.beat(db, 60)
    clock.advance(seconds=121)
    assert health.liveness(db, clock()) == {"running": False, "since": "2026-11-02T09:01:40+00:00", "pid": 42}
    health.beat(db, 60)
    assert health.liveness(db, clock())["running"] is True
    health.stopped(db)
    assert health.liveness(db, clock()) == {"running": False, "since": "2026-11-02T09:03:41+00:00", "pid": 42}


def test_a_killed_daemon_is_not_running_though_its_last_beat_is_recent(tmp_path):
    """SIGKILLed (or killed for memory), it beat a minute ago: status said "running" and "idle" for up to two
    poll intervals (an hour with IDLE and poll_interval 1800) while nothing was answered. Its lock on the
    database went with its process."""
    import os

    from mailflow.runner import hold_daemon_lock

    clock = SettableClock(START)
    db = open_database(tmp_path / "m.db", clock=clock)
    health.started(db, pid=42, poll_interval=1800)
    clock.advance(seconds=60)
    assert health.liveness(db, clock())["running"] is True   # no lock file: the beat decides
    lock = hold_daemon_lock(tmp_path / "m.db")   # the daemon runs
    assert health.liveness(db, clock())["running"] is True
    clock.advance(hours=2)   # its pass waits on a hung IMAP server and beats late: it runs all the same
    assert health.liveness(db, clock()) == {"running": True, "since": "2026-11-02T09:00:00+00:00", "pid": 42,
                                            "quiet_since": "2026-11-02T09:00:00+00:00"}
    os.close(lock)                               # ... and is killed: the kernel drops its lock
    assert health.liveness(db, clock()) == {"running": False, "since": "2026-11-02T09:00:00+00:00", "pid": 42}


def test_a_mailbox_no_longer_in_the_rules_is_not_watched(tmp_path):
    """After a rename, the old name showed "connection idle" beside the new one, as if two watched one inbox."""
    from mailflow import status
    from mailflow.runner import hold_daemon_lock

    clock = SettableClock(START)
    db = open_database(tmp_path / "m.db", clock=clock)
    health.started(db, pid=42, poll_interval=60)
    hold_daemon_lock(tmp_path / "m.db")
    for name in ("international", "intl"):
        db["sync_state"].upsert({"mailbox": name, "folder": "INBOX", "connection": "idle"}, pk=("mailbox", "folder"))
    boxes = {b["mailbox"]: b["connection"] for b in status.status(db, ["intl"])["mailboxes"]}
    assert boxes == {"intl": "idle", "international": "not watched: not in rules.yaml"}


def test_causes_are_said_in_words():
    what = "mailbox international: SMTP"
    assert str(connection_failed(what, "smtp.x", 587, TimeoutError("timed out"))) == (
        "mailbox international: SMTP timed out waiting for smtp.x:587")
    assert str(connection_failed(what, "smtp.x", 587, ConnectionRefusedError(111, "Connection refused"))) == (
        "mailbox international: SMTP server unreachable: cannot reach smtp.x:587: Connection refused")
    assert str(login_refused("mailbox international: IMAP", "imap.x", "intl",
                             LoginError("b'[AUTHENTICATIONFAILED] Authentication  failed.'"))) == (
        "mailbox international: IMAP login refused by imap.x for intl: [AUTHENTICATIONFAILED] Authentication failed.")


def test_alarm_settings_per_mailbox_over_the_top_level_and_the_defaults():
    rules = upcoming_rules()
    assert rules.alarm_for("international") == (timedelta(hours=1), "german@cc-events.example")
    assert rules.alarm_for("german") == (timedelta(hours=1), "international@cc-events.example")
    data = rules_data(alarm={"after": "30m", "to": "Office@CC-Events.example"})
    data["mailboxes"]["german"]["alarm"] = {"after": "2h"}
    data["mailboxes"]["german"]["language"] = "de"
    rules = parse_rules(yaml.safe_dump(data), REPO / "rules.yaml")
    assert rules.alarm_for("international") == (timedelta(minutes=30), "office@cc-events.example")
    assert rules.alarm_for("german") == (timedelta(hours=2), "office@cc-events.example")
    assert rules.mailboxes["german"].language == "de" and rules.mailboxes["international"].language == "en"
    data["mailboxes"]["german"]["language"] = "German"
    data["alarm"] = {"after": "an hour"}
    with pytest.raises(RulesError) as problem:
        parse_rules(yaml.safe_dump(data), REPO / "rules.yaml")
    assert "'German' is not one of them" in str(problem.value) and "'an hour' is not a duration" in str(problem.value)


def test_an_alarm_of_a_mailbox_renamed_in_the_rules_does_not_wait_for_ever(tmp_path):
    # `intl` raised its alarm and waits for a route; then rules.yaml calls that mailbox `international`.
    clock = SettableClock(START)
    db = open_database(tmp_path / "m.db", clock=clock)
    health.record_failure(db, "intl", SMTP, "mailbox intl: server unreachable 10.0.0.1:587")
    data = rules_data()
    data["mailboxes"] = {("intl" if name == "international" else name): {**box, "audience": name}
                         for name, box in data["mailboxes"].items()}
    old = parse_rules(yaml.safe_dump(data), REPO / "rules.yaml")
    clock.advance(hours=2)
    alarm.check(db, old, clock(), can_send=[])
    assert [a["mailbox"] for a in alarm.waiting(db)] == ["intl"]
    alarm.check(db, upcoming_rules(), clock(), can_send=["international", "german"])
    assert alarm.waiting(db) == []                     # `mailflow status` no longer says it waits
    assert db.execute("select count(*) from outbox").fetchone()[0] == 0


@pytest.mark.parametrize("cause, route", [
    ("mailbox international: server unreachable: cannot reach smtp.cc-events.example:587", None),
    ("mailbox international SMTP login refused by smtp.cc-events.example for international@cc-events.example: 535",
     "german"),
    ("international SMTP: password_command exited with status 1; run it by hand to see why", "german"),
])
def test_an_smtp_alarm_does_not_go_through_the_same_dead_server(tmp_path, cause, route):
    """Both mailboxes at one provider: german's route counted as working for having had nothing to send, the
    alarm was queued on the same dead server and arrived together with the recovery mail. A refused login is the
    mailbox's own: the other's login on that server still works."""
    clock = SettableClock(START)
    db = open_database(tmp_path / "m.db", clock=clock)
    health.record_failure(db, "international", SMTP, cause)
    clock.advance(hours=2)
    alarm.check(db, upcoming_rules(), clock(), can_send=["international", "german"])
    assert [r["mailbox"] for r in db["outbox"].rows] == ([route] if route else [])
    assert [a["mailbox"] for a in alarm.waiting(db)] == ([] if route else ["international"])


def test_with_the_whole_provider_down_no_alarm_goes_through_it(tmp_path):
    """International's inbox and its SMTP server (the provider's one, german's too) are down: the IMAP alarm went
    through german on the same dead server."""
    clock = SettableClock(START)
    db = open_database(tmp_path / "m.db", clock=clock)
    for server in (IMAP, SMTP):
        health.record_failure(db, "international", server, "server unreachable: cannot reach the provider")
    clock.advance(hours=2)
    alarm.check(db, upcoming_rules(), clock(), can_send=["international", "german"])
    assert db.execute("select count(*) from outbox").fetchone()[0] == 0
    assert sorted(a["server"] for a in alarm.waiting(db)) == [IMAP, SMTP]
