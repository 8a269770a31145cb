"""The daily digest (digest.py) on Maildirs with a settable clock: each coordinator's time in their own
zone, nothing to say means no mail, late the same day but never the next, never twice (a new worker on
the same database is a restart), and mailflow's own mail in a watched inbox is never answered."""

from __future__ import annotations

import email
import email.policy
import shutil
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from mailflow import database, digest, health, history, outbox
from mailflow.context import digest_template, sample_digest_context
from mailflow.errors import RulesError
from mailflow.replies import Replies
from mailflow.rules import Rules, parse_rules
from mailflow.worker import Worker
from tests.support import REPO
from tests.support.clock import SettableClock
from tests.support.mail import make_mail
from tests.support.maildirs import deliver, maildir_worker
from tests.support.rules import rules_data
from tests.support.sent import SentFolderOf

TBILISI, BERLIN = ZoneInfo("Asia/Tbilisi"), ZoneInfo("Europe/Berlin")
DAY = date(2026, 11, 30)   # winter: Tbilisi UTC+4, Berlin UTC+1


def local(zone: ZoneInfo, hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=zone)


def digest_rules(tmp_path: Path, templates: Path = REPO / "templates", **international: object) -> Rules:
    """The shipped rules with the event a month after DAY: international's digest at 08:00 in Tbilisi,
    german's at 08:00 in Berlin (the event's zone, the default), in German."""
    data = rules_data(ahead=False, database=str(tmp_path / "mailflow.db"), templates=str(templates))
    for event in data["events"]:
        event["start"], event["end"] = "2026-12-30T13:00:00", "2026-12-30T15:30:00"
        event.pop("registration", None)
    data["mailboxes"]["international"]["digest"] = {"time": "08:00", "timezone": "Asia/Tbilisi", "enabled": True,
                                                     **international}
    data["mailboxes"]["german"].update(language="de", digest={"enabled": True})
    return parse_rules(yaml.safe_dump(data), tmp_path / "rules.yaml")


def worker_at(tmp_path: Path, maildirs: Path, clock: SettableClock, **international: object) -> Worker:
    return maildir_worker(digest_rules(tmp_path, **international), maildirs, tmp_path / "mailflow.db", clock=clock)


def digests(worker: Worker) -> list[tuple[str, str, str]]:
    """(mailbox, kind, state) of every digest in the outbox."""
    return [tuple(r) for r in worker.db.execute(
        "select mailbox, kind, state from outbox where kind like 'digest:%' order by id")]


def digest_text(worker: Worker, mailbox: str) -> str:
    (raw,) = worker.db.execute("select raw from outbox where kind like 'digest:%' and mailbox = ? "
                               "order by id desc limit 1", [mailbox]).fetchone()
    message = email.message_from_bytes(raw, policy=email.policy.default)
    return f"Subject: {message['Subject']}\n\n{message.get_content()}".replace("\r\n", "\n")


def test_each_digest_is_due_at_its_time_in_its_own_zone(tmp_path):
    rules = digest_rules(tmp_path)
    assert digest.due(rules, local(TBILISI, 7, 59)) == []
    assert [(d.mailbox, d.day, d.at) for d in digest.due(rules, local(TBILISI, 8))] == \
        [("international", DAY, local(TBILISI, 8))]
    assert [d.mailbox for d in digest.due(rules, local(BERLIN, 7, 59))] == ["international"]
    assert sorted(d.mailbox for d in digest.due(rules, local(BERLIN, 8))) == ["german", "international"]
    # 23:30 in Berlin is already the next day in Tbilisi, before its 08:00.
    assert [(d.mailbox, d.day) for d in digest.due(rules, local(BERLIN, 23, 30))] == [("german", DAY)]
    # The day Berlin leaves summer time (25 October 2026) its 08:00 is 07:00 UTC, not 06:00.
    autumn = date(2026, 10, 25)
    assert "german" not in [d.mailbox for d in digest.due(rules, datetime(2026, 10, 25, 6, 59, tzinfo=UTC))]
    assert [(d.day, d.at) for d in digest.due(rules, datetime(2026, 10, 25, 7, tzinfo=UTC)) if d.mailbox == "german"] \
        == [(autumn, local(BERLIN, 8, day=autumn))]
    off = digest_rules(tmp_path, enabled=False)
    assert [d.mailbox for d in digest.due(off, local(BERLIN, 9))] == ["german"]


def test_nothing_to_say_sends_nothing_and_the_next_digest_covers_what_came_since(tmp_path, maildirs):
    clock = SettableClock(local(TBILISI, 8, 5))
    worker = worker_at(tmp_path, maildirs, clock)
    worker.run_once()
    assert digests(worker) == []                                       # nothing to say: no mail
    assert worker.db.execute("select mailbox, day, message_id from digests").fetchall() == \
        [("international", DAY.isoformat(), None)]                     # ... but the day is decided
    clock.advance(hours=1)
    deliver(maildirs, make_mail(), arrived=clock())                    # a registration after the digest time
    worker.run_once()
    assert digests(worker) == []                                       # today's digest was decided
    clock.advance(days=1)
    worker.run_once()
    assert digests(worker) == [("international", f"digest:{DAY + timedelta(days=1)}", "sent")]
    assert "Nino Beridze <nino@tbilisi.gov.ge>, tbilisi.gov.ge, Georgia; international" in \
        digest_text(worker, "international")


def test_late_the_same_day_never_the_next_and_never_twice_across_a_restart(tmp_path, maildirs):
    clock = SettableClock(local(TBILISI, 7))
    deliver(maildirs, make_mail(), arrived=clock())
    worker = worker_at(tmp_path, maildirs, clock)
    worker.run_once()
    assert digests(worker) == []                                       # not due yet
    clock.moment = local(TBILISI, 23, 30)                              # the daemon was down at 08:00
    worker.run_once()
    assert digests(worker) == [("international", f"digest:{DAY}", "sent")]
    clock.advance(minutes=20)
    worker.run_once()
    restarted = worker_at(tmp_path, maildirs, clock)                   # a new process on the same database
    restarted.run_once()
    assert digests(restarted) == [("international", f"digest:{DAY}", "sent")]
    assert len(list((tmp_path / "sent").glob("*.eml"))) == 2           # the confirmation and one digest

    # Down from before 08:00 of the next day until after midnight: that day's digest is never sent.
    deliver(maildirs, make_mail(sender="Lasha <lasha@batumi.gov.ge>"),
            arrived=local(TBILISI, 7, day=DAY + timedelta(1)))
    clock.moment = local(TBILISI, 0, 30, day=DAY + timedelta(days=2))
    restarted.run_once()
    assert len(digests(restarted)) == 1
    clock.moment = local(TBILISI, 8, day=DAY + timedelta(days=2))
    restarted.run_once()
    assert digests(restarted)[1:] == [("international", f"digest:{DAY + timedelta(days=2)}", "sent")]
    assert "lasha@batumi.gov.ge" in digest_text(restarted, "international")   # covered by the next one


def test_sections_in_order_each_in_the_coordinators_language(tmp_path, maildirs):
    clock = SettableClock(local(BERLIN, 6))
    worker = worker_at(tmp_path, maildirs, clock)
    mails = [
        make_mail(sender="Nino Beridze <nino@tbilisi.gov.ge>"),
        make_mail(sender="Giorgi <g.k@mrdi.gov.ge>", subject="Recording?",
                  body="Dear colleagues,\n\nwill the event be recorded?\n\nGiorgi"),
        make_mail(sender="Anna Kvaratskhelia <anna@kutaisi.ge>", body=(
            "Dear Mr Samkharadze,\n\nplease register our Deputy Mayor Mr Levan Tsiklauri "
            "(l.tsiklauri@kutaisi.gov.ge) for the event.\n\nBest regards,\nAnna")),
        make_mail(sender="Nino Beridze <nino@tbilisi.gov.ge>", subject="Cancellation",
                  body="Dear Mr Samkharadze,\n\nunfortunately I have to cancel my participation.\n\nNino"),
    ]
    for n, raw in enumerate(mails):
        deliver(maildirs, raw, arrived=clock() - timedelta(hours=3, minutes=-n))
    deliver(maildirs, make_mail(sender="Thomas Weber <t.weber@leipzig.de>", to="german@cc-events.example",
                                body="Sehr geehrte Frau Toukan,\n\nich möchte gerne an der Veranstaltung "
                                     "teilnehmen.\n\nMit freundlichen Grüßen\nThomas Weber"),
            mailbox="german", arrived=clock() - timedelta(hours=2))
    clock.moment = local(BERLIN, 8)
    worker.run_once()
    text = digest_text(worker, "international")
    headings = ["NEW REGISTRANTS (1)", "CANCELLATIONS (1)", "OPEN QUESTIONS (1)", "SCHEDULED"]
    assert [text.index(h) for h in headings] == sorted(text.index(h) for h in headings), text
    assert "Levan Tsiklauri <l.tsiklauri@kutaisi.gov.ge>, kutaisi.gov.ge, Georgia; international; " \
           "registered by anna@kutaisi.ge" in text
    assert "Nino Beridze <nino@tbilisi.gov.ge>, 2026-11-30 11:00 +04" in text     # cancelled, in Tbilisi time
    assert ' g.k@mrdi.gov.ge: "Recording?", waiting 4 hours' in text
    assert "reminder" in text.split("SCHEDULED")[1]
    german = digest_text(worker, "german")
    assert german.startswith("Subject: mailflow-Übersicht 2026-11-30 (german): 1 neu, 0 offene Fragen")
    assert "NEUE ANMELDUNGEN (1)\n  - Thomas Weber <t.weber@leipzig.de>, leipzig.de, Deutschland; german" in german
    assert "Erinnerung" in german.split("GEPLANT")[1] and "reminder" not in german, german
    assert "Zeiten in Europe/Berlin" in german


def own_mail(role: str, body: str) -> bytes:
    return outbox.compose(
        from_name="mailflow", from_address="international@cc-events.example", to_name="Irakli Samkharadze",
        to_address="international@cc-events.example", subject="mailflow digest: will the event be recorded?",
        text=body, message_id=outbox.new_message_id("international@cc-events.example"), role=role,
        date=datetime(2026, 11, 30, 4, tzinfo=UTC), auto_submitted="auto-generated")


def test_mailflows_own_mail_in_a_watched_inbox_is_never_answered_a_question_or_in_a_digest(tmp_path, maildirs):
    clock = SettableClock(local(TBILISI, 6))
    worker = worker_at(tmp_path, maildirs, clock)
    asking = "OPEN QUESTIONS (1)\n  - Could you tell me: will the event be recorded? I would like to participate."
    deliver(maildirs, own_mail(outbox.DIGEST, asking), arrived=clock())
    # Without Auto-Submitted (a server or an older mailflow that drops it) it would read as a question.
    bare = b"".join(line for line in own_mail(outbox.NOTICE, asking).splitlines(keepends=True)
                    if not line.startswith((b"Auto-Submitted:", b"X-Auto-Response-Suppress:")))
    deliver(maildirs, bare, arrived=clock())
    report = worker.run_once()
    assert (report.processed, report.sent) == (2, 0)                  # no reply, no notice, nobody registered
    assert worker.db.execute("select count(*) from outbox").fetchone()[0] == 0
    assert worker.db.execute("select count(*) from registrants").fetchone()[0] == 0
    assert history.open_questions(worker.db) == []
    assert {r[0] for r in worker.db.execute("select intent from messages")} == {"bulk"}
    clock.moment = local(TBILISI, 8)
    worker.run_once()
    assert digests(worker) == []                                       # nothing else happened: no digest


def test_digest_and_language_keys_are_checked_with_their_line(tmp_path):
    data = rules_data(database=str(tmp_path / "db"))
    data["mailboxes"]["german"]["language"] = "fr"
    data["mailboxes"]["international"]["digest"] = {"time": "8:30", "timezone": "Europe/Tiblisi", "enabled": True}
    text = yaml.safe_dump(data).replace("time: '8:30'", "time: 8:30")   # unquoted: YAML 1.1 reads 510
    with pytest.raises(RulesError) as caught:
        parse_rules(text, tmp_path / "rules.yaml")
    messages = [p.message for p in caught.value.problems]
    assert any("mailboxes.german.language" in m and "en, de" in m for m in messages), messages
    assert any("unknown time zone 'Europe/Tiblisi'" in m for m in messages), messages
    assert all(p.line for p in caught.value.problems)
    data["mailboxes"]["german"]["language"] = "de"
    data["mailboxes"]["international"]["digest"]["timezone"] = "Asia/Tbilisi"
    rules = parse_rules(yaml.safe_dump(data).replace("time: '8:30'", "time: 8:30"), tmp_path / "rules.yaml")
    assert rules.mailboxes["international"].digest.time == time(8, 30)


def refused(worker: Worker) -> None:
    with database.transaction(worker.db):
        health.record_failure(worker.db, "international", health.SMTP,
                              "SMTP login refused by smtp.example for intl: 535 5.7.8 Authentication failed")


def test_a_health_problem_alone_is_something_to_say_and_comes_first(tmp_path, maildirs):
    clock = SettableClock(local(TBILISI, 6))
    deliver(maildirs, make_mail(), arrived=clock())
    worker = worker_at(tmp_path, maildirs, clock)
    worker.run_once()
    refused(worker)
    clock.moment = local(TBILISI, 8)
    worker.run_once()
    text = digest_text(worker, "international")
    assert text.index("HEALTH\n  - international: cannot send (SMTP login refused or server unreachable) since "
                      "2026-11-30 06:00 +04 (SMTP login refused by smtp.example for intl: 535") < \
        text.index("NEW REGISTRANTS (1)"), text
    # The next day nothing new happened, but the server refuses again: that alone is a digest.
    clock.advance(days=1)
    refused(worker)
    worker.run_once()
    assert [kind for _, kind, _ in digests(worker)] == [f"digest:{DAY}", f"digest:{DAY + timedelta(days=1)}"]
    assert "NEW REGISTRANTS" not in digest_text(worker, "international")


def test_a_broken_template_holds_only_its_own_digest_until_it_is_fixed(tmp_path, maildirs):
    templates = tmp_path / "templates"
    shutil.copytree(REPO / "templates", templates)
    good = (templates / "digest_de.txt").read_text()
    (templates / "digest_de.txt").write_text(good.replace("{{ coordinator.name }}", "{{ coordinator.nmae }}"))
    clock = SettableClock(local(BERLIN, 7))
    deliver(maildirs, make_mail(), arrived=clock())
    deliver(maildirs, make_mail(sender="Thomas Weber <t.weber@leipzig.de>", to="german@cc-events.example",
                                body="Sehr geehrte Frau Toukan,\n\nich möchte gerne teilnehmen.\n\nThomas Weber"),
            mailbox="german", arrived=clock())
    rules = digest_rules(tmp_path, templates)
    worker = maildir_worker(rules, maildirs, tmp_path / "mailflow.db", clock=clock)
    clock.moment = local(BERLIN, 8)
    report = worker.run_once()
    assert [m for m, _, _ in digests(worker)] == ["international"]
    assert any("digest_de.txt" in error and "nmae" in error for error in report.errors), report.errors
    (templates / "digest_de.txt").write_text(good)
    worker.replies = Replies(templates)   # a worker keeps the set it read; the daemon hands it one that passed
    clock.advance(minutes=1)
    worker.run_once()
    assert [m for m, _, _ in digests(worker)] == ["international", "german"]


@pytest.mark.parametrize("state, words", [("failed", "fehlgeschlagen"), ("uncertain", "ungewiss, ob gesendet")])
def test_the_german_digest_names_what_is_scheduled_and_what_failed_in_german(tmp_path, state, words):
    rules = digest_rules(tmp_path)
    context = sample_digest_context(rules, "german")
    context["failed"][0]["state"] = state
    context["scheduled"] = [{**context["scheduled"][0], "what": what} for what in ("reminder", "agenda", "access")]
    text = Replies(REPO / "templates").render(digest_template("de"), context).text
    assert words in text and state not in text, text
    assert "Erinnerung, " in text and "Programm, " in text and "Zugangsdaten, " in text, text


def test_a_digest_sent_after_the_backup_is_not_sent_again_by_the_restored_database(tmp_path, maildirs):
    """The restored database had no row of the day's digest, and the coordinator got it twice; it is found in
    the Sent folder now (X-Mailflow: digest DAY)."""
    import shutil
    import sqlite3

    clock = SettableClock(local(TBILISI, 7))
    deliver(maildirs, make_mail(), arrived=clock())
    worker = worker_at(tmp_path, maildirs, clock)
    worker.run_once()
    with sqlite3.connect(tmp_path / "backup.db") as backup:
        worker.db.conn.backup(backup)
    clock.moment = local(TBILISI, 8, 30)
    worker.run_once()
    assert digests(worker) == [("international", f"digest:{DAY}", "sent")]
    worker.db.close()
    for name in ("mailflow.db", "mailflow.db-wal", "mailflow.db-shm", "mailflow.db-sent"):
        (tmp_path / name).unlink(missing_ok=True)
    shutil.move(tmp_path / "backup.db", tmp_path / "mailflow.db")
    restored = worker_at(tmp_path, maildirs, clock)
    restored.sent_folders = {"international": SentFolderOf(tmp_path / "sent")}
    clock.advance(minutes=10)
    restored.run_once()
    assert digests(restored) == []
    assert len(list((tmp_path / "sent").glob("*.eml"))) == 2   # the confirmation and one digest
