"""An event's id renamed in rules.yaml after people registered: the database knows its registrants by the old
id, so releases and reminders went to nobody and `check` passed. `check`, the daemon's start and reloads, and a
release or reminder of the event that has nobody now say so, with the old id, the count, the line and the fix."""

from __future__ import annotations

import logging
from datetime import timedelta

from click.testing import CliRunner

from mailflow import releases, runner
from mailflow.cli import main
from mailflow.database import open_for
from mailflow.replies import Replies
from mailflow.rules import load_rules
from tests.support.rules import write_rules

OLD, NEW = "digitalisation-see-2020", "my-city-forum"


def registered(rules_path, count=3):
    """`count` registrants (the last one cancelled) of the shipped event, under its id."""
    db = open_for(load_rules(rules_path))
    for i in range(count):
        db.execute("insert into registrants (event_id, address, name, audience, status, created_at) "
                   "values (?, ?, ?, 'international', ?, '2020-09-20T10:00:00+00:00')",
                   [OLD, f"expert{i}@city{i}.gov.ge", f"Expert {i}", "cancelled" if i == count - 1 else "registered"])
    db.close()


def renamed(rules_path):
    text = rules_path.read_text()
    assert f"id: {OLD}" in text
    rules_path.write_text(text.replace(f"id: {OLD}", f"id: {NEW}"))
    return load_rules(rules_path)


def cli(rules_path, *args):
    return CliRunner().invoke(main, ["--rules", str(rules_path), *args])


def test_check_names_the_old_id_its_registrants_the_line_and_the_fix(tmp_path):
    path = write_rules(tmp_path)
    registered(path)
    assert "registrants" not in cli(path, "check").output   # the id as it was: nothing to say
    rules = renamed(path)
    db = open_for(rules)
    db.execute("insert into outbox (message_id, kind, mailbox, registrant_id, recipient, raw, state) values "
               "('<r1@x>', 'release:agenda:v1', 'international', 1, 'expert0@city0.gov.ge', x'00', 'queued')")
    db.close()
    result = cli(path, "check")
    assert result.exit_code == 0, result.output   # a warning: an event removed because it is over is history
    events, new_id = rules.line_of("events"), rules.line_of("events", 0, "id")
    assert (f"warning: {rules.source}:{events}: the database holds 3 registrants (2 active) of event {OLD!r}, which "
            f"rules.yaml's events no longer name; 1 mail to them still to send; event {NEW!r} (line {new_id}) has "
            f"none: renamed from {OLD!r}? "
            f"(if you renamed the event, put `id: {OLD}` back: ids cannot change once people registered") \
        in result.output


def test_an_event_removed_after_it_ended_is_only_history(tmp_path):
    """The next event of a series in its place: its own registrants, so nothing looks renamed."""
    path = write_rules(tmp_path)
    registered(path)
    rules = renamed(path)
    db = open_for(rules)
    db.execute("insert into registrants (event_id, address, audience, status) values (?, 'a@b.org', 'german', "
               "'registered')", [NEW])
    db.close()
    result = cli(path, "check")
    assert result.exit_code == 0
    assert f"3 registrants (2 active) of event {OLD!r}, which rules.yaml's events no longer name (if" in result.output
    assert "renamed from" not in result.output


def test_a_release_of_the_renamed_event_says_where_its_people_are(tmp_path):
    path = write_rules(tmp_path)
    registered(path)
    renamed(path)
    (tmp_path / "agenda.txt").write_text("09:00 Welcome\n")
    result = cli(path, "release", "agenda", "--text", str(tmp_path / "agenda.txt"), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "nobody is waiting for this release" in result.output
    assert (f"note: event {NEW!r} has no registrants, but the database holds 3 registrants of event {OLD!r}, which "
            f"{tmp_path / 'rules.yaml'} (line ") in result.output
    assert f"no longer names: if you renamed the event, put `id: {OLD}` back" in result.output


def test_the_daemon_warns_at_start_and_a_reminder_to_nobody_says_why(tmp_path, caplog):
    path = write_rules(tmp_path)
    registered(path)
    rules = renamed(path)
    caplog.set_level(logging.WARNING)
    worker = runner.server_worker(rules)   # as at the daemon's start, a reload, `run --once`
    try:
        assert any(f"3 registrants (2 active) of event {OLD!r}" in r.getMessage() for r in caplog.records)
        caplog.clear()
        event = rules.events[0]
        queued = releases.run_due_reminders(worker.db, rules, Replies(rules.templates_path),
                                            event.starts_at - timedelta(minutes=50))
        assert queued == 0
        assert [r.getMessage() for r in caplog.records if "goes to nobody" in r.getMessage()] == [
            f"event={NEW} reminder:1h goes to nobody: event {NEW!r} has no registrants, but the database holds 3 "
            f"registrants of event {OLD!r}, which {rules.source} (line {rules.line_of('events')}, `events:`) no longer "
            f"names: if you renamed the event, put `id: {OLD}` back (ids cannot change once people registered); "
            "`mailflow check` lists them"]
    finally:
        runner.close_worker(worker)


def test_the_last_event_of_a_series_is_no_rename(tmp_path):
    """A series: the 2020 event over (its confirmations expired then), rules.yaml now names the next one. `check`
    asked "renamed from ...?" and told the coordinator to put the old id back, which would give the new event the
    old one's people (a review)."""
    path = write_rules(tmp_path)
    registered(path)
    renamed(path)
    db = open_for(load_rules(path))
    db.execute("insert into outbox (message_id, kind, mailbox, registrant_id, recipient, raw, state, expires_at) "
               "values ('<c1@x>', 'reply:interest', 'international', 1, 'expert0@city0.gov.ge', x'00', 'sent', "
               "'2020-10-07T13:30:00+00:00')")
    db.close()
    result = cli(path, "check")
    assert result.exit_code == 0 and "registrants" not in result.output and "renamed" not in result.output, \
        result.output
