"""Commands that read files only: `check` and `classify`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..classify import classify
from ..clock import system_clock
from ..errors import MessageError, RulesError
from ..events import timing_warnings
from ..message import parse_message
from ..preflight import database_note, file_problems, probe, secret_warnings, unnamed_in_file
from ..rules import changed_patterns, load_rules, numbered_comments
from . import main, rules_from


@main.command()
@click.option("--connect", is_flag=True,
              help="Also log in to every IMAP and SMTP server and report what each offers, and whether each SMTP "
                   "server takes mail from the mailbox's address (MAIL FROM and RCPT TO, then RSET: no mail is sent).")
@click.pass_context
def check(ctx: click.Context, connect: bool) -> None:
    """Validate rules.yaml and render every template with sample data; warn about secrets this shell lacks
    and about mailboxes and events the database knows that rules.yaml no longer names."""
    path = ctx.obj["rules_path"]
    try:
        rules = load_rules(path)
    except RulesError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        ctx.exit(1)
    for warning in [*changed_patterns(path), *numbered_comments(path)]:
        click.echo(f"warning: {warning}", err=True)
    if (note := database_note(rules)) is not None:
        click.echo(f"note: {note}", err=True)
    unnamed, notes = unnamed_in_file(rules, system_clock())
    problems = [*file_problems(rules, system_clock()), *unnamed]
    for note in notes:
        click.echo(f"warning: {note}", err=True)
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        ctx.exit(1)
    for warning in timing_warnings(rules, system_clock()):
        click.echo(str(warning), err=True)
    if connect:
        findings = probe(rules)
        for finding in findings:
            click.echo(str(finding))
        failed = sum(finding.status == "FAILED" for finding in findings)
        if failed:
            click.echo(f"{path}: {failed} server checks failed", err=True)
            ctx.exit(1)
    else:
        for warning in secret_warnings(rules):
            click.echo(str(warning), err=True)
    templates = sum(len(v) for v in (*rules.replies.values(), *rules.announcements.values(), *rules.on_behalf.values()))
    click.echo(f"{path}: ok ({len(rules.mailboxes)} mailboxes, {len(rules.events)} events, {templates} templates)")


@main.command("classify")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--mailbox", required=True, help="The mailbox the mails arrived at.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file.")
@click.pass_context
def classify_files(ctx: click.Context, files: tuple[Path, ...], mailbox: str, as_json: bool) -> None:
    """Classify .eml files offline: no server, no database."""
    rules = rules_from(ctx)
    if mailbox not in rules.mailboxes:
        raise click.BadParameter(f"no mailbox {mailbox!r} in rules.yaml (known: {', '.join(rules.mailboxes)})",
                                 param_hint="--mailbox")
    for path in files:
        try:
            result = classify(parse_message(path.read_bytes(), rules.limits), mailbox, rules).as_dict()
        except MessageError as exc:
            result = {"audience": None, "intent": None, "answer": False, "reasons": [f"quarantined: {exc}"]}
        result.pop("confidence", None) if as_json else None
        if as_json:
            click.echo(json.dumps({"file": str(path), **result}, ensure_ascii=False))
        else:
            click.echo(f"{path}: audience={result['audience']} intent={result['intent']} "
                       f"answer={str(result['answer']).lower()}")
            for reason in result["reasons"]:
                click.echo(f"    {reason}")
