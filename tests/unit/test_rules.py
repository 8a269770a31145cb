from pathlib import Path

import pytest

from mailflow.errors import RulesError
from mailflow.rules import load_rules, parse_rules
from tests.support import REPO

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
