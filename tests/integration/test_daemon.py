"""`mailflow run` as a real process: IDLE push, outages, reload, clean stop."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import yaml
from click.testing import CliRunner

from mailflow.cli import main
from tests.support import REPO
from tests.support.mail import make_mail
from tests.support.rules import ALIAS_BOMB, write_rules
from tests.support.servers import INTL_USER


@contextmanager
def daemon(rules_path, log_path, **environment):
    env = {**os.environ, "MAILFLOW_TEST_PASSWORD": "secret", **environment}
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "mailflow", "--rules", str(rules_path), "run"],
                                   stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def wait_until(condition, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_idle_pushes_new_mail_without_polling(servers, tmp_path):
    dovecot, smtp = servers
    rules_path = write_rules(tmp_path, dovecot, smtp, poll_interval=3600)   # only IDLE can wake it
    with daemon(rules_path, tmp_path / "log") as process:
        assert wait_until(lambda: connection(rules_path, "international") == "idle")
        dovecot.append(INTL_USER, make_mail(sender="pushed@x.ge"))
        assert smtp.wait_for(1, timeout=15)[0].rcpt_tos == ["pushed@x.ge"]
        assert process.poll() is None


def test_outage_mail_delivered_meanwhile_is_processed_after_the_server_returns(servers, tmp_path):
    dovecot, smtp = servers
    rules_path = write_rules(tmp_path, dovecot, smtp, poll_interval=3600, reconnect_max_delay=2)
    with daemon(rules_path, tmp_path / "log") as process:
        dovecot.append(INTL_USER, make_mail(sender="before@x.ge"))
        smtp.wait_for(1, timeout=15)
        with dovecot.down():
            # Mail arrives while IMAP is down: the MTA drops it straight into the Maildir.
            new = dovecot.maildir(INTL_USER) / "new"
            (new / "1700000000.outage.test").write_bytes(make_mail(sender="during@x.ge"))
            os.chown(new / "1700000000.outage.test", dovecot._uid, dovecot._gid)
            assert wait_until(lambda: connection(rules_path, "international") == "reconnecting")
        received = smtp.wait_for(2, timeout=20)
        assert sorted(m.rcpt_tos[0] for m in received) == ["before@x.ge", "during@x.ge"]
        assert process.poll() is None
    log = (tmp_path / "log").read_text()
    assert "reconnecting in" in log


def test_sighup_reloads_rules_and_sigterm_stops_cleanly(servers, tmp_path):
    """And a clean stop leaves the database whole in its file: a cold copy of mailflow.db taken after
    `systemctl stop` was empty, everything still in mailflow.db-wal."""
    import shutil

    dovecot, smtp = servers
    rules_path = write_rules(tmp_path, dovecot, smtp, poll_interval=3600)
    dovecot.append(INTL_USER, make_mail(sender="before@x.ge"))
    with daemon(rules_path, tmp_path / "log") as process:
        # Signals before the handlers are installed would end the process: wait for the first pass.
        assert wait_until(lambda: "pass done" in (tmp_path / "log").read_text(), timeout=30)
        process.send_signal(signal.SIGHUP)
        assert wait_until(lambda: "rules reloaded" in (tmp_path / "log").read_text())
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    assert "stopped cleanly" in (tmp_path / "log").read_text()
    assert not (tmp_path / "mailflow.db-wal").exists()
    (tmp_path / "cold").mkdir()
    shutil.copy(tmp_path / "mailflow.db", tmp_path / "cold" / "mailflow.db")
    with sqlite3.connect(tmp_path / "cold" / "mailflow.db") as copy:
        assert copy.execute("select count(*) from messages").fetchone() == (1,)
        assert copy.execute("select count(*) from registrants").fetchone() == (1,)


def test_run_once_leaves_a_whole_database_file(servers, tmp_path):
    """A cron pass closes its database: the WAL is folded into mailflow.db, a copy of that file alone is whole."""
    import shutil

    dovecot, smtp = servers
    rules_path = write_rules(tmp_path, dovecot, smtp)
    dovecot.append(INTL_USER, make_mail(sender="cron@x.ge"))
    done = subprocess.run([sys.executable, "-m", "mailflow", "--rules", str(rules_path), "run", "--once"],
                          capture_output=True, env={**os.environ, "MAILFLOW_TEST_PASSWORD": "secret"}, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not (tmp_path / "mailflow.db-wal").exists()
    (tmp_path / "cold").mkdir()
    shutil.copy(tmp_path / "mailflow.db", tmp_path / "cold" / "mailflow.db")
    with sqlite3.connect(tmp_path / "cold" / "mailflow.db") as copy:
        assert copy.execute("select count(*) from registrants").fetchone() == (1,)


def test_a_reload_asked_while_the_daemon_starts_does_not_end_it(servers, tmp_path):
    """A HUP before the daemon listened for it (a reload right after a start) ended it, and systemd counts
    that as a clean exit: no restart (the unit now restarts on it too: RestartForceExitStatus=SIGHUP)."""
    dovecot, smtp = servers
    rules_path = write_rules(tmp_path, dovecot, smtp, poll_interval=3600)
    log_path = tmp_path / "log"
    with daemon(rules_path, log_path) as process:
        def hup_handled() -> bool:   # ignored or caught: the `run` command has begun, and a HUP must not end it
            status = Path(f"/proc/{process.pid}/status").read_text().splitlines()
            masks = [int(line.split()[1], 16) for line in status if line.startswith(("SigIgn", "SigCgt"))]
            return any(mask & 1 << (signal.SIGHUP - 1) for mask in masks)

        assert wait_until(hup_handled, timeout=30)
        while "pass done" not in log_path.read_text():   # HUPs all through the start
            process.send_signal(signal.SIGHUP)
            assert process.poll() is None, log_path.read_text()
            time.sleep(0.05)
        process.send_signal(signal.SIGHUP)
        assert wait_until(lambda: "rules reloaded" in log_path.read_text())
        assert process.poll() is None
    assert "RestartForceExitStatus=SIGHUP" in (REPO / "deploy/mailflow.service").read_text()


def test_rules_that_cannot_be_loaded_leave_the_daemon_running_on_the_last_good_ones(servers, tmp_path):
    """An alias bomb saved into rules.yaml, then another database (a restart moves to it), then a reply
    template that does not exist: each reload is refused in one log line naming the file, and new mail is
    still answered."""
    dovecot, smtp = servers
    rules_path = write_rules(tmp_path, dovecot, smtp, poll_interval=3600)
    good = rules_path.read_text()
    log_path = tmp_path / "log"
    (tmp_path / "a-file").write_text("")
    with daemon(rules_path, log_path) as process:
        assert wait_until(lambda: "pass done" in log_path.read_text(), timeout=30)
        for n, (broken, says) in enumerate([
            (good + ALIAS_BOMB, "in a way that expands to"),
            (good.replace(str(tmp_path / "mailflow.db"), str(tmp_path / "a-file" / "mailflow.db")),
             "database: changed to"),   # the daemon's lock is on the database it runs on
            # what `check` refuses: a template that is not there held every registration
            (good.replace("ack_international.txt", "no_such_ack.txt", 1),
             "the template file no_such_ack.txt is not in"),
        ]):
            rules_path.write_text(broken)
            process.send_signal(signal.SIGHUP)
            assert wait_until(lambda says=says: says in log_path.read_text()), log_path.read_text()
            refused = [line for line in log_path.read_text().splitlines() if says in line]
            assert len(refused) == 1 and "keeping the last good rules" in refused[0] and str(rules_path) in refused[0]
            dovecot.append(INTL_USER, make_mail(sender=f"after{n}@x.ge"))
            assert smtp.wait_for(n + 1, timeout=20)[n].rcpt_tos == [f"after{n}@x.ge"]
            assert process.poll() is None
    assert "rules reloaded" not in log_path.read_text() and "Traceback" not in log_path.read_text()


def test_a_second_daemon_on_the_same_database_is_refused_and_starts_once_the_first_is_gone(servers, tmp_path):
    """Two daemons took turns on one database, and `status` named whichever beat last: after the first
    stopped, the live one was "not running", then the dead one's pid."""
    dovecot, smtp = servers
    rules_path = write_rules(tmp_path, dovecot, smtp, poll_interval=3600)
    with daemon(rules_path, tmp_path / "log") as first:
        assert wait_until(lambda: "pass done" in (tmp_path / "log").read_text(), timeout=30)
        env = {**os.environ, "MAILFLOW_TEST_PASSWORD": "secret"}
        second = subprocess.run([sys.executable, "-m", "mailflow", "--rules", str(rules_path), "run"],
                                capture_output=True, text=True, timeout=60, env=env)
        assert second.returncode == 1
        assert f"another mailflow run (pid {first.pid}) is watching the mailboxes of" in second.stderr
        assert "Traceback" not in second.stderr
        once = subprocess.run([sys.executable, "-m", "mailflow", "--rules", str(rules_path), "run", "--once"],
                              capture_output=True, text=True, timeout=60, env=env)
        assert once.returncode == 0, once.stderr   # cron's pass beside the daemon is still allowed
        first.send_signal(signal.SIGKILL)           # the lock goes with the process, however it ends
        first.wait(timeout=15)
    with daemon(rules_path, tmp_path / "log2") as again:
        assert wait_until(lambda: "pass done" in (tmp_path / "log2").read_text(), timeout=30)
        assert again.poll() is None


def connection(rules_path, mailbox: str) -> str | None:
    """The connection state `mailflow status` shows (the daemon records it)."""
    result = CliRunner().invoke(main, ["--rules", str(rules_path), "status", "--json"])
    if result.exit_code != 0:
        return None
    return next(box["connection"] for box in json.loads(result.output)["mailboxes"] if box["mailbox"] == mailbox)


def test_no_secret_in_logs_or_database(servers, tmp_path):
    dovecot, smtp = servers
    secret = "Pw-7f3a9c-never-log-me"
    dovecot.add_user("secretive@example.org", secret)
    rules_path = write_rules(tmp_path, dovecot, smtp)
    data = yaml.safe_load(rules_path.read_text())
    data["mailboxes"]["international"]["imap"].update(username="secretive@example.org", password_env="SECRETIVE_PW")
    rules_path.write_text(yaml.safe_dump(data, allow_unicode=True))
    dovecot.append("secretive@example.org", make_mail(sender="a@x.ge"))
    env = {**os.environ, "MAILFLOW_TEST_PASSWORD": "secret", "SECRETIVE_PW": secret}
    done = subprocess.run([sys.executable, "-m", "mailflow", "-v", "--rules", str(rules_path), "run", "--once"],
                          capture_output=True, env=env, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert b"sent 1" in done.stdout
    assert secret.encode() not in done.stdout + done.stderr
    for path in tmp_path.glob("mailflow.db*"):
        assert secret.encode() not in path.read_bytes(), path


def test_systemctl_stop_reaches_the_courier_too_and_nothing_is_lost_or_sent_twice(servers, tmp_path):
    """systemd's SIGTERM goes to the whole process group: the daemon and its courier. The mail
    on the wire is finished, the rest stays queued, and the next start sends each one once."""
    dovecot, smtp = servers
    n = 30
    rules_path = write_rules(tmp_path, dovecot, smtp, poll_interval=3600, send_rate_per_minute=300)
    dovecot.append_many(INTL_USER, [make_mail(sender=f"Expert {i} <expert{i}@city{i}.gov.ge>") for i in range(n)])
    env = {**os.environ, "MAILFLOW_TEST_PASSWORD": "secret"}
    with open(tmp_path / "log", "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "mailflow", "--rules", str(rules_path), "run"],
                                   stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        smtp.wait_for(5, timeout=30)                       # one every 0.2 s: the courier is mid-way
        os.killpg(process.pid, signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    time.sleep(0.5)                                        # an orphaned courier would still be sending
    sent_before = len(smtp.messages)
    assert 5 <= sent_before < n, (tmp_path / "log").read_text()
    assert "stopped cleanly" in (tmp_path / "log").read_text()
    states = dict(sqlite3.connect(tmp_path / "mailflow.db").execute(
        "select state, count(*) from outbox group by state").fetchall())
    assert states == {"sent": sent_before, "queued": n - sent_before}   # none left in `sending`

    write_rules(tmp_path, dovecot, smtp, poll_interval=3600)            # unthrottled for the restart
    result = CliRunner().invoke(main, ["--rules", str(rules_path), "run", "--once"])
    assert result.exit_code == 0 and f"sent {n - sent_before}, failed 0" in result.output, result.output
    recipients = [m.rcpt_tos[0] for m in smtp.messages]
    assert len(recipients) == len(set(recipients)) == n
