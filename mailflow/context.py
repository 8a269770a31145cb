"""What a template may say: the event, registrant and coordinator as plain dicts.

Replies and announcements (releases.py) fill their templates from here;
`replies.check_templates` renders every template with the sample contexts.
Pure: every "now" and every address is an argument.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from .message import ANSWER_PREFIX, clean
from .rules import Event, Mailbox, Rules

GERMAN_MONTHS = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
                 "Oktober", "November", "Dezember")


def person_name(display_name: str) -> str:
    """"Weber, Thomas" (as Outlook writes it) becomes "Thomas Weber" for a greeting."""
    last, comma, first = display_name.partition(",")
    if comma and first.strip() and last.strip() and "," not in first:
        return f"{first.strip()} {last.strip()}"
    return display_name


# What a display name must not have to be used in a greeting: an address, a link, markup, the
# punctuation of a sentence, or a list ("Bcc: x@evil.example", "www.shop.example", "Please register
# me!", "Stadt Leipzig, Referat Digitales, Team 3"); "Weber, Thomas" is "Thomas Weber" by then.
_NOT_A_NAME = re.compile(r"@|://|\bwww\.|[!?:;,<>()\[\]{}|\\/=#$%*\"_]")
_SENTENCE_END = re.compile(r"\w{5,}\.$")     # "…register." ends a sentence; "Dr." or "Jr." a name
MAX_NAME_LENGTH, MAX_NAME_WORDS = 60, 6


def greeting_name(display_name: str) -> str:
    """The display name when it looks like a person's name, else "" (the template's neutral greeting)."""
    name = person_name(clean(display_name))
    if not (2 <= len(name) <= MAX_NAME_LENGTH) or len(name.split()) > MAX_NAME_WORDS:
        return ""
    if _NOT_A_NAME.search(name) or _SENTENCE_END.search(name) or not any(c.isalpha() for c in name):
        return ""
    return name


def registrant_context(display_name: str, address: str) -> dict[str, str]:
    name = greeting_name(display_name)
    return {"name": name, "address": address, "first_name": name.split(" ")[0] if name else ""}


def coordinator_context(box: Mailbox) -> dict[str, str]:
    return {"name": box.coordinator, "address": box.address}


def event_context(event: Event) -> dict[str, Any]:
    start, end = event.starts_at, event.ends_at
    closes = event.registration_closes_at
    return {
        "id": event.id,
        "title": event.title,
        "venue": event.venue,
        "language": event.language,
        "timezone": event.timezone,
        "date": start.strftime("%-d %B %Y"),
        "date_de": f"{start.day}. {GERMAN_MONTHS[start.month - 1]} {start.year}",
        "start": start.strftime("%H:%M"),
        "end": end.strftime("%H:%M"),
        "zone_abbreviation": start.tzname() or event.timezone,
        "registration_closes": f"{closes:%-d %B %Y, %H:%M} {closes.tzname()}",
        "registration_closes_de": f"{closes.day}. {GERMAN_MONTHS[closes.month - 1]} {closes.year}, "
                                  f"{closes:%H:%M} Uhr {closes.tzname()}",
    }


def times_context(event: Event, zone: str | None) -> dict[str, str]:
    """The event's times in its own zone and, when the registrant's zone is known (registrants.py) and
    differs, in theirs."""
    start, end = event.starts_at, event.ends_at
    shown = {"event": f"{start:%H:%M}–{end:%H:%M} {start.tzname()}", "local": "", "local_zone": ""}
    if zone and ZoneInfo(zone).utcoffset(start.replace(tzinfo=None)) != start.utcoffset():
        local_start, local_end = start.astimezone(ZoneInfo(zone)), end.astimezone(ZoneInfo(zone))
        city = zone.rpartition("/")[2].replace("_", " ")
        shown.update(local=f"{local_start:%H:%M}–{local_end:%H:%M} {city} time", local_zone=zone)
    return shown


def reply_context(
    rules: Rules, event: Event, mailbox: str, name: str, address: str, subject: str, *, now: datetime,
    next_event: Event | None = None, in_time: bool = True,
    events: Callable[[Event], dict[str, Any]] = event_context,
) -> dict[str, Any]:
    """The variables of a reply written at `now`: `event.over` says whether the event is over by
    then; `next_event` (or none) and `registration.in_time` serve the registration-closed reply.
    `events` gives an event's own variables (event_context; the worker's keeps them, each reply gets a copy)."""
    return {
        "event": {**events(event), "over": event.over(now)},
        "next_event": {**events(next_event)} if next_event else None,
        "registration": {"in_time": in_time},
        "registrant": registrant_context(name, address),
        "coordinator": coordinator_context(rules.mailboxes[mailbox]),
        "message": {"subject": subject, "reply_subject": reply_subject(subject or event.title)},
    }


def reply_subject(subject: str) -> str:
    """The subject of an answer to a mail with `subject`, as mail clients make it: a subject that already
    answers one is kept (not "Re: Re: ...")."""
    return subject if ANSWER_PREFIX.match(subject) else f"Re: {subject}"


def sample_contexts(rules: Rules, mailbox: str) -> list[dict[str, Any]]:
    """A reply's variables in every combination its branches test: a next event or none, a mail in time or
    late, the event over or not (`check` renders each, so a misspelt name in any branch is found)."""
    event = rules.events[0]
    return [reply_context(rules, event, mailbox, "Nino Beridze", "nino.beridze@tbilisi.example", "Participation",
                          now=now, next_event=next_event, in_time=in_time)
            for next_event in (rules.events[-1], None) for in_time in (False, True)
            for now in (event.starts_at, event.ends_at)]


def sample_announcement_context(rules: Rules, mailbox: str) -> dict[str, Any]:
    """Every variable an announcement template (agenda, access, reminder, followup) may use."""
    event = rules.events[0]
    return {
        "event": {**event_context(event), "times": times_context(event, "Asia/Tbilisi")},
        "registrant": {"name": "Nino Beridze", "address": "nino.beridze@tbilisi.gov.ge", "first_name": "Nino"},
        "coordinator": coordinator_context(rules.mailboxes[mailbox]),
        "agenda": {"version": 2, "text": "13:00 Welcome\n13:15 Keynote", "attachment": "agenda.pdf",
                   "changes": "“13:15 Panel” now reads “13:15 Keynote”.",
                   "changes_de": "„13:15 Panel“ lautet jetzt „13:15 Keynote“."},
        "access": {"link": "https://meet.example/abc", "details": "Meeting ID 123", "changed": False,
                   "previous_link": ""},
        "reminder": {"before": "1 day"},
        "followup": {"text": "The recording: https://rec.example/1", "attachment": "slides.pdf"},
        "previous_event": event_context(event),   # invitations (invites.py): the earlier event, or none
    }


# What on_behalf templates add to a reply's variables: who registered the person (confirmation),
# whom mailflow registered and whether the sender too (summary).
SAMPLE_ON_BEHALF = {
    "registered_by": {"name": "Nino Kapanadze", "address": "n.kapanadze@tbilisi.example"},
    "registered": [{"name": "Giorgi Beridze", "address": "g.beridze@tbilisi.example", "already": False}],
    "sender_registered": True,
}


def digest_template(language: str) -> str:
    """The daily digest's template for a coordinator's `language` (digest.py)."""
    return f"digest_{language}.txt"


def sample_digest_context(rules: Rules, mailbox: str) -> dict[str, Any]:
    """A digest (digest.gather) with one entry in every section, for `mailflow check`."""
    box = rules.mailboxes[mailbox]
    at = "2020-10-01 09:00 CEST"
    mail = {"id": 12, "sender": "nino@tbilisi.gov.ge", "subject": "Question", "at": at}
    return {
        "coordinator": coordinator_context(box), "mailbox": mailbox, "audience": rules.audience_of(mailbox),
        "day": "2020-10-01", "since": "2020-09-30 08:00 CEST", "zone": "Europe/Berlin",
        "health": [{"mailbox": mailbox, "kind": "not_read", "since": at, "cause": "connection refused"}],
        "registrants": [{"name": "Nino Beridze", "address": "nino@tbilisi.gov.ge", "organisation": "tbilisi.gov.ge",
                         "country": "Georgia", "audience": rules.audience_of(mailbox),
                         "registered_by": "anna@kutaisi.ge", "event": rules.events[0].title, "at": at}],
        "cancellations": [{"name": "", "address": "a@b.example", "event": rules.events[0].title, "at": at}],
        "questions": [{**mail, "days": 1, "hours": 26}],
        "waiting": [{**mail, "why": "to_confirm", "detail": ""}],
        "bounces": [{"address": "x@y.example", "name": "", "at": at, "reason": "Undelivered Mail Returned to Sender"}],
        "failed": [{"id": 3, "recipient": "x@y.example", "subject": "Agenda", "state": "failed",
                    "error": "550 no such user", "at": at}],
        "scheduled": [{"what": "reminder", "event": rules.events[0].title, "at": at}],
    }
