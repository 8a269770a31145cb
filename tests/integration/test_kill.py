"""Kill the worker at random moments, again and again: nothing lost, nothing sent twice.

The SMTP server files every accepted mail in the sender's Sent folder before it
answers 250, as Gmail or Exchange Online do (sent_copy: provider). So a mail
whose 250 the killed worker never recorded is found in Sent and not sent again.
Every other round, the first among them (the backlog is answered within a few runs), kills the
worker from inside the SMTP server, the moment it has accepted a mail: the test asserts that such a
kill left a mail the server took but the worker had not recorded as sent, and that it was still sent once.

The seed comes from MAILFLOW_KILL_SEED when set (to repeat a failure) and is printed.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter

import yaml
from click.testing import CliRunner

from mailflow.cli import main
from tests.support.mail import make_mail
from tests.support.rules import write_rules
from tests.support.servers import GERMAN_USER, INTL_USER

KILLS = 20
INTEREST = 150


def test_sigkill_at_random_moments_loses_nothing_and_sends_nothing_twice(servers, tmp_path):
    dovecot, smtp = servers
    users = {"international@cc-events.example": INTL_USER, "german@cc-events.example": GERMAN_USER}
    worker: subprocess.Popen | None = None
    kill_at_accept = threading.Event()      # set: the next accepted mail kills the worker, before its 250

    def accept(message) -> None:
        dovecot.append(users[message.mail_from], message.data, folder="Sent")
        if kill_at_accept.is_set() and worker is not None:
            kill_at_accept.clear()
            worker.send_signal(signal.SIGKILL)

    smtp.on_accept = accept
    rules_path = write_rules(tmp_path, dovecot, smtp, poll_interval=1, reconnect_max_delay=1)
    data = yaml.safe_load(rules_path.read_text())
    for box in data["mailboxes"].values():
        box["sent_copy"] = "provider"
    rules_path.write_text(yaml.safe_dump(data, allow_unicode=True))
    senders = [f"expert{i}@city{i}.gov.ge" for i in range(INTEREST)]
    backlog = [make_mail(sender=s, message_id=f"<m{i}@city{i}.gov.ge>") for i, s in enumerate(senders)]
    backlog += [make_mail(sender=f"ooo{i}@x.ge", subject="Out of Office", headers={"Auto-Submitted": "auto-replied"},
                          message_id=f"<ooo{i}@x.ge>") for i in range(10)]
    dovecot.append_many(INTL_USER, backlog)

    seed = int(os.environ.get("MAILFLOW_KILL_SEED") or random.randrange(1 << 30))
    print(f"kill test seed {seed} (MAILFLOW_KILL_SEED={seed} repeats it)")
    rng = random.Random(seed)
    taken_not_recorded = 0                  # kills that landed after the server took a mail, before it was recorded
    env = {**os.environ, "MAILFLOW_TEST_PASSWORD": "secret"}
    db_path = tmp_path / "mailflow.db"
    command = [sys.executable, "-m", "mailflow", "--rules", str(rules_path), "run"]
    for kill in range(KILLS):
        accepted_before = len(smtp.messages)
        with open(tmp_path / f"run{kill}.log", "w") as log:
            worker = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        if kill % 2 == 0:
            kill_at_accept.set()               # killed by the SMTP server, the moment it takes a mail
        time.sleep(rng.uniform(0.5, 2.0))      # start-up takes ~0.6 s: kills land in every phase
        for args in (["status", "--json"], ["registrants", "--json"]):   # coordinators work meanwhile
            result = CliRunner().invoke(main, ["--rules", str(rules_path), *args])
            assert result.exit_code == 0, f"{args} while the worker runs: {result.output}"
        if kill % 2 == 0:
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.wait(timeout=10)        # until the server takes a mail and kills it
        kill_at_accept.clear()
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        if db_path.exists():
            with sqlite3.connect(db_path) as conn:
                assert conn.execute("pragma integrity_check").fetchone() == ("ok",), f"seed {seed}, kill {kill}"
                taken = {m.message["Message-ID"] for m in list(smtp.messages)[accepted_before:]}
                unrecorded = {row[0] for row in conn.execute("select message_id from outbox where state = 'sending'")}
                taken_not_recorded += bool(taken & unrecorded)

    with open(tmp_path / "final.log", "w") as log:
        worker = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        smtp.wait_for(INTEREST, timeout=60)
        time.sleep(2)                          # anything extra would arrive now
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=20) == 0

    assert taken_not_recorded >= 1, f"no kill landed between the server taking a mail and its record (seed {seed})"
    received = list(smtp.messages)
    by_id = Counter(m.message["Message-ID"] for m in received)
    by_recipient = Counter(m.rcpt_tos[0] for m in received)
    assert [mid for mid, n in by_id.items() if n > 1] == [], f"duplicates (seed {seed})"
    assert sorted(by_recipient) == sorted(senders), f"missing or unexpected replies (seed {seed})"
    assert set(by_recipient.values()) == {1}
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("select count(*) from messages").fetchone() == (len(backlog),)
        assert conn.execute("select count(*), count(distinct key) from messages").fetchone() == (len(backlog),) * 2
        assert conn.execute("select state, count(*) from messages group by state").fetchall() == \
            [("processed", len(backlog))]
        assert conn.execute("select state, count(*) from outbox group by state").fetchall() == [("sent", INTEREST)]
    report = {"kills": KILLS, "seed": seed, "mails": len(backlog), "replies": len(received), "duplicates": 0,
              "kills_after_the_server_took_a_mail": taken_not_recorded}
    (tmp_path / "kill-report.json").write_text(json.dumps(report))
