"""Sending the outbox without servers: claims, outcomes, the sent journal, reconcile, the send lock.

Real SMTP servers are in tests/integration (the kill test kills the worker while it sends).
"""

import errno
import fcntl
import os
import sys
import threading
import time

import pytest

from mailflow import dispatch, outbox
from mailflow.clock import system_clock
from mailflow.database import open_database
from mailflow.errors import ConnectionFailed, DeliveryError, MailflowError

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


def committed_states(path):
    """The states as another connection sees them, from any thread (mails go out from the
    dispatch's sender thread)."""
    observer = open_database(path)
    try:
        return states(observer)
    finally:
        observer.close()


class Recording:
    def __init__(self, fail=None):
        self.sent, self.fail = [], fail or {}

    def send(self, raw, sender, recipient, then=None):
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
    assert (counts.sent, counts.failed, counts.deferred) == (2, 1, 1)
    assert states(db) == ["sent", "failed", "queued", "sent"]
    retry = db.execute("select attempts, next_attempt_at, error from outbox where id = 3").fetchone()
    assert retry[0] == 1 and retry[1] is not None and "451" in retry[2]


def test_an_international_domain_goes_to_smtp_in_its_idna_form(db):
    """A registrant stored as j.koehler@münchen.de (their client wrote xn--mnchen-3ya.de) got the confirmation,
    then every release failed: smtplib cannot write the domain without SMTPUTF8. A local part outside ASCII
    cannot be sent at all: that mail fails with the reason, the others go."""
    for i, recipient in enumerate(["j.koehler@münchen.de", "jürgen@example.org", "a@example.org", "j.weber@straße.de"]):
        outbox.enqueue(db, raw=b"Subject: x\r\n\r\nhi\r\n", message_id=f"<idn{i}@x>", kind=f"test:{i}",
                       mailbox="international", recipient=recipient, subject="x")
    sender = Recording()
    counts = dispatch.drain(db, {"international": sender}, ADDRESSES)
    # (IDNA 2008: Python's own codec, IDNA 2003, wrote "strasse.de", another domain)
    assert sender.sent == ["j.koehler@xn--mnchen-3ya.de", "a@example.org", "j.weber@xn--strae-oqa.de"]
    assert (counts.sent, counts.failed) == (3, 1) and states(db) == ["sent", "failed", "sent", "sent"]
    assert "SMTPUTF8" in db.execute("select error from outbox where id = 2").fetchone()[0]


def test_copies_go_to_sent_on_a_new_connection_when_the_old_one_broke(db):
    """A Dovecot restarted for six seconds while a burst went out: the APPEND on the connection from before it
    failed (Broken pipe), and the batch's copies were lost although the server was back."""
    class RestartedSent:
        def __init__(self):
            self.appended, self.calls = [], 0

        def append(self, raws):
            self.calls += 1
            if self.calls == 1:
                raise ConnectionFailed("mailbox international: cannot save to Sent: [Errno 32] Broken pipe")
            self.appended.extend(raws)

    queue(db, 3)
    sent = RestartedSent()
    counts = dispatch.drain(db, {"international": Recording()}, ADDRESSES, sent_copies={"international": sent})
    assert counts.sent == 3 and len(sent.appended) == 3 and sent.calls == 2


def test_an_answer_to_someone_goes_before_the_rest_of_a_release(db):
    """Under the rate limit a registration that arrived during a release waited for all of it (77 s for 151
    registrants); answers, notices and alarms now go first, each group in the order it was queued."""
    for i in range(4):
        outbox.enqueue(db, raw=b"Subject: a\r\n\r\nhi\r\n", message_id=f"<agenda{i}@x>", kind="release:agenda:v1",
                       mailbox="international", recipient=f"r{i}@example.org", subject="Agenda")
    outbox.enqueue(db, raw=b"Subject: r\r\n\r\nhi\r\n", message_id="<reminder@x>", kind="reminder:1d",
                   mailbox="international", recipient="r9@example.org", subject="Reminder")
    for i, kind in enumerate(["reply:interest", "notice:misdirected"]):
        outbox.enqueue(db, raw=b"Subject: y\r\n\r\nhi\r\n", message_id=f"<answer{i}@x>", kind=kind,
                       mailbox="international", recipient=f"new{i}@example.org", subject="Your registration")
    sender = Recording()
    dispatch.drain(db, {"international": sender}, ADDRESSES)
    assert sender.sent == ["new0@example.org", "new1@example.org", *(f"r{i}@example.org" for i in range(4)),
                           "r9@example.org"]


def test_the_mailboxes_take_turns(db):
    """One sender thread sends for every mailbox: german's reply waited 258 s behind 30 of international's on a
    server that took 8.5 s a mail. Now the mailboxes alternate, each in the order it queued."""
    queue(db, 4)
    queue(db, 2, mailbox="german")
    order = []

    class Sender(Recording):
        def __init__(self, name):
            super().__init__()
            self.name = name

        def send(self, raw, sender, recipient, then=None):
            order.append((self.name, recipient))

    dispatch.drain(db, {"international": Sender("international"), "german": Sender("german")}, ADDRESSES)
    assert order == [("international", "r0@example.org"), ("german", "r0@example.org"),
                     ("international", "r1@example.org"), ("german", "r1@example.org"),
                     ("international", "r2@example.org"), ("international", "r3@example.org")]


def test_each_mail_names_the_next_one_through_its_own_connection(db):
    """Sender.send's `then` (an SMTP server with PIPELINING gets the next mail's commands ahead): the next
    mail of the same mailbox while the mailboxes take turns, in its IDNA form; none after the last, and
    none for a next mail that cannot be sent at all (its own turn says why)."""
    queue(db, 3)
    queue(db, 1, mailbox="german")
    outbox.enqueue(db, raw=b"Subject: x\r\n\r\nhi\r\n", message_id="<idn@x>", kind="test:idn",
                   mailbox="german", recipient="j.koehler@münchen.de", subject="x")
    outbox.enqueue(db, raw=b"Subject: x\r\n\r\nhi\r\n", message_id="<bad@x>", kind="test:bad",
                   mailbox="german", recipient="jürgen@example.org", subject="x")
    seen = []

    class Sender(Recording):
        def send(self, raw, sender, recipient, then=None):
            seen.append((sender, recipient, then))

    dispatch.drain(db, {"international": Sender(), "german": Sender()}, ADDRESSES)
    size = len(b"Subject: 0\r\n\r\nhi\r\n")
    intl, german = ADDRESSES["international"], ADDRESSES["german"]
    assert seen == [
        (intl, "r0@example.org", (intl, "r1@example.org", size)),
        (german, "r0@example.org", (german, "j.koehler@xn--mnchen-3ya.de", size)),
        (intl, "r1@example.org", (intl, "r2@example.org", size)),
        (german, "j.koehler@xn--mnchen-3ya.de", None),   # jürgen@ cannot go (no SMTPUTF8): nothing ahead
        (intl, "r2@example.org", None),
    ]
    assert states(db) == ["sent", "sent", "sent", "sent", "sent", "failed"]


def test_an_unreachable_server_defers_its_mailbox_without_counting_attempts(db):
    queue(db, 3)
    queue(db, 2, mailbox="german")
    down = Recording({f"r{i}@example.org": ConnectionFailed("cannot reach smtp") for i in range(3)})
    german = Recording()
    counts = dispatch.drain(db, {"international": down, "german": german}, ADDRESSES)
    assert counts.errors == ["cannot reach smtp"] and counts.deferred == 3
    assert german.sent == ["r0@example.org", "r1@example.org"]
    assert [r["attempts"] for r in db.query("select attempts from outbox where mailbox = 'international'")] == [0] * 3


def test_a_server_that_cannot_be_connected_to_is_never_begun(db, tmp_path):
    """The connection is opened before the journal's "begin": a server that cannot be reached leaves
    nothing that looks interrupted mid-send."""
    class Unreachable(Recording):
        def open(self):
            raise ConnectionFailed("connection refused")

    queue(db, 2)
    with dispatch.sending(db, {"international": Unreachable()}, ADDRESSES) as sending:
        sending.pump()
        assert dispatch.journal_records(tmp_path / "mailflow.db-sent") == (set(), set())
        counts = sending.finish()
    assert counts.errors == ["connection refused"] and states(db) == ["queued", "queued"]


def test_a_stop_request_leaves_the_rest_queued_with_their_attempts(db):
    queue(db, 5)
    sender = Recording()
    counts = dispatch.drain(db, {"international": sender}, ADDRESSES, should_stop=lambda: len(sender.sent) >= 1)
    assert counts.sent == len(sender.sent) == 1
    assert states(db) == ["sent"] + ["queued"] * 4
    assert {r["attempts"] for r in db.query("select attempts from outbox where state = 'queued'")} == {0}


def journal_of(tmp_path, *records):
    (tmp_path / "mailflow.db-sent").write_bytes(b"".join(
        f"{kind} {number}".encode().ljust(dispatch.SentJournal.RECORD - 1) + b"\n" for kind, number in records))


class SentFolder:
    def __init__(self, *message_ids):
        self.ids = set(message_ids)

    def contains(self, message_id):
        return message_id in self.ids


def test_reconcile_trusts_the_journal_then_the_sent_folder_and_never_resends_blindly(db, tmp_path):
    """1 was accepted (journal); 2 was begun and is in Sent; 3 was begun, not in Sent, and mailflow
    makes the copies itself: uncertain; 4 was claimed but never begun: queued again."""
    queue(db, 4)
    db.execute("update outbox set state = 'sending'")
    journal_of(tmp_path, ("B", 1), ("S", 1), ("B", 2), ("B", 3))
    with dispatch.sending(db, {}, ADDRESSES, sent_folders={"international": SentFolder("<international1@x>")}):
        pass
    assert states(db) == ["sent", "sent", "uncertain", "queued"]
    assert "may or may not have arrived" in db.execute("select error from outbox where id = 3").fetchone()[0]
    assert (tmp_path / "mailflow.db-sent").read_bytes() == b""   # settled, so the journal starts empty

    # Found in Sent later (the copy came in late): settled then.
    with dispatch.sending(db, {}, ADDRESSES, sent_folders={"international": SentFolder("<international2@x>")}):
        pass
    assert states(db)[2] == "sent"


def test_with_provider_copies_a_begun_mail_missing_from_sent_was_not_sent(db, tmp_path):
    queue(db, 1)
    db.execute("update outbox set state = 'sending'")
    journal_of(tmp_path, ("B", 1))
    with dispatch.sending(db, {}, ADDRESSES, sent_folders={"international": SentFolder()},
                          provider_copies=frozenset({"international"})):
        pass
    assert states(db) == ["queued"]


def test_without_a_sent_folder_a_begun_mail_is_uncertain_and_a_coordinator_settles_it(db, tmp_path):
    queue(db, 2)
    db.execute("update outbox set state = 'sending'")
    journal_of(tmp_path, ("B", 1), ("B", 2))
    sender = Recording()
    assert dispatch.drain(db, {"international": sender}, ADDRESSES).sent == 0
    assert states(db) == ["uncertain", "uncertain"] and sender.sent == []
    outbox.retry(db, 1, ADDRESSES)          # the coordinator checked: it did not arrive
    outbox.cancel(db, 2)                    # ... it did
    assert dispatch.drain(db, {"international": sender}, ADDRESSES).sent == 1
    assert states(db) == ["sent", "cancelled"] and sender.sent == ["r0@example.org"]
    with pytest.raises(MailflowError, match="only failed or uncertain"):
        outbox.retry(db, 1, ADDRESSES)


def test_begin_is_journalled_before_the_send_and_sent_right_after_the_250(db, tmp_path):
    queue(db, 2)

    class Watching(Recording):
        seen = []

        def send(self, raw, sender, recipient, then=None):
            self.seen.append((dispatch.journal_records(tmp_path / "mailflow.db-sent"),
                              committed_states(tmp_path / "mailflow.db")))
            super().send(raw, sender, recipient)

    sender = Watching()
    with dispatch.sending(db, {"international": sender}, ADDRESSES) as sending:
        sending.finish()
    # Each mail was committed `sending` and begun before it went out; the first was journalled as
    # sent before the second went, and committed as sent later, with others (the journal answers
    # for it meanwhile).
    assert sender.seen == [(({1}, set()), ["sending", "sending"]), (({1, 2}, {1}), ["sending", "sending"])]
    assert states(db) == ["sent", "sent"]


def test_a_full_disk_stops_the_claiming_and_loses_nothing(db, monkeypatch):
    def full(fd, offset, length):
        raise OSError(errno.ENOSPC, "No space left on device")

    queue(db, 3)
    monkeypatch.setattr(os, "posix_fallocate", full)
    sender = Recording()
    counts = dispatch.drain(db, {"international": sender}, ADDRESSES)
    assert sender.sent == [] and states(db) == ["queued"] * 3 \
        and counts.errors == ["disk full: sending waits for space"]
    monkeypatch.undo()
    assert dispatch.drain(db, {"international": sender}, ADDRESSES).sent == 3


def test_the_send_lock_keeps_a_second_process_out(db, tmp_path):
    with dispatch.sending(db, {}, ADDRESSES):
        fd = os.open(tmp_path / "mailflow.db-sent", os.O_RDWR)
        with pytest.raises(BlockingIOError):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.close(fd)
    fd = os.open(tmp_path / "mailflow.db-sent", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.close(fd)


def test_under_a_rate_limit_only_about_ten_seconds_of_mail_is_claimed_at_once(db, tmp_path):
    from mailflow.delivery import RateLimitedSender

    class Counting(Recording):
        most = 0

        def send(self, raw, sender, recipient, then=None):
            Counting.most = max(Counting.most, committed_states(tmp_path / "mailflow.db").count("sending"))
            super().send(raw, sender, recipient)

    slow = RateLimitedSender(Counting(), per_minute=120, sleep=lambda s: None)   # one every 0.5 s
    assert dispatch.window_rows({"international": slow, "german": Recording()}) == 20
    assert dispatch.window_rows({"international": Recording()}) == dispatch.WINDOW_ROWS
    queue(db, 50)
    assert dispatch.drain(db, {"international": slow}, ADDRESSES).sent == 50
    assert Counting.most == 20          # the rest could still be cancelled meanwhile


def test_a_send_budget_stops_the_sending_and_says_more_is_left(db, monkeypatch):
    from mailflow.delivery import RateLimitedSender

    monkeypatch.setattr(dispatch, "WINDOW_SECONDS", 0.05)             # claim 5 rows at 100 a second
    sender = RateLimitedSender(Recording(), per_minute=6000)            # really sleeps 0.01 s between mails
    queue(db, 40)
    counts = dispatch.drain(db, {"international": sender}, ADDRESSES, budget=0.1)
    assert 0 < counts.sent < 40 and counts.more
    assert states(db).count("queued") == 40 - counts.sent and "sending" not in states(db)
    rest = dispatch.drain(db, {"international": sender}, ADDRESSES)
    assert rest.sent == 40 - counts.sent and not rest.more


def test_a_stop_ends_the_wait_for_the_rate_limits_next_turn(db):
    """At one mail a minute a SIGTERM ("finishing the current message") waited out the minute, and sent."""
    from mailflow.delivery import RateLimitedSender

    sender = RateLimitedSender(Recording(), per_minute=1)               # really sleeps: 60 s between mails
    queue(db, 2)
    asked = time.monotonic() + 0.5
    started = time.monotonic()
    counts = dispatch.drain(db, {"international": sender}, ADDRESSES, should_stop=lambda: time.monotonic() > asked)
    assert time.monotonic() - started < 5                              # not the minute
    assert (counts.sent, states(db)) == (1, ["sent", "queued"])         # the second waits for the next run


def test_while_another_process_sends_a_pass_only_queues(db, tmp_path):
    queue(db, 3)
    sender = Recording()
    with (dispatch.sending(db, {}, ADDRESSES),                         # e.g. `mailflow release` sending
          dispatch.sending(db, {"international": sender}, ADDRESSES, wait=0.1) as busy):
        busy.pump()
        assert busy.finish() == dispatch.SendCounts()
    assert sender.sent == [] and states(db) == ["queued"] * 3
    assert dispatch.drain(db, {"international": sender}, ADDRESSES).sent == 3


def test_the_daemon_sends_in_slices_and_comes_straight_back_for_the_rest(tmp_path, monkeypatch):
    """A long rate-limited release must not keep new mail waiting: each daemon pass sends for at
    most SEND_SLICE_SECONDS, then the next pass (inboxes first) starts at once."""
    from mailflow import runner
    from mailflow.worker import PassReport
    from tests.support.demo import write_demo_rules

    budgets = []

    class Worker:
        senders, sent_folders, stop_requested, resting = {}, {}, False, {}
        db = open_database(tmp_path / "heartbeat.db")   # the daemon's heartbeat goes here
        clock = staticmethod(system_clock)

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


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs Linux and at least two CPUs")
def test_the_sender_thread_shares_the_workers_cpu_and_the_worker_gets_its_cpus_back(db):
    """While a window is sent, the worker's thread and the sender thread run on one CPU (they take
    turns with the GIL; a turn handed across CPUs costs a wake-up); afterwards the worker may run
    anywhere again, and the mail went out as usual."""
    allowed, interval_before = os.sched_getaffinity(0), sys.getswitchinterval()
    worker = threading.get_native_id()
    seen = []

    class Watching(Recording):
        def send(self, raw, sender, recipient, then=None):
            seen.append((threading.current_thread().name, os.sched_getaffinity(0), os.sched_getaffinity(worker),
                         sys.getswitchinterval()))
            super().send(raw, sender, recipient)

    queue(db, 3)
    sender = Watching()
    counts = dispatch.drain(db, {"international": sender}, ADDRESSES)
    assert counts.sent == 3 and sender.sent == ["r0@example.org", "r1@example.org", "r2@example.org"]
    assert all(name == "sender" and len(cpus) == 1 and cpus == workers <= allowed
               and interval == pytest.approx(dispatch.SENDER_SWITCH_INTERVAL)
               for name, cpus, workers, interval in seen), seen
    assert os.sched_getaffinity(0) == allowed and sys.getswitchinterval() == interval_before


class Slow(Recording):
    """A server that takes 50 ms a mail."""

    def send(self, raw, sender, recipient, then=None):
        time.sleep(0.05)
        super().send(raw, sender, recipient)


class Crashing(Recording):
    """Accepts mail until the `at`-th, then fails in a way no sender is expected to (a bug)."""

    def __init__(self, at):
        super().__init__()
        self.at = at

    def send(self, raw, sender, recipient, then=None):
        if len(self.sent) == self.at:
            raise RuntimeError("a bug in the sender")
        super().send(raw, sender, recipient)


def test_a_crash_in_the_sender_thread_queues_again_only_mail_it_never_began(db):
    """Mail accepted before the crash is recorded as sent, the mail it crashed on stays for the journal
    (begun, not accepted: held uncertain without a Sent folder), the rest goes out with the next
    session. Nothing is sent twice."""
    queue(db, 5)
    first = Crashing(at=2)
    with pytest.raises(RuntimeError, match="a bug in the sender"):
        dispatch.drain(db, {"international": first}, ADDRESSES)
    assert first.sent == ["r0@example.org", "r1@example.org"]
    assert states(db) == ["sent", "sent", "sending", "queued", "queued"]
    again = Recording()
    dispatch.drain(db, {"international": again}, ADDRESSES)
    assert again.sent == ["r3@example.org", "r4@example.org"]
    assert states(db) == ["sent", "sent", "uncertain", "sent", "sent"]


def test_a_wait_cut_short_joins_the_thread_and_nothing_is_sent_twice(db):
    """An error while the worker waits for the sender thread (here the heartbeat; Ctrl-C during a
    release, the daemon's second SIGTERM): the thread finishes the mail on the wire, begins no more
    and is joined; the switch interval and the worker's CPUs are given back; the next session sends
    exactly what was not sent."""
    queue(db, 6)
    interval, cpus = sys.getswitchinterval(), os.sched_getaffinity(0)
    beats = []

    def alive():
        beats.append(1)
        if len(beats) == 3:   # the first is pump's own, then one a mail
            raise KeyboardInterrupt

    first = Slow()
    with (pytest.raises(KeyboardInterrupt),
          dispatch.sending(db, {"international": first}, ADDRESSES, alive=alive) as session):
        session.finish()
    assert not [t for t in threading.enumerate() if t.name == "sender"]
    assert (sys.getswitchinterval(), os.sched_getaffinity(0)) == (interval, cpus)
    # (one or two: the thread may begin the second mail before the worker's stop reaches it, on a busy machine
    # after it; either way no third)
    assert 1 <= len(first.sent) <= 2
    again = Recording()
    dispatch.drain(db, {"international": again}, ADDRESSES)
    assert sorted(first.sent + again.sent) == sorted(f"r{i}@example.org" for i in range(6))
    assert set(states(db)) == {"sent"}


def test_settle_waits_for_the_sender_thread_a_bounded_time(db, monkeypatch):
    """Before the releases the worker waits for the window in flight, but not for a slow server's
    whole window: after SETTLE_SECONDS the rest is queued again and goes out with finish()."""
    monkeypatch.setattr(dispatch, "SETTLE_SECONDS", 0.3)
    queue(db, 40)

    slow = Slow()
    with dispatch.sending(db, {"international": slow}, ADDRESSES) as session:
        session.pump()
        started = time.monotonic()
        session.settle()
        waited = time.monotonic() - started
        settled = states(db)
        session.finish()
    assert waited < 2 and 0 < settled.count("sent") < 40 and settled.count("queued") == 40 - settled.count("sent")
    assert sorted(slow.sent) == sorted(f"r{i}@example.org" for i in range(40)) and set(states(db)) == {"sent"}


def test_progress_is_reported_from_the_workers_thread_for_mail_sent_only(db):
    """`on_sent` (a release's progress bar) runs in the worker's thread while it waits for the sender
    thread, and counts each mail the server took, never a refused one."""
    queue(db, 6)
    reports = []

    class SlowRefusing(Slow):
        def send(self, raw, sender, recipient, then=None):
            if recipient == "r2@example.org":
                raise DeliveryError("550 no such user", permanent=True)
            super().send(raw, sender, recipient)

    counts = dispatch.drain(db, {"international": SlowRefusing()}, ADDRESSES,
                            on_sent=lambda n: reports.append((n, threading.current_thread().name)))
    assert counts.sent == 5 and sum(n for n, _ in reports) == 5 and len(reports) > 1
    assert {name for _, name in reports} == {threading.main_thread().name}


def test_a_sender_thread_that_cannot_start_gives_everything_back(db, monkeypatch):
    """No thread (the system's limit): the switch interval and the worker's CPUs are as before, the
    claimed mail is queued again with its attempts as before, and a later session sends it."""
    queue(db, 3)
    interval, cpus = sys.getswitchinterval(), os.sched_getaffinity(0)

    def refuse(self):
        raise RuntimeError("can't start new thread")

    with monkeypatch.context() as patched:
        patched.setattr(threading.Thread, "start", refuse)
        with pytest.raises(RuntimeError, match="can't start new thread"):
            dispatch.drain(db, {"international": Recording()}, ADDRESSES)
    assert (sys.getswitchinterval(), os.sched_getaffinity(0)) == (interval, cpus)
    assert states(db) == ["queued"] * 3
    assert [r["attempts"] for r in db.query("select attempts from outbox")] == [0] * 3
    sender = Recording()
    assert dispatch.drain(db, {"international": sender}, ADDRESSES).sent == 3 and len(sender.sent) == 3
