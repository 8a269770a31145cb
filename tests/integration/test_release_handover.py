"""`mailflow release` checks before it asks: the templates, the recipients, and either the secrets or a
running mailflow to hand the sending to. On a server the secrets live in the service's environment, not
in the coordinator's shell: the release is then queued in the database and the daemon's pass sends it."""

from __future__ import annotations

import shutil
import sqlite3

import yaml
from click.testing import CliRunner

from mailflow.cli import main
from tests.integration.test_daemon import daemon, wait_until
from tests.support import REPO
from tests.support.mail import make_mail
from tests.support.rules import PASSWORD_ENV, write_rules
from tests.support.servers import INTL_USER

REGISTRANTS = [f"expert{i}@city{i}.gov.ge" for i in range(3)]


def release(rules_path, tmp_path, *options, input=None):
    agenda = tmp_path / "agenda.md"
    agenda.write_text("13:00 Welcome\n13:15 Panel\n")
    result = CliRunner().invoke(main, ["--rules", str(rules_path), "release", "agenda", "--text", str(agenda),
                                       *options], input=input)
    assert "Traceback" not in result.output
    return result


def register(dovecot, smtp, rules_path) -> None:
    """Three interest mails answered by one `mailflow run --once` (the secrets here), acks cleared."""
    dovecot.append_many(INTL_USER, [make_mail(sender=f"Expert <{a}>", message_id=f"<i{n}@x.ge>")
                                    for n, a in enumerate(REGISTRANTS)])
    result = CliRunner().invoke(main, ["--rules", str(rules_path), "run", "--once"])
    assert result.exit_code == 0, result.output
    assert len(smtp.wait_for(3)) == 3
    smtp.clear()


def rows(rules_path, sql):
    with sqlite3.connect(rules_path.parent / "mailflow.db") as db:
        return db.execute(sql).fetchall()


def test_with_the_secrets_here_release_sends_itself(servers, tmp_path):
    dovecot, smtp = servers
    rules_path = write_rules(tmp_path, dovecot, smtp)
    register(dovecot, smtp, rules_path)
    result = release(rules_path, tmp_path, "--yes")
    assert result.exit_code == 0, result.output
    assert "sent 3, failed 0, deferred 0" in result.output
    assert sorted(r for m in smtp.messages for r in m.rcpt_tos) == sorted(REGISTRANTS)


def test_without_the_secrets_and_without_a_daemon_it_stops_before_asking(servers, tmp_path, monkeypatch):
    dovecot, smtp = servers
    rules_path = write_rules(tmp_path, dovecot, smtp)
    register(dovecot, smtp, rules_path)
    with sqlite3.connect(tmp_path / "mailflow.db") as db:   # the last pass was an hour ago
        db.execute("update sync_state set last_sync = datetime(last_sync, '-1 hour')")
    monkeypatch.delenv(PASSWORD_ENV)
    result = release(rules_path, tmp_path, input="y\n")
    assert result.exit_code == 1
    assert "Send agenda" not in result.output and "Queue agenda" not in result.output   # never asked
    assert (f"cannot send from here: mailbox german, IMAP: environment variable {PASSWORD_ENV} is not set here"
            in result.output)
    assert "no mailflow pass ran in the last 240 s to hand the sending to" in result.output
    assert "start the daemon (systemctl start mailflow) and release again; nothing was saved or sent" in result.output
    assert rows(rules_path, "select count(*) from releases") == [(0,)]
    assert rows(rules_path, "select count(*) from outbox where kind like 'release:%'") == [(0,)]


def test_without_the_secrets_a_running_daemon_sends_the_release(servers, tmp_path, monkeypatch):
    dovecot, smtp = servers
    rules_path = write_rules(tmp_path, dovecot, smtp, poll_interval=2)
    register(dovecot, smtp, rules_path)
    monkeypatch.delenv(PASSWORD_ENV)   # the coordinator's shell; the daemon has it in its environment
    with daemon(rules_path, tmp_path / "log", **{PASSWORD_ENV: "secret"}) as process:
        assert wait_until(lambda: rows(rules_path, "select count(*) from sync_state where connection = 'idle'")
                          == [(2,)])
        result = release(rules_path, tmp_path, input="y\n")
        assert result.exit_code == 0, result.output
        assert (f"the secrets are not here (mailbox german, IMAP: environment variable {PASSWORD_ENV} is not set "
                "here; mailbox international, IMAP: ") in result.output
        assert "the release is queued for it and goes out with its next pass (every 2 s)" in result.output
        assert "Queue agenda v1 to 3 registrants?" in result.output
        assert "queued 3 mails (agenda v1); the running mailflow sends them with its next pass" in result.output
        received = smtp.wait_for(3, timeout=20)
        assert sorted(r for m in received for r in m.rcpt_tos) == sorted(REGISTRANTS)
        assert all(m.message["Subject"].startswith("Agenda:") for m in received)
        assert process.poll() is None
    assert rows(rules_path, "select state, count(*) from outbox where kind = 'release:agenda:v1' group by state") \
        == [("sent", 3)]


def test_a_broken_template_stops_the_release_with_its_line(servers, tmp_path):
    dovecot, smtp = servers
    rules_path = write_rules(tmp_path, dovecot, smtp)
    register(dovecot, smtp, rules_path)
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    broken = tmp_path / "templates" / "agenda_broken.txt"
    broken.write_text("Subject: Agenda\n\n{{ agenda.txet }}\n")
    data = yaml.safe_load(rules_path.read_text())
    data["templates"] = str(tmp_path / "templates")
    data["announcements"]["agenda"]["international"] = broken.name
    rules_path.write_text(yaml.safe_dump(data))
    result = release(rules_path, tmp_path, "--yes")
    assert result.exit_code == 1
    assert f"{broken}:3: undefined template variable" in result.output
    assert rows(rules_path, "select count(*) from releases") == [(0,)]


def test_a_new_version_nobody_waits_for_yet_is_saved_without_the_secrets(servers, tmp_path, monkeypatch):
    dovecot, smtp = servers
    rules_path = write_rules(tmp_path, dovecot, smtp)
    monkeypatch.delenv(PASSWORD_ENV)   # and no mailflow ever ran: nothing needs either
    result = release(rules_path, tmp_path, "--yes")
    assert result.exit_code == 0, result.output
    assert "nobody is waiting for this release" in result.output
    assert "queued 0 mails (agenda v1)" in result.output
    assert rows(rules_path, "select kind, version from releases") == [("agenda", 1)]
