"""The worker against a real Dovecot and a real SMTP server on loopback."""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from click.testing import CliRunner

from mailflow import runner
from mailflow.cli import main
from mailflow.database import open_database
from mailflow.rules import load_rules
from tests.support import REPO
from tests.support.mail import make_mail
from tests.support.rules import write_rules
from tests.support.servers import GERMAN_USER, INTL_USER

SAMPLES = REPO / "samples/maildir"


def deliver_samples(dovecot) -> None:
    for name, user in (("international", INTL_USER), ("german", GERMAN_USER)):
        for path in sorted((SAMPLES / name / "new").iterdir()):
            if not path.name.startswith("."):
                dovecot.append(user, path.read_bytes())


def test_new_mail_gets_exactly_one_reply_with_the_right_headers(servers, rules_path):
    dovecot, smtp = servers
    incoming = make_mail(message_id="<first@tbilisi.gov.ge>")
    dovecot.append(INTL_USER, incoming)
    report = runner.run_once(load_rules(rules_path))
    assert (report.recorded, report.processed, report.sent, report.errors) == (1, 1, 1, [])
    (received,) = smtp.wait_for(1)
    reply = received.message
    assert received.rcpt_tos == ["nino@tbilisi.gov.ge"]
    assert received.mail_from == "international@cc-events.example"
    assert reply["From"].addresses[0].display_name == "Irakli Samkharadze"
    assert reply["In-Reply-To"] == "<first@tbilisi.gov.ge>"
    assert reply["References"] == "<first@tbilisi.gov.ge>"
    assert reply["Auto-Submitted"] == "auto-replied"
    assert reply["Subject"].startswith("Your registration:")
    assert "We have registered you" in reply.get_content()
    (flags,) = dovecot.flags(INTL_USER).values()
    assert b"$MailflowProcessed" in flags and b"\\Seen" not in flags

    again = runner.run_once(load_rules(rules_path))
    assert (again.recorded, again.sent) == (0, 0)
    time.sleep(0.2)
    assert len(smtp.messages) == 1


def test_samples_end_to_end(servers, rules_path):
    dovecot, smtp = servers
    deliver_samples(dovecot)
    report = runner.run_once(load_rules(rules_path))
    assert (report.recorded, report.processed, report.sent, report.failed) == (11, 11, 8, 0)
    received = smtp.wait_for(8)
    by_recipient = {m.rcpt_tos[0]: m.message for m in received}
    # ... and the German coordinator is told, with the original attached.
    notice = by_recipient["german@cc-events.example"]
    assert notice["Subject"].startswith("[mailflow] Eine Mail für Sie ging an Irakli Samkharadze")   # language: de
    assert "stadt.nuernberg.de" in notice.get_body(("plain",)).get_content()
    (original,) = notice.iter_attachments()
    assert original.get_content_type() == "message/rfc822"       # a mail the client opens as one
    assert "As a German expert" in original.get_content().get_body(("plain",)).get_content()
    # The German expert who wrote to the international address is answered by the German coordinator.
    nuremberg = by_recipient["thomas.weber@stadt.nuernberg.de"]
    assert nuremberg["From"].addresses[0].addr_spec == "german@cc-events.example"
    assert nuremberg["Subject"].startswith("Ihre Anmeldung")
    assert "m.hartmann@web.de" not in by_recipient          # out of office
    # The question, and Kragujevac's unsure registration on behalf of a colleague ("may join as well",
    # no address, no reply), stand out in the coordinator's client; the out-of-office does not.
    flagged = [raw for uid, raw in zip(dovecot.flags(INTL_USER), dovecot.messages(INTL_USER), strict=False)
               if b"\\Flagged" in dovecot.flags(INTL_USER)[uid]]
    assert [b"Questions about the online event" in raw for raw in flagged] == [False, True]
    assert b"djordje.stankovic@kragujevac.rs" in flagged[0]
    assert "djordje.stankovic@kragujevac.rs" not in by_recipient
    german_flags = list(dovecot.flags(GERMAN_USER).values())
    assert len(german_flags) == 5 and all(b"$MailflowProcessed" in f for f in german_flags)
    assert not any(b"\\Flagged" in f for f in german_flags)
    assert "news@kommunalwelt-digital.de" not in by_recipient
    db = open_database(rules_path.parent / "mailflow.db")
    assert db["registrants"].count == 5
    assert {r["status"] for r in db["registrants"].rows} == {"registered"}


def test_automatic_mail_gets_no_reply(servers, rules_path):
    dovecot, smtp = servers
    dovecot.append(INTL_USER, make_mail(subject="Out of Office: Participation",
                                        headers={"Auto-Submitted": "auto-replied"}))
    dovecot.append(INTL_USER, make_mail(headers={"Precedence": "bulk"}))
    report = runner.run_once(load_rules(rules_path))
    assert (report.processed, report.sent) == (2, 0)
    time.sleep(0.3)
    assert smtp.messages == []


def test_broken_mail_is_quarantined_and_the_next_still_processed(servers, rules_path):
    dovecot, smtp = servers
    nested = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i) for i in range(2000))
    dovecot.append(INTL_USER, b"From: a@b.example\r\nMIME-Version: 1.0\r\n" + nested + b"end\r\n")
    dovecot.append(INTL_USER, make_mail())
    report = runner.run_once(load_rules(rules_path))
    assert (report.quarantined, report.processed, report.sent) == (1, 1, 1)
    db = open_database(rules_path.parent / "mailflow.db")
    states = [r["state"] for r in db["messages"].rows_where(order_by="uid")]
    assert states == ["quarantined", "processed"]
    assert len(dovecot.messages(INTL_USER)) == 2           # nothing deleted on the server


def test_uidvalidity_change_does_not_answer_again(servers, rules_path):
    dovecot, smtp = servers
    first, second = make_mail(message_id="<a@x.ge>"), make_mail(message_id="<b@x.ge>", sender="b@x.ge")
    dovecot.append(INTL_USER, first)
    runner.run_once(load_rules(rules_path))
    smtp.wait_for(1)
    old = dovecot.uidvalidity(INTL_USER)
    dovecot.recreate_folder(INTL_USER, "INBOX")
    dovecot.append(INTL_USER, first)                        # same mail, new UID space
    dovecot.append(INTL_USER, second)
    assert dovecot.uidvalidity(INTL_USER) != old
    report = runner.run_once(load_rules(rules_path))
    assert (report.recorded, report.sent) == (1, 1)
    smtp.wait_for(2)
    time.sleep(0.2)
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == ["b@x.ge", "nino@tbilisi.gov.ge"]
    assert all(b"$MailflowProcessed" in f for f in dovecot.flags(INTL_USER).values())


def test_two_mails_with_one_message_id_are_both_answered_and_a_copy_delivered_again_is_not(servers, tmp_path,
                                                                                             caplog):
    """A cancellation whose mailer reused the registration's Message-ID is answered too (and logged);
    the registration delivered again, with other Received headers and a new UID, is not answered again."""
    dovecot, smtp = servers
    caplog.set_level(logging.INFO, logger="mailflow.worker")
    rules_path = write_rules(tmp_path, dovecot, smtp, reply_interval_days=0)

    def received(hop: str, raw: bytes) -> bytes:
        return (f"Return-Path: <a@x.ge>\r\nDelivered-To: intl@example.org\r\nReceived: from mx.x.ge by "
                f"mx.example.org with ESMTPS id {hop}; Mon, 14 Sep 2020 10:00:00 +0200\r\n"
                f"Authentication-Results: mx.example.org; spf=pass ({hop})\r\n").encode() + raw

    registers = make_mail(sender="a@x.ge", message_id="<one@x.ge>").replace(b"\n", b"\r\n")
    cancels = make_mail(sender="a@x.ge", message_id="<one@x.ge>", subject="Cancel",
                        body="Sorry, I have to cancel my registration.").replace(b"\n", b"\r\n")
    dovecot.append(INTL_USER, received("hop1", registers))
    dovecot.append(INTL_USER, received("hop2", cancels))
    report = runner.run_once(load_rules(rules_path))
    assert (report.recorded, report.processed, report.sent, report.errors) == (2, 2, 2, [])
    replies = smtp.wait_for(2)
    subjects = sorted(m.message["Subject"].split(":")[0] for m in replies)
    assert subjects == ["Cancellation confirmed", "Your registration"]
    assert "message_id=<one@x.ge> carries other content than the mail with that Message-ID recorded before" \
        in caplog.text

    dovecot.append(INTL_USER, received("hop3", registers))   # the registration again, a new UID
    again = runner.run_once(load_rules(rules_path))
    assert (again.recorded, again.processed, again.sent, again.errors) == (0, 0, 0, [])
    time.sleep(0.3)
    assert len(smtp.messages) == 2
    assert "uid=3 message_id=<one@x.ge> the same mail as uid 1 (delivered again): not recorded twice" in caplog.text
    assert all(b"$MailflowProcessed" in f for f in dovecot.flags(INTL_USER).values())
    db = open_database(rules_path.parent / "mailflow.db")
    assert [r["status"] for r in db["registrants"].rows] == ["cancelled"]


def test_move_to_folder_after_processing(servers, tmp_path):
    dovecot, smtp = servers
    rules_path = write_rules(tmp_path, dovecot, smtp)
    text = rules_path.read_text().replace("flag: $MailflowProcessed",
                                          "flag: $MailflowProcessed\n      move_to: Processed")
    rules_path.write_text(text)
    with dovecot.session(INTL_USER) as client:
        client.create_folder("Processed")
    dovecot.append(INTL_USER, make_mail())
    assert runner.run_once(load_rules(rules_path)).sent == 1
    assert dovecot.messages(INTL_USER) == []
    assert len(dovecot.messages(INTL_USER, "Processed")) == 1


def test_tls_certificate_is_verified(servers, tmp_path):
    dovecot, smtp = servers
    rules_path = write_rules(tmp_path, dovecot, smtp)
    data = yaml.safe_load(rules_path.read_text())
    del data["mailboxes"]["german"], data["classification"]["audiences"]["german"]
    for section in ("replies", "announcements", "on_behalf"):
        data[section] = {kind: {"international": by["international"]} for kind, by in data[section].items()}
    data["mailboxes"]["international"]["imap"].update(port=dovecot.ssl_port, security="tls")
    rules_path.write_text(yaml.safe_dump(data))
    dovecot.append(INTL_USER, make_mail())
    report = runner.run_once(load_rules(rules_path))
    assert report.recorded == 0
    assert any("certificate verify failed" in e.lower() for e in report.errors), report.errors
    shown = CliRunner().invoke(main, ["--rules", str(rules_path), "status"]).output   # the cause, in words
    assert "IMAP failing since" in shown and f"IMAP TLS verification failed for 127.0.0.1:{dovecot.ssl_port}" in shown
    data["mailboxes"]["international"]["imap"]["ca_file"] = str(dovecot.cafile)
    rules_path.write_text(yaml.safe_dump(data))
    assert runner.run_once(load_rules(rules_path)).recorded == 1


def test_smtp_refusals(servers, rules_path):
    dovecot, smtp = servers
    dovecot.append(INTL_USER, make_mail(sender="temp@x.ge"))
    smtp.fail_next(1, 451)
    report = runner.run_once(load_rules(rules_path))
    assert report.sent == 0
    db = open_database(rules_path.parent / "mailflow.db")
    (row,) = db["outbox"].rows
    assert row["state"] == "queued" and "451" in row["error"]
    retry_at = datetime.fromisoformat(row["next_attempt_at"])
    assert timedelta(seconds=290) < retry_at - datetime.now(UTC) <= timedelta(seconds=300)
    assert runner.run_once(load_rules(rules_path)).sent == 0        # not due yet: Postfix-like backoff
    worker = runner.server_worker(load_rules(rules_path))
    worker.clock = lambda: datetime.now(UTC) + timedelta(minutes=6)
    assert worker.run_once().sent == 1
    runner.close_connections(worker)

    dovecot.append(INTL_USER, make_mail(sender="gone@x.ge"))
    smtp.fail_next(1, 550)
    report = runner.run_once(load_rules(rules_path))
    assert (report.sent, report.failed) == (0, 1)
    failed = next(db["outbox"].rows_where("recipient = ?", ["gone@x.ge"]))
    assert failed["state"] == "failed" and "550" in failed["error"]


def test_run_once_command(servers, rules_path):
    dovecot, smtp = servers
    dovecot.append(GERMAN_USER, make_mail(sender="a@leipzig.de", to="german@cc-events.example",
                                          body="Hiermit melde ich mich an."))
    result = CliRunner().invoke(main, ["--rules", str(rules_path), "run", "--once"])
    assert result.exit_code == 0, result.output
    assert "recorded 1, processed 1, quarantined 0, sent 1, failed 0" in result.output
    assert smtp.wait_for(1)[0].message["Subject"].startswith("Ihre Anmeldung")


def test_daemon_keeps_last_good_rules_and_stops_on_sigterm(servers, tmp_path):
    dovecot, smtp = servers
    rules_path = write_rules(tmp_path, dovecot, smtp, poll_interval=1)
    env = {**os.environ, "MAILFLOW_TEST_PASSWORD": "secret"}
    log_path = tmp_path / "daemon.log"
    with open(log_path, "w") as log:
        daemon = subprocess.Popen([sys.executable, "-m", "mailflow", "--rules", str(rules_path), "run"],
                                  stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        dovecot.append(INTL_USER, make_mail(sender="one@x.ge"))
        smtp.wait_for(1, timeout=15)
        good = rules_path.read_text()
        rules_path.write_text(good.replace("poll_interval: 1", "poll_intervall: 1"))
        dovecot.append(INTL_USER, make_mail(sender="two@x.ge"))
        smtp.wait_for(2, timeout=15)                     # still working on the last good rules
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=15) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
    output = log_path.read_text()
    line = next(i for i, text in enumerate(rules_path.read_text().splitlines(), 1) if "poll_intervall" in text)
    assert f"rules.yaml:{line}: unknown key 'poll_intervall'" in output
    assert "keeping the last good rules" in output
    assert "stopped cleanly" in output
    assert "secret" not in output
    with sqlite3.connect(rules_path.parent / "mailflow.db") as conn:
        assert conn.execute("pragma integrity_check").fetchone() == ("ok",)


def test_replies_are_saved_in_the_sent_folder_and_a_crash_is_reconciled_with_it(servers, rules_path):
    dovecot, smtp = servers
    dovecot.append(INTL_USER, make_mail(sender="a@x.ge"))
    assert runner.run_once(load_rules(rules_path)).sent == 1
    (copy,) = dovecot.messages(INTL_USER, "Sent")
    (received,) = smtp.wait_for(1)
    assert copy.split(b"\r\n\r\n", 1)[1] == received.data.split(b"\r\n\r\n", 1)[1]   # the same body
    db = open_database(rules_path.parent / "mailflow.db")
    (row,) = db["outbox"].rows
    assert row["message_id"].encode() in copy

    # A crash while the SMTP server had it (journal: begun, no answer) leaves the row in `sending`:
    # the Sent copy settles it.
    db.execute("update outbox set state = 'sending'")
    begun(rules_path, row["id"])
    dovecot.append(INTL_USER, make_mail(sender="b@x.ge"))
    report = runner.run_once(load_rules(rules_path))
    assert report.sent == 1
    time.sleep(0.2)
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == ["a@x.ge", "b@x.ge"]
    assert db["outbox"].get(row["id"])["state"] == "sent"

    # The same without a copy in Sent: mailflow cannot know, so it holds the mail as uncertain for a
    # coordinator, who sends it again with `mailflow outbox retry`.
    (b_row,) = db["outbox"].rows_where("recipient = 'b@x.ge'")
    db.execute("update outbox set state = 'sending' where id = ?", [b_row["id"]])
    begun(rules_path, b_row["id"])
    drop_sent_copies(dovecot, "b@x.ge")
    assert runner.run_once(load_rules(rules_path)).sent == 0
    assert db["outbox"].get(b_row["id"])["state"] == "uncertain"
    status = CliRunner().invoke(main, ["--rules", str(rules_path), "status"]).output
    assert f"uncertain {b_row['id']}" in status and "outbox retry ID" in status
    assert CliRunner().invoke(main, ["--rules", str(rules_path), "outbox", "retry", str(b_row["id"])]).exit_code == 0
    assert runner.run_once(load_rules(rules_path)).sent == 1
    time.sleep(0.2)
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == ["a@x.ge", "b@x.ge", "b@x.ge"]

    # Claimed but never begun (a crash before the mail left, so no copy in Sent either: a copy there
    # would say it was sent): queued again and sent once.
    db.execute("update outbox set state = 'sending' where id = ?", [b_row["id"]])
    drop_sent_copies(dovecot, "b@x.ge")
    assert runner.run_once(load_rules(rules_path)).sent == 1


def drop_sent_copies(dovecot, recipient: str) -> None:
    with dovecot.session(INTL_USER) as client:
        client.select_folder("Sent")
        client.delete_messages(client.search(["HEADER", "To", recipient]))
        client.expunge()


def begun(rules_path, outbox_id: int) -> None:
    """The journal as a worker killed while the SMTP server had this mail leaves it."""
    from mailflow.dispatch import SentJournal

    with open(rules_path.parent / "mailflow.db-sent", "ab") as journal:
        journal.write(f"B {outbox_id}".encode().ljust(SentJournal.RECORD - 1) + b"\n")


def test_first_sync_of_a_large_inbox_shows_progress(servers, rules_path):
    dovecot, smtp = servers
    dovecot.append_many(INTL_USER, [make_mail(sender=f"p{i}@x.ge", message_id=f"<p{i}@x.ge>") for i in range(210)])
    result = CliRunner().invoke(main, ["--rules", str(rules_path), "run", "--once"])
    assert result.exit_code == 0, result.output
    assert "recorded 210, processed 210" in result.output
    assert "fetching international" in result.stderr and "processing" in result.stderr


def test_a_registration_that_asks_is_registered_flagged_listed_and_answered_with_its_own_template(servers, rules_path):
    from mailflow import history

    dovecot, smtp = servers
    dovecot.append(INTL_USER, make_mail(
        message_id="<asks@tbilisi.gov.ge>",
        body="Dear Mr. Samkharadze,\n\nI'd like to join the online event; will there be Russian\n"
             "interpretation?\n\nBest regards,\nNino Beridze\nTbilisi",
    ))
    rules = load_rules(rules_path)
    report = runner.run_once(rules)
    assert (report.processed, report.sent) == (1, 1)
    (received,) = smtp.wait_for(1)
    text = received.message.get_content()
    assert "We have registered you" in text and "Your question has been passed to Irakli Samkharadze" in text
    db = open_database(rules.database_path)
    (registrant,) = db["registrants"].rows
    assert (registrant["address"], registrant["status"]) == ("nino@tbilisi.gov.ge", "registered")
    (question,) = history.open_questions(db)
    assert question["sender"] == "nino@tbilisi.gov.ge"
    (flags,) = dovecot.flags(INTL_USER).values()
    assert b"\\Flagged" in flags and b"$MailflowProcessed" in flags


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelining", "one command at a time"])
def test_a_421_and_a_connection_dropped_after_data_never_send_a_mail_twice(servers, rules_path, pipelining):
    """Issue 13: a server that answers 421 (going down) defers the mail, which goes out once later; a
    server that takes a mail and drops the connection before its answer leaves it to be settled from
    the Sent folder (it is there: sent) or held as uncertain, never sent again blindly. With and without
    PIPELINING (smtplib's own sendmail())."""
    import yaml

    dovecot, smtp = servers
    smtp.pipelining = pipelining
    data = yaml.safe_load(rules_path.read_text())
    for box in data["mailboxes"].values():
        box["sent_copy"] = "provider"        # the server files what it takes, as Gmail does
    rules_path.write_text(yaml.safe_dump(data, allow_unicode=True))
    smtp.on_accept = lambda message: dovecot.append(INTL_USER, message.data, folder="Sent")
    dovecot.append(INTL_USER, make_mail(sender="a@x.ge", message_id="<a@x.ge>"))
    smtp.fail_next(1, 421, "4.3.2 shutting down", stage="MAIL")
    first = runner.run_once(load_rules(rules_path))
    assert first.sent == 0 and smtp.messages == []
    db = open_database(rules_path.parent / "mailflow.db")
    (row,) = db["outbox"].rows
    assert row["state"] == "queued" and "421" in (row["error"] or "")

    db.execute("update outbox set next_attempt_at = null")     # the retry is due
    dovecot.append(INTL_USER, make_mail(sender="b@x.ge", message_id="<b@x.ge>"))
    smtp.drop_after_data(1)                                     # takes a@x.ge's reply, then hangs up
    runner.run_once(load_rules(rules_path))
    assert db["outbox"].get(row["id"])["state"] == "sending"    # taken, answer lost: not queued again
    runner.run_once(load_rules(rules_path))                     # settles it from Sent
    time.sleep(0.2)
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == ["a@x.ge", "b@x.ge"]
    assert {r["state"] for r in db["outbox"].rows} == {"sent"}
