"""Which event a mail is about: the announcement is "the first in a series"."""

from __future__ import annotations

from datetime import datetime, timezone

from .message import IncomingMessage
from .rules import Event, Rules


def match_event(rules: Rules, incoming: IncomingMessage) -> Event:
    """By the event's keywords or title in the mail, else the next one after the mail's date."""
    if len(rules.events) == 1:
        return rules.events[0]
    text = f"{incoming.subject}\n{incoming.text}".casefold()
    for event in rules.events:
        if any(word.casefold() in text for word in (*event.keywords, event.title)):
            return event
    moment = incoming.date or datetime.now(timezone.utc)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    upcoming = sorted((e for e in rules.events if e.ends_at >= moment), key=lambda e: e.starts_at)
    return upcoming[0] if upcoming else max(rules.events, key=lambda e: e.starts_at)
