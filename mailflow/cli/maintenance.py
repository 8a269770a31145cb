"""Housekeeping commands: `purge` (raw mails past their retention time)."""

from __future__ import annotations

from datetime import datetime

import click

from .. import retention
from ..database import clock_of, open_to_change
from . import main, rules_from


@main.command()
@click.option("--dry-run", is_flag=True, help="Only show how many raw mails would be purged; change nothing.")
@click.pass_context
def purge(ctx: click.Context, dry_run: bool) -> None:
    """Delete the raw text of mails whose event ended more than keep_raw_mail_days_after_event days ago.

    Sender, subject, classification, reasons, registrants and the outbox stay;
    the copies on the mail server are not touched. The running daemon does this once a day.
    """
    rules = rules_from(ctx)
    days = rules.keep_raw_mail_days_after_event
    db = open_to_change(rules)
    entries = retention.purge(db, rules, clock_of(db)(), dry_run=dry_run)
    if days is None:
        click.echo(f"{rules.source.name} does not set keep_raw_mail_days_after_event: raw mails are kept forever")
    else:
        click.echo(f"raw mails are kept {days} days after their event's end ({rules.source.name}: "
                   f"keep_raw_mail_days_after_event)")
    for entry in entries:
        click.echo(_line(entry, dry_run))
    total = retention.purged_count(entries)
    if dry_run:
        click.echo(f"would purge {total} raw mails; nothing was changed (dry run)")
    elif days is not None:
        click.echo(f"purged {total} raw mails; sender, classification, reasons and registrants are kept")


def _line(entry: retention.EventRetention, dry_run: bool) -> str:
    stored = _mails(entry.count) + (f" ({entry.quarantined} quarantined)" if entry.quarantined else "")
    earlier = f"; {entry.purged_before} purged earlier" if entry.purged_before else ""
    if entry.ends_at is None:
        return f"  {entry.event_id} (not in rules.yaml, its end is unknown): {stored} kept{earlier}"
    ended = f"{'ended' if entry.due else 'ends'} {_when(entry.ends_at)}"
    if entry.keep_until is None:
        return f"  {entry.event_id}: {ended}; {stored} kept{earlier}"
    if not entry.due:
        return f"  {entry.event_id}: {ended}; {stored} kept until {_when(entry.keep_until)}{earlier}"
    done = "would be purged" if dry_run else "purged"
    return f"  {entry.event_id}: {ended}, kept until {_when(entry.keep_until)}; {stored} {done}{earlier}"


def _mails(n: int) -> str:
    return f"{n} raw mail{'' if n == 1 else 's'}"


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M %Z}"
