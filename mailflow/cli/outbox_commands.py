"""Commands about the worker's state: `status`, and `outbox` with `retry` and `cancel`."""

from __future__ import annotations

import click

from .. import outbox as outbox_lib
from .. import status as status_lib
from ..database import open_to_change, open_to_read, read_for
from ..errors import RulesError
from ..mailbox import DATABASE, MOVE
from ..rules import load_rules
from ..states import OutboxState
from . import main, rules_from
from .output import echo_json, echo_table

OUTBOX_COLUMNS = [("id", "id", 5), ("state", "state", 9), ("kind", "kind", 22), ("recipient", "recipient", 32),
                  ("attempts", "tries", 5), ("sent_at", "sent at", 25), ("error", "error or why cancelled", 50)]


@main.group(invoke_without_command=True)
@click.option("--failed", is_flag=True, help="Only mails the server refused for good.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def outbox(ctx: click.Context, failed: bool, as_json: bool) -> None:
    """List the outbox (replies, notices, releases); `retry` and `cancel` act on one mail."""
    if ctx.invoked_subcommand is not None:
        return
    rows = outbox_lib.listing(read_for(rules_from(ctx)), OutboxState.FAILED if failed else None)
    if as_json:
        echo_json(rows)
    elif rows:
        echo_table(rows, OUTBOX_COLUMNS)
    else:
        click.echo("no failed mails" if failed else "the outbox is empty")


@outbox.command()
@click.argument("outbox_id", metavar="ID", type=int, required=False)
@click.option("--all-failed", is_flag=True, help="Every failed mail.")
@click.pass_context
def retry(ctx: click.Context, outbox_id: int | None, all_failed: bool) -> None:
    """Queue a failed or uncertain mail again (attempts start from 0); the next pass sends it."""
    if (outbox_id is None) == (not all_failed):
        raise click.UsageError("give one outbox number (see `mailflow outbox --failed`) or --all-failed")
    rules = rules_from(ctx)
    db = open_to_change(rules)
    rows, left = ([outbox_lib.retry(db, outbox_id, rules.mailboxes)], []) if outbox_id is not None \
        else outbox_lib.retry_all_failed(db, rules.mailboxes)
    for row in rows:
        click.echo(f"outbox {row['id']} to {row['recipient']} queued again (last error: {row['error']})")
    for mailbox in sorted({row["mailbox"] for row in left}):
        count = sum(row["mailbox"] == mailbox for row in left)
        click.echo(f"{count} failed mail{'' if count == 1 else 's'} of mailbox {mailbox!r} left as failed: rules.yaml "
                   "no longer names it, so nothing would send them")
    if not rows and not left:
        click.echo("no failed mails")


@outbox.command()
@click.argument("outbox_id", metavar="ID", type=int)
@click.pass_context
def cancel(ctx: click.Context, outbox_id: int) -> None:
    """Never send outbox mail ID (queued, failed or uncertain); a sent mail cannot be cancelled."""
    row, changed = outbox_lib.cancel(open_to_change(rules_from(ctx)), outbox_id)
    click.echo(f"outbox {row['id']} ({row['kind']} to {row['recipient']}) "
               + ("cancelled; it will not be sent" if changed else "was already cancelled"))


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Mailboxes, backlog, outbox and registrants at a glance (read-only; also while rules.yaml has problems)."""
    try:
        rules = load_rules(ctx.obj["rules_path"])
        db, names, problems = read_for(rules), list(rules.mailboxes), ""
    except RulesError as exc:
        # Right after a broken edit the admin most wants to see that the daemon goes on with its last good
        # rules: the database says so without them.
        database = status_lib.database_named_in(ctx.obj["rules_path"])
        if not database.exists():
            raise click.ClickException(f"rules.yaml has problems:\n{exc}") from None
        db = open_to_read(database, named_by=f"`database:` in {ctx.obj['rules_path']}")
        names, problems = status_lib.known_mailboxes(db), str(exc)
        click.echo(f"rules.yaml has problems (a running mailflow keeps the rules it last loaded):\n{exc}\n", err=True)
    info = status_lib.status(db, names)
    if problems:
        info["rules_problems"] = problems
    if as_json:
        echo_json(info)
        return
    daemon = info["daemon"]
    if daemon["running"] is not None:
        quiet = (f", but no sign of life since {daemon['quiet_since']} (a pass waiting on a hung server, or "
                 "hung itself)") if daemon.get("quiet_since") else ""
        click.echo(f"daemon: running since {daemon['since']} (pid {daemon['pid']}){quiet}" if daemon["running"] else
                   f"daemon: not running since {daemon['since']}")
    if info["disk"] != "ok":
        click.echo(f"disk: {info['disk']}")
    click.echo("mailboxes:")
    for box in info["mailboxes"]:
        note = "" if box["in_rules"] else " (no longer in rules.yaml)"
        click.echo(f"  {box['mailbox']}{note}: last sync {box['last_sync'] or 'never'}, last UID {box['last_uid']}, "
                   f"backlog {box['backlog']}, quarantined {box['quarantined']}, "
                   f"connection {box['connection']}")
        for failure in box["failures"]:
            click.echo(f"    {failure['server'].upper()} failing since {failure['since']} "
                       f"(last try {failure['last_failed']}): {failure['cause']}")
        if box["archived"] or box["answered_before"]:
            click.echo(f"    archived {box['archived']} (arrived before answer_mail_since; `mailflow archive "
                       f"answer` answers them), answered before this database knew them {box['answered_before']}")
        if box["found"]:
            click.echo(f"    found {box['found_at']}: {box['found']}")
        if box["marking"] in (MOVE, DATABASE):
            instead = "moved" if box["marking"] == MOVE else "marked in mailflow's database only"
            click.echo(f"    the server stores no keyword here: processed mail is {instead}")
    for waiting in info["alarms_waiting"]:
        what = "alarm" if waiting["state"] == "waiting" else "recovery mail"
        click.echo(f"  {what} for {waiting['mailbox']} {waiting['server'].upper()} (down since {waiting['since']}) "
                   "waits: no mailbox's SMTP server works to send it")
    box = info["outbox"]
    counts = ", ".join(f"{state} {n}" for state, n in box["by_state"].items()) or "empty"
    click.echo(f"outbox: {counts}")
    for row in box["failed"]:
        click.echo(f"  failed {row['id']} {row['kind']} to {row['recipient']} after {row['attempts']} tries: "
                   f"{row['error']}")
    for row in box["uncertain"]:
        click.echo(f"  uncertain {row['id']} {row['kind']} to {row['recipient']}: mailflow was stopped while the "
                   "SMTP server had it; ask the recipient or look in your Sent folder")
    if box["failed"] or box["uncertain"]:
        click.echo("  (`mailflow outbox retry ID` sends it again, `mailflow outbox cancel ID` never)")
    click.echo(f"registrants: {info['registrants']['total']}")
    for audience, by_status in info["registrants"]["by_audience"].items():
        click.echo(f"  {audience}: " + ", ".join(f"{s} {n}" for s, n in by_status.items()))
    for row in info["undeliverable"]:
        click.echo(f"  undeliverable: {row['address']} (bounced {row['bounced_at']}; {row['cancelled']} queued "
                   "mails cancelled; active again when they write from it)")
    click.echo(f"open questions: {info['open_questions']}")
    if info["scheduled"]:
        click.echo("next scheduled sends: " + ", ".join(f"{s['name']} ({s['event_id']}) at {s['due_at']}"
                                                        for s in info["scheduled"]))
    else:
        click.echo("no scheduled sends pending")
