"""Reply templates: Jinja2 in a sandbox, with StrictUndefined so a typo fails `mailflow check`.

A template file is a `Subject: ...` line, a blank line, then the plain-text body,
so a coordinator can edit it like a mail.
"""

from __future__ import annotations

import difflib
import re
import traceback
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from .errors import RulesProblem
from .message import clean
from .rules import Event, Rules


@dataclass(frozen=True)
class RenderedReply:
    subject: str
    text: str


class TemplateProblem(Exception):
    def __init__(self, problem: RulesProblem):
        super().__init__(str(problem))
        self.problem = problem


class Replies:
    """Renders the reply templates named in rules.yaml."""

    def __init__(self, templates_dir: Path):
        self.dir = templates_dir
        self.env = SandboxedEnvironment(
            loader=jinja2.FileSystemLoader(str(templates_dir)),
            undefined=jinja2.StrictUndefined,
            # Plain-text templates as they are; any .html template is escaped (a name like
            # "<script>" stays text).
            autoescape=jinja2.select_autoescape(["html", "htm", "xml"], default_for_string=False),
            keep_trailing_newline=True,
        )

    def render(self, name: str, context: dict[str, Any]) -> RenderedReply:
        path = self.dir / name
        try:
            output = self.env.get_template(name).render(**context)
        except jinja2.TemplateNotFound:
            raise TemplateProblem(RulesProblem(path, None, "template file not found", f"create it in {self.dir}")) from None
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateProblem(RulesProblem(path, exc.lineno, f"template syntax error: {exc.message}")) from None
        except jinja2.UndefinedError as exc:
            raise TemplateProblem(_undefined_problem(path, exc, context)) from None
        except jinja2.TemplateError as exc:
            raise TemplateProblem(RulesProblem(path, _template_line(exc, path), f"template error: {exc}")) from None
        return _split(output, path)


def _split(output: str, path: Path) -> RenderedReply:
    first, _, rest = output.lstrip("\n").partition("\n")
    if not first.lower().startswith("subject:"):
        raise TemplateProblem(RulesProblem(path, 1, "the first line must be 'Subject: ...'", "then a blank line, then the text"))
    subject = clean(first.split(":", 1)[1])
    if not subject:
        raise TemplateProblem(RulesProblem(path, 1, "the subject is empty"))
    return RenderedReply(subject=subject, text=rest.lstrip("\n").rstrip() + "\n")


def _template_line(exc: BaseException, path: Path) -> int | None:
    line = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == str(path):
            line = lineno
    return line


def _undefined_problem(path: Path, exc: jinja2.UndefinedError, context: dict[str, Any]) -> RulesProblem:
    match = re.search(r"'([^']+)' (?:is undefined|has no attribute '([^']+)')", str(exc.message))
    hint = ""
    if match:
        missing = match.group(2) or match.group(1)
        # Jinja names the owner only as 'dict object': offer every known name, nested ones too.
        names = list(context) if not match.group(2) else sorted(
            {key for value in context.values() if isinstance(value, dict) for key in value}
        )
        close = difflib.get_close_matches(missing, names, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"available: {', '.join(names)}"
    return RulesProblem(path, _template_line(exc, path), f"undefined template variable: {exc.message}", hint)


GERMAN_MONTHS = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
                 "Oktober", "November", "Dezember")


def person_name(display_name: str) -> str:
    """"Weber, Thomas" (as Outlook writes it) becomes "Thomas Weber" for a greeting."""
    last, comma, first = display_name.partition(",")
    if comma and first.strip() and last.strip() and "," not in first:
        return f"{first.strip()} {last.strip()}"
    return display_name


# What a display name must not have to be used in a greeting: an address, a link, markup, the
# punctuation of a sentence, or a list ("Bcc: x@evil.example", "www.shop.example", "Please register
# me!", "Stadt Leipzig, Referat Digitales, Team 3"); "Weber, Thomas" is "Thomas Weber" by then.
_NOT_A_NAME = re.compile(r"@|://|\bwww\.|[!?:;,<>()\[\]{}|\\/=#$%*\"_]")
_SENTENCE_END = re.compile(r"\w{5,}\.$")     # "…register." ends a sentence; "Dr." or "Jr." a name
MAX_NAME_LENGTH, MAX_NAME_WORDS = 60, 6


def greeting_name(display_name: str) -> str:
    """The display name when it looks like a person's name, else "" (the template's neutral greeting)."""
    name = person_name(clean(display_name))
    if not (2 <= len(name) <= MAX_NAME_LENGTH) or len(name.split()) > MAX_NAME_WORDS:
        return ""
    if _NOT_A_NAME.search(name) or _SENTENCE_END.search(name) or not any(c.isalpha() for c in name):
        return ""
    return name


def registrant_context(display_name: str, address: str) -> dict[str, str]:
    name = greeting_name(display_name)
    return {"name": name, "address": address, "first_name": name.split(" ")[0] if name else ""}


def event_context(event: Event) -> dict[str, Any]:
    start, end = event.starts_at, event.ends_at
    closes = event.registration_closes_at
    return {
        "id": event.id,
        "title": event.title,
        "venue": event.venue,
        "language": event.language,
        "timezone": event.timezone,
        "date": start.strftime("%-d %B %Y"),
        "date_de": f"{start.day}. {GERMAN_MONTHS[start.month - 1]} {start.year}",
        "start": start.strftime("%H:%M"),
        "end": end.strftime("%H:%M"),
        "zone_abbreviation": start.tzname() or event.timezone,
        "registration_closes": f"{closes:%-d %B %Y, %H:%M} {closes.tzname()}",
        "registration_closes_de": f"{closes.day}. {GERMAN_MONTHS[closes.month - 1]} {closes.year}, "
                                  f"{closes:%H:%M} Uhr {closes.tzname()}",
    }


def reply_context(
    rules: Rules, event: Event, mailbox: str, name: str, address: str, subject: str, *, now: datetime,
    next_event: Event | None = None, in_time: bool = True,
) -> dict[str, Any]:
    """The variables of a reply written at `now`: `event.over` says whether the event is over by
    then; `next_event` (or none) and `registration.in_time` serve the registration-closed reply."""
    box = rules.mailboxes[mailbox]
    return {
        "event": {**event_context(event), "over": event.over(now)},
        "next_event": event_context(next_event) if next_event else None,
        "registration": {"in_time": in_time},
        "registrant": registrant_context(name, address),
        "coordinator": {"name": box.coordinator, "address": box.address},
        "message": {"subject": subject},
    }


def sample_context(rules: Rules, mailbox: str) -> dict[str, Any]:
    """Every variable a reply may use; the registration-closed branches that name a next event
    and a late mail are the ones filled in."""
    event = rules.events[0]
    return reply_context(
        rules, event, mailbox, "Nino Beridze", "nino.beridze@tbilisi.example", "Participation",
        now=event.starts_at, next_event=rules.events[-1], in_time=False,
    )


# What on_behalf templates add to a reply's variables: who registered the person (confirmation),
# whom mailflow registered and whether the sender too (summary).
SAMPLE_ON_BEHALF = {
    "registered_by": {"name": "Nino Kapanadze", "address": "n.kapanadze@tbilisi.example"},
    "registered": [{"name": "Giorgi Beridze", "address": "g.beridze@tbilisi.example", "already": False}],
    "sender_registered": True,
}


def check_templates(rules: Rules) -> list[RulesProblem]:
    """Render every template rules.yaml names with sample data; list what fails.

    The samples set every variable, so StrictUndefined catches misspelt names; a
    template must still cope with `access` and `agenda` being none (not released).
    """
    replies = Replies(rules.templates_path)
    problems: list[RulesProblem] = []
    for intent, by_audience in rules.replies.items():
        for audience, name in by_audience.items():
            try:
                replies.render(name, sample_context(rules, rules.mailbox_for_audience(audience)))
            except TemplateProblem as exc:
                problems.append(exc.problem)
    for kind, by_audience in rules.on_behalf.items():
        for audience, name in by_audience.items():
            try:
                replies.render(name, {**sample_context(rules, rules.mailbox_for_audience(audience)),
                                      **SAMPLE_ON_BEHALF})
            except TemplateProblem as exc:
                problems.append(exc.problem)
    from .releases import sample_announcement_context

    for kind, by_audience in rules.announcements.items():
        for audience, name in by_audience.items():
            try:
                replies.render(name, sample_announcement_context(rules, rules.mailbox_for_audience(audience)))
            except TemplateProblem as exc:
                problems.append(exc.problem)
    if not rules.templates_path.is_dir():
        problems.append(RulesProblem(rules.source, None, f"templates folder {rules.templates_path} does not exist"))
    return problems
