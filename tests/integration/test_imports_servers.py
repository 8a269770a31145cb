"""People from a list on real servers: imported registrants get releases and reminders through aiosmtpd
like everyone else; an invitation goes out once, and a real reply to it through Dovecot registers the
person for the event it invited to."""

from __future__ import annotations

import time
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid

from click.testing import CliRunner

from mailflow.cli import main
from mailflow.database import open_database
from mailflow.rules import load_rules
from tests.support.rules import rules_data, write_rules
from tests.support.servers import INTL_USER, one_pass

OLD = "digitalisation-see-2020"
NEXT = "open-data-next"
OLD_TITLE = "Digitalisation of Municipal Services in Southeast Europe (SEE) and the Caucasus"
INTL, GERMAN = "international@cc-events.example", "german@cc-events.example"


def cli(rules_path, *args):
    result = CliRunner().invoke(main, ["--rules", str(rules_path), *args])
    assert result.exit_code == 0, result.output + result.stderr
    return result.stdout


def by_recipient(smtp) -> dict[str, list[EmailMessage]]:
    found: dict[str, list[EmailMessage]] = {}
    for received in smtp.messages:
        for rcpt in received.rcpt_tos:
            found.setdefault(rcpt, []).append(received.message)
    return found


def test_imported_registrants_get_the_release_and_the_reminder(servers, tmp_path):
    dovecot, smtp = servers
    rules_path = write_rules(tmp_path, dovecot, smtp)
    listing = tmp_path / "telefon.csv"
    listing.write_bytes("\ufeffName;E-Mail;Organisation\r\nAnna Lehmann;anna.lehmann@leipzig.de;Stadt Leipzig\r\n"
                        "Giorgi Beridze;g.beridze@tbilisi.gov.ge;Tbilisi City Hall\r\n".encode())
    assert "2 added" in cli(rules_path, "import", "registrants", str(listing), "--apply")
    report = one_pass(rules_path)   # the daemon's pass: each new address gets its confirmation first, alone
    assert (report.sent, report.errors) == (2, [])
    mails = by_recipient(smtp)
    assert [m["Subject"] for m in mails["anna.lehmann@leipzig.de"]] == [
        "Ihre Anmeldung: Digitalisation of Municipal Services in Southeast Europe (SEE) and the Caucasus"]
    assert [m["X-Mailflow"] for m in mails["g.beridze@tbilisi.gov.ge"]] == ["confirmation"]
    smtp.clear()
    agenda = tmp_path / "agenda.md"
    agenda.write_text("13:00 Welcome\n13:15 Open data\n", encoding="utf-8")

    out = cli(rules_path, "release", "agenda", "--text", str(agenda), "--yes")
    assert "sent 2, failed 0, deferred 0" in out
    mails = by_recipient(smtp)
    assert set(mails) == {"anna.lehmann@leipzig.de", "g.beridze@tbilisi.gov.ge"}
    assert [m["From"].addresses[0].addr_spec for m in mails["anna.lehmann@leipzig.de"]] == [GERMAN]
    assert [m["From"].addresses[0].addr_spec for m in mails["g.beridze@tbilisi.gov.ge"]] == [INTL]
    assert all("13:15 Open data" in m[0].get_content() for m in mails.values())

    smtp.clear()
    start = load_rules(rules_path).events[0].starts_at
    report = one_pass(rules_path, lambda: start - timedelta(hours=23))   # the 1-day reminder is due
    assert (report.sent, report.errors) == (2, [])
    mails = by_recipient(smtp)
    assert set(mails) == {"anna.lehmann@leipzig.de", "g.beridze@tbilisi.gov.ge"}
    assert {m[0]["Subject"].split(":")[0] for m in mails.values()} == {"Reminder", "Erinnerung"}


def reply_to(invitation: EmailMessage, sender: str, body: str) -> bytes:
    """What a mail client makes of 'Reply': the thread's headers, the invitation quoted below."""
    msg = EmailMessage()
    msg["From"] = f"Expert Zero <{sender}>"
    msg["To"] = invitation["From"]
    msg["Subject"] = f"Re: {invitation['Subject']}"
    msg["Message-ID"] = make_msgid(domain="city0.gov.ge")
    msg["In-Reply-To"] = msg["References"] = invitation["Message-ID"]
    quoted = "\n".join(f"> {line}" for line in invitation.get_content().splitlines())
    msg.set_content(f"{body}\n\nOn Monday, {invitation['From']} wrote:\n{quoted}\n")
    return msg.as_bytes()


def test_an_invitation_goes_once_and_a_reply_registers_for_its_event(servers, tmp_path):
    dovecot, smtp = servers
    new = {**rules_data()["events"][0], "id": NEXT, "title": "Open Data in Municipalities", "keywords": ["open data"]}
    rules_path = write_rules(tmp_path, dovecot, smtp, events=[rules_data(ahead=False)["events"][0], new])
    db = open_database(tmp_path / "mailflow.db")
    expert = "expert0@city0.gov.ge"
    db.execute("insert into registrants (event_id, address, name, audience, status, created_at) "
               "values (?, ?, 'Expert Zero', 'international', 'registered', '2020-09-20T09:00:00+00:00')",
               [OLD, expert])
    db.conn.commit()

    out = cli(rules_path, "invite", "--from-event", OLD, "--send")
    assert f"queued 1 invitations to {NEXT}" in out and "sent 1, failed 0" in out
    [received] = smtp.messages
    invitation = received.message
    assert received.rcpt_tos == [expert] and received.mail_from == INTL
    assert invitation["Subject"] == "Invitation: Open Data in Municipalities"
    assert (invitation["X-Mailflow"], invitation["Auto-Submitted"]) == (f"invitation {NEXT}", "auto-generated")
    assert db.execute("select count(*) from registrants where event_id = ?", [NEXT]).fetchone()[0] == 0

    smtp.clear()
    out = cli(rules_path, "invite", "--from-event", OLD, "--send")
    assert f"not invited: {expert}: invited already on" in out and "nothing is sent" in out
    time.sleep(0.2)
    assert smtp.messages == []

    # The reply names the earlier event (first in rules.yaml) too: its thread decides the event.
    dovecot.append(INTL_USER, reply_to(invitation, expert, (
        f"Dear Mr Samkharadze,\n\nyes, I would like to take part. The {OLD_TITLE} event last time "
        "was very useful for our city.\n\nBest regards,\nExpert Zero")))
    report = one_pass(rules_path)
    assert (report.processed, report.errors) == (1, [])
    row = db.execute("select event_id, status, name from registrants where address = ? and event_id = ?",
                     [expert, NEXT]).fetchone()
    assert row == (NEXT, "registered", "Expert Zero")
    message = db.execute("select intent, event_id, reasons from messages").fetchone()
    assert message[:2] == ("interest", NEXT) and "in reply to the invitation to it" in message[2]
    [ack] = smtp.messages
    assert ack.rcpt_tos == [expert] and ack.message["Subject"] == "Your registration: Open Data in Municipalities"
    assert ack.message["In-Reply-To"] is not None


def test_an_invitation_after_a_restore_reads_the_sent_folder_and_invites_nobody_twice(servers, tmp_path):
    """The invitations went out after the last backup; the backup is restored and the coordinator invites the
    same people again: the restored database had no row of them, and everyone was invited twice. Now the
    command reads the Sent folders first (X-Mailflow names the event) and skips them."""
    import sqlite3

    dovecot, smtp = servers
    new = {**rules_data()["events"][0], "id": NEXT, "title": "Open Data in Municipalities", "keywords": ["open data"]}
    rules_path = write_rules(tmp_path, dovecot, smtp, events=[rules_data(ahead=False)["events"][0], new],
                             mailbox={"sent_copy": "append"})
    db = open_database(tmp_path / "mailflow.db")
    experts = [f"expert{i}@city{i}.gov.ge" for i in range(3)]
    for expert in experts:
        db.execute("insert into registrants (event_id, address, name, audience, status, created_at) "
                   "values (?, ?, 'Expert', 'international', 'registered', '2020-09-20T09:00:00+00:00')", [OLD, expert])
    db.conn.commit()
    db.close()
    live, backup = tmp_path / "mailflow.db", tmp_path / "backup.db"
    with sqlite3.connect(live) as source, sqlite3.connect(backup) as target:
        source.backup(target)
    assert "sent 3, failed 0" in cli(rules_path, "invite", "--from-event", OLD, "--send")
    smtp.clear()
    for name in ("mailflow.db", "mailflow.db-wal", "mailflow.db-shm", "mailflow.db-sent"):
        (tmp_path / name).unlink(missing_ok=True)
    backup.rename(live)

    out = cli(rules_path, "invite", "--from-event", OLD, "--send")
    assert "3 invitations were found in the Sent folders" in out and f"queued 0 invitations to {NEXT}" in out
    assert "sent 0, failed 0" in out
    time.sleep(0.2)
    assert smtp.messages == []
    out = cli(rules_path, "invite", "--from-event", OLD)
    assert f"nobody new to invite to {NEXT}" in out and out.count("invited already on") == 3
