"""Every command is documented in README.md (as sqlite-utils checks its own), found through the lazy map, and
takes --rules before or after its name (and MAILFLOW_RULES)."""

import importlib
import pkgutil
import re

import click
import pytest
from click.testing import CliRunner

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


# Arguments each command needs to get as far as reading its rules (files that must exist are made
# by the test). A new command needs its line here: the test below says so.
ARGUMENTS = {
    "approve": ["a@example.org"], "archive answer": [], "check": [],
    "classify": ["{file}", "--mailbox", "international"], "demo": ["--output", "{folder}/out"],
    "explain": ["1"], "import registrants": ["{file}"], "invite": ["{file}"], "export-person": ["a@example.org"],
    "forget": ["a@example.org", "--yes"], "init": [],
    "outbox": [], "outbox cancel": ["1"], "outbox retry": ["1"], "purge": ["--dry-run"], "questions": [],
    "registrants": [], "registrants add": ["a@example.org", "--name", "Ana Beridze"],
    "registrants confirm": ["<a@example.org>"], "release access": ["--link", "https://example.org/m", "--yes"],
    "release agenda": ["--text", "{file}", "--yes"], "release followup": ["--text", "{file}", "--yes"],
    "replay": ["--with", "{file}"], "run": ["--once"], "set-audience": ["a@example.org", "german"],
    "set-name": ["a@example.org", "Ana Beridze"],
    "set-status": ["a@example.org", "cancelled"], "status": [],
}
GROUPS_ALONE = {"archive", "import", "release"}   # only show their subcommands: nothing to read rules for


def rules_positions(path: tuple[str, ...], arguments: list[str], rules: str) -> dict[str, list[str]]:
    """`--rules` before the command, after it and its arguments, and between a group and its subcommand."""
    positions = {"before": ["--rules", rules, *path, *arguments], "after": [*path, *arguments, "--rules", rules]}
    if len(path) > 1:
        positions["between"] = [path[0], "--rules", rules, *path[1:], *arguments]
    return positions


def test_every_command_is_in_the_table_of_arguments():
    assert {" ".join(path) for path in command_paths(main)} - GROUPS_ALONE == set(ARGUMENTS)


@pytest.mark.parametrize("path", [tuple(words.split()) for words in ARGUMENTS], ids=" ".join)
def test_every_command_takes_rules_before_and_after_its_name(path, tmp_path, monkeypatch):
    """Each command reads the file --rules names wherever it stands: a file that is not there is
    reported by its path (init writes it)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "some.txt").write_text("Agenda\n")
    (tmp_path / "rules.yaml").write_text("not: [the rules meant\n")   # found only by a command that ignores --rules
    for position, argv in rules_positions(path, ARGUMENTS[" ".join(path)], "elsewhere/{position}/rules.yaml").items():
        folder = tmp_path / position
        folder.mkdir()
        argv = [arg.format(file=tmp_path / "some.txt", folder=folder, position=position) for arg in argv]
        result = CliRunner().invoke(main, argv)
        rules = f"elsewhere/{position}/rules.yaml"
        if path == ("init",):
            assert result.exit_code == 0 and (tmp_path / rules).is_file(), (position, result.output)
        else:
            assert result.exit_code != 0 and f"{rules}: file not found" in result.output, (position, result.output)


def test_mailflow_rules_in_the_environment_names_the_rules_and_the_command_line_wins(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MAILFLOW_RULES", "from-env.yaml")
    assert "from-env.yaml: file not found" in CliRunner().invoke(main, ["status"]).output
    assert "given.yaml: file not found" in CliRunner().invoke(main, ["status", "--rules", "given.yaml"]).output
    assert "given.yaml: file not found" in CliRunner().invoke(main, ["--rules", "given.yaml", "status"]).output


def test_rules_given_twice_must_agree(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    twice = CliRunner().invoke(main, ["--rules", "a.yaml", "outbox", "--rules", "b.yaml", "retry", "1"])
    assert twice.exit_code == 2 and "--rules is given twice, a.yaml and b.yaml" in twice.output
    same = CliRunner().invoke(main, ["--rules", "a.yaml", "status", "--rules", "a.yaml"])
    assert "a.yaml: file not found" in same.output
