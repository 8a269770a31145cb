"""A daemon's rules reload in process (runner.Daemon), without servers."""

from __future__ import annotations

import os

from mailflow import runner
from tests.support.rules import write_rules


def test_a_reload_closes_the_database_connection_it_replaces(tmp_path):
    """Each reload opened the database again and left the last connection open (three descriptors:
    the file, -wal, -shm): a rules.yaml edited a few hundred times ran the daemon out of files."""
    rules_path = write_rules(tmp_path, mailbox={"imap": {"idle": False}})   # polling: no IDLE threads
    daemon = runner.Daemon(rules_path)
    daemon.reload_requested = True
    daemon.reload_rules_if_changed()
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(20):
        daemon.reload_requested = True
        daemon.reload_rules_if_changed()
    assert len(os.listdir("/proc/self/fd")) == before
    assert daemon.worker.db.execute("select count(*) from messages").fetchone() == (0,)   # the new one works
    daemon.worker.db.close()
