"""Tables, JSON, CSV and spreadsheets for commands that print data."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path

import click

from ..errors import MailflowError


def echo_table(rows: Sequence[dict], columns: Sequence[tuple[str, str, int]]) -> None:
    """columns: (key, heading, width); cells are cut to width so the table stays readable."""
    click.echo("  ".join(heading.ljust(width) for _, heading, width in columns).rstrip())
    for row in rows:
        cells = ("" if row.get(key) is None else str(row.get(key)) for key, _, _ in columns)
        click.echo("  ".join(c[:w].ljust(w) for c, (_, _, w) in zip(cells, columns, strict=True)).rstrip())


def held_line(held: set[str], what: str) -> str:
    """The line for mailboxes that sent nothing because their Sent folder could not be read."""
    its = "its Sent folder" if len(held) == 1 else "their Sent folders"
    return (f"not sent from {', '.join(sorted(held))}: {its} could not be read (see above; it says what went out "
            f"already): mailflow's next pass that can read it sends {what}")


def echo_json(data: object) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def echo_csv(rows: Sequence[dict], delimiter: str = ",") -> None:
    """UTF-8 with a byte order mark, the one sign by which Excel reads a CSV file as UTF-8 (without it
    ნინო ბერიძე becomes mojibake); German Excel splits at ";", so `delimiter` can be one."""
    if not rows:
        return
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), delimiter=delimiter)
    writer.writeheader()
    writer.writerows([{key: _as_text(value) for key, value in row.items()} for row in rows])
    stdout = click.get_binary_stream("stdout")
    stdout.write(("\ufeff" + buffer.getvalue()).encode("utf-8"))
    stdout.flush()


def _as_text(value: object) -> object:
    """A cell Excel would run as a formula (=, +, - or @ first: a sender's display name can be one) gets a
    leading apostrophe, Excel's mark for text (OWASP, "CSV injection")."""
    return f"'{value}" if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def write_xlsx(rows: Sequence[dict], path: Path, sheet: str) -> None:
    """A spreadsheet (XlsxWriter): a bold header row that stays in view, a filter on every column,
    numbers as numbers and text as text (never read as a formula or a date)."""
    import xlsxwriter  # type: ignore[import-untyped]  # 60 ms: only for the command that writes one

    columns = list(rows[0]) if rows else []
    workbook = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_numbers": False,
                                               "strings_to_urls": False})
    try:
        worksheet = workbook.add_worksheet(sheet[:31])
        worksheet.write_row(0, 0, columns, workbook.add_format({"bold": True}))
        for number, row in enumerate(rows, start=1):
            for column, key in enumerate(columns):
                value = row[key]
                if isinstance(value, int | float) and not isinstance(value, bool):
                    worksheet.write_number(number, column, value)
                elif value is not None:
                    worksheet.write_string(number, column, str(value))
        worksheet.freeze_panes(1, 0)
        if columns:
            worksheet.autofilter(0, 0, len(rows), len(columns) - 1)
            for column, key in enumerate(columns):
                width = max([len(key), *(len(str(row[key] or "")) for row in rows)])
                worksheet.set_column(column, column, min(width, 60) + 2)
    finally:
        try:
            workbook.close()   # the file is written here
        except xlsxwriter.exceptions.FileCreateError as exc:
            reason = getattr(exc.__context__, "strerror", None) or exc
            raise MailflowError(f"cannot write {path}: {reason}; give a file in a folder that "
                                "exists and that you may write to") from None
