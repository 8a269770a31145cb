"""Commands that send what coordinators release: release, approve."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import sqlite_utils

from .. import answered, registrants, releases
from ..database import clock_of, open_for, open_to_change
from ..errors import MailflowError
from ..people import current_user
from ..preflight import daemon_seen, missing_secrets, refuse_unnamed_mailboxes
from ..replies import Replies, TemplateProblem
from ..rules import Rules, meeting_link
from ..runner import close_worker, server_worker
from ..worker import PassReport
from . import main, rules_from, setup_logging
from .output import echo_json, echo_table, held_line

Decorated = TypeVar("Decorated", bound=Callable[..., Any])


def _event_option(func: Decorated) -> Decorated:
    return click.option("--event", "event_id", help="Event id from rules.yaml [default: the first event].")(func)


def _common(func: Decorated) -> Decorated:
    for option in reversed([
        click.option("--yes", is_flag=True, help="Do not ask for confirmation."),
        click.option("--dry-run", is_flag=True, help="Show what would be sent, then stop."),
        click.option("--queue-only", is_flag=True, help="Queue the mails; the running daemon sends them."),
        click.option("--json", "as_json", is_flag=True, help="Print the preview as JSON."),
        _event_option,
    ]):
        func = option(func)
    return func


@main.group()
def release() -> None:
    """Release the agenda, the access details or (after the event) a follow-up to every eligible registrant."""


def _text_or_file(kind: str, text_help: str, doc: str) -> None:
    """`mailflow release KIND --text FILE|--file FILE`: the agenda and the follow-up take the same."""

    @release.command(kind, help=doc)
    @click.option("--file", "file_", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                  help="Attach this file.")
    @click.option("--text", "text_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                  help=text_help)
    @_common
    @click.pass_context
    def command(ctx: click.Context, file_: Path | None, text_file: Path | None, **options: Any) -> None:
        text = releases.read_release_text(text_file) if text_file else None
        _release(ctx, kind, dict(text=text, attachment=file_), **options)


_text_or_file(releases.AGENDA, "Send this text (or Markdown) file inline.",
              "Send the agenda (a new version goes to earlier recipients as an update).")
_text_or_file(releases.FOLLOWUP, "Send this text file inline (the thank-you, the link to the recording).",
              "After the event: a thank-you or the recording to everyone registered.")


@release.command("access")
@click.option("--link", required=True, help="The meeting link.")
@click.option("--details", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A text file with dial-in details.")
@_common
@click.pass_context
def release_access(ctx: click.Context, link: str, details: Path | None, **options: Any) -> None:
    """Send the access link (only to approved registrants when rules.yaml requires approval)."""
    try:
        link = meeting_link(link)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--link") from None
    text = releases.read_release_text(details) if details else None
    _release(ctx, releases.ACCESS, dict(text=text, link=link), **options)


def _release(ctx: click.Context, kind: str, contents: dict[str, Any], event_id: str | None, yes: bool, dry_run: bool,
             queue_only: bool, as_json: bool) -> None:
    rules = rules_from(ctx)
    event = releases.event_by_id(rules, event_id) if event_id else rules.events[0]
    db = open_to_change(rules) if dry_run else open_for(rules)
    refuse_unnamed_mailboxes(db, rules, warn=False)   # before anything is saved: sending would refuse later
    replies = Replies(rules.templates_path)
    before = db.execute("select coalesce(max(id), 0) from outbox").fetchone()[0]   # (what a daemon queues after)
    candidate, is_new = releases.candidate(db, event.id, kind, **contents)
    moment = clock_of(db)()
    if kind == releases.FOLLOWUP and moment < event.ends_at:
        # (its template thanks people for having taken part: before the end it went out without a word)
        click.echo(f"note: {event.id} has not ended yet (it ends {event.ends_at:%Y-%m-%d %H:%M %Z}); a follow-up "
                   "thanks people for taking part: send it after the event (news before it: `mailflow release "
                   "agenda`)", err=as_json)   # (--json: stdout is the JSON alone)
    if event.over(moment) and kind != releases.FOLLOWUP:
        # Not blocked: after the event only a coordinator's explicit release goes out (the daemon's
        # automatic fan-out and reminders stop at the event's end).
        click.echo(f"note: {event.id} is over (it ended {event.ends_at:%Y-%m-%d %H:%M %Z}); this goes out only "
                   f"because you release it now, with the {kind} template (a thank-you or the recording: "
                   f"`mailflow release followup --text FILE`)", err=as_json)
    try:
        shown = releases.preview(db, rules, replies, candidate)
    except TemplateProblem as exc:
        raise MailflowError(f"{exc}; `mailflow check` lists every template problem") from None
    orphans = registrants.orphans_note(db, rules, event.id)   # a renamed event id: its people are under the old one
    if as_json:
        echo_json({**shown, "note": orphans} if orphans else shown)
    else:
        _print_preview(shown, is_new)
        if orphans:
            click.echo(f"note: {orphans}")
    if dry_run or shown["total"] == 0 and not is_new:
        return
    # A new version nobody waits for yet is saved and needs no secret: later registrants get it from the daemon.
    queue_only = queue_only or shown["total"] == 0
    handover = None if queue_only else _handover(db, rules)
    if handover:
        click.echo(handover)
    verb = "Queue" if queue_only or handover else "Send"
    if not yes and not click.confirm(f"{verb} {kind} v{candidate.version} to {shown['total']} registrants?"):
        raise click.Abort()
    saved = releases.save(db, candidate, "cli") if is_new else candidate
    if queue_only or handover:
        with click.progressbar(length=shown["total"], label="queueing") as bar:
            queued = releases.fan_out(db, rules, replies, saved, progress=bar.update)
        click.echo(f"queued {queued} mails ({kind} v{saved.version})"
                   + ("; the running mailflow sends them with its next pass" if handover else ""))
        return
    setup_logging(False)
    worker = server_worker(rules)
    try:
        # Sending starts with the first queued batch, while the rest are still being rendered.
        with click.progressbar(length=shown["total"], label="sending") as bar, \
                worker.send_session(on_sent=bar.update) as sending:
            # What the Sent folders hold went out (a restored database learns it there), and a mailbox whose
            # folder cannot be read sends nothing now: its mails wait for the daemon's next pass.
            found: dict[str, answered.Found] = {}
            worker.read_sent_folders(sending, PassReport(), found)
            queued = releases.fan_out(worker.db, rules, replies, saved, progress=lambda n: sending.pump())
            counts = sending.finish()
    finally:
        close_worker(worker)
    if in_sent := sum(look.releases for look in found.values()):
        click.echo(f"{in_sent} releases and reminders were found in the Sent folders, sent before this database "
                   "knew it (restored from a backup?): not sent again")
    click.echo(f"queued {queued} mails ({kind} v{saved.version})")
    click.echo(f"sent {counts.sent}, failed {counts.failed}, deferred {counts.deferred}")
    if sending.held:
        click.echo(held_line(sending.held, "the rest"))
    # While this command waited for the send lock, a running mailflow's pass may have queued and sent the
    # saved release itself: "queued 0, sent 0" then read as a failure, though everyone had it.
    # Or, while a pass sends their confirmations, new registrants wait for them (bounce_grace_minutes): "sent 0"
    # again, and the daemon sent the release a minute later.
    by_state = dict(db.execute("select state, count(*) from outbox where kind = ? and id > ? group by state",
                               [saved.outbox_kind, before]).fetchall())
    by_daemon = sum(by_state.values()) - queued
    if by_daemon > 0:
        click.echo(f"the running mailflow queued {by_daemon} of them meanwhile; this release now: "
                   + ", ".join(f"{state} {n}" for state, n in sorted(by_state.items())))
    if (waiting := shown["total"] - queued - max(by_daemon, 0)) > 0:
        click.echo(f"{waiting} registrants wait for their confirmation to go out first (bounce_grace_minutes): "
                   "mailflow's next passes send them this release; `mailflow outbox` shows it")


def _handover(db: sqlite_utils.Database, rules: Rules) -> str | None:
    """None when this shell has every secret sending needs; else the line saying the running mailflow
    sends instead. MailflowError, before anything is asked or saved, when there is neither."""
    missing = missing_secrets(rules)
    if not missing:
        return None
    lacking = "; ".join(missing)
    seen = daemon_seen(db, rules, clock_of(db)())
    if seen is None:
        raise MailflowError(
            f"cannot send from here: {lacking}; and no mailflow pass ran in the last "
            f"{3 * rules.poll_interval + 60} s to hand the sending to. Export the secrets here, or start "
            "the daemon (systemctl start mailflow) and release again; nothing was saved or sent")
    return (f"the secrets are not here ({lacking}), but mailflow ran a pass at {seen:%Y-%m-%d %H:%M:%S} UTC: "
            f"the release is queued for it and goes out with its next pass (every {rules.poll_interval} s)")


def _print_preview(shown: dict, is_new: bool) -> None:
    info = shown["release"]
    state = "new version" if is_new else "unchanged, already released"
    click.echo(f"{info['kind']} v{info['version']} for event {info['event']} ({state})")
    by_status = sorted(shown["registrants_by_status"].items())
    click.echo("registrants by status: " + ", ".join(f"{k} {v}" for k, v in by_status))
    if not shown["recipients"]:
        click.echo("nobody is waiting for this release")
        return
    echo_table(shown["recipients"], [("audience", "audience", 14), ("status", "status", 11),
                                     ("template", "template", 14), ("count", "count", 6)])
    for key, sample in shown["samples"].items():
        click.echo(f"\n--- sample {key} to {sample['to']}"
                   + (f" (attached: {', '.join(sample['attachments'])})" if sample["attachments"] else ""))
        click.echo(f"Subject: {sample['subject']}\n")
        click.echo(sample["text"])


@main.command()
@click.argument("address", required=False)
@click.option("--all-pending", is_flag=True,
              help="Approve everyone waiting: pending, and registered before approval was required.")
@_event_option
@click.pass_context
def approve(ctx: click.Context, address: str | None, all_pending: bool, event_id: str | None) -> None:
    """Approve a registrant, so they receive the access details (recorded in the corrections log)."""
    if bool(address) == all_pending:
        raise click.UsageError("give an ADDRESS or --all-pending")
    rules = rules_from(ctx)
    event = releases.event_by_id(rules, event_id) if event_id else rules.events[0]
    waiting = releases.waiting_for_approval(event)
    approved = registrants.approve(open_to_change(rules), event.id, address,
                                   by=current_user(), waiting=waiting)
    if address and not approved:
        raise MailflowError(f"{address} is not waiting for approval for {event.id} (waiting means: "
                            f"{' or '.join(waiting)}); see `mailflow registrants --status pending`")
    click.echo(f"approved {len(approved)}: {', '.join(approved)}" if approved else "nobody is pending")
    click.echo("they get the access details with the next pass of `mailflow run`")
