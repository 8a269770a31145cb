"""Slips a coordinator makes in rules.yaml that YAML or pydantic took without a word, or reported where
nothing is wrong: each is a problem at the line to change, with the fix in plain words."""

from pathlib import Path

import pytest

from mailflow.rules import parse_rules
from tests.support import REPO
from tests.support.rules import SHIPPED, line_of, problems


def edited(old: str, new: str) -> str:
    text = SHIPPED.replace(old, new, 1)
    assert text != SHIPPED, old
    return text


@pytest.mark.parametrize("old, new, fix", [
    ("    venue: Online", "    venue Online", "`venue: Online`"),
    ("    venue: Online", "    venue:Online", "`venue: Online`"),
    ("    coordinator: Fatina Toukan", "    coordinator Fatina Toukan", "`coordinator: Fatina Toukan`"),
    ("poll_interval: 60 ", "poll_interval 60 ", "`poll_interval: 60`"),
], ids=["no colon", "no space after the colon", "a value of words", "a comment after it"])
def test_a_key_without_its_colon_is_named_on_its_own_line(old, new, fix):
    """The parser stumbles on the next line ("could not find expected ':'"), where nothing is wrong."""
    text = edited(old, new)
    assert problems(text) == [f"rules.yaml:{line_of(text, new)}: this is not valid YAML: a key without a colon "
                              f"and a space after it (a key needs a colon and a space after it: {fix})"]


@pytest.mark.parametrize("old, new", [
    ("      - register\n", "      -register\n"),
    ("      - participat...\n", "      -participat...\n"),
    ("  - id: digitalisation-see-2020", "  -id: digitalisation-see-2020"),
], ids=["an item in the middle", "the first item", "an item of mappings"])
def test_a_dash_without_a_space_is_named_on_its_own_line(old, new):
    text = edited(old, new)
    written = new.strip()
    assert problems(text) == [f"rules.yaml:{line_of(text, new.rstrip())}: this is not valid YAML: a list item "
                              f"without a space after its dash (a dash needs a space after it: `- {written[1:]}`)"]


@pytest.mark.parametrize("old, new, line, fix", [
    ("    venue: Online", "    venue: Workshop room #3 on the second floor", "venue: Workshop room",
     'put the value in quotes: venue: "Workshop room #3 on the second floor"'),
    ("    title: Digitalisation of Municipal Services in Southeast Europe (SEE) and the Caucasus",
     "    title: Workshop #3 on digital cities", "Workshop #3",
     'put the value in quotes: title: "Workshop #3 on digital cities"'),
    ("      - register\n", "      - register #now\n", "register #now", 'put the value in quotes: - "register #now"'),
], ids=["a venue", "a title", "a list item"])
def test_a_comment_that_cuts_a_value_short_is_refused(old, new, line, fix):
    """YAML reads ` #3 on digital cities` as a comment: the event's title was "Workshop" in every reply."""
    text = edited(old, new)
    (found,) = problems(text)
    assert found.startswith(f"rules.yaml:{line_of(text, line)}: ")
    assert "as a comment" in found
    assert found.endswith(f'({fix}, or a space after the "#" if it is a comment)')


def test_an_ordinary_comment_after_a_value_stays_silent():
    """A comment after a number (`60 #seconds`) cuts nothing; one with a space after its # is what comments
    look like in the shipped file."""
    for old, new in (("poll_interval: 60 ", "poll_interval: 60 #seconds"),
                     ("    venue: Online", "    venue: Online   # a link comes with the access details"),
                     ("    venue: Online", "    venue: Online #"),
                     ("      - register\n", "      - register  ## built in\n")):
        parse_rules(edited(old, new), Path("rules.yaml"))


def test_a_comment_that_begins_with_a_number_after_a_text_is_warned_about(tmp_path):
    """`title: Workshop # 3` (a space after the #) is a comment to YAML: the title was "Workshop" without a word.
    It may be meant (`venue: Online  # 2 rooms`), so `check` warns and the file loads."""
    from mailflow.rules import numbered_comments

    text = edited("    title: Digitalisation of Municipal Services in Southeast Europe (SEE) and the Caucasus",
                  "    title: Workshop # 3 on digital cities")
    rules = tmp_path / "rules.yaml"
    rules.write_text(text)
    parse_rules(text, rules)   # (taken)
    assert [str(w) for w in numbered_comments(rules)] == [
        f"{rules}:{line_of(text, 'Workshop # 3')}: events.0.title: YAML reads '# 3 on digital cities' as a comment, "
        "so the value is only 'Workshop' (if \"# 3 on digital cities\" belongs to it, put the value in quotes: "
        "title: \"Workshop # 3 on digital cities\")"]
    rules.write_text(edited("poll_interval: 60 ", "poll_interval: 60 # 3"))   # after a number nothing is cut
    assert numbered_comments(rules) == []
    assert numbered_comments(REPO / "rules.yaml") == []


def test_the_shipped_rules_and_a_new_projects_load_without_a_problem():
    from datetime import date

    from mailflow.starter import new_rules

    parse_rules(SHIPPED, Path("rules.yaml"))
    parse_rules(new_rules(SHIPPED, date(2026, 3, 1)), Path("rules.yaml"))


def test_two_mailboxes_with_one_address_are_refused_with_both_lines():
    """Both would read the same inbox: every mail answered twice, or from the wrong coordinator."""
    text = edited("    address: german@cc-events.example", "    address: International@cc-events.example")
    first, second = line_of(text, "address: international@"), line_of(text, "address: International@")
    assert problems(text) == [
        f"rules.yaml:{second}: mailboxes.german.address: international@cc-events.example is the address of "
        f"mailbox international too (line {first}) (give each mailbox its own address: mail to one address would "
        "be read by both, answered twice or by the wrong coordinator)"]


def test_a_mailbox_copied_under_another_name_is_refused():
    start = SHIPPED.index("  german:\n")
    block = SHIPPED[start:SHIPPED.index("\n\n", start) + 1]
    text = SHIPPED.replace(block, block + block.replace("  german:\n", "  german_copy:\n"), 1)
    (found,) = problems(text)
    assert found.startswith(f"rules.yaml:{line_of(text, 'german_copy') + 1}: mailboxes.german_copy.address: "
                            f"german@cc-events.example is the address of mailbox german too "
                            f"(line {line_of(text, 'address: german@')})")


REGISTRATION = "registration: {opens: null, closes: null}"   # the shipped event: 2020-10-07 13:00 to 15:30


@pytest.mark.parametrize("window, says, fix", [
    ("{opens: null, closes: 2020-10-09}",
     "events.0.registration.closes: 2020-10-09 is after the event ends (2020-10-07 15:30): people would be "
     "registered for an event that is over",
     "write when registration closes, at the latest 2020-10-07T15:30, or null: then it closes when the event ends"),
    ("{opens: null, closes: 2020-10-07T16:00}", "events.0.registration.closes: 2020-10-07T16:00 is after", None),
    ("{opens: 2020-10-07T14:00, closes: null}",
     "events.0.registration.opens: 2020-10-07T14:00 is not before the event starts (2020-10-07 13:00): nobody could "
     "register before it",
     "write when registration opens, before 2020-10-07T13:00; a date alone opens at the start of that day"),
    ("{opens: 2020-10-08, closes: null}", "events.0.registration.opens: 2020-10-08 is not before", None),
], ids=["closes the day after", "closes after the end", "opens after the start", "opens the day after"])
def test_a_registration_window_outside_the_event_is_refused_at_its_line(window, says, fix):
    text = edited(REGISTRATION, f"registration: {window}")
    (found,) = problems(text)
    assert found.startswith(f"rules.yaml:{line_of(text, 'registration: {')}: {says}")
    if fix:
        assert found.endswith(f"({fix})")


@pytest.mark.parametrize("window", ["{opens: 2020-10-07, closes: 2020-10-07}",
                                    "{opens: null, closes: 2020-10-07T15:30}",
                                    "{opens: 2020-10-07T12:59, closes: null}"])
def test_a_window_up_to_the_event_is_taken(window):
    """A date alone on the event's day: registration opens at its start and closes with that day."""
    parse_rules(edited(REGISTRATION, f"registration: {window}"), Path("rules.yaml"))


@pytest.mark.parametrize("release, written, what", [
    ("agenda: {released: false, text: null, file: null}", "agenda: {text: agenda.txt, send_at: 2020-10-08T09:00}",
     "the agenda"),
    ("access: {released: false, link: null,", "access: {link: https://meet.example/j/1, send_at: 2020-10-07T15:30,",
     "the access details"),
], ids=["agenda", "access"])
def test_a_release_sent_after_the_event_is_refused(release, written, what):
    """The daemon sends nothing for an event that is over: the release never went out, without a word."""
    text = edited(release, written)
    (found,) = problems(text)
    kind = release.partition(":")[0]
    assert found == (f"rules.yaml:{line_of(text, written)}: events.0.releases.{kind}.send_at: "
                     f"{written.split('send_at: ')[1].strip('},')} is not before the event ends (2020-10-07 15:30): "
                     f"nothing is sent for an event that is over, so {what} would never go out (write a time before "
                     "the event ends; a thank-you or the recording after it goes out with `mailflow release followup`)")


@pytest.mark.parametrize("link", ["zoom.us/j/845", "htps://meet.example/j/1", "https://meet example/j/1",
                                  "https://localhost/j/1", "mailto:room@meet.example"])
def test_an_access_link_that_opens_nothing_is_named_at_its_line(link):
    """It went to every registrant as it stood: no scheme or a typo in it is no link in a mail client."""
    written = f"access: {{released: true, link: '{link}',"
    text = edited("access: {released: false, link: null,", written)
    assert problems(text) == [f"rules.yaml:{line_of(text, written)}: events.0.releases.access.link: the access link "
                              "must be a whole https:// address, like https://meet.example.org/room, not "
                              f"{link!r}"]


def test_a_release_during_the_event_is_taken():
    parse_rules(edited("access: {released: false, link: null,",
                       "access: {link: https://meet.example/j/1, send_at: 2020-10-07T14:00,"), Path("rules.yaml"))
    parse_rules(edited("access: {released: false, link: null,",   # (an older rules.yaml's plain http link)
                       "access: {link: http://meet.example/j/1, send_at: 2020-10-07T14:00,"), Path("rules.yaml"))


@pytest.mark.parametrize("old, new, says, fix", [
    ("    title: Digitalisation of Municipal Services in Southeast Europe (SEE) and the Caucasus", "    title: 2026",
     "events.0.title: YAML reads 2026 as a number, not as text", 'write it in quotes: title: "2026"'),
    ("    coordinator: Fatina Toukan", "    coordinator: 42",
     "mailboxes.german.coordinator: YAML reads 42 as a number, not as text", 'write it in quotes: coordinator: "42"'),
    ('phone_prefixes: ["+49"]', "phone_prefixes: [+49]",
     "classification.audiences.german.phone_prefixes.0: YAML reads +49 as the number 49, not as text",
     'write it in quotes: "+49"'),
    ("      tlds: [de]", "      tlds: [de, no]",
     "classification.audiences.german.tlds.1: YAML reads no as false (yes, no, on and off are true or false to "
     "it), not as text", 'write it in quotes: "no"'),
    ("    venue: Online", "    venue: 12:30", "events.0.venue: YAML reads 12:30 as the number 750, not as text",
     'write it in quotes: venue: "12:30"'),
    ("    venue: Online", "    venue: 2020-10-07", "events.0.venue: YAML reads 2020-10-07 as a date, not as text",
     'write it in quotes: venue: "2020-10-07"'),
    ("    venue: Online", "    venue:", "events.0.venue: has no value", "write its value after the colon and a space"),
], ids=["a title", "a coordinator", "a phone prefix", "Norway", "a time", "a date", "nothing"])
def test_a_number_or_yes_no_where_text_belongs_gets_the_quotes(old, new, says, fix):
    """pydantic said "Input should be a valid string (got 49)" of a `+49` the coordinator had written."""
    text = edited(old, new)
    (found,) = problems(text)
    assert found == f"rules.yaml:{line_of(text, new.strip())}: {says} ({fix})"


def test_an_announcement_that_leaves_an_audience_out_is_refused_at_its_line():
    """With `german: agenda_german.txt` deleted, `check` said ok and `release agenda` stopped at the first German
    registrant, with no line."""
    text = edited("    german: agenda_german.txt\n", "")
    assert problems(text) == [
        f"rules.yaml:{line_of(text, 'announcements:') + 1}: announcements.agenda has no template for audience "
        "'german' (it has one for international): a release would stop at its first german registrant (add `german: "
        "agenda_german.txt` under `agenda:`)"]



@pytest.mark.parametrize("pattern, says", [
    ("regist*", '"*" stands only between words, with spaces ("nehme * teil"); for any ending write "...": regist...'),
    ("'*register'", '"*" stands only between words'),
    ("regist(er|ration)", "patterns are plain words, not regular expressions"),
    ("'[Rr]egister'", "patterns are plain words, not regular expressions"),
])
def test_a_wildcard_or_a_regular_expression_in_a_pattern_is_refused_at_its_line(pattern, says):
    """Taken as letters, "regist*" or "regist(er|ration)" never matched a mail, and check said ok (user audit)."""
    text = edited("    interest:\n", f"    interest:\n      - {pattern}\n")
    (found,) = problems(text)
    assert found.startswith(f"rules.yaml:{line_of(text, '      - ' + pattern)}: classification.intents.interest.0: "
                            "the pattern "), found
    assert says in found and "(got" not in found, found


def test_a_few_words_mark_and_parentheses_stay_patterns():
    text = edited("    interest:\n", "    interest:\n      - nehme * teil\n      - (germany)\n")
    parse_rules(text, Path("rules.yaml"))


def test_a_closing_time_with_a_utc_offset_is_compared_not_a_crash():
    """YAML reads `2020-10-06T18:00:00+02:00` as a time with its zone: comparing it with the event's local end
    raised TypeError in every command (a review)."""
    text = edited("closes: null}", "closes: 2020-10-06T18:00:00+02:00}")
    parse_rules(text, Path("rules.yaml"))
    late = edited("closes: null}", "closes: 2020-10-08T18:00:00+02:00}")
    (found,) = problems(late)
    assert "registration.closes" in found and "after the event ends" in found, found


def test_invitations_and_automatic_subjects_keep_what_they_may():
    """An invitation for one audience (`mailflow invite --audience`), "[auto-reply]" and "***spam***" subjects
    (matched as written) were refused after the pattern and announcement checks (a review)."""
    one = edited("    international: invite_international.txt\n", "")
    parse_rules(one, Path("rules.yaml"))
    subjects = edited("    auto_reply_subjects:\n", "    auto_reply_subjects:\n      - '[auto-reply]'\n"
                                                     "      - '***spam***'\n")
    parse_rules(subjects, Path("rules.yaml"))


def test_a_comment_glued_to_a_value_offers_its_space_too():
    text = edited("    venue: Online", "    venue: Online #TODO confirm")
    (found,) = problems(text)
    assert 'or a space after the "#" if it is a comment' in found, found


def test_an_empty_list_item_is_told_to_write_after_the_dash():
    text = edited("    interest:\n", "    interest:\n      -\n")
    (found,) = problems(text)
    assert "has no value (write its value after the dash and a space)" in found, found


@pytest.mark.parametrize("old, new, says", [
    ("poll_interval: 60 ", "poll_interval: -5 ", "poll_interval: must be more than 0 (got -5) (write a bigger number)"),
    ("poll_interval: 60 ", "poll_interval: 0.5 ",
     "poll_interval: is not a whole number (got 0.5) (write a whole number)"),
    ("send_rate_per_minute: 120 ", "send_rate_per_minute: -1 ",
     "send_rate_per_minute: must be 0 or more (got -1) (write a bigger number)"),
    ('digest: {time: "08:00"', 'digest: {time: "8am"',
     "mailboxes.international.digest.time: is not a time of day (got '8am') (write a time of day like 08:00)"),
    ("access: {released: false,", "access: {released: ja,",
     "events.0.releases.access.released: is not true or false (got 'ja') (write true or false)"),
], ids=["negative", "fraction", "below zero", "time of day", "yes in German"])
def test_a_value_of_the_wrong_kind_is_said_in_plain_words(old, new, says):
    """pydantic's own words reached coordinators: "Input should be greater than 0", "Input should be in a valid
    time format, input is too short", "Dictionary should have at least 1 item after validation, not 0"."""
    text = edited(old, new)
    assert problems(text) == [f"rules.yaml:{line_of(text, new.strip())}: {says}"]


def test_a_section_left_empty_is_said_so():
    text = SHIPPED.split("\nmailboxes:")[0] + "\nmailboxes: {}\n" + "\n".join(
        line for line in SHIPPED.split("\nmailboxes:")[1].splitlines()[1:] if not line.startswith((" ", "\t")))
    assert f"rules.yaml:{line_of(text, 'mailboxes: {}')}: mailboxes: is empty (add at least one entry)" \
        in problems(text)


def test_an_audience_no_mailbox_has_is_named_at_its_line():
    """A mailbox renamed from german to germna: "rules.yaml: rules.yaml: classification.audiences names 'german',
    but no mailbox has that audience", with no line."""
    text = edited("\n  german:\n    address: german@", "\n  germna:\n    address: german@")
    found = problems(text)
    assert found[0] == (f"rules.yaml:{line_of(text, '    german:')}: classification.audiences.german: no mailbox has "
                        "the audience 'german' (the mailboxes' audiences: germna, international) (did you mean "
                        "'germna'? give a mailbox `audience: german`, or name here the audiences the mailboxes have)")
    assert not any(p.startswith("rules.yaml: rules.yaml:") for p in found)


def test_a_reply_for_an_unknown_audience_is_named_at_its_line():
    text = edited("    german: ack_german.txt", "    germen: ack_german.txt")
    assert problems(text) == [f"rules.yaml:{line_of(text, 'germen: ack_german.txt')}: replies.interest.germen: names "
                              "audience 'germen'; the mailboxes' audiences: german, international (did you mean "
                              "'german'?)"]


@pytest.mark.parametrize("old, new", [
    ("      - participat...\n", "      participat...\n"),
    ("      - interest in\n", "      interest in\n"),
    ("      - register\n", "      register\n"),
], ids=["the first item", "an item of two words", "an item in the middle"])
def test_a_list_item_without_its_dash_is_named_on_its_own_line(old, new):
    """"interest in" was "a key without a colon (`interest: in`)"; a first item without its dash was "did not find
    expected key" sixty lines further down."""
    text = edited(old, new)
    written = new.strip()
    assert problems(text) == [f"rules.yaml:{line_of(text, new.rstrip())}: this is not valid YAML: a list item "
                              f"without its dash (write it as the items around it: `- {written}`)"]
