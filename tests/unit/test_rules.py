from pathlib import Path

import pytest
from click.testing import CliRunner

from mailflow.cli import main
from mailflow.errors import RulesError
from mailflow.rules import load_rules, parse_rules
from tests.helpers import REPO

SHIPPED = (REPO / "rules.yaml").read_text()


def problems(text: str) -> list[str]:
    with pytest.raises(RulesError) as caught:
        parse_rules(text, Path("rules.yaml"))
    return [str(p) for p in caught.value.problems]


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_shipped_rules_load_with_both_audiences():
    rules = load_rules(REPO / "rules.yaml")
    assert rules.audiences == ["german", "international"]
    assert rules.events[0].starts_at.isoformat() == "2020-10-07T13:00:00+02:00"
    assert rules.database_path == REPO / "mailflow.db"


def test_unknown_key_names_line_and_suggests_the_right_one():
    text = SHIPPED.replace("poll_interval: 60", "pol_interval: 60")
    found = problems(text)
    assert found == [f"rules.yaml:{line_of(text, 'pol_interval')}: unknown key 'pol_interval' in the top level (did you mean 'poll_interval'?)"]


def test_nested_unknown_key_and_wrong_literal_point_at_their_line():
    text = SHIPPED.replace("port: 993, security: tls, username: german", "port: 993, security: ssl, usrname: german")
    line = line_of(text, "usrname")
    found = problems(text)
    assert f"rules.yaml:{line}: unknown key 'usrname' in mailboxes.german.imap (did you mean 'username'?)" in found
    assert any(p.startswith(f"rules.yaml:{line}: mailboxes.german.imap.security is 'ssl'") for p in found)


def test_wrong_type_gets_a_hint():
    text = SHIPPED.replace("poll_interval: 60", "poll_interval: often")
    (found,) = problems(text)
    assert found.startswith(f"rules.yaml:{line_of(text, 'often')}: poll_interval:")
    assert "write a whole number" in found


def test_broken_yaml_names_the_line():
    text = SHIPPED.replace("database: mailflow.db", "database: [mailflow.db")
    (found,) = problems(text)
    assert "not valid YAML" in found
    assert found.startswith("rules.yaml:")


def test_automatic_intents_cannot_be_answered():
    text = SHIPPED.replace("replies:\n", "replies:\n  bounce:\n    german: ack_german.txt\n")
    (found,) = problems(text)
    assert "never answered" in found


def test_unknown_time_zone():
    text = SHIPPED.replace("timezone: Europe/Berlin", "timezone: Europe/Berlyn")
    (found,) = problems(text)
    assert f"rules.yaml:{line_of(text, 'Berlyn')}:" in found and "unknown time zone" in found


def _project(tmp_path: Path, template_text: str | None = None) -> Path:
    (tmp_path / "templates").mkdir()
    for template in (REPO / "templates").glob("*.txt"):
        (tmp_path / "templates" / template.name).write_text(template.read_text())
    if template_text is not None:
        (tmp_path / "templates" / "ack_german.txt").write_text(template_text)
    rules = tmp_path / "rules.yaml"
    rules.write_text(SHIPPED)
    return rules


def test_check_passes_on_the_shipped_rules(tmp_path):
    result = CliRunner().invoke(main, ["--rules", str(_project(tmp_path)), "check"])
    assert result.exit_code == 0, result.output
    assert "ok (2 mailboxes" in result.output


def test_check_reports_undefined_template_variable_with_line_and_hint(tmp_path):
    rules = _project(tmp_path, "Subject: Hallo\n\nGuten Tag,\n{{ registrant.nmae }}\n")
    result = CliRunner().invoke(main, ["--rules", str(rules), "check"])
    assert result.exit_code == 1
    assert f"{tmp_path / 'templates' / 'ack_german.txt'}:4: undefined template variable" in result.output
    assert "did you mean 'name'?" in result.output


def test_check_reports_missing_template_and_syntax_error(tmp_path):
    rules = _project(tmp_path, "Subject: Hallo\n\n{% if x %}\n")
    (tmp_path / "templates" / "cancel_german.txt").unlink()
    result = CliRunner().invoke(main, ["--rules", str(rules), "check"])
    assert result.exit_code == 1
    assert "ack_german.txt:3: template syntax error" in result.output
    assert "cancel_german.txt: template file not found" in result.output


def test_check_reports_rules_problem_with_exit_1(tmp_path):
    rules = _project(tmp_path)
    rules.write_text(SHIPPED.replace("security: starttls", "security: startls", 1))
    result = CliRunner().invoke(main, ["--rules", str(rules), "check"])
    assert result.exit_code == 1
    assert "did you mean 'starttls'?" in result.output
