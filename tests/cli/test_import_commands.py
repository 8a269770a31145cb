"""`mailflow import registrants` and `mailflow invite` on lists as coordinators keep them: Excel's CSV
(BOM, ';', German headers, Windows-1252), .xlsx workbooks, broken lines; the dry run changes nothing."""

from __future__ import annotations

import json
import shutil

import openpyxl
import pytest
from click.testing import CliRunner

from mailflow import registrants
from mailflow.cli import main
from mailflow.database import open_database
from tests.support import REPO
from tests.support.rules import rules_data, write_rules

EVENT = "digitalisation-see-2020"
NEXT = "open-data-next"


@pytest.fixture
def rules_path(tmp_path):
    return write_rules(tmp_path)


def two_events() -> list[dict]:
    """The shipped 2020 event (over) and a later one of the series, a month ahead."""
    new = {**rules_data()["events"][0], "id": NEXT, "title": "Open Data in Municipalities",
           "keywords": ["open data"]}
    return [rules_data(ahead=False)["events"][0], new]


def cli(rules_path, *args):
    return CliRunner().invoke(main, ["--rules", str(rules_path), *args])


def database(rules_path):
    return open_database(rules_path.parent / "mailflow.db")


def people(rules_path) -> dict[str, dict]:
    return {r["address"]: r for r in json.loads(cli(rules_path, "registrants", "--json").stdout)}


def excel_csv(path, lines: list[str], encoding="utf-8-sig"):
    """As Excel saves "CSV UTF-8" in German settings: a BOM, ';' and CRLF."""
    path.write_bytes("\r\n".join(lines).encode(encoding) + b"\r\n")
    return path


GERMAN_LIST = [
    "Vorname;Nachname;E-Mail-Adresse;Organisation;Land;Telefon",
    "Anna;Lehmann;Anna.Lehmann@Leipzig.de;Stadt Leipzig;Deutschland;0341 123",
    "Giorgi;Beridze;g.beridze@tbilisi.gov.ge;Tbilisi City Hall;Georgien;",
    ";;;;;",
    "Anna;Lehmann;anna.lehmann@leipzig.de;;;",
]


def test_dry_run_shows_and_changes_nothing_then_apply_registers_once(tmp_path, rules_path):
    file = excel_csv(tmp_path / "anmeldungen.csv", GERMAN_LIST)
    dry = cli(rules_path, "import", "registrants", str(file))
    assert dry.exit_code == 0, dry.output + dry.stderr
    assert "anmeldungen.csv line 2: add anna.lehmann@leipzig.de" in dry.stdout
    assert "anmeldungen.csv line 5 names anna.lehmann@leipzig.de again" in dry.stdout
    assert "columns not read: Telefon" in dry.stdout
    assert "Nothing is changed yet" in dry.stdout and "--apply" in dry.stdout
    assert people(rules_path) == {}

    done = cli(rules_path, "import", "registrants", str(file), "--apply")
    assert done.exit_code == 0, done.output + done.stderr
    assert "2 added" in done.stdout
    rows = people(rules_path)
    assert set(rows) == {"anna.lehmann@leipzig.de", "g.beridze@tbilisi.gov.ge"}
    anna = rows["anna.lehmann@leipzig.de"]
    assert (anna["name"], anna["organisation"], anna["country"], anna["audience"], anna["status"]) == (
        "Anna Lehmann", "Stadt Leipzig", "Germany", "german", "registered")   # "Deutschland" read as DE
    assert rows["g.beridze@tbilisi.gov.ge"]["audience"] == "international"   # .ge in rules.yaml's tlds
    # Each gets the confirmation a registration by mail gets, once, from their audience's coordinator.
    queued = database(rules_path).execute("select recipient, kind, mailbox, subject from outbox order by id").fetchall()
    assert [(r, k.split(":")[0], m, s.split(":")[0]) for r, k, m, s in queued] == [
        ("anna.lehmann@leipzig.de", "confirmation", "german", "Ihre Anmeldung"),
        ("g.beridze@tbilisi.gov.ge", "confirmation", "international", "Your registration")]

    again = cli(rules_path, "import", "registrants", str(file), "--apply")
    assert again.exit_code == 0 and "0 added, 0 updated, 2 unchanged" in again.stdout
    assert len(database(rules_path).execute("select * from registrants").fetchall()) == 2
    assert len(database(rules_path).execute("select * from outbox").fetchall()) == 2

    other = excel_csv(tmp_path / "nachtrag.csv", ["E-Mail;Name", "anna.lehmann@leipzig.de;A. Lehmann"])
    result = cli(rules_path, "import", "registrants", str(other), "--apply")
    assert "nachtrag.csv line 2: anna.lehmann@leipzig.de is registered for" in result.stdout
    assert "keeps name 'Anna Lehmann' (the file says 'A. Lehmann')" in result.stdout
    assert people(rules_path)["anna.lehmann@leipzig.de"]["name"] == "Anna Lehmann"


def test_a_known_registrant_gets_only_what_it_lacks_and_says_so(tmp_path, rules_path):
    db = database(rules_path)
    registrants.register(db, EVENT, "g.beridze@tbilisi.gov.ge", "Giorgi Beridze", "international", None)
    registrants.register(db, EVENT, "n.kapanadze@tbilisi.gov.ge", "", "international", None)
    registrants.cancel(db, EVENT, "cancelled@tbilisi.gov.ge")
    registrants.register(db, EVENT, "gone@tbilisi.gov.ge", "Gone", "international", None)
    registrants.cancel(db, EVENT, "gone@tbilisi.gov.ge")
    file = tmp_path / "phone.csv"
    file.write_text("name,email,organisation,audience\n"
                    "Someone Else,G.Beridze@tbilisi.gov.ge,Tbilisi City Hall,\n"
                    "Nino Kapanadze,n.kapanadze@tbilisi.gov.ge,,german\n"
                    "Gone Again,gone@tbilisi.gov.ge,,\n", encoding="utf-8")
    result = cli(rules_path, "import", "registrants", str(file), "--apply")
    assert result.exit_code == 0, result.output + result.stderr
    out = result.stdout
    assert "phone.csv line 2: g.beridze@tbilisi.gov.ge is registered for" in out
    assert "add organisation 'Tbilisi City Hall'" in out
    assert "keeps name 'Giorgi Beridze' (the file says 'Someone Else')" in out
    assert "keeps audience 'international' (the file says 'german')" in out
    assert "add name 'Nino Kapanadze'" in out
    assert "phone.csv line 4: skip gone@tbilisi.gov.ge" in out and "set-status gone@tbilisi.gov.ge registered" in out
    rows = people(rules_path)
    assert len(rows) == 3
    giorgi = rows["g.beridze@tbilisi.gov.ge"]
    assert (giorgi["name"], giorgi["organisation"]) == ("Giorgi Beridze", "Tbilisi City Hall")
    assert (rows["n.kapanadze@tbilisi.gov.ge"]["name"], rows["n.kapanadze@tbilisi.gov.ge"]["audience"]) == (
        "Nino Kapanadze", "international")
    assert rows["gone@tbilisi.gov.ge"]["status"] == "cancelled"
    corrections = database(rules_path).execute("select field, old, new, by from corrections").fetchall()
    # The organisation the address alone suggested is replaced, and the record says what it was.
    assert {(f, o, n) for f, o, n, _ in corrections} == {
        ("organisation", "tbilisi.gov.ge", "Tbilisi City Hall"), ("name", None, "Nino Kapanadze")}
    assert all("phone.csv line" in by for *_, by in corrections)


def test_every_error_names_file_line_and_fix_and_nothing_is_imported(tmp_path, rules_path):
    file = excel_csv(tmp_path / "registrants.csv", [
        "Name;E-Mail;Zielgruppe",
        "Anna Lehmann;anna.lehmann@leipzig.de;german",
        '"Giorgi\nBeridze";g.beridze@tbilisi.gov.ge;international',   # a cell over two lines
        "Anna;anna@;german",
        "Somebody;;german",
        "Max;max@example.com;martian",
        "Ohne Gruppe;ohne@example.com;",
    ])
    file.write_text(file.read_text(encoding="utf-8-sig").replace("Zielgruppe", "Zielgruppe;Land")
                    + "Fern;fern@example.com;german;Atlantis\r\n", encoding="utf-8-sig")
    result = cli(rules_path, "import", "registrants", str(file), "--apply")
    assert result.exit_code == 1
    errors = result.stderr
    assert "registrants.csv line 5: 'anna@' is not an address" in errors and "name@domain" in errors
    assert "registrants.csv line 6: no e-mail address; fill in the e-mail column or delete the line" in errors
    assert "registrants.csv line 7: unknown audience 'martian'; write one of: german, international" in errors
    assert "registrants.csv line 8: cannot tell the audience of ohne@example.com" in errors
    assert "--audience" in errors
    assert "registrants.csv line 9: 'Atlantis' is not a country mailflow knows" in errors and "(GE or GEO)" in errors
    assert "5 problems in registrants.csv" in errors and "nothing was imported" in errors
    assert "registrants.csv line 3: add g.beridze@tbilisi.gov.ge to digitalisation-see-2020 (name 'Giorgi Beridze'" \
        in result.stdout   # the line after the two-line cell is line 5, and the break in the name a space
    assert people(rules_path) == {}

    # One broken line among good ones, with no problem the registrants table would find: still nothing.
    one_broken = excel_csv(tmp_path / "one.csv", ["Name;E-Mail;Zielgruppe",
                                                  "Anna Lehmann;anna.lehmann@leipzig.de;german",
                                                  "Anna;anna@;german"])
    result = cli(rules_path, "import", "registrants", str(one_broken), "--apply")
    assert result.exit_code == 1 and "one.csv line 3: 'anna@' is not an address" in result.stderr
    assert "nothing was imported" in result.stderr
    assert people(rules_path) == {}
    assert database(rules_path).execute("select count(*) from outbox").fetchone()[0] == 0

    no_address = excel_csv(tmp_path / "names.csv", ["Name;Telefon", "Anna;123"])
    result = cli(rules_path, "import", "registrants", str(no_address))
    assert result.exit_code == 1
    assert "names.csv line 1: no column for the e-mail address (found: 'Name', 'Telefon')" in result.stderr


def test_windows_1252_and_commas(tmp_path, rules_path):
    file = tmp_path / "liste.csv"
    file.write_bytes("Name,Email,Organisation\nJürgen Müller,j.mueller@koeln.de,Stadt Köln\n".encode("cp1252"))
    result = cli(rules_path, "import", "registrants", str(file), "--apply")
    assert result.exit_code == 0, result.output + result.stderr
    row = people(rules_path)["j.mueller@koeln.de"]
    assert (row["name"], row["organisation"]) == ("Jürgen Müller", "Stadt Köln")
    assert "liste.csv is not saved as UTF-8: read as Windows-1252." in result.output


def test_a_croatian_excel_csv_is_read_as_windows_1250_and_says_so(tmp_path, rules_path):
    file = tmp_path / "popis.csv"
    file.write_bytes("Name;E-mail;Organisation\r\nIvan Đurić;i.djuric@osijek.hr;Općina Čačinci\r\n".encode("cp1250"))
    result = cli(rules_path, "import", "registrants", str(file))
    assert result.exit_code == 0, result.output + result.stderr
    assert "popis.csv is not saved as UTF-8: read as Windows-1250." in result.output
    assert "'Ivan Đurić'" in result.output and "'Općina Čačinci'" in result.output


def test_xlsx_rows_are_named_by_row(tmp_path, rules_path):
    book = openpyxl.Workbook()
    sheet = book.active
    for row in (["E-mail address", "Full name", "Institution", "Country", "Event"],
                ["e.shehu@tirana.al", "Elira Shehu", "Bashkia Tiranë", "Albania", EVENT],
                ["broken-at-tirana.al", "Broken", "", "", EVENT]):
        sheet.append(row)
    book.save(tmp_path / "people.xlsx")
    result = cli(rules_path, "import", "registrants", str(tmp_path / "people.xlsx"))
    assert result.exit_code == 1
    assert "people.xlsx row 3: 'broken-at-tirana.al' is not an address" in result.stderr
    sheet.delete_rows(3)
    book.save(tmp_path / "people.xlsx")
    result = cli(rules_path, "import", "registrants", str(tmp_path / "people.xlsx"), "--apply")
    assert result.exit_code == 0, result.output + result.stderr
    row = people(rules_path)["e.shehu@tirana.al"]
    assert (row["name"], row["organisation"], row["country"], row["audience"]) == (
        "Elira Shehu", "Bashkia Tiranë", "Albania", "international")


def test_countries_as_lists_write_them_are_imported(tmp_path, rules_path):
    """"UK", "Turkey" and "Macedonia" were refused at their line: CLDR's current names are "United
    Kingdom", "Türkiye" and "North Macedonia", and babel has none of the others."""
    file = excel_csv(tmp_path / "guests.csv", [
        "Name;E-Mail;Country;Audience",
        "Emma Clarke;e.clarke@gmail.com;UK;international",
        "Ayse Demir;a.demir@gmail.com;Turkey;international",
        "Ana Petrovska;a.petrovska@gmail.com;Macedonia;international",
        "Jan Novak;j.novak@gmail.com;CZE;international",
    ])
    result = cli(rules_path, "import", "registrants", str(file), "--apply")
    assert result.exit_code == 0, result.output + result.stderr
    assert {address: row["country"] for address, row in people(rules_path).items()} == {
        "e.clarke@gmail.com": "United Kingdom", "a.demir@gmail.com": "Türkiye",
        "a.petrovska@gmail.com": "North Macedonia", "j.novak@gmail.com": "Czechia"}


def test_several_events_need_an_event_column_or_option(tmp_path):
    rules_path = write_rules(tmp_path, events=two_events())
    file = tmp_path / "list.csv"
    file.write_text("email;name\nanna.lehmann@leipzig.de;Anna Lehmann\n", encoding="utf-8")
    result = cli(rules_path, "import", "registrants", str(file))
    assert result.exit_code == 1
    assert f"list.csv line 2: which event? add an 'event' column (one of: {EVENT}, {NEXT}) or give --event ID" \
        in result.stderr
    result = cli(rules_path, "import", "registrants", str(file), "--event", NEXT, "--apply")
    assert result.exit_code == 0, result.output + result.stderr
    assert people(rules_path)["anna.lehmann@leipzig.de"]["event_id"] == NEXT

    result = cli(rules_path, "import", "registrants", str(file), "--event", "open-dta-next")
    assert result.exit_code == 2 and (result.exception is None or isinstance(result.exception, SystemExit))
    assert f"no event 'open-dta-next' in rules.yaml (known: {EVENT}, {NEXT})" in result.stderr



def test_a_broken_template_is_a_problem_at_its_line_and_nothing_is_imported_or_invited(tmp_path):
    """The confirmation (and the invitation) are rendered inside the import: a broken one is the template's
    line and the fix, not a traceback, and the registrants written before it are rolled back."""
    templates = tmp_path / "templates"
    shutil.copytree(REPO / "templates", templates)
    for name in ("ack_german.txt", "invite_german.txt", "invite_international.txt"):
        text = (templates / name).read_text()
        (templates / name).write_text(text.replace("{{ event.title }}", "{{ event.titel }}", 1))
    rules_path = write_rules(tmp_path, events=two_events(), templates=str(templates))
    file = excel_csv(tmp_path / "list.csv", ["email;name;audience", "a.beridze@tbilisi.gov.ge;A;international",
                                             "anna.lehmann@leipzig.de;Anna Lehmann;german"])
    for args in (["import", "registrants", str(file), "--event", NEXT, "--apply"], ["invite", str(file)],
                 ["invite", str(file), "--send", "--queue-only"]):
        result = cli(rules_path, *args)
        assert result.exit_code == 1 and (result.exception is None or isinstance(result.exception, SystemExit)), \
            result.exception
        assert "templates/" in result.stderr and ".txt:1: undefined template variable" in result.stderr, result.stderr
    assert people(rules_path) == {}
    assert database(rules_path).execute("select count(*) from outbox").fetchone()[0] == 0

# -- invite ----------------------------------------------------------------------------


def test_invite_from_an_earlier_event_once_each_skipping_with_reasons(tmp_path):
    rules_path = write_rules(tmp_path, events=two_events())
    db = database(rules_path)
    for i in range(3):
        registrants.register(db, EVENT, f"expert{i}@city{i}.gov.ge", f"Expert {i}", "international", None)
    registrants.register(db, EVENT, "bounced@city.gov.ge", "Bounced", "international", None)
    registrants.mark_undeliverable(db, "bounced@city.gov.ge")
    registrants.register(db, EVENT, "cancelled@city.gov.ge", "Cancelled", "international", None)
    registrants.cancel(db, EVENT, "cancelled@city.gov.ge")
    registrants.register(db, EVENT, "anna.lehmann@leipzig.de", "Anna Lehmann", "german", None)
    registrants.register(db, NEXT, "anna.lehmann@leipzig.de", "Anna Lehmann", "german", None)

    dry = cli(rules_path, "invite", "--from-event", EVENT)
    assert dry.exit_code == 0, dry.output + dry.stderr
    out = dry.stdout
    assert "invite expert0@city0.gov.ge (international)" in out
    assert "not invited: bounced@city.gov.ge: the address bounced" in out
    assert f"not invited: cancelled@city.gov.ge: cancelled their registration for {EVENT}" in out
    assert f"not invited: anna.lehmann@leipzig.de: registered for {NEXT} already" in out
    assert "Subject: Invitation: Open Data in Municipalities" in out and "--send" in out
    assert db.execute("select count(*) from outbox").fetchone()[0] == 0

    sent = cli(rules_path, "invite", "--from-event", EVENT, "--send", "--queue-only")
    assert sent.exit_code == 0, sent.output + sent.stderr
    assert f"queued 3 invitations to {NEXT}" in sent.stdout
    rows = db.execute("select recipient, kind, state from outbox order by recipient").fetchall()
    assert rows == [(f"expert{i}@city{i}.gov.ge", f"invitation:{NEXT}", "queued") for i in range(3)]

    again = cli(rules_path, "invite", "--from-event", EVENT, "--send", "--queue-only")
    assert again.exit_code == 0, again.output + again.stderr
    assert "not invited: expert0@city0.gov.ge: invited already on" in again.stdout
    assert f"nobody new to invite to {NEXT}; nothing is sent" in again.stdout
    assert db.execute("select count(*) from outbox").fetchone()[0] == 3
    assert db.execute("select count(*) from registrants where event_id = ?", [NEXT]).fetchone()[0] == 1


def test_invite_a_list_with_an_address_of_ours_and_a_broken_line(tmp_path):
    rules_path = write_rules(tmp_path, events=two_events())
    file = excel_csv(tmp_path / "alumni.csv", ["Name;E-Mail", "Elira Shehu;e.shehu@tirana.al",
                                               "Us;international@cc-events.example", "Broken;e.shehu@"])
    result = cli(rules_path, "invite", str(file))
    assert result.exit_code == 1 and "alumni.csv line 4: 'e.shehu@' is not an address" in result.stderr
    excel_csv(file, ["Name;E-Mail", "Elira Shehu;e.shehu@tirana.al", "Us;international@cc-events.example",
                     "Elira;E.Shehu@tirana.al"])
    result = cli(rules_path, "invite", str(file), "--send", "--queue-only")
    assert result.exit_code == 0, result.output + result.stderr
    assert "alumni.csv line 3: not invited: international@cc-events.example: our own address" in result.stdout
    assert "alumni.csv line 4 names e.shehu@tirana.al again" in result.stdout
    assert "queued 1 invitations" in result.stdout
    assert people(rules_path) == {}   # invited is not registered
    assert "not saved as UTF-8" not in result.stdout


def test_invite_says_how_a_list_not_in_utf_8_was_read(tmp_path):
    rules_path = write_rules(tmp_path, events=two_events())
    file = tmp_path / "alumni.csv"
    file.write_bytes("Name;E-Mail\r\nArbër Çela;a.cela@tirana.gov.al\r\n".encode("cp1250"))
    result = cli(rules_path, "invite", str(file))
    assert result.exit_code == 0, result.output + result.stderr
    assert "alumni.csv is not saved as UTF-8: read as Windows-1252. If names look wrong" in result.stdout
    assert "invite a.cela@tirana.gov.al" in result.stdout


def test_no_invitation_to_an_event_whose_registration_closed(tmp_path):
    rules_path = write_rules(tmp_path, events=two_events())
    registrants.register(database(rules_path), NEXT, "anna.lehmann@leipzig.de", "Anna Lehmann", "german", None)
    result = cli(rules_path, "invite", "--from-event", NEXT, "--event", EVENT, "--send", "--queue-only")
    assert result.exit_code == 1
    assert f"registration for {EVENT} closed on 2020-10-07 15:30 CEST" in result.stderr
    assert database(rules_path).execute("select count(*) from outbox").fetchone()[0] == 0



def test_an_invitation_gives_the_local_time_of_the_country_the_list_names(tmp_path):
    """A gmail.com address says nothing of where someone is; the list's country does (and the invitation
    says the time there, as an acknowledgement does from a signature)."""
    rules_path = write_rules(tmp_path, events=two_events())
    file = excel_csv(tmp_path / "alumni.csv", ["Name;E-Mail;Land;Zielgruppe",
                                               "Nino;nino.b@gmail.com;Georgien;international"])
    result = cli(rules_path, "invite", str(file))
    assert result.exit_code == 0, result.output + result.stderr
    assert "Tbilisi time" in result.stdout, result.stdout
