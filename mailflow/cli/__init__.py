"""The `mailflow` command: parses arguments and calls the library, nothing more."""

from __future__ import annotations

import importlib
import logging
import sqlite3
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
    "init": "project", "check": "check", "classify": "check", "purge": "maintenance",
    "explain": "messages", "questions": "messages", "replay": "messages", "archive": "messages",
    "outbox": "outbox_commands", "status": "outbox_commands",
    "registrants": "people", "set-audience": "people", "set-name": "people", "set-status": "people",
    "export-person": "people", "forget": "people", "release": "releases", "approve": "releases", "run": "run",
    "demo": "run", "import": "imports", "invite": "imports",
}


RULES_HELP = "The coordinators' rules file (before or after the command)."


def _rules_after_command(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    """`--rules PATH` after a command's name: the same as before it; given both ways, the paths must agree."""
    if value is None:
        return
    before = ctx.obj.get("rules_given")
    if before is not None and before != value:
        hint = " (`mailflow replay` takes the changed file as --with NEW.yaml)" if ctx.info_name == "replay" else ""
        raise click.UsageError(f"--rules is given twice, {before} and {value}: give it once{hint}", ctx)
    ctx.obj["rules_path"] = ctx.obj["rules_given"] = value


def take_rules_option(command: click.Command) -> click.Command:
    """Give `command` (and every subcommand) the `--rules PATH` option `mailflow` itself has."""
    if not any(param.name == "rules_after" for param in command.params):
        command.params.append(click.Option(
            ["--rules", "rules_after"], type=click.Path(path_type=Path), expose_value=False,
            callback=_rules_after_command, help=RULES_HELP))
    for sub in getattr(command, "commands", {}).values():
        take_rules_option(sub)
    return command


class MailflowGroup(click.Group):
    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in COMMAND_MODULES:
            importlib.import_module(f"{__name__}.{COMMAND_MODULES[name]}")
        command = super().get_command(ctx, name)
        return take_rules_option(command) if command is not None else None

    def list_commands(self, ctx: click.Context) -> list[str]:
        for module in sorted(set(COMMAND_MODULES.values())):
            importlib.import_module(f"{__name__}.{module}")
        return super().list_commands(ctx)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MailflowError as exc:
            raise click.ClickException(str(exc)) from None
        except sqlite3.DatabaseError as exc:
            if type(exc) is sqlite3.DatabaseError:   # "malformed", "not a database": a damaged file (not a constraint)
                from ..database import damaged  # (sqlite-utils is imported in entry(), without numpy)

                raise click.ClickException(damaged(exc)) from None
            _weather(ctx, exc)
            raise
        except OSError as exc:
            _weather(ctx, exc)
            raise


def _weather(ctx: click.Context, exc: BaseException) -> None:
    """A full disk, a lock held too long or a failing disk in any command: its line and what to do (`mailflow
    release` on a full disk ended in a traceback). Every step rolled back; the journal kept what was sent."""
    from ..database import storage_trouble

    try:
        database = load_rules((ctx.obj or {})["rules_path"]).database_path
    except Exception:  # noqa: BLE001  (the rules may be the trouble: the line then names their folder)
        database = Path((ctx.obj or {}).get("rules_path", "rules.yaml")).resolve()
    trouble = storage_trouble(exc, database)
    if trouble is not None:
        raise click.ClickException(f"{trouble}; what was done is kept: run the command again then") from None


@click.group(cls=MailflowGroup)
@click.option(
    "--rules", "rules_path", type=click.Path(path_type=Path), default=Path("rules.yaml"), envvar="MAILFLOW_RULES",
    show_default=True, show_envvar=True, help=RULES_HELP,
)
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail.")
@click.pass_context
def main(ctx: click.Context, rules_path: Path, verbose: bool) -> None:
    """mailflow: reads the coordinators' inboxes, classifies, records and answers."""
    ctx.ensure_object(dict)
    ctx.obj["rules_path"] = rules_path
    # Given on the command line (not the default, not MAILFLOW_RULES): else `demo` uses the shipped project
    # and `init` writes into the current folder.
    given = ctx.get_parameter_source("rules_path") == click.core.ParameterSource.COMMANDLINE
    ctx.obj["rules_given"] = rules_path if given else None
    ctx.obj["verbose"] = verbose


# Packages no dependency of mailflow needs, which sqlite-utils imports when they happen to be
# installed, for their number types: numpy alone took a tenth of a second of every start and
# started a thread pool. They count as absent while sqlite-utils is imported, as in a fresh
# install; afterwards whatever else wants them (a full fasttext build wants numpy) finds them.
UNUSED_OPTIONAL_PACKAGES = ("numpy", "pandas")


def entry() -> None:
    """The `mailflow` command (pyproject's script and `python -m mailflow`)."""
    absent = [name for name in UNUSED_OPTIONAL_PACKAGES if name not in sys.modules]
    for name in absent:
        sys.modules[name] = None  # type: ignore[assignment]  # None in sys.modules: "not installed"
    try:
        import sqlite_utils  # noqa: F401  # imported here, without them
    finally:
        for name in absent:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]
    main()


__all__ = ["entry", "main"]
