"""Every command is documented in README.md (as sqlite-utils checks its own) and found through the lazy map."""

import importlib
import pkgutil
import re

import click
import pytest

import mailflow.cli as cli
from mailflow.cli import main
from tests.support import REPO


def command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """("outbox",), ("outbox", "retry"), ...: every command and subcommand, the group's own too."""
    ctx = click.Context(group)
    paths = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        paths.append((*prefix, name))
        if isinstance(command, click.Group):
            paths += command_paths(command, (*prefix, name))
    return paths


def code_spans(text: str) -> list[str]:
    """What README.md writes as `code`: the `mailflow ` in front is optional (`outbox retry ID`)."""
    return [span.removeprefix("mailflow ") for span in re.findall(r"`([^`\n]+)`", text)]


@pytest.mark.parametrize("path", command_paths(main), ids=" ".join)
def test_every_command_has_help_and_is_in_the_readme(path):
    command = main
    for name in path:
        command = command.get_command(click.Context(command), name)
    assert command.help or command.short_help, f"mailflow {' '.join(path)} has no help text"
    spans = code_spans((REPO / "README.md").read_text())
    words = " ".join(path)
    assert any(span == words or span.startswith(words + " ") for span in spans), (
        f"README.md does not show `mailflow {words} ...`: add it to the table of commands")


def test_every_command_is_found_through_the_lazy_map():
    """`mailflow NAME` imports only NAME's module: the map must name every command's module."""
    for module in pkgutil.iter_modules(cli.__path__):
        importlib.import_module(f"mailflow.cli.{module.name}")
    assert set(main.commands) == set(cli.COMMAND_MODULES)
    for name, module in cli.COMMAND_MODULES.items():
        assert main.commands[name].callback.__module__ == f"mailflow.cli.{module}"
