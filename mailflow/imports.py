"""People from a coordinator's list (sheets.py): registrants who registered by phone or a form
(`mailflow import registrants`), and former participants to invite (`mailflow invite`).

`read_people()` checks every row (the address with email-validator, no DNS; the event; the
audience) and says what is wrong with each, by file and line. `import_people()` merges them with
the registrants in one transaction: a new address is added, a known one only gets the fields it
lacks (a value it has is never overwritten), a cancelled one is left alone; one address is one
registrant per event, whichever lines name it. Without `apply` it rolls back: the dry run is the
same code as the import.
"""

from __future__ import annotations

import email.utils
import logging
from dataclasses import dataclass, field, replace

import sqlite_utils

from . import behalf, database, registrants
from .addresses import InvalidAddress, domain_of, normalize_address
from .context import reply_context
from .countries import named_country
from .database import now
from .registrants import whereabouts
from .replies import Replies
from .rules import Event, Rules
from .sheets import Row, Sheet, person_name
from .states import RegistrantStatus

log = logging.getLogger(__name__)

MERGED = ("name", "organisation", "country", "audience")   # what a line may add to a known registrant


@dataclass(frozen=True)
class Person:
    where: str                 # the first line that names them
    address: str
    event_id: str | None
    name: str = ""
    organisation: str = ""
    country: str = ""
    audience: str | None = None
    notes: tuple[str, ...] = ()
    guessed: bool = False      # the audience is guess_audience()'s, not the list's


@dataclass
class People:
    people: list[Person] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)   # "registrants.csv line 7: ...; the fix"


@dataclass(frozen=True)
class Step:
    person: Person
    action: str                                    # add, update, unchanged, skip
    changes: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def read_people(sheet: Sheet, rules: Rules, *, event_id: str | None, audience: str | None,
                need_event: bool = True) -> People:
    """Each row as a Person, or a problem naming its line and the fix; lines with the same address
    (and event) are one person, the later lines filling what the first left empty."""
    found = People()
    first: dict[tuple[str | None, str], int] = {}
    for row in sheet.rows:
        person = _person(row, rules, event_id, audience, need_event, found.problems)
        if person is None:
            continue
        key = (person.event_id, person.address)
        if key not in first:
            first[key] = len(found.people)
            found.people.append(person)
            continue
        earlier = found.people[first[key]]
        filled = {f: getattr(person, f) for f in MERGED if getattr(person, f) and not getattr(earlier, f)}
        note = f"{row.where} names {person.address} again: " + (
            ", ".join(f"{f} {v!r} taken from it" for f, v in filled.items()) if filled else "nothing new in it")
        found.people[first[key]] = replace(earlier, **filled, notes=(*earlier.notes, note))
    return found


def _person(row: Row, rules: Rules, event_id: str | None, audience: str | None, need_event: bool,
            problems: list[str]) -> Person | None:
    cell = row.values.get("email", "")
    if not cell:
        problems.append(f"{row.where}: no e-mail address; fill in the e-mail column or delete the line")
        return None
    written = email.utils.parseaddr(cell)[1] if "<" in cell else cell   # "Anna Lehmann <anna@x.de>"
    try:
        address = normalize_address(written)
    except InvalidAddress as exc:
        reason = str(exc).partition(": ")[2].rstrip(".")
        problems.append(f"{row.where}: {cell!r} is not an address ({reason}); write it as name@domain, "
                        "e.g. anna.lehmann@leipzig.de")
        return None
    event = _event_of(row, rules, event_id, need_event, problems)
    if event == "":
        return None
    chosen, ok = _audience_of(row, rules, audience, problems)
    if not ok:
        return None
    country = row.values.get("country", "")
    place = named_country(country) if country else None
    if country and place is None:
        problems.append(f"{row.where}: {country!r} is not a country mailflow knows; write its name in English "
                        "or German (Georgia, Georgien) or its ISO code (GE or GEO)")
        return None
    guessed = guess_audience(rules, address) if chosen is None else None
    notes = (f"audience {guessed} from the address's domain",) if guessed else ()
    return Person(row.where, address, event, person_name(row), row.values.get("organisation", ""),
                  place.country if place else "", chosen or guessed, notes, guessed=bool(guessed))


def _event_of(row: Row, rules: Rules, event_id: str | None, need_event: bool, problems: list[str]) -> str | None:
    """The event id ('' after a problem; None when not needed and not given)."""
    ids = ", ".join(e.id for e in rules.events)
    written = row.values.get("event")
    if written:
        for event in rules.events:
            if written.casefold() in (event.id.casefold(), event.title.casefold()):
                return event.id
        problems.append(f"{row.where}: no event {written!r} in rules.yaml; write one of: {ids}")
        return ""
    if event_id or not need_event:
        return event_id
    if len(rules.events) == 1:
        return rules.events[0].id
    problems.append(f"{row.where}: which event? add an 'event' column (one of: {ids}) or give --event ID")
    return ""


def _audience_of(row: Row, rules: Rules, audience: str | None, problems: list[str]) -> tuple[str | None, bool]:
    """The row's audience, else --audience (None: guessed from the address or taken from a
    registrant of it, else a problem then); False after a problem."""
    written = row.values.get("audience")
    if written:
        for name in rules.audiences:
            if written.casefold() == name.casefold():
                return name, True
        problems.append(f"{row.where}: unknown audience {written!r}; write one of: {', '.join(rules.audiences)}")
        return None, False
    return audience, True


def guess_audience(rules: Rules, address: str) -> str | None:
    """The one audience whose listed domains or country domains the address has, else None."""
    domain = domain_of(address)
    tld = domain.rpartition(".")[2]
    matches = [name for name, evidence in rules.classification.audiences.items()
               if domain in (d.lower() for d in evidence.domains)
               or tld in (t.lower().lstrip(".") for t in evidence.tlds)]
    return matches[0] if len(matches) == 1 else None


def known_audience(db: sqlite_utils.Database, address: str) -> str | None:
    """The audience of the person's latest registration, for any event."""
    rows = database.rows(db, "select audience from registrants where address = ? and audience is not null "
                             "order by id desc limit 1", [address])
    return rows[0]["audience"] if rows else None


class _DryRun(Exception):
    pass


def import_people(db: sqlite_utils.Database, rules: Rules, replies: Replies, people: list[Person], *, apply: bool,
                  by: str) -> tuple[list[Step], list[str]]:
    """What the list does to the registrants (steps) and the problems that stop it (an audience
    nobody can tell). With `apply` and no problem it is committed, else rolled back.

    A new registrant gets the confirmation a registration by mail gets (`replies.interest`, unless the
    event is over), alone: like any new address, the agenda, the access details and the reminders
    follow once it has been out `bounce_grace_minutes` without a bounce (bounces.held)."""
    events = {event.id: event for event in rules.events}
    steps: list[Step] = []
    problems: list[str] = []
    try:
        with database.transaction(db):
            for person in people:
                assert person.event_id is not None
                step = _step(db, rules, replies, person, events[person.event_id], by)
                if step is None:
                    problems.append(f"{person.where}: cannot tell the audience of {person.address}; add an "
                                    f"'audience' column ({' or '.join(rules.audiences)}) or give --audience")
                else:
                    steps.append(step)
            if not apply or problems:
                raise _DryRun   # everything above is rolled back
    except _DryRun:
        return steps, problems
    for step in steps:
        if step.action in ("add", "update"):
            log.info("registrant of event=%s %s from %s by %s", step.person.event_id, step.action,
                     step.person.where.rpartition(" ")[0] or step.person.where, by)
    return steps, problems


def _whereabouts(person: Person) -> dict[str, str | None]:
    """What the list says about where a person works and is; the rest stays as their address said."""
    about: dict[str, str | None] = {"organisation": person.organisation} if person.organisation else {}
    return about | _zone_of(person.country)


def _zone_of(country: str) -> dict[str, str | None]:
    """A country's code with its zone (None: several, none known), for the registrants table."""
    place = named_country(country) if country else None
    return {"country": place.country, "time_zone": place.zone} if place else {}


def _step(db: sqlite_utils.Database, rules: Rules, replies: Replies, person: Person, event: Event,
          by: str) -> Step | None:
    existing = registrants.find(db, event.id, person.address)
    stamp = now(db)
    if existing is None:
        if person.audience is None:
            known = known_audience(db, person.address)
            if known is None:
                return None
            person = replace(person, audience=known)
        status = event.new_registrant_status
        row = registrants.register(db, event.id, person.address, person.name, person.audience, None, status)
        database.update(db, "registrants", row["id"], {**_whereabouts(person), "imported_from": person.where})
        database.insert(db, "corrections", {"registrant_id": row["id"], "field": "status", "old": None,
                                            "new": status, "by": f"{by} (import {person.where})", "at": stamp})
        confirmed = _confirm(db, rules, replies, event, row)
        return Step(person, "add", {f: getattr(person, f) for f in MERGED if getattr(person, f)},
                    (*person.notes, *confirmed))
    if existing["status"] == RegistrantStatus.CANCELLED:
        return Step(person, "skip", {}, (*person.notes, (
            f"{person.address} cancelled their registration for {event.id}; to register them again: "
            f"mailflow set-status {person.address} registered --event {event.id}")))
    # A known registrant's audience is theirs: a guess from the domain neither changes nor questions it.
    fields = [f for f in MERGED if f != "audience" or not person.guessed]
    # What the address alone said (an organisation from the domain, a country from .ge) is a guess the list may replace.
    guessed_before = whereabouts(person.address)
    stated = {f: existing[f] for f in fields if existing.get(f) and existing[f] != guessed_before.get(f)}
    changes = {f: getattr(person, f) for f in fields if getattr(person, f) and f not in stated
               and getattr(person, f) != existing.get(f)}
    kept = tuple(f"keeps {f} {stated[f]!r} (the file says {getattr(person, f)!r})" for f in fields
                 if getattr(person, f) and f in stated and stated[f] != getattr(person, f))
    notes = tuple(n for n in person.notes if not person.guessed or not n.startswith("audience "))
    if not changes:
        return Step(person, "unchanged", {}, (*notes, *kept))
    database.update(db, "registrants", existing["id"], {**changes, **_zone_of(changes.get("country", "")),
                                                        "updated_at": stamp})
    for name, value in changes.items():
        database.insert(db, "corrections", {"registrant_id": existing["id"], "field": name,
                                            "old": existing.get(name) or None, "new": value,
                                            "by": f"{by} (import {person.where})", "at": stamp})
    return Step(person, "update", changes, (*notes, *kept))


def _confirm(db: sqlite_utils.Database, rules: Rules, replies: Replies, event: Event, row: dict) -> tuple[str, ...]:
    """Queue the new registrant's confirmation; a note when there is none."""
    template = rules.replies.get("interest", {}).get(row["audience"])
    moment = database.clock_of(db)()
    if not template or event.over(moment):
        why = "the event is over" if template else f"rules.yaml has no replies.interest.{row['audience']}"
        return (f"no confirmation mail: {why}",)
    mailbox = rules.mailbox_for_audience(row["audience"])
    rendered = replies.render(template, reply_context(rules, event, mailbox, row["name"] or "", row["address"], "",
                                                      now=moment))
    behalf.queue_confirmation(db, rules, event, None, row, rendered)
    return ()
