"""Weather at the database: a full disk, another program's lock. On a real, small tmpfs and a real
lock, never a mocked error: the daemon says what to do in one line, waits, and nothing is lost or
answered twice."""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from email import message_from_bytes
from pathlib import Path

import pytest

from mailflow.database import weather
from mailflow.delivery import FolderSender
from mailflow.errors import StorageTrouble
from tests.integration.test_daemon import connection, daemon, wait_until
from tests.support.mail import make_mail
from tests.support.maildirs import deliver, maildir_worker
from tests.support.rules import upcoming_rules, write_rules
from tests.support.servers import INTL_USER


@pytest.fixture
def small_disk(tmpfs):
    """A 16 MiB tmpfs of the test's own (root, or CAP_SYS_ADMIN, as in CI)."""
    return tmpfs("size=16m")


def fill(disk: Path) -> Path:
    """A file that takes every free byte of `disk`."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        for chunk in (1 << 20, 4096, 1):
            try:
                while os.write(fd, b"\0" * chunk):
                    pass
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


def checkpoint(database: Path) -> None:
    """Empty the WAL into the database file and truncate it: the next commit needs new space."""
    with sqlite3.connect(database) as db:
        assert db.execute("pragma wal_checkpoint(TRUNCATE)").fetchone()[0] == 0


def answers(messages: list[bytes]) -> Counter:
    """How often each mail was answered: replies counted by the Message-ID they answer."""
    return Counter(message_from_bytes(raw)["In-Reply-To"] for raw in messages)


def assert_answered_once(smtp, mail: bytes, log: Path) -> None:
    """The mail answered exactly once (at the SMTP server, by the Message-ID it answers), and no traceback."""
    assert answers([m.data for m in smtp.messages]) == {message_from_bytes(mail)["Message-ID"]: 1}
    assert "Traceback" not in log.read_text()


def test_a_full_disk_is_one_line_and_the_mail_is_answered_once_space_is_freed(servers, tmp_path, small_disk):
    dovecot, smtp = servers
    database = small_disk / "mailflow.db"
    rules_path = write_rules(tmp_path, dovecot, smtp, poll_interval=3600, reconnect_max_delay=2,
                             database=str(database))
    log = tmp_path / "log"
    with daemon(rules_path, log) as process:
        assert wait_until(lambda: connection(rules_path, "international") == "idle")
        checkpoint(database)
        filler = fill(small_disk)
        mail = make_mail(sender="full@x.ge")
        dovecot.append(INTL_USER, mail)
        line = f"the disk holding {small_disk} is full: free space; mailflow retries in"
        assert wait_until(lambda: log.read_text().count(line) >= 2, timeout=20), log.read_text()
        assert process.poll() is None and not smtp.messages
        # status says so (it said "connection idle, backlog 0" while the mail waited on the server)
        status = subprocess.run([sys.executable, "-m", "mailflow", "--rules", str(rules_path), "status"],
                                capture_output=True, text=True, timeout=60)
        assert f"disk: the disk holding {small_disk} is full: mailflow records and answers nothing" in status.stdout, \
            status.stdout + status.stderr
        filler.unlink()
        smtp.wait_for(1, timeout=20)
        time.sleep(3)   # a second answer would come now
        assert process.poll() is None
    assert_answered_once(smtp, mail, log)


def test_a_daemon_started_on_a_full_disk_waits_and_answers_once_space_is_freed(servers, tmp_path, small_disk):
    """It said "cannot open the database: disk I/O error" and quit, which systemd takes for a failure to restart
    a few times and then gives up on."""
    dovecot, smtp = servers
    database = small_disk / "mailflow.db"
    rules_path = write_rules(tmp_path, dovecot, smtp, poll_interval=3600, reconnect_max_delay=2,
                             database=str(database))
    env = {**os.environ, "MAILFLOW_TEST_PASSWORD": "secret"}
    subprocess.run([sys.executable, "-m", "mailflow", "--rules", str(rules_path), "run", "--once"], check=True,
                   env=env, capture_output=True, timeout=60)   # a database from an earlier run, closed
    assert not database.with_name("mailflow.db-shm").exists()
    mail = make_mail(sender="started-full@x.ge")
    dovecot.append(INTL_USER, mail)
    filler = fill(small_disk)
    log = tmp_path / "log"
    with daemon(rules_path, log) as process:
        line = f"the disk holding {small_disk} is full: free space; mailflow starts again in"
        assert wait_until(lambda: log.read_text().count(line) >= 2, timeout=20), log.read_text()
        assert process.poll() is None and not smtp.messages
        filler.unlink()
        smtp.wait_for(1, timeout=30)
        time.sleep(2)
        assert process.poll() is None
    assert_answered_once(smtp, mail, log)


def test_a_pass_running_out_of_space_midway_answers_nothing_twice(tmp_path, maildirs, small_disk):
    """Space freed in steps, one pass after each: the passes fail at every step of the pipeline
    (recording, processing a batch, marking, committing what was sent), and in the end every mail
    is answered exactly once; none is quarantined for the full disk."""
    rules = upcoming_rules()
    ids = []
    for n in range(150):   # three batches of replies: space runs out after some were sent
        mail = make_mail(sender=f"person{n}@x.ge", body="I would like to participate.\n" + "x" * 2000)
        ids.append(message_from_bytes(mail)["Message-ID"])
        deliver(maildirs, mail, f"{n + 1}")
    sent = tmp_path / "sent"   # the replies go elsewhere: only the database is on the small disk
    worker = maildir_worker(rules, maildirs, small_disk / "mailflow.db", sender=FolderSender(sent))
    checkpoint(small_disk / "mailflow.db")
    filler = fill(small_disk)
    filled = filler.stat().st_size
    failed = failed_after_sending = 0
    for _ in range(400):
        filled = max(0, filled - (64 << 10))
        os.truncate(filler, filled)
        before = len(list(sent.glob("*.eml")))
        try:
            with weather(small_disk / "mailflow.db"):
                worker.run_once()
        except StorageTrouble as exc:
            assert "is full: free space" in str(exc)
            failed += 1
            failed_after_sending += len(list(sent.glob("*.eml"))) > before
            continue
        if not worker.db.execute("select 1 from messages where state != 'processed' or marked_on_server = 0 "
                                 "union all select 1 from outbox where state != 'sent'").fetchone():
            break
    replies = answers([f.read_bytes() for f in sent.glob("*.eml")])
    assert replies == dict.fromkeys(ids, 1)
    assert failed_after_sending, f"no pass ran out of space after sending part of its replies ({failed} failed)"


def test_a_lock_held_longer_than_the_busy_timeout_is_waited_out(servers, tmp_path):
    dovecot, smtp = servers
    rules_path = write_rules(tmp_path, dovecot, smtp, poll_interval=3600, reconnect_max_delay=2)
    log = tmp_path / "log"
    with daemon(rules_path, log, MAILFLOW_BUSY_TIMEOUT="1") as process:
        assert wait_until(lambda: connection(rules_path, "international") == "idle")
        other = sqlite3.connect(tmp_path / "mailflow.db", isolation_level=None)   # a coordinator's sqlite3 shell
        other.execute("BEGIN IMMEDIATE")
        mail = make_mail(sender="locked@x.ge")
        dovecot.append(INTL_USER, mail)
        line = "is locked by another program for more than 1 s"
        assert wait_until(lambda: log.read_text().count(line) >= 2, timeout=20), log.read_text()
        assert process.poll() is None and not smtp.messages
        once = subprocess.run([sys.executable, "-m", "mailflow", "--rules", str(rules_path), "run", "--once"],
                              capture_output=True, text=True, timeout=60,
                              env={**os.environ, "MAILFLOW_TEST_PASSWORD": "secret", "MAILFLOW_BUSY_TIMEOUT": "1"})
        assert once.returncode == 1 and once.stderr.splitlines()[-1].startswith(f"Error: the database {tmp_path}")
        assert line in once.stderr and "Traceback" not in once.stderr
        other.rollback()
        other.close()
        smtp.wait_for(1, timeout=20)
        time.sleep(3)
        assert process.poll() is None
    assert_answered_once(smtp, mail, log)
