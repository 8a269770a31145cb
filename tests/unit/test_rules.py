from pathlib import Path

import pytest

from mailflow.rules import load_rules, parse_rules
from tests.support import REPO
from tests.support.rules import SHIPPED, line_of, problems


def test_shipped_rules_load_with_both_audiences():
    rules = load_rules(REPO / "rules.yaml")
    assert rules.audiences == ["german", "international"]
    assert rules.events[0].starts_at.isoformat() == "2020-10-07T13:00:00+02:00"
    assert rules.database_path == REPO / "mailflow.db"


def test_unknown_key_names_line_and_suggests_the_right_one():
    text = SHIPPED.replace("poll_interval: 60", "pol_interval: 60")
    found = problems(text)
    assert found == [f"rules.yaml:{line_of(text, 'pol_interval')}: unknown key 'pol_interval' in the top level "
                     "(did you mean 'poll_interval'?)"]


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


def test_a_key_given_twice_is_a_problem_at_its_second_line():
    """YAML keeps the last silently: a second `events:` at the end of the file dropped the event above it."""
    text = SHIPPED + "events:\n  - {id: second, title: Other, start: 2020-11-07T13:00, end: 2020-11-07T15:00, " \
                     "timezone: Europe/Berlin}\n"
    (found,) = problems(text)
    assert found == (f"rules.yaml:{len(text.splitlines()) - 1}: 'events' is given twice here (first on line "
                     f"{line_of(SHIPPED, 'events:')}): only the last would count (keep one of them: several events go "
                     "in one `events:` list, an item each)")
    text = SHIPPED.replace("poll_interval: 60", "poll_interval: 60\npoll_interval: 30")
    assert problems(text) == [f"rules.yaml:{line_of(text, 'poll_interval: 30')}: 'poll_interval' is given twice here "
                              f"(first on line {line_of(text, 'poll_interval: 60')}): only the last would count "
                              "(keep one of them)"]


def test_two_events_with_one_id_are_a_problem():
    """Registrations, releases and reminders are kept by the event's id: two events with one were one."""
    text = SHIPPED.replace("events:\n", "events:\n  - {id: digitalisation-see-2020, title: Other, start: "
                           "2020-11-07T13:00, end: 2020-11-07T15:00, timezone: Europe/Berlin}\n", 1)
    assert problems(text) == [f"rules.yaml:{line_of(text, '  - id: digitalisation-see-2020')}: events[1].id: "
                              "'digitalisation-see-2020' is the id of an earlier event too (give each event its own "
                              "id: registrations, releases and reminders are kept by it)"]


def test_automatic_intents_cannot_be_answered():
    text = SHIPPED.replace("replies:\n", "replies:\n  bounce:\n    german: ack_german.txt\n")
    (found,) = problems(text)
    assert "never answered" in found


def test_unknown_time_zone():
    text = SHIPPED.replace("timezone: Europe/Berlin", "timezone: Europe/Berlyn")
    (found,) = problems(text)
    assert f"rules.yaml:{line_of(text, 'Berlyn')}:" in found and "unknown time zone" in found


def test_aliases_within_the_limit_still_work():
    """Aliases are bounded, not refused: two mailboxes on one server may share its settings."""
    text = SHIPPED.replace(
        "    imap: {host: imap.cc-events.example, port: 993, security: tls, username: international@",
        "    imap: &imap {host: imap.cc-events.example, port: 993, security: tls, username: international@", 1,
    ).replace("    imap: {host: imap.cc-events.example, port: 993, security: tls, username: german@cc-events.example, "
              "password_env: MAILFLOW_GERMAN_PASSWORD}", "    imap: {<<: *imap, username: german@cc-events.example}", 1)
    assert "*imap" in text
    rules = parse_rules(text, Path("rules.yaml"))
    assert rules.mailboxes["german"].imap.host == "imap.cc-events.example"
    assert rules.mailboxes["german"].imap.username == "german@cc-events.example"
    assert rules.mailboxes["german"].imap.password_env == "MAILFLOW_INTERNATIONAL_PASSWORD"


def test_aliases_past_the_limit_are_refused_with_the_count():
    text = "many: &many [" + ", ".join(["x"] * 1000) + "]\nmore: [" + ", ".join(["*many"] * 11) + "]\n"
    (found,) = problems(text)
    # the mapping, two keys, the list written once (1,001) and eleven times more, the list holding them
    assert found == ("rules.yaml:2: rules.yaml uses YAML aliases (&name / *name) in a way that expands to 12,016 "
                     "nodes (aliases may add at most 10,000) (write the values out)")


@pytest.mark.parametrize("value, says", [
    ("2020-02-30", "day is out of range for month"),
    ("1" * 5000, "Exceeds the limit (4300 digits)"),
], ids=["a date that does not exist", "a number too long"])
def test_a_value_yaml_cannot_read_names_its_line(value, says):
    text = SHIPPED.replace("poll_interval: 60", f"poll_interval: {value}")
    (found,) = problems(text)
    assert found.startswith(f"rules.yaml:{line_of(text, 'poll_interval:')}: this value cannot be read: {says}")


@pytest.mark.parametrize("written", ["18.00", "8", "'1800'"])
def test_a_time_of_day_without_a_colon_is_a_problem_with_the_way_to_write_it(written):
    """The German 18.00 became 00:00:18, a bare 8 became 00:08 (YAML's base-60 numbers), and "1800" was an error
    without a hint."""
    text = SHIPPED.replace('digest: {time: "08:00", enabled: true}', f"digest: {{time: {written}, enabled: true}}", 1)
    (found,) = problems(text)
    assert found.startswith(f"rules.yaml:{line_of(text, 'digest: {time: ' + written)}: "
                            "mailboxes.international.digest.time:")
    assert "write hours and minutes with a colon, like 08:00" in found


def test_an_unquoted_time_of_day_is_read_as_written():
    text = SHIPPED.replace('digest: {time: "08:00", enabled: true}', "digest: {time: 18:30, enabled: true}", 1)
    assert str(parse_rules(text, Path("rules.yaml")).mailboxes["international"].digest.time) == "18:30:00"


def test_a_language_name_or_a_pattern_without_letters_is_a_problem():
    """`languages: [German]` matched no detected language and the evidence was lost without a word; an
    interest pattern "..." made every mail a registration."""
    text = SHIPPED.replace("languages: [de]", "languages: [German]", 1)
    assert text != SHIPPED
    (found,) = problems(text)
    assert found.startswith(f"rules.yaml:{line_of(text, '[German]')}: classification.audiences.")
    assert "'German' is no language code; write the ISO 639-1 code, like de" in found
    text = SHIPPED.replace("    interest:\n", "    interest:\n      - '...'\n", 1)
    assert text != SHIPPED
    (found,) = problems(text)
    dots = line_of(text, "      - '...'")
    assert found.startswith(f"rules.yaml:{dots}: classification.intents.interest.0: the pattern '...' names nothing, "
                            "so it would match every mail"), found
    # a pattern of digits and dots names something: a bounce's status code
    status_code = SHIPPED.replace("    bounce_subjects:\n", "    bounce_subjects:\n      - '5.1.1'\n", 1)
    assert "'5.1.1'" in status_code
    parse_rules(status_code, Path("rules.yaml"))


def test_a_quote_left_open_is_named_where_it_opens_and_a_colon_in_a_value_gets_its_fix():
    """The parser stumbles where the next quote closes it, 31 lines later, and advised indentation."""
    text = SHIPPED.replace("title: Digitalisation of Municipal", 'title: "Digitalisation of Municipal', 1)
    (found,) = problems(text)
    opened = line_of(text, 'title: "Digitalisation')
    assert found == (f'rules.yaml:{opened}: a quote (") opened on this line is not closed (end the value with " on '
                     'the same line)')
    # a quoted value may go on over lines: the error elsewhere is named where it is
    text = SHIPPED.replace("title: Digitalisation of Municipal Services in Southeast Europe (SEE) and the Caucasus",
                           'title: "Digitalisation of Municipal Services in Southeast Europe (SEE)\n'
                           '      and the Caucasus"', 1).replace("    venue: Online", "    venue: Online: Zoom", 1)
    assert '(SEE)\n      and' in text
    (found,) = problems(text)
    assert found.startswith(f"rules.yaml:{line_of(text, 'Online: Zoom')}: this is not valid YAML: a colon")
    text = SHIPPED.replace("    venue: Online", "    venue: Online: Zoom", 1)
    (found,) = problems(text)
    assert found.startswith(f"rules.yaml:{line_of(text, 'Online: Zoom')}: this is not valid YAML: a colon")
    assert 'put the value in quotes: title: "Workshop: digital cities"' in found


def test_an_empty_database_name_is_a_problem_at_its_line():
    text = SHIPPED.replace("database: mailflow.db", 'database: ""', 1)
    assert text != SHIPPED
    (found,) = problems(text)
    line = line_of(text, 'database: ""')
    assert found.startswith(f"rules.yaml:{line}: database: the database needs a file name")
