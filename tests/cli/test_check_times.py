"""Times in rules.yaml through `mailflow check`: every wrong one is a problem at its file and line with the
fix, never a traceback; keys that are naturally dates take a date alone."""

import pytest
from click.testing import CliRunner

from mailflow.cli import main
from tests.support import REPO
from tests.support.demo import shipped_project

SHIPPED = (REPO / "rules.yaml").read_text()


def check_with(tmp_path, old: str, new: str):
    """`mailflow check` on the shipped project with `old` replaced by `new` in rules.yaml; (result, the
    line `new` starts on)."""
    rules = shipped_project(tmp_path)
    assert old in SHIPPED
    text = SHIPPED.replace(old, new, 1)
    rules.write_text(text)
    line = text[:text.index(new)].count("\n") + 1
    return CliRunner().invoke(main, ["--rules", str(rules), "check"]), rules, line


@pytest.mark.parametrize("start, message, fix", [
    ("start: 2020-10-07", "has no time of day (it would be 2020-10-07 00:00)",
     "write the local time like 2020-10-07T13:00"),
    ("start: 2020-10-07T13:00+02:00", "has a UTC offset (+0200)",
     "write the local time without it, like 2020-10-07T13:00, and the zone under `timezone:`"),
    ("start: 2020-10-07T11:00Z", "has a UTC offset (+0000)",
     "write the local time without it, like 2020-10-07T11:00"),
    ("start: 2020", "not a date and time", "write the local time like 2020-10-07T13:00"),
])
def test_an_event_start_without_a_time_or_with_an_offset_is_a_problem_at_its_line(tmp_path, start, message, fix):
    result, rules, line = check_with(tmp_path, "start: 2020-10-07T13:00", start)
    assert result.exit_code == 1
    assert f"{rules.resolve()}:{line}: events.0.start: {message}" in result.output
    assert fix in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output


def test_an_event_end_without_a_time_is_a_problem_at_its_line(tmp_path):
    result, rules, line = check_with(tmp_path, "end: 2020-10-07T15:30", "end: 2020-10-07")
    assert result.exit_code == 1
    assert f"{rules.resolve()}:{line}: events.0.end: has no time of day" in result.output


def test_an_end_before_the_start_names_the_end_line_and_both_times(tmp_path):
    result, rules, line = check_with(tmp_path, "end: 2020-10-07T15:30", "end: 2020-10-07T12:00")
    assert result.exit_code == 1
    assert (f"{rules.resolve()}:{line}: events.0.end: the event ends (2020-10-07 12:00) before or when it starts "
            "(2020-10-07 13:00); write an end after the start") in result.output


def test_an_unknown_time_zone_is_a_problem_with_the_closest_name(tmp_path):
    result, rules, line = check_with(tmp_path, "timezone: Europe/Berlin", "timezone: Europe/Berln")
    assert result.exit_code == 1
    assert (f"{rules.resolve()}:{line}: events.0.timezone: unknown time zone 'Europe/Berln'; "
            "did you mean 'Europe/Berlin'?") in result.output
    (tmp_path / "city").mkdir()
    result, rules, line = check_with(tmp_path / "city", "timezone: Europe/Berlin", "timezone: Asia/Tiblisi")
    assert "unknown time zone 'Asia/Tiblisi'; did you mean 'Asia/Tbilisi'?" in result.output


@pytest.mark.parametrize("abbreviation", ["CEST", "MEZ", "EEST", "GMT+4"])
def test_a_zone_abbreviation_is_never_answered_with_another_zone(tmp_path, abbreviation):
    """CEST is a summer time, not a place: 'EST' (US Eastern) or 'GMT+0' would put the event hours off."""
    result, rules, line = check_with(tmp_path, "timezone: Europe/Berlin", f"timezone: {abbreviation}")
    assert result.exit_code == 1
    assert (f"{rules.resolve()}:{line}: events.0.timezone: unknown time zone '{abbreviation}'; use a name like "
            "Europe/Berlin") in result.output


@pytest.mark.parametrize("old, new", [
    ("registration: {opens: null, closes: null}", "registration: {opens: 2020-09-01, closes: 2020-10-05}"),
    ("registration: {opens: null, closes: null}", "registration: {opens: 2020-09-01T08:00+02:00, closes: null}"),
    ("answer_mail_since: null", "answer_mail_since: 2020-09-01"),
])
def test_keys_that_are_dates_take_a_date_alone(tmp_path, old, new):
    result, _, _ = check_with(tmp_path, old, new)
    assert result.exit_code == 0, result.output
    assert ": ok (" in result.output


@pytest.mark.parametrize("new, shown", [
    ("registration: {opens: null, closes: 20201005}", "(got 20201005)"),    # else 1970-08-22, seconds since 1970
    ("registration: {opens: 1600000000, closes: null}", "(got 1600000000)"),
    ("registration: {opens: null, closes: 5 October}", "(got '5 October')"),
])
def test_a_registration_time_that_is_no_date_is_one_problem_at_its_line(tmp_path, new, shown):
    result, rules, line = check_with(tmp_path, "registration: {opens: null, closes: null}", new)
    assert result.exit_code == 1, result.output
    problems = [text for text in result.output.splitlines() if f"{rules.resolve()}:{line}:" in text]
    assert len(problems) == 1, result.output
    assert "not a date; write a date like 2024-09-01 or a date and time like 2024-09-01T08:00" in problems[0]
    assert shown in problems[0]


@pytest.mark.parametrize("send_at, message", [
    ("1300", "not a date and time"),            # meant 13:00; was 1970-01-01 00:21 UTC: the agenda went out at once
    ("2020-10-06", "has no time of day"),       # was midnight
    ("2020-10-06T09:00+02:00", "has a UTC offset (+0200)"),
])
def test_a_release_time_is_a_local_date_and_time(tmp_path, send_at, message):
    result, rules, line = check_with(tmp_path, "agenda: {released: false, text: null, file: null}",
                                     f"agenda: {{released: false, text: Agenda, file: null, send_at: {send_at}}}")
    assert result.exit_code == 1, result.output
    assert f"{rules.resolve()}:{line}: events.0.releases.agenda.send_at: {message}" in result.output
