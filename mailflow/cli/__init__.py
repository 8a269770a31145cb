"""The `mailflow` command: parses arguments and calls the library, nothing more."""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path
from typing import Any

import click

from ..errors import MailflowError, RulesError
from ..rules import Rules, load_rules


def setup_logging(verbose: bool, quiet: bool = False) -> None:
    """One line per event on stdout (the journal under systemd); `quiet` keeps only problems."""
    # The format below uses none of the caller's file and line, thread or process: the logging
    # HOWTO's "Optimization" switches skip collecting them (a stack walk per line otherwise).
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
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


# Which module defines each command: a command's module is imported only when it runs, so
# `mailflow run` does not pay for the imports of every other command (tests check the map).
COMMAND_MODULES = {
    "check": "check", "classify": "check", "purge": "maintenance",
    "explain": "messages", "questions": "messages", "replay": "messages", "archive": "messages",
    "outbox": "outbox_commands", "status": "outbox_commands",
    "registrants": "people", "set-audience": "people", "set-status": "people", "export-person": "people",
    "forget": "people", "release": "releases", "approve": "releases", "run": "run", "demo": "run",
    "import": "imports", "invite": "imports",
}


class MailflowGroup(click.Group):
    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in COMMAND_MODULES:
            importlib.import_module(f"{__name__}.{COMMAND_MODULES[name]}")
        return super().get_command(ctx, name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        for module in sorted(set(COMMAND_MODULES.values())):
            importlib.import_module(f"{__name__}.{module}")
        return super().list_commands(ctx)

    def invoke(self, ctx: click.Context) -> Any:
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


__all__ = ["main"]
