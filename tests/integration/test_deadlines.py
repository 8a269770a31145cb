"""Deadlines on misbehaving servers on loopback: a server that trickles one byte a second cannot hold
a pass, nor the other mailbox's mail; a stalled SMTP DATA cannot hold a SIGTERM.

Bounds are generous (tens of seconds, for deadlines of 2 s): before, each of these waited forever or
for the per-read timeout of an hour.
"""

from __future__ import annotations

import email
import email.policy
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from mailflow.cli import main
from tests.support.mail import make_mail
from tests.support.misbehaving import SlowLinkProxy, TrickleServer
from tests.support.rules import PASSWORD_ENV, write_rules
from tests.support.servers import GERMAN_USER, INTL_USER, PASSWORD

DEADLINE = 2
GERMAN_MAIL = {"sender": "Anna Lehmann <anna.lehmann@leipzig.de>", "to": "german@cc-events.example",
               "subject": "Anmeldung", "body": "Sehr geehrte Damen und Herren,\n\nich möchte gerne an der "
               "Veranstaltung teilnehmen.\n\nMit freundlichen Grüßen\nAnna Lehmann"}


@pytest.fixture
def trickle():
    with TrickleServer() as server:
        yield server


def rules_with(tmp_path: Path, dovecot, smtp, international: dict, **overrides) -> Path:
    """Rules on the test servers, every deadline DEADLINE, per-read timeouts far longer (a trickle
    never trips them), no Sent copies; `international` changes that mailbox's settings, and is read
    (and answered) first."""
    path = write_rules(tmp_path, dovecot, smtp, mailbox={"sent_copy": "none",
                                                          "imap": {"timeout": 3600, "deadline": DEADLINE},
                                                          "smtp": {"timeout": 3600, "deadline": DEADLINE}}, **overrides)
    data = yaml.safe_load(path.read_text())
    for key, value in international.items():
        data["mailboxes"]["international"][key].update(value)
    data["mailboxes"] = {name: data["mailboxes"][name] for name in ("international", "german")}
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    return path


def run_once(rules_path: Path, timeout: float = 60) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    try:
        done = subprocess.run([sys.executable, "-m", "mailflow", "--rules", str(rules_path), "run", "--once"],
                              check=False, capture_output=True, text=True, env={**os.environ, PASSWORD_ENV: PASSWORD},
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the pass did not end within {timeout} s")
    return done, time.monotonic() - started


def test_a_pass_against_a_trickling_imap_server_ends_by_the_deadline_with_the_error(servers, tmp_path, trickle):
    dovecot, smtp = servers
    rules_path = rules_with(tmp_path, dovecot, smtp, {"imap": {"host": trickle.host, "port": trickle.port}})
    dovecot.append(GERMAN_USER, make_mail(**GERMAN_MAIL))
    done, seconds = run_once(rules_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert (f"IMAP {trickle.host}:{trickle.port}: timed out, "
            f"no complete answer within the {DEADLINE} s deadline") in done.stderr
    assert seconds < 30
    assert [m.rcpt_tos for m in smtp.messages] == [["anna.lehmann@leipzig.de"]]   # the other mailbox is answered
    assert trickle.connections >= 1


def test_a_big_mail_over_a_slow_link_is_fetched_within_its_deadline(servers, tmp_path):
    """Over a link of 50 kB/s (a throttled provider, a poor line) a mail with a 250 kB attachment never came
    through: its FETCH was given the deadline and time for 100 kB/s (now 25 kB/s), cut, and fetched again at
    every pass."""
    dovecot, smtp = servers
    mail = email.message_from_bytes(make_mail(sender="nino@tbilisi.gov.ge"), policy=email.policy.default)
    mail.make_mixed()
    mail.add_attachment(os.urandom(250_000), maintype="application", subtype="pdf", filename="cv.pdf")
    dovecot.append(INTL_USER, mail.as_bytes())
    with SlowLinkProxy((dovecot.host, dovecot.port), bytes_per_second=50_000) as slow:
        rules_path = rules_with(tmp_path, dovecot, smtp, {"imap": {"host": slow.host, "port": slow.port}})
        done, seconds = run_once(rules_path, timeout=90)
    assert done.returncode == 0, done.stdout + done.stderr
    assert [m.rcpt_tos for m in smtp.messages] == [["nino@tbilisi.gov.ge"]]
    print(f"fetched and answered over the slow link in {seconds:.1f} s")


def test_a_trickling_smtp_server_holds_the_other_mailbox_up_one_deadline_at_most(servers, tmp_path, trickle):
    dovecot, smtp = servers
    rules_path = rules_with(tmp_path, dovecot, smtp, {"smtp": {"host": trickle.host, "port": trickle.port}},
                            poll_interval=3600)
    dovecot.append(INTL_USER, make_mail(sender="nino@tbilisi.gov.ge"))   # its reply goes to the trickling server
    dovecot.append(GERMAN_USER, make_mail(**GERMAN_MAIL))
    log_path = tmp_path / "log"
    with open(log_path, "w") as log:
        daemon = subprocess.Popen([sys.executable, "-m", "mailflow", "--rules", str(rules_path), "run"],
                                  stdout=log, stderr=subprocess.STDOUT, env={**os.environ, PASSWORD_ENV: PASSWORD})
    try:
        # The international reply is first in the outbox: its server holds the German one up, once.
        assert smtp.wait_for(1, timeout=30)[0].rcpt_tos == ["anna.lehmann@leipzig.de"], log_path.read_text()
        assert wait_for_log(log_path, "pass done")
        assert log_path.read_text().index("outbox=1 ") < log_path.read_text().index("outbox=2 ")
        dovecot.append(GERMAN_USER, make_mail(**{**GERMAN_MAIL, "sender": "Jan Vogel <jan.vogel@halle.de>"}))
        arrived = time.monotonic()
        assert smtp.wait_for(2, timeout=DEADLINE + 15)[1].rcpt_tos == ["jan.vogel@halle.de"], log_path.read_text()
        print(f"the second German mail was answered {time.monotonic() - arrived:.1f} s after it arrived")
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)
    with sqlite3.connect(tmp_path / "mailflow.db") as db:
        (state, error), = db.execute("select state, error from outbox where mailbox = 'international'").fetchall()
    assert state == "queued" and f"within the {DEADLINE} s deadline" in error


def wait_for_log(path: Path, text: str, timeout: float = 30) -> bool:
    ends = time.monotonic() + timeout
    while time.monotonic() < ends:
        if text in path.read_text():
            return True
        time.sleep(0.1)
    return False


def test_sigterm_while_smtp_data_stalls_stops_within_the_grace_and_the_next_start_settles_the_mail(servers, tmp_path):
    dovecot, smtp = servers
    smtp.stall_data()
    rules_path = write_rules(tmp_path, dovecot, smtp, poll_interval=3600,
                             mailbox={"sent_copy": "append", "smtp": {"timeout": 3600, "deadline": 3600}})
    dovecot.append(INTL_USER, make_mail(sender="nino@tbilisi.gov.ge"))
    log_path = tmp_path / "log"
    with open(log_path, "w") as log:
        daemon = subprocess.Popen([sys.executable, "-m", "mailflow", "--rules", str(rules_path), "run"],
                                  stdout=log, stderr=subprocess.STDOUT, env={**os.environ, PASSWORD_ENV: PASSWORD})
    try:
        assert smtp.stalled.wait(30), log_path.read_text()
        daemon.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        code = daemon.wait(timeout=60)
        seconds = time.monotonic() - signalled
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
    assert code == 0 and seconds < 30, log_path.read_text()
    assert "stopped cleanly" in log_path.read_text()
    print(f"stopped {seconds:.1f} s after SIGTERM")
    with sqlite3.connect(tmp_path / "mailflow.db") as db:
        assert db.execute("select state from outbox").fetchall() == [("sending",)]   # its "B" is in the journal

    smtp._stall = False
    result = CliRunner().invoke(main, ["--rules", str(rules_path), "run", "--once"])
    assert result.exit_code == 0, result.output
    with sqlite3.connect(tmp_path / "mailflow.db") as db:
        # not in Sent: a coordinator decides
        assert db.execute("select state from outbox").fetchall() == [("uncertain",)]
    assert smtp.messages == []   # never sent a second time
