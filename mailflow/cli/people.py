"""Commands about people: registrants, set-audience, set-name, set-status, export-person, forget."""

from __future__ import annotations

from pathlib import Path

import click

from .. import behalf, people, releases
from ..database import open_for, open_to_change, read_for
from ..errors import MailflowError
from ..replies import Replies, TemplateProblem
from . import main, rules_from
from .output import echo_csv, echo_json, echo_table, write_xlsx


@main.group(invoke_without_command=True)
@click.option("--event", "event_id", metavar="ID", help="Only this event (an id from rules.yaml).")
@click.option("--audience", help="Only this audience (e.g. international, german).")
@click.option("--status", type=click.Choice(people.STATUSES), help="Only registrants with this status.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV, UTF-8 with a byte order mark (Excel reads it right).")
@click.option("--delimiter", default=",", show_default=True,
              help="CSV field separator; ';' for Excel in German and other locales with a decimal comma.")
@click.option("--xlsx", "xlsx_file", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              metavar="FILE", help="Write an Excel spreadsheet (.xlsx) to FILE.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def registrants(ctx: click.Context, event_id: str | None, audience: str | None, status: str | None,
                as_csv: bool, delimiter: str, xlsx_file: Path | None, as_json: bool) -> None:
    """Who registered: name, organisation, country, time zone, audience, status, who registered them and
    what was sent when (as a table, CSV, JSON or an .xlsx file). `registrants confirm` and `registrants add`
    settle registrations on behalf of others."""
    if ctx.invoked_subcommand is not None:
        return
    if sum((as_csv, as_json, xlsx_file is not None)) > 1:
        raise click.UsageError("choose one of --csv, --json and --xlsx")
    if len(delimiter) != 1 or delimiter in "\"\r\n":
        raise click.BadParameter(f"{delimiter!r}: give one character other than a quote or a newline, "
                                 "e.g. ';' (or $'\\t' for a tab)", param_hint="--delimiter")
    if delimiter != "," and not as_csv:
        raise click.UsageError("--delimiter goes with --csv")
    rules = rules_from(ctx)
    if audience is not None and audience not in rules.audiences:
        raise click.BadParameter(f"no audience {audience!r} in rules.yaml (known: {', '.join(rules.audiences)})",
                                 param_hint="--audience")
    db = read_for(rules)
    events = sorted({event.id for event in rules.events} | people.event_ids(db))
    if event_id is not None and event_id not in events:
        raise click.BadParameter(f"no event {event_id!r} (known: {', '.join(events)})", param_hint="--event")
    rows = people.list_registrants(db, event_id=event_id, audience=audience, status=status)
    if as_json:
        echo_json(rows)
        return
    flat = [{**row, "sent": people.sent_summary(row["sent"])} for row in rows]
    if as_csv:
        echo_csv(flat, delimiter)
    elif xlsx_file is not None:
        write_xlsx(flat, xlsx_file, sheet="registrants")
        click.echo(f"wrote {len(flat)} registrants to {xlsx_file}", err=True)
    elif flat:
        echo_table(flat, [("id", "id", 4), ("name", "name", 22), ("organisation", "organisation", 26),
                          ("country", "country", 12), ("time_zone", "time zone", 18), ("address", "address", 32),
                          ("audience", "audience", 13),
                          ("status", "status", 10), ("registered_by", "registered by", 32), ("sent", "sent", 60)])
    else:
        click.echo("no registrants" + (" match" if event_id or audience or status else " yet"))


@registrants.command()
@click.argument("message")
@click.pass_context
def confirm(ctx: click.Context, message: str) -> None:
    """Register the people mailflow proposed from MESSAGE (number or Message-ID), a mail registering
    others that it left to a coordinator; each nominee gets their confirmation."""
    rules = rules_from(ctx)
    rows = behalf.confirm(open_to_change(rules), rules, Replies(rules.templates_path), message,
                          by=people.current_user())
    for row in rows:
        by = f", registered by {row['registered_by']}" if row.get("registered_by") else ""
        click.echo(f"registered {row['name'] or '(no name)'} <{row['address']}> for {row['event_id']} "
                   f"({row['audience']}, {row['status']}{by})")


@registrants.command()
@click.argument("address")
@click.option("--name", required=True, help="The person's name, as it goes into their mails.")
@click.option("--event", "event_id", metavar="ID", help="Which event (needed when rules.yaml has several).")
@click.option("--registered-by", metavar="ADDRESS", help="Who asked for it; the person is told so in a confirmation.")
@click.option("--audience", help="international, german, ...; default: the audience of --registered-by.")
@click.pass_context
def add(ctx: click.Context, address: str, name: str, event_id: str | None, registered_by: str | None,
        audience: str | None) -> None:
    """Register ADDRESS by hand, e.g. a colleague a mail named without an address."""
    rules = rules_from(ctx)
    row = behalf.add(open_for(rules), rules, Replies(rules.templates_path), address, name,
                     event_id=event_id, registered_by=registered_by, audience=audience, by=people.current_user())
    by = f", registered by {row['registered_by']}" if row.get("registered_by") else ""
    # behalf.add queues a confirmation only where rules.yaml names its template (on_behalf.confirmation).
    confirmed = row.get("registered_by") and rules.on_behalf.get("confirmation", {}).get(row["audience"])
    told = "; a confirmation is queued" if confirmed else ""
    click.echo(f"registered {row['name']} <{row['address']}> for {row['event_id']} ({row['audience']}, "
               f"{row['status']}{by}){told}")


# --event for the corrections: which registration of an address
_WHICH_REGISTRATION = click.option("--event", "event_id", metavar="ID",
                                  help="Which registration, when they registered for several events.")


@main.command("set-audience")
@click.argument("address")
@click.argument("audience")
@_WHICH_REGISTRATION
@click.pass_context
def set_audience(ctx: click.Context, address: str, audience: str, event_id: str | None) -> None:
    """Correct a registrant's AUDIENCE (e.g. international or german); who and when is recorded."""
    rules = rules_from(ctx)
    changes = people.set_audience(open_to_change(rules), address, audience, rules.audiences,
                                  by=people.current_user(), event_id=event_id)
    _echo_changes(changes)


@main.command("set-name")
@click.argument("address")
@click.argument("name")
@_WHICH_REGISTRATION
@click.pass_context
def set_name(ctx: click.Context, address: str, name: str, event_id: str | None) -> None:
    """Correct a registrant's NAME as they spell it (in quotes: "Nino Tsereteli"); who and when is recorded."""
    changes = people.set_name(open_to_change(rules_from(ctx)), address, name, by=people.current_user(),
                              event_id=event_id)
    _echo_changes(changes)


@main.command("set-status")
@click.argument("address")
@click.argument("status", type=click.Choice(people.STATUSES))
@_WHICH_REGISTRATION
@click.pass_context
def set_status(ctx: click.Context, address: str, status: str, event_id: str | None) -> None:
    """Correct a registrant's STATUS; who and when is recorded. `cancelled` also takes back the
    calendar invitation they may have had (a CANCEL, sent by the next pass)."""
    rules = rules_from(ctx)
    db, replies = open_to_change(rules), Replies(rules.templates_path)
    try:
        changes = people.set_status(
            db, address, status, by=people.current_user(), event_id=event_id,
            withdraw=lambda registrant: releases.withdraw_invitation(db, rules, replies, registrant))
    except TemplateProblem as exc:
        raise MailflowError(f"status not changed: the CANCEL for their calendar cannot be written: {exc}; "
                            "fix the template (`mailflow check` lists every template problem)") from None
    _echo_changes(changes)


def _echo_changes(changes: list[dict]) -> None:
    for c in changes:
        if c["changed"]:
            click.echo(f"{c['address']} ({c['event_id']}): {c['field']} {c['old']} -> {c['new']}, "
                       f"recorded as corrected by {c['by']} at {c['at']}")
            if c.get("calendar_cancel"):
                click.echo(f"{c['address']} ({c['event_id']}): the CANCEL for their calendar is queued")
        else:
            click.echo(f"{c['address']} ({c['event_id']}): {c['field']} is already {c['new']}; nothing changed")


@main.command("export-person")
@click.argument("address")
@click.option("--json", "as_json", is_flag=True, help="Print everything as JSON (for a data access request).")
@click.option("--include-raw", is_flag=True, help="Include the stored mails byte for byte.")
@click.pass_context
def export_person(ctx: click.Context, address: str, as_json: bool, include_raw: bool) -> None:
    """Everything stored about ADDRESS: registrations, mails, replies, corrections."""
    data = people.export_person(read_for(rules_from(ctx)), address, include_raw)
    if as_json or include_raw:
        echo_json(data)
        return
    click.echo(f"stored about {data['address']}:")
    for r in data["registrants"]:
        click.echo(f"  registrant {r['id']} for {r['event_id']}: {r['name']}, {r['audience']}, {r['status']} "
                   f"(since {r['created_at']})")
    for m in data["messages"]:
        click.echo(f"  mail {m['id']} in {m['mailbox']} ({m['relation']}), {m['recorded_at']}: "
                   f"{m['subject']!r}, intent {m['intent']}")
    for o in data["outbox"]:
        click.echo(f"  outbox {o['id']} {o['kind']} to {o['recipient']}: {o['state']}"
                   + (f" {o['sent_at']}" if o["sent_at"] else ""))
    for c in data["corrections"]:
        click.echo(f"  correction {c['id']}: {c['field']} {c['old']} -> {c['new']} by {c['by']} at {c['at']}")
    for table, rows in data["other"].items():
        click.echo(f"  {len(rows)} rows in table {table}")
    click.echo("use --json for every field")


@main.command()
@click.argument("address")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def forget(ctx: click.Context, address: str, yes: bool) -> None:
    """Erase ADDRESS from the database (a GDPR erasure), including other mails that mention it."""
    rules = rules_from(ctx)
    people.refuse_own(address, rules.own_addresses)
    db = open_to_change(rules)
    person = people.find_person(db, address)
    if person.found and not yes:
        click.echo(f"this deletes everything stored about {person.address}:")
        for table, ids in sorted(person.rows.items()):
            if ids:
                click.echo(f"  {table}: {len(ids)} rows")
        if person.cleared:
            click.echo(f"  and unlinks {sum(map(len, person.cleared.values()))} other registrations from deleted mails")
        click.confirm("delete it for good?", abort=True)
    report = people.forget(db, address, protected=rules.own_addresses)
    db.close()
    parts = [f"{n} {table}" for table, n in sorted(report.deleted.items())]
    click.echo(f"forgot {report.address}: deleted " + (", ".join(parts) if parts else "no rows (leftovers only)"))
    click.echo(f"  mails: {report.messages_from_them} from them, {report.messages_mentioning_them} "
               "from others that mention them")
    if report.links_cleared:
        click.echo(f"  {report.links_cleared} other registrations lost the link to a deleted mail")
    for table in report.not_searched:
        click.echo(f"  table {table} could not be searched; check it by hand", err=True)
    if report.server_copies:
        click.echo("  mailflow never deletes mail on the server; delete these copies there by hand:")
        for copy in report.server_copies:
            click.echo(f"    mailbox {copy['mailbox']} UID {copy['uid']} {copy['message_id'] or ''}".rstrip())
    click.echo("  also check your backups and the worker's log files")
    if report.files_still_mentioning:
        raise click.ClickException("the address is still in " + ", ".join(report.files_still_mentioning)
                                   + "; stop `mailflow run` and run this command again")
    click.echo("  verified: the address is no longer in the database files")
