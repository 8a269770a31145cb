"""rules.yaml files for tests and benchmarks: the shipped one, its event a month ahead, any key overridden.

The shipped event (7 October 2020) is over: run against today's clock every registration would get
the "registration closed" reply. Whatever is not about dates moves it a month ahead; tests about
dates pass ``ahead=False`` and pin the clock instead.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import yaml

from mailflow.rules import Rules, parse_rules

from . import REPO

PASSWORD_ENV = "MAILFLOW_TEST_PASSWORD"   # where rules on the test servers read the password from
MAILBOX_USERS = {"international": "intl@example.org", "german": "german@example.org"}   # servers.DEFAULT_USERS

# "Billion laughs" in YAML, 414 bytes: each line nine times the one above, ~10^9 nodes written out.
ALIAS_BOMB = (
    "lol: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    "lob: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    "loc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
    "lod: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
    "loe: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
    "lof: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
    "log: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
    "loh: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
    "loi: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]\n"
)


def rules_data(*, ahead: bool = True, source: Path = REPO, **overrides) -> dict:
    """`source`'s rules.yaml as data, its events a month from today (same times of day) unless not
    `ahead`, the daily digest off, then every key in `overrides` replaced."""
    data = yaml.safe_load((source / "rules.yaml").read_text())
    for box in data["mailboxes"].values():
        # The daily digest is on by default and due at 08:00: a test on today's clock would get one
        # more mail after that hour. Tests of the digest turn it on (`enabled: true`).
        box["digest"] = {**(box.get("digest") or {}), "enabled": False}
    if ahead:
        for event in data["events"]:
            start, end = datetime.fromisoformat(str(event["start"])), datetime.fromisoformat(str(event["end"]))
            shift = timedelta(days=(date.today() + timedelta(days=30) - start.date()).days)
            event["start"], event["end"] = (start + shift).isoformat(), (end + shift).isoformat()
    return {**data, **overrides}


def upcoming_rules(**overrides) -> Rules:
    """The shipped rules, the event a month ahead, `overrides` applied; paths as shipped (no file written)."""
    return parse_rules(yaml.safe_dump(rules_data(**overrides), allow_unicode=True), REPO / "rules.yaml")


def write_rules(folder: Path, dovecot=None, smtp=None, *, ahead: bool = True, source: Path = REPO,
                mailbox: dict | None = None, **overrides) -> Path:
    """folder/rules.yaml: `source`'s rules (see `rules_data`), the database folder/mailflow.db, the
    templates of `source`.

    With `dovecot` and `smtp` (anything with host and port) both mailboxes use them, in plain text,
    the password from $MAILFLOW_TEST_PASSWORD; sending is unthrottled and a mail counts as delivered
    once sent (bounce_grace_minutes 0). `mailbox` is merged into both mailboxes' settings
    (`{"sent_copy": "none", "imap": {"idle": False}}`; a None drops that key of a nested setting);
    `overrides` replace top-level keys last.
    """
    data = rules_data(ahead=ahead, source=source, database=str(folder / "mailflow.db"),
                      templates=str(source / "templates"))
    for name, user in MAILBOX_USERS.items():
        box = data["mailboxes"][name]
        if dovecot is not None:
            box["imap"] = {"host": dovecot.host, "port": dovecot.port, "security": "none", "username": user,
                           "password_env": PASSWORD_ENV, "timeout": 10}
        if smtp is not None:
            box["smtp"] = {"host": smtp.host, "port": smtp.port, "security": "none", "timeout": 10}
        for key, value in (mailbox or {}).items():
            merged = {**box.get(key, {}), **value} if isinstance(value, dict) else value
            box[key] = {k: v for k, v in merged.items() if v is not None} if isinstance(value, dict) else value
    if dovecot is not None or smtp is not None:
        data.update(send_rate_per_minute=0, bounce_grace_minutes=0)
    data.update(overrides)
    path = folder / "rules.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


SHIPPED = (REPO / "rules.yaml").read_text()


def problems(text: str) -> list[str]:
    """The problems parse_rules reports for a rules.yaml text (as "rules.yaml:LINE: ..."); it must report some."""
    import pytest

    from mailflow.errors import RulesError

    with pytest.raises(RulesError) as caught:
        parse_rules(text, Path("rules.yaml"))
    return [str(p) for p in caught.value.problems]


def line_of(text: str, needle: str) -> int:
    """The first line of `text` holding `needle` (1-based)."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)
