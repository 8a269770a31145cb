"""The event as an iCalendar (.ics) invitation, built with the icalendar library.

An iMIP invitation (RFC 6047): METHOD:REQUEST with a UID that stays the registrant's and a
SEQUENCE that grows when the times or the access details change (`invitations.py` keeps what was
sent), METHOD:CANCEL when they cancel. The time zone is written as calendar programs write it:
one STANDARD and one DAYLIGHT observance with a yearly RRULE, derived from the zone's transitions
in zoneinfo around the event. icalendar's own `add_missing_timezones` writes every transition as
a list of RDATEs, which vobject-based calendars read as a zone without daylight saving time
(a summer event an hour off).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from .rules import Event

if TYPE_CHECKING:
    import icalendar

REQUEST, CANCEL = "REQUEST", "CANCEL"
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
DAY = 86400
EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class Invitation:
    """What one registrant's .ics says beyond the event: whose it is and which version."""

    uid: str
    sequence: int
    method: str              # REQUEST or CANCEL
    attendee: str            # the registrant's address
    attendee_name: str = ""
    link: str | None = None
    details: str = ""


def event_calendar(event: Event, organizer: str, invitation: Invitation, stamp: datetime,
                   organizer_name: str = "") -> bytes:
    """A calendar with the event's VTIMEZONE and one VEVENT; `stamp` is when it was made (DTSTAMP)."""
    import icalendar  # 65 ms to import: only when an invitation is built
    cal = icalendar.Calendar()
    cal.add("prodid", "-//mailflow//event invitation//EN")
    cal.add("version", "2.0")
    cal.add("method", invitation.method)
    cal.add_component(vtimezone(event.timezone, event.starts_at.year))
    vevent = icalendar.Event()
    vevent.add("uid", invitation.uid)
    vevent.add("sequence", invitation.sequence)
    vevent.add("dtstamp", stamp)
    vevent.add("dtstart", event.starts_at)
    vevent.add("dtend", event.ends_at)
    vevent.add("summary", event.title)
    vevent.add("location", invitation.link or event.venue)
    description = "\n\n".join(part for part in (invitation.link, invitation.details.strip()) if part)
    if description:
        vevent.add("description", description)
    if invitation.link:
        vevent.add("url", invitation.link)
    vevent.add("organizer", f"mailto:{organizer}", parameters={"CN": organizer_name} if organizer_name else {})
    attendee = {"ROLE": "REQ-PARTICIPANT", "PARTSTAT": "ACCEPTED", "RSVP": "FALSE"}
    if invitation.attendee_name:
        attendee["CN"] = invitation.attendee_name
    vevent.add("attendee", f"mailto:{invitation.attendee}", parameters=attendee)
    vevent.add("status", "CANCELLED" if invitation.method == CANCEL else "CONFIRMED")
    cal.add_component(vevent)
    return cal.to_ical()


# -- the time zone -----------------------------------------------------------------


@functools.lru_cache(maxsize=32)
def vtimezone(zone: str, year: int) -> icalendar.Timezone:
    """The VTIMEZONE of `zone` for the years around `year` (the one before to two after): per kind
    of transition an observance with a yearly RRULE that reproduces every transition of those years
    (checked with dateutil), or, where no rule does, its dates as RDATEs.

    Kept once made (6 ms; a release writes one a registrant) and shared by every calendar: not to be changed."""
    import icalendar
    tz = ZoneInfo(zone)
    first = int(datetime(year - 1, 1, 1, tzinfo=UTC).timestamp())
    last = int(datetime(year + 3, 1, 1, tzinfo=UTC).timestamp())
    groups: dict[tuple[timedelta, timedelta, str, bool], list[datetime]] = defaultdict(list)
    for moment, before, after in _transitions(tz, first, last):
        local = datetime.fromtimestamp(moment, tz)
        wall = (datetime.fromtimestamp(moment, UTC) + before).replace(tzinfo=None)   # the clock before it moved
        groups[(before, after, local.tzname() or "", bool(local.dst()))].append(wall)
    component = icalendar.Timezone()
    component.add("tzid", zone)
    end = datetime.fromtimestamp(last, UTC).replace(tzinfo=None)
    rules = {key: _yearly_rule(starts, key[0], end) for key, starts in groups.items()}
    # Rules as calendar programs write them, from 1970, only for a zone that keeps one yearly pattern
    # through these years. A zone whose rules change (Cairo's summer time back in 2023, Tehran's gone
    # after 2022) starts each observance where it does, after one for the offset before the first change.
    steady = bool(groups) and all(rule is not None and "until" not in rule for rule in rules.values())
    if not steady:
        local = datetime.fromtimestamp(first, tz)
        offset = local.utcoffset() or timedelta(0)
        key = (offset, offset, local.tzname() or "", bool(local.dst()))
        groups[key], rules[key] = [local.replace(tzinfo=None) if groups else datetime(1970, 1, 1)], None
    for (before, after, name, dst), starts in sorted(groups.items(), key=lambda item: item[1][0]):
        observance = icalendar.TimezoneDaylight() if dst else icalendar.TimezoneStandard()
        observance.add("tzname", name)
        observance.add("tzoffsetfrom", before)
        observance.add("tzoffsetto", after)
        rule = rules[(before, after, name, dst)]
        if rule is not None:
            observance.add("dtstart", _first_in_1970(rule, starts[0]) if steady else starts[0])
            observance.add("rrule", rule)
        else:
            observance.add("dtstart", starts[0])
            if len(starts) > 1:
                observance.add("rdate", starts[1:])
        component.add_component(observance)
    return component


def _transitions(tz: ZoneInfo, first: int, last: int) -> list[tuple[int, timedelta, timedelta]]:
    """(UTC timestamp, offset before, offset after) of each change of `tz`'s offset between the two
    timestamps: a look a day, then halving to the second."""
    def offset(moment: int) -> timedelta:
        return datetime.fromtimestamp(moment, tz).utcoffset() or timedelta(0)

    found = []
    moment, current = first, offset(first)
    while moment < last:
        following = offset(moment + DAY)
        if following != current:
            low, high = moment, moment + DAY        # offset(low) == current, offset(high) == following
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (middle, high) if offset(middle) == current else (low, middle)
            found.append((high, current, following))
        moment, current = moment + DAY, following
    return found


def _yearly_rule(starts: list[datetime], before: timedelta, end: datetime) -> dict[str, Any] | None:
    """The RRULE that gives exactly `starts` (local wall times, one kind of transition) from the first
    of them up to `end` (the last weekday of the month, the nth, a weekday on or after a day, or a fixed
    day), with an UNTIL when the zone stops this transition. Calendar programs write a steady zone's
    rules from 1970 (a client that keeps a zone by its TZID, as vobject does, uses the first one it
    read for every later event): `vtimezone` does, when every observance has a rule without UNTIL."""
    from dateutil import rrule
    head = starts[0]
    if len(starts) < 2 or len({(s.month, s.time()) for s in starts}) != 1:
        return None
    weekday = WEEKDAYS[head.weekday()]
    candidates: list[dict[str, Any]] = [
        {"byday": f"-1{weekday}"},
        {"byday": f"{(head.day - 1) // 7 + 1}{weekday}"},
        {"byday": weekday, "bymonthday": list(range(min(s.day for s in starts), min(s.day for s in starts) + 7))},
    ]
    if len({s.day for s in starts}) == 1:
        candidates = [{"bymonthday": [head.day]}]
    for parts in candidates:
        recurrence = {"freq": "YEARLY", "bymonth": [head.month], **parts}
        text = icalendar_rule_text(recurrence)
        made = list(rrule.rrulestr(text, dtstart=head).between(head, end, inc=True))
        if made == starts:
            return recurrence
        if made[:len(starts)] == starts:      # the zone stops this transition: the rule ends with it
            # A day after the last onset: before next year's, whether a client reads the local DTSTART
            # against UNTIL as the RFC says (in UTC) or as it stands (vobject: the last one dropped).
            return {**recurrence, "until": (starts[-1] - before + timedelta(days=1)).replace(tzinfo=UTC)}
    return None


def _first_in_1970(recurrence: dict[str, Any], head: datetime) -> datetime:
    from dateutil import rrule
    return rrule.rrulestr(icalendar_rule_text(recurrence), dtstart=datetime.combine(EPOCH, head.time()))[0]


def icalendar_rule_text(recurrence: dict[str, Any]) -> str:
    import icalendar
    return str(icalendar.vRecur(recurrence).to_ical().decode())
