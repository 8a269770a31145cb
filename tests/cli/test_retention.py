"""Retention: raw mails are purged N days after their event's end; everything else is kept."""

import json
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner

from mailflow import history, retention
from mailflow.cli import main
from mailflow.database import open_database
from mailflow.errors import RulesError
from mailflow.message import content_hash
from mailflow.rules import load_rules, parse_rules
from tests.support import REPO
from tests.support.demo import demo_pass, demo_project, write_demo_rules
from tests.support.rules import rules_data

SEE = "digitalisation-see-2020"          # the shipped event: 7 October 2020, 13:00-15:30 Berlin
CAUCASUS = "smart-cities-caucasus-2021"  # a second event of the series, 10 March 2021
SECOND_EVENT = {
    "id": CAUCASUS, "title": "Smart Cities in the Caucasus", "start": "2021-03-10T10:00",
    "end": "2021-03-10T12:00", "timezone": "Europe/Berlin", "keywords": ["smart cities"],
}
NINO_BODY = b"Digital Services Division of Tbilisi City Hall"  # only in Nino's raw mail
WEBER = "thomas.weber@stadt.nuernberg.de"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def add_mail(project: Path, mailbox: str, name: str, *, sender: str, subject: str, body: str) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, f"{mailbox}@cc-events.example", subject
    msg["Date"], msg["Message-ID"] = "Mon, 11 Jan 2021 09:00:00 +0100", f"<{name}@test.example>"
    msg.set_content(body)
    (project / "maildir" / mailbox / "new" / f"1610352000.{name}.test").write_bytes(msg.as_bytes())


def make_project(project: Path, **settings) -> Path:
    """The demo project about the 2020 event as shipped (retention is about dates)."""
    return demo_project(project, ahead=False, **settings)


@pytest.fixture
def series(tmp_path):
    """The samples (about the 2020 event) plus one registration for a second event in 2021."""
    make_project(tmp_path, events=[*rules_data(ahead=False)["events"], SECOND_EVENT], keep_raw_mail_days_after_event=14)
    add_mail(tmp_path, "international", "levan", sender="Levan Beridze <levan@rustavi.gov.ge>",
             subject="Smart Cities in the Caucasus", body="Dear Mr. Samkharadze,\n\nI would like to participate "
             "in the smart cities workshop in March.\n\nLevan Beridze\nRustavi City Hall, Georgia")
    demo_pass(tmp_path)
    return tmp_path


def cli(project: Path, *args):
    return CliRunner().invoke(main, ["--rules", str(project / "rules.yaml"), *args])


def db_of(project: Path):
    return open_database(project / "out/mailflow-demo.db")


def raw_by_event(db) -> dict[str, tuple[int, int]]:
    """event -> (mails with raw, mails without)."""
    return {row[0]: (row[1], row[2]) for row in db.execute(
        "select event_id, sum(raw is not null), sum(raw is null) from messages group by event_id")}


def snapshot(db) -> list[tuple]:
    return db.execute("select * from messages order by id").fetchall()


# -- the setting ---------------------------------------------------------------


def test_the_setting_is_optional_and_a_whole_number_of_days():
    shipped = load_rules(REPO / "rules.yaml")
    assert shipped.keep_raw_mail_days_after_event is None  # keep forever unless the coordinators say otherwise
    text = (REPO / "rules.yaml").read_text()
    assert parse_rules(text.replace("keep_raw_mail_days_after_event: null", "keep_raw_mail_days_after_event: 90"),
                       REPO / "rules.yaml").keep_raw_mail_days_after_event == 90
    with pytest.raises(RulesError) as bad:
        parse_rules(text.replace("keep_raw_mail_days_after_event: null", "keep_raw_mail_days_after_event: -1"),
                    REPO / "rules.yaml")
    (problem,) = bad.value.problems
    assert problem.line == text.splitlines().index("keep_raw_mail_days_after_event: null") + 1
    assert problem.message == "keep_raw_mail_days_after_event: must be 0 or more (got -1)"
    assert problem.hint == "write a bigger number"


# -- purging ---------------------------------------------------------------------


def test_raw_mail_of_an_event_that_is_over_is_purged_and_the_rest_kept(series):
    db = db_of(series)
    before = raw_by_event(db)
    assert before == {SEE: (11, 0), CAUCASUS: (1, 0)}
    hashes = {m["id"]: content_hash(m["raw"]) for m in db.query("select id, raw from messages")}
    rules = load_rules(series / "rules.yaml")
    # 2020 event: ended 7 Oct 15:30, kept until 21 Oct 15:30 Berlin time (13:30 UTC).
    assert retention.purge_raw_mail(db, rules, at("2020-10-21T13:29")) == 0
    assert raw_by_event(db) == before
    assert retention.purge_raw_mail(db, rules, at("2020-11-01T00:00")) == 11
    assert raw_by_event(db) == {SEE: (0, 11), CAUCASUS: (1, 0)}
    purged = list(db.query("select * from messages where event_id = ?", [SEE]))
    assert all(m["raw_purged_at"] and m["raw"] is None for m in purged)
    # Everything but the bytes stays, and what tells the mail from another with its Message-ID.
    assert all(m["content_hash"] == hashes[m["id"]] for m in purged)
    assert all(m["state"] == "processed" and m["sender"] and m["subject"] and m["intent"] and m["reasons"]
               for m in purged)
    assert db["registrants"].count == 6 and db["outbox"].count == 9   # the Kragujevac mail waits for a coordinator
    assert retention.purge_raw_mail(db, rules, at("2020-11-02T00:00")) == 0  # nothing left to do
    assert retention.purge_raw_mail(db, rules, at("2021-03-24T11:01")) == 1  # 10 March 12:00 CET + 14 days
    assert raw_by_event(db) == {SEE: (0, 11), CAUCASUS: (0, 1)}


def test_nothing_is_purged_without_the_setting(tmp_path):
    project = make_project(tmp_path)
    db = db_of(project)
    rules = load_rules(project / "rules.yaml")
    assert rules.keep_raw_mail_days_after_event is None
    assert retention.purge_raw_mail(db, rules, at("2099-01-01T00:00")) == 0
    assert raw_by_event(db) == {SEE: (11, 0)}
    assert db.execute("select count(*) from messages where raw_purged_at is not null").fetchone() == (0,)
    result = cli(project, "purge")
    assert result.exit_code == 0, result.output
    assert "does not set keep_raw_mail_days_after_event: raw mails are kept forever" in result.output
    assert "11 raw mails kept" in result.output


def test_zero_days_purges_right_after_the_end(tmp_path):
    project = make_project(tmp_path, keep_raw_mail_days_after_event=0)
    db, rules = db_of(project), load_rules(project / "rules.yaml")
    assert retention.purge_raw_mail(db, rules, at("2020-10-07T13:30")) == 0   # 15:30 Berlin: not after the end yet
    assert retention.purge_raw_mail(db, rules, at("2020-10-07T13:31")) == 11


def test_dry_run_changes_nothing(series):
    db = db_of(series)
    before = snapshot(db)
    rules = load_rules(series / "rules.yaml")
    entries = retention.purge(db, rules, at("2020-11-01T00:00"), dry_run=True)
    assert retention.purged_count(entries) == 11
    assert {e.event_id: (e.due, e.count) for e in entries} == {SEE: (True, 11), CAUCASUS: (False, 1)}
    result = cli(series, "purge", "--dry-run")   # today: both events are over
    assert result.exit_code == 0, result.output
    assert f"  {SEE}: ended 2020-10-07 15:30 CEST, kept until 2020-10-21 15:30 CEST; 11 raw mails would be purged" \
        in result.output
    assert f"  {CAUCASUS}: ended 2021-03-10 12:00 CET, kept until 2021-03-24 12:00 CET; 1 raw mail would be purged" \
        in result.output
    assert "would purge 12 raw mails; nothing was changed (dry run)" in result.output
    db = db_of(series)
    assert snapshot(db) == before   # raw_purged_at included


def test_purge_command_reports_per_event(series):
    result = cli(series, "purge")
    assert result.exit_code == 0, result.output
    assert "raw mails are kept 14 days after their event's end" in result.output
    assert f"{SEE}: ended 2020-10-07 15:30 CEST, kept until 2020-10-21 15:30 CEST; 11 raw mails purged" in result.output
    assert "purged 12 raw mails; sender, classification, reasons and registrants are kept" in result.output
    assert raw_by_event(db_of(series)) == {SEE: (0, 11), CAUCASUS: (0, 1)}
    again = cli(series, "purge")
    assert f"{SEE}: ended 2020-10-07 15:30 CEST, kept until 2020-10-21 15:30 CEST; 0 raw mails purged; " \
           "11 purged earlier" in again.output
    assert "purged 0 raw mails" in again.output


def test_a_purged_message_is_still_explained_with_its_reasons(series):
    db = db_of(series)
    (number,) = db.execute("select id from messages where sender = ?", [WEBER]).fetchone()
    before = history.explain(db, str(number))
    retention.purge_raw_mail(db, load_rules(series / "rules.yaml"), at("2020-11-01T00:00"))
    assert history.explain(db, str(number)) == before
    shown = cli(series, "explain", str(number))
    assert shown.exit_code == 0, shown.output
    assert "audience: german (high confidence), intent: interest, answered: yes" in shown.output
    assert "text says 'as a german expert'" in shown.output
    assert "notice:misdirected to german@cc-events.example" in shown.output
    assert WEBER in cli(series, "registrants").output
    exported = json.loads(cli(series, "export-person", WEBER, "--json").output)
    assert exported["messages"][0]["reasons"] == before["reasons"]


def test_the_notice_that_forwarded_a_purged_mail_loses_its_copy_too(series):
    db = db_of(series)
    (notice,) = db.execute("select id, state, raw from outbox where kind = 'notice:misdirected'").fetchall()
    assert notice[1] == "sent" and b"original.eml" in notice[2]
    reply_before = db.execute("select raw from outbox where kind like 'reply:%' order by id").fetchall()
    retention.purge_raw_mail(db, load_rules(series / "rules.yaml"), at("2020-11-01T00:00"))
    assert db.execute("select state, raw, subject from outbox where id = ?",
                      [notice[0]]).fetchone()[:2] == ("sent", b"")
    assert db.execute("select raw from outbox where kind like 'reply:%' order by id").fetchall() == reply_before


def test_a_notice_still_queued_keeps_its_copy_until_it_is_sent(series):
    db = db_of(series)
    rules = load_rules(series / "rules.yaml")
    db.execute("update outbox set state = 'queued' where kind = 'notice:misdirected'")
    assert retention.purge_raw_mail(db, rules, at("2020-11-01T00:00")) == 11
    assert b"original.eml" in db.execute("select raw from outbox where kind = 'notice:misdirected'").fetchone()[0]
    db.execute("update outbox set state = 'sent' where kind = 'notice:misdirected'")   # the worker sent it
    assert retention.purge_raw_mail(db, rules, at("2020-11-02T00:00")) == 0             # no mail left to purge...
    assert db.execute("select raw from outbox where kind = 'notice:misdirected'").fetchone()[0] == b""  # ...but this


def test_mail_still_waiting_for_the_worker_keeps_its_raw_bytes(series):
    db = db_of(series)
    (number,) = db.execute("select id from messages where sender = ?", [WEBER]).fetchone()
    db.execute("update messages set state = 'recorded' where id = ?", [number])
    assert retention.purge_raw_mail(db, load_rules(series / "rules.yaml"), at("2020-11-01T00:00")) == 10
    assert db.execute("select raw is not null from messages where id = ?", [number]).fetchone()[0]


def test_mail_of_an_event_no_longer_in_the_rules_is_kept(series):
    write_demo_rules(series, ahead=False, keep_raw_mail_days_after_event=14)  # only the 2020 event again
    db = db_of(series)
    entries = retention.purge(db, load_rules(series / "rules.yaml"), at("2099-01-01T00:00"))
    assert {e.event_id: (e.due, e.count, e.ends_at) for e in entries} == {SEE: (True, 11, entries[0].ends_at),
                                                                           CAUCASUS: (False, 1, None)}
    assert raw_by_event(db) == {SEE: (0, 11), CAUCASUS: (1, 0)}
    assert f"{CAUCASUS} (not in rules.yaml, its end is unknown): 1 raw mail kept" in cli(series, "purge").output


def test_the_purged_bytes_leave_the_database_files(series):
    files = lambda: {p.name: p.read_bytes() for p in (series / "out").glob("mailflow-demo.db*")}  # noqa: E731
    assert any(NINO_BODY in data for data in files().values())
    db = db_of(series)
    db.execute("PRAGMA secure_delete = OFF")   # as in builds without SQLITE_SECURE_DELETE (Debian has it on)
    assert retention.purge_raw_mail(db, load_rules(series / "rules.yaml"), at("2020-11-01T00:00")) == 11
    for name, data in files().items():
        assert NINO_BODY not in data, name
    assert db.execute("PRAGMA secure_delete").fetchone()[0] == 0  # the connection's setting is restored


# -- quarantined mail: never parsed, so it has no event_id -------------------------


def test_quarantined_mail_is_purged_with_its_event(tmp_path):
    project = make_project(tmp_path, keep_raw_mail_days_after_event=30, limits={"max_message_bytes": 3000})
    db = db_of(project)
    quarantined = list(db.query("select id, event_id, error from messages where state = 'quarantined'"))
    assert len(quarantined) == 2 and all(q["event_id"] is None for q in quarantined)  # the two mails over 3000 bytes
    result = cli(project, "purge", "--dry-run")
    assert "11 raw mails (2 quarantined) would be purged" in result.output
    assert retention.purge_raw_mail(db, load_rules(project / "rules.yaml"), at("2020-12-01T00:00")) == 11
    for row in quarantined:
        info = history.explain(db, str(row["id"]))
        assert (info["state"], info["error"]) == ("quarantined", row["error"])


def test_a_quarantined_mail_counts_for_the_event_the_worker_would_have_chosen_by_date(series):
    rules = load_rules(series / "rules.yaml")
    assert retention.event_for_unparsed(rules, "2020-09-20T08:00:00+00:00").id == SEE
    assert retention.event_for_unparsed(rules, "2020-10-07T13:29:00+00:00").id == SEE   # during the event
    assert retention.event_for_unparsed(rules, "2020-12-01T08:00:00+00:00").id == CAUCASUS
    assert retention.event_for_unparsed(rules, "2022-01-01T08:00:00+00:00").id == CAUCASUS  # after the last one
    db = db_of(series)
    (number,) = db.execute("select id from messages where sender = 'elira.shehu@tirana.al'").fetchone()
    db.execute("update messages set state = 'quarantined', event_id = null, arrived_at = ? where id = ?",
               ["2020-12-01T08:00:00+00:00", number])
    assert retention.purge_raw_mail(db, rules, at("2020-11-01T00:00")) == 10   # not with the 2020 mails
    assert retention.purge_raw_mail(db, rules, at("2021-04-01T00:00")) == 2    # with the 2021 event's one
    assert db.execute("select count(*) from messages where raw is not null").fetchone()[0] == 0


# -- known gap outside this module -------------------------------------------------


def test_replay_skips_purged_mails(series):
    db = db_of(series)
    rules = load_rules(series / "rules.yaml")
    retention.purge_raw_mail(db, rules, at("2020-11-01T00:00"))
    seen, changes = history.replay(db, rules)
    assert seen == 1 and changes == []
