"""Reply templates: Jinja2 in a sandbox, with StrictUndefined so a typo fails `mailflow check`.

A template file is a `Subject: ...` line, a blank line, then the plain-text body,
so a coordinator can edit it like a mail. This module only loads, renders and
checks; what a template may say (its context) is context.py.
"""

from __future__ import annotations

import difflib
import re
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from .context import SAMPLE_ON_BEHALF, sample_announcement_context, sample_context
from .errors import RulesProblem
from .message import clean
from .rules import Rules


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
            raise TemplateProblem(
                RulesProblem(path, None, "template file not found", f"create it in {self.dir}")) from None
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
        raise TemplateProblem(
            RulesProblem(path, 1, "the first line must be 'Subject: ...'", "then a blank line, then the text"))
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


def check_templates(rules: Rules) -> list[RulesProblem]:
    """Render every template rules.yaml names with sample data; list what fails.

    The samples set every variable, so StrictUndefined catches misspelt names; a
    template must still cope with `access` and `agenda` being none (not released).
    """
    replies = Replies(rules.templates_path)
    problems: list[RulesProblem] = []
    def each(templates: Mapping[Any, dict[str, str]]) -> list[tuple[str, str]]:
        """(mailbox, template) for every audience a kind of template names."""
        return [(rules.mailbox_for_audience(audience), name)
                for by_audience in templates.values() for audience, name in by_audience.items()]

    samples = [(name, sample_context(rules, box)) for box, name in each(rules.replies)]
    samples += [(name, {**sample_context(rules, box), **SAMPLE_ON_BEHALF}) for box, name in each(rules.on_behalf)]
    samples += [(name, sample_announcement_context(rules, box)) for box, name in each(rules.announcements)]
    for name, context in samples:
        try:
            replies.render(name, context)
        except TemplateProblem as exc:
            problems.append(exc.problem)
    if not rules.templates_path.is_dir():
        problems.append(RulesProblem(rules.source, None, f"templates folder {rules.templates_path} does not exist"))
    return problems
