"""registrants, set-audience, set-status, export-person and forget on a database filled by the demo pipeline."""

import base64
import csv
import io
import json
from email.message import EmailMessage

import pytest
import yaml
from click.testing import CliRunner

from mailflow.cli import main
from mailflow.database import open_database
from tests.support.demo import demo_pass, demo_project

WEBER = "thomas.weber@stadt.nuernberg.de"


@pytest.fixture
def project(tmp_path):
    """The shipped samples (copied, so a test can add mails) through the real pipeline."""
    return demo_project(tmp_path)


def cli(project, *args, **kwargs):
    return CliRunner().invoke(main, ["--rules", str(project / "rules.yaml"), *args], **kwargs)


def db_of(project):
    return open_database(project / "out/mailflow-demo.db")


def add_mail(project, mailbox, name, *, sender, subject, body, base64_body=False):
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, f"{mailbox}@cc-events.example", subject
    msg["Date"], msg["Message-ID"] = "Tue, 29 Sep 2020 09:00:00 +0200", f"<{name}@test.example>"
    msg.set_content(body, cte="base64" if base64_body else None)
    (project / "maildir" / mailbox / "new" / f"1601500000.{name}.test").write_bytes(msg.as_bytes())


def database_bytes(project) -> dict[str, bytes]:
    return {p.name: p.read_bytes().lower() for p in (project / "out").glob("mailflow-demo.db*")}


# -- registrants -------------------------------------------------------------------


def test_registrants_show_organisation_country_and_what_was_sent(project):
    table = cli(project, "registrants")
    assert table.exit_code == 0, table.output
    assert "Tbilisi City Hall" in table.output and "Georgia" in table.output and "Asia/Tbilisi" in table.output
    rows = {r["address"]: r for r in json.loads(cli(project, "registrants", "--json").output)}
    # Đorđe Stanković's "my colleague ... may join as well" waits for a coordinator (registrants confirm)
    assert set(rows) == {"sabine.koehler@leipzig.de", "anna.lehmann@dresden.de", "n.beridze@tbilisi.gov.ge",
                         "elira.shehu@tirana.al", WEBER}
    nino = rows["n.beridze@tbilisi.gov.ge"]
    # The organisation her signature names, not her mail domain (issue 15).
    assert (nino["organisation"], nino["country"], nino["time_zone"], nino["audience"], nino["status"]) == (
        "Tbilisi City Hall", "Georgia", "Asia/Tbilisi", "international", "registered")
    assert [(m["kind"], m["state"]) for m in nino["sent"]] == [("reply:interest", "sent")]
    assert nino["sent"][0]["sent_at"]
    assert rows["elira.shehu@tirana.al"]["country"] == "Albania"
    assert rows[WEBER]["country"] == "Germany"


def test_registrants_include_mail_sent_to_the_address_without_a_registration_link(project):
    # A later question gets a reply that is not linked to the registration, only addressed to her.
    data = yaml.safe_load((project / "rules.yaml").read_text())
    data["reply_interval_days"] = 0
    (project / "rules.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    add_mail(project, "international", "q1", sender="Nino Beridze <n.beridze@tbilisi.gov.ge>",
             subject="A question about the agenda", body="Dear colleagues,\n\nI have a question: could you tell "
             "me whether the slides will be shared?\n\nNino Beridze\nTbilisi City Hall, Georgia")
    demo_pass(project)
    listed = json.loads(cli(project, "registrants", "--audience", "international", "--json").output)
    (nino,) = [r for r in listed if r["address"] == "n.beridze@tbilisi.gov.ge"]
    assert [m["kind"] for m in nino["sent"]] == ["reply:interest", "reply:question"]
    assert all(m["state"] == "sent" and m["sent_at"] for m in nino["sent"])


def test_registrants_filters_and_csv(project):
    german = json.loads(cli(project, "registrants", "--audience", "german", "--json").output)
    assert {r["address"] for r in german} == {"sabine.koehler@leipzig.de", "anna.lehmann@dresden.de", WEBER}
    assert cli(project, "registrants", "--status", "cancelled").output.strip() == "no registrants match"
    listed = list(csv.DictReader(io.StringIO(cli(project, "registrants", "--csv",
                                                 "--event", "digitalisation-see-2020").output)))
    assert len(listed) == 5
    assert listed[0]["sent"].startswith("reply:interest 20") and "registered_by" in listed[0]
    event = cli(project, "registrants", "--event", "digitalisation-2020")
    assert event.exit_code == 2 and "known: digitalisation-see-2020" in event.output
    bad = cli(project, "registrants", "--audience", "germn")
    assert bad.exit_code == 2 and "no audience 'germn'" in bad.output


def test_registrants_csv_opens_in_excel_with_a_bom_and_the_delimiter_asked_for(project):
    plain = cli(project, "registrants", "--csv")
    assert plain.exit_code == 0, plain.output
    raw = plain.stdout_bytes
    assert raw.startswith(b"\xef\xbb\xbf")   # UTF-8's byte order mark, Excel's sign for UTF-8
    assert "ნინო ბერიძე".encode() in raw and "Sabine Köhler".encode() in raw
    assert raw[3:].decode("utf-8").splitlines()[0].startswith("id,event_id,name,organisation,country,time_zone,")
    semicolons = cli(project, "registrants", "--csv", "--delimiter", ";").stdout_bytes
    assert semicolons.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(semicolons.decode("utf-8-sig")), delimiter=";"))
    assert {r["name"] for r in rows} >= {"ნინო ბერიძე", "Sabine Köhler", "Weber, Thomas"}
    assert semicolons.decode("utf-8-sig").splitlines()[0].startswith("id;event_id;name;organisation;")
    weber = next(r for r in rows if r["address"] == WEBER)
    assert (weber["organisation"], weber["country"], weber["time_zone"]) == ("Stadt Nürnberg", "Germany",
                                                                              "Europe/Berlin")
    for wrong in (["--csv", "--delimiter", ";;"], ["--csv", "--delimiter", '"'], ["--delimiter", ";"],
                  ["--csv", "--json"]):
        result = cli(project, "registrants", *wrong)
        assert result.exit_code == 2, (wrong, result.output)


@pytest.mark.parametrize("name", ['=HYPERLINK("http://evil.example/x","Ministry")', "+cmd Jane", "-2+3", "@SUM Jo"])
def test_a_name_a_spreadsheet_would_run_as_a_formula_is_text_in_the_csv(project, name):
    """A sender writes their display name; Excel runs a CSV cell that starts with =, +, - or @ as a formula
    (OWASP "CSV injection"): such a cell is written with a leading apostrophe, Excel's mark for text."""
    added = cli(project, "registrants", "add", "formula@example.org", "--name", name, "--audience", "german")
    assert added.exit_code == 0, added.output
    for delimiter in (",", ";"):
        out = cli(project, "registrants", "--csv", "--delimiter", delimiter).stdout_bytes.decode("utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(out), delimiter=delimiter))
        assert next(r for r in rows if r["address"] == "formula@example.org")["name"] == "'" + name
        assert next(r for r in rows if r["address"] == WEBER)["name"] == "Weber, Thomas"   # the rest as it is

def test_registrants_xlsx_is_a_real_spreadsheet(project, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    # A name that a spreadsheet would take for a formula stays text.
    added = cli(project, "registrants", "add", "formula@example.org", "--name", "=HYPERLINK(\"x\")",
                "--audience", "german")
    assert added.exit_code == 0, added.output
    target = tmp_path / "registrants.xlsx"
    result = cli(project, "registrants", "--xlsx", str(target))
    assert result.exit_code == 0, result.output
    sheet = openpyxl.load_workbook(target).active
    header, *rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert header[:6] == ["id", "event_id", "name", "organisation", "country", "time_zone"]
    by_address = {row[header.index("address")]: dict(zip(header, row, strict=True)) for row in rows}
    nino = by_address["n.beridze@tbilisi.gov.ge"]
    assert (nino["name"], nino["organisation"], nino["country"]) == ("ნინო ბერიძე", "Tbilisi City Hall", "Georgia")
    assert isinstance(nino["id"], int)
    assert by_address["sabine.koehler@leipzig.de"]["name"] == "Sabine Köhler"
    formula = next(c for c in sheet["C"] if c.value == "=HYPERLINK(\"x\")")
    assert formula.data_type == "s"
    nowhere = cli(project, "registrants", "--xlsx", str(tmp_path / "no-such-folder" / "r.xlsx"))
    assert nowhere.exit_code == 1 and isinstance(nowhere.exception, SystemExit), nowhere.exception
    assert f"cannot write {tmp_path / 'no-such-folder' / 'r.xlsx'}: " in nowhere.output
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref
    assert cli(project, "registrants", "--xlsx", str(target), "--csv").exit_code == 2


def test_a_coordinator_settles_an_unsure_registration_on_behalf(project):
    """The Kragujevac sample registers its sender but "my colleague Milica Jovanović ... may join as well"
    without an address: it waits in `questions`; `confirm` registers the sender, `add` the colleague."""
    waiting = json.loads(cli(project, "questions", "--json").output)
    mail = next(q for q in waiting if q["sender"] == "djordje.stankovic@kragujevac.rs")
    confirmed = cli(project, "registrants", "confirm", str(mail["id"]))
    assert confirmed.exit_code == 0, confirmed.output
    assert "registered Đorđe Stanković <djordje.stankovic@kragujevac.rs>" in confirmed.output
    assert mail["id"] not in [q["id"] for q in json.loads(cli(project, "questions", "--json").output)]
    again = cli(project, "registrants", "confirm", str(mail["id"]))
    assert again.exit_code == 1 and "settled already" in again.output

    bad = cli(project, "registrants", "add", "milica.jovanovic@@kragujevac.rs", "--name", "Milica Jovanović",
              "--registered-by", "djordje.stankovic@kragujevac.rs")
    assert bad.exit_code == 1 and "ADDRESS:" in bad.output and "not a valid mail address" in bad.output
    added = cli(project, "registrants", "add", "m.jovanovic@kragujevac.rs", "--name", "Milica Jovanović",
                "--registered-by", "djordje.stankovic@kragujevac.rs")
    assert added.exit_code == 0, added.output
    assert "(international, registered, registered by djordje.stankovic@kragujevac.rs); a confirmation is queued" \
        in added.output
    rows = {r["address"]: r for r in json.loads(cli(project, "registrants", "--json").output)}
    milica = rows["m.jovanovic@kragujevac.rs"]
    assert milica["registered_by"] == "djordje.stankovic@kragujevac.rs"
    assert [m["kind"] for m in milica["sent"]] == [f"confirmation:{milica['id']}"]
    assert "Milica Jovanović" in cli(project, "registrants").output
    twice = cli(project, "registrants", "add", "m.jovanovic@kragujevac.rs", "--name", "Milica Jovanović")
    assert twice.exit_code == 1 and "registered for digitalisation-see-2020 already" in twice.output


# -- corrections -------------------------------------------------------------------


def test_set_audience_records_who_and_when(project):
    result = cli(project, "set-audience", WEBER.upper(), "international", env={"MAILFLOW_USER": "fatina"})
    assert result.exit_code == 0, result.output
    assert "audience german -> international" in result.output and "fatina" in result.output
    db = db_of(project)
    (row,) = db["registrants"].rows_where("address = ?", [WEBER])
    assert row["audience"] == "international"
    (correction,) = db["corrections"].rows
    assert (correction["registrant_id"], correction["field"], correction["old"], correction["new"],
            correction["by"]) == (row["id"], "audience", "german", "international", "fatina")
    assert correction["at"]
    again = cli(project, "set-audience", WEBER, "international")
    assert "already international; nothing changed" in again.output
    assert db["corrections"].count == 1
    listed = json.loads(cli(project, "registrants", "--audience", "international", "--json").output)
    assert WEBER in {r["address"] for r in listed}


def test_set_name_corrects_the_name_every_later_mail_uses_and_records_it(project):
    """"My name is misspelt" had nothing a coordinator could run: every later mail greeted the wrong name."""
    result = cli(project, "set-name", WEBER, "  Jonas   Weber-Schmidt ", env={"MAILFLOW_USER": "fatina"})
    assert result.exit_code == 0, result.output
    db = db_of(project)
    (row,) = db["registrants"].rows_where("address = ?", [WEBER])
    assert row["name"] == "Jonas Weber-Schmidt"
    (correction,) = db["corrections"].rows
    assert (correction["field"], correction["new"], correction["by"]) == ("name", "Jonas Weber-Schmidt", "fatina")
    assert "-> Jonas Weber-Schmidt, recorded as corrected by fatina" in result.output
    for bad in ("", "   ", "Jonas\x07Weber", "x" * 201):
        refused = cli(project, "set-name", WEBER, bad)
        assert refused.exit_code == 1 and ("the name is empty" in refused.output or "that is no name"
                                           in refused.output), (bad, refused.output)
    assert db_of(project)["corrections"].count == 1


def test_set_status_and_its_mistakes(project):
    done = cli(project, "set-status", "elira.shehu@tirana.al", "approved", env={"MAILFLOW_USER": "irakli"})
    assert done.exit_code == 0, done.output
    (row,) = db_of(project)["registrants"].rows_where("address = 'elira.shehu@tirana.al'")
    assert row["status"] == "approved"
    assert json.loads(cli(project, "registrants", "--status", "approved", "--json").output)[0]["address"] == \
        "elira.shehu@tirana.al"
    typo = cli(project, "set-status", "n.berdze@tbilisi.gov.ge", "cancelled")
    assert typo.exit_code == 1
    assert "no registrant with the address 'n.berdze@tbilisi.gov.ge'" in typo.output
    assert "did you mean 'n.beridze@tbilisi.gov.ge'" in typo.output
    assert cli(project, "set-status", "elira.shehu@tirana.al", "gone").exit_code == 2
    audience = cli(project, "set-audience", WEBER, "germn")
    assert audience.exit_code == 1 and "did you mean 'german'" in audience.output
    event = cli(project, "set-status", WEBER, "cancelled", "--event", "other-event")
    assert event.exit_code == 1 and "not registered for event 'other-event'" in event.output
    assert db_of(project)["corrections"].count == 1


# -- export and forget -------------------------------------------------------------


def test_export_person_shows_everything_without_raw_unless_asked(project):
    cli(project, "set-status", WEBER, "approved")
    data = json.loads(cli(project, "export-person", WEBER, "--json").output)
    assert data["address"] == WEBER
    (registrant,) = data["registrants"]
    assert registrant["name"] == "Weber, Thomas" and registrant["country"] == "Germany"
    (message,) = data["messages"]
    assert message["relation"] == "from them" and message["intent"] == "interest"
    assert message["subject"] == "Participation in the online event on 7 October 2020"
    assert any("as a german expert" in reason for reason in message["reasons"])
    assert "raw" not in message and message["raw_size"] > 0
    assert {o["kind"] for o in data["outbox"]} == {"reply:interest", "notice:misdirected"}
    assert [(c["field"], c["old"], c["new"]) for c in data["corrections"]] == [("status", "registered", "approved")]
    raw = json.loads(cli(project, "export-person", WEBER, "--include-raw").output)
    assert WEBER in raw["messages"][0]["raw"]
    text = cli(project, "export-person", WEBER)
    assert "registrant" in text.output and "reply:interest" in text.output
    unknown = cli(project, "export-person", "thomas.webber@stadt.nuernberg.de")
    assert unknown.exit_code == 1 and f"did you mean '{WEBER}'" in unknown.output


def test_forget_erases_the_person_from_the_database_files(project):
    cli(project, "set-audience", WEBER, "international")
    assert any(WEBER.encode() in data for data in database_bytes(project).values())
    db = db_of(project)
    others_before = db["registrants"].count - 1
    messages_before = db["messages"].count
    db.close()
    result = cli(project, "forget", WEBER.title(), "--yes")
    assert result.exit_code == 0, result.output
    assert "deleted 1 corrections, 1 messages, 2 outbox, 1 registrants" in result.output
    assert "mailbox international UID 5" in result.output  # the server copy is the coordinator's to delete
    assert "verified" in result.output
    files = database_bytes(project)
    assert "mailflow-demo.db" in files
    for name, data in files.items():
        assert WEBER.encode() not in data, name
        assert b"weber, thomas" not in data, name
    db = db_of(project)
    assert db["registrants"].count == others_before == 4
    assert db["messages"].count == messages_before - 1
    assert not list(db["outbox"].rows_where("lower(recipient) = ?", [WEBER]))
    assert db["corrections"].count == 0
    assert "Dr. Anna Lehmann" in cli(project, "registrants").output
    assert cli(project, "export-person", WEBER).exit_code == 1
    again = cli(project, "forget", WEBER, "--yes")
    assert again.exit_code == 1 and "nothing is stored about" in again.output


def test_forget_asks_first_and_refuses_our_own_mailboxes(project):
    aborted = cli(project, "forget", WEBER, input="n\n")
    assert aborted.exit_code == 1 and "registrants: 1 rows" in aborted.output
    assert db_of(project)["registrants"].count == 5   # the Kragujevac mail waits for a coordinator
    own = cli(project, "forget", "german@cc-events.example", "--yes")
    assert own.exit_code == 1 and "own mailboxes" in own.output
    assert db_of(project)["outbox"].count == 8


def test_forget_deletes_other_peoples_mails_that_mention_the_address(project):
    # The bounce names a recipient who never wrote to us.
    result = cli(project, "forget", "m.petrovic@podgorica.me", "--yes")
    assert result.exit_code == 0, result.output
    assert "0 from them, 1 from others that mention them" in result.output
    db = db_of(project)
    assert not list(db["messages"].rows_where("intent = 'bounce'"))
    assert db["messages"].count == 10 and db["registrants"].count == 5


def test_forget_finds_the_address_inside_an_encoded_mail_and_keeps_its_sender(project):
    body = ("Dear Mr. Samkharadze,\n\nI would like to participate in the online event. My colleague "
            "Giorgi Kapanadze (giorgi.k@tbilisi.gov.ge) would like to register as well.\n\nLevan\nRustavi, Georgia")
    add_mail(project, "international", "levan", sender="Levan Beridze <levan@rustavi.gov.ge>",
             subject="Participation", body=body, base64_body=True)
    demo_pass(project)
    db = db_of(project)
    (levan,) = db["registrants"].rows_where("address = 'levan@rustavi.gov.ge'")
    encoded = base64.b64encode(body.encode())[:40].lower()
    assert any(encoded in data for data in database_bytes(project).values())
    db.close()
    result = cli(project, "forget", "giorgi.k@tbilisi.gov.ge", "--yes")
    assert result.exit_code == 0, result.output
    assert "1 from others that mention them" in result.output
    assert "1 other registrations lost the link to a deleted mail" in result.output
    db = db_of(project)
    assert db["registrants"].get(levan["id"])["first_message"] is None
    assert not list(db["outbox"].rows_where("recipient = 'levan@rustavi.gov.ge'"))
    assert all(encoded not in data for data in database_bytes(project).values())


def test_a_quarantined_mail_counts_as_theirs(tmp_path):
    demo_project(tmp_path, ahead=False, limits={"max_message_bytes": 3000})
    exported = json.loads(cli(tmp_path, "export-person", "elira.shehu@tirana.al", "--json").output)
    assert exported["registrants"] == []
    (message,) = exported["messages"]
    assert (message["state"], message["relation"]) == ("quarantined", "from them")
    assert message["subject"] == "Interest in the online event – 7 October 2020"  # decoded from the raw header
    result = cli(tmp_path, "forget", "elira.shehu@tirana.al", "--yes")
    assert result.exit_code == 0, result.output
    assert "1 from them, 0 from others" in result.output
    assert all(b"elira.shehu@tirana.al" not in data for data in database_bytes(tmp_path).values())


# -- approve -----------------------------------------------------------------------


def test_approval_switched_on_late_approves_the_registered_too_and_logs_who(project):
    rules = yaml.safe_load((project / "rules.yaml").read_text())
    assert cli(project, "approve", WEBER).exit_code == 1     # approval not required: only `pending` waits
    rules["events"][0].setdefault("releases", {}).setdefault("access", {})["require_approval"] = True
    (project / "rules.yaml").write_text(yaml.safe_dump(rules, allow_unicode=True))
    registered = [r["address"]
                  for r in db_of(project).query("select address from registrants where status = 'registered'")]
    assert WEBER in registered

    done = cli(project, "approve", "--all-pending", env={"MAILFLOW_USER": "sabine"})
    assert done.exit_code == 0, done.output
    assert done.output.startswith(f"approved {len(registered)}: ")
    db = db_of(project)
    assert {r["status"] for r in db.query("select status from registrants where address in "
                                          f"({','.join('?' * len(registered))})", registered)} == {"approved"}
    log = list(db.query("select field, old, new, by from corrections"))
    assert log == [{"field": "status", "old": "registered", "new": "approved", "by": "sabine"}] * len(registered)

    again = cli(project, "approve", WEBER)
    assert again.exit_code == 1 and "not waiting for approval" in again.output
