"""Health on real servers (issue 14, items 2 and 4): an SMTP server refusing the login shows in `mailflow status`
with its cause and start, the alarm reaches the other coordinator through that coordinator's SMTP server (in their
language), once per outage across restarts, the recovery mail follows; with no route the alarm waits. Both land in
the coordinator's Dovecot inbox, where mailflow finds them as its own mail; the daemon beats during a long pass
and while it waits in IDLE."""

from __future__ import annotations

import fcntl
import os
import signal
import sqlite3
import time
from datetime import UTC, datetime, timedelta

import yaml
from click.testing import CliRunner

from mailflow import digest, health, history, runner
from mailflow import worker as worker_module
from mailflow.cli import main
from mailflow.clock import stamp
from mailflow.database import open_database
from mailflow.rules import load_rules
from mailflow.worker import Worker
from tests.integration.test_daemon import daemon, wait_until
from tests.support.clock import SettableClock
from tests.support.inboxes import deliver_to_coordinators, mailflow_mail_in
from tests.support.mail import make_mail
from tests.support.rules import write_rules
from tests.support.servers import GERMAN_USER, INTL_USER

INTL_SMTP_USER, INTL_SMTP_PASSWORD = "intl", "right"
SMTP_PASSWORD_ENV = "MAILFLOW_TEST_INTL_SMTP_PASSWORD"


def two_routes(tmp_path, dovecot, intl_smtp, german_smtp, **overrides):
    """rules.yaml: both inboxes on Dovecot; international sends through `intl_smtp` as `intl` with the password
    in $MAILFLOW_TEST_INTL_SMTP_PASSWORD, german through `german_smtp`; the german coordinator reads German."""
    path = write_rules(tmp_path, dovecot, german_smtp, **overrides)
    data = yaml.safe_load(path.read_text())
    data["mailboxes"]["international"]["smtp"] = {
        "host": intl_smtp.host, "port": intl_smtp.port, "security": "none", "timeout": 10,
        "username": INTL_SMTP_USER, "password_env": SMTP_PASSWORD_ENV}
    data["mailboxes"]["german"]["language"] = "de"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


def one_pass(rules_path, clock):
    """A pass as the daemon makes it, by a fresh worker (as after a restart), at the clock's time."""
    worker = runner.server_worker(load_rules(rules_path))
    worker.clock = clock
    try:
        return worker.run_once()
    finally:
        runner.close_connections(worker)


def status(rules_path) -> str:
    """`mailflow status`; "" while a daemon just started has not created its database yet (status reads, and
    refuses a database that is not there)."""
    result = CliRunner().invoke(main, ["--rules", str(rules_path), "status"])
    if result.exit_code == 1 and "does not exist" in result.output:
        return ""
    assert result.exit_code == 0, result.output
    return result.output


def test_a_refused_smtp_login_shows_its_cause_raises_one_alarm_and_one_recovery_mail(
        clean_dovecot, smtp_server_factory, tmp_path, monkeypatch):
    intl_smtp = smtp_server_factory(auth=(INTL_SMTP_USER, INTL_SMTP_PASSWORD))
    german_smtp = smtp_server_factory()
    rules_path = two_routes(tmp_path, clean_dovecot, intl_smtp, german_smtp)
    monkeypatch.setenv("MAILFLOW_TEST_PASSWORD", "secret")
    monkeypatch.setenv(SMTP_PASSWORD_ENV, "wrong")
    clock = SettableClock(datetime.now(UTC).replace(microsecond=0))
    start = stamp(clock())
    clean_dovecot.append(INTL_USER, make_mail(sender="nino@tbilisi.gov.ge"))

    report = one_pass(rules_path, clock)
    assert report.processed == 1 and report.sent == 0
    shown = status(rules_path)
    assert (f"SMTP failing since {start}" in shown and
            "mailbox international: SMTP login refused by 127.0.0.1 for intl: 535" in shown), shown
    assert "queued 1" in shown

    clock.advance(minutes=59)
    one_pass(rules_path, clock)
    assert german_smtp.messages == [] and intl_smtp.messages == []   # not an hour yet

    clock.advance(minutes=2)
    one_pass(rules_path, clock)
    (alarm,) = german_smtp.wait_for(1)
    assert alarm.rcpt_tos == ["german@cc-events.example"] and alarm.mail_from == "german@cc-events.example"
    mail = alarm.message
    assert mail["X-Mailflow"] == "alarm" and mail["Auto-Submitted"] == "auto-generated"
    assert mail["Subject"] == "[mailflow] Postfach international kann keine Mail senden"
    text = mail.get_content()
    assert "Ursache: mailbox international: SMTP login refused by 127.0.0.1 for intl: 535" in text, text
    assert f"seit {datetime.fromisoformat(start):%Y-%m-%d %H:%M} UTC" in text
    assert intl_smtp.messages == []   # never through the broken route

    for _ in range(2):   # later passes, each by a new worker (a restart): no second alarm
        clock.advance(minutes=30)
        one_pass(rules_path, clock)
    assert len(german_smtp.messages) == 1

    monkeypatch.setenv(SMTP_PASSWORD_ENV, INTL_SMTP_PASSWORD)   # the coordinator fixed the password
    clock.advance(minutes=5)
    report = one_pass(rules_path, clock)
    assert [m.rcpt_tos for m in intl_smtp.wait_for(1)] == [["nino@tbilisi.gov.ge"]]   # the reply that waited
    recovery = german_smtp.wait_for(2)[1].message
    assert recovery["Subject"] == "[mailflow] Postfach international geht wieder"
    assert recovery["X-Mailflow"] == "alarm"
    assert "Ursache: mailbox international: SMTP login refused" in recovery.get_content()
    assert "failing" not in status(rules_path)

    clock.advance(hours=2)
    one_pass(rules_path, clock)
    assert len(german_smtp.messages) == 2 and len(intl_smtp.messages) == 1


def test_with_no_route_the_alarm_waits_and_goes_out_when_one_recovers(
        clean_dovecot, smtp_server_factory, tmp_path, monkeypatch):
    intl_smtp = smtp_server_factory(auth=(INTL_SMTP_USER, INTL_SMTP_PASSWORD))
    german_smtp = smtp_server_factory()
    rules_path = two_routes(tmp_path, clean_dovecot, intl_smtp, german_smtp, alarm={"after": "30m"})
    monkeypatch.setenv("MAILFLOW_TEST_PASSWORD", "secret")
    monkeypatch.setenv(SMTP_PASSWORD_ENV, "wrong")
    clock = SettableClock(datetime.now(UTC).replace(microsecond=0))
    clean_dovecot.append(INTL_USER, make_mail(sender="nino@tbilisi.gov.ge"))
    clean_dovecot.append(GERMAN_USER, make_mail(sender="Anna Lehmann <anna@leipzig.de>",
                                                to="german@cc-events.example",
                                                subject="Anmeldung", body="Ich nehme gerne teil.\n\nAnna"))
    with german_smtp.down():
        one_pass(rules_path, clock)
        clock.advance(minutes=31)
        one_pass(rules_path, clock)
        shown = status(rules_path)
        assert "alarm for international SMTP" in shown and "waits: no mailbox's SMTP server works" in shown, shown
        assert "mailbox german: SMTP server unreachable: cannot reach 127.0.0.1" in shown, shown
        clock.advance(minutes=10)
        one_pass(rules_path, clock)
    assert german_smtp.messages == [] and intl_smtp.messages == []

    clock.advance(minutes=1)
    one_pass(rules_path, clock)   # german's server is back: the alarm goes out through it
    received = german_smtp.wait_for(3)
    by_subject = {m.message["Subject"]: m for m in received if m.message["X-Mailflow"] == "alarm"}
    assert by_subject["[mailflow] Postfach international kann keine Mail senden"].rcpt_tos == [
        "german@cc-events.example"]
    # german's own outage ended before its alarm found a route: the recovery mail alone says it, in English
    recovered = by_subject["[mailflow] mailbox german works again"]
    assert recovered.rcpt_tos == ["international@cc-events.example"]
    assert "it could not send mail. Cause: mailbox german: SMTP server unreachable" in recovered.message.get_content()
    assert len(by_subject) == 2 and intl_smtp.messages == []
    assert "waits" not in status(rules_path)


def test_status_says_since_when_the_daemon_is_not_running(servers, tmp_path):
    rules_path = write_rules(tmp_path, *servers, poll_interval=2)
    with daemon(rules_path, tmp_path / "log") as process:
        assert wait_until(lambda: "daemon: running since" in status(rules_path) and
                          "connection idle" in status(rules_path), timeout=30)
        process.send_signal(signal.SIGKILL)   # no clean stop: only the heartbeat's age can tell
        process.wait(timeout=10)
        time.sleep(5)   # two poll intervals and a bit
        shown = status(rules_path)
        assert "daemon: not running since" in shown and "connection not running since" in shown, shown
        assert "connection idle" not in shown

    with daemon(rules_path, tmp_path / "log") as process:
        assert wait_until(lambda: "daemon: running since" in status(rules_path), timeout=30)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
        shown = status(rules_path)   # a clean stop says so at once
        assert "daemon: not running since" in shown and "connection not running since" in shown, shown


def test_status_names_a_refused_imap_login_with_the_servers_answer(servers, tmp_path, monkeypatch):
    rules_path = write_rules(tmp_path, *servers)
    monkeypatch.setenv("MAILFLOW_TEST_PASSWORD", "not the password")
    runner.run_once(load_rules(rules_path))
    shown = status(rules_path)
    for user in (INTL_USER, GERMAN_USER):
        mailbox = "international" if user == INTL_USER else "german"
        assert ("IMAP failing since" in shown and f"mailbox {mailbox}: IMAP login refused by 127.0.0.1 for {user}: "
                "[AUTHENTICATIONFAILED] Authentication failed." in shown), shown


def test_an_inbox_that_cannot_be_read_raises_its_alarm_while_nothing_else_may_be_sent(
        clean_dovecot, smtp_server_factory, tmp_path, monkeypatch):
    """International's IMAP login is refused, so its Sent folder cannot say what was answered: the pass answers
    and sends nothing (german's waiting mail included), but the alarm answers nobody and goes out."""
    german_smtp = smtp_server_factory()
    rules_path = write_rules(tmp_path, clean_dovecot, german_smtp)
    data = yaml.safe_load(rules_path.read_text())
    data["mailboxes"]["international"]["imap"]["password_env"] = "MAILFLOW_TEST_INTL_IMAP_PASSWORD"
    rules_path.write_text(yaml.safe_dump(data, allow_unicode=True))
    monkeypatch.setenv("MAILFLOW_TEST_PASSWORD", "secret")
    monkeypatch.setenv("MAILFLOW_TEST_INTL_IMAP_PASSWORD", "wrong")
    clock = SettableClock(datetime.now(UTC).replace(microsecond=0))
    clean_dovecot.append(GERMAN_USER, make_mail(sender="Anna Lehmann <anna@leipzig.de>", to="german@cc-events.example",
                                                subject="Anmeldung", body="Ich nehme gerne teil.\n\nAnna"))
    one_pass(rules_path, clock)
    clock.advance(minutes=61)
    one_pass(rules_path, clock)
    (alarm,) = german_smtp.wait_for(1)
    # The german coordinator reads German (the shipped rules.yaml's `language: de`).
    assert alarm.message["Subject"] == "[mailflow] Postfach international kann nicht gelesen werden"
    assert alarm.rcpt_tos == ["german@cc-events.example"]
    assert "IMAP login refused by 127.0.0.1 for intl@example.org" in alarm.message.get_content()

    monkeypatch.setenv("MAILFLOW_TEST_INTL_IMAP_PASSWORD", "secret")
    clock.advance(minutes=1)
    one_pass(rules_path, clock)
    received = german_smtp.wait_for(3)
    assert sorted(m.rcpt_tos[0] for m in received[1:]) == ["anna@leipzig.de", "german@cc-events.example"]
    assert any(m.message["Subject"] == "[mailflow] Postfach international geht wieder" for m in received)


def test_an_alarm_whose_route_fails_after_it_was_queued_goes_through_another(
        clean_dovecot, smtp_server_factory, tmp_path, monkeypatch):
    """International's inbox cannot be read; its alarm is queued on german's SMTP server, which nobody knew was
    down: the next pass cancels it there and sends it through international's own SMTP server (it works)."""
    intl_smtp, german_smtp = smtp_server_factory(), smtp_server_factory()
    rules_path = write_rules(tmp_path, clean_dovecot, intl_smtp)
    data = yaml.safe_load(rules_path.read_text())
    data["mailboxes"]["international"]["imap"]["password_env"] = "MAILFLOW_TEST_INTL_IMAP_PASSWORD"
    data["mailboxes"]["german"]["smtp"]["port"] = german_smtp.port
    rules_path.write_text(yaml.safe_dump(data, allow_unicode=True))
    monkeypatch.setenv("MAILFLOW_TEST_PASSWORD", "secret")
    monkeypatch.setenv("MAILFLOW_TEST_INTL_IMAP_PASSWORD", "wrong")
    clock = SettableClock(datetime.now(UTC).replace(microsecond=0))
    with german_smtp.down():
        one_pass(rules_path, clock)
        clock.advance(minutes=61)
        one_pass(rules_path, clock)   # queued through german, whose server turns out to be down
        assert intl_smtp.messages == []
        clock.advance(minutes=1)
        one_pass(rules_path, clock)
        (alarm,) = intl_smtp.wait_for(1)
    assert alarm.message["Subject"] == "[mailflow] Postfach international kann nicht gelesen werden"
    assert alarm.rcpt_tos == ["german@cc-events.example"]
    db = open_database(rules_path.parent / "mailflow.db")
    assert [(r["mailbox"], r["state"]) for r in db.query("select mailbox, state from outbox order by id")] == [
        ("german", "cancelled"), ("international", "sent")]
    clock.advance(minutes=1)
    one_pass(rules_path, clock)
    assert german_smtp.messages == [] and len(intl_smtp.messages) == 1


def test_the_alarm_and_its_recovery_mail_land_in_the_coordinators_inbox_and_are_never_answered_there(
        clean_dovecot, smtp_server_factory, tmp_path, monkeypatch):
    """What the german coordinator's mail client shows: the alarm, then the recovery mail, in German with the
    cause, read back from their Dovecot inbox; mailflow, which watches that inbox, records each as its own."""
    intl_smtp = smtp_server_factory(auth=(INTL_SMTP_USER, INTL_SMTP_PASSWORD))
    german_smtp = smtp_server_factory()
    deliver_to_coordinators(clean_dovecot, intl_smtp, german_smtp)
    rules_path = two_routes(tmp_path, clean_dovecot, intl_smtp, german_smtp)
    monkeypatch.setenv("MAILFLOW_TEST_PASSWORD", "secret")
    monkeypatch.setenv(SMTP_PASSWORD_ENV, "wrong")
    clock = SettableClock(datetime.now(UTC).replace(microsecond=0))
    start = clock()
    clean_dovecot.append(INTL_USER, make_mail(sender="nino@tbilisi.gov.ge"))
    one_pass(rules_path, clock)
    clock.advance(minutes=61)
    one_pass(rules_path, clock)

    (alarm,) = mailflow_mail_in(clean_dovecot, GERMAN_USER, "alarm")
    assert alarm["Subject"] == "[mailflow] Postfach international kann keine Mail senden"
    assert alarm["From"].addresses[0].addr_spec == alarm["To"].addresses[0].addr_spec == "german@cc-events.example"
    text = alarm.get_content()
    assert text.startswith("mailflow: Das Postfach international (international@cc-events.example) kann keine "
                           f"Mail senden, seit {start:%Y-%m-%d %H:%M} UTC."), text
    assert "Ursache: mailbox international: SMTP login refused by 127.0.0.1 for intl: 535" in text, text
    assert mailflow_mail_in(clean_dovecot, INTL_USER, "alarm") == []

    clock.advance(minutes=5)
    one_pass(rules_path, clock)   # finds the alarm in the german inbox it watches
    monkeypatch.setenv(SMTP_PASSWORD_ENV, INTL_SMTP_PASSWORD)   # the coordinator fixed the password
    clock.advance(minutes=5)
    one_pass(rules_path, clock)   # the reply that waited goes out, and the recovery mail
    (recovery,) = [m for m in mailflow_mail_in(clean_dovecot, GERMAN_USER, "alarm") if m["Message-ID"] !=
                   alarm["Message-ID"]]
    assert recovery["Subject"] == "[mailflow] Postfach international geht wieder"
    text = recovery.get_content()
    assert "Ausfall ab " in text and "es konnte keine Mail senden. Ursache: mailbox international: SMTP login " \
        "refused by 127.0.0.1 for intl: 535" in text, text
    clock.advance(minutes=5)
    one_pass(rules_path, clock)   # finds the recovery mail

    db = open_database(rules_path.parent / "mailflow.db")
    own = [m["Message-ID"].strip("<>") for m in (alarm, recovery)]
    rows = list(db.query("select id, intent, answer, coalesce(asks, 0) as asks, coalesce(review, 0) as review, "
                         "reasons, state from messages where mailbox = ? order by id", ["german"]))
    assert len(rows) == 2 and all(r["state"] == "processed" and (r["intent"], r["answer"], r["asks"], r["review"])
                                  == ("bulk", 0, 0, 0) and "X-Mailflow: alarm" in r["reasons"] for r in rows), rows
    assert db.execute("select count(*) from outbox where source_message in (?, ?)",
                      [rows[0]["id"], rows[1]["id"]]).fetchone() == (0,)
    recipients = sorted(r[0] for r in db.execute("select recipient from outbox"))
    assert recipients == ["german@cc-events.example"] * 2 + ["nino@tbilisi.gov.ge"]   # nothing else was sent
    assert history.open_questions(db) == []
    assert all(b"\\Flagged" not in flags for flags in clean_dovecot.flags(GERMAN_USER).values())
    rules = load_rules(rules_path)
    context = digest.gather(db, rules, "german", start, clock())
    assert not any(word in repr(context) for word in ("[mailflow]", *own)), context
    assert not digest.has_news(context)   # the outage is over, the reply sent: nothing to say


def test_a_long_pass_beats_at_least_every_minute(servers, tmp_path, monkeypatch):
    """A daemon pass sending 120 replies through a server that takes 20 s a mail (by the clock): `mailflow status`
    would say "not running" after two poll intervals without a beat. It beats between sends, never older than a
    minute while the server takes a mail, and not once per mail. (The replies were queued by an earlier pass
    while another process held the send lock, so this pass only sends: the worker waits for the sender thread.)"""
    dovecot, smtp = servers
    rules_path = write_rules(tmp_path, dovecot, smtp, poll_interval=60)
    monkeypatch.setenv("MAILFLOW_TEST_PASSWORD", "secret")
    monkeypatch.setattr(worker_module, "LOCK_WAIT_SECONDS", 0)
    dovecot.append_many(INTL_USER, [make_mail(sender=f"person{i}@tbilisi.gov.ge") for i in range(120)])
    clock = SettableClock(datetime.now(UTC).replace(microsecond=0))
    daemon = runner.Daemon(rules_path)
    daemon.worker.clock = clock
    lock = os.open(tmp_path / "mailflow.db-sent", os.O_RDWR | os.O_CREAT)   # another process sending
    fcntl.flock(lock, fcntl.LOCK_EX)
    daemon.one_pass()
    os.close(lock)
    assert smtp.messages == [] and len(list(daemon.worker.db.query("select id from outbox"))) == 120
    daemon._beat(force=True, mark=lambda db, interval: health.started(db, 1, interval))
    reader = sqlite3.connect(tmp_path / "mailflow.db", check_same_thread=False)   # as `mailflow status` reads
    seen = []

    def slow(_mail) -> None:
        (beat,) = reader.execute("select beat_at from heartbeat").fetchone()
        seen.append(clock() - datetime.fromisoformat(beat))
        clock.advance(seconds=20)

    smtp.on_accept = slow
    daemon.one_pass()
    assert len(smtp.messages) == 120 and len(seen) == 120
    assert max(seen) <= timedelta(minutes=1), max(seen)   # without beats during the pass: 39 minutes 40 s
    assert len(set(seen)) > 1 and min(seen) == timedelta(0)   # a beat now and then, not before every mail


def test_an_idle_daemon_beats_while_no_mail_arrives(servers, tmp_path):
    """A daemon waiting in IDLE with an hour between passes beats on its own (every MAILFLOW_BEAT_SECONDS: one
    second here, a minute in service), while no pass runs."""
    rules_path = write_rules(tmp_path, *servers, poll_interval=3600)
    db = tmp_path / "mailflow.db"

    def heartbeat() -> tuple:
        try:
            return sqlite3.connect(db).execute("select beat_at from heartbeat").fetchone() or ()
        except sqlite3.OperationalError:   # not created yet
            return ()

    def passes() -> int:
        return (tmp_path / "log").read_text().count("pass done")

    with daemon(rules_path, tmp_path / "log", MAILFLOW_BEAT_SECONDS="1"):
        assert wait_until(lambda: "connection idle" in status(rules_path) and passes() >= 1, timeout=30)
        time.sleep(1)   # the watchers' catch-up pass after connecting
        done, beats = passes(), {heartbeat()}
        assert wait_until(lambda: beats.add(heartbeat()) or len(beats) >= 4, timeout=10), beats
        assert passes() == done   # the beats came while it waited, not from passes
        assert "daemon: running since" in status(rules_path)


def test_a_long_pass_beats_after_each_processed_batch(servers, tmp_path, monkeypatch):
    """150 automatic replies (nothing to send) that take a second each to process, by the clock: a beat after a
    committed batch (ten seconds of processing) once a minute has passed keeps `mailflow status` saying
    "running" at every mail (without it the heartbeat is 149 s old at the end, over two poll intervals)."""
    dovecot, smtp = servers
    rules_path = write_rules(tmp_path, dovecot, smtp, poll_interval=60)
    monkeypatch.setenv("MAILFLOW_TEST_PASSWORD", "secret")
    dovecot.append_many(INTL_USER, [make_mail(sender=f"person{i}@tbilisi.gov.ge", headers={
        "Auto-Submitted": "auto-replied"}) for i in range(150)])
    clock = SettableClock(datetime.now(UTC).replace(microsecond=0))
    daemon = runner.Daemon(rules_path)
    daemon.worker.clock = clock
    daemon._beat(force=True, mark=lambda db, interval: health.started(db, 1, interval))
    running = []
    process = Worker.process

    def slow(worker, row, moment):   # each mail takes a second to process
        running.append(health.liveness(worker.db, clock())["running"])
        clock.advance(seconds=1)
        return process(worker, row, moment)

    monkeypatch.setattr(Worker, "process", slow)
    daemon.one_pass()
    assert len(running) == 150 and smtp.messages == []
    assert all(running), running.index(False)


def test_an_inbox_read_every_pass_but_never_marked_keeps_its_outages_start_and_raises_the_alarm(
        clean_dovecot, smtp_server, tmp_path, monkeypatch):
    # The mail is read (intake works) and answered, but marking it fails at every pass (`move_to` names a
    # folder Dovecot does not have): that is one outage from its first failure, not a new one each pass.
    path = write_rules(tmp_path, clean_dovecot, smtp_server)
    data = yaml.safe_load(path.read_text())
    data["mailboxes"]["international"]["processed"] = {"move_to": "Processed/Nowhere"}
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    monkeypatch.setenv("MAILFLOW_TEST_PASSWORD", "secret")
    clock = SettableClock(datetime.now(UTC).replace(microsecond=0))
    start = stamp(clock())
    clean_dovecot.append(INTL_USER, make_mail(sender="nino@tbilisi.gov.ge"))
    assert any("cannot mark processed" in error for error in one_pass(path, clock).errors)
    clock.advance(minutes=30)
    clean_dovecot.append(INTL_USER, make_mail(sender="giorgi@tbilisi.gov.ge"))   # read, answered, not marked
    one_pass(path, clock)
    assert f"IMAP failing since {start}" in status(path)
    clock.advance(minutes=31)
    one_pass(path, clock)
    alarms = [m.message for m in smtp_server.messages if "[mailflow]" in m.message["Subject"]]
    assert [m["To"] for m in alarms] == ["Fatina Toukan <german@cc-events.example>"], alarms
    assert "cannot mark processed" in alarms[0].get_body().get_content()
