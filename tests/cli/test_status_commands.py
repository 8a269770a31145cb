"""status and outbox (list, retry, cancel) on a database filled by the real pipeline.

A sender that refuses one recipient with a permanent 5xx answer stands in for
an SMTP server; everything else is the demo pipeline on the sample Maildirs.
"""

import gc
import grp
import json
import os
import shutil
import tempfile
import traceback
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from mailflow.cli import main
from mailflow.database import open_database
from mailflow.delivery import FolderSender
from mailflow.errors import DeliveryError
from mailflow.rules import load_rules
from tests.support import as_another_user
from tests.support.demo import DEMO_DATABASE, demo_pass, demo_project
from tests.support.maildirs import maildir_worker
from tests.support.rules import write_rules

REFUSED = "elira.shehu@tirana.al"


class RefusingSender(FolderSender):
    def __init__(self, folder: Path, refused: set[str]):
        super().__init__(folder)
        self.refused = refused

    def send(self, raw: bytes, sender: str, recipient: str, then: object = None) -> None:
        if recipient in self.refused:
            raise DeliveryError(f"550 5.1.1 <{recipient}>: mailbox unavailable", permanent=True)
        super().send(raw, sender, recipient)


@pytest.fixture
def project(tmp_path):
    # The samples arrived in September 2020: answered as if mailflow had watched the mailboxes all along.
    return demo_project(tmp_path, run=False, answer_mail_since="2020-09-01")


def worker(project, refused=frozenset()):
    rules = load_rules(project / "rules.yaml")
    sender = RefusingSender(project / "out/outbox", set(refused))
    return maildir_worker(rules, project / "maildir", rules.database_path, sender=sender)


def cli(project, *args):
    return CliRunner().invoke(main, ["--rules", str(project / "rules.yaml"), *args])


def outbox_row(project, recipient):
    (row,) = open_database(project / "out/mailflow-demo.db")["outbox"].rows_where("recipient = ?", [recipient])
    return row


def test_status_after_a_demo_run(project):
    demo_pass(project)
    data = json.loads(cli(project, "status", "--json").output)
    boxes = {b["mailbox"]: b for b in data["mailboxes"]}
    assert set(boxes) == {"international", "german"}
    assert (boxes["international"]["last_uid"], boxes["german"]["last_uid"]) == (6, 5)
    assert all(b["last_sync"] and b["backlog"] == 0 and b["quarantined"] == 0 for b in boxes.values())
    assert boxes["international"]["connection"] == "unknown"  # no daemon has run on the demo database
    assert data["outbox"]["by_state"] == {"sent": 8} and data["outbox"]["failed"] == []
    assert data["registrants"]["by_audience"] == {"german": {"registered": 3}, "international": {"registered": 2}}
    assert data["registrants"]["total"] == 5 and data["open_questions"] == 2   # a question, an unsure on-behalf
    text = cli(project, "status")
    assert text.exit_code == 0, text.output
    assert "international: last sync 20" in text.output and "last UID 6" in text.output
    assert "outbox: sent 8" in text.output and "german: registered 3" in text.output


def test_status_reports_while_rules_yaml_has_problems(project):
    """Right after a broken edit (the daemon logs it and keeps its last good rules), status refused to run:
    the moment an admin most wants to see that mail is still answered. It reads the database rules.yaml
    names, says what is wrong with the file, and shows the rest."""
    demo_pass(project)
    rules = project / "rules.yaml"
    rules.write_text(rules.read_text().replace("poll_interval: 60", "poll_interval: 3600s", 1))
    database = project / "out/mailflow-demo.db"
    database.chmod(0o640)   # as database_group leaves it: the file that names the group cannot be read now
    result = CliRunner().invoke(main, ["--rules", str(rules), "status", "--json"])
    assert database.stat().st_mode & 0o777 == 0o640   # read as it is (the group lost its access)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert "poll_interval" in data["rules_problems"] and "poll_interval" in result.stderr
    assert {b["mailbox"] for b in data["mailboxes"]} == {"international", "german"}
    assert all(b["in_rules"] for b in data["mailboxes"]) and data["outbox"]["by_state"] == {"sent": 8}
    rules.write_text("events: [\n")   # not even YAML: the database is the default beside it, which is not there
    result = CliRunner().invoke(main, ["--rules", str(rules), "status"])
    assert result.exit_code == 1 and "rules.yaml has problems" in result.output


def test_status_counts_backlog_and_quarantine(project):
    data = yaml.safe_load((project / "rules.yaml").read_text())
    data["limits"] = {"max_message_bytes": 3000}  # the longer sample mails are quarantined
    (project / "rules.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    w = worker(project)
    recorded = w.intake("german", w.mailboxes["german"], w.mailboxes["german"].open())  # fetched, not processed
    status = json.loads(cli(project, "status", "--json").output)
    boxes = {b["mailbox"]: b for b in status["mailboxes"]}
    assert boxes["german"]["backlog"] == recorded == 5
    assert boxes["international"]["last_sync"] is None and boxes["international"]["backlog"] == 0
    assert "international: last sync never" in cli(project, "status").output
    worker(project).run_once()
    db = open_database(project / "out/mailflow-demo.db")
    quarantined = db.execute("select mailbox, count(*) from messages where state = 'quarantined' group by 1").fetchall()
    assert quarantined, "the small limit should quarantine some samples"
    boxes = {b["mailbox"]: b for b in json.loads(cli(project, "status", "--json").output)["mailboxes"]}
    assert {name: boxes[name]["quarantined"] for name, _ in quarantined} == dict(quarantined)
    assert all(b["backlog"] == 0 for b in boxes.values())


def test_failed_mail_is_listed_retried_and_sent(project):
    worker(project, {REFUSED}).run_once()
    failed = json.loads(cli(project, "outbox", "--failed", "--json").output)
    assert [(r["recipient"], r["state"], r["attempts"]) for r in failed] == [(REFUSED, "failed", 1)]
    assert "550 5.1.1" in failed[0]["error"]
    status = json.loads(cli(project, "status", "--json").output)
    assert status["outbox"]["by_state"] == {"failed": 1, "sent": 7}
    assert "550 5.1.1" in status["outbox"]["failed"][0]["error"]
    assert "failed" in cli(project, "status").output and "550 5.1.1" in cli(project, "status").output
    listing = cli(project, "outbox")
    assert listing.exit_code == 0 and REFUSED in listing.output and "katrin.vogel@gmx.de" in listing.output

    number = str(failed[0]["id"])
    retried = cli(project, "outbox", "retry", number)
    assert retried.exit_code == 0, retried.output
    assert f"outbox {number} to {REFUSED} queued again" in retried.output
    row = outbox_row(project, REFUSED)
    assert (row["state"], row["attempts"]) == ("queued", 0) and "550 5.1.1" in row["error"]
    assert cli(project, "outbox", "--failed").output.strip() == "no failed mails"

    worker(project).run_once()  # the recipient's server accepts it now
    row = outbox_row(project, REFUSED)
    assert row["state"] == "sent" and row["sent_at"]
    written = [p.read_bytes() for p in (project / "out/outbox").glob("*.eml")]
    assert sum(row["message_id"].encode() in mail and REFUSED.encode() in mail for mail in written) == 1

    again = cli(project, "outbox", "retry", number)
    assert again.exit_code == 1 and "is sent; only failed or uncertain" in again.output
    refused = cli(project, "outbox", "cancel", number)
    assert refused.exit_code == 1 and "already sent" in refused.output and "cannot be cancelled" in refused.output


def test_cancelled_mail_is_never_sent(project):
    worker(project, {REFUSED, "anna.lehmann@dresden.de"}).run_once()
    assert "queued again" in cli(project, "outbox", "retry", "--all-failed").output
    assert {r["state"] for r in json.loads(cli(project, "outbox", "--json").output)} == {"queued", "sent"}
    number = str(outbox_row(project, REFUSED)["id"])
    cancelled = cli(project, "outbox", "cancel", number)
    assert cancelled.exit_code == 0, cancelled.output
    assert "cancelled; it will not be sent" in cancelled.output
    assert "already cancelled" in cli(project, "outbox", "cancel", number).output

    report = worker(project).run_once()
    assert report.sent == 1  # Anna's reply only
    cancelled_row = outbox_row(project, REFUSED)
    assert cancelled_row["state"] == "cancelled"
    written = [p.read_bytes() for p in (project / "out/outbox").glob("*.eml")]
    assert not any(cancelled_row["message_id"].encode() in mail for mail in written)
    assert outbox_row(project, "anna.lehmann@dresden.de")["state"] == "sent"
    assert json.loads(cli(project, "status", "--json").output)["outbox"]["by_state"] == {"cancelled": 1, "sent": 7}


def test_outbox_commands_say_what_is_wrong(project):
    demo_pass(project)
    unknown = cli(project, "outbox", "cancel", "999")
    assert unknown.exit_code == 1 and "no outbox mail 999" in unknown.output
    assert cli(project, "outbox", "retry").exit_code == 2
    assert cli(project, "outbox", "retry", "1", "--all-failed").exit_code == 2
    assert cli(project, "outbox", "retry", "--all-failed").output.strip() == "no failed mails"


def test_a_damaged_or_newer_database_is_one_line_with_what_to_do(project):
    """A zeroed page (disk damage) ended `status`, `run --once`, `questions` in sqlite3 tracebacks; a database
    a newer mailflow upgraded was used until a column this one does not fill failed mid-pass."""
    import sqlite3

    demo_pass(project)
    path = project / "out/mailflow-demo.db"
    db = open_database(path)
    db.execute("insert into _sqlite_migrations (migration_set, name, applied_at) values ('mailflow', "
               "'0099_from_the_future', '2030-01-01')")
    db.conn.commit()
    db.close()
    newer = cli(project, "status")
    assert newer.exit_code == 1 and "Traceback" not in newer.output
    assert "upgraded by a newer mailflow (its steps 0099_from_the_future are unknown" in newer.output
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("delete from _sqlite_migrations where name = '0099_from_the_future'")
    conn.execute("pragma wal_checkpoint(truncate)")
    conn.close()
    pages = path.stat().st_size // 4096
    with path.open("r+b") as file:                         # a page near the end: the schema reads, a query fails
        file.seek((pages - 4) * 4096)
        file.write(b"\0" * 4096)
    damaged = [cli(project, *command) for command in (["status"], ["questions"], ["outbox"], ["registrants"])]
    assert any("the database file named by rules.yaml's `database:` is damaged" in result.output
               for result in damaged)
    for result in damaged:
        assert not isinstance(result.exception, sqlite3.Error), result.output   # handled, not a traceback
        assert result.exit_code == 0 or "is damaged" in result.output and "restore its last backup" in result.output
    with path.open("r+b") as file:                         # and the schema itself: opening it says so
        file.seek(4096)
        file.write(b"\0" * 4096 * (pages - 1))
    result = cli(project, "status")
    assert f"the database file {path} is damaged" in result.output and result.exit_code == 1


def test_a_broken_constraint_is_no_damaged_database():
    """Only "malformed" and "not a database" are damage: "restore its last backup" after a UNIQUE constraint
    (a release racing the daemon) would lose data."""
    import sqlite3

    @main.command("raise-integrity-error")
    def failing() -> None:
        raise sqlite3.IntegrityError("UNIQUE constraint failed: releases.event_id")

    try:
        result = CliRunner().invoke(main, ["raise-integrity-error"])
    finally:
        del main.commands["raise-integrity-error"]
    assert isinstance(result.exception, sqlite3.IntegrityError) and "damaged" not in result.output


@pytest.mark.parametrize("named", ["notes.txt", "rules.yaml"])
def test_a_database_path_naming_a_file_that_is_not_sqlite_says_check_the_path_not_restore(tmp_path, named):
    """`database: notes.txt` (or rules.yaml itself) was "damaged: restore its last backup ... sqlite3 .recover":
    wrong advice for a wrong path, and nothing said where the path was written."""
    write_rules(tmp_path, database=named)
    project, notes = tmp_path, tmp_path / named
    if not notes.exists():
        notes.write_text("ask Anna about the room\n")
    before = notes.read_bytes()
    line = load_rules(project / "rules.yaml").line_of("database")
    assert line is not None
    expected = (f"{notes} is not a mailflow database (it is not SQLite at all): check `database:` in "
                f"{project / 'rules.yaml'} line {line}")
    for command in (["status"], ["registrants"], ["outbox"], ["questions"], ["registrants", "add", "a@example.org",
                                                                              "--name", "A"]):
        result = cli(project, *command)
        assert result.exit_code == 1, (command, result.output)
        assert expected in result.output and "restore" not in result.output, (command, result.output)
    checked = cli(project, "check")
    assert checked.exit_code == 1
    assert (f"{project / 'rules.yaml'}:{line}: database: {notes} is not a mailflow database (it is not SQLite "
            "at all)") in checked.output
    assert notes.read_bytes() == before and not list(project.glob(f"{named}-*"))   # left as it was


def test_a_database_with_broken_rules_that_is_not_sqlite_is_named_so_too(project):
    rules = project / "rules.yaml"
    rules.write_text(rules.read_text().replace("poll_interval: 60", "poll_interval: 3600s", 1)
                     .replace("database: out/mailflow-demo.db", "database: rules.yaml"))
    result = cli(project, "status")
    assert result.exit_code == 1 and f"{rules} is not a mailflow database (it is not SQLite at all)" in result.output


def test_commands_that_only_read_refuse_a_database_that_is_not_there(tmp_path):
    """A typo in `database:` made `status`, `registrants`, `export-person` ... create a new, empty database
    and print "registrants: 0", as if everyone had gone. They refuse now, with the path, rules.yaml's line and
    the fix; the commands that write create it as before, and `check` mentions it as a note."""
    demo_project(tmp_path)   # the demo's database, with registrants
    rules = tmp_path / "rules.yaml"
    rules.write_text(rules.read_text().replace("database: out/mailflow-demo.db", "database: out/mailflow-dmeo.db"))
    typo = tmp_path / "out/mailflow-dmeo.db"
    line = load_rules(rules).line_of("database")
    expected = (f"the database {typo} does not exist (`database:` in {rules} line {line}): check the path; "
                "`mailflow run` creates it")
    for command in (["status"], ["status", "--json"], ["registrants"], ["export-person", "anna.lehmann@dresden.de"],
                    ["outbox"], ["explain", "1"], ["questions"], ["replay", "--with", str(rules)]):
        result = cli(tmp_path, *command)
        assert result.exit_code == 1, (command, result.output)
        assert expected in result.output and "registrants: 0" not in result.output, (command, result.output)
        assert not typo.exists(), command
    # Commands that change what is there found nothing and made an empty database too ("not found")
    for command in (["questions", "--close", "1"], ["set-status", "anna.lehmann@dresden.de", "cancelled"],
                    ["set-audience", "anna.lehmann@dresden.de", "international"],
                    ["registrants", "confirm", "1"], ["approve", "--all-pending"],
                    ["forget", "anna.lehmann@dresden.de", "--yes"], ["outbox", "retry", "--all-failed"],
                    ["outbox", "cancel", "1"], ["purge", "--dry-run"], ["archive", "answer"],
                    ["release", "agenda", "--text", str(tmp_path / "agenda.txt"), "--dry-run"]):
        (tmp_path / "agenda.txt").write_text("The agenda.\n")
        result = cli(tmp_path, *command)
        assert result.exit_code == 1, (command, result.output)
        assert expected in result.output, (command, result.output)
        assert not typo.exists(), command
    checked = cli(tmp_path, "check")
    assert checked.exit_code == 0, checked.output
    assert f"note: {expected}" in checked.output
    added = cli(tmp_path, "registrants", "add", "a.person@example.org", "--name", "A Person", "--audience", "german")
    assert added.exit_code == 0, added.output   # a command that writes: the new database is made
    assert typo.exists() and "registrants: 1" in cli(tmp_path, "status").output


def test_commands_that_only_read_open_the_database_read_only(tmp_path):
    """`status` says it is read-only; it opened the database for writing (and set its files' modes), so a reader
    who may not write failed with "attempt to write a readonly database"."""
    import sqlite3

    from mailflow.database import read_for

    demo_project(tmp_path)
    gc.collect()   # (the demo's connection: closed, as a daemon stopped leaves the database, without -wal)
    database = tmp_path / DEMO_DATABASE
    database.chmod(0o644)   # not what open_for would leave: a read changes nothing, not even this
    before = sorted(p.name for p in database.parent.iterdir())
    db = read_for(load_rules(tmp_path / "rules.yaml"))
    assert db.execute("select count(*) from registrants").fetchone() == (5,)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        db.execute("update registrants set name = 'x'")
    db.close()
    assert database.stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in database.parent.iterdir()) == before   # no -wal or -shm made by the read


@pytest.mark.skipif(os.geteuid() != 0, reason="reads as another user, which needs root")
@pytest.mark.parametrize("daemon", [False, True], ids=["stopped", "running"])
def test_a_reader_in_the_database_group_runs_the_commands_that_only_read(daemon):
    """The files 0440 in a folder 0550, of another user, readable by the reader's group (rules.yaml's
    database_group): status, registrants, export-person, outbox, explain and questions work for them, while
    the daemon has the database open (its -wal and -shm there) and when it is stopped."""
    nobody = 65534
    group = next(g for g in grp.getgrall() if g.gr_gid not in (0, nobody))
    base = Path(tempfile.mkdtemp())
    base.chmod(0o755)
    try:
        demo_project(base, database_group=group.gr_name)
        gc.collect()   # (the demo's connection: closed, as a daemon stopped leaves the database)
        out = base / "out"
        holder = open_database(out / "mailflow-demo.db", group=group.gr_name) if daemon else None
        before = sorted(p.name for p in out.iterdir())
        for file in out.glob("mailflow-demo.db*"):
            file.chmod(0o440)
        os.chown(out, -1, group.gr_gid)
        out.chmod(0o550)
        report = base / "report.json"
        report.touch()
        report.chmod(0o666)
        commands = [["status", "--json"], ["registrants", "--json"], ["export-person", "anna.lehmann@dresden.de",
                    "--json"], ["outbox", "--json"], ["explain", "1", "--json"], ["questions", "--json"]]

        def read_them() -> None:
            results = [cli(base, *command) for command in commands]
            report.write_text(json.dumps([[r.exit_code, r.stdout if r.exit_code == 0 else r.output + "".join(
                traceback.format_exception(r.exception)) if r.exception else r.output] for r in results]))

        as_another_user(nobody, nobody, [group.gr_gid], read_them)
        for command, (code, output) in zip(commands, json.loads(report.read_text()), strict=True):
            assert code == 0, (command, output)
            json.loads(output)
        assert sorted(p.name for p in out.iterdir()) == before
        assert json.loads(json.loads(report.read_text())[0][1])["registrants"]["total"] == 5
        if holder is not None:
            holder.close()
    finally:
        out.chmod(0o755)
        shutil.rmtree(base)
