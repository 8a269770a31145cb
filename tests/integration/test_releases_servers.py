"""Releases, reminders and invitations against a real Dovecot and a real aiosmtpd server.

Registrants are made the way they are made in production: interest mails are
delivered to the international coordinator's Dovecot INBOX and a pass of the
worker records them (and acknowledges them). Every test then checks what the
SMTP server really received: envelope sender and recipients, Message-IDs and
the parsed mail. The worker's clock is set by the tests (event: 7 October 2020,
13:00-15:30 Europe/Berlin = 11:00-13:30Z).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import icalendar
import pytest
import vobject
import yaml
from click.testing import CliRunner

from mailflow import registrants, releases
from mailflow.cli import main
from mailflow.clock import system_clock
from mailflow.database import open_database
from mailflow.replies import Replies
from mailflow.rules import load_rules
from mailflow.states import RegistrantStatus
from tests.support import REPO
from tests.support.mail import calendar_answer, make_mail
from tests.support.rules import write_rules
from tests.support.servers import INTL_USER, one_pass

EVENT_ID = "digitalisation-see-2020"
INTL_ADDRESS = "international@cc-events.example"
EVENT_START_UTC = datetime(2020, 10, 7, 11, 0, tzinfo=UTC)
EVENT_END_UTC = datetime(2020, 10, 7, 13, 30, tzinfo=UTC)
BEFORE_EVERYTHING = datetime(2020, 9, 20, 9, 0, tzinfo=UTC)   # registration period
AGENDA_V1 = "13:00 Welcome\n13:15 Panel: e-services in municipalities\n14:30 Discussion\n"
AGENDA_V2 = "13:00 Welcome\n13:15 Keynote: one-stop shops\n14:30 Discussion\n"

# What a mail is, by the subject line of the international templates.
SUBJECTS = {
    "ack": "Your registration:",
    "agenda": "Agenda:",
    "agenda_update": "Updated agenda:",
    "access": "Access link:",
    "access_changed": "Changed access link:",
    "reminder": "Reminder:",
    "cancel": "Cancellation confirmed:",
    "calendar_cancel": "Cancelled:",
}


class Clock:
    def __init__(self, moment: datetime):
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


@pytest.fixture
def rules_path(tmp_path, servers):
    """These tests are about dates: the shipped 2020 event, with the clock pinned by each test."""
    return write_rules(tmp_path, *servers, ahead=False)


def address(i: int) -> str:
    return f"expert{i}@city{i}.gov.ge"


def interest_mails(numbers) -> list[bytes]:
    return [make_mail(sender=f"Expert {i} <{address(i)}>", message_id=f"<interest-{i}@city{i}.gov.ge>")
            for i in numbers]


def kind_of(received) -> str:
    subject = received.message["Subject"]
    for kind, prefix in SUBJECTS.items():
        if subject.startswith(prefix):
            return kind
    raise AssertionError(f"unexpected mail at the SMTP server: {subject!r} to {received.rcpt_tos}")


def of_kind(smtp, kind: str) -> list:
    return [m for m in smtp.messages if kind_of(m) == kind]


def recipients(messages) -> Counter:
    return Counter(r for m in messages for r in m.rcpt_tos)


def message_ids(messages) -> list[str]:
    return [m.message["Message-ID"] for m in messages]


def register_by_mail(dovecot, smtp, rules_path: Path, numbers, clock: Clock) -> None:
    """Deliver interest mails to the international INBOX, run one pass; every sender is
    registered and acknowledged. The SMTP server is cleared afterwards."""
    numbers = list(numbers)
    dovecot.append_many(INTL_USER, interest_mails(numbers), msg_time=clock())   # arrived "now"
    report = one_pass(rules_path, clock)
    assert (report.recorded, report.processed, report.quarantined, report.errors) == (len(numbers),) * 2 + (0, [])
    assert report.sent == len(numbers)
    acks = of_kind(smtp, "ack")
    assert len(smtp.messages) == len(acks)
    assert recipients(acks) == Counter(address(i) for i in numbers)
    smtp.clear()


def database(rules_path: Path):
    return open_database(rules_path.parent / "mailflow.db")


def release_rows(db, kind: str) -> list[dict]:
    return list(db.query("select * from outbox where kind = ? order by id", [kind]))


def assert_nothing_more(smtp, settle: float = 0.2) -> None:
    time.sleep(settle)
    assert smtp.messages == [], [(m.rcpt_tos, m.message["Subject"]) for m in smtp.messages]


def agenda_file(tmp_path: Path, text: str, name: str = "agenda.md") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- 1. a release reaches every active registrant exactly once -----------------------


def exclude_five(db) -> set[str]:
    """3 cancel, 2 bounce: the five addresses a release must not reach."""
    cancelled = [address(i) for i in (3, 77, 150)]
    bounced = [address(i) for i in (10, 199)]
    for a in cancelled:
        assert registrants.cancel(db, EVENT_ID, a)["status"] == RegistrantStatus.CANCELLED
    for a in bounced:
        assert registrants.mark_undeliverable(db, a) == 1
    return set(cancelled) | set(bounced)


def assert_agenda_v1_to(smtp, db, expected: set[str]) -> None:
    agendas = of_kind(smtp, "agenda")
    assert len(smtp.messages) == len(agendas) == len(expected) == 200
    counts = recipients(agendas)
    assert set(counts) == expected and set(counts.values()) == {1}
    assert {m.mail_from for m in agendas} == {INTL_ADDRESS}
    for received in agendas:
        mail = received.message
        assert mail["To"].addresses[0].addr_spec == received.rcpt_tos[0]
        assert mail["From"].addresses[0].addr_spec == INTL_ADDRESS
        assert mail["Auto-Submitted"] == "auto-generated"
        assert "13:15 Panel: e-services in municipalities" in mail.get_content()
    rows = release_rows(db, "release:agenda:v1")
    assert {r["state"] for r in rows} == {"sent"}
    assert sorted(message_ids(agendas)) == sorted(r["message_id"] for r in rows)
    assert len(set(message_ids(agendas))) == 200


def test_release_to_200_of_205_registrants_with_the_library(servers, rules_path):
    dovecot, smtp = servers
    clock = Clock(BEFORE_EVERYTHING)
    register_by_mail(dovecot, smtp, rules_path, range(205), clock)
    rules = load_rules(rules_path)
    db = database(rules_path)
    excluded = exclude_five(db)

    release, is_new = releases.candidate(db, EVENT_ID, "agenda", text=AGENDA_V1)
    assert is_new and release.version == 1
    saved = releases.save(db, release, "test")
    replies = Replies(rules.templates_path)
    assert releases.fan_out(db, rules, replies, saved) == 200
    assert releases.fan_out(db, rules, replies, saved) == 0          # idempotent
    time.sleep(0.1)
    assert smtp.messages == []                                       # fan-out only queues

    report = one_pass(rules_path, clock)                             # the daemon's pass sends them
    assert (report.sent, report.failed, report.errors) == (200, 0, [])
    expected = {address(i) for i in range(205)} - excluded
    assert_agenda_v1_to(smtp, db, expected)

    smtp.clear()
    again = one_pass(rules_path, clock)
    assert (again.announced, again.sent) == (0, 0)
    assert_nothing_more(smtp)


def test_release_to_200_of_205_registrants_with_the_cli(servers, rules_path, tmp_path):
    dovecot, smtp = servers
    register_by_mail(dovecot, smtp, rules_path, range(205), Clock(BEFORE_EVERYTHING))
    db = database(rules_path)
    excluded = exclude_five(db)
    text = agenda_file(tmp_path, AGENDA_V1)

    command = ["--rules", str(rules_path), "release", "agenda", "--text", str(text), "--yes"]
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 0, result.output
    assert "agenda v1 for event digitalisation-see-2020 (new version)" in result.output
    assert "registrants by status: bounced 2, cancelled 3, registered 200" in result.output
    assert "queued 200 mails (agenda v1)" in result.output
    assert "sent 200, failed 0, deferred 0" in result.output
    assert_agenda_v1_to(smtp, db, {address(i) for i in range(205)} - excluded)

    smtp.clear()
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 0, result.output
    assert "agenda v1 for event digitalisation-see-2020 (unchanged, already released)" in result.output
    assert "nobody is waiting for this release" in result.output
    assert "queued" not in result.output
    assert_nothing_more(smtp)


def test_a_release_the_running_mailflow_took_while_the_command_waited_says_so(servers, rules_path, tmp_path,
                                                                             monkeypatch):
    """The command saves the version, then waits for the send lock while the daemon's pass sends; that pass fans
    the saved version out itself. The command said "queued 0 ... sent 0", read as a failure, though everyone
    got it."""
    dovecot, smtp = servers
    register_by_mail(dovecot, smtp, rules_path, range(3), Clock(BEFORE_EVERYTHING))
    fan_out = releases.fan_out

    def the_daemon_first(db, rules, replies, release, **options):
        fan_out(db, rules, replies, release)   # (the daemon's pass, between the save and this command's fan-out)
        return fan_out(db, rules, replies, release, **options)

    monkeypatch.setattr(releases, "fan_out", the_daemon_first)
    result = CliRunner().invoke(main, ["--rules", str(rules_path), "release", "agenda", "--text",
                                       str(agenda_file(tmp_path, AGENDA_V1)), "--yes"])
    assert result.exit_code == 0, result.output
    assert "queued 0 mails (agenda v1)" in result.output
    assert "the running mailflow queued 3 of them meanwhile; this release now: sent 3" in result.output
    assert recipients(of_kind(smtp, "agenda")) == Counter(address(i) for i in range(3))


# -- 2. a late registrant ------------------------------------------------------------


def test_late_registrant_gets_the_ack_then_the_agenda(servers, rules_path):
    dovecot, smtp = servers
    clock = Clock(BEFORE_EVERYTHING)
    register_by_mail(dovecot, smtp, rules_path, range(3), clock)
    rules = load_rules(rules_path)
    db = database(rules_path)
    release, _ = releases.candidate(db, EVENT_ID, "agenda", text=AGENDA_V1)
    releases.fan_out(db, rules, Replies(rules.templates_path), releases.save(db, release, "test"))
    assert one_pass(rules_path, clock).sent == 3
    assert recipients(of_kind(smtp, "agenda")) == Counter(address(i) for i in range(3))
    smtp.clear()

    late = address(3)
    dovecot.append_many(INTL_USER, interest_mails([3]), msg_time=clock())
    report = one_pass(rules_path, clock)
    # The ack goes first, alone (a new address may not exist), the agenda only once the ack is out
    # (bounce_grace_minutes is 0 in these tests: in the same pass; tests/unit/test_bounces.py waits).
    assert (report.processed, report.announced, report.sent, report.errors) == (1, 1, 2, [])
    assert [m.rcpt_tos for m in smtp.messages] == [[late], [late]]
    ack, agenda = smtp.messages
    assert kind_of(ack) == "ack" and kind_of(agenda) == "agenda"
    assert ack.message["In-Reply-To"] == "<interest-3@city3.gov.ge>"
    assert "13:15 Panel: e-services in municipalities" in agenda.message.get_content()
    assert [r["recipient"] for r in release_rows(db, "release:agenda:v1")] == [*map(address, range(4))]

    smtp.clear()
    assert one_pass(rules_path, clock).sent == 0
    assert_nothing_more(smtp)


# -- 3. a second version -------------------------------------------------------------


def test_agenda_v2_reaches_only_v1_recipients_as_an_update_with_the_changes(servers, rules_path):
    dovecot, smtp = servers
    clock = Clock(BEFORE_EVERYTHING)
    register_by_mail(dovecot, smtp, rules_path, range(3), clock)
    rules = load_rules(rules_path)
    replies = Replies(rules.templates_path)
    db = database(rules_path)
    v1, _ = releases.candidate(db, EVENT_ID, "agenda", text=AGENDA_V1)
    releases.fan_out(db, rules, replies, releases.save(db, v1, "test"))
    assert one_pass(rules_path, clock).sent == 3
    smtp.clear()
    registrants.cancel(db, EVENT_ID, address(2))        # got v1, then cancelled: no update

    v2, is_new = releases.candidate(db, EVENT_ID, "agenda", text=AGENDA_V2)
    assert is_new and v2.version == 2
    assert releases.fan_out(db, rules, replies, releases.save(db, v2, "test")) == 2
    assert one_pass(rules_path, clock).sent == 2
    updates = of_kind(smtp, "agenda_update")
    assert len(smtp.messages) == len(updates) == 2
    assert recipients(updates) == Counter([address(0), address(1)])
    for received in updates:
        lines = received.message.get_content().splitlines()
        assert "“13:15 Panel: e-services in municipalities” now reads “13:15 Keynote: one-stop shops”." in lines
        assert not any(line.startswith(("-", "+", "@@")) for line in lines)   # sentences, not a diff
        assert AGENDA_V2.splitlines() == lines[lines.index("The complete agenda as it stands now:") + 2:][:3]
        assert "version 2" in received.message.get_content()
        assert received.message["Subject"].startswith("Updated agenda:")

    # Someone registering now never had v1: they get v2 as a plain agenda, not an update.
    smtp.clear()
    dovecot.append_many(INTL_USER, interest_mails([3]), msg_time=clock())
    assert one_pass(rules_path, clock).sent == 2        # the ack first, the agenda once it is out (no grace here)
    assert [kind_of(m) for m in smtp.messages] == ["ack", "agenda"]
    assert recipients(smtp.messages) == Counter({address(3): 2})
    text = smtp.messages[1].message.get_content()
    assert "13:15 Keynote: one-stop shops" in text and "Panel" not in text
    assert [r["recipient"] for r in release_rows(db, "release:agenda:v2")] == [address(0), address(1), address(3)]


# -- 4. killed in the middle of sending ----------------------------------------------


def test_kill_during_fan_out_then_restart_sends_each_registrant_one_copy(servers, tmp_path):
    dovecot, smtp = servers
    n = 40
    # 600 a minute: one mail every 0.1 s, so the kill lands while mailflow waits between mails.
    rules_path = write_rules(tmp_path, dovecot, smtp, send_rate_per_minute=600)
    register_by_mail(dovecot, smtp, rules_path, range(n), Clock(BEFORE_EVERYTHING))
    text = agenda_file(tmp_path, AGENDA_V1)
    env = {**os.environ, "MAILFLOW_TEST_PASSWORD": "secret"}
    log_path = tmp_path / "release.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "mailflow", "--rules", str(rules_path), "release", "agenda", "--text", str(text),
             "--yes"], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    try:
        smtp.wait_for(12, timeout=30)
        time.sleep(0.04)             # away from the moment between the server's 250 and mailflow's commit
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=10) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    before_restart = list(smtp.messages)
    assert 12 <= len(before_restart) < n, log_path.read_text()
    db = database(rules_path)
    rows = release_rows(db, "release:agenda:v1")
    assert len(rows) == n                                   # all queued before sending began
    states = Counter(r["state"] for r in rows)
    received_ids = set(message_ids(before_restart))
    interrupted = [(r["id"], r["recipient"], r["state"], r["message_id"] in received_ids)
                   for r in rows if r["state"] == "sending"]
    # Rows in `sending` whose Message-ID already reached the server (True) are the kill that
    # landed between the server's 250 and mailflow's commit: reported with any duplicate below.

    # Restart: one pass of `mailflow run --once` finishes the fan-out.
    write_rules(tmp_path, dovecot, smtp, send_rate_per_minute=0)
    result = CliRunner().invoke(main, ["--rules", str(rules_path), "run", "--once"])
    assert result.exit_code == 0, result.output
    assert f"sent {n - len(before_restart)}, failed 0" in result.output

    agendas = of_kind(smtp, "agenda")
    assert len(smtp.messages) == len(agendas)
    counts = recipients(agendas)
    duplicates = {a: c for a, c in counts.items() if c != 1}
    assert not duplicates, (f"duplicates {duplicates}; outbox after the kill: {dict(states)}, rows in `sending` "
                            f"(id, recipient, state, already at the server): {interrupted}")
    assert set(counts) == {address(i) for i in range(n)}
    ids = message_ids(agendas)
    assert len(ids) == len(set(ids)) == n
    rows = release_rows(db, "release:agenda:v1")
    assert sorted(ids) == sorted(r["message_id"] for r in rows)
    assert {r["state"] for r in rows} == {"sent"}


@pytest.mark.parametrize("sent_copy", ["none", "provider"])
def test_kill_between_the_servers_250_and_the_commit_does_not_send_twice(servers, tmp_path, sent_copy, caplog):
    """The window the test above stays away from: the server has the mail, the worker never heard
    the 250 (killed while the server held its answer). The journal says the mail was begun.
    - A provider that files each accepted mail in Sent (sent_copy: provider) settles it: sent.
    - With no copy to look in (sent_copy: none) nobody can know: it is held as `uncertain` for a
      coordinator and never sent again by itself."""
    dovecot, smtp = servers
    n, held_at = 30, 10
    rules_path = write_rules(tmp_path, dovecot, smtp)
    register_by_mail(dovecot, smtp, rules_path, range(n), Clock(BEFORE_EVERYTHING))
    data = yaml.safe_load(rules_path.read_text())
    for box in data["mailboxes"].values():
        box["sent_copy"] = sent_copy
    rules_path.write_text(yaml.safe_dump(data, allow_unicode=True))
    accepted, holding, release_hold = [], threading.Event(), threading.Event()

    def provider(message) -> None:             # runs before the server's 250
        dovecot.append(INTL_USER, message.data, folder="Sent")
        accepted.append(message)
        if len(accepted) == held_at:
            holding.set()
            release_hold.wait(15)

    smtp.on_accept = provider
    text = agenda_file(tmp_path, AGENDA_V1)
    env = {**os.environ, "MAILFLOW_TEST_PASSWORD": "secret"}
    with open(tmp_path / "release.log", "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "mailflow", "--rules", str(rules_path), "release", "agenda", "--text", str(text),
             "--yes"], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            start_new_session=True)
    try:
        assert holding.wait(30), (tmp_path / "release.log").read_text()
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=10) == -signal.SIGKILL
    finally:
        release_hold.set()
        if process.poll() is None:
            process.kill()
            process.wait()
    smtp.wait_for(held_at)
    smtp.on_accept = lambda message: dovecot.append(INTL_USER, message.data, folder="Sent")
    db = database(rules_path)
    rows = release_rows(db, "release:agenda:v1")
    held_id = accepted[-1].message["Message-ID"]
    states = Counter(r["state"] for r in rows)
    # Rows are claimed (`sending`) a window at a time and committed as sent up to 100 at once, so the
    # first mails may still be `sending`: the journal says the server took them ("S"). Only the held
    # one was begun without an answer, and only the Sent folder could say that it arrived.
    from mailflow.dispatch import journal_records

    begun, accepted = journal_records(rules_path.parent / "mailflow.db-sent")
    by_id = {r["id"]: r for r in rows}
    assert len(accepted) + states["sent"] == held_at - 1 and states["sending"] + states["queued"] + states["sent"] == n
    assert [by_id[i]["message_id"] for i in begun - accepted] == [held_id]
    assert by_id[next(iter(begun - accepted))]["state"] == "sending"

    result = CliRunner().invoke(main, ["--rules", str(rules_path), "run", "--once"])
    assert result.exit_code == 0, result.output
    assert f"sent {n - held_at}, failed 0" in result.output
    settled = "found in the Sent folder" if sent_copy == "provider" else "held as uncertain"
    assert [r for r in caplog.records if held_id in r.getMessage() and settled in r.getMessage()]
    agendas = of_kind(smtp, "agenda")
    assert len(smtp.messages) == len(agendas) == n
    assert recipients(agendas) == Counter(address(i) for i in range(n))
    assert Counter(message_ids(agendas)).most_common(1)[0][1] == 1
    expected = {"sent"} if sent_copy == "provider" else {"sent", "uncertain"}
    assert {r["state"] for r in release_rows(db, "release:agenda:v1")} == expected


# -- 5. a reminder that came due while the daemon was down ---------------------------


def ics_of(received) -> icalendar.Calendar:
    (part,) = [p for p in received.message.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert part.get_filename() == "invitation.ics"
    assert part.get_param("method") == "REQUEST"
    return icalendar.Calendar.from_ical(part.get_content())


def assert_event_times(calendar: icalendar.Calendar) -> icalendar.Event:
    assert str(calendar["method"]) == "REQUEST"
    (vevent,) = calendar.walk("VEVENT")
    assert vevent.decoded("dtstart").astimezone(UTC) == EVENT_START_UTC
    assert vevent.decoded("dtend").astimezone(UTC) == EVENT_END_UTC
    assert str(vevent["dtstart"].params["TZID"]) == "Europe/Berlin"
    assert str(vevent["summary"]).startswith("Digitalisation of Municipal Services")
    return vevent


def test_reminder_due_while_the_daemon_was_down_is_sent_once_after_restart(servers, tmp_path):
    dovecot, smtp = servers
    events = yaml.safe_load((REPO / "rules.yaml").read_text())["events"]
    events[0]["reminders"] = [{"before": "1d"}]                    # due 2020-10-06 11:00Z
    rules_path = write_rules(tmp_path, dovecot, smtp, events=events)
    clock = Clock(BEFORE_EVERYTHING)
    register_by_mail(dovecot, smtp, rules_path, range(3), clock)

    clock.moment = datetime(2020, 10, 6, 10, 59, tzinfo=UTC)
    report = one_pass(rules_path, clock)
    assert (report.announced, report.sent) == (0, 0)
    assert_nothing_more(smtp, 0.1)
    (row,) = database(rules_path)["scheduled"].rows
    assert (row["name"], row["state"], row["due_at"]) == ("reminder:1d", "pending", "2020-10-06T11:00:00+00:00")

    clock.moment = datetime(2020, 10, 7, 8, 0, tzinfo=UTC)    # the daemon was down at 11:00Z the day before
    report = one_pass(rules_path, clock)
    assert (report.announced, report.sent, report.errors) == (3, 3, [])
    reminders = of_kind(smtp, "reminder")
    assert len(smtp.messages) == len(reminders) == 3
    assert recipients(reminders) == Counter(address(i) for i in range(3))
    for received in reminders:
        assert received.mail_from == INTL_ADDRESS
        assert received.message["Subject"].endswith(" in 3 hours")   # the time really left, not "in 1 day"
        assert "15:00–17:30 Tbilisi time" in received.message.get_body(("plain",)).get_content()
        assert_event_times(ics_of(received))
    (row,) = database(rules_path)["scheduled"].rows
    assert row["state"] == "done"

    smtp.clear()
    clock.moment = datetime(2020, 10, 7, 9, 0, tzinfo=UTC)
    report = one_pass(rules_path, clock)
    assert (report.announced, report.sent) == (0, 0)
    assert_nothing_more(smtp)


def test_a_restored_database_sends_nobody_a_release_again_that_went_out_after_its_backup(servers, rules_path,
                                                                                        tmp_path):
    """The agenda's second version and the access link went out after the last backup; the disk dies and the
    backup is restored. The coordinator does the natural thing and releases both again: everyone got both a
    second time (the restored database had no row of them). Now the pass reads them in the Sent folder
    (X-Mailflow names the event and the kind) and records them as sent: nobody gets anything twice."""
    import sqlite3

    dovecot, smtp = servers
    clock = Clock(BEFORE_EVERYTHING)
    register_by_mail(dovecot, smtp, rules_path, range(3), clock)

    def release(*args: str) -> str:
        result = CliRunner().invoke(main, ["--rules", str(rules_path), "release", *args, "--yes"])
        assert result.exit_code == 0, result.output
        return result.output

    assert "sent 3, failed 0" in release("agenda", "--text", str(agenda_file(tmp_path, AGENDA_V1, "v1.md")))
    live, copy = rules_path.parent / "mailflow.db", tmp_path / "backup.db"
    with sqlite3.connect(live) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    again = [("agenda", "--text", str(agenda_file(tmp_path, AGENDA_V2, "v2.md"))),
             ("access", "--link", "https://meet.example/digitalisation-see")]
    for args in again:
        assert "sent 3, failed 0" in release(*args)
    smtp.clear()

    for name in ("mailflow.db", "mailflow.db-wal", "mailflow.db-shm", "mailflow.db-sent"):
        (rules_path.parent / name).unlink(missing_ok=True)
    copy.rename(live)
    assert one_pass(rules_path, clock).sent == 0
    found = database(rules_path).execute("select found from mailbox_state where mailbox = 'international'")
    assert "6 releases and reminders among them recorded as sent" in found.fetchone()[0]
    for args, version in zip(again, ("agenda v2", "access v1"), strict=True):
        assert f"queued 0 mails ({version})" in release(*args)
    assert one_pass(rules_path, clock).sent == 0
    assert_nothing_more(smtp)


def test_a_release_right_after_a_restore_reads_the_sent_folder_first(servers, rules_path, tmp_path):
    """The coordinator restores the backup and releases the access link again before any pass ran: the
    command did not read the Sent folder, and everyone got the link twice."""
    import sqlite3

    dovecot, smtp = servers
    clock = Clock(BEFORE_EVERYTHING)
    register_by_mail(dovecot, smtp, rules_path, range(3), clock)
    live, copy = rules_path.parent / "mailflow.db", tmp_path / "backup.db"
    with sqlite3.connect(live) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    assert "sent 3, failed 0" in release_access(rules_path, "--link", "https://meet.example/digitalisation-see")
    smtp.clear()
    for name in ("mailflow.db", "mailflow.db-wal", "mailflow.db-shm", "mailflow.db-sent"):
        (rules_path.parent / name).unlink(missing_ok=True)
    copy.rename(live)
    output = release_access(rules_path, "--link", "https://meet.example/digitalisation-see")
    assert "3 releases and reminders were found in the Sent folders" in output
    assert "queued 0 mails (access v1)" in output
    assert one_pass(rules_path, clock).sent == 0
    assert_nothing_more(smtp)



def test_a_release_leaves_a_mailbox_whose_sent_folder_cannot_be_read_to_the_next_pass(servers, rules_path):
    """The folder says what went out already; without it the command sends nothing of that mailbox, says so,
    and the next pass that can read it sends the release."""
    dovecot, smtp = servers
    clock = Clock(BEFORE_EVERYTHING)
    register_by_mail(dovecot, smtp, rules_path, range(3), clock)
    good = rules_path.read_text()
    write_rules(rules_path.parent, *servers, ahead=False, mailbox={"sent_folder": "Gone"})
    output = release_access(rules_path, "--link", "https://meet.example/digitalisation-see")
    assert "sent 0, failed 0" in output
    assert "not sent from german, international: their Sent folders could not be read" in output
    assert_nothing_more(smtp, 0.1)
    rules_path.write_text(good)
    assert one_pass(rules_path, clock).sent == 3
    assert recipients(of_kind(smtp, "access")) == Counter(address(i) for i in range(3))


# -- 6. the invitation of an access mail ---------------------------------------------


def test_access_mail_carries_an_invitation_starting_at_11_utc(servers, rules_path, tmp_path):
    dovecot, smtp = servers
    register_by_mail(dovecot, smtp, rules_path, range(2), Clock(BEFORE_EVERYTHING))
    link = "https://meet.example/digitalisation-see"
    result = CliRunner().invoke(main, ["--rules", str(rules_path), "release", "access", "--link", link, "--yes"])
    assert result.exit_code == 0, result.output
    assert "sent 2, failed 0" in result.output
    access = of_kind(smtp, "access")
    assert len(smtp.messages) == len(access) == 2
    assert recipients(access) == Counter([address(0), address(1)])
    for received in access:
        assert link in received.message.get_body(("plain",)).get_content()
        vevent = assert_event_times(ics_of(received))
        assert str(vevent["url"]) == link and str(vevent["location"]) == link
        assert str(vevent["organizer"]) == f"mailto:{INTL_ADDRESS}"


# -- 7. the invitation's updates and its cancellation (issue 14.7), read with vobject ----------


def vobject_ics(received):
    """The .ics of a mail the server received, read by vobject (a parser apart from icalendar, which
    wrote it); vobject keeps a TZID's first zone for the process, so it is forgotten first."""
    (part,) = [p for p in received.message.iter_attachments() if p.get_content_type() == "text/calendar"]
    vobject.icalendar.__dict__["__tzidMap"].pop("Europe/Berlin", None)
    cal = vobject.readOne(part.get_content())
    assert cal.method.value == part.get_param("method")
    return cal


def release_access(rules_path: Path, *options: str) -> str:
    result = CliRunner().invoke(main, ["--rules", str(rules_path), "release", "access", *options, "--yes"])
    assert result.exit_code == 0, result.output
    return result.output


def invitations_by_recipient(messages) -> dict[str, tuple[str, int, str]]:
    """recipient -> (UID, SEQUENCE, DESCRIPTION) of the REQUEST each one got."""
    found = {}
    for received in messages:
        cal = vobject_ics(received)
        assert cal.method.value == "REQUEST"
        assert cal.vevent.dtstart.value.astimezone(UTC) == EVENT_START_UTC   # the one-hour-off bug
        assert cal.vevent.dtend.value.astimezone(UTC) == EVENT_END_UTC
        assert cal.vevent.attendee.value == f"mailto:{received.rcpt_tos[0]}"
        (recipient,) = received.rcpt_tos
        found[recipient] = (cal.vevent.uid.value, int(cal.vevent.sequence.value), cal.vevent.description.value)
    return found


def registered_with_access(dovecot, smtp, rules_path: Path, count: int) -> tuple[Clock, dict]:
    """`count` experts registered by mail and sent the access mail: the clock, and each one's
    (UID, SEQUENCE, DESCRIPTION); the SMTP server's record is cleared after."""
    clock = Clock(BEFORE_EVERYTHING)
    register_by_mail(dovecot, smtp, rules_path, range(count), clock)
    assert f"sent {count}, failed 0" in release_access(rules_path, "--link", "https://meet.example/see")
    sent = invitations_by_recipient(of_kind(smtp, "access"))
    smtp.clear()
    return clock, sent


def test_a_changed_link_updates_the_invitation_same_uid_higher_sequence(servers, rules_path, tmp_path):
    dovecot, smtp = servers
    register_by_mail(dovecot, smtp, rules_path, range(2), Clock(BEFORE_EVERYTHING))
    assert "sent 2, failed 0" in release_access(rules_path, "--link", "https://meet.example/first")
    first = invitations_by_recipient(of_kind(smtp, "access"))
    assert set(first) == {address(0), address(1)}
    assert len({uid for uid, _, _ in first.values()}) == 2                # each registrant's own
    assert {(sequence, text) for _, sequence, text in first.values()} == {(0, "https://meet.example/first")}

    smtp.clear()
    release_access(rules_path, "--link", "https://meet.example/first")   # the same details: nothing new to send
    assert_nothing_more(smtp)

    details = tmp_path / "details.txt"
    details.write_text("Meeting ID 815 2020\nPasscode 4711\n", encoding="utf-8")
    assert "sent 2, failed 0" in release_access(rules_path, "--link", "https://meet.example/second",
                                                "--details", str(details))
    second = invitations_by_recipient(of_kind(smtp, "access_changed"))   # saying the first link is void
    assert len(smtp.messages) == 2
    for recipient, (uid, sequence, text) in second.items():
        assert uid == first[recipient][0]
        assert sequence == 1
        assert text == "https://meet.example/second\n\nMeeting ID 815 2020\nPasscode 4711"


def test_a_registrant_who_cancels_after_the_invitation_gets_its_cancel(servers, rules_path):
    dovecot, smtp = servers
    clock, sent = registered_with_access(dovecot, smtp, rules_path, 3)

    clock.moment = datetime(2020, 9, 25, 9, 0, tzinfo=UTC)
    dovecot.append_many(INTL_USER, [make_mail(sender=f"Expert 0 <{address(0)}>", subject="Cancellation",
                                              body="Dear colleagues,\n\nplease cancel my registration.\n\nExpert 0")],
                        msg_time=clock())
    report = one_pass(rules_path, clock)
    assert report.errors == []
    (cancel,) = of_kind(smtp, "calendar_cancel")
    assert cancel.rcpt_tos == [address(0)] and cancel.mail_from == INTL_ADDRESS
    cal = vobject_ics(cancel)
    assert cal.method.value == "CANCEL" and cal.vevent.status.value == "CANCELLED"
    assert cal.vevent.uid.value == sent[address(0)][0]
    assert int(cal.vevent.sequence.value) > sent[address(0)][1]
    assert cal.vevent.dtstart.value.astimezone(UTC) == EVENT_START_UTC
    assert {r for m in smtp.messages for r in m.rcpt_tos} == {address(0)}   # the others keep theirs

    smtp.clear()                          # cancelling again takes nothing back twice
    dovecot.append_many(INTL_USER, [make_mail(sender=f"Expert 0 <{address(0)}>", subject="Cancellation again",
                                              body="Please cancel my registration.\n\nExpert 0")],
                        msg_time=clock())
    one_pass(rules_path, clock)
    assert of_kind(smtp, "calendar_cancel") == []


def test_a_calendars_no_cancels_and_its_yes_changes_nothing(servers, rules_path):
    """Outlook's Decline on the invitation is a cancellation: the person is cancelled and their calendar
    gets the CANCEL; another registrant's Accept, their Decline of a meeting mailflow did not send (another
    UID) and of the first one's invitation (forwarded to them) are answered by nothing; `replay` agrees."""
    dovecot, smtp = servers
    clock, sent = registered_with_access(dovecot, smtp, rules_path, 2)

    clock.moment = datetime(2020, 9, 25, 9, 0, tzinfo=UTC)
    dovecot.append_many(INTL_USER, [calendar_answer(address(0), sent[address(0)][0], "DECLINED"),
                                    calendar_answer(address(1), sent[address(1)][0], "ACCEPTED"),
                                    # a No to the coordinator's own meeting, answered into the same inbox
                                    calendar_answer(address(1), "prep-call@cc-events.example", "DECLINED"),
                                    # a No to expert 0's invitation, which they forwarded to expert 1
                                    calendar_answer(address(1), sent[address(0)][0], "DECLINED")],
                        msg_time=clock())
    report = one_pass(rules_path, clock)
    assert (report.processed, report.errors) == (4, [])
    db = open_database(rules_path.parent / "mailflow.db")
    intents = db.execute("select sender, intent from messages where subject like 'Declined:%' "
                         "or subject like 'Accepted:%' order by id").fetchall()
    assert intents == [(address(0), "cancellation"), (address(1), "other"), (address(1), "other"),
                       (address(1), "other")]
    status = dict(db.execute("select address, status from registrants").fetchall())
    assert status == {address(0): RegistrantStatus.CANCELLED, address(1): RegistrantStatus.REGISTERED}
    (cancel,) = of_kind(smtp, "calendar_cancel")      # as for a cancellation by mail (whose reply the
    assert cancel.rcpt_tos == [address(0)]             # one-reply-a-week rule holds back after the ack)
    assert vobject_ics(cancel).vevent.uid.value == sent[address(0)][0]
    assert {r for m in smtp.messages for r in m.rcpt_tos} == {address(0)}   # the Yes is answered by nothing
    # `mailflow replay` reads the calendar's answers as the worker did: nothing would change
    replay = CliRunner().invoke(main, ["--rules", str(rules_path), "replay", "--with", str(rules_path)])
    assert replay.exit_code == 0 and replay.output.startswith("0 of "), replay.output


def test_a_coordinator_who_cancels_someone_takes_the_invitation_back_too(servers, tmp_path):
    """`mailflow set-status ADDRESS cancelled` (someone who cancelled by phone) sends the CANCEL for
    their calendar as a cancellation by mail does; the second time, nothing."""
    dovecot, smtp = servers
    rules_path = write_rules(tmp_path, *servers)   # the event a month ahead: the commands use the real clock
    register_by_mail(dovecot, smtp, rules_path, range(2), system_clock)
    assert "sent 2, failed 0" in release_access(rules_path, "--link", "https://meet.example/see")
    calendars = {m.rcpt_tos[0]: vobject_ics(m) for m in of_kind(smtp, "access")}
    assert {c.method.value for c in calendars.values()} == {"REQUEST"} and set(calendars) == {address(0), address(1)}
    sent = {r: (c.vevent.uid.value, int(c.vevent.sequence.value)) for r, c in calendars.items()}
    smtp.clear()

    command = ["--rules", str(rules_path), "set-status", address(0), "cancelled"]
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 0, result.output
    assert f"{address(0)} ({EVENT_ID}): the CANCEL for their calendar is queued" in result.output
    assert one_pass(rules_path).errors == []
    (cancel,) = of_kind(smtp, "calendar_cancel")
    assert cancel.rcpt_tos == [address(0)] and cancel.mail_from == INTL_ADDRESS
    cal = vobject_ics(cancel)
    assert cal.method.value == "CANCEL" and cal.vevent.uid.value == sent[address(0)][0]
    assert int(cal.vevent.sequence.value) > sent[address(0)][1]
    assert recipients(smtp.messages) == Counter([address(0)])   # the other keeps theirs

    smtp.clear()
    again = CliRunner().invoke(main, command)
    assert again.exit_code == 0 and "status is already cancelled; nothing changed" in again.output
    assert "CANCEL" not in again.output
    db = database(rules_path)
    registrants.mark_undeliverable(db, address(1))   # a bounced address gets nothing, the CANCEL neither
    db.close()
    bounced = CliRunner().invoke(main, ["--rules", str(rules_path), "set-status", address(1), "cancelled"])
    assert bounced.exit_code == 0 and "status bounced -> cancelled" in bounced.output
    assert "CANCEL" not in bounced.output
    one_pass(rules_path)
    assert_nothing_more(smtp)


def test_a_cancel_that_cannot_be_written_leaves_the_status_as_it_was(servers, tmp_path):
    """A broken calendar_cancel template stops `set-status ... cancelled` whole: the status is not
    changed without its CANCEL, and the coordinator is told so, with the template's file and line."""
    dovecot, smtp = servers
    templates = tmp_path / "templates"
    shutil.copytree(REPO / "templates", templates)
    (templates / "calendar_cancel_international.txt").write_text("Subject: {{ event.title }\n\nx\n", encoding="utf-8")
    rules_path = write_rules(tmp_path, *servers, templates=str(templates))
    register_by_mail(dovecot, smtp, rules_path, range(1), system_clock)
    assert "sent 1, failed 0" in release_access(rules_path, "--link", "https://meet.example/see")

    result = CliRunner().invoke(main, ["--rules", str(rules_path), "set-status", address(0), "cancelled"])
    assert result.exit_code == 1
    assert "status not changed: the CANCEL for their calendar cannot be written" in result.output
    assert "calendar_cancel_international.txt:1" in result.output
    db = database(rules_path)
    assert db.execute("select status from registrants").fetchall() == [("registered",)]
    assert db.execute("select count(*) from corrections").fetchone() == (0,)
    db.close()


def test_a_registrant_who_cancels_before_the_invitation_went_out_gets_neither(servers, rules_path):
    dovecot, smtp = servers
    clock = Clock(BEFORE_EVERYTHING)
    register_by_mail(dovecot, smtp, rules_path, range(2), clock)
    rules = load_rules(rules_path)
    db = database(rules_path)
    db_release, _ = releases.candidate(db, EVENT_ID, "access", link="https://meet.example/see")
    assert releases.fan_out(db, rules, Replies(rules.templates_path), releases.save(db, db_release, "test")) == 2

    dovecot.append_many(INTL_USER, [make_mail(sender=f"Expert 1 <{address(1)}>", subject="Cancellation",
                                              body="Please cancel my registration.\n\nExpert 1")],
                        msg_time=clock())
    report = one_pass(rules_path, clock)                  # the cancellation is read before the queue is sent
    assert report.errors == []
    assert recipients(of_kind(smtp, "access")) == Counter([address(0)])
    assert of_kind(smtp, "calendar_cancel") == []
    (row,) = [r for r in release_rows(db, "release:access:v1") if r["recipient"] == address(1)]
    assert (row["state"], row["error"]) == ("cancelled", "not sent: the registrant cancelled")
