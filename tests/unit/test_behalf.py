"""Registration on behalf of others through the worker, on Maildirs and a real SQLite file."""

import email
import email.policy

from mailflow import behalf, history, people
from mailflow.replies import Replies
from tests.support.mail import make_mail
from tests.support.maildirs import deliver, maildir_worker
from tests.support.rules import upcoming_rules
from tests.unit.test_nominations import SUBSTITUTE

RULES = upcoming_rules()   # the event a month ahead: registration is open

LIST = ("Dear Mr. Samkharadze,\n\nplease register our Deputy Mayor Mr Giorgi Beridze (g.beridze@tbilisi.gov.ge) and "
        "Ms Maia Lomidze (m.lomidze@tbilisi.gov.ge) for the online event on 7 October. I will attend as well.\n\n"
        "Best regards,\nNino Kapanadze\nTbilisi City Hall\n")
UNSURE = ("Dear Mr. Samkharadze,\n\nI would like to attend the online event on 7 October, and please also register "
          "my colleague Armen Hakobyan from the IT department. Bitte melden Sie auch it-team@yerevan.am an.\n\n"
          "Best regards,\nLusine\n")


def sent_mails(worker):
    return {row["recipient"]: (row["kind"], email.message_from_bytes(row["raw"], policy=email.policy.default))
            for row in worker.db["outbox"].rows}


def test_each_nominee_is_registered_and_confirmed_and_the_sender_gets_one_summary(tmp_path, maildirs):
    deliver(maildirs, make_mail(sender="Nino Kapanadze <n.kapanadze@tbilisi.gov.ge>", body=LIST), "1")
    worker = maildir_worker(RULES, maildirs, tmp_path / "test.db")
    report = worker.run_once()
    assert (report.processed, report.sent) == (1, 3)
    rows = {r["address"]: r for r in people.list_registrants(worker.db)}
    assert set(rows) == {"g.beridze@tbilisi.gov.ge", "m.lomidze@tbilisi.gov.ge", "n.kapanadze@tbilisi.gov.ge"}
    assert rows["g.beridze@tbilisi.gov.ge"]["name"] == "Giorgi Beridze"
    assert rows["g.beridze@tbilisi.gov.ge"]["registered_by"] == "n.kapanadze@tbilisi.gov.ge"
    assert rows["m.lomidze@tbilisi.gov.ge"]["registered_by"] == "n.kapanadze@tbilisi.gov.ge"
    assert rows["n.kapanadze@tbilisi.gov.ge"]["registered_by"] is None   # she registered herself
    mails = sent_mails(worker)
    kind, confirmation = mails["g.beridze@tbilisi.gov.ge"]
    assert kind == f"confirmation:{rows['g.beridze@tbilisi.gov.ge']['id']}"
    body = confirmation.get_content()
    assert "Dear Giorgi Beridze" in body and "Nino Kapanadze (n.kapanadze@tbilisi.gov.ge) has registered you" in body
    assert "simply answer this mail" in body and confirmation["Auto-Submitted"] == "auto-generated"
    kind, summary = mails["n.kapanadze@tbilisi.gov.ge"]
    assert kind == "reply:interest" and summary["In-Reply-To"]
    text = summary.get_content()
    assert "Giorgi Beridze <g.beridze@tbilisi.gov.ge>" in text and "Maia Lomidze <m.lomidze@tbilisi.gov.ge>" in text
    assert "you (n.kapanadze@tbilisi.gov.ge)" in text
    explained = history.explain(worker.db, "1")
    assert any("registers Giorgi Beridze <g.beridze@tbilisi.gov.ge>" in r for r in explained["reasons"])
    assert history.open_questions(worker.db) == []

    # Answering the confirmation withdraws the registration.
    deliver(maildirs, make_mail(
        sender="Giorgi Beridze <g.beridze@tbilisi.gov.ge>", subject="Re: " + confirmation["Subject"],
        body="Dear Mr. Samkharadze,\n\nplease cancel my registration, I cannot attend.\n\nGiorgi",
        headers={"In-Reply-To": confirmation["Message-ID"]}), "2")
    worker.run_once()
    rows = {r["address"]: r for r in people.list_registrants(worker.db)}
    assert rows["g.beridze@tbilisi.gov.ge"]["status"] == "cancelled"

    # Forgetting the sender keeps the people she registered, without the link to her.
    people.forget(worker.db, "n.kapanadze@tbilisi.gov.ge")
    rows = {r["address"]: r for r in people.list_registrants(worker.db)}
    assert set(rows) == {"g.beridze@tbilisi.gov.ge", "m.lomidze@tbilisi.gov.ge"}
    assert rows["m.lomidze@tbilisi.gov.ge"]["registered_by"] is None


def test_an_unsure_mail_registers_nobody_is_flagged_and_waits_for_confirm(tmp_path, maildirs):
    deliver(maildirs, make_mail(sender="Lusine Avetisyan <l.avetisyan@yerevan.am>", body=UNSURE), "1")
    worker = maildir_worker(RULES, maildirs, tmp_path / "test.db")
    flagged = []
    box = worker.mailboxes["international"]
    real = box.mark_processed
    box.mark_processed = lambda uids, flag_uids=(): (flagged.extend(flag_uids), real(uids, flag_uids))
    report = worker.run_once()
    assert (report.processed, report.sent) == (1, 0)
    assert worker.db["registrants"].count == 0 and worker.db["outbox"].count == 0
    assert flagged == [1]
    (waiting,) = history.open_questions(worker.db)
    assert waiting["sender"] == "l.avetisyan@yerevan.am"
    reasons = history.explain(worker.db, str(waiting["id"]))["reasons"]
    assert any("an address without a name: it-team@yerevan.am" in r for r in reasons)
    assert any("someone to register without an address" in r for r in reasons)

    registered = behalf.confirm(worker.db, RULES, Replies(RULES.templates_path), str(waiting["id"]), by="test")
    assert [r["address"] for r in registered] == ["l.avetisyan@yerevan.am"]   # Armen has no address yet
    assert history.open_questions(worker.db) == []
    added = behalf.add(worker.db, RULES, Replies(RULES.templates_path), "A.Hakobyan@yerevan.am", "Armen Hakobyan",
                       event_id=None, registered_by="l.avetisyan@yerevan.am", audience=None, by="test")
    assert (added["address"], added["audience"], added["registered_by"]) == (
        "a.hakobyan@yerevan.am", "international", "l.avetisyan@yerevan.am")
    assert worker.run_once().sent == 1   # Armen's confirmation
    kind, confirmation = sent_mails(worker)["a.hakobyan@yerevan.am"]
    assert kind == f"confirmation:{added['id']}"
    assert "Lusine Avetisyan (l.avetisyan@yerevan.am) has registered you" in confirmation.get_content()


def test_a_cancellation_naming_a_substitute_cancels_the_sender_and_proposes_the_substitute(tmp_path, maildirs):
    sender = "Miriam Albrecht <m.albrecht@stadt.freiburg.de>"
    deliver(maildirs, make_mail(sender=sender, body="Hallo,\n\nich möchte gerne teilnehmen.\n\nMiriam Albrecht",
                                to="german@cc-events.example"), "1", mailbox="german")
    worker = maildir_worker(RULES, maildirs, tmp_path / "test.db")
    worker.run_once()
    deliver(maildirs, make_mail(sender=sender, body=SUBSTITUTE, to="german@cc-events.example"), "2", mailbox="german")
    worker.run_once()
    rows = {r["address"]: r for r in people.list_registrants(worker.db)}
    assert rows["m.albrecht@stadt.freiburg.de"]["status"] == "cancelled"
    assert "jonas.hartmann@stadt.freiburg.de" not in rows
    (waiting,) = history.open_questions(worker.db)
    registered = behalf.confirm(worker.db, RULES, Replies(RULES.templates_path), str(waiting["id"]), by="test")
    assert [r["address"] for r in registered] == ["jonas.hartmann@stadt.freiburg.de"]   # not the sender again


def test_someone_else_to_register_in_reply_to_our_mail_is_flagged_for_a_coordinator(tmp_path, maildirs):
    """"Maybe a colleague will join too, name to follow" in reply to our confirmation was 'other': the
    unsure registration on behalf was never flagged, so nobody read it."""
    deliver(maildirs, make_mail(body="Dear Mr. Samkharadze,\n\nI would like to participate.\n\nNino"), "1")
    worker = maildir_worker(RULES, maildirs, tmp_path / "test.db")
    worker.run_once()
    (ack,) = worker.db["outbox"].rows
    deliver(maildirs, make_mail(subject="Re: " + ack["subject"], headers={"In-Reply-To": ack["message_id"]},
                                body="Dear Mr. Samkharadze,\n\nthank you. Maybe my colleague from the IT department "
                                     "will join too, I will send you her name.\n\nNino"), "2")
    worker.run_once()
    (waiting,) = history.open_questions(worker.db)
    assert waiting["sender"] == "nino@tbilisi.gov.ge" and "Re: " in waiting["subject"]
    assert worker.db["registrants"].count == 1 and worker.db["outbox"].count == 1
