"""health.py on a real SQLite file: outcomes recorded, problems found with their start and cause, the heartbeat."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mailflow import health, outbox
from mailflow.database import open_database
from mailflow.health import IMAP, SMTP, Problem, ProblemKind
from tests.support.clock import SettableClock

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
