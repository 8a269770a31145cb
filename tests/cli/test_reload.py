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


def test_a_reload_that_names_a_password_variable_the_daemon_lacks_is_refused(tmp_path, monkeypatch, caplog):
    """The edit was taken, and the mailbox went dark ("MAILFLOW_INTL_NEW is not set") until someone restarted
    the daemon: a running process's environment cannot change. The last good rules stay, with the line and
    the fix in the log."""
    from types import SimpleNamespace

    from tests.support.rules import PASSWORD_ENV

    monkeypatch.setenv(PASSWORD_ENV, "secret")
    monkeypatch.delenv("MAILFLOW_INTL_NEW", raising=False)
    server = SimpleNamespace(host="127.0.0.1", port=1)
    rules_path = write_rules(tmp_path, server, server, mailbox={"imap": {"idle": False}})
    daemon = runner.Daemon(rules_path)
    write_rules(tmp_path, server, server, mailbox={"imap": {"idle": False, "password_env": "MAILFLOW_INTL_NEW"}})
    daemon.reload_requested = True
    daemon.reload_rules_if_changed()
    assert daemon.rules.mailboxes["international"].imap.password_env == PASSWORD_ENV
    assert "MAILFLOW_INTL_NEW is not set in the running mailflow's environment" in caplog.text
    assert "restart mailflow" in caplog.text and f"{rules_path}:" in caplog.text
    daemon.worker.db.close()


def test_a_template_broken_while_the_daemon_runs_is_refused_and_the_last_good_one_answers(tmp_path, caplog):
    """Jinja re-read an edited template by itself: an `{% endif %}` deleted from ack_german.txt held every German
    registration (TemplateProblem, the mail left recorded), and the log said nothing until one came. The next
    pass checks the whole set as `mailflow check` does: broken, it names the file and line once and the last good
    templates answer; fixed, the new text answers, with no SIGHUP and no touch of rules.yaml."""
    caplog.set_level("INFO")
    daemon, template = daemon_on_own_templates(tmp_path)
    assert "Guten Tag Nino Beridze," in german_ack(daemon)

    edit(template, template.read_text().replace("{% endif %}", "", 1))
    daemon.reload_rules_if_changed()
    assert f"{template}:3: template syntax error: '{{% if %}}' is never closed" in caplog.text
    assert "keeping the last good templates" in caplog.text
    assert "Guten Tag Nino Beridze," in german_ack(daemon)   # read and checked before the edit
    caplog.clear()
    daemon.reload_rules_if_changed()
    assert caplog.text == ""   # one error per problem, not one per pass

    edit(template, template.read_text().replace("Guten Tag{% if registrant.name %} {{ registrant.name }}",
                                                "Hallo{% if registrant.name %} {{ registrant.name }}{% endif %}"))
    daemon.reload_rules_if_changed()
    assert "templates reloaded" in caplog.text and "ERROR" not in caplog.text
    assert "Hallo Nino Beridze," in german_ack(daemon)
    daemon.worker.db.close()


def test_a_template_edited_while_the_daemon_runs_answers_from_the_next_pass(tmp_path, caplog):
    caplog.set_level("INFO")
    daemon, template = daemon_on_own_templates(tmp_path)
    worker = daemon.worker
    german_ack(daemon)
    daemon.reload_rules_if_changed()
    assert "reloaded" not in caplog.text   # nothing changed, nothing read again
    edit(template, template.read_text().replace("Guten Tag", "Hallo"))
    daemon.reload_rules_if_changed()
    assert "Hallo Nino Beridze," in german_ack(daemon)
    assert daemon.worker is worker and f"templates reloaded from {template.parent}" in caplog.text
    daemon.worker.db.close()


def test_rules_refused_for_a_missing_template_are_taken_once_it_is_there(tmp_path, caplog):
    """A rules.yaml naming a template not written yet is refused (what `check` refuses); writing the template
    then brought it in only with another touch of rules.yaml or a SIGHUP."""
    import yaml

    caplog.set_level("INFO")
    daemon, template = daemon_on_own_templates(tmp_path)
    data = yaml.safe_load(daemon.rules_path.read_text())
    data["replies"]["interest"]["german"] = "ack_german_new.txt"
    edit(daemon.rules_path, yaml.safe_dump(data, allow_unicode=True))
    daemon.reload_rules_if_changed()
    assert "the template file ack_german_new.txt is not in" in caplog.text
    assert daemon.rules.replies["interest"]["german"] == "ack_german.txt"
    (template.parent / "ack_german_new.txt").write_text(template.read_text().replace("Guten Tag", "Hallo"))
    daemon.reload_rules_if_changed()
    assert "rules reloaded" in caplog.text
    assert daemon.rules.replies["interest"]["german"] == "ack_german_new.txt"
    assert "Hallo Nino Beridze," in german_ack(daemon)
    daemon.worker.db.close()


def daemon_on_own_templates(tmp_path):
    """A polling daemon (no IDLE threads) on a copy of the shipped templates; the copy's ack_german.txt."""
    import shutil

    from tests.support import REPO

    shutil.copytree(REPO / "templates", tmp_path / "templates")
    rules_path = write_rules(tmp_path, mailbox={"imap": {"idle": False}}, templates=str(tmp_path / "templates"))
    return runner.Daemon(rules_path), tmp_path / "templates" / "ack_german.txt"


def german_ack(daemon) -> str:
    """The German registration's reply as the daemon's worker renders it now."""
    from mailflow.context import sample_contexts

    template = daemon.rules.replies["interest"]["german"]
    return daemon.worker.replies.render(template, sample_contexts(daemon.rules, "german")[0]).text


def edit(path, text):
    """`text` saved into `path` a second after its last save (two writes in one test may share a clock tick)."""
    before = path.stat().st_mtime_ns
    path.write_text(text)
    os.utime(path, ns=(before + 10**9, before + 10**9))


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
