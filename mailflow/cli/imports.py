"""Commands for lists of people: import registrants, invite. Both show what they would do first."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click

from .. import answered, imports, invites
from ..database import clock_of, open_for
from ..imports import Person
from ..people import current_user
from ..preflight import refuse_unnamed_mailboxes
from ..replies import Replies
from ..runner import close_worker, server_worker
from ..sheets import read_sheet
from ..worker import PassReport
from . import main, rules_from, setup_logging
from .output import held_line

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@main.group("import")
def import_() -> None:
    """Bring in people who registered by other channels (phone, a form) from a CSV or Excel list."""


@import_.command("registrants")
@click.argument("file", type=_FILE)
@click.option("--apply", is_flag=True, help="Do it. Without --apply nothing changes: you see what would happen.")
@click.option("--event", "event_id", metavar="ID", help="The event, for lines without an 'event' column.")
@click.option("--audience", help="international, german, ...: for lines without an 'audience' column.")
@click.pass_context
def import_registrants(ctx: click.Context, file: Path, apply: bool, event_id: str | None,
                       audience: str | None) -> None:
    """Register the people in FILE (.csv or .xlsx; columns by header: name, email, organisation, country,
    audience, event); each new one gets the usual confirmation. A known address only gets what it lacks.
    First shows what would change."""
    rules = rules_from(ctx)
    _known_audience(rules.audiences, audience)
    if event_id is not None and event_id not in (ids := [e.id for e in rules.events]):
        raise click.BadParameter(f"no event {event_id!r} in rules.yaml (known: {', '.join(ids)})", param_hint="--event")
    sheet = read_sheet(file)
    found = imports.read_people(sheet, rules, event_id=event_id, audience=audience)
    db = open_for(rules)
    # A line with a problem stops the whole import: the others are only shown.
    steps, problems = imports.import_people(db, rules, Replies(rules.templates_path), found.people,
                                            apply=apply and not found.problems, by=current_user())
    if sheet.code_page:
        click.echo(sheet.code_page_note())
    if sheet.ignored:
        click.echo(f"{sheet.name}: columns not read: {', '.join(sheet.ignored)}")
    counts = {"add": 0, "update": 0, "unchanged": 0, "skip": 0}
    for step in steps:
        counts[step.action] += 1
        click.echo(f"{step.person.where}: {_describe(step)}")
        for note in step.notes:
            click.echo(f"    {note}")
    problems = found.problems + problems
    for problem in problems:
        click.echo(problem, err=True)
    tally = f"{counts['add']} to add, {counts['update']} to update, {counts['unchanged']} unchanged, " \
            f"{counts['skip']} skipped"
    if problems:
        raise click.ClickException(f"{len(problems)} problems in {sheet.name} (above); nothing was imported. "
                                   "Fix those lines and run the command again")
    if not apply:
        click.echo(f"{tally}. Nothing is changed yet: to do this, run the same command with --apply")
        return
    done = tally.replace("to add", "added").replace("to update", "updated")
    click.echo(done + (". Each new registrant gets the confirmation, then the agenda, the access details and the "
                       "reminders like everyone else (sent by `mailflow run`)" if counts["add"] else ""))


def _describe(step: imports.Step) -> str:
    person = step.person
    shown = ", ".join(f"{field} {value!r}" for field, value in step.changes.items())
    if step.action == "add":
        return f"add {person.address} to {person.event_id}" + (f" ({shown})" if shown else "")
    if step.action == "update":
        return f"{person.address} is registered for {person.event_id}; add {shown}"
    if step.action == "unchanged":
        return f"{person.address} is registered for {person.event_id} already; nothing new"
    return f"skip {person.address}"


def _known_audience(audiences: list[str], audience: str | None) -> None:
    if audience is not None and audience not in audiences:
        raise click.BadParameter(f"no audience {audience!r} in rules.yaml (known: {', '.join(audiences)})",
                                 param_hint="--audience")


@main.command()
@click.argument("file", type=_FILE, required=False)
@click.option("--from-event", "source_event", metavar="ID", help="Invite the registrants of this earlier event.")
@click.option("--event", "event_id", metavar="ID",
              help="The event to invite to [default: the event that takes registrations now].")
@click.option("--audience", help="international, german, ...: for people whose audience is not known.")
@click.option("--send", is_flag=True, help="Send the invitations. Without --send you see whom it would invite.")
@click.option("--queue-only", is_flag=True, help="With --send: queue them; the running daemon sends them.")
@click.pass_context
def invite(ctx: click.Context, file: Path | None, source_event: str | None, event_id: str | None,
           audience: str | None, send: bool, queue_only: bool) -> None:
    """Invite the people in FILE (.csv or .xlsx, like `import registrants`) or of --from-event ID to an event,
    once each: they are not registered; whoever answers yes is. First shows whom it would invite."""
    if (file is None) == (source_event is None):
        raise click.UsageError("give a FILE or --from-event ID")
    rules = rules_from(ctx)
    _known_audience(rules.audiences, audience)
    db = open_for(rules)
    refuse_unnamed_mailboxes(db, rules, warn=False)   # before anything is queued: sending would refuse later
    event = invites.target_event(rules, event_id, clock_of(db)())
    problems: list[str] = []
    if file is not None:
        sheet = read_sheet(file)
        if sheet.code_page:
            click.echo(sheet.code_page_note())
        found = imports.read_people(sheet, rules, event_id=None, audience=audience, need_event=False)
        people, problems = found.people, found.problems
    else:
        assert source_event is not None
        if source_event == event.id:
            raise click.UsageError(f"--from-event {source_event} is the event you invite to; name an earlier one")
        people = [_with_audience(p, audience) for p in invites.from_event(db, rules, source_event)]
    previous = next((e for e in rules.events if e.id == source_event), None)
    invitees, skipped = invites.plan(db, rules, event, people, source_event)
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise click.ClickException(f"{len(problems)} problems in {file.name if file else 'the list'} (above); "
                                   "nobody was invited. Fix those lines and run the command again")
    for invitee in invitees:
        click.echo(f"{invitee.person.where}: invite {invitee.person.address} ({invitee.audience})")
        for note in invitee.person.notes:
            click.echo(f"    {note}")
    for skip in skipped:
        click.echo(f"{skip.person.where}: not invited: {skip.person.address}: {skip.reason}")
    if not invitees:
        click.echo(f"nobody new to invite to {event.id}; nothing is sent")
        return
    replies = Replies(rules.templates_path)
    if not send:
        sample = invites.render(rules, replies, event, invitees[0], previous)
        click.echo(f"\n--- sample to {invitees[0].person.address}\nSubject: {sample['subject']}\n\n{sample['text']}")
        click.echo(f"{len(invitees)} to invite to {event.id}, {len(skipped)} not. Nothing is sent yet: to send, "
                   "run the same command with --send")
        return
    if queue_only:
        queued = invites.queue(db, rules, replies, event, invitees, previous=previous, by=current_user())
        click.echo(f"queued {queued} invitations to {event.id}; the running daemon sends them")
        return
    setup_logging(False)
    worker = server_worker(rules)
    in_sent: dict[str, answered.Found] = {}
    try:
        with worker.send_session() as sending:
            # Whom the Sent folders show invited already (a database restored from a backup learns it there) is
            # skipped; a mailbox whose folder cannot be read sends nothing now, the daemon's next pass does.
            worker.read_sent_folders(sending, PassReport(), in_sent)
            queued = invites.queue(worker.db, rules, replies, event, invitees, previous=previous,
                                   by=current_user())
            counts = sending.finish()
    finally:
        close_worker(worker)
    if made := sum(look.invitations for look in in_sent.values()):
        click.echo(f"{made} invitations were found in the Sent folders, sent before this database knew it "
                   "(restored from a backup?): not sent again")
    click.echo(f"queued {queued} invitations to {event.id}")
    click.echo(f"sent {counts.sent}, failed {counts.failed}, deferred {counts.deferred}")
    if sending.held:
        click.echo(held_line(sending.held, "the invitations"))


def _with_audience(person: Person, audience: str | None) -> Person:
    return person if person.audience or not audience else replace(person, audience=audience)
