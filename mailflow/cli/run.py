"""Commands that do the work: `run` and `demo`."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .. import runner
from ..demo import as_of as demo_time
from ..demo import run_demo
from ..mailbox import maildir_files
from ..starter import shipped
from ..states import MessageState
from . import main, rules_from, setup_logging
from .output import echo_table

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar  # what click.progressbar() returns


class ProgressBars:
    """One click progress bar per phase, shown only for a large first sync (so cron stays quiet)."""

    LARGE = 200

    def __init__(self) -> None:
        self.bars: dict[str, ProgressBar[int]] = {}
        self.done: dict[str, int] = {}

    def update(self, phase: str, done: int, total: int) -> None:
        if total < self.LARGE:
            return
        if phase not in self.bars:
            bar = click.progressbar(length=total, label=phase, file=sys.stderr)
            self.bars[phase] = bar.__enter__()
            self.done[phase] = 0
        self.bars[phase].update(done - self.done[phase])
        self.done[phase] = done

    def __enter__(self) -> ProgressBars:
        return self

    def __exit__(self, *exc: object) -> None:
        for bar in self.bars.values():
            bar.__exit__(None, None, None)


@main.command()
@click.option("--once", is_flag=True, help="One pass, then exit (for cron).")
@click.pass_context
def run(ctx: click.Context, once: bool) -> None:
    """Watch the mailboxes and answer mail (a daemon, or one pass with --once)."""
    if not once:   # a reload asked before the daemon listens for it: the rules are about to be read anyway
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    setup_logging(ctx.obj["verbose"])
    rules = rules_from(ctx)
    if once:
        with ProgressBars() as bars:
            report = runner.run_once(rules, bars.update)
        click.echo(f"recorded {report.recorded}, processed {report.processed}, quarantined {report.quarantined}, "
                   f"sent {report.sent}, failed {report.failed}"
                   + (f"; archived {report.archived} (they arrived before answer_mail_since: `mailflow archive "
                      "answer` answers them)" if report.archived else ""))
        if report.errors:
            raise click.ClickException("; ".join(report.errors))
        return
    runner.Daemon(ctx.obj["rules_path"]).run()


@main.command()
@click.option("--samples", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder with one Maildir per mailbox [default: samples/maildir next to rules.yaml].")
@click.option("--output", type=click.Path(file_okay=False, path_type=Path), default=Path("demo-output"),
              show_default=True, help="Where the database and the replies (.eml) go.")
@click.pass_context
def demo(ctx: click.Context, samples: Path | None, output: Path) -> None:
    """Run the whole pipeline on the shipped sample mails, with no mail server (the shipped rules.yaml
    unless --rules is given; MAILFLOW_RULES, meant for your own rules, does not change it)."""
    setup_logging(ctx.obj["verbose"], quiet=True)
    if ctx.obj["rules_given"] is None:
        ctx.obj["rules_path"] = shipped() / "rules.yaml"
    rules = rules_from(ctx)
    samples = samples or rules.source.parent / "samples" / "maildir"
    if not any(maildir_files(samples / name) for name in rules.mailboxes):
        raise click.UsageError(f"no sample mails in {samples} (a Maildir per mailbox: {samples / '<mailbox>'}/new/); "
                               f"give --samples FOLDER, e.g. the shipped ones: {shipped() / 'samples' / 'maildir'}")
    moment = demo_time(rules, samples)
    click.echo(f"as of {moment:%Y-%m-%d %H:%M} UTC, when the last sample mail arrived: the demo's clock stands "
               "there, so the sample event still takes registrations\n")
    report, rows = run_demo(rules, samples, output)
    for row in rows:
        if row["state"] == MessageState.QUARANTINED:
            row["action"] = f"quarantined: {row['error']}"
        elif row["state"] == "archived":
            row["action"] = "archived: arrived before answer_mail_since"
        elif row["reply_state"]:
            row["action"] = f"reply {row['reply_state']}: {row['reply_subject']}"
        else:
            row["action"] = "no reply"
        if row["notified"]:
            row["action"] = f"{row['audience']} coordinator notified; {row['action']}"
    echo_table(rows, [("sender", "sender", 34), ("audience", "audience", 13), ("intent", "intent", 12),
                      ("action", "action", 60)])
    click.echo(f"\nthis run: recorded {report.recorded} new mails, sent {report.sent} mails "
               f"(written to {output / 'outbox'}); database {output / 'mailflow-demo.db'}")
