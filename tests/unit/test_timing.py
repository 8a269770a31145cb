"""Event timing: the registration window, arrival time over the Date header, the wording by the time a
reply is sent, no automatic release after the event, and the one clock. Every test pins its clock."""

from __future__ import annotations

import email
import email.policy
import os
import re
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from mailflow import history, releases
from mailflow.clock import stopped_at
from mailflow.context import reply_context
from mailflow.delivery import FolderSender
from mailflow.errors import RulesError
from mailflow.events import judge, match_event
from mailflow.mailbox import delivery_time
from mailflow.message import parse_message
from mailflow.replies import Replies
from mailflow.rules import parse_rules
from tests.support import REPO
from tests.support.mail import make_mail
from tests.support.maildirs import deliver, maildir_worker
from tests.support.rules import rules_data

BERLIN = ZoneInfo("Europe/Berlin")
SEE, WASTE = "digitalisation-see-2020", "waste-caucasus-2021"
SEE_CLOSES_UTC = datetime(2020, 10, 5, 22, 0, tzinfo=UTC)   # closes: 2020-10-05, the end of that day in Berlin
SEE_ENDS_UTC = datetime(2020, 10, 7, 13, 30, tzinfo=UTC)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def series_data(waste_opens: date = date(2020, 10, 1), see_closes: date | None = date(2020, 10, 5)) -> dict:
    """The shipped 2020 event (registration closing two days before it) and a second one in 2021."""
    data = rules_data(ahead=False)
    see = data["events"][0]
    see["registration"] = {"closes": see_closes}
    waste = {"id": WASTE, "title": "Waste Management in the Caucasus", "start": "2021-03-10T12:00",
             "end": "2021-03-10T14:00", "timezone": "Europe/Berlin", "keywords": ["waste management"],
             "registration": {"opens": waste_opens}}
    data["events"] = [see, waste]
    data["templates"] = str(REPO / "templates")
    return data


def rules_of(data: dict, folder: Path = REPO):
    return parse_rules(yaml.safe_dump(data, allow_unicode=True), folder / "rules.yaml")


SERIES = rules_of(series_data())


def mail(subject: str = "Participation in the online event", body: str | None = None):
    return parse_message(make_mail(subject=subject, **({"body": body} if body else {})))


# -- the window in rules.yaml ----------------------------------------------------


def test_a_date_alone_closes_registration_at_the_end_of_that_day_and_the_default_is_the_events_end():
    see, waste = SERIES.events
    assert see.registration_closes_at == datetime(2020, 10, 6, 0, 0, tzinfo=BERLIN) == SEE_CLOSES_UTC
    assert waste.registration_closes_at == waste.ends_at                       # no `closes`: the event's end
    assert waste.registration_opens_at == datetime(2020, 10, 1, 0, 0, tzinfo=BERLIN)
    assert see.registration_open(utc("2020-10-05T21:59:59"))
    assert not see.registration_open(SEE_CLOSES_UTC)
    assert not waste.registration_open(utc("2020-09-30T21:59:59")) \
        and waste.registration_open(utc("2020-09-30T22:00:00"))


def test_a_date_and_time_closes_at_that_minute_in_the_events_zone():
    data = series_data()
    data["events"][0]["registration"] = {"closes": "2020-10-06T18:00"}
    see = rules_of(data).events[0]
    assert see.registration_closes_at == datetime(2020, 10, 6, 16, 0, tzinfo=UTC)


def test_a_window_that_closes_before_it_opens_names_the_line():
    text = (REPO / "rules.yaml").read_text().replace(
        "registration: {opens: null, closes: null}", "registration: {opens: 2020-10-01, closes: 2020-09-01}")
    with pytest.raises(RulesError) as caught:
        parse_rules(text, Path("rules.yaml"))
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "registration: {opens" in row)
    assert [str(p) for p in caught.value.problems] == [
        f"rules.yaml:{line}: events.0.registration: registration.closes must come after registration.opens"]


def test_the_registration_closed_reply_is_required_with_line_and_fix():
    text = (REPO / "rules.yaml").read_text().replace(
        "    german: registration_closed_german.txt\n", "")
    with pytest.raises(RulesError) as caught:
        parse_rules(text, Path("rules.yaml"))
    (problem,) = caught.value.problems
    line = next(i for i, row in enumerate(text.splitlines(), 1) if row == "    german: ack_german.txt")
    assert str(problem).startswith(f"rules.yaml:{line}: replies.registration_closed.german is missing")
    assert "registration_closed: {german: registration_closed_german.txt}" in str(problem)


# -- judging a mail: arrival, window, series ----------------------------------------


def test_a_registration_that_arrived_in_time_is_recorded_with_the_usual_reply():
    timing = judge(SERIES, mail(), "interest", utc("2020-10-05T21:59:59"), utc("2020-10-05T22:00:30"))
    assert (timing.event.id, timing.register, timing.closed_reply, timing.attention) == (SEE, True, False, None)


def test_a_late_registration_that_may_be_for_the_next_event_is_answered_closed_and_flagged():
    timing = judge(SERIES, mail(), "interest", SEE_CLOSES_UTC, SEE_CLOSES_UTC)
    assert (timing.event.id, timing.register, timing.closed_reply, timing.in_time) == (SEE, False, True, False)
    assert timing.next_event.id == WASTE
    assert WASTE in timing.attention and "registration: closed 2020-10-06 00:00 CEST" in " ".join(timing.reasons)


def test_a_late_registration_that_names_its_own_event_is_not_flagged():
    timing = judge(SERIES, mail("Registration: Digitalisation event"), "interest", SEE_CLOSES_UTC, SEE_CLOSES_UTC)
    assert (timing.event.id, timing.register, timing.closed_reply, timing.next_event.id) == (SEE, False, True, WASTE)
    assert timing.attention is None


def test_a_registration_that_clearly_names_the_next_event_registers_for_it():
    timing = judge(SERIES, mail("Registration for the waste management event"), "interest",
                   SEE_CLOSES_UTC, SEE_CLOSES_UTC)
    assert (timing.event.id, timing.register, timing.closed_reply, timing.attention) == (WASTE, True, False, None)


def test_an_event_named_across_a_line_the_client_wrapped_is_still_named():
    body = ("Dear Mr. Samkharadze,\n\nI would like to register for the event on Waste\nManagement in the "
            "Caucasus next March.\n\nBest regards,\nNino")
    timing = judge(SERIES, mail("Registration", body), "interest", SEE_CLOSES_UTC, SEE_CLOSES_UTC)
    assert (timing.event.id, timing.register) == (WASTE, True)


def test_no_flag_when_no_next_event_is_open():
    rules = rules_of(series_data(waste_opens=date(2020, 11, 1)))
    timing = judge(rules, mail(), "interest", SEE_CLOSES_UTC, SEE_CLOSES_UTC)
    assert (timing.closed_reply, timing.next_event, timing.attention) == (True, None, None)


def test_in_time_but_answered_after_the_event_is_recorded_with_the_closed_wording():
    timing = judge(SERIES, mail(), "interest", utc("2020-10-01T08:00:00"), utc("2020-10-08T08:00:00"))
    assert (timing.event.id, timing.register, timing.closed_reply, timing.in_time) == (SEE, True, True, True)


def test_other_intents_are_not_changed_by_the_window():
    timing = judge(SERIES, mail(), "question", utc("2020-12-01T08:00:00"), utc("2020-12-01T08:00:00"))
    assert (timing.event.id, timing.register, timing.closed_reply) == (WASTE, False, False)


def test_the_event_is_matched_by_arrival_not_by_the_date_header():
    incoming = mail()                                  # Date: 14 Sep 2020, before the first event
    assert incoming.date.year == 2020
    assert match_event(SERIES, incoming, utc("2020-12-01T08:00:00")).id == WASTE


# -- wording ---------------------------------------------------------------------------


@pytest.mark.parametrize("audience, in_time, now", [
    ("international", True, "2020-10-08T08:00:00"), ("german", True, "2020-10-08T08:00:00"),
    ("international", False, "2020-10-06T08:00:00"), ("german", False, "2020-10-06T08:00:00"),
    ("international", False, "2020-10-08T08:00:00"), ("german", False, "2020-10-08T08:00:00"),
])
def test_the_closed_reply_names_the_next_event_and_never_promises_anything_for_a_past_one(audience, in_time, now):
    see, waste = SERIES.events
    replies = Replies(REPO / "templates")
    context = reply_context(SERIES, see, audience, "Nino Beridze", "nino@tbilisi.gov.ge", "Participation",
                            now=utc(now), next_event=waste, in_time=in_time)
    rendered = replies.render(SERIES.replies["registration_closed"][audience], context)
    text = " ".join(rendered.text.split())
    assert "Waste Management in the Caucasus" in text and ("10 March 2021" in text or "10. März 2021" in text)
    assert "in due course" not in text and "rechtzeitig" not in text
    if see.over(utc(now)):
        assert "took place" in text or "stattgefunden" in text
    else:
        assert "5 October 2020, 00:00" not in text
        assert "6 October 2020, 00:00 CEST" in text or "6. Oktober 2020, 00:00 Uhr CEST" in text


# -- the worker on Maildirs: arrival from the file, flag, one clock ------------------------


def test_maildir_delivery_time_comes_from_the_file_name_else_the_mtime(tmp_path):
    named = tmp_path / "1601476135.M11P1.demo"
    named.write_bytes(b"x")
    other = tmp_path / "00001"
    other.write_bytes(b"x")
    os.utime(other, (1600000000, 1600000000))
    assert delivery_time(named) == datetime(2020, 9, 30, 14, 28, 55, tzinfo=UTC)
    assert delivery_time(other) == datetime(2020, 9, 13, 12, 26, 40, tzinfo=UTC)


def test_a_late_registration_gets_the_closed_reply_is_flagged_and_not_registered(tmp_path, maildirs):
    """The Date header (14 Sep 2020) says in time; the arrival (6 Oct, 08:00Z) says late: arrival decides."""
    arrived = utc("2020-10-06T08:00:00")
    deliver(maildirs, make_mail(sender="late@tbilisi.gov.ge"), arrived=arrived)
    worker = maildir_worker(SERIES, maildirs, tmp_path / "t.db", clock=stopped_at(utc("2020-10-06T08:05:00")))
    report = worker.run_once()
    assert (report.processed, report.sent) == (1, 1)
    (row,) = worker.db["messages"].rows
    assert row["arrived_at"] == "2020-10-06T08:00:00+00:00" and row["recorded_at"] == "2020-10-06T08:05:00+00:00"
    assert (row["event_id"], row["intent"], row["registrant_id"]) == (SEE, "interest", None)
    assert WASTE in row["attention"]
    assert worker.db["registrants"].count == 0
    (reply,) = worker.db["outbox"].rows
    assert reply["kind"] == "reply:registration_closed"
    sent = email.message_from_bytes(reply["raw"], policy=email.policy.default)
    assert sent["Subject"].startswith("Registration closed:")
    assert "Waste Management in the Caucasus" in sent.get_content()
    assert sent["Date"].datetime == utc("2020-10-06T08:05:00")          # the clock's time, not the system's
    assert [q["id"] for q in history.open_questions(worker.db)] == [row["id"]]
    history.close_question(worker.db, str(row["id"]), by="test")
    assert history.open_questions(worker.db) == []


def test_the_flagged_late_registration_is_flagged_on_the_server(tmp_path, maildirs):
    deliver(maildirs, make_mail(sender="late@tbilisi.gov.ge"), arrived=utc("2020-10-06T08:00:00"))
    deliver(maildirs, make_mail(sender="early@tbilisi.gov.ge"), arrived=utc("2020-10-01T08:00:00"))
    worker = maildir_worker(SERIES, maildirs, tmp_path / "t.db", clock=stopped_at(utc("2020-10-06T08:05:00")))
    marked = []
    worker.mailboxes["international"].mark_processed = lambda uids, attention=(): marked.append((uids, attention))
    worker.run_once()
    (uids, attention) = marked[0]
    late_uid = worker.db.execute("select uid from messages where attention is not null").fetchone()[0]
    assert sorted(uids) == [1, 2] and list(attention) == [late_uid]


def test_a_registration_in_time_but_answered_after_the_event_is_kept_and_promises_nothing(tmp_path, maildirs):
    deliver(maildirs, make_mail(sender="early@tbilisi.gov.ge"), arrived=utc("2020-10-01T08:00:00"))
    daemon_was_down = stopped_at(utc("2020-10-08T08:00:00"))
    worker = maildir_worker(SERIES, maildirs, tmp_path / "t.db", clock=daemon_was_down)
    worker.run_once()
    (registrant,) = worker.db["registrants"].rows
    assert (registrant["event_id"], registrant["status"]) == (SEE, "registered")
    (reply,) = worker.db["outbox"].rows
    text = email.message_from_bytes(reply["raw"], policy=email.policy.default).get_content()
    assert reply["kind"] == "reply:registration_closed" and "in due course" not in text
    assert "reached us before registration closed" in " ".join(text.split())


def test_every_database_timestamp_comes_from_the_clock(tmp_path, maildirs):
    moment = utc("2020-09-20T10:00:00")
    deliver(maildirs, make_mail(sender="a@tbilisi.gov.ge"), arrived=utc("2020-09-20T09:00:00"))
    worker = maildir_worker(SERIES, maildirs, tmp_path / "t.db", clock=stopped_at(moment))
    worker.run_once()
    stamp = "2020-09-20T10:00:00+00:00"
    (message,) = worker.db["messages"].rows
    (registrant,) = worker.db["registrants"].rows
    (reply,) = worker.db["outbox"].rows
    (sync,) = worker.db["sync_state"].rows_where("mailbox = 'international'")
    assert {message["recorded_at"], message["processed_at"], registrant["created_at"], registrant["updated_at"],
            reply["created_at"], reply["sent_at"], sync["last_sync"]} == {stamp}


def test_no_module_reads_the_system_time_except_the_clock():
    """Every "now" comes from the injected clock; time.monotonic (timeouts, rates) is allowed."""
    pattern = re.compile(r"datetime\.now|datetime\.utcnow|date\.today|time\.time\(|CURRENT_TIMESTAMP|"
                         r"'now'|localtime\(|gmtime\(", re.IGNORECASE)
    offenders = [f"{path.relative_to(REPO)}:{number}: {line.strip()}"
                 for path in sorted((REPO / "mailflow").rglob("*.py")) if path.name != "clock.py"
                 for number, line in enumerate(path.read_text().splitlines(), 1) if pattern.search(line)]
    assert offenders == []


# -- releases and reminders after the event ---------------------------------------------


def pass_when_the_event_ends(worker, tmp_path: Path, kind: str) -> dict:
    """The SMTP server is back as the event ends: one pass then; the outbox row of `kind` after it."""
    worker.clock = stopped_at(SEE_ENDS_UTC)
    worker.senders = {n: FolderSender(tmp_path / "sent") for n in worker.rules.mailboxes}
    worker.run_once()
    (row,) = worker.db["outbox"].rows_where("kind like ?", [kind])
    return row


def agenda_released(tmp_path: Path, maildirs: Path):
    """The series with the agenda released in rules.yaml, and one registration of 1 October."""
    (tmp_path / "agenda.md").write_text("13:00 Welcome\n")
    data = series_data()
    data["events"][0]["releases"] = {"agenda": {"released": True, "text": str(tmp_path / "agenda.md")}}
    data["bounce_grace_minutes"] = 0       # about the event's end, not about holding a new address (bounces.py)
    deliver(maildirs, make_mail(sender="a@tbilisi.gov.ge"), arrived=utc("2020-10-01T08:00:00"))
    return rules_of(data, tmp_path)


def test_no_automatic_agenda_after_the_event_but_an_explicit_release_goes_out(tmp_path, maildirs):
    rules = agenda_released(tmp_path, maildirs)
    worker = maildir_worker(rules, maildirs, tmp_path / "t.db", clock=stopped_at(utc("2020-10-08T08:00:00")))
    report = worker.run_once()
    assert report.announced == 0 and worker.db["releases"].count == 0   # rules.yaml's release: not after the event

    # A coordinator's explicit release after the event (e.g. `mailflow release agenda`) is not blocked.
    release, _ = releases.candidate(worker.db, SEE, "agenda", text="Thank you; the recording: https://rec.example/1")
    assert releases.fan_out(worker.db, rules, worker.replies, releases.save(worker.db, release, "cli")) == 1
    assert worker.run_once().sent == 1
    assert [r["state"] for r in worker.db["outbox"].rows_where("kind like 'release:%'")] == ["sent"]


def test_an_automatic_release_still_queued_when_the_event_ends_is_cancelled(tmp_path, maildirs):
    rules = agenda_released(tmp_path, maildirs)
    during_the_event = stopped_at(utc("2020-10-07T13:00:00"))                  # 15:00 Berlin
    worker = maildir_worker(rules, maildirs, tmp_path / "t.db", clock=during_the_event)
    worker.senders = {}                                                         # the SMTP server is unreachable
    worker.run_once()                      # the confirmation waits, unsent: the agenda waits behind it
    worker.db.execute("update outbox set state = 'sent', sent_at = created_at")   # ... until it was sent
    worker.run_once()
    (agenda,) = worker.db["outbox"].rows_where("kind like 'release:%'")
    assert (agenda["state"], agenda["expires_at"]) == ("queued", SEE_ENDS_UTC.isoformat())

    agenda = pass_when_the_event_ends(worker, tmp_path, "release:%")
    assert (agenda["state"], agenda["error"]) == ("cancelled", "not sent: its event was over")
    assert not [p for p in (tmp_path / "sent").glob("*.eml") if b"Agenda:" in p.read_bytes()]


def test_a_confirmation_still_queued_when_the_event_ends_is_never_sent(tmp_path, maildirs):
    """It promises the agenda and the link 'in due course': after the event that is never true."""
    rules = rules_of(series_data(see_closes=None), tmp_path)                     # open until the event ends
    deliver(maildirs, make_mail(sender="a@tbilisi.gov.ge"), arrived=utc("2020-10-07T12:00:00"))
    during_the_event = stopped_at(utc("2020-10-07T12:05:00"))                  # 14:05 Berlin
    worker = maildir_worker(rules, maildirs, tmp_path / "t.db", clock=during_the_event)
    worker.senders = {}                                                          # the SMTP server is unreachable
    worker.run_once()
    (ack,) = worker.db["outbox"].rows_where("kind = 'reply:interest'")
    assert (ack["state"], ack["expires_at"]) == ("queued", SEE_ENDS_UTC.isoformat())

    ack = pass_when_the_event_ends(worker, tmp_path, "reply:interest")
    assert (ack["state"], ack["error"]) == ("cancelled", "not sent: its event was over")
    assert not list((tmp_path / "sent").glob("*.eml"))
