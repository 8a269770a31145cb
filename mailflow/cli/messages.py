"""Commands about recorded mail: explain, questions, replay, archive."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from .. import answered, history, runner
from ..database import open_to_change, read_for
from ..errors import MailflowError, RulesError
from ..people import current_user
from ..rules import load_rules
from . import main, rules_from
from .output import echo_json, echo_table


@main.command()
@click.argument("message")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def explain(ctx: click.Context, message: str, as_json: bool) -> None:
    """Why MESSAGE (number or Message-ID) was classified and answered as it was."""
    info = history.explain(read_for(rules_from(ctx)), message)
    if as_json:
        echo_json(info)
        return
    click.echo(f"message {info['id']} in mailbox {info['mailbox']} (UID {info['uid']}), {info['message_id']}")
    click.echo(f"from {info['sender']}: {info['subject']}")
    click.echo(f"state: {info['state']}" + (f" ({info['error']})" if info["error"] else ""))
    click.echo(f"audience: {info['audience']} ({info['confidence']} confidence), intent: {info['intent']}, "
               f"answered: {'yes' if info['answered'] else 'no'}")
    if info["attention"]:
        click.echo(f"attention: {info['attention']}")
    if info["answered_before"]:
        click.echo(f"answered before this database knew it ({info['answered_before']}): never answered again")
    if info["archived"]:
        click.echo("archived: it arrived before answer_mail_since; nobody was registered and nothing was sent "
                   "(`mailflow archive answer` answers it)")
    elif info["unarchived_at"]:
        click.echo(f"taken out of the archive on {info['unarchived_at']} (`mailflow archive answer`)")
    if info["question_closed_at"]:
        by = info["question_closed_by"] or "a coordinator"
        click.echo(f"question closed on {info['question_closed_at']} by {by}")
    click.echo("reasons:")
    for reason in info["reasons"]:
        click.echo(f"  - {reason}")
    if info["registrant"]:
        r = info["registrant"]
        click.echo(f"registrant {r['id']}: {r['address']} ({r['audience']}, {r['status']})")
    for row in info["outbox"]:
        click.echo(f"outbox {row['id']}: {row['kind']} to {row['recipient']}: {row['state']}"
                   + (f" ({row['error']})" if row["error"] else ""))


@main.command()
@click.option("--close", "close_ref", metavar="MESSAGE", help="Mark this question as answered.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def questions(ctx: click.Context, close_ref: str | None, as_json: bool) -> None:
    """Open questions that wait for a coordinator's answer."""
    rules = rules_from(ctx)
    db = open_to_change(rules) if close_ref else read_for(rules)
    if close_ref:
        row, closed = history.close_question(db, close_ref, current_user())
        if not closed:
            click.echo(f"question {row['id']} from {row['sender']} was already closed, on {row['question_closed_at']} "
                       f"by {row['question_closed_by'] or 'a coordinator'}")
            return
        click.echo(f"question {row['id']} from {row['sender']} closed")
        try:
            runner.clear_flags_now(rules, db, row["mailbox"])
        except MailflowError as exc:
            click.echo(f"its star (\\Flagged) goes at the next pass that reaches the server: {exc}")
        return
    rows = history.open_questions(db)
    if as_json:
        echo_json(rows)
    elif rows:
        echo_table(rows, [("id", "id", 5), ("mailbox", "mailbox", 13), ("sender", "sender", 32),
                          ("subject", "subject", 50)])
        for row in rows:
            if row["attention"]:
                click.echo(f"{row['id']}: {row['attention']}")
    else:
        click.echo("no open questions")


@main.command()
@click.option("--with", "new_rules", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              metavar="NEW.yaml", help="The changed rules file to try (required).")
@click.option("--last", type=click.IntRange(min=1), help="Only the last N recorded messages.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def replay(ctx: click.Context, new_rules: Path | None, last: int | None, as_json: bool) -> None:
    """Classify recorded mail again with a changed rules file; show what would change. Sends nothing."""
    if new_rules is None:
        # Not click's required=True: its "Missing option" would not say that `replay --rules NEW.yaml`,
        # the old spelling, now names the main rules file (as --rules does for every command).
        raise click.UsageError("replay needs the changed rules file as --with NEW.yaml (--rules names the "
                               "current rules, as for every command; `replay --rules NEW.yaml` was the old spelling)",
                               ctx)
    current = rules_from(ctx)
    try:
        candidate = load_rules(new_rules)
    except RulesError as exc:
        raise click.ClickException(f"{new_rules} has problems:\n{exc}") from None
    seen, changes = history.replay(read_for(current), candidate, last)
    if as_json:
        echo_json({"messages": seen, "changes": [c.as_dict() for c in changes]})
        return
    for change in changes:
        click.echo(f"message {change.id} from {change.sender}: {change.subject}")
        for key in sorted(set(change.before) | set(change.after)):
            old, new = change.before.get(key), change.after.get(key)
            if old != new:
                click.echo(f"    {key}: {old} -> {new}")
    click.echo(f"{len(changes)} of {seen} messages would change with {new_rules}; nothing was sent")


@main.group()
def archive() -> None:
    """Mail that arrived before answer_mail_since: recorded and classified, not answered."""


@archive.command("answer")
@click.option("--since", metavar="DATE", help="Only mail that arrived at or after DATE (2024-09-01 or "
              "2024-09-01T08:00, in the first event's time zone) [default: all archived mail].")
@click.pass_context
def archive_answer(ctx: click.Context, since: str | None) -> None:
    """Answer archived mail as if it had just arrived: registrants, replies, bounces."""
    rules = rules_from(ctx)
    moment = None
    if since:
        try:
            moment = rules.events[0].zoned(datetime.fromisoformat(since))
        except ValueError:
            raise click.BadParameter(f"{since!r} is not a date; write 2024-09-01 or 2024-09-01T08:00",
                                     param_hint="--since") from None
    count = answered.archive_answer(open_to_change(rules), rules.mailboxes, moment)
    click.echo(f"{count} archived mails will be answered by the next pass (the running `mailflow run`, "
               "or `mailflow run --once`)" if count else "no archived mail" + (f" since {since}" if since else ""))
