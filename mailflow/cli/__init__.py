"""The `mailflow` command: parses arguments and calls the library, nothing more."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from ..errors import MailflowError, RulesError
from ..rules import Rules, load_rules


def setup_logging(verbose: bool, quiet: bool = False) -> None:
    """One line per event on stdout (the journal under systemd); `quiet` keeps only problems."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stdout,
    )


def rules_from(ctx: click.Context) -> Rules:
    try:
        return load_rules(ctx.obj["rules_path"])
    except RulesError as exc:
        raise click.ClickException(f"rules.yaml has problems:\n{exc}") from None


class MailflowGroup(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except MailflowError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=MailflowGroup)
@click.option(
    "--rules", "rules_path", type=click.Path(path_type=Path), default=Path("rules.yaml"),
    show_default=True, help="The coordinators' rules file.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail.")
@click.pass_context
def main(ctx: click.Context, rules_path: Path, verbose: bool) -> None:
    """mailflow: reads the coordinators' inboxes, classifies, records and answers."""
    ctx.ensure_object(dict)
    ctx.obj["rules_path"] = rules_path
    ctx.obj["verbose"] = verbose


from . import check, maintenance, messages, outbox_commands, people, releases, run  # noqa: E402  (registers the commands)

__all__ = ["main"]
