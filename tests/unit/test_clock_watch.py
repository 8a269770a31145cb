"""The daemon trusts the system clock only while it moves as the monotonic clock does (runner.ClockWatch)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from mailflow import runner
from mailflow.database import open_database
from mailflow.worker import PassReport
from tests.support.demo import write_demo_rules

START = datetime(2020, 10, 1, 9, 0, tzinfo=UTC)


class Clocks:
    """A system clock that can jump, and a monotonic clock that only runs."""

    def __init__(self) -> None:
        self.wall, self.mono = START, 1000.0

    def run(self, seconds: float) -> None:
        self.wall += timedelta(seconds=seconds)
        self.mono += seconds


def daemon_with(tmp_path, monkeypatch, clocks: Clocks) -> tuple[runner.Daemon, list[datetime]]:
    passes: list[datetime] = []

    class Worker:
        senders, sent_folders, stop_requested, resting = {}, {}, False, {}
        db = open_database(tmp_path / "heartbeat.db")

        @staticmethod
        def clock() -> datetime:
            return clocks.wall

        def run_once(self, send_budget=None):
            passes.append(clocks.wall)
            return PassReport()

    monkeypatch.setattr(runner, "server_worker", lambda rules, progress=None: Worker())
    daemon = runner.Daemon(write_demo_rules(tmp_path))
    daemon.clock_watch = runner.ClockWatch(monotonic=lambda: clocks.mono)
    return daemon, passes


def test_a_clock_that_jumps_ahead_for_a_minute_decides_nothing(tmp_path, monkeypatch, caplog):
    """A VM restored with its clock 40 days ahead, NTP setting it right a minute later: by that minute queued
    mail was cancelled as "event over", reminders counted as begun and "registration closed" answered, for
    good. Now the passes wait until the clock has held still for ten minutes, and go on by the right time."""
    caplog.set_level(logging.INFO, logger="mailflow.runner")
    clocks = Clocks()
    daemon, passes = daemon_with(tmp_path, monkeypatch, clocks)
    daemon.one_pass()
    clocks.run(60)
    clocks.wall += timedelta(days=40)
    daemon.one_pass()
    assert passes == [START]
    assert "the system clock jumped ahead by 40 days" in caplog.text
    clocks.run(60)
    clocks.wall -= timedelta(days=40)   # set right again: a jump back, the wait begins anew
    daemon.one_pass()
    assert "the system clock jumped back by 40 days" in caplog.text
    daemon.purge()
    assert daemon.purge_due   # (the purge waits too)
    for _ in range(9):
        clocks.run(60)
        daemon.one_pass()
    assert passes == [START]
    clocks.run(61)
    daemon.one_pass()
    assert passes == [START, START + timedelta(seconds=60 * 12 + 1)] and not daemon.purge_due
    assert "the system clock has held still" in caplog.text


def test_a_clock_that_moves_with_the_monotonic_one_is_trusted_however_long_the_pass(tmp_path, monkeypatch):
    clocks = Clocks()
    daemon, passes = daemon_with(tmp_path, monkeypatch, clocks)
    for seconds in (60, 3600, 250, 1):
        daemon.one_pass()
        clocks.run(seconds)
        clocks.wall += timedelta(seconds=CLOSE)   # NTP's small corrections
    assert len(passes) == 4


CLOSE = runner.CLOCK_JUMP_SECONDS - 10


def test_after_a_jump_the_schedule_starts_again_from_now(tmp_path, monkeypatch):
    """The schedule counts by the system clock: a jump of 40 days ahead set the next poll 40 days on, and once
    the clock was set right no polling pass ran for 40 days. A jump now begins the schedule anew."""
    clocks = Clocks()
    daemon, passes = daemon_with(tmp_path, monkeypatch, clocks)
    daemon._schedule_jobs()
    daemon.tick()
    for job in daemon.scheduler.jobs:
        job.next_run = datetime.now() + timedelta(days=40)   # as the jump left it  # noqa: DTZ005 (schedule's)
    clocks.run(1)
    clocks.wall += timedelta(days=40)
    daemon._last_beat = None   # a beat is due
    daemon.tick()
    assert min(job.next_run for job in daemon.scheduler.jobs) < datetime.now() + timedelta(days=1)  # noqa: DTZ005
    assert daemon._last_beat is None   # none while the clock is in doubt: it may be stamped 40 days ahead
