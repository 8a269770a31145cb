"""Reply templates: Jinja2 in a sandbox, with StrictUndefined so a typo fails `mailflow check`.

A template file is a `Subject: ...` line, a blank line, then the plain-text body,
so a coordinator can edit it like a mail. This module only loads, renders and
checks; what a template may say (its context) is context.py.
"""

from __future__ import annotations

import difflib
import os
import re
import string
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.loaders import split_template_path
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

from .context import (
    SAMPLE_ON_BEHALF,
    digest_template,
    sample_announcement_context,
    sample_contexts,
    sample_digest_context,
)
from .errors import MailflowError, RulesProblem, not_utf8
from .message import clean
from .rules import Rules


@dataclass(frozen=True)
class RenderedReply:
    subject: str
    text: str


class TemplateProblem(MailflowError):   # a command that renders one stops with its file and line
    def __init__(self, problem: RulesProblem):
        super().__init__(str(problem))
        self.problem = problem


# What one rendering may build. Jinja's sandbox keeps a template from reaching Python's insides and
# bounds range() (MAX_RANGE, 100,000 items), but not size or time: `'A' * 5000000000` asks for 5 GB,
# two nested loops of 100,000 run for hours. A reply is a few kilobytes.
MAX_TEXT = 1_000_000          # characters of a rendered template, and of any text or list it builds
MAX_LOOP_STEPS = 100_000      # loop iterations in one rendering, all loops together
MAX_NUMBER_DIGITS = 4_300     # Python's own limit for printing an integer


class TemplateLimit(jinja2.TemplateRuntimeError):
    """A template asked for more than a reply may be; the message names the limit."""


def _size(value: Any) -> int | None:
    """Characters of a text, items of a list (a text item counting its characters); None otherwise."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, (list, tuple)):
        return sum(len(item) if isinstance(item, str) else 1 for item in value)
    return None


def _digits(value: int) -> int:
    return int(abs(value).bit_length() * 0.30103) + 1


class _TextBuffer(list[Any]):
    """The list Jinja collects a macro's, a `{% set %}` block's or a call block's output in."""

    def __init__(self) -> None:
        super().__init__()
        self.chars = 0

    def append(self, piece: Any) -> None:
        self._count(piece)
        super().append(piece)

    def extend(self, pieces: Any) -> None:
        # One at a time: `pieces` may be the whole rendering, as it is made. The loop counts in a
        # local (not through append() per piece): this is every reply's whole output.
        chars, add = self.chars, super().append
        for piece in pieces:
            if isinstance(piece, str):
                chars += len(piece)
                if chars > MAX_TEXT:
                    self.chars = chars
                    _too_long()
            add(piece)
        self.chars = chars

    def _count(self, piece: Any) -> None:
        self.chars += len(piece) if isinstance(piece, str) else 0
        if self.chars > MAX_TEXT:
            _too_long()


def _too_long() -> None:
    raise TemplateLimit(f"the template writes more than {MAX_TEXT:,} characters (the limit)")


class _LimitsCodeGenerator(CodeGenerator):
    """Jinja's compiler with every loop counted and every output buffer bounded."""

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        counted = nodes.Call(nodes.EnvironmentAttribute("counted"), [node.iter], [], None, None, lineno=node.lineno)
        super().visit_For(nodes.For(node.target, counted, node.body, node.else_, node.test, node.recursive,
                                    lineno=node.lineno), frame)

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.bounded(")
        super().visit_Concat(node, frame)
        self.write(")")

    def buffer(self, frame: Frame) -> None:
        frame.buffer = self.temporary_identifier()
        self.writeline(f"{frame.buffer} = environment.text_buffer()")


class LimitedEnvironment(SandboxedEnvironment):
    """The sandbox with MAX_TEXT, MAX_LOOP_STEPS and MAX_NUMBER_DIGITS enforced; one rendering at a
    time (`start()` resets the loop count)."""

    code_generator_class = _LimitsCodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})
    text_buffer = _TextBuffer

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.loop_steps = 0
        self.filters.update(center=_width_checked("center"), indent=_width_checked("indent"),
                            format=_width_checked("format", check_text=True))

    def start(self) -> None:
        self.loop_steps = 0

    def counted(self, iterable: Any) -> Any:
        for item in iterable:
            self.loop_steps += 1
            if self.loop_steps > MAX_LOOP_STEPS:
                raise TemplateLimit(f"the template's loops run more than {MAX_LOOP_STEPS:,} times (the limit)")
            yield item

    def concat(self, pieces: Any) -> str:   # the whole output, and every buffer
        buffer = _TextBuffer()
        buffer.extend(pieces)
        return "".join(buffer)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for sequence, times in ((left, right), (right, left)):
                size = _size(sequence)
                if size is not None and isinstance(times, int) and size * times > MAX_TEXT:
                    raise TemplateLimit(f"'*' would make a text or list of {size * times:,} characters or items; "
                                        f"the limit is {MAX_TEXT:,}")
            if isinstance(left, int) and isinstance(right, int) and _digits(left) + _digits(right) > MAX_NUMBER_DIGITS:
                raise TemplateLimit(f"'*' would make a number of more than {MAX_NUMBER_DIGITS:,} digits (the limit)")
        if operator == "**" and isinstance(left, int) and isinstance(right, int) \
                and (abs(left).bit_length() - 1) * right * 0.30103 > MAX_NUMBER_DIGITS:
            raise TemplateLimit(f"'**' would make a number of more than {MAX_NUMBER_DIGITS:,} digits (the limit)")
        if operator == "%" and isinstance(left, str):
            _check_widths(_percent_widths(left), "'%'")
        result = super().call_binop(context, operator, left, right)
        if operator == "+" and (_size(result) or 0) > MAX_TEXT:
            raise TemplateLimit(f"'+' made a text or list longer than {MAX_TEXT:,} (the limit)")
        return result

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        if isinstance(getattr(obj, "__self__", None), str):   # 'A'.ljust(5000000000), 'A'.zfill(...)
            _check_widths([value for value in (*args, *kwargs.values()) if isinstance(value, int)],
                          f"{getattr(obj, '__name__', 'a text method')}()")
        return super().call(context, obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:   # '{:>5000000000}'.format(1)
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:
            _check_widths(_format_widths(value.__self__), f"{value.__name__}()")
        return wrapped

    def bounded(self, text: str) -> str:
        """`a ~ b`: each part is within the limits, so the result is at most a few times them."""
        if len(text) > MAX_TEXT:
            raise TemplateLimit(f"'~' made a text longer than {MAX_TEXT:,} characters (the limit)")
        return text


def _check_widths(widths: Iterable[int], what: str) -> None:
    for width in widths:
        if width > MAX_TEXT:
            raise TemplateLimit(f"{what} with {width:,} is above the limit of {MAX_TEXT:,} characters")


def _percent_widths(text: str) -> list[int]:
    return [int(width) for width in re.findall(r"%(?:\([^)]*\))?[-#0 +]*(\d+)", text)]


def _format_widths(text: str) -> list[int]:
    try:
        specs = [spec for _, _, spec, _ in string.Formatter().parse(text) if spec]
    except ValueError:
        return []   # the sandbox's formatter says what is wrong with it
    return [int(width) for spec in specs for width in re.findall(r"\d+", spec)]


def _width_checked(name: str, check_text: bool = False) -> Callable[..., Any]:
    """A built-in filter whose number arguments (center's width, indent's) are bounded like a method's;
    `format` (with `%`) has its widths in the text."""
    method = jinja2.filters.FILTERS[name]

    def checked(value: Any, *args: Any, **kwargs: Any) -> Any:
        _check_widths(_percent_widths(str(value)) if check_text else
                      [arg for arg in (*args, *kwargs.values()) if isinstance(arg, int)], f"the {name} filter")
        return method(value, *args, **kwargs)

    return checked


class _SavedTemplates(jinja2.FileSystemLoader):
    """Templates as a coordinator's editor saved them: UTF-8 with Notepad's byte-order mark taken off (it hid
    the "Subject:" of the first line); text in another encoding is a problem at its line, with the fix.

    Each file is read once, the first time it is asked for, and kept: an edit made after that never reaches
    this set of templates (Jinja re-read a changed file by itself, so a daemon answered with a template that
    no check had seen). `changed()` says whether a file it read, or looked for, is now another on disk."""

    def __init__(self, folder: Path):
        super().__init__(str(folder))
        self._read: dict[str, tuple[str, str]] = {}   # template -> (source, file name), as first read
        # template -> (its file, (mtime, size) taken just before it was read, None when there was none)
        self._seen: dict[str, tuple[str, tuple[int, int] | None]] = {}

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        if template in self._read:
            return *self._read[template], _unchanged
        path = os.path.join(self.searchpath[0], *split_template_path(template))
        self._seen[template] = (path, _file_stamp(path))   # before reading: an edit after it shows as a change
        try:
            source, filename, _ = super().get_source(environment, template)
        except UnicodeDecodeError as exc:
            raise TemplateProblem(not_utf8(path, Path(path).read_bytes(), exc)) from None
        self._read[template] = (source.removeprefix("\ufeff"), filename)
        return *self._read[template], _unchanged

    def changed(self) -> bool:
        return any(_file_stamp(path) != stamp for path, stamp in self._seen.values())


def _unchanged() -> bool:
    return True


def _file_stamp(path: str) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_mtime_ns, status.st_size


class Replies:
    """Renders the reply templates named in rules.yaml, each as its file was when this set first read it: a
    daemon answers with the set it checked (`check_templates(rules, replies)`) until a new one passes."""

    def __init__(self, templates_dir: Path):
        self.dir = templates_dir
        self._loader = _SavedTemplates(templates_dir)
        self.env = LimitedEnvironment(
            loader=self._loader,
            auto_reload=False,   # (the loader keeps what it read; nothing to look at again)
            undefined=jinja2.StrictUndefined,
            # Plain-text templates as they are; any .html template is escaped (a name like
            # "<script>" stays text).
            autoescape=jinja2.select_autoescape(["html", "htm", "xml"], default_for_string=False),
            keep_trailing_newline=True,
        )
        # Each template as Jinja compiled it, by name: its get_template() took a lock, made a weak reference and
        # reordered its cache at every reply (the loader keeps what it read, so a template never changes here).
        self._templates: dict[str, jinja2.Template] = {}

    def changed(self) -> bool:
        """Whether a template file this set has read, or looked for in vain, is now different on disk (edited,
        replaced, removed, created): a new set would render otherwise."""
        return self._loader.changed()

    def source(self, name: str) -> str:
        """Template `name`'s text as this set read it (from its file, the first time)."""
        return self._loader.get_source(self.env, name)[0]

    def render(self, name: str, context: dict[str, Any]) -> RenderedReply:
        self.env.start()
        try:
            template = self._templates.get(name)
            if template is None:
                template = self._templates[name] = self.env.get_template(name)
            output = template.render(**context)
        except TemplateProblem:
            raise
        except Exception as exc:  # noqa: BLE001  whatever a template's expression raises is the template's problem
            raise TemplateProblem(self._problem(name, exc, context)) from None
        return _split(output, self.dir, name)

    def _problem(self, name: str, exc: Exception, context: dict[str, Any]) -> RulesProblem:
        """What went wrong in rendering template `name`, said of its file (whose path is made only here: pathlib
        joining it for every reply was a tenth of a rendering)."""
        path = self.dir / name
        if isinstance(exc, jinja2.TemplateNotFound):
            return RulesProblem(path, None, "template file not found", f"create it in {self.dir}")
        if isinstance(exc, jinja2.TemplateSyntaxError):
            return self._syntax_problem(path, name, exc)
        if isinstance(exc, jinja2.UndefinedError):
            return _undefined_problem(path, exc, context, self.source(name))
        if isinstance(exc, jinja2.TemplateError):
            return RulesProblem(path, _template_line(exc, path), f"template error: {exc}")
        if isinstance(exc, RecursionError):
            return RulesProblem(path, _template_line(exc, path), "the template calls itself without end (a macro, "
                                "include or recursive loop nested too deeply)")
        if isinstance(exc, MemoryError):
            return RulesProblem(path, _template_line(exc, path), "the template asks for more memory than there is")
        return RulesProblem(path, _template_line(exc, path), f"template error: {type(exc).__name__}: {exc}")

    def _syntax_problem(self, path: Path, name: str, exc: jinja2.TemplateSyntaxError) -> RulesProblem:
        """Jinja's syntax error, at the line of the block left open when that is the trouble: Jinja names
        the template's last line for an `{% if %}` that is never closed."""
        problem = RulesProblem(path, exc.lineno, f"template syntax error: {exc.message}")
        innermost = re.search(r"innermost block that needs to be closed is '(\w+)'", exc.message or "")
        if not innermost or not isinstance(self.env.loader, _SavedTemplates):
            return problem
        tag = innermost.group(1)
        stray = re.search(r"unknown tag '(\w+)'", exc.message or "")   # the end tag Jinja stopped at
        opened = _open_block_line(self.env, self.env.loader.get_source(self.env, name)[0], tag, exc.lineno,
                                  stray.group(1) if stray else "")
        if opened is None:
            return problem
        if (exc.message or "").startswith("Unexpected end of template"):
            return RulesProblem(path, opened, f"template syntax error: '{{% {tag} %}}' is never closed",
                                f"add '{{% end{tag} %}}' where its text ends")
        problem.message += f" (its '{{% {tag} %}}' is at line {opened})"
        return problem


def _open_block_line(env: jinja2.Environment, source: str, tag: str, until: int, stray: str) -> int | None:
    """The line of the innermost `{% tag %}` still open at line `until` (where the end tag `stray` is the
    error, not a close), or None."""
    opened: list[tuple[str, int]] = []
    awaiting_name = False
    try:
        for line, kind, value in env.lex(source):
            if line > until:
                break
            if kind == "block_begin":
                awaiting_name = True
            elif kind == "name" and awaiting_name:
                awaiting_name = False
                if value == stray and line == until:
                    break
                if value.startswith("end"):
                    match = next((i for i in range(len(opened) - 1, -1, -1) if opened[i][0] == value[3:]), None)
                    if match is not None:
                        del opened[match:]
                else:
                    opened.append((value, line))
    except jinja2.TemplateSyntaxError:
        return None
    return next((line for name, line in reversed(opened) if name == tag), None)


def _split(output: str, folder: Path, name: str) -> RenderedReply:
    first, _, rest = output.lstrip("\n").partition("\n")
    if not first.lower().startswith("subject:"):
        raise TemplateProblem(RulesProblem(folder / name, 1, "the first line must be 'Subject: ...'",
                                           "then a blank line, then the text"))
    subject = clean(first.split(":", 1)[1])
    if not subject:
        raise TemplateProblem(RulesProblem(folder / name, 1, "the subject is empty"))
    return RenderedReply(subject=subject, text=rest.lstrip("\n").rstrip() + "\n")


def _template_line(exc: BaseException, path: Path) -> int | None:
    line = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == str(path):
            line = lineno
    return line


def _undefined_problem(path: Path, exc: jinja2.UndefinedError, context: dict[str, Any], source: str) -> RulesProblem:
    line = _template_line(exc, path)
    match = re.search(r"'([^']+)' (?:is undefined|has no attribute '([^']+)')", str(exc.message))
    if not match:
        return RulesProblem(path, line, f"undefined template variable: {exc.message}")
    missing = match.group(2) or match.group(1)
    if not match.group(2):
        close = difflib.get_close_matches(missing, list(context), n=1)
        return RulesProblem(path, line, f"undefined template variable: {missing!r} is not one of the template's "
                                        "variables",
                            f"did you mean {close[0]!r}?" if close else f"available: {', '.join(context)}")
    # Jinja names the owner only as 'dict object' ("'dict object' has no attribute 'nmae'"): the template's
    # line names it ("registrant.nmae"); else every known name, nested ones too, is offered.
    owner = _owner_of(source, line, missing)
    value: Any = context
    for part in (owner or "").split("."):
        value = value.get(part) if isinstance(value, dict) else None
    names = sorted(value) if owner and isinstance(value, dict) else sorted(
        {key for value in context.values() if isinstance(value, dict) for key in value})
    close = difflib.get_close_matches(missing, names, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"available: {', '.join(names)}"
    said = f"{owner}.{missing} ({owner} has no {missing!r})" if owner else f"nothing has {missing!r}"
    return RulesProblem(path, line, f"undefined template variable: {said}", hint)


def _owner_of(source: str, line: int | None, missing: str) -> str:
    """What the template's line asks `missing` of ("registrant" in "{{ registrant.nmae }}"), or ''."""
    rows = source.splitlines()
    text = rows[line - 1] if line and line <= len(rows) else ""
    found = re.search(rf"([A-Za-z_]\w*(?:\.\w+)*)\.{re.escape(missing)}(?!\w)", text)
    return found.group(1) if found else ""


def check_templates(rules: Rules, replies: Replies | None = None) -> list[RulesProblem]:
    """Render every template rules.yaml names with sample data; list what fails.

    The samples set every variable, so StrictUndefined catches misspelt names; a
    template must still cope with `access` and `agenda` being none (not released).
    With `replies` (a new set), every template it will render is read and checked by it now.
    """
    folder = rules.templates_path
    if not folder.is_dir():   # (one problem, not one "not found" per template)
        beside = [p.name for p in folder.parent.iterdir() if p.is_dir()] if folder.parent.is_dir() else []
        near = difflib.get_close_matches(folder.name, beside, n=1)
        return [RulesProblem(rules.source, rules.line_of("templates"),
                             f"templates: the folder {folder} does not exist",
                             f"did you mean {near[0]}?" if near else
                             "name the folder that holds the templates, relative to rules.yaml's folder")]
    if replies is None:
        replies = Replies(rules.templates_path)
    problems: list[RulesProblem] = []
    named: dict[str, tuple[str, ...]] = {}   # template -> where rules.yaml names it first (for a file not found)

    def each(templates: Mapping[Any, dict[str, str]], section: str = "") -> list[tuple[str, str]]:
        """(mailbox, template) for every audience a kind of template names."""
        for kind, by_audience in templates.items():
            for audience, name in by_audience.items():
                named.setdefault(name, (section, kind, audience))
        return [(rules.mailbox_for_audience(audience), name)
                for by_audience in templates.values() for audience, name in by_audience.items()]

    samples = [(name, context) for box, name in each(rules.replies, "replies")
               for context in sample_contexts(rules, box)]
    samples += [(name, {**context, **SAMPLE_ON_BEHALF})
                for box, name in each(rules.on_behalf, "on_behalf") for context in sample_contexts(rules, box)]
    samples += [(name, sample_announcement_context(rules, box))
                for box, name in each(rules.announcements, "announcements")]
    samples += [(name, {**context, "access": {**context["access"], "changed": True,   # a changed link's branch
                                              "previous_link": "https://meet.example/old"}})
                for box, name in each(rules.announcements) for context in [sample_announcement_context(rules, box)]]
    samples += [(digest_template(box.language), sample_digest_context(rules, name))
                for name, box in rules.mailboxes.items() if box.digest.enabled]
    scanned: set[str] = set()   # templates looked at for single braces (each once, not once a sample)
    for name, context in samples:
        try:
            replies.render(name, context)
        except TemplateProblem as exc:
            problem = exc.problem
            if problem.message == "template file not found" and name in named:   # a typo in rules.yaml, at its line
                problem = _not_found(rules, name, named[name])
            if str(problem) not in map(str, problems):   # one template's problem, found in several branches
                problems.append(problem)
        else:
            if name not in scanned:
                scanned.add(name)
                problems.extend(_single_braces(replies.dir / name, replies.source(name), context))
    return problems


# "{ coordinator.name }": a placeholder with one brace on each side, which Jinja leaves as text
_SINGLE_BRACES = re.compile(r"(?<![{%#])\{\s*([A-Za-z_]\w*)((?:\.\w+)*)\s*\}(?![}%#])")


def _single_braces(path: Path, source: str, context: Mapping[str, Any]) -> list[RulesProblem]:
    """A variable of the template's context written in single braces: it rendered, and every registrant would
    read "{ coordinator.name }" as it stands."""
    return [RulesProblem(path, source.count("\n", 0, found.start()) + 1,
                         f"{found.group(0)} is sent as it stands: a variable needs two braces on each side",
                         f"write {{{{ {found.group(1)}{found.group(2)} }}}}")
            for found in _SINGLE_BRACES.finditer(source) if found.group(1) in context]


def _not_found(rules: Rules, name: str, where: tuple[str, ...]) -> RulesProblem:
    """A template file rules.yaml names that is not there: at the line that names it, with the file it may mean."""
    near = difflib.get_close_matches(name, sorted(p.name for p in rules.templates_path.iterdir() if p.is_file()), n=1)
    return RulesProblem(rules.source, rules.line_of(*where),
                        f"{'.'.join(where)}: the template file {name} is not in {rules.templates_path}",
                        f"did you mean {near[0]}?" if near else f"create it in {rules.templates_path}")
