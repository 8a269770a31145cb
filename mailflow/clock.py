"""The one clock: every "now" in mailflow comes from a `Clock` handed in at the edge.

The CLI, the daemon and the demo choose the clock (the system's, or the demo's
"as of" its sample mails); the database connection carries it (`open_database`),
so its timestamps, the worker's decisions and the outgoing Date headers all read
the same time. Timeouts and rate limits keep `time.monotonic`: they measure
durations, not dates.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]   # returns an aware datetime


def system_clock() -> datetime:
    return datetime.now(UTC)


def stopped_at(moment: datetime) -> Clock:
    """A clock that always says `moment` (the demo; tests about dates)."""
    moment = aware(moment)
    return lambda: moment


def aware(moment: datetime) -> datetime:
    """A naive datetime is taken as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def stamp(moment: datetime) -> str:
    """How the database stores a moment: ISO 8601 in UTC to the second, so text order is time order."""
    return aware(moment).astimezone(UTC).isoformat(timespec="seconds")


def parse_stamp(text: str) -> datetime:
    return aware(datetime.fromisoformat(text))
