"""The worker on local Maildirs and a real SQLite file: no servers, same pipeline."""

import logging
import shutil
import time
from datetime import UTC, datetime

import pytest

from tests.support import REPO
from tests.support.mail import calendar_answer, make_mail
from tests.support.maildirs import deliver, maildir_worker
from tests.support.rules import rules_data, upcoming_rules
from tests.support.sent import SentFolder, UnreadableSent

RULES = upcoming_rules()   # the event a month ahead: these tests are not about dates


def test_broken_mail_is_quarantined_and_the_next_one_processed(tmp_path, maildirs):
    nested = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i) for i in range(2000))
    deliver(maildirs, b"From: a@b.example\r\nMIME-Version: 1.0\r\n" + nested, "1")
    deliver(maildirs, make_mail(), "2")
    worker = maildir_worker(RULES, maildirs, tmp_path / "test.db")
    report = worker.run_once()
    assert (report.quarantined, report.processed, report.sent) == (1, 1, 1)
    rows = {r["uid"]: r for r in worker.db["messages"].rows}
    assert rows[1]["state"] == "quarantined" and "nested too deeply" in rows[1]["error"]
    assert rows[1]["raw"].startswith(b"From: a@b.example")


def test_a_mail_whose_classification_fails_is_quarantined_alone(tmp_path, maildirs, monkeypatch):
    """A failure while classifying one mail of a batch quarantines that mail alone, with the error,
    and the others are answered."""
    from mailflow import worker as worker_module

    real = worker_module.classify

    def failing(incoming, *args, **kwargs):
        if incoming.sender == "broken@x.ge":
            raise ValueError("a bug in a rule")
        return real(incoming, *args, **kwargs)

    monkeypatch.setattr(worker_module, "classify", failing)
    for uid, sender in enumerate(["a@x.ge", "broken@x.ge", "b@x.ge"], start=1):
        deliver(maildirs, make_mail(sender=sender), str(uid))
    worker = maildir_worker(RULES, maildirs, tmp_path / "test.db")
    report = worker.run_once()
    assert (report.processed, report.quarantined, report.sent) == (2, 1, 2)
    states = {r["uid"]: (r["state"], r["error"]) for r in worker.db["messages"].rows}
    assert states[2] == ("quarantined", "processing failed: ValueError: a bug in a rule")
    assert states[1][0] == states[3][0] == "processed"


def test_a_batch_of_slow_mail_ends_after_its_seconds_by_the_clock(tmp_path, maildirs, monkeypatch):
    """A batch ends after PROCESS_BATCH mails or PROCESS_BATCH_SECONDS by the worker's clock: slow mail
    (four seconds each here) is committed and its replies sent every ten seconds, not after 200 mails."""
    from mailflow import dispatch as dispatch_module
    from mailflow import worker as worker_module
    from tests.support.clock import SettableClock

    assert worker_module.PROCESS_BATCH_SECONDS == 10
    clock = SettableClock(datetime.now(UTC).replace(microsecond=0))
    for uid in range(1, 8):
        deliver(maildirs, make_mail(sender=f"expert{uid}@tbilisi.gov.ge"), str(uid))
    worker = maildir_worker(RULES, maildirs, tmp_path / "test.db", clock=clock)
    process, pump = worker_module.Worker.process, dispatch_module.Dispatch.pump
    committed: list[int] = []

    def slow(self, row, moment):
        clock.advance(seconds=4)
        return process(self, row, moment)

    def counted(self, wait=False):   # the send session's pump runs after each committed batch
        committed.append(worker.db.execute("select count(*) from messages where state = 'processed'").fetchone()[0])
        return pump(self, wait)

    monkeypatch.setattr(worker_module.Worker, "process", slow)
    monkeypatch.setattr(dispatch_module.Dispatch, "pump", counted)
    report = worker.run_once()
    assert (report.processed, report.sent) == (7, 7)
    assert committed[:3] == [3, 6, 7]   # started at 0, 4 and 8 s; the fourth mail would start at 12 s


@pytest.mark.parametrize("broken", [
    "{{ no_such_variable }}",
    "{% macro again() %}{{ again() }}{% endmacro %}{{ again() }}",   # a RecursionError: quarantined before
], ids=["undefined variable", "endless recursion"])
def test_a_broken_template_leaves_the_mail_waiting_until_it_is_fixed(tmp_path, maildirs, broken):
    from mailflow.replies import Replies

    shutil.copytree(REPO / "templates", tmp_path / "templates")
    ack = tmp_path / "templates" / "ack_international.txt"
    good = ack.read_text()
    ack.write_text(good + broken + "\n")
    deliver(maildirs, make_mail(), "1")
    worker = maildir_worker(RULES, maildirs, tmp_path / "test.db")
    worker.replies = Replies(tmp_path / "templates")
    report = worker.run_once()
    assert (report.processed, report.quarantined, report.sent) == (0, 0, 0)
    assert [r["state"] for r in worker.db["messages"].rows] == ["recorded"]
    assert worker.db["outbox"].count == 0
    ack.write_text(good)
    worker.replies = Replies(tmp_path / "templates")
    assert (worker.run_once().processed, worker.db["outbox"].count) == (1, 1)


def test_a_template_broken_after_the_worker_read_it_answers_as_read(tmp_path, maildirs):
    """The audit's repro: with `{% endif %}` removed from ack_german.txt while mailflow ran, the next German
    registration raised TemplateProblem and stayed recorded, unanswered (Jinja re-read the file). The worker
    answers with the templates as it read them; a new set comes only through the daemon's check (runner)."""
    from mailflow.replies import Replies

    shutil.copytree(REPO / "templates", tmp_path / "templates")
    ack = tmp_path / "templates" / "ack_german.txt"
    registers = "Ich möchte mich gerne für die Veranstaltung anmelden."
    deliver(maildirs, make_mail(sender="a@x.ge", to="german@cc-events.example", body=registers), "1", mailbox="german")
    worker = maildir_worker(RULES, maildirs, tmp_path / "test.db")
    worker.replies = Replies(tmp_path / "templates")
    assert worker.run_once().sent == 1
    ack.write_text(ack.read_text().replace("{% endif %}", "", 1))
    deliver(maildirs, make_mail(sender="b@x.ge", to="german@cc-events.example", body=registers, message_id="<b@x.ge>"),
            "2", mailbox="german")
    report = worker.run_once()
    assert (report.processed, report.sent) == (1, 1)
    assert [r["state"] for r in worker.db["messages"].rows] == ["processed", "processed"]
    assert worker.replies.changed()   # what the daemon looks at before each pass

def test_a_broken_template_does_not_hold_up_a_mail_the_reply_limit_leaves_unanswered(tmp_path, maildirs):
    """A reply is rendered only when the reply limit still lets the mail be answered: a second
    registration held back by the limit is processed, whatever its template."""
    from mailflow.replies import Replies

    shutil.copytree(REPO / "templates", tmp_path / "templates")
    deliver(maildirs, make_mail(sender="a@x.ge"), "1")
    worker = maildir_worker(RULES, maildirs, tmp_path / "test.db")
    worker.rules = RULES.model_copy(update={"reply_interval_days": 7})
    assert worker.run_once().sent == 1
    (tmp_path / "templates" / "ack_international.txt").write_text("{{ no_such_variable }}\n")
    worker.replies = Replies(tmp_path / "templates")
    deliver(maildirs, make_mail(sender="a@x.ge", body="I would like to register for the online event."), "2")
    report = worker.run_once()
    assert (report.processed, report.quarantined, report.sent) == (1, 0, 0)
    assert [r["kind"] for r in worker.db["outbox"].rows] == ["reply:interest"]


def test_a_batch_keeps_to_its_bytes_and_count_and_takes_at_least_one_mail():
    from mailflow.mailbox import size_batches

    rows = [(1, 10), (2, 10), (3, 10), (4, 500), (5, 10), (6, None)]
    assert list(size_batches(rows, 50, size=1000)) == [[1, 2, 3, 4, 5, 6]]
    assert list(size_batches(rows, 50, size=100)) == [[1, 2, 3], [4], [5, 6]]
    assert list(size_batches(rows, 2, size=1000)) == [[1, 2], [3, 4], [5, 6]]
    assert list(size_batches([], 50, size=100)) == []


def test_second_pass_sends_nothing_and_registrant_is_one_across_inboxes(tmp_path, maildirs):
    deliver(maildirs, make_mail(sender="Nino <nino@tbilisi.gov.ge>"), "1")
    deliver(maildirs, make_mail(sender="NINO@Tbilisi.gov.ge", to="german@cc-events.example"), "1", mailbox="german")
    worker = maildir_worker(RULES, maildirs, tmp_path / "test.db")
    first = worker.run_once()
    assert (first.recorded, first.sent) == (2, 2)
    second = worker.run_once()
    assert (second.recorded, second.processed, second.sent) == (0, 0, 0)
    assert worker.db["registrants"].count == 1
    assert len(list((tmp_path / "sent").iterdir())) == 2


def test_an_answer_to_a_mail_with_in_reply_to_only_keeps_the_thread(tmp_path, maildirs):
    """RFC 5322 3.6.4: no References, one In-Reply-To: the answer's References are that and the mail's id (it
    named the mail alone, and a References-only threader lost the coordinator's mail it answered)."""
    import email
    import email.policy

    deliver(maildirs, make_mail(message_id="<child@x.ge>", headers={"In-Reply-To": "<invitation@cc-events.example>"}),
            "1")
    assert maildir_worker(RULES, maildirs, tmp_path / "test.db").run_once().sent == 1
    (sent,) = (tmp_path / "sent").iterdir()
    reply = email.message_from_bytes(sent.read_bytes(), policy=email.policy.default)
    assert (reply["In-Reply-To"], reply["References"].split()) == (
        "<child@x.ge>", ["<invitation@cc-events.example>", "<child@x.ge>"])


def test_same_mail_to_both_coordinators_is_answered_once(tmp_path, maildirs):
    raw = make_mail(to="international@cc-events.example, german@cc-events.example", message_id="<both@x.ge>")
    deliver(maildirs, raw, "1")
    deliver(maildirs, raw, "1", mailbox="german")
    worker = maildir_worker(RULES, maildirs, tmp_path / "test.db")
    assert worker.run_once().sent == 1
    assert worker.db["messages"].count == 2


# A mail as a server delivers it: trace headers, a signature and a filter's verdict on top of what the sender wrote.
def delivered(raw: bytes, hop: str) -> bytes:
    return (f"Return-Path: <nino@tbilisi.gov.ge>\nDelivered-To: international@cc-events.example\n"
            f"Received: from mx.tbilisi.gov.ge by mx.cc-events.example ({hop});\n\tMon, 14 Sep 2020 10:00:0{hop[-1]}\n"
            f"X-Original-To: international@cc-events.example\nX-Spam-Status: No, score=-{hop[-1]}.1\n"
            f"Authentication-Results: mx.cc-events.example; dkim=pass ({hop})\n"
            f"ARC-Seal: i=1; a=rsa-sha256; b={hop}\nDKIM-Signature: v=1; b={hop}\n").encode() + raw


REGISTERS = make_mail(sender="a@x.ge", message_id="<one@x.ge>")
CANCELS = make_mail(sender="a@x.ge", message_id="<one@x.ge>", subject="Cancel",
                    body="Sorry, I have to cancel my registration.")
ANSWERS_EVERY_MAIL = RULES.model_copy(update={"reply_interval_days": 0})


def registered_then(tmp_path, maildirs, second: bytes):
    """The registration answered in one pass, then `second` delivered and a pass: (worker, its report)."""
    deliver(maildirs, delivered(REGISTERS, "hop1"), "1")
    worker = maildir_worker(ANSWERS_EVERY_MAIL, maildirs, tmp_path / "test.db")
    assert worker.run_once().sent == 1
    deliver(maildirs, second, "2")
    return worker, worker.run_once()


def test_two_different_mails_with_one_message_id_are_both_recorded_and_answered(tmp_path, maildirs, caplog):
    """A cancellation whose mailer reused the registration's Message-ID is a mail of its own, logged."""
    caplog.set_level(logging.INFO, logger="mailflow.worker")
    worker, report = registered_then(tmp_path, maildirs, delivered(CANCELS, "hop2"))
    assert (report.recorded, report.processed, report.sent) == (1, 1, 1)
    assert [(r["uid"], r["intent"], r["marked_on_server"]) for r in worker.db["messages"].rows_where(order_by="id")] \
        == [(1, "interest", 1), (2, "cancellation", 1)]
    assert sorted(r["kind"] for r in worker.db["outbox"].rows) == ["reply:cancellation", "reply:interest"]
    assert [r["status"] for r in worker.db["registrants"].rows] == ["cancelled"]
    assert "mailbox=international uid=2 message_id=<one@x.ge> carries other content than the mail with that " \
           "Message-ID recorded before (mailbox=international uid=1): recorded as a mail of its own" in caplog.messages


def test_the_same_mail_delivered_again_with_other_trace_headers_is_not_answered_twice(tmp_path, maildirs, caplog):
    caplog.set_level(logging.INFO, logger="mailflow.worker")
    worker, report = registered_then(tmp_path, maildirs, delivered(REGISTERS, "hop2"))
    assert (report.recorded, report.processed, report.sent) == (0, 0, 0)
    # The row follows the new copy, which is marked on the server too.
    assert [(r["uid"], r["marked_on_server"]) for r in worker.db["messages"].rows] == [(2, 1)]
    assert "mailbox=international uid=2 message_id=<one@x.ge> the same mail as uid 1 (delivered again): " \
           "not recorded twice" in caplog.messages
    assert not any("other content" in m for m in caplog.messages)


def test_a_rescan_keeps_two_mails_with_one_message_id_apart_and_answers_neither_again(tmp_path, maildirs):
    deliver(maildirs, REGISTERS, "1")
    deliver(maildirs, CANCELS, "2")
    worker = maildir_worker(ANSWERS_EVERY_MAIL, maildirs, tmp_path / "test.db")
    assert worker.run_once().sent == 2
    worker.db.execute("update sync_state set uidvalidity = uidvalidity + 1")   # as after a UIDVALIDITY change
    report = worker.run_once()
    assert (report.recorded, report.sent) == (0, 0)
    assert worker.db["messages"].count == 2


def test_different_mails_with_one_message_id_to_the_two_coordinators_are_both_answered(tmp_path, maildirs):
    """Once per mail sent to both coordinators means once per Message-ID and content."""
    deliver(maildirs, REGISTERS, "1")
    deliver(maildirs, make_mail(sender="b@x.ge", to="german@cc-events.example", message_id="<one@x.ge>",
                                body="Ich möchte mich gerne für die Veranstaltung anmelden."), "1", mailbox="german")
    worker = maildir_worker(RULES, maildirs, tmp_path / "test.db")
    assert worker.run_once().sent == 2
    assert sorted(r["recipient"] for r in worker.db["outbox"].rows) == ["a@x.ge", "b@x.ge"]


def test_a_mail_whose_raw_bytes_were_purged_is_still_told_apart_by_its_kept_hash(tmp_path, maildirs):
    from mailflow.message import content_hash

    deliver(maildirs, REGISTERS, "1")
    worker = maildir_worker(ANSWERS_EVERY_MAIL, maildirs, tmp_path / "test.db")
    assert worker.run_once().sent == 1
    worker.db.execute("update messages set content_hash = ?, raw = null", [content_hash(REGISTERS)])   # purge
    deliver(maildirs, delivered(REGISTERS, "hop2"), "2")
    deliver(maildirs, CANCELS, "3")
    report = worker.run_once()
    assert (report.recorded, report.sent) == (1, 1)
    assert [r["intent"] for r in worker.db["messages"].rows_where(order_by="id")] == ["interest", "cancellation"]


@pytest.mark.parametrize("interval, replies", [
    (0, ["reply:interest", "reply:interest", "reply:cancellation", "reply:interest"]),
    (7, ["reply:interest", "reply:cancellation", "reply:interest"]),
])
def test_cancellation_cancels_and_replies_are_limited_per_sender_and_kind(tmp_path, maildirs, interval, replies):
    """One reply of a kind per sender per reply_interval_days: a second registration is not acknowledged
    again, but a cancellation two days after the registration is confirmed, and so is registering again
    (the limit held back every reply that changed a registration within the week: nobody knew it had)."""
    worker = maildir_worker(RULES, maildirs, tmp_path / "test.db")
    worker.rules = RULES.model_copy(update={"reply_interval_days": interval})
    for i, (body, status) in enumerate([
            ("I would like to participate in the online event.", "registered"),
            ("I would like to register for the online event, as I wrote.", "registered"),
            ("Sorry, I have to cancel my registration.", "cancelled"),
            ("I can attend after all, please register me again.", "registered")], 1):
        deliver(maildirs, make_mail(sender="a@x.ge", body=body), str(i))
        worker.run_once()
        (registrant,) = worker.db["registrants"].rows
        assert registrant["status"] == status
    assert [r["kind"] for r in worker.db["outbox"].rows_where(order_by="id")] == replies
    held = worker.db["messages"].get(2)
    assert (held["answer"] == 1) == (interval == 0)
    assert interval == 0 or "same automatic reply (reply:interest)" in held["reasons"]


def test_crash_after_recording_is_finished_by_the_next_pass(tmp_path, maildirs):
    deliver(maildirs, make_mail(), "1")
    worker = maildir_worker(RULES, maildirs, tmp_path / "test.db")
    box = worker.mailboxes["international"]
    worker.intake("international", box, box.open())          # recorded, then "crash"
    assert [r["state"] for r in worker.db["messages"].rows] == ["recorded"]
    report = maildir_worker(RULES, maildirs, tmp_path / "test.db").run_once()
    assert (report.recorded, report.processed, report.sent) == (0, 1, 1)


def test_interrupted_send_is_retried(tmp_path, maildirs):
    deliver(maildirs, make_mail(), "1")
    worker = maildir_worker(RULES, maildirs, tmp_path / "test.db")
    worker.run_once()
    worker.db.execute("update outbox set state = 'sending'")
    assert worker.run_once().sent == 1






def test_bounce_marks_the_registrant_undeliverable(tmp_path, maildirs):
    deliver(maildirs, make_mail(sender="gone@x.ge"), "1")
    worker = maildir_worker(RULES, maildirs, tmp_path / "test.db")
    assert worker.run_once().sent == 1           # the acknowledgement
    dsn = (REPO / "samples/maildir/international/new/1600762446.M6P1.demo").read_bytes()
    deliver(maildirs, dsn.replace(b"m.petrovic@podgorica.me", b"gone@x.ge"), "2")
    assert worker.run_once().sent == 0           # the bounce is not answered
    (registrant,) = worker.db["registrants"].rows
    assert registrant["status"] == "bounced"



NINO = "n.beridze@tbilisi.gov.ge"
FIRST = rules_data()["events"][0]   # the shipped event, and a later one of the series
SERIES = [FIRST, {**FIRST, "id": "open-data", "title": "Open Data in Municipalities", "keywords": ["open data"]}]


def _series_with_an_invitation(tmp_path, maildirs, registered_for: tuple[str, ...], invited_to: str):
    """Nino registered for the events `registered_for` of SERIES, with the access invitation of
    `invited_to` recorded for her; returns the worker and the invitation's UID."""
    from mailflow import invitations, registrants

    rules = upcoming_rules(events=SERIES)
    worker = maildir_worker(rules, maildirs, tmp_path / "test.db")
    for event_id in registered_for:
        registrants.register(worker.db, event_id, NINO, "Nino Beridze", "international", None)
    event = next(e for e in rules.events if e.id == invited_to)
    uid = invitations.request(worker.db, event, registrants.find(worker.db, invited_to, NINO),
                              "international@cc-events.example", "https://meet.example/x", "").uid
    return worker, uid


def test_a_calendars_no_cancels_the_event_its_invitation_was_for(tmp_path, maildirs):
    """A series: someone registered for both events declines the second one's invitation; the mail's
    subject and text name the first one's title too. The No is about the invitation's event."""
    worker, uid = _series_with_an_invitation(tmp_path, maildirs, (FIRST["id"], "open-data"), "open-data")
    deliver(maildirs, calendar_answer(NINO, uid, "DECLINED", subject=f"Declined: {FIRST['title']} (follow-up)",
                                      note=f"After {FIRST['title']} I cannot make the next one."), "1")
    assert worker.run_once().processed == 1
    status = {row["event_id"]: row["status"] for row in worker.db["registrants"].rows}
    assert status == {FIRST["id"]: "registered", "open-data": "cancelled"}


def test_a_calendars_yes_that_registers_for_another_event_goes_by_its_words(tmp_path, maildirs):
    """Only a No is tied to the invitation's event: a Yes whose note registers for the next event of the
    series registers for that one."""
    worker, uid = _series_with_an_invitation(tmp_path, maildirs, (FIRST["id"],), FIRST["id"])
    deliver(maildirs, calendar_answer(NINO, uid, "ACCEPTED", subject="Calendar answer",
                                      note="Please also register me for Open Data in Municipalities."), "1")
    assert worker.run_once().processed == 1
    status = {row["event_id"]: row["status"] for row in worker.db["registrants"].rows}
    assert status == {FIRST["id"]: "registered", "open-data": "registered"}


def listed(author: str, body: str) -> bytes:
    """A post to the network's Google Group, its From rewritten for DMARC ("X via Group")."""
    name, address = author.split(" <")
    return make_mail(sender=f"'{name}' via Staedtenetz <staedtenetz@googlegroups.com>",
                     to="Staedtenetz <staedtenetz@googlegroups.com>",   # the coordinator's inbox is a member
                     subject="Re: [Staedtenetz] Online-Veranstaltung am 7. Oktober", body=body,
                     headers={"Reply-To": f"{name} <{address}", "Precedence": "list",
                              "List-ID": "<staedtenetz.googlegroups.com>",
                              "List-Post": "<mailto:staedtenetz@googlegroups.com>"})


def test_a_post_to_a_mailing_list_that_speaks_to_a_coordinator_is_flagged_for_them_and_acted_on_never(
        tmp_path, maildirs):
    """A registration posted to the network's list reached the coordinator as the list's bulk mail and
    was dropped. It is theirs to read now; but its Reply-To is unproven (anyone can run a list that
    rewrites From), so nothing is done for that address: "cancel my registration" from a list naming a
    registrant's address cancels nothing. A post that speaks to nobody of us, and the coordinator's own
    post back from the list, stay the list's."""
    deliver(maildirs, make_mail(sender="Anna Berger <a.berger@wuerzburg.de>", to="german@cc-events.example"), "0",
            mailbox="german")
    deliver(maildirs, listed("Anna Berger <a.berger@wuerzburg.de>",
                             "Liebe Frau Toukan,\n\nbitte stornieren Sie meine Anmeldung.\n\n"
                             "Viele Grüße\nAnna Berger\nStadt Würzburg\n"), "1", mailbox="german")
    deliver(maildirs, listed("Jan Weber <j.weber@kassel.de>",
                             "Liebe Kolleginnen und Kollegen,\n\nich lade Sie ein, an unserer Umfrage teilzunehmen.\n"),
            "2", mailbox="german")
    deliver(maildirs, listed("Fatina Toukan <german@cc-events.example>",
                             "Liebe Kolleginnen und Kollegen,\n\nwer teilnehmen möchte, schreibt mir bitte.\n\n"
                             "Fatina Toukan\n"), "3", mailbox="german")
    worker = maildir_worker(RULES, maildirs, tmp_path / "test.db")
    worker.run_once()
    assert [(r["address"], r["status"]) for r in worker.db["registrants"].rows] == [
        ("a.berger@wuerzburg.de", "registered")]
    assert [r["kind"] for r in worker.db["outbox"].rows] == ["reply:interest"]   # the first mail's, alone
    posts = {m["id"]: (m["intent"], m["answer"], m["asks"]) for m in worker.db["messages"].rows_where("id > 1")}
    assert posts == {2: ("question", 0, 1), 3: ("bulk", 0, 0), 4: ("bulk", 0, 0)}


@pytest.mark.parametrize("body, review", [
    # nobody named: nothing for a coordinator (it held the cancellation, unconfirmed, for one)
    ("I cannot attend after all. Please cancel my registration and give my place to someone else.", None),
    ("Unfortunately I have to cancel my registration. My deputy Ana Gelashvili (a.gelashvili@x.ge) will attend "
     "instead.", 1),
])
def test_a_cancellation_that_names_others_cancels_and_confirms_and_leaves_them_to_a_coordinator(
        tmp_path, maildirs, body, review):
    """The sender's own withdrawal was left unconfirmed while a coordinator settled the others."""
    deliver(maildirs, make_mail(sender="a@x.ge"), "1")
    deliver(maildirs, make_mail(sender="a@x.ge", subject="Re: Reminder", body=body), "2")
    worker = maildir_worker(RULES, maildirs, tmp_path / "test.db")
    worker.rules = RULES.model_copy(update={"reply_interval_days": 0})
    worker.run_once()
    assert [(r["address"], r["status"]) for r in worker.db["registrants"].rows] == [("a@x.ge", "cancelled")]
    assert sorted(r["kind"] for r in worker.db["outbox"].rows) == ["reply:cancellation", "reply:interest"]
    cancelling = worker.db["messages"].get(2)
    assert (cancelling["intent"], cancelling["answer"], cancelling["review"]) == ("cancellation", 1, review)
    if review:   # confirming the others keeps the sender withdrawn
        assert '"sender_attends": false' in cancelling["nominations"]


def test_a_cancellation_of_someone_elses_registration_leaves_the_senders_alone(tmp_path, maildirs):
    """An assistant cancelling for the mayor had their own registration cancelled and confirmed."""
    deliver(maildirs, make_mail(sender="a@x.ge"), "1")
    deliver(maildirs, make_mail(sender="a@x.ge", subject="Mayor",
                                body="Mr. Beridze cannot attend, please cancel his registration."), "2")
    worker = maildir_worker(RULES, maildirs, tmp_path / "test.db")
    worker.rules = RULES.model_copy(update={"reply_interval_days": 0})
    worker.run_once()
    assert [(r["address"], r["status"]) for r in worker.db["registrants"].rows] == [("a@x.ge", "registered")]
    # a question for the coordinator, who cancels Mr Beridze's registration
    assert [r["kind"] for r in worker.db["outbox"].rows] == ["reply:interest", "reply:question"]
    cancelling = worker.db["messages"].get(2)
    assert (cancelling["intent"], cancelling["answer"], cancelling["asks"]) == ("question", 1, 1)


def test_no_release_goes_out_from_a_mailbox_whose_sent_folder_cannot_be_read(tmp_path, maildirs):
    """What the Sent folder holds says what went out: after a restore, a pass whose Sent read failed and that had
    nothing else to do sent the agenda to everyone again. Its mailbox's mail waits (the other's goes); the
    next pass that reads the folder sends it, once."""
    (tmp_path / "agenda.md").write_text("13:00 Welcome\n")
    data = RULES.model_dump()
    data["events"][0]["releases"] = {"agenda": {"released": True, "text": str(tmp_path / "agenda.md")}}
    deliver(maildirs, make_mail(sender="a@x.ge"), "1")
    worker = maildir_worker(RULES, maildirs, tmp_path / "test.db")
    assert worker.run_once().sent == 1   # the confirmation
    worker.rules = type(RULES).model_validate({**data, "bounce_grace_minutes": 0, "source": RULES.source})
    worker.sent_folders = {"international": UnreadableSent()}
    report = worker.run_once()
    assert (report.announced, report.sent) == (1, 0)
    assert [r["state"] for r in worker.db["outbox"].rows_where("kind like 'release:%'")] == ["queued"]
    worker.sent_folders = {}
    assert worker.run_once().sent == 1
    assert [r["kind"] for r in worker.db["outbox"].rows_where(order_by="id")] == ["reply:interest", "release:agenda:v1"]


def test_a_sent_folder_that_cannot_be_read_is_an_outage_with_its_alarm(tmp_path, maildirs):
    """While it could not be read, nothing was answered and nothing said so: no failure in `mailflow status`,
    no alarm, for as long as the folder was gone (renamed in the mail client, say). Now it is the mailbox's
    IMAP outage with the folder's cause, its alarm goes to the german coordinator after an hour, and the
    recovery mail follows once the folder is read."""
    from mailflow import health
    from tests.support.clock import SettableClock

    clock = SettableClock(datetime(2026, 11, 1, 9, 0, tzinfo=UTC))
    deliver(maildirs, make_mail(sender="a@x.ge"), "1")
    worker = maildir_worker(upcoming_rules(), maildirs, tmp_path / "test.db", clock=clock)
    worker.sent_folders = {"international": UnreadableSent()}
    worker.run_once()
    failing = health.failing(worker.db)
    assert list(failing) == [("international", "imap")]
    assert "Sent folder: the IMAP server timed out" in failing[("international", "imap")]["cause"]
    assert [r["state"] for r in worker.db["messages"].rows] == ["recorded"]   # not answered, as before
    clock.advance(minutes=61)
    worker.run_once()
    assert [(r["kind"], r["mailbox"], r["recipient"], r["state"]) for r in worker.db["outbox"].rows] == [
        ("alarm:international:imap", "german", "german@cc-events.example", "sent")]
    assert failing[("international", "imap")]["failing_since"] == \
        health.failing(worker.db)[("international", "imap")]["failing_since"]   # one outage, its start kept
    worker.sent_folders = {}
    worker.run_once()
    assert health.failing(worker.db) == {}
    assert sorted(r["kind"] for r in worker.db["outbox"].rows) == [
        "alarm:international:imap", "recovery:international:imap", "reply:interest"]


def test_a_mailbox_whose_imap_rests_sends_nothing_until_this_process_has_read_its_sent_folder(tmp_path, maildirs,
                                                                                              caplog):
    """A database restored from a backup while a mailbox's IMAP server was down: the first pass could not read
    its Sent folder and sent nothing, but the next ones left the resting server alone and sent the agenda to
    everyone again. Held until its folder is read once; an outage after that holds nothing."""
    (tmp_path / "agenda.md").write_text("13:00 Welcome\n")
    data = RULES.model_dump()
    data["events"][0]["releases"] = {"agenda": {"released": True, "text": str(tmp_path / "agenda.md")}}
    with_agenda = type(RULES).model_validate({**data, "bounce_grace_minutes": 0, "source": RULES.source})
    deliver(maildirs, make_mail(sender="a@x.ge"), "1")
    worker = maildir_worker(RULES, maildirs, tmp_path / "test.db")
    assert worker.run_once().sent == 1   # the confirmation
    worker.db.close()
    restarted = maildir_worker(with_agenda, maildirs, tmp_path / "test.db")   # (a new process)
    restarted.sent_folders = {"international": UnreadableSent()}
    restarted.resting[("imap", "international")] = time.monotonic() + 3600
    for announced in (1, 0):
        caplog.clear()
        report = restarted.run_once()
        assert (report.announced, report.sent) == (announced, 0)
        assert "its Sent folder was not read since mailflow started" in caplog.text
    restarted.resting.clear()
    restarted.sent_folders = {"international": SentFolder()}
    assert restarted.run_once().sent == 1
    restarted.sent_folders = {"international": UnreadableSent()}
    restarted.resting[("imap", "international")] = time.monotonic() + 3600
    deliver(maildirs, make_mail(sender="b@x.ge"), "2", mailbox="german")   # (international's inbox rests)
    restarted.run_once()   # b's confirmation and agenda go: the folder was read by this process
    assert sorted((r["kind"], r["mailbox"], r["state"]) for r in restarted.db["outbox"].rows_where(
        "recipient = 'b@x.ge'")) == [("release:agenda:v1", "international", "sent"),
                                     ("reply:interest", "international", "sent")]


@pytest.mark.parametrize("body", [
    "My trip was postponed, so I can attend after all. Please register me again.",
    "Sorry, that cancellation was a mistake - my colleague replied from my mailbox. I would like to keep my "
    "registration and attend.",
])
def test_a_registration_in_reply_to_our_cancellation_confirmation_goes_to_a_coordinator(tmp_path, maildirs, body):
    """The confirmation says "register again at any time by replying to this mail"; such a reply was read as a
    reply to our mail, "not a new registration": nothing answered, nothing flagged. It is a question for a
    coordinator now (registering by itself also took "I hope to attend the next one" for this event)."""
    deliver(maildirs, make_mail(sender="a@x.ge"), "1")
    deliver(maildirs, make_mail(sender="a@x.ge", subject="Re: Your registration",
                                body="Unfortunately I cannot attend. Please cancel my registration."), "2")
    worker = maildir_worker(RULES.model_copy(update={"reply_interval_days": 0}), maildirs, tmp_path / "test.db")
    worker.run_once()
    assert [r["status"] for r in worker.db["registrants"].rows] == ["cancelled"]
    (confirmation,) = worker.db["outbox"].rows_where("kind = 'reply:cancellation'")
    deliver(maildirs, make_mail(sender="a@x.ge", subject="Re: Your cancellation", body=body,
                                headers={"In-Reply-To": confirmation["message_id"]}), "3")
    worker.run_once()
    assert [r["status"] for r in worker.db["registrants"].rows] == ["cancelled"]   # (a coordinator's to undo)
    again = worker.db["messages"].get(3)
    assert (again["intent"], again["asks"]) == ("question", 1), again["reasons"]
    assert "set-status ADDRESS registered" in again["reasons"]
    # `mailflow replay` reads it as the worker did (it was "other": a change that was none)
    from mailflow.history import replay

    assert replay(worker.db, worker.rules) == (3, [])


def registered_then_replies(tmp_path, maildirs, body):
    """Nino registers, then answers the confirmation with `body`: the worker after both passes."""
    deliver(maildirs, make_mail(sender="Nino Beridze <nino@tbilisi.gov.ge>"), "1")
    worker = maildir_worker(RULES.model_copy(update={"reply_interval_days": 0}), maildirs, tmp_path / "test.db")
    worker.run_once()
    (confirmation,) = worker.db["outbox"].rows
    deliver(maildirs, make_mail(sender="Nino Beridze <nino@tbilisi.gov.ge>", subject="Re: Your registration",
                                body=body, headers={"In-Reply-To": confirmation["message_id"]}), "2")
    worker.run_once()
    return worker


@pytest.mark.parametrize("body", [
    "My colleague Ana Kvaratskhelia (ana@tbilisi.gov.ge) will attend instead of me.",
    "Вместо меня будет участвовать моя коллега Ана Кварацхелия (ana@tbilisi.gov.ge).",
    "În locul meu va participa colega mea Ana Kvaratskhelia (ana@tbilisi.gov.ge).",
])
def test_a_colleague_who_takes_the_senders_place_ends_the_senders_registration(tmp_path, maildirs, body):
    """The colleague was registered and the sender stayed registered too: the link, the reminders and a second
    seat went to someone who had said they would not come."""
    worker = registered_then_replies(tmp_path, maildirs, body)
    assert sorted((r["address"], r["status"]) for r in worker.db["registrants"].rows) == [
        ("ana@tbilisi.gov.ge", "registered"), ("nino@tbilisi.gov.ge", "cancelled")]


@pytest.mark.parametrize("body", [
    "Please also register my colleague Ana Kvaratskhelia (ana@tbilisi.gov.ge). If I cannot make it, she will attend "
    "instead of me.",
    "My colleague Ana Kvaratskhelia (ana@tbilisi.gov.ge) will also attend. She will give the presentation instead "
    "of me.",
])
def test_instead_of_me_only_maybe_or_of_something_else_leaves_the_sender_registered(tmp_path, maildirs, body):
    worker = registered_then_replies(tmp_path, maildirs, body)
    assert ("nino@tbilisi.gov.ge", "registered") in [(r["address"], r["status"]) for r in worker.db["registrants"].rows]


class LosesEveryAnswer:
    """An SMTP server behind a hung content filter: it takes the login and the whole mail, and never answers."""

    def __init__(self) -> None:
        self.handed = 0

    def open(self) -> None:
        pass

    def send(self, raw, sender, recipient, then=None):
        from mailflow.errors import ANSWER_LOST, AnswerLost
        self.handed += 1
        raise AnswerLost(f"mailbox international: timed out; {ANSWER_LOST}")

    def close(self) -> None:
        pass


def test_a_server_that_loses_every_answer_stays_failing_until_it_takes_a_mail(tmp_path, maildirs):
    """Each pass's probe logged in fine and cleared the failure, so every new reply went into the same hung
    server and was held uncertain, with no failure in status and no alarm. Now its failure lasts until a
    mail goes through, and its alarm is raised after an hour."""
    from mailflow import health
    from tests.support.clock import SettableClock

    clock = SettableClock(datetime(2026, 11, 1, 9, 0, tzinfo=UTC))
    worker = maildir_worker(upcoming_rules(), maildirs, tmp_path / "test.db", clock=clock)
    hung = LosesEveryAnswer()
    worker.senders = {**worker.senders, "international": hung}
    deliver(maildirs, make_mail(sender="a@x.ge"), "1")
    worker.run_once()
    for minutes in (30, 31):   # two more passes, the probe's login working each time
        clock.advance(minutes=minutes)
        worker.run_once()
        assert ("international", "smtp") in health.failing(worker.db)
    assert hung.handed == 1
    assert [r["state"] for r in worker.db["outbox"].rows_where("kind like 'reply:%'")] == ["uncertain"]
    # (raised; it waits for a route: the shipped rules send both mailboxes through one SMTP server)
    assert [(r["mailbox"], r["server"]) for r in worker.db["alarms"].rows] == [("international", "smtp")]
    worker.senders = {**worker.senders, "international": worker.senders["german"]}
    deliver(maildirs, make_mail(sender="b@x.ge"), "2")
    worker.run_once()
    assert ("international", "smtp") not in health.failing(worker.db)


@pytest.mark.parametrize("body", ["Hi, I won't make it on 7 October, sorry.\n\nBest, Nino",
                                  "Ich kann am 7. Oktober leider nicht dabei sein.\n\nNino",
                                  "Я не смогу принять участие в мероприятии 7 октября.\n\nНино",
                                  "Thank you for the invitation. Unfortunately we have a council session that day.",
                                  "Unfortunately I will not be able to attend due to a last-minute council session."])
def test_a_registrant_who_declines_in_a_new_mail_is_flagged_for_a_coordinator(tmp_path, maildirs, body):
    """In reply to our confirmation such a refusal withdraws; written as a new mail, not a reply, it was "other":
    the registrant kept getting the link and the reminders, and no coordinator saw it. From someone who is not
    registered it is still nothing to do; and `replay` reads it with what the worker found, though the
    coordinator has cancelled the registration since."""
    deliver(maildirs, make_mail(sender="Nino Beridze <nino@tbilisi.gov.ge>"), "1")
    worker = maildir_worker(RULES, maildirs, tmp_path / "test.db")
    worker.run_once()
    deliver(maildirs, make_mail(sender="Nino Beridze <nino@tbilisi.gov.ge>", subject="Online event", body=body), "2")
    deliver(maildirs, make_mail(sender="Ana Gelashvili <ana@batumi.gov.ge>", subject="Online event", body=body), "3")
    worker.run_once()
    verdicts = {m["sender"]: (m["intent"], m["answer"], m["asks"]) for m in worker.db["messages"].rows_where("id > 1")}
    assert verdicts == {"nino@tbilisi.gov.ge": ("question", 0, 1), "ana@batumi.gov.ge": ("other", 0, 0)}
    assert [(r["address"], r["status"]) for r in worker.db["registrants"].rows] == [("nino@tbilisi.gov.ge",
                                                                                    "registered")]
    assert [r["kind"] for r in worker.db["outbox"].rows] == ["reply:interest"]
    from mailflow import registrants
    from mailflow.history import replay

    registrants.cancel(worker.db, worker.rules.events[0].id, "nino@tbilisi.gov.ge")
    assert replay(worker.db, worker.rules) == (3, [])


@pytest.mark.parametrize("body", [
    "Unfortunately I forgot to attach my CV.",
    "Unfortunately, I was not able to attend your last webinar in June. I'm very much looking forward to this one.",
    "Leider bin ich am Mittwoch nicht im Büro, nehme aber von zu Hause aus teil.",
])
def test_a_registrants_harmless_news_is_not_flagged(tmp_path, maildirs, body):
    """(a review's: regret words alone, or a refusal of an earlier event, flagged every such update)"""
    deliver(maildirs, make_mail(sender="Nino Beridze <nino@tbilisi.gov.ge>"), "1")
    worker = maildir_worker(RULES, maildirs, tmp_path / "test.db")
    worker.run_once()
    deliver(maildirs, make_mail(sender="Nino Beridze <nino@tbilisi.gov.ge>", subject="Online event", body=body), "2")
    worker.run_once()
    second = worker.db["messages"].get(2)
    assert second["intent"] != "question" and not second["asks"], second["reasons"]
