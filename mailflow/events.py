"""Which event a mail is about, and what the time allows for it: the announcement is "the first in
a series".

Pure functions of the rules, the parsed mail, when the mail arrived in the mailbox (IMAP
INTERNALDATE, a Maildir's delivery time) and the time the reply is written. The Date header,
which the sender's machine writes, is never used: a mail is judged by its arrival, and a reply's
wording by the time it is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from .errors import RulesProblem
from .message import IncomingMessage
from .rules import Event, Rules
from .states import Intent


def named_events(rules: Rules, incoming: IncomingMessage) -> list[Event]:
    """The events whose keywords or title the mail's subject or text names, in rules.yaml order. Runs of
    white space count as one space: a client that wraps at 72 columns splits a title over two lines."""
    text = " ".join(f"{incoming.subject}\n{incoming.text}".casefold().split())
    return [e for e in rules.events if any(word.casefold() in text for word in (*e.keywords, e.title))]


def match_event(rules: Rules, incoming: IncomingMessage, arrived: datetime) -> Event:
    """By the event's keywords or title in the mail, else the next one to end after the mail arrived."""
    if len(rules.events) == 1:
        return rules.events[0]
    named = named_events(rules, incoming)
    if named:
        return named[0]
    upcoming = sorted((e for e in rules.events if e.ends_at >= arrived), key=lambda e: e.starts_at)
    return upcoming[0] if upcoming else max(rules.events, key=lambda e: e.starts_at)


def next_open_event(rules: Rules, event: Event, moment: datetime) -> Event | None:
    """The series' next event after `event` that takes registrations at `moment`."""
    later = [e for e in rules.events if e.starts_at > event.starts_at and e.registration_open(moment)]
    return min(later, key=lambda e: e.starts_at, default=None)


@dataclass(frozen=True)
class Timing:
    """What the clock allows for one mail."""

    event: Event                    # the event the mail is about
    register: bool = False          # a registration to record for `event`
    closed_reply: bool = False      # answered with replies.registration_closed instead of the intent's reply
    in_time: bool = True            # it arrived before registration for `event` closed
    next_event: Event | None = None  # named in a "registration closed" reply
    attention: str | None = None    # why a coordinator should look (flagged, `mailflow questions`)
    reasons: tuple[str, ...] = ()


def judge(rules: Rules, incoming: IncomingMessage, intent: Intent, arrived: datetime, now: datetime,
          invited_to: str | None = None) -> Timing:
    """The event a mail is about and, for a registration, what its arrival and `now` allow.

    A registration that arrived while the window was open is recorded, even when it is answered
    after the event (a backlog); its reply is the "registration closed" one once the event is
    over, so no reply promises an agenda "in due course" for a past event. One that arrived after
    the window closed is not recorded and gets the "registration closed" reply, naming the next
    event of the series open now; it is flagged for a coordinator only when it may be about that
    next event, i.e. it does not clearly name its own. (One that clearly names the next event is
    about that event already: match_event chose it by its words.) A reply in the thread of an
    invitation (`invited_to`, invites.py) is about the event it invited to, whatever it quotes.
    """
    invited = [e for e in rules.events if e.id == invited_to]
    event = invited[0] if invited else match_event(rules, incoming, arrived)
    reasons = (f"event: {event.id} (mail arrived {_shown(arrived, event)}, the mailbox's time"
               + (", in reply to the invitation to it)" if invited else ")"),)
    if intent != Intent.INTEREST:
        return Timing(event, reasons=reasons)
    in_time = not event.registration_closed(arrived)
    if in_time and not event.over(now):
        return Timing(event, register=True, reasons=reasons)
    following = next_open_event(rules, event, now)
    if in_time:
        why = f"registration: recorded (arrived before it closed), but the event ended {_shown(event.ends_at, event)}"
        return Timing(event, register=True, closed_reply=True, next_event=following,
                      reasons=(*reasons, why + ": answered with the registration-closed reply"))
    why = f"registration: closed {_shown(event.registration_closes_at, event)}, before the mail arrived: not registered"
    attention = None
    if following is not None and named_events(rules, incoming) != [event]:
        attention = (f"arrived after registration for {event.id} closed; it may be meant for {following.id}, "
                     "which the reply names: check and answer")
    return Timing(event, closed_reply=True, in_time=False, next_event=following, attention=attention,
                  reasons=(*reasons, why, *((f"attention: {attention}",) if attention else ())))


def _shown(moment: datetime, event: Event) -> str:
    local = moment.astimezone(ZoneInfo(event.timezone))
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def timing_warnings(rules: Rules, now: datetime) -> list[RulesProblem]:
    """What `mailflow check` warns about: every event is over, so every registration is refused."""
    if any(not event.over(now) for event in rules.events):
        return []
    last = max(rules.events, key=lambda e: e.ends_at)
    index = rules.events.index(last)
    return [RulesProblem(
        rules.source, rules.line_of("events", index, "end"),
        f"warning: every event is over (the last, {last.id}, ended {_shown(last.ends_at, last)}); "
        "every registration now gets the registration-closed reply",
        "add the next event under events:, or move this one's start and end",
    )]
