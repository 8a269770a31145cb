"""Lists as coordinators write them: header spellings, delimiters, encodings, line numbers (sheets.py)."""

from __future__ import annotations

import openpyxl
import pytest

from mailflow.sheets import SheetError, person_name, read_sheet


@pytest.mark.parametrize("header, field", [
    ("E-Mail", "email"), ("Email Address", "email"), ("e-mail-adresse", "email"), ("E-Mail Adresse", "email"),
    ("Mail", "email"), ("Organization", "organisation"), ("Institution / Behörde", "organisation"),
    ("Firma", "organisation"), ("Land", "country"), ("Country", "country"), ("Zielgruppe", "audience"),
    ("Veranstaltung", "event"), ("Event ID", "event"), ("Full Name", "name"), ("Teilnehmer/in", "name"),
])
def test_header_spellings(tmp_path, header, field):
    path = tmp_path / "list.csv"
    path.write_text(f"{header};email\nvalue;a@b.de\n" if field != "email" else f"{header}\na@b.de\n",
                    encoding="utf-8")
    sheet = read_sheet(path)
    assert field in sheet.fields
    assert sheet.rows[0].values[field] == ("a@b.de" if field == "email" else "value")


@pytest.mark.parametrize("delimiter", [";", ",", "\t"])
def test_delimiters_by_the_header_line(tmp_path, delimiter):
    path = tmp_path / "list.csv"
    path.write_text(delimiter.join(["Vorname", "Nachname", "E-Mail"]) + "\n"
                    + delimiter.join(["Anna", "Lehmann", "anna@leipzig.de"]) + "\n", encoding="utf-8")
    row = read_sheet(path).rows[0]
    assert (person_name(row), row.values["email"], row.where) == ("Anna Lehmann", "anna@leipzig.de", "list.csv line 2")


def test_blank_lines_keep_the_numbers_of_the_lines_after_them(tmp_path):
    path = tmp_path / "list.csv"
    path.write_bytes(b"\xef\xbb\xbfemail;name\r\n\r\n;;\r\na@b.de;\"Anna\r\nLehmann\"\r\nc@d.de;C\r\n")
    rows = read_sheet(path).rows
    assert [(r.where, r.values) for r in rows] == [
        ("list.csv line 4", {"email": "a@b.de", "name": "Anna Lehmann"}),
        ("list.csv line 6", {"email": "c@d.de", "name": "C"}),
    ]


def test_numbers_in_a_workbook_are_text_without_a_decimal_point(tmp_path):
    book = openpyxl.Workbook()
    book.active.append(["email", "name", "organisation"])
    book.active.append(["a@b.de", "Anna", 4711.0])
    book.save(tmp_path / "list.xlsx")
    [row] = read_sheet(tmp_path / "list.xlsx").rows
    assert (row.where, row.values["organisation"]) == ("list.xlsx row 2", "4711")


@pytest.mark.parametrize("name, content, message", [
    ("list.csv", b"", "list.csv: the file is empty"),
    ("list.csv", b"Name;Phone\nAnna;1\n", "list.csv line 1: no column for the e-mail address"),
    ("list.xls", b"\xd0\xcf\x11\xe0", "list.xls: not a .csv or .xlsx file"),
    ("list.xlsx", b"not a zip", "list.xlsx: not an Excel workbook"),
])
def test_what_cannot_be_read_says_why(tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(SheetError, match=message.replace(".", r"\.")):
        read_sheet(tmp_path / name)


def test_excels_unicode_text_is_utf16_with_tabs(tmp_path):
    """Excel's "Unicode Text (*.txt)" ("Unicode-Text" in German) saves UTF-16 with a byte order mark and tabs."""
    path = tmp_path / "teilnehmer.txt"
    path.write_bytes("Name\tE-Mail\r\nნინო ბერიძე\tn.beridze@tbilisi.gov.ge\r\n\r\nKöhler\tk@leipzig.de\r\n"
                     .encode("utf-16"))
    sheet = read_sheet(path)
    assert [(row.where, person_name(row), row.values["email"]) for row in sheet.rows] == [
        ("teilnehmer.txt line 2", "ნინო ბერიძე", "n.beridze@tbilisi.gov.ge"),
        ("teilnehmer.txt line 4", "Köhler", "k@leipzig.de")]


def test_the_delimiter_is_the_headers_when_blank_lines_come_first(tmp_path):
    path = tmp_path / "list.csv"
    path.write_text("\n\nname,email\nAnna Lehmann,anna@leipzig.de\n", encoding="utf-8")
    sheet = read_sheet(path)
    assert [(row.where, row.values) for row in sheet.rows] == [
        ("list.csv line 4", {"name": "Anna Lehmann", "email": "anna@leipzig.de"})]



@pytest.mark.parametrize("rows", [
    [("Иван Петров", "Мэрия «Москвы»"), ("Мария Соколова", "ООО")],
    [("Олена Шевчук", "Київська міська рада"), ("Юрій Ковальчук", "")],   # і ї є ґ in 0x80-0xBF
    [("Ђорђе Јовановић", "Град Београд")],                                 # Serbian ђ ј ћ
    [("Стоян Иванов", "Столична община")],
])
def test_excels_csv_from_a_cyrillic_windows_is_windows_1251(tmp_path, rows):
    """Excel's "CSV" on a Russian, Ukrainian, Bulgarian or Serbian Windows is Windows-1251; read as
    Windows-1252 every name came out as "Èâàí Ïåòðîâ"."""
    assert _names_and_organisations(tmp_path, rows, "cp1251") == rows


@pytest.mark.parametrize("rows", [
    [("Jürgen Müller", "Stadt Köln")],
    [("Hélène Dubois", "Mairie de Lyon"), ("Ana Peña", "Año")],
    [("Ümit Öztürk", "Bezirksamt"), ("Ä. Weiß", "")],
    [("Amt", "„Stadt Köln“ – Amt für Digitales")],
])
def test_excels_csv_from_a_western_windows_stays_windows_1252(tmp_path, rows):
    """Short German, French and Spanish lists (where a detector took Windows-1252 for Cyrillic) read as written."""
    assert _names_and_organisations(tmp_path, rows, "cp1252") == rows


@pytest.mark.parametrize("rows", [
    [("Marija Kovačević", "Grad Zagreb"), ("Ivan Đurić", "Općina Čačinci")],   # Croatian, Bosnian
    [("Josip Čačić", "")],                                                       # only è and æ in 1252
    [("Ioana Ştefănescu", "Primăria Iaşi")],                                     # Romanian
    [("Łukasz Żółć", "Urząd Miasta Krakowa")],                                   # Polish
    [("Jiří Dvořák", "Magistrát")],                                              # Czech: ø beside í, á
    [("Anna Wiśniewska", "Gmina Oświęcim")],                                     # ś is œ in 1252
])
def test_excels_csv_from_a_central_european_windows_is_windows_1250(tmp_path, rows):
    """Excel's "CSV" on a Croatian, Bosnian, Romanian, Polish or Czech Windows is Windows-1250; read as
    Windows-1252 the names came out as "Kovaèeviæ", "ªtefãnescu", "£ukasz"."""
    assert _names_and_organisations(tmp_path, rows, "cp1250") == rows


@pytest.mark.parametrize("rows", [
    [("Søren Kjær", "Københavns Kommune"), ("Lars Sæther", "")],   # Danish, Norwegian: æ, ø, å
    [("Anna Åström", "Göteborgs Stad")],
    [("Nicolò Città", "Comune di Roma"), ("Thérèse Lefèvre", "")],
    [("João Conceição", "Escola Nº 5"), ("Ana Peña", "5000 m³")],       # signs beside letters name nobody
])
def test_nordic_and_italian_lists_stay_windows_1252(tmp_path, rows):
    assert _names_and_organisations(tmp_path, rows, "cp1252") == rows


@pytest.mark.parametrize(("code_page", "told"), [("utf-8", ""), ("utf-8-sig", ""), ("cp1252", "Windows-1252"),
                                                 ("cp1250", "Windows-1250"), ("cp1251", "Windows-1251")])
def test_a_list_not_in_utf_8_says_how_it_was_read_and_the_fix(tmp_path, code_page, told):
    path = tmp_path / "list.csv"
    name = {"cp1251": "Иван Петров", "cp1250": "Ivan Đurić"}.get(code_page, "Jürgen Müller")
    path.write_bytes(f"Name;E-Mail\r\n{name};p@example.org\r\n".encode(code_page))
    sheet = read_sheet(path)
    assert person_name(sheet.rows[0]) == name
    assert sheet.code_page == told
    if told:
        assert sheet.code_page_note() == (f"list.csv is not saved as UTF-8: read as {told}. If names look "
                                          "wrong (è for č, £ for Ł), save it in Excel as 'CSV UTF-8' and run the "
                                          "command again")
    else:
        assert sheet.code_page_note() == ""


def _names_and_organisations(tmp_path, rows, code_page):
    path = tmp_path / "list.csv"
    lines = ["Name;E-Mail;Organisation"] + [f"{name};p{i}@example.org;{organisation}"
                                             for i, (name, organisation) in enumerate(rows)]
    path.write_bytes("\r\n".join(lines).encode(code_page))
    return [(person_name(row), row.values.get("organisation", "")) for row in read_sheet(path).rows]
