"""Lists of people as coordinators keep them: a CSV file or an Excel workbook, columns found by header.

Excel writes CSV with a byte order mark and, in German settings, ';' between the cells (in Windows'
own code page when not saved as "CSV UTF-8"); a header may be "E-Mail-Adresse" as well as "email".
Every row keeps where it came from ("registrants.csv line 7", "people.xlsx row 7"), so each problem
with it names the file, the line and the fix.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from .codepages import windows_code_page
from .errors import MailflowError

# The fields a list may have, and the headers that mean each (compared without case, spaces and
# punctuation: "E-Mail Adresse" is "emailadresse").
FIELDS: dict[str, tuple[str, ...]] = {
    "email": ("email", "e-mail", "mail", "email address", "e-mail address", "mail address", "emails",
              "e-mail-adresse", "emailadresse", "mailadresse", "adresse e-mail", "correo", "courriel"),
    "name": ("name", "full name", "fullname", "participant", "person", "contact", "vollständiger name",
             "teilnehmer", "teilnehmerin", "teilnehmer/in", "teilnehmende", "name, vorname"),
    "first_name": ("first name", "firstname", "given name", "forename", "vorname"),
    "last_name": ("last name", "lastname", "surname", "family name", "nachname", "familienname"),
    "organisation": ("organisation", "organization", "org", "institution", "company", "employer", "agency",
                     "municipality", "organisation/institution", "institution/organisation", "affiliation",
                     "firma", "behörde", "einrichtung", "institution/behörde", "kommune", "arbeitgeber",
                     "dienststelle", "verwaltung"),
    "country": ("country", "land", "staat", "country of residence", "herkunftsland"),
    "audience": ("audience", "group", "participant group", "expert group", "zielgruppe", "gruppe", "expertengruppe"),
    "event": ("event", "event id", "event_id", "veranstaltung", "termin"),
}


def header_key(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.casefold())


_HEADERS = {header_key(spelling): field for field, spellings in FIELDS.items() for spelling in spellings}


class SheetError(MailflowError):
    """The file cannot be read as a list of people; the message says where and what to do."""


@dataclass(frozen=True)
class Row:
    where: str                 # "registrants.csv line 7"
    values: dict[str, str]     # field -> cell text, stripped; only fields the header names


@dataclass(frozen=True)
class Sheet:
    name: str                  # the file's name, as problems quote it
    fields: tuple[str, ...]    # the fields found in the header
    ignored: tuple[str, ...]   # header cells that name no field
    rows: tuple[Row, ...]      # rows with at least one cell filled
    code_page: str = ""        # "Windows-1250" ... when a CSV not in UTF-8 was read by a guess; "" otherwise

    def code_page_note(self) -> str:
        """What a coordinator should know when the file's encoding was guessed: the guess, and the fix."""
        if not self.code_page:
            return ""
        return (f"{self.name} is not saved as UTF-8: read as {self.code_page}. If names look wrong (è for č, "
                "£ for Ł), save it in Excel as 'CSV UTF-8' and run the command again")


def read_sheet(path: Path) -> Sheet:
    """The rows of a .csv (UTF-8 with or without BOM, UTF-16 with one, else Windows-1250, -1251 or -1252;
    ';', ',' or tab) or .xlsx file, by header. A file without an e-mail column is a SheetError."""
    name = path.name
    suffix = path.suffix.lower()
    try:
        if suffix == ".xlsx":
            return _sheet(name, "row", _xlsx_rows(path))
        if suffix in (".csv", ".txt", ".tsv"):
            rows, code_page = _csv_rows(path.read_bytes())
            return _sheet(name, "line", rows, code_page)
    except OSError as exc:
        raise SheetError(f"{name}: cannot be read ({exc.strerror or exc}); check the path") from None
    raise SheetError(f"{name}: not a .csv or .xlsx file; in Excel use File > Save As > "
                     "'CSV UTF-8' or 'Excel Workbook (.xlsx)'")


def _csv_rows(data: bytes) -> tuple[list[tuple[int, list[str]]], str]:
    """The rows with their line numbers, and the code page guessed ("" when the file is UTF-8 or -16)."""
    code_page = ""
    try:
        # Excel's "Unicode Text" is UTF-16 with a byte order mark
        text = data.decode("utf-16") if data[:2] in (b"\xff\xfe", b"\xfe\xff") else data.decode("utf-8-sig")
    except UnicodeDecodeError:
        code_page = windows_code_page(data)
        text = data.decode(code_page, errors="replace")
    first = next((line for line in text.splitlines() if line.strip()), "")   # the header's line
    delimiter = max((";", ",", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = []
    line = 1
    for cells in reader:
        rows.append((line, cells))
        line = reader.line_num + 1   # a quoted cell may span lines: the next row starts after it
    return rows, code_page.replace("cp", "Windows-")


def _xlsx_rows(path: Path) -> list[tuple[int, list[str]]]:
    import zipfile

    import openpyxl  # here: only this command reads workbooks

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise SheetError(f"{path.name}: not an Excel workbook ({exc}); save it again as .xlsx or as 'CSV UTF-8'") \
            from None
    try:
        sheet = book.worksheets[0]
        return [(number, ["" if cell is None else _cell_text(cell) for cell in cells])
                for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1)]
    finally:
        book.close()


def _cell_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _sheet(name: str, unit: str, rows: list[tuple[int, list[str]]], code_page: str = "") -> Sheet:
    rows = [(number, cells) for number, cells in rows if any(cell.strip() for cell in cells)]
    if not rows:
        raise SheetError(f"{name}: the file is empty; the first line names the columns, e.g. name;email;organisation")
    number, header = rows[0]
    columns: dict[int, str] = {}
    ignored = []
    for index, cell in enumerate(header):
        field = _HEADERS.get(header_key(cell))
        if field and field not in columns.values():
            columns[index] = field
        elif cell.strip():
            ignored.append(cell.strip())
    if "email" not in columns.values():
        raise SheetError(f"{name} {unit} {number}: no column for the e-mail address (found: "
                         f"{', '.join(repr(c.strip()) for c in header if c.strip()) or 'nothing'}); "
                         "name one column 'email' (or 'E-Mail')")
    found = []
    for number, cells in rows[1:]:
        # A cell's runs of white space (a line break typed into a cell) are one space.
        values = {field: " ".join(cells[index].split()) for index, field in columns.items() if index < len(cells)}
        found.append(Row(f"{name} {unit} {number}", {k: v for k, v in values.items() if v}))
    return Sheet(name, tuple(columns.values()), tuple(ignored), tuple(found), code_page)


def person_name(row: Row) -> str:
    """The name column, else first and last name together."""
    if row.values.get("name"):
        return row.values["name"]
    return " ".join(part for part in (row.values.get("first_name"), row.values.get("last_name")) if part)
