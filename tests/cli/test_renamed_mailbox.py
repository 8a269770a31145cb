"""A mailbox renamed or removed in rules.yaml while the database still holds mail waiting for it: its
rows keep the old name, so that mail would wait forever. `run` refuses to start, a running daemon
keeps its last good rules, and `check` says so, each with the line and the fix."""

from __future__ import annotations

import logging
import sqlite3

import pytest
import yaml
from click.testing import CliRunner

from mailflow import runner
from mailflow.cli import main
from mailflow.database import open_for
from mailflow.errors import RulesError
from mailflow.rules import load_rules
from tests.support.rules import write_rules


def rename(rules_path, old, new):
    """The mailbox's key renamed; its audience (named after the key unless given) kept."""
    data = yaml.safe_load(rules_path.read_text())
    data["mailboxes"][new] = {"audience": old, **data["mailboxes"].pop(old)}
    rules_path.write_text(yaml.safe_dump(data, allow_unicode=True))


def mailboxes_line(rules_path):
    return next(i for i, line in enumerate(rules_path.read_text().splitlines(), 1) if line == "mailboxes:")


def seed(rules_path, reply_state, recorded):
    """The database of `rules_path` with one reply in `reply_state` for `international`, and a mail
    recorded there when `recorded`; the mailbox was opened before."""
    db = open_for(load_rules(rules_path))
    db.execute("insert into outbox (message_id, kind, mailbox, recipient, raw, state) "
               "values ('<r1@x>', 'reply:interest', 'international', 'nino@tbilisi.gov.ge', x'00', ?)", [reply_state])
    if recorded:
        db.execute("insert into messages (mailbox, key, state, recorded_at) "
                   "values ('international', 'k1', 'recorded', '2026-11-29T10:00:00+00:00')")
    db.execute("insert into mailbox_state (mailbox, first_opened_at) values ('international', '2026-11-01')")
    db.conn.commit()
    db.close()
    return rules_path


@pytest.fixture
def waiting(tmp_path):
    """The shipped rules' database with one reply queued and one mail recorded for `international`."""
    return seed(write_rules(tmp_path), "queued", recorded=True)


@pytest.mark.parametrize("reply_state, recorded, says", [
    ("sending", False, "1 mail to send"), ("uncertain", False, "1 mail to send"),
    ("failed", True, "1 mail recorded and not processed yet"),
])
def test_every_kind_of_waiting_mail_refuses(tmp_path, reply_state, recorded, says):
    rules_path = seed(write_rules(tmp_path), reply_state, recorded)
    rename(rules_path, "international", "intl")
    with pytest.raises(RulesError) as caught:
        runner.server_worker(load_rules(rules_path))
    assert caught.value.problems[0].message.endswith(f"still waiting in the database: {says}")


def test_a_pass_refuses_to_start_with_the_line_and_the_fix(waiting):
    rename(waiting, "international", "intl")
    with pytest.raises(RulesError) as caught:
        runner.server_worker(load_rules(waiting))
    (problem,) = caught.value.problems
    assert (problem.file, problem.line) == (str(waiting), mailboxes_line(waiting))
    assert problem.message == ("mailbox 'international' is not named any more, but its mail is still waiting "
                               "in the database: 1 mail to send, 1 mail recorded and not processed yet")
    assert "give it back its name 'international'" in problem.hint and "mailflow outbox cancel ID" in problem.hint
    assert "daemon" not in problem.hint   # the same words refuse a start, where no daemon runs

    result = CliRunner().invoke(main, ["--rules", str(waiting), "run", "--once"])
    assert result.exit_code != 0 and "mailbox 'international' is not named any more" in result.output


def test_check_says_so_and_fails_whether_a_daemon_has_the_database_open_or_not(waiting):
    """Without a daemon, `check` reads the file as immutable: it leaves no -wal or -shm file behind,
    owned by whoever ran it, which a daemon running as another user could not take over."""
    rename(waiting, "international", "intl")
    said = f"{waiting}:{mailboxes_line(waiting)}: mailbox 'international' is not named any more"
    result = CliRunner().invoke(main, ["--rules", str(waiting), "check"])
    assert result.exit_code == 1 and said in result.output
    assert sorted(p.name for p in waiting.parent.glob("mailflow.db*")) == ["mailflow.db"]

    daemon = sqlite3.connect(waiting.parent / "mailflow.db")   # a writer with the WAL open, as a daemon
    daemon.execute("insert into messages (mailbox, key, state, recorded_at) values ('international', 'k2', "
                   "'recorded', '2026-11-29T11:00:00+00:00')")
    daemon.commit()
    assert (waiting.parent / "mailflow.db-wal").exists()
    result = CliRunner().invoke(main, ["--rules", str(waiting), "check"])
    daemon.close()
    assert result.exit_code == 1 and said in result.output
    assert "2 mails recorded and not processed yet" in result.output   # what only the WAL holds yet


def test_a_running_daemon_keeps_its_last_good_rules(waiting, caplog):
    daemon = runner.Daemon(waiting)
    rename(waiting, "international", "intl")
    daemon.reload_requested = True
    with caplog.at_level(logging.ERROR):
        daemon.reload_rules_if_changed()
    assert set(daemon.rules.mailboxes) == {"international", "german"}
    assert "rules not reloaded, keeping the last good rules" in caplog.text
    assert "mailbox 'international' is not named any more" in caplog.text
    daemon.worker.db.close()


def test_nothing_waiting_is_a_warning_and_a_start(tmp_path, caplog):
    """History alone does not stop anything: the mailbox may have been removed on purpose."""
    rules_path = seed(write_rules(tmp_path), "sent", recorded=False)
    rename(rules_path, "international", "intl")
    with caplog.at_level(logging.WARNING):
        worker = runner.server_worker(load_rules(rules_path))
    worker.db.close()
    assert "mailbox 'international' is in the database but not in rules.yaml (renamed or removed?)" in caplog.text
    result = CliRunner().invoke(main, ["--rules", str(rules_path), "check"])
    assert result.exit_code == 0, result.output
    assert "warning:" in result.output and "mailbox 'international' is in the database" in result.output


def test_the_mailboxes_rules_yaml_names_are_not_reported(waiting, caplog):
    with caplog.at_level(logging.WARNING):
        worker = runner.server_worker(load_rules(waiting))
    worker.db.close()
    assert "not named any more" not in caplog.text and "not in rules.yaml" not in caplog.text


def test_a_release_refuses_before_it_saves_anything(waiting, tmp_path):
    """A release the sending would refuse is not saved first (a daemon on the old rules would send it)."""
    rename(waiting, "international", "intl")
    agenda = tmp_path / "agenda.txt"
    agenda.write_text("13:00 Welcome\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["--rules", str(waiting), "release", "agenda", "--text", str(agenda), "--yes"])
    assert result.exit_code != 0 and "mailbox 'international' is not named any more" in result.output
    db = open_for(load_rules(waiting))
    assert db.execute("select count(*) from releases").fetchone()[0] == 0
    db.close()


def test_a_failed_reply_of_a_renamed_mailbox_is_not_queued_again(tmp_path):
    """Retrying it would strand it: nothing sends a mailbox rules.yaml does not name."""
    rules_path = seed(write_rules(tmp_path), "failed", recorded=False)
    rename(rules_path, "international", "intl")
    one = CliRunner().invoke(main, ["--rules", str(rules_path), "outbox", "retry", "1"])
    assert one.exit_code != 0 and "from mailbox 'international', which rules.yaml no longer names" in one.output
    every = CliRunner().invoke(main, ["--rules", str(rules_path), "outbox", "retry", "--all-failed"])
    assert every.exit_code == 0 and "no failed mails" not in every.output
    assert "1 failed mail of mailbox 'international' left as failed: rules.yaml no longer names it" in every.output
    db = open_for(load_rules(rules_path))
    assert db.execute("select state from outbox").fetchall() == [("failed",)]
    db.close()
