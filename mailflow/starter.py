"""The shipped project (rules.yaml, templates/, samples/maildir/) and `mailflow init`, which starts a new one.

A checkout keeps the project at the repository's top; the wheel carries the same files in
`mailflow/shipped/` (pyproject.toml maps that package to the top folder). `shipped()` finds them
either way. `new_rules()` is pure: the shipped rules.yaml, comments kept, its event moved a month ahead.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

from .errors import MailflowError

AHEAD = timedelta(days=30)   # `mailflow init`'s event: a month from today, for the coordinator to edit
_DATE_TIME = re.compile(r"^(?P<key>\s+(?:start|end): )(?P<date>\d{4}-\d{2}-\d{2})(?P<rest>T\S+)$", re.MULTILINE)
_ID = re.compile(r"^(?P<key>  - id: )\S+$", re.MULTILINE)
_TITLE = re.compile(r"^(?P<key>    title: ).+$", re.MULTILINE)


class ProjectExists(MailflowError):
    """`mailflow init` would overwrite files; it writes nothing."""


def shipped() -> Path:
    """The folder holding the shipped rules.yaml, templates/ and samples/maildir/."""
    package = Path(__file__).resolve().parent
    installed = package / "shipped"
    return installed if installed.is_dir() else package.parent


def new_rules(shipped_text: str, today: date) -> str:
    """The shipped rules.yaml for a new event: its events moved so the first starts a month after
    `today` (same times of day), the first event's id and title to be replaced, a header saying what
    to edit. Every comment is kept."""
    found = list(_DATE_TIME.finditer(shipped_text))
    if not found or not _ID.search(shipped_text) or not _TITLE.search(shipped_text):
        raise MailflowError("the shipped rules.yaml has no event with id, title, start and end to start from")
    shift = today + AHEAD - date.fromisoformat(found[0]["date"])

    def moved(match: re.Match[str]) -> str:
        return f"{match['key']}{date.fromisoformat(match['date']) + shift}{match['rest']}"

    text = _DATE_TIME.sub(moved, shipped_text)
    text = _ID.sub(lambda m: f"{m['key']}my-event", text, count=1)
    text = _TITLE.sub(lambda m: f"{m['key']}The title of your event", text, count=1)
    header = (f"# Written by `mailflow init` on {today}: the sample event, a month ahead. Put your own in its\n"
              "# place (id, title, start, end, timezone, venue, keywords), your two mailboxes with their\n"
              "# servers and coordinators, and the templates' wording; then run `mailflow check`.\n"
              "# Choose the id before anyone registers: the database knows its registrants by it.\n")
    return header + text


def init_project(rules_path: Path, today: date) -> list[Path]:
    """Write a new rules.yaml at `rules_path` (see `new_rules`) and the shipped templates beside it,
    in `templates/`; returns the files written. Overwrites nothing: when any of them exists, raises
    ProjectExists naming them, having written none; a write that fails takes back those before it."""
    source = shipped()
    templates = sorted(path for path in (source / "templates").iterdir() if path.is_file())
    folder = rules_path.parent
    targets = {rules_path: new_rules((source / "rules.yaml").read_text(encoding="utf-8"), today)}
    targets.update({folder / "templates" / path.name: path.read_text(encoding="utf-8") for path in templates})
    existing = [str(path) for path in targets if path.exists()]
    if existing:
        raise ProjectExists(f"these files exist already: {', '.join(existing)}; nothing was written (move them "
                            "away, or give `mailflow init` another folder)")
    written: list[Path] = []
    try:
        (folder / "templates").mkdir(parents=True, exist_ok=True)
        for path, text in targets.items():
            with path.open("x", encoding="utf-8") as file:   # "x": never over a file that appeared meanwhile
                written.append(path)
                file.write(text)
    except OSError as exc:
        for path in written:   # all or nothing: a second `mailflow init` finds no file of the first
            path.unlink(missing_ok=True)
        raise MailflowError(f"cannot write {exc.filename or folder}: {exc.strerror or exc}; nothing was "
                            "written") from None
    return list(targets)
