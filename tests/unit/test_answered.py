"""Knowing before answering: the answer_mail_since key, its defaults, mailflow's mark on what it sends,
reading its own mail in a Sent folder, and archiving on Maildirs with a pinned clock."""

from __future__ import annotations

import email
import email.policy
import sqlite3
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlite_utils
import yaml
from sqlite_utils.migrations import Migrations

from mailflow import answered
from mailflow.clock import stopped_at
from mailflow.database import migrations, open_database
from mailflow.outbox import compose
from mailflow.rules import parse_rules
from mailflow.status import status
from tests.support import REPO
from tests.support.mail import make_mail
from tests.support.maildirs import deliver, maildir_worker
from tests.support.rules import line_of, problems, rules_data

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2020, 9, 30, 10, 0, tzinfo=UTC)


def rules_text(data: dict) -> str:
    return yaml.safe_dump({**data, "templates": str(REPO / "templates")}, allow_unicode=True, sort_keys=False)


def rules_of(**overrides):
    return parse_rules(rules_text(rules_data(ahead=False, **overrides)), REPO / "rules.yaml")


# -- the key ----------------------------------------------------------------------------------

def test_a_date_alone_means_midnight_in_the_first_events_zone():
    rules = rules_of(answer_mail_since=date(2020, 9, 1))
    assert rules.answer_mail_since_at("international") == (datetime(2020, 9, 1, tzinfo=BERLIN), "answer_mail_since")


def test_a_date_and_time_is_in_the_first_events_zone_and_a_mailbox_overrides_the_top_level():
    data = rules_data(ahead=False, answer_mail_since="2020-09-01T08:30")
    data["mailboxes"]["german"]["answer_mail_since"] = "2020-09-20"
    rules = parse_rules(rules_text(data), REPO / "rules.yaml")
    assert rules.answer_mail_since_at("international") == (datetime(2020, 9, 1, 8, 30, tzinfo=BERLIN),
                                                           "answer_mail_since")
    assert rules.answer_mail_since_at("german") == (datetime(2020, 9, 20, tzinfo=BERLIN),
                                                    "mailboxes.german.answer_mail_since")
    assert rules_of().answer_mail_since_at("german") is None


def test_a_value_that_is_not_a_date_names_file_line_and_fix():
    text = rules_text(rules_data(ahead=False, answer_mail_since="last week"))
    assert problems(text) == [(
        f"rules.yaml:{line_of(text, 'answer_mail_since')}: answer_mail_since: not a date; write a date like "
        "2024-09-01 or a date and time like 2024-09-01T08:00 (local time) (got 'last week')")]


@pytest.mark.parametrize("where", ["top", "mailbox"])
def test_a_misspelt_key_names_file_line_and_the_right_name(where):
    data = rules_data(ahead=False)
    if where == "top":
        data["answer_mails_since"] = "2020-09-01"
    else:
        data["mailboxes"]["german"]["answer_mail_snice"] = "2020-09-01"
    text = rules_text(data)
    (problem,) = problems(text)
    key, place = ("answer_mails_since", "the top level") if where == "top" else \
        ("answer_mail_snice", "mailboxes.german")
    assert problem == (f"rules.yaml:{line_of(text, key)}: unknown key {key!r} in {place} "
                       "(did you mean 'answer_mail_since'?)")


def test_the_default_is_the_events_registration_opening_else_a_week_before_the_first_open():
    opened = datetime(2020, 9, 20, 12, 0, tzinfo=UTC)
    plain = rules_of()
    assert answered.answer_since(plain, "german", plain.events[0], opened) == (
        opened - timedelta(days=7), "7 days before mailflow first opened mailbox german")
    assert answered.answer_since(plain, "german", plain.events[0], None) == (None, "")
    events = rules_data(ahead=False)["events"]
    events[0]["registration"] = {"opens": date(2020, 9, 15)}
    with_opening = rules_of(events=events)
    assert answered.answer_since(with_opening, "german", with_opening.events[0], opened) == (
        datetime(2020, 9, 15, tzinfo=BERLIN), "the registration opening of digitalisation-see-2020")
    explicit = rules_of(events=events, answer_mail_since=date(2020, 9, 1))
    assert answered.answer_since(explicit, "german", explicit.events[0], opened) == (
        datetime(2020, 9, 1, tzinfo=BERLIN), "answer_mail_since in rules.yaml")


# -- mailflow's mark and its Sent copies ----------------------------------------------------------

def test_everything_mailflow_sends_says_what_it_is_and_the_mark_cannot_carry_a_header():
    raw = compose(from_name="A", from_address="a@cc-events.example", to_name="B", to_address="b@x.example",
                  subject="s", text="t", message_id="<r@cc-events.example>", role="reply\r\nBcc: c@evil.example",
                  in_reply_to="<m@x.example>", date=NOW)
    mail = email.message_from_bytes(raw, policy=email.policy.default)
    assert mail["X-Mailflow"] == "reply Bcc: c@evil.example" and mail["Bcc"] is None
    sent = answered.read_sent(7, raw.split(b"\r\n\r\n", 1)[0])
    assert (sent.uid, sent.message_id, sent.role, sent.answers) == \
        (7, "<r@cc-events.example>", "reply", "<m@x.example>")
    assert (sent.refers, sent.sender) == (("<m@x.example>",), "A <a@cc-events.example>")


def test_a_sent_copy_is_read_from_its_header_fields_alone():
    header = (b"Message-ID: <r1@cc-events.example>\r\nX-Mailflow: Release\r\n"
              b"References: <a@x.example>\r\n <b@x.example>\r\n\r\n")
    assert answered.read_sent(1, header) == answered.SentMail(1, "<r1@cc-events.example>", "release", "<b@x.example>",
                                                              ("<a@x.example>", "<b@x.example>"))
    assert answered.read_sent(2, b"Subject: none of the fields\r\n\r\n") == answered.SentMail(2, None, "", None)


# -- archiving on Maildirs, the clock pinned ----------------------------------------------------------

def test_without_answer_mail_since_mail_older_than_a_week_before_the_first_open_is_archived(tmp_path, maildirs):
    deliver(maildirs, make_mail(sender="old@tbilisi.gov.ge", message_id="<old@x>"), arrived=NOW - timedelta(days=8))
    deliver(maildirs, make_mail(sender="new@tbilisi.gov.ge", message_id="<new@x>"), arrived=NOW - timedelta(days=6))
    worker = maildir_worker(rules_of(), maildirs, tmp_path / "t.db", clock=stopped_at(NOW))
    report = worker.run_once()
    assert (report.recorded, report.processed, report.archived, report.sent) == (2, 1, 1, 1)
    rows = {r["message_id"]: r for r in worker.db["messages"].rows}
    assert (rows["<old@x>"]["state"], rows["<old@x>"]["answer"], rows["<old@x>"]["registrant_id"]) == (
        "archived", 0, None)
    assert rows["<old@x>"]["intent"] == "interest"            # classified all the same
    assert "7 days before mailflow first opened mailbox international" in rows["<old@x>"]["reasons"]
    assert [r["address"] for r in worker.db["registrants"].rows] == ["new@tbilisi.gov.ge"]
    boxes = {b["mailbox"]: b for b in status(worker.db, worker.rules.mailboxes)["mailboxes"]}
    assert boxes["international"]["archived"] == 1
    assert boxes["international"]["first_opened"] == "2020-09-30T10:00:00+00:00"
    assert "1 mails archived" in boxes["international"]["found"]

    # A later pass on a later day keeps the first open: a mail that arrived since is answered.
    deliver(maildirs, make_mail(sender="later@tbilisi.gov.ge", message_id="<later@x>"), arrived=NOW)
    worker.clock = stopped_at(NOW + timedelta(days=30))
    # a mailbox rules.yaml no longer names could not answer its archived mail: it stays archived
    assert answered.archive_answer(worker.db, ["german"]) == 0
    assert (worker.run_once().processed, answered.archive_answer(worker.db, worker.rules.mailboxes)) == (1, 1)
    report = worker.run_once()
    assert (report.processed, report.archived, report.sent) == (1, 0, 1)
    assert worker.db["registrants"].count == 3


def test_the_registration_opening_is_the_default_when_the_event_has_one(tmp_path, maildirs):
    events = rules_data(ahead=False)["events"]
    events[0]["registration"] = {"opens": date(2020, 9, 29)}   # later than a week before the first open
    deliver(maildirs, make_mail(sender="early@tbilisi.gov.ge"), arrived=NOW - timedelta(days=3))
    worker = maildir_worker(rules_of(events=events), maildirs, tmp_path / "t.db", clock=stopped_at(NOW))
    assert (worker.run_once().archived, worker.db["registrants"].count) == (1, 0)


def test_an_upgraded_database_counts_its_mailboxes_as_opened_when_their_first_mail_came(tmp_path):
    before = Migrations("mailflow")
    for step in migrations.pending(sqlite_utils.Database(memory=True)):
        if step.name < "0015":
            before(name=step.name)(step.fn)
    old = sqlite_utils.Database(sqlite3.connect(str(tmp_path / "old.db"), isolation_level=None))
    before.apply(old)
    old["messages"].insert({"mailbox": "german", "key": "<k@x>", "state": "recorded",
                            "recorded_at": "2020-09-14T08:00:00+00:00"})
    old["sync_state"].insert({"mailbox": "german", "folder": "INBOX", "last_sync": "2020-09-20T08:00:00+00:00"})
    old.conn.close()
    db = open_database(tmp_path / "old.db")
    assert answered.first_opened(db, "german") == datetime(2020, 9, 14, 8, 0, tzinfo=UTC)
    assert answered.first_opened(db, "international") is None


class SentWith:
    """A Sent folder holding these mails (their headers, as answered.read_sent reads them)."""

    def __init__(self, *raws: bytes):
        self.raws = raws

    def mailflow_mail(self, uidvalidity, after_uid):
        return 7, [(uid, raw.split(b"\r\n\r\n", 1)[0] + b"\r\n") for uid, raw in enumerate(self.raws, 1)
                   if uid > after_uid]


def test_a_release_found_in_sent_is_recorded_and_one_queued_again_is_settled(tmp_path):
    """A restored database lacks the rows of agenda v2 sent after its backup: found in Sent, they are recorded as
    sent to their registrants, and one a pass or `mailflow release` queued again meanwhile is settled, not sent."""
    from mailflow import outbox, registrants

    db = open_database(tmp_path / "m.db", clock=stopped_at(datetime(2020, 9, 25, tzinfo=UTC)))
    ids = [registrants.register(db, "see-2020", f"p{i}@tbilisi.gov.ge", "", "international", None)["id"]
           for i in range(2)]
    sent = [compose(from_name="Irakli", from_address="international@cc-events.example", to_name="",
                    to_address=f"p{i}@tbilisi.gov.ge", subject="Updated agenda", text="t\n",
                    message_id=f"<v2-{i}@cc-events.example>", role=outbox.release_role("see-2020", "release:agenda:v2"),
                    date=datetime(2020, 9, 24, tzinfo=UTC)) for i in range(2)]
    outbox.enqueue(db, raw=b"x", message_id="<again@cc-events.example>", kind="release:agenda:v2",
                   mailbox="international", recipient="p1@tbilisi.gov.ge", subject="Updated agenda",
                   registrant_id=ids[1])
    found = answered.read_sent_folder(db, "international", SentWith(*sent))
    assert (found.sent_unknown, found.releases) == (2, 2)
    rows = {r["registrant_id"]: (r["kind"], r["state"]) for r in db["outbox"].rows}
    assert rows == {ids[0]: ("release:agenda:v2", "sent"), ids[1]: ("release:agenda:v2", "sent")}


def test_an_invitation_found_in_sent_is_made_and_one_queued_again_is_settled(tmp_path):
    """A restored database lacks the invitations sent after its backup: found in Sent they are recorded as made
    (by the address as a list writes it, "städte-netz.de"; a name with a comma encoded in the header kept it
    from being read at all), and one that `invite --send` queued again while the folder could not be read is
    settled, not sent a second time."""
    from mailflow import invites, outbox

    db = open_database(tmp_path / "m.db", clock=stopped_at(datetime(2020, 9, 25, tzinfo=UTC)))
    people = [("Weber, Mäx", "max@städte-netz.de"), ("", "nino@tbilisi.gov.ge")]
    sent = [compose(from_name="Irakli", from_address="international@cc-events.example", to_name=name,
                    to_address=address, subject="Invitation", text="t\n", message_id=f"<inv-{i}@cc-events.example>",
                    role=outbox.invitation_role("open-data"), date=datetime(2020, 9, 24, tzinfo=UTC))
            for i, (name, address) in enumerate(people)]
    outbox.enqueue(db, raw=b"x", message_id="<again@cc-events.example>", kind="invitation:open-data",
                   mailbox="international", recipient="nino@tbilisi.gov.ge", subject="Invitation")
    db.execute("insert into invites (event_id, address, name, invited_at, by) values "
               "('open-data', 'nino@tbilisi.gov.ge', '', '2020-09-25', 'cli')")
    found = answered.read_sent_folder(db, "international", SentWith(*sent))
    assert found.invitations == 2
    assert {r["message_id"]: r["state"] for r in db["outbox"].rows} == {
        "<inv-0@cc-events.example>": "sent", "<again@cc-events.example>": "sent"}
    event = parse_rules(rules_text(rules_data()), REPO / "rules.yaml").events[0].model_copy(update={"id": "open-data"})
    for _, address in people:
        assert (invites._reason_to_skip(db, event, address, None) or "").startswith("invited already"), address
