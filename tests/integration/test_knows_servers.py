"""Knowing before answering, on a real Dovecot and aiosmtpd: a new database, a database restored from
a backup, and an inbox with old mail never answer what was answered already (the server's processed
flag, mailflow's replies in the Sent folder) or what arrived before answer_mail_since."""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from click.testing import CliRunner

from mailflow import runner
from mailflow.cli import main
from mailflow.database import open_database
from mailflow.rules import load_rules
from tests.support.mail import make_mail
from tests.support.rules import write_rules
from tests.support.servers import INTL_USER

FLAG = b"$MailflowProcessed"


def interest(n: int) -> bytes:
    return make_mail(sender=f"Person {n} <p{n}@tbilisi.gov.ge>", message_id=f"<m{n}@tbilisi.gov.ge>")


def run(rules_path: Path):
    return runner.run_once(load_rules(rules_path))


def drop_database(folder: Path) -> None:
    for name in ("mailflow.db", "mailflow.db-wal", "mailflow.db-shm", "mailflow.db-sent"):
        (folder / name).unlink(missing_ok=True)


def backup(folder: Path) -> Path:
    """A consistent copy of the live database, as `sqlite3 mailflow.db .backup` takes it."""
    copy = folder / "backup.db"
    with sqlite3.connect(folder / "mailflow.db") as source, sqlite3.connect(copy) as target:
        source.backup(target)
    return copy


def restore(folder: Path, copy: Path) -> None:
    drop_database(folder)
    copy.rename(folder / "mailflow.db")


def cli(rules_path: Path, *args: str):
    result = CliRunner().invoke(main, ["--rules", str(rules_path), *args])
    assert result.exit_code == 0, result.output
    return result.output


def replies_to(smtp) -> list[str]:
    time.sleep(0.3)   # anything sent twice would have arrived by now
    return sorted(m.message["In-Reply-To"] for m in smtp.messages)


def messages(folder: Path) -> dict[str, dict]:
    db = open_database(folder / "mailflow.db")
    return {row["message_id"]: row for row in db.query("select * from messages")}


def test_a_new_database_answers_none_of_the_mail_already_answered(servers, rules_path, tmp_path):
    """100 mails answered, then the database is lost: a brand-new one answers none of them again, says
    so (log, status), registers nobody from them, and answers the next new mail as usual."""
    dovecot, smtp = servers
    dovecot.append_many(INTL_USER, [interest(n) for n in range(100)])
    assert run(rules_path).sent == 100
    smtp.wait_for(100)

    drop_database(tmp_path)
    dovecot.append(INTL_USER, interest(100))
    report = run(rules_path)
    assert (report.recorded, report.sent, report.errors) == (101, 1, [])
    assert replies_to(smtp) == sorted([f"<m{n}@tbilisi.gov.ge>" for n in range(100)] + ["<m100@tbilisi.gov.ge>"])

    rows = messages(tmp_path)
    assert all(rows[f"<m{n}@tbilisi.gov.ge>"]["answered_before"] == "it carries $MailflowProcessed on the server"
               for n in range(100))
    assert rows["<m100@tbilisi.gov.ge>"]["answered_before"] is None
    db = open_database(tmp_path / "mailflow.db")
    assert [r["address"] for r in db["registrants"].rows] == ["p100@tbilisi.gov.ge"]
    explained = json.loads(cli(rules_path, "explain", "<m7@tbilisi.gov.ge>", "--json"))
    assert explained["answered_before"] and not explained["answered"] and explained["outbox"] == []
    assert any("answered before this database knew it" in r for r in explained["reasons"])

    status = {b["mailbox"]: b for b in json.loads(cli(rules_path, "status", "--json"))["mailboxes"]}
    assert status["international"]["answered_before"] == 100
    assert status["international"]["found"].startswith("100 mails new to this database already flagged processed")
    assert "100 mails new to this database already flagged processed" in cli(rules_path, "status")
    assert run(rules_path).sent == 0


def test_a_restored_database_does_not_answer_again_what_was_answered_after_its_backup(servers, rules_path, tmp_path):
    """A backup taken before the last 50 answers is restored. Those 50 are not answered again: 25 by
    the server's flag, the 25 whose flag a client removed by mailflow's replies in the Sent folder. A
    reply the coordinator wrote by hand (no X-Mailflow header) does not count: that mail is answered."""
    dovecot, smtp = servers
    dovecot.append_many(INTL_USER, [interest(n) for n in range(50)])
    assert run(rules_path).sent == 50
    copy = backup(tmp_path)
    dovecot.append_many(INTL_USER, [interest(n) for n in range(50, 100)])
    assert run(rules_path).sent == 50
    smtp.wait_for(100)
    with dovecot.session(INTL_USER) as client:     # a client cleared the flag of 25 of them
        client.select_folder("INBOX")
        client.remove_flags(list(range(76, 101)), [FLAG])
    dovecot.append(INTL_USER, interest(100))
    by_hand = make_mail(sender="Irakli Samkharadze <international@cc-events.example>", to="p100@tbilisi.gov.ge",
                        subject="Re: Participation", body="Dear Person 100, see you there.",
                        headers={"In-Reply-To": "<m100@tbilisi.gov.ge>", "References": "<m100@tbilisi.gov.ge>"})
    dovecot.append(INTL_USER, by_hand, folder="Sent")

    restore(tmp_path, copy)
    report = run(rules_path)
    assert (report.recorded, report.sent, report.errors) == (51, 1, [])
    assert replies_to(smtp) == sorted([f"<m{n}@tbilisi.gov.ge>" for n in range(101)])

    rows = messages(tmp_path)
    flagged = [n for n in range(50, 100) if rows[f"<m{n}@tbilisi.gov.ge>"]["answered_before"] ==
               "it carries $MailflowProcessed on the server"]
    in_sent = [n for n in range(50, 100) if "is in the Sent folder of mailbox international" in
               (rows[f"<m{n}@tbilisi.gov.ge>"]["answered_before"] or "")]
    assert (flagged, in_sent) == (list(range(50, 75)), list(range(75, 100)))
    assert rows["<m100@tbilisi.gov.ge>"]["answered_before"] is None and rows["<m100@tbilisi.gov.ge>"]["answer"] == 1
    status = {b["mailbox"]: b for b in json.loads(cli(rules_path, "status", "--json"))["mailboxes"]}
    assert status["international"]["answered_before"] == 50
    assert "25 mails new to this database already flagged processed" in status["international"]["found"]
    assert "50 mails of mailflow's in the Sent folder that it has no record of" in status["international"]["found"]


def test_old_mail_is_archived_until_a_coordinator_answers_it(servers, tmp_path):
    """answer_mail_since two days ago: mail that arrived before it (the server's INTERNALDATE, whatever
    its Date header says) is archived (not answered, nobody registered, counted in status, not flagged
    on the server); `mailflow archive answer --since` answers those since then, plain `archive answer` the rest."""
    dovecot, smtp = servers
    now = datetime.now(UTC).replace(microsecond=0)
    since = (now - timedelta(days=2)).astimezone(ZoneInfo("Europe/Berlin"))
    rules_path = write_rules(tmp_path, *servers, answer_mail_since=since.strftime("%Y-%m-%dT%H:%M"))
    dovecot.append_many(INTL_USER, [interest(n) for n in range(3)], msg_time=now - timedelta(days=400))
    dovecot.append_many(INTL_USER, [interest(n) for n in range(3, 5)], msg_time=now - timedelta(days=20))
    dovecot.append_many(INTL_USER, [interest(n) for n in range(5, 7)])

    report = run(rules_path)
    assert (report.recorded, report.archived, report.sent, report.errors) == (7, 5, 2, [])
    assert replies_to(smtp) == ["<m5@tbilisi.gov.ge>", "<m6@tbilisi.gov.ge>"]
    rows = messages(tmp_path)
    assert [n for n in range(7) if rows[f"<m{n}@tbilisi.gov.ge>"]["state"] == "archived"] == [0, 1, 2, 3, 4]
    assert [FLAG in flags for flags in dovecot.flags(INTL_USER).values()] == [False] * 5 + [True] * 2
    status = {b["mailbox"]: b for b in json.loads(cli(rules_path, "status", "--json"))["mailboxes"]}
    assert status["international"]["archived"] == 5
    assert "archived 5" in cli(rules_path, "status")
    explained = cli(rules_path, "explain", "<m0@tbilisi.gov.ge>")
    assert "state: archived" in explained and "answer_mail_since in rules.yaml" in explained
    assert run(rules_path).sent == 0

    month_ago = (now - timedelta(days=30)).astimezone(ZoneInfo("Europe/Berlin")).date().isoformat()
    assert cli(rules_path, "archive", "answer", "--since", month_ago).startswith("2 archived mails")
    assert run(rules_path).sent == 2
    assert replies_to(smtp) == sorted(f"<m{n}@tbilisi.gov.ge>" for n in range(3, 7))
    assert cli(rules_path, "archive", "answer").startswith("3 archived mails")
    report = run(rules_path)
    assert (report.sent, report.archived) == (3, 0)
    assert replies_to(smtp) == sorted(f"<m{n}@tbilisi.gov.ge>" for n in range(7))
    db = open_database(tmp_path / "mailflow.db")
    assert db["registrants"].count == 7
    assert all(FLAG in flags for flags in dovecot.flags(INTL_USER).values())
