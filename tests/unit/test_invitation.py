"""The .ics mailflow writes, read back by vobject: a second, independent parser (icalendar writes it).

The time zone is what broke: icalendar's own VTIMEZONE (every transition as an RDATE) reads back
right in icalendar and an hour off in vobject for an event in summer time.
"""

from datetime import UTC, datetime

import pytest
import vobject

from mailflow import invitations, registrants
from mailflow.database import open_database
from mailflow.invitation import CANCEL, REQUEST, Invitation, event_calendar, vtimezone
from mailflow.rules import load_rules
from tests.support import REPO

EVENT = load_rules(REPO / "rules.yaml").events[0]      # 7 October 2020, 13:00-15:30 Europe/Berlin
STAMP = datetime(2020, 9, 20, tzinfo=UTC)
INVITATION = Invitation("abc@cc-events.example", 3, REQUEST, "nino@tbilisi.gov.ge", "Nino Beridze",
                        "https://meet.example/see", "Meeting ID 123 456\nPasscode 987")


def read(ics: bytes, zone: str):
    """vobject's reading of `ics`. vobject keeps the first zone it read under a TZID for the whole
    process (a second calendar's VTIMEZONE with that TZID is ignored): forgotten, so this one counts."""
    vobject.icalendar.__dict__["__tzidMap"].pop(zone, None)
    return vobject.readOne(ics.decode())


def at(start: datetime, end: datetime, zone: str = "Europe/Berlin"):
    return EVENT.model_copy(update={"start": start, "end": end, "timezone": zone})


@pytest.mark.parametrize(("event", "start_utc", "end_utc"), [
    (EVENT, datetime(2020, 10, 7, 11, 0), datetime(2020, 10, 7, 13, 30)),                         # summer: CEST
    (at(datetime(2020, 12, 7, 13), datetime(2020, 12, 7, 15, 30)),
     datetime(2020, 12, 7, 12), datetime(2020, 12, 7, 14, 30)),
    (at(datetime(2027, 3, 28, 9), datetime(2027, 3, 28, 10)),
     datetime(2027, 3, 28, 7), datetime(2027, 3, 28, 8)),  # the day it changes
    (at(datetime(2026, 7, 1, 9), datetime(2026, 7, 1, 10), "America/New_York"),
     datetime(2026, 7, 1, 13), datetime(2026, 7, 1, 14)),
    (at(datetime(2027, 1, 20, 9), datetime(2027, 1, 20, 10), "Australia/Sydney"),
     datetime(2027, 1, 19, 22), datetime(2027, 1, 19, 23)),
    (at(datetime(2026, 7, 1, 9), datetime(2026, 7, 1, 10), "Asia/Tbilisi"),
     datetime(2026, 7, 1, 5), datetime(2026, 7, 1, 6)),
    # Zones whose rules change around the event: Egypt took summer time up again in 2023 (none in 2022),
    # Iran gave it up after the summer of 2022, Volgograd moved from +04 to +03 at the end of 2020.
    (at(datetime(2022, 1, 15, 13), datetime(2022, 1, 15, 15), "Africa/Cairo"),
     datetime(2022, 1, 15, 11), datetime(2022, 1, 15, 13)),
    (at(datetime(2022, 7, 15, 13), datetime(2022, 7, 15, 15), "Asia/Tehran"),
     datetime(2022, 7, 15, 8, 30), datetime(2022, 7, 15, 10, 30)),
    (at(datetime(2020, 7, 15, 13), datetime(2020, 7, 15, 15), "Europe/Volgograd"),
     datetime(2020, 7, 15, 9), datetime(2020, 7, 15, 11)),
], ids=["berlin-summer", "berlin-winter", "berlin-change-day", "new-york-summer", "sydney-summer", "tbilisi",
        "cairo-the-year-before-summer-time-returned", "tehran-the-last-summer-time", "volgograd-before-its-move"])
def test_vobject_reads_the_start_in_utc_as_the_rules_say(event, start_utc, end_utc):
    assert event.starts_at.astimezone(UTC) == start_utc.replace(tzinfo=UTC)   # the rule's start
    cal = read(event_calendar(event, "international@cc-events.example", INVITATION, STAMP), event.timezone)
    assert cal.vevent.dtstart.value.astimezone(UTC) == start_utc.replace(tzinfo=UTC)
    assert cal.vevent.dtend.value.astimezone(UTC) == end_utc.replace(tzinfo=UTC)


def test_berlin_is_written_as_calendar_programs_write_it():
    cal = read(event_calendar(EVENT, "international@cc-events.example", INVITATION, STAMP), "Europe/Berlin")
    zone = cal.vtimezone
    assert zone.tzid.value == "Europe/Berlin"
    observances = {(c.name, c.tzoffsetfrom.value, c.tzoffsetto.value, c.dtstart.value.isoformat(), c.rrule.value)
                   for c in zone.getChildren() if c.name in ("STANDARD", "DAYLIGHT")}
    assert observances == {
        ("DAYLIGHT", "+0100", "+0200", "1970-03-29T02:00:00", "FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3"),
        ("STANDARD", "+0200", "+0100", "1970-10-25T03:00:00", "FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10"),
    }
    assert "RDATE" not in event_calendar(EVENT, "a@b.example", INVITATION, STAMP).decode()


def test_rules_come_from_the_zone_not_a_table():
    """The second Sunday of March in New York, the first of April and of October in Sydney, no
    daylight saving time in Tbilisi: each observance has the rule its transitions follow."""
    def rules_of(zone: str) -> set[tuple[str, str]]:
        component = vtimezone(zone, 2026)
        return {(sub.name, sub["RRULE"].to_ical().decode() if "RRULE" in sub else "")
                for sub in component.subcomponents}
    assert rules_of("America/New_York") == {("DAYLIGHT", "FREQ=YEARLY;BYDAY=2SU;BYMONTH=3"),
                                            ("STANDARD", "FREQ=YEARLY;BYDAY=1SU;BYMONTH=11")}
    assert rules_of("Australia/Sydney") == {("DAYLIGHT", "FREQ=YEARLY;BYDAY=1SU;BYMONTH=10"),
                                            ("STANDARD", "FREQ=YEARLY;BYDAY=1SU;BYMONTH=4")}
    assert rules_of("Asia/Tbilisi") == {("STANDARD", "")}


def test_the_invitation_says_who_what_and_which_version():
    cal = read(event_calendar(EVENT, "international@cc-events.example", INVITATION, STAMP, "Anna Schmidt"),
               "Europe/Berlin")
    assert cal.method.value == REQUEST
    event = cal.vevent
    assert (event.uid.value, event.sequence.value) == ("abc@cc-events.example", "3")
    assert event.description.value == "https://meet.example/see\n\nMeeting ID 123 456\nPasscode 987"
    assert event.url.value == event.location.value == "https://meet.example/see"
    assert event.organizer.value == "mailto:international@cc-events.example"
    assert event.organizer.params["CN"] == ["Anna Schmidt"]
    assert event.attendee.value == "mailto:nino@tbilisi.gov.ge"
    assert event.status.value == "CONFIRMED"
    assert event.dtstamp.value == STAMP


def test_a_cancel_keeps_the_uid_and_says_cancelled():
    cancel = Invitation(INVITATION.uid, 4, CANCEL, INVITATION.attendee)
    cal = read(event_calendar(EVENT, "international@cc-events.example", cancel, STAMP), "Europe/Berlin")
    assert cal.method.value == CANCEL
    assert (cal.vevent.uid.value, cal.vevent.sequence.value, cal.vevent.status.value) == (
        "abc@cc-events.example", "4", "CANCELLED")
    assert not hasattr(cal.vevent, "description")


def test_the_sequence_grows_only_when_what_the_invitation_says_changes(tmp_path):
    db = open_database(tmp_path / "t.db")
    registrant = registrants.register(db, EVENT.id, "nino@tbilisi.gov.ge", "Nino", "international", None)

    def sent(event=EVENT, link="https://meet.example/see", details=""):
        return invitations.request(db, event, registrant, "international@cc-events.example", link, details)

    first = sent()
    assert (first.sequence, first.uid.endswith("@cc-events.example")) == (0, True)
    assert invitations.request(db, EVENT, registrant, "x@y.example", "https://meet.example/new", "",
                               record=False).sequence == 1              # a preview records nothing
    assert sent() == first                                               # a reminder's copy: the same version
    moved = at(datetime(2020, 10, 7, 14), datetime(2020, 10, 7, 16))
    steps = [sent(moved), sent(moved, details="Passcode 1"), sent(moved, "https://meet.example/other", "Passcode 1")]
    assert [(i.uid, i.sequence) for i in steps] == [(first.uid, 1), (first.uid, 2), (first.uid, 3)]
    cancelled = invitations.cancel(db, registrant)
    assert cancelled is None                # no mail carrying it was ever queued, so none reached them
    again = sent(moved, "https://meet.example/other", "Passcode 1")
    assert (again.uid, again.sequence, again.method) == (first.uid, 5, REQUEST)   # re-registered: after the CANCEL
