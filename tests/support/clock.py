"""A clock a test can move: `mailflow.clock.stopped_at` stands still for good, this one until it is set."""

from __future__ import annotations

from datetime import datetime, timedelta

from mailflow.clock import aware


class SettableClock:
    """A `mailflow.clock.Clock` that says `moment` until a test sets it or lets time pass."""

    def __init__(self, moment: datetime):
        self.moment = aware(moment)

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        """`clock.advance(minutes=11)`: as `timedelta` takes it."""
        self.moment += timedelta(**delta)
