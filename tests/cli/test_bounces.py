"""Bounces: undeliverable whatever the status, queued mail cancelled with a reason, active again on a
new mail; and a new address that does not exist costs one bounce, not three (bounces.py).

The worker runs on Maildirs with a FolderSender and the agenda and access already released, as
when people register late; coordinators see the outcome in `mailflow outbox` and `status`, and
approve with `mailflow approve`. "Time passes" by moving `sent_at` back: the grace is wall-clock time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from mailflow import releases
from mailflow.cli import main
from mailflow.replies import Replies
from mailflow.rules import load_rules
from mailflow.worker import Worker
from tests.support import REPO
from tests.support.mail import make_mail
from tests.support.maildirs import deliver, maildir_worker
from tests.support.rules import rules_data, write_rules

GONE = "gone@city.gov.ge"
DSN = (REPO / "samples/maildir/international/new/1600762446.M6P1.demo").read_bytes()


def bounce_for(address: str, n: int) -> bytes:
    """The sample Postfix bounce (5.1.1 user unknown), reporting `address`."""
    return (DSN.replace(b"m.petrovic@podgorica.me", address.encode())
            .replace(b"<20200922081405.7A3F1C0AB2@mail.cc-events.example>", f"<bounce{n}@mail.example>".encode()))


@pytest.fixture
def project(tmp_path, maildirs):
    """rules.yaml with the agenda and access released (optionally access by approval), and its worker."""
    (tmp_path / "agenda.md").write_text("13:00 Welcome\n")

    def make(require_approval: bool = False) -> Worker:
        events = rules_data()["events"]        # the event a month ahead: registrations are in time
        events[0]["releases"] = {
            "agenda": {"released": True, "text": str(tmp_path / "agenda.md")},
            "access": {"released": True, "link": "https://meet.example/x", "require_approval": require_approval},
        }
        rules = load_rules(write_rules(tmp_path, events=events))
        return maildir_worker(rules, maildirs, rules.database_path)

    return maildirs, make


def interest(address: str, n: int = 0) -> bytes:
    return make_mail(sender=address, message_id=f"<interest{n}.{address}>")


def question(address: str, n: int = 0) -> bytes:
    return make_mail(sender=address, subject="Recording", message_id=f"<question{n}.{address}>",
                     body="Will the presentations be recorded?")


def thanks(address: str) -> bytes:
    """A mail that is answered with nothing (only the releases it brings back go out)."""
    return make_mail(sender=address, subject="Hello", message_id=f"<thanks.{address}>",
                     body="Thank you for the information.")


def kinds(worker: Worker, address: str, state: str | None = None) -> list[str]:
    where, args = ("recipient = ?", [address]) if state is None else ("recipient = ? and state = ?", [address, state])
    return [r["kind"] for r in worker.db["outbox"].rows_where(where, args, order_by="id")]


def status_of(worker: Worker, address: str) -> list[str]:
    return [r["status"] for r in worker.db["registrants"].rows_where("address = ?", [address], order_by="id")]


def time_passes(worker: Worker, minutes: float = 11) -> None:
    """Every mail sent so far was sent `minutes` earlier (the grace is 10 minutes)."""
    rows = list(worker.db["outbox"].rows_where("sent_at is not null"))
    for row in rows:
        earlier = datetime.fromisoformat(row["sent_at"]) - timedelta(minutes=minutes)
        worker.db["outbox"].update(row["id"], {"sent_at": earlier.isoformat(timespec="seconds")})


def test_a_new_address_that_does_not_exist_bounces_once_not_three_times(project):
    maildirs, make = project
    worker = make()
    deliver(maildirs, interest(GONE), "1")
    worker.run_once()
    # The confirmation goes alone: agenda and access wait until it has been out for the grace period.
    assert kinds(worker, GONE) == ["reply:interest"]
    worker.run_once()
    assert kinds(worker, GONE) == ["reply:interest"]
    deliver(maildirs, bounce_for(GONE, 1), "2")
    worker.run_once()
    assert status_of(worker, GONE) == ["bounced"]
    time_passes(worker)
    worker.run_once()
    assert kinds(worker, GONE) == ["reply:interest"]          # one mail sent, so one bounce


def test_agenda_and_access_follow_when_the_confirmation_did_not_bounce(project):
    maildirs, make = project
    worker = make()
    deliver(maildirs, interest(GONE), "1")
    worker.run_once()
    time_passes(worker, 9)                                     # within the grace: still held
    worker.run_once()
    assert kinds(worker, GONE) == ["reply:interest"]
    time_passes(worker, 2)
    worker.run_once()
    assert kinds(worker, GONE, "sent") == ["reply:interest", "release:agenda:v1", "release:access:v1"]
    # Someone known for long is not held: a new release reaches them in the pass it is made.
    (maildirs.parent / "agenda.md").write_text("13:00 Welcome\n13:15 Keynote\n")
    worker.run_once()
    assert kinds(worker, GONE, "sent")[-1] == "release:agenda:v2"


def test_a_bounce_cancels_queued_mail_with_a_reason_and_a_new_mail_makes_them_active_again(project):
    maildirs, make = project
    worker = make()
    deliver(maildirs, interest(GONE), "1")
    worker.run_once()
    time_passes(worker)
    # Agenda and access are queued for them (not sent yet) when the bounce of a later mail arrives.
    replies = Replies(worker.rules.templates_path)
    releases.sync_from_rules(worker.db, worker.rules, datetime.now(UTC))
    for kind in ("agenda", "access"):
        releases.fan_out(worker.db, worker.rules, replies, releases.latest(worker.db, worker.rules.events[0].id, kind))
    assert kinds(worker, GONE, "queued") == ["release:agenda:v1", "release:access:v1"]
    deliver(maildirs, bounce_for(GONE, 1), "2")
    report = worker.run_once()
    assert report.sent == 0
    assert status_of(worker, GONE) == ["bounced"]
    assert kinds(worker, GONE, "cancelled") == ["release:agenda:v1", "release:access:v1"]
    reason = f"not sent: {GONE} bounced (bounce <bounce1@mail.example>)"
    assert {r["error"] for r in worker.db["outbox"].rows_where("state = 'cancelled'")} == {reason}

    rules_arg = ["--rules", str(maildirs.parent / "rules.yaml")]
    listing = CliRunner().invoke(main, [*rules_arg, "outbox"])
    assert f"not sent: {GONE} bounced" in listing.output, listing.output
    status = CliRunner().invoke(main, [*rules_arg, "status"])
    assert f"undeliverable: {GONE}" in status.output and "2 queued mails cancelled" in status.output, status.output

    # They write again from that address: active again, and the releases come again, one at a time
    # (the address has not been proven since the bounce).
    deliver(maildirs, thanks(GONE), "3")
    worker.run_once()
    assert status_of(worker, GONE) == ["registered"]
    assert kinds(worker, GONE, "sent")[-1:] == ["release:agenda:v1"]
    time_passes(worker)
    worker.run_once()
    assert kinds(worker, GONE, "sent")[-2:] == ["release:agenda:v1", "release:access:v1"]
    status = CliRunner().invoke(main, [*rules_arg, "status"])
    assert "undeliverable" not in status.output


def test_pending_and_approved_registrants_are_marked_and_come_back_as_they_were(project):
    maildirs, make = project
    worker = make(require_approval=True)
    pending, approved, cancelled = "pending@city.gov.ge", "approved@city.gov.ge", "cancelled@city.gov.ge"
    for n, address in enumerate((pending, approved, cancelled)):
        deliver(maildirs, interest(address), f"{n}")
    worker.run_once()
    CliRunner().invoke(main, ["--rules", str(maildirs.parent / "rules.yaml"), "approve", approved])
    deliver(maildirs, make_mail(sender=cancelled, subject="Absage", message_id="<cancel@city.gov.ge>",
                                body="Leider muss ich meine Teilnahme absagen."), "3")
    worker.run_once()
    assert [status_of(worker, a) for a in (pending, approved, cancelled)] == [["pending"], ["approved"],
                                                                               ["cancelled"]]
    for n, address in enumerate((pending, approved, cancelled)):
        deliver(maildirs, bounce_for(address, n), f"b{n}")
    worker.run_once()
    assert [status_of(worker, a) for a in (pending, approved, cancelled)] == [["bounced"], ["bounced"],
                                                                               ["cancelled"]]
    for n, address in enumerate((pending, approved)):
        deliver(maildirs, question(address, n), f"q{n}")
    worker.run_once()
    assert [status_of(worker, a) for a in (pending, approved)] == [["pending"], ["approved"]]
