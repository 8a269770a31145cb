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
    before = open_files(tmp_path)
    assert before   # the current worker's database
    for _ in range(20):
        daemon.reload_requested = True
        daemon.reload_rules_if_changed()
    assert open_files(tmp_path) == before
    assert daemon.worker.db.execute("select count(*) from messages").fetchone() == (0,)   # the new one works
    daemon.worker.db.close()


def test_a_stop_asked_for_during_a_reload_reaches_the_new_worker(tmp_path):
    """SIGTERM sets stop_requested on the worker it finds: one that lands while a reload builds the new
    worker marked the old one, and the next pass ran whole instead of finishing its current mail."""
    daemon = runner.Daemon(write_rules(tmp_path, mailbox={"imap": {"idle": False}}))
    daemon.stopping = True   # as request_stop() leaves it, with the old worker marked
    daemon.worker.stop_requested = True
    daemon.reload_requested = True
    daemon.reload_rules_if_changed()
    assert daemon.worker.stop_requested
    daemon.worker.db.close()


def test_a_reload_keeps_which_sent_folders_this_process_has_read(tmp_path):
    """A mailbox whose IMAP server rests sends nothing until this process has read its Sent folder (a restored
    database learns there what went out): a reload during an outage held its mail until the server was back."""
    daemon = runner.Daemon(write_rules(tmp_path, mailbox={"imap": {"idle": False}}))
    daemon.worker.sent_read.add("international")
    daemon.reload_requested = True
    daemon.reload_rules_if_changed()
    assert daemon.worker.sent_read == {"international"}
    daemon.worker.db.close()


def open_files(folder):
    """How many of this process's descriptors are open on files in `folder` (other tests' leftovers,
    closed by the garbage collector meanwhile, do not count)."""
    paths = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            paths.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:   # closed since listdir
            continue
    return sum(path.startswith(str(folder)) for path in paths)
