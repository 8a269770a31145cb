"""Tables, JSON and CSV for commands that print data."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

import click


def echo_table(rows: Sequence[dict], columns: Sequence[tuple[str, str, int]]) -> None:
    """columns: (key, heading, width); cells are cut to width so the table stays readable."""
    click.echo("  ".join(heading.ljust(width) for _, heading, width in columns).rstrip())
    for row in rows:
        cells = ("" if row.get(key) is None else str(row.get(key)) for key, _, _ in columns)
        click.echo("  ".join(c[:w].ljust(w) for c, (_, _, w) in zip(cells, columns, strict=True)).rstrip())


def echo_json(data: object) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def echo_csv(rows: Sequence[dict]) -> None:
    if not rows:
        return
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    click.echo(buffer.getvalue(), nl=False)
