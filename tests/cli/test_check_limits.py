"""`mailflow check` on hostile rules.yaml files and templates, in a process that may use 500 MB: each
ends with the problem, its file and line, never a traceback. Before the limits, the alias bomb ran for
40 s and ended in a MemoryError (3.9 GB), a self-referencing alias in a RecursionError, deep nesting
in a segmentation fault, and every template here in a traceback (or never)."""

import resource
import subprocess
import sys

import pytest

from tests.support import REPO
from tests.support.demo import shipped_project
from tests.support.rules import ALIAS_BOMB

SHIPPED = (REPO / "rules.yaml").read_text()
MEMORY = 500 * 2**20


def limited_check(rules_path) -> subprocess.CompletedProcess:
    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))

    return subprocess.run([sys.executable, "-m", "mailflow", "--rules", str(rules_path), "check"],
                          capture_output=True, text=True, timeout=120, preexec_fn=limit_memory, cwd=REPO,
                          check=False)


def bottom_line(text: str) -> int:
    return len(text.splitlines())


@pytest.mark.parametrize("hostile, problem", [
    ("events_again: &events [*events]\n",
     "the YAML alias *events is inside its own anchor &events, so its value never ends (write the values out)"),
    (ALIAS_BOMB, "rules.yaml uses YAML aliases (&name / *name) in a way that expands to "),
    ("nested: " + "[" * 100_000 + "]" * 100_000 + "\n", "rules.yaml nests more than 50 levels deep here"),
], ids=["self-referencing alias", "billion laughs", "deep nesting"])
def test_hostile_rules_yaml_is_a_problem_with_its_line(tmp_path, hostile, problem):
    rules = shipped_project(tmp_path)
    rules.write_text(SHIPPED + hostile)
    result = limited_check(rules)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    first_hostile_line = bottom_line(SHIPPED) + 1
    where = {line.split(": ", 1)[0] for line in result.stderr.splitlines()}
    assert problem in result.stderr
    assert where <= {f"{rules}:{n}" for n in range(first_hostile_line, first_hostile_line + 9)}, result.stderr


HOSTILE_TEMPLATES = {   # template file -> (its fourth line, what check says)
    "ack_german.txt": ("{{ 'A' * 5000000000 }}", "'*' would make a text or list of 5,000,000,000 characters"),
    "ack_international.txt": ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
                              "loops run more than 100,000 times (the limit)"),
    "cancel_german.txt": ("{% for i in range(5000000000) %}{% endfor %}", "MAX_RANGE (100000)"),
    "cancel_international.txt": ("{% macro again() %}{{ again() }}{% endmacro %}{{ again() }}",
                                 "the template calls itself without end"),
    "question_german.txt": ("{{ 10 ** (10 ** 10) }}", "more than 4,300 digits (the limit)"),
    "question_international.txt": ("{{ 'A'.ljust(5000000000) }}",
                                   "ljust() with 5,000,000,000 is above the limit of 1,000,000 characters"),
    "reminder_german.txt": ("{{ '{:>5000000000}'.format(1) }}", "format() with 5,000,000,000 is above the limit"),
    "reminder_international.txt": ("{{ '%5000000000s' % 'x' }}", "'%' with 5,000,000,000 is above the limit"),
    "followup_german.txt": (("{% set ns = namespace(text='A') %}{% for i in range(40) %}"
                             "{% set ns.text = ns.text ~ ns.text %}{% endfor %}"), "'~' made a text longer than"),
    "followup_international.txt": (("{% macro line() %}{% for i in range(100000) %}{{ 'A'.ljust(999999) ~ i }}"
                                    "{% endfor %}{% endmacro %}{{ line() }}"), "writes more than 1,000,000 characters"),
}


def test_hostile_templates_are_problems_with_file_line_and_limit(tmp_path):
    rules = shipped_project(tmp_path)
    for name, (line, _) in HOSTILE_TEMPLATES.items():
        (tmp_path / "templates" / name).write_text(f"Subject: Hostile\n\nDear colleague,\n{line}\n")
    result = limited_check(rules)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    for name, (_, problem) in HOSTILE_TEMPLATES.items():
        reported = [line for line in result.stderr.splitlines()
                    if line.startswith(f"{tmp_path / 'templates' / name}:4: ")]
        assert len(reported) == 1 and problem in reported[0], (name, result.stderr)


def test_the_whole_output_is_bounded_too(tmp_path):
    """Each piece is within the limits, the rendering is not: no line to name, the file and the limit."""
    rules = shipped_project(tmp_path)
    (tmp_path / "templates" / "ack_german.txt").write_text(
        "Subject: Long\n\n{% for i in range(100000) %}{{ 'A'.ljust(999999) }}{% endfor %}\n")
    result = limited_check(rules)
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    assert f"{tmp_path / 'templates' / 'ack_german.txt'}: template error: the template writes more than 1,000,000 " \
           "characters (the limit)" in result.stderr
