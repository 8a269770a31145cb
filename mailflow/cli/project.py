"""`mailflow init`: a new project (rules.yaml and templates) to edit."""

from __future__ import annotations

from pathlib import Path

import click

from ..clock import system_clock
from ..starter import init_project
from . import main


@main.command()
@click.argument("folder", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.pass_context
def init(ctx: click.Context, folder: Path | None) -> None:
    """Write a commented rules.yaml (an event a month from today, to edit) and the templates into FOLDER
    [default: where --rules points, else here; not where MAILFLOW_RULES points]. Overwrites nothing."""
    given = ctx.obj["rules_given"]
    if folder is not None and given is not None:
        raise click.UsageError("give the FOLDER or --rules, not both", ctx)
    rules_path = folder / "rules.yaml" if folder is not None else given or Path("rules.yaml")
    written = init_project(rules_path, system_clock().date())
    check = "mailflow check" if rules_path == Path("rules.yaml") else f"mailflow check --rules {rules_path}"
    click.echo(f"wrote {rules_path} and {len(written) - 1} templates in {rules_path.parent / 'templates'}: put your "
               f"event and mailboxes into {rules_path}, then run `{check}`")
