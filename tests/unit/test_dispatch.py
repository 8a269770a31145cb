"""Sending the outbox without servers: claims, outcomes, the sent journal and a lost courier.

The courier child process itself is exercised against aiosmtpd in tests/integration.
"""

import fcntl
import os

import pytest

from mailflow import dispatch, outbox
from mailflow.database import open_database
from mailflow.errors import ConnectionFailed, DeliveryError

ADDRESSES = {"international": "international@cc-events.example", "german": "german@cc-events.example"}


@pytest.fixture
def db(tmp_path):
    return open_database(tmp_path / "mailflow.db")


def queue(db, n, mailbox="international"):
    for i in range(n):
        outbox.enqueue(db, raw=b"Subject: %d\r\n\r\nhi\r\n" % i, message_id=f"<{mailbox}{i}@x>", kind=f"test:{i}",
                       mailbox=mailbox, recipient=f"r{i}@example.org", subject=str(i))


def states(db):
    return [r["state"] for r in db.query("select state from outbox order by id")]


class Recording:
    def __init__(self, fail=None):
        self.sent, self.fail = [], fail or {}

    def send(self, raw, sender, recipient):
        if recipient in self.fail:
            raise self.fail[recipient]
        self.sent.append(recipient)

    def close(self):
        pass


def test_outcomes_are_recorded_per_row(db):
    queue(db, 4)
    sender = Recording({"r1@example.org": DeliveryError("550 no such user", permanent=True),
                        "r2@example.org": DeliveryError("451 try later", permanent=False)})
    counts = dispatch.drain(db, {"international": sender}, ADDRESSES)
    assert (counts["sent"], counts["failed"], counts["deferred"]) == (2, 1, 1)
    assert states(db) == ["sent", "failed", "queued", "sent"]
    retry = db.execute("select attempts, next_attempt_at, error from outbox where id = 3").fetchone()
    assert retry[0] == 1 and retry[1] is not None and "451" in retry[2]


def test_an_unreachable_server_defers_its_mailbox_without_counting_attempts(db):
    queue(db, 3)
    queue(db, 2, mailbox="german")
    down = Recording({f"r{i}@example.org": ConnectionFailed("cannot reach smtp") for i in range(3)})
    german = Recording()
    counts = dispatch.drain(db, {"international": down, "german": german}, ADDRESSES)
    assert counts["errors"] == ["cannot reach smtp"] and counts["deferred"] == 3
    assert german.sent == ["r0@example.org", "r1@example.org"]
    assert [r["attempts"] for r in db.query("select attempts from outbox where mailbox = 'international'")] == [0] * 3


def test_a_stop_request_leaves_the_rest_queued_with_their_attempts(db):
    queue(db, 5)
    sender = Recording()
    counts = dispatch.drain(db, {"international": sender}, ADDRESSES, should_stop=lambda: len(sender.sent) >= 1)
    assert counts["sent"] == len(sender.sent) >= 1
    assert states(db).count("queued") == 5 - len(sender.sent)
    assert {r["attempts"] for r in db.query("select attempts from outbox where state = 'queued'")} == {0}


def test_reconcile_trusts_the_journal_then_the_sent_folder(db, tmp_path):
    queue(db, 3)
    db.execute("update outbox set state = 'sending'")
    (tmp_path / "mailflow.db-sent").write_bytes(b"1\n")

    class Sent:
        def contains(self, message_id):
            return message_id == "<international1@x>"

    with dispatch.sending(db, {}, ADDRESSES, sent_folders={"international": Sent()}):
        pass
    assert states(db) == ["sent", "sent", "queued"]
    assert (tmp_path / "mailflow.db-sent").read_bytes() == b""   # settled, so the journal starts empty


def test_accepted_mail_is_journalled_before_its_outcome_is_committed(db, tmp_path):
    queue(db, 2)
    journal = tmp_path / "mailflow.db-sent"
    observer = open_database(tmp_path / "mailflow.db")   # sees only what was committed

    class Watching(Recording):
        seen = []

        def send(self, raw, sender, recipient):
            super().send(raw, sender, recipient)
            self.seen.append((journal.read_bytes(), states(observer)))

    sender = Watching()
    with dispatch.sending(db, {"international": sender}, ADDRESSES) as sending:
        sending.finish()
    # When the second mail went out, the first was in the journal but not yet committed as sent.
    assert sender.seen == [(b"", ["sending", "sending"]), (b"1\n", ["sending", "sending"])]
    assert states(db) == ["sent", "sent"]


def test_the_send_lock_keeps_a_second_process_out(db, tmp_path):
    with dispatch.sending(db, {}, ADDRESSES):
        fd = os.open(tmp_path / "mailflow.db-sent", os.O_RDWR)
        with pytest.raises(BlockingIOError):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.close(fd)
    fd = os.open(tmp_path / "mailflow.db-sent", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.close(fd)


class BrokenRecipe(Recording):
    """Portable, so it goes to a courier process, which cannot build it and dies."""

    def recipe(self):
        return {"endpoint": {"no such field": 1}, "credentials": {"what": "mailbox international, SMTP"}, "name": "international"}


def test_a_courier_that_dies_leaves_its_rows_queued_not_lost(db, capfd):
    queue(db, 3)
    counts = dispatch.drain(db, {"international": BrokenRecipe()}, ADDRESSES)
    assert counts["deferred"] == 3 and counts["sent"] == 0
    assert counts["errors"] == ["the sending process ended unexpectedly"]
    assert states(db) == ["queued"] * 3
    assert "TypeError" in capfd.readouterr().err


def test_under_a_rate_limit_only_about_ten_seconds_of_mail_is_claimed_ahead(db):
    from mailflow.delivery import RateLimitedSender

    slow = RateLimitedSender(Recording(), per_minute=120, sleep=lambda s: None)   # one every 0.5 s
    assert dispatch.window_rows({"international": slow, "german": Recording()}) == 20
    assert dispatch.window_rows({"international": Recording()}) == dispatch.WINDOW_ROWS
    queue(db, 50)
    with dispatch.sending(db, {"international": slow}, ADDRESSES) as sending:
        sending.pump()
        assert states(db).count("sending") == 20   # the other 30 can still be cancelled
        sending.finish()
    assert states(db) == ["sent"] * 50


def test_a_send_budget_stops_claiming_and_says_more_is_left(db, monkeypatch):
    from mailflow.delivery import RateLimitedSender

    monkeypatch.setattr(dispatch, "WINDOW_SECONDS", 0.05)             # claim 5 rows ahead at 100 a second
    sender = RateLimitedSender(Recording(), per_minute=6000)            # really sleeps 0.01 s between mails
    queue(db, 40)
    counts = dispatch.drain(db, {"international": sender}, ADDRESSES, budget=0.1)
    assert 0 < counts["sent"] < 40 and counts["more"]
    assert states(db).count("queued") == 40 - counts["sent"] and "sending" not in states(db)
    rest = dispatch.drain(db, {"international": sender}, ADDRESSES)
    assert rest["sent"] == 40 - counts["sent"] and not rest["more"]


def test_while_another_process_sends_a_pass_only_queues(db, tmp_path):
    queue(db, 3)
    sender = Recording()
    with dispatch.sending(db, {}, ADDRESSES):                          # e.g. `mailflow release` sending
        with dispatch.sending(db, {"international": sender}, ADDRESSES, wait=0.1) as busy:
            busy.pump()
            assert busy.finish() == {"sent": 0, "failed": 0, "deferred": 0, "errors": [], "more": False}
    assert sender.sent == [] and states(db) == ["queued"] * 3
    assert dispatch.drain(db, {"international": sender}, ADDRESSES)["sent"] == 3


def test_the_daemon_sends_in_slices_and_comes_straight_back_for_the_rest(tmp_path, monkeypatch):
    """A long rate-limited release must not keep new mail waiting: each daemon pass sends for at
    most SEND_SLICE_SECONDS, then the next pass (inboxes first) starts at once."""
    from mailflow import runner
    from mailflow.worker import PassReport
    from tests.support.demo import write_demo_rules

    budgets = []

    class Worker:
        senders, sent_folders, stop_requested = {}, {}, False

        def run_once(self, send_budget=None):
            budgets.append(send_budget)
            return PassReport(more_to_send=len(budgets) == 1)

    monkeypatch.setattr(runner, "server_worker", lambda rules, progress=None: Worker())
    daemon = runner.Daemon(write_demo_rules(tmp_path))
    daemon.one_pass()
    assert budgets == [runner.SEND_SLICE_SECONDS] and daemon.wake.is_set()
    daemon.wake.clear()
    daemon.one_pass()
    assert not daemon.wake.is_set()


def test_without_a_courier_process_the_mail_goes_out_from_this_one(db, monkeypatch, caplog):
    class Portable(Recording):
        def recipe(self):
            return {"endpoint": {}, "credentials": {"what": "mailbox international, SMTP"}, "name": "international"}

    def no_process(*args, **kwargs):
        raise OSError("Resource temporarily unavailable")

    monkeypatch.setattr(dispatch, "ProcessCourier", no_process)
    queue(db, 3)
    sender = Portable()
    assert dispatch.drain(db, {"international": sender}, ADDRESSES)["sent"] == 3
    assert len(sender.sent) == 3 and "sending from this process" in caplog.text
