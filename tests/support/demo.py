"""The demo project: rules.yaml with the database in out/, a copy of the sample Maildirs, the demo's pass."""

from __future__ import annotations

import shutil
from pathlib import Path

from mailflow.demo import run_demo
from mailflow.rules import load_rules

from . import REPO
from .rules import write_rules

DEMO_DATABASE = "out/mailflow-demo.db"   # where `mailflow demo --output out` keeps it


def write_demo_rules(folder: Path, **overrides) -> Path:
    """folder/rules.yaml as `write_rules` writes it, with the database where the demo keeps it."""
    return write_rules(folder, database=DEMO_DATABASE, **overrides)


def demo_pass(project: Path):
    """One pass of the demo pipeline over project/maildir into project/out."""
    return run_demo(load_rules(project / "rules.yaml"), project / "maildir", project / "out")


def demo_project(folder: Path, *, run: bool = True, **overrides) -> Path:
    """The samples (copied, so a test can add mails) with `write_demo_rules(folder, **overrides)`,
    after one demo pass unless not `run`; returns folder."""
    write_demo_rules(folder, **overrides)
    shutil.copytree(REPO / "samples/maildir", folder / "maildir")
    if run:
        demo_pass(folder)
    return folder


def shipped_project(folder: Path) -> Path:
    """rules.yaml, templates/ and samples/ copied as shipped (the 2020 event, relative paths), for
    `mailflow demo` and `mailflow check` as a new user runs them; returns the rules path."""
    shutil.copy(REPO / "rules.yaml", folder / "rules.yaml")
    shutil.copytree(REPO / "templates", folder / "templates")
    shutil.copytree(REPO / "samples", folder / "samples")
    return folder / "rules.yaml"
