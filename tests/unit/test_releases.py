"""Releases and reminders on a real SQLite file with a controllable clock (no servers)."""

from datetime import UTC, datetime
from email import message_from_bytes, policy

import icalendar
import pytest

from mailflow import registrants, releases
from mailflow.context import times_context
from mailflow.invitation import REQUEST, Invitation, event_calendar
from mailflow.registrants import whereabouts
from mailflow.replies import Replies
from mailflow.rules import load_rules
from mailflow.text import read
from tests.support import REPO
from tests.support.clock import SettableClock
from tests.support.mail import make_mail
from tests.support.maildirs import deliver, maildir_worker

# About dates: the shipped 2020 event, the clock pinned. Not about holding a new address's mail until its
# confirmation has had time to bounce (tests/cli/test_bounces.py): here mail counts as delivered once sent.
RULES = load_rules(REPO / "rules.yaml").model_copy(update={"bounce_grace_minutes": 0})
EVENT = RULES.events[0]
REGISTRATION_TIME = datetime(2020, 9, 20, tzinfo=UTC)


@pytest.fixture
def env(tmp_path, maildirs):
    clock = SettableClock(REGISTRATION_TIME)
    return tmp_path, maildir_worker(RULES, maildirs, tmp_path / "t.db", clock=clock), clock


def sent_mails(tmp_path):
    return [message_from_bytes(p.read_bytes(), policy=policy.default)
            for p in sorted((tmp_path / "sent").glob("*.eml"))]


def by_kind(db, kind_prefix):
    return sorted(r["recipient"] for r in db["outbox"].rows_where("kind like ?", [kind_prefix + "%"]))


def register(worker, tmp_path, count, start=0):
    for i in range(start, start + count):
        raw = make_mail(sender=f"expert{i}@city{i}.gov.ge")
        deliver(tmp_path / "mail", raw, f"{i:05d}", arrived=REGISTRATION_TIME)   # during the registration period
    worker.run_once()


def test_agenda_goes_to_active_registrants_only(env):
    tmp_path, worker, clock = env
    register(worker, tmp_path, 5)
    registrants.cancel(worker.db, EVENT.id, "expert1@city1.gov.ge")
    registrants.mark_undeliverable(worker.db, "expert2@city2.gov.ge")
    replies = Replies(RULES.templates_path)
    release, is_new = releases.candidate(worker.db, EVENT.id, "agenda", text="13:00 Welcome\n13:15 Panel\n")
    assert is_new and release.version == 1
    shown = releases.preview(worker.db, RULES, replies, release)
    assert shown["total"] == 3 and shown["registrants_by_status"] == {"registered": 3, "cancelled": 1, "bounced": 1}
    assert "13:15 Panel" in shown["samples"]["agenda/international"]["text"]
    saved = releases.save(worker.db, release, "test")
    assert releases.fan_out(worker.db, RULES, replies, saved) == 3
    assert releases.fan_out(worker.db, RULES, replies, saved) == 0       # idempotent
    assert by_kind(worker.db, "release:agenda") == ["expert0@city0.gov.ge", "expert3@city3.gov.ge",
                                                    "expert4@city4.gov.ge"]


def test_late_registrant_gets_ack_then_agenda(env):
    tmp_path, worker, clock = env
    register(worker, tmp_path, 2)
    replies = Replies(RULES.templates_path)
    release, _ = releases.candidate(worker.db, EVENT.id, "agenda", text="13:00 Welcome\n")
    releases.fan_out(worker.db, RULES, replies, releases.save(worker.db, release, "test"))
    worker.run_once()
    register(worker, tmp_path, 1, start=2)
    # The confirmation goes first, alone (a new address may not exist); the agenda only once it is out
    # (here with no grace to wait for a bounce: in the same pass).
    late = list(worker.db["outbox"].rows_where("recipient = ?", ["expert2@city2.gov.ge"], order_by="id"))
    assert [r["kind"] for r in late] == ["reply:interest", "release:agenda:v1"]
    assert late[0]["sent_at"] <= late[1]["created_at"] and all(r["state"] == "sent" for r in late)


def test_agenda_v2_is_an_update_for_v1_recipients_with_the_changes(env):
    tmp_path, worker, clock = env
    register(worker, tmp_path, 2)
    replies = Replies(RULES.templates_path)
    v1, _ = releases.candidate(worker.db, EVENT.id, "agenda", text="13:00 Welcome\n13:15 Panel\n")
    releases.fan_out(worker.db, RULES, replies, releases.save(worker.db, v1, "test"))
    worker.run_once()
    registrants.cancel(worker.db, EVENT.id, "expert1@city1.gov.ge")
    register(worker, tmp_path, 1, start=2)                     # gets v1 as a late registrant
    same, is_new = releases.candidate(worker.db, EVENT.id, "agenda", text="13:00 Welcome\n13:15 Panel\n")
    assert not is_new and same.version == 1
    v2, is_new = releases.candidate(worker.db, EVENT.id, "agenda", text="13:00 Welcome\n13:15 Keynote\n")
    assert is_new and v2.version == 2
    assert releases.fan_out(worker.db, RULES, replies, releases.save(worker.db, v2, "test")) == 2
    assert by_kind(worker.db, "release:agenda:v2") == ["expert0@city0.gov.ge", "expert2@city2.gov.ge"]
    worker.run_once()
    update = next(m for m in sent_mails(tmp_path) if m["Subject"].startswith("Updated agenda"))
    body = update.get_content().replace("\r\n", "\n")
    assert "“13:15 Panel” now reads “13:15 Keynote”." in body and "13:00 Welcome\n13:15 Keynote" in body
    assert "-13:15 Panel" not in body and "@@" not in body


def test_access_needs_approval_when_rules_say_so(env):
    tmp_path, worker, clock = env
    data = RULES.model_dump()
    data["events"][0]["releases"]["access"] = {"released": True, "link": "https://meet.example/x",
                                               "require_approval": True}
    worker.rules = type(RULES).model_validate({**data, "source": RULES.source})
    register(worker, tmp_path, 3)
    assert {r["status"] for r in worker.db["registrants"].rows} == {"pending"}
    assert by_kind(worker.db, "release:access") == []
    registrants.approve(worker.db, EVENT.id, "expert1@city1.gov.ge", by="test")
    worker.run_once()
    assert by_kind(worker.db, "release:access") == ["expert1@city1.gov.ge"]
    access = next(m for m in sent_mails(tmp_path) if m["Subject"].startswith("Access link"))
    assert "https://meet.example/x" in access.get_body(("plain",)).get_content()
    (ics,) = [p for p in access.iter_attachments() if p.get_content_type() == "text/calendar"]
    start = icalendar.Calendar.from_ical(ics.get_content()).walk("VEVENT")[0].decoded("dtstart")
    assert start.astimezone(UTC) == datetime(2020, 10, 7, 11, 0, tzinfo=UTC)


def test_reminders_are_sent_once_when_due_and_skipped_after_the_event(env):
    tmp_path, worker, clock = env
    register(worker, tmp_path, 2)
    clock.moment = datetime(2020, 10, 6, 11, 30, tzinfo=UTC)    # 1d reminder due at 11:00Z
    worker.run_once()
    assert by_kind(worker.db, "reminder:1d") == ["expert0@city0.gov.ge", "expert1@city1.gov.ge"]
    worker.run_once()
    assert len(by_kind(worker.db, "reminder:")) == 2
    clock.moment = datetime(2020, 10, 7, 14, 0, tzinfo=UTC)     # daemon was down; event over
    worker.run_once()
    assert by_kind(worker.db, "reminder:1h") == []
    states = {r["name"]: r["state"] for r in worker.db["scheduled"].rows}
    assert states == {"reminder:1d": "done", "reminder:1h": "skipped"}
    reminder = next(m for m in sent_mails(tmp_path) if m["Subject"].startswith("Reminder"))
    assert "in 1 day" in reminder["Subject"]
    assert "15:00–17:30 Tbilisi time" in reminder.get_body(("plain",)).get_content()


def test_reminders_follow_a_postponed_event_and_a_removed_one_is_not_sent(env):
    """The due times were fixed at the first pass: a week's postponement sent "in 1 day" a week early and
    "in 1 hour" a day early, nothing on the day; a reminder taken out of rules.yaml still went."""
    from datetime import timedelta

    tmp_path, worker, clock = env
    register(worker, tmp_path, 2)
    assert {r["name"]: r["due_at"] for r in worker.db["scheduled"].rows} == {
        "reminder:1d": "2020-10-06T11:00:00+00:00", "reminder:1h": "2020-10-07T10:00:00+00:00"}
    data = RULES.model_dump()
    data["events"][0].update(start=data["events"][0]["start"] + timedelta(days=7),
                             end=data["events"][0]["end"] + timedelta(days=7), reminders=[{"before": "1d"}])
    worker.rules = type(RULES).model_validate({**data, "source": RULES.source})
    for moment in (datetime(2020, 10, 6, 11, 30, tzinfo=UTC), datetime(2020, 10, 7, 10, 30, tzinfo=UTC)):
        clock.moment = moment
        worker.run_once()
        assert by_kind(worker.db, "reminder:") == []
    assert [(r["name"], r["due_at"], r["state"]) for r in worker.db["scheduled"].rows] == [
        ("reminder:1d", "2020-10-13T11:00:00+00:00", "pending")]
    clock.moment = datetime(2020, 10, 13, 11, 5, tzinfo=UTC)
    worker.run_once()
    assert by_kind(worker.db, "reminder:1d") == ["expert0@city0.gov.ge", "expert1@city1.gov.ge"]
    reminder = next(m for m in sent_mails(tmp_path) if m["Subject"].startswith("Reminder"))
    assert reminder["Subject"].endswith("in 1 day") and "14 October 2020" in reminder.get_body(("plain",)).get_content()


@pytest.mark.parametrize("moment, sent, subject", [
    (datetime(2020, 10, 7, 10, 10, tzinfo=UTC), ["reminder:1h"] * 2, "in 50 minutes"),   # 50 minutes before
    (datetime(2020, 10, 7, 11, 30, tzinfo=UTC), [], None),                                # the event has begun
])
def test_reminders_missed_while_mailflow_was_down(env, moment, sent, subject):
    """Down from before the 1-day reminder until late: both went at once, "starts in 1 day" 50 minutes before
    the start, and during the event too."""
    tmp_path, worker, clock = env
    register(worker, tmp_path, 2)
    clock.moment = moment
    worker.run_once()
    assert [r["kind"] for r in worker.db["outbox"].rows_where("kind like 'reminder:%'")] == sent
    states = {r["name"]: (r["state"], r["note"]) for r in worker.db["scheduled"].rows}
    if sent:
        assert states == {"reminder:1h": ("done", None), "reminder:1d": (
            "skipped", "a later reminder was due too (mailflow did not run meanwhile): that one went")}
        reminder = next(m for m in sent_mails(tmp_path) if m["Subject"].startswith("Reminder"))
        assert reminder["Subject"].endswith(subject)
        assert f"starts {subject}" in " ".join(reminder.get_body(("plain",)).get_content().split())
    else:
        assert {state for state, _ in states.values()} == {"skipped"}


def test_a_correction_by_command_is_not_undone_by_the_agenda_rules_yaml_still_names(env):
    """The agenda in rules.yaml, a correction sent with `mailflow release agenda --text`: the next pass sent the
    old agenda again as "Updated agenda (version 3)". rules.yaml's agenda goes again only when it changes there."""
    tmp_path, worker, clock = env
    (tmp_path / "agenda.md").write_text("13:00 Welcome\n13:15 Keynote: the digital town hall\n")
    data = RULES.model_dump()
    data["events"][0]["releases"] = {"agenda": {"released": True, "text": str(tmp_path / "agenda.md")}}
    worker.rules = type(RULES).model_validate({**data, "source": RULES.source})
    register(worker, tmp_path, 1)
    correction, is_new = releases.candidate(worker.db, EVENT.id, "agenda", text="13:00 Welcome\n13:15 Panel\n")
    assert is_new
    releases.fan_out(worker.db, worker.rules, worker.replies, releases.save(worker.db, correction, "cli"))
    for _ in range(2):
        worker.run_once()
    assert [(r["version"], r["source"]) for r in worker.db["releases"].rows] == [(1, "rules.yaml"), (2, "cli")]
    assert by_kind(worker.db, "release:agenda:v3") == []
    (tmp_path / "agenda.md").write_text("13:00 Welcome\n13:15 Panel\n13:45 Keynote\n")   # edited there: it goes
    worker.run_once()
    assert by_kind(worker.db, "release:agenda:v3") == ["expert0@city0.gov.ge"]
    assert releases.latest(worker.db, EVENT.id, "agenda").text.endswith("13:45 Keynote\n")


def test_a_changed_access_link_says_so_and_threads_with_the_mail_it_replaces(env):
    """A new link came as a look-alike of the first mail, unthreaded, saying nothing of the old link; people
    joined with it. Agenda updates thread with the agenda they update too."""
    tmp_path, worker, clock = env
    register(worker, tmp_path, 1)
    replies = Replies(RULES.templates_path)
    for kind, contents in [("access", {"link": "https://meet.example/old"}),
                           ("access", {"link": "https://meet.example/new"}),
                           ("agenda", {"text": "13:00 Welcome\n"}),
                           ("agenda", {"text": "13:00 Welcome\n13:15 Panel\n"})]:
        release, _ = releases.candidate(worker.db, EVENT.id, kind, **contents)
        releases.fan_out(worker.db, RULES, replies, releases.save(worker.db, release, "cli"))
        worker.run_once()
    by_subject = {m["Subject"].partition(":")[0]: m for m in sent_mails(tmp_path)}   # (files named by Message-ID)
    first, changed, agenda, update = (by_subject[s] for s in ("Access link", "Changed access link", "Agenda",
                                                              "Updated agenda"))
    assert first["Subject"].startswith("Access link: ") and first["In-Reply-To"] is None
    assert "changed" not in first.get_body(("plain",)).get_content()
    assert changed["Subject"].startswith("Changed access link: ")
    text = " ".join(changed.get_body(("plain",)).get_content().split())
    assert "the link we sent earlier (https://meet.example/old) no longer works" in text
    assert "Access link: https://meet.example/new" in text
    assert (changed["In-Reply-To"], changed["References"]) == (first["Message-ID"], first["Message-ID"])
    assert update["In-Reply-To"] == agenda["Message-ID"] and agenda["In-Reply-To"] is None


def test_a_new_link_to_someone_whose_first_access_mail_failed_is_no_change_to_them(env):
    """They never had the first link: "Changed access link ... the link we sent earlier no longer works" under a
    mail they never received confused them."""
    tmp_path, worker, clock = env
    register(worker, tmp_path, 1)
    replies = Replies(RULES.templates_path)
    for link in ("https://meet.example/old", "https://meet.example/new"):
        release, _ = releases.candidate(worker.db, EVENT.id, "access", link=link)
        releases.fan_out(worker.db, RULES, replies, releases.save(worker.db, release, "cli"))
        worker.db.execute("update outbox set state = 'failed', error = '550 mailbox full' "
                          "where kind = 'release:access:v1'")   # (the first one bounced at the server)
    worker.run_once()
    (sent,) = [m for m in sent_mails(tmp_path) if "access link" in m["Subject"].lower()]
    assert sent["Subject"].startswith("Access link: ") and sent["In-Reply-To"] is None
    assert "no longer works" not in sent.get_body(("plain",)).get_content()


def test_a_reminder_that_could_not_go_before_the_start_does_not_go_after_it(env):
    """Queued 50 minutes before the start while the SMTP server was down, it went out during the event,
    saying "starts in 50 minutes": a reminder now expires at the start, not at the end."""
    tmp_path, worker, clock = env
    register(worker, tmp_path, 1)
    replies = Replies(RULES.templates_path)
    assert releases.run_due_reminders(worker.db, RULES, replies, datetime(2020, 10, 7, 10, 10, tzinfo=UTC)) == 1
    clock.moment = datetime(2020, 10, 7, 11, 5, tzinfo=UTC)   # the server is back; the event has begun
    worker.run_once()
    assert [r["state"] for r in worker.db["outbox"].rows_where("kind like 'reminder:%'")] == ["cancelled"]
    assert not [m for m in sent_mails(tmp_path) if m["Subject"].startswith("Reminder")]


def test_release_from_rules_and_send_at(env):
    tmp_path, worker, clock = env
    (tmp_path / "agenda.md").write_text("13:00 Welcome\n")
    data = RULES.model_dump()
    data["events"][0]["releases"] = {
        "agenda": {"released": True, "text": str(tmp_path / "agenda.md")},
        "access": {"link": "https://meet.example/y", "send_at": datetime(2020, 10, 6, 12, 0)},
    }
    worker.rules = type(RULES).model_validate({**data, "source": RULES.source})
    register(worker, tmp_path, 1)      # the confirmation first, then (no bounce grace here) the agenda
    assert [r["kind"] for r in worker.db["outbox"].rows] == ["reply:interest", "release:agenda:v1"]
    clock.moment = datetime(2020, 10, 6, 10, 0, tzinfo=UTC)     # 12:00 CEST is 10:00Z
    worker.run_once()
    assert by_kind(worker.db, "release:access") == ["expert0@city0.gov.ge"]
    (tmp_path / "agenda.md").write_text("13:00 Welcome\n13:30 Keynote\n")
    worker.run_once()
    assert by_kind(worker.db, "release:agenda:v2") == ["expert0@city0.gov.ge"]


def test_ics_is_valid_and_starts_at_11_utc():
    invitation = Invitation("u@cc-events.example", 0, REQUEST, "expert0@city0.gov.ge", link="https://m.example/x")
    cal = icalendar.Calendar.from_ical(event_calendar(EVENT, "international@cc-events.example", invitation,
                                                      REGISTRATION_TIME))
    (vevent,) = cal.walk("VEVENT")
    assert vevent.decoded("dtstamp") == REGISTRATION_TIME   # made by the clock, not the system's time
    assert vevent.decoded("dtstart").astimezone(UTC) == datetime(2020, 10, 7, 11, 0, tzinfo=UTC)
    assert vevent.decoded("dtend").astimezone(UTC) == datetime(2020, 10, 7, 13, 30, tzinfo=UTC)
    assert str(vevent["dtstart"].params["TZID"]) == "Europe/Berlin"
    assert cal.walk("VTIMEZONE")


def test_times_are_shown_in_the_registrants_zone():
    assert times_context(EVENT, whereabouts("a@tbilisi.gov.ge")["time_zone"]) == {
        "event": "13:00–15:30 CEST", "local": "15:00–17:30 Tbilisi time", "local_zone": "Asia/Tbilisi"}
    assert times_context(EVENT, whereabouts("a@leipzig.de")["time_zone"])["local"] == ""
    assert times_context(EVENT, whereabouts("a@gmail.com")["time_zone"])["local"] == ""
    # Several zones and no phone number to say which (registrants.py): no local time at all.
    assert times_context(EVENT, whereabouts("a@city.us")["time_zone"])["local"] == ""
    assert times_context(
        EVENT, whereabouts("a@city.com", read("Hi\n\nBest regards,\nJane Doe\nTel. +1 212 555 0100"))["time_zone"]
    )["local"] == "07:00–09:30 New York time"




def test_the_agenda_shows_the_local_time_the_registration_recorded(env):
    """The zone comes from the phone number in the registration's signature, kept with the registrant:
    a US address with a New York number gets New York time, one with only a US domain none (several zones)."""
    tmp_path, worker, clock = env
    for name, address, signature in (("ny", "j.doe@consulting.com", "Jane Doe\nTel. +1 212 555 0100"),
                                     ("us", "r.roe@city.us", "Richard Roe")):
        raw = make_mail(sender=address, body=f"Dear colleagues,\n\nI would like to participate in the online "
                                             f"event.\n\nBest regards,\n{signature}")
        deliver(tmp_path / "mail", raw, name, arrived=REGISTRATION_TIME)
    worker.run_once()
    release, _ = releases.candidate(worker.db, EVENT.id, "agenda", text="13:00 Welcome\n")
    assert releases.fan_out(worker.db, RULES, Replies(RULES.templates_path),
                            releases.save(worker.db, release, "t")) == 2
    worker.run_once()
    agendas = {m["To"].addresses[0].addr_spec: m.get_body(("plain",)).get_content()
               for m in sent_mails(tmp_path) if m["Subject"].startswith("Agenda")}
    assert "13:00–15:30 CEST (07:00–09:30 New York time)" in agendas["j.doe@consulting.com"]
    assert "13:00–15:30 CEST." in agendas["r.roe@city.us"] and " time)" not in agendas["r.roe@city.us"]


def test_a_followup_needs_a_text_or_a_file(env):
    _, worker, _ = env
    with pytest.raises(Exception, match="a followup needs a text"):
        releases.candidate(worker.db, EVENT.id, "followup")


def test_the_same_agenda_saved_again_on_windows_is_no_new_version(env, tmp_path):
    """Notepad's byte-order mark and CRLF made a "new version" that went to every registrant as an update
    whose only change was the invisible mark; a file in Windows-1252 ended in a traceback."""
    _, worker, _ = env
    first, saved_again, ansi = tmp_path / "v1.txt", tmp_path / "v2.txt", tmp_path / "v3.txt"
    first.write_text("13:00 Welcome\n13:15 Keynote\n")
    saved_again.write_bytes(b"\xef\xbb\xbf13:00 Welcome\r\n13:15 Keynote\r\n")
    text = releases.read_release_text(first)
    releases.save(worker.db, releases.candidate(worker.db, EVENT.id, "agenda", text=text)[0], "test")
    again, is_new = releases.candidate(worker.db, EVENT.id, "agenda", text=releases.read_release_text(saved_again))
    assert (is_new, again.version, again.text) == (False, 1, text)
    # an agenda stored with the mark by a mailflow before this one is the same release too
    releases.save(worker.db, releases.candidate(worker.db, EVENT.id, "agenda", text="\ufeff13:00 Lunch\n")[0], "old")
    same, is_new = releases.candidate(worker.db, EVENT.id, "agenda", text="13:00 Lunch\n")
    assert (is_new, same.version) == (False, 2)
    ansi.write_bytes("13:00 Begrüßung\n".encode("cp1252"))
    with pytest.raises(releases.UnreadableFile, match="not UTF-8 text .* save it as UTF-8"):
        releases.read_release_text(ansi)
