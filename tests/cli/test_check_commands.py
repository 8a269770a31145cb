"""`mailflow check` and `mailflow classify`: the shipped project as a new coordinator has it, and broken copies."""

import json

import yaml
from click.testing import CliRunner

from mailflow.cli import main
from tests.support import REPO
from tests.support.demo import shipped_project
from tests.support.rules import rules_data

SHIPPED = (REPO / "rules.yaml").read_text()


def check(rules):
    return CliRunner().invoke(main, ["--rules", str(rules), "check"])


def broken_template(tmp_path, text: str):
    rules = shipped_project(tmp_path)
    (tmp_path / "templates" / "ack_german.txt").write_text(text)
    return rules


def test_check_passes_on_the_shipped_rules(tmp_path):
    result = check(shipped_project(tmp_path))
    assert result.exit_code == 0, result.output
    assert "ok (2 mailboxes" in result.output


def test_check_reports_undefined_template_variable_with_line_and_hint(tmp_path):
    result = check(broken_template(tmp_path, "Subject: Hallo\n\nGuten Tag,\n{{ registrant.nmae }}\n"))
    assert result.exit_code == 1
    assert (f"{tmp_path / 'templates' / 'ack_german.txt'}:4: undefined template variable: registrant.nmae "
            "(registrant has no 'nmae') (did you mean 'name'?)") in result.output   # (Jinja: 'dict object' has no ...)
    template = tmp_path / "templates" / "ack_german.txt"
    template.write_text("Subject: Hallo\n\n{{ registrant.email }}\n")
    result = check(tmp_path / "rules.yaml")
    assert "ack_german.txt:3: undefined template variable: registrant.email (registrant has no 'email') " \
        "(available: address, first_name, name)" in result.output
    template.write_text("Subject: Hallo\n\n{{ coordinater.name }}\n")
    result = check(tmp_path / "rules.yaml")
    assert "ack_german.txt:3: undefined template variable: 'coordinater' is not one of the template's variables " \
        "(did you mean 'coordinator'?)" in result.output


def test_check_names_a_variable_in_single_braces_and_leaves_other_braces_alone(tmp_path):
    """"{ coordinator.name }" rendered without an error and went to every registrant as it stands."""
    text = ("Subject: Hallo\n\nGuten Tag {{ registrant.name }},\n{ event.title } am {event.date}.\n"
            "Formular: {Name, Amt} {% if true %}{ bitte ausfüllen }{% endif %} {{ '{x}' }}\n"
            "Ihr { coordinator.name }\n")
    result = check(broken_template(tmp_path, text))
    assert result.exit_code == 1
    where = tmp_path / "templates" / "ack_german.txt"
    assert (f"{where}:4: {{ event.title }} is sent as it stands: a variable needs two braces on each side "
            "(write {{ event.title }})") in result.output
    assert f"{where}:4: {{event.date}} is sent as it stands" in result.output
    assert f"{where}:6: {{ coordinator.name }} is sent as it stands" in result.output
    assert result.output.count("is sent as it stands") == 3   # not "{Name, Amt}", "{ bitte ausfüllen }", "{x}"


def test_check_reports_missing_template_and_syntax_error(tmp_path):
    rules = broken_template(tmp_path, "Subject: Hallo\n\n{% if x %}\n")
    (tmp_path / "templates" / "cancel_german.txt").unlink()
    result = check(rules)
    assert result.exit_code == 1
    assert "ack_german.txt:3: template syntax error" in result.output
    assert "replies.cancellation.german: the template file cancel_german.txt is not in" in result.output


def test_check_names_the_line_of_a_template_name_with_a_typo_and_the_file_it_may_mean(tmp_path):
    """"ack_germna.txt" was "template file not found (create it ...)": no rules.yaml line, and the wrong advice."""
    rules = shipped_project(tmp_path)
    rules.write_text(rules.read_text().replace("german: ack_german.txt", "german: ack_germna.txt", 1))
    result = check(rules)
    line = next(i for i, text in enumerate(rules.read_text().splitlines(), 1) if "ack_germna.txt" in text)
    assert result.exit_code == 1
    assert (f"{rules}:{line}: replies.interest.german: the template file ack_germna.txt is not in "
            f"{tmp_path / 'templates'} (did you mean ack_german.txt?)") in result.output


def test_check_says_once_that_the_templates_folder_is_not_there(tmp_path):
    """"templates: template" gave a "not found" line for each of the 28 templates, the cause last, with no line."""
    rules = shipped_project(tmp_path)
    rules.write_text(rules.read_text().replace("\ntemplates: templates", "\ntemplates: template", 1))
    result = check(rules)
    problems = [line for line in result.output.splitlines() if "template" in line and "warning" not in line]
    assert result.exit_code == 1 and len(problems) == 1, result.output
    assert f"templates: the folder {tmp_path / 'template'} does not exist (did you mean templates?)" in problems[0]


def test_check_reports_rules_problem_with_exit_1(tmp_path):
    rules = shipped_project(tmp_path)
    rules.write_text(SHIPPED.replace("security: starttls", "security: startls", 1))
    result = check(rules)
    assert result.exit_code == 1
    assert "did you mean 'starttls'?" in result.output


def test_check_warns_when_every_event_is_over(tmp_path):
    past = shipped_project(tmp_path)
    result = check(past)
    assert result.exit_code == 0
    line = next(i for i, row in enumerate(past.read_text().splitlines(), 1) if row.strip().startswith("end:"))
    assert (f"{past.resolve()}:{line}: warning: every event is over (the last, digitalisation-see-2020, "
            "ended 2020-10-07 15:30 CEST)") in result.output

    ahead = tmp_path / "ahead.yaml"
    ahead.write_text(yaml.safe_dump(rules_data(templates="templates"), allow_unicode=True))
    result = check(ahead)
    assert result.exit_code == 0 and "every event is over" not in result.output


def test_classify_command_json_has_exactly_the_promised_keys(tmp_path):
    path = REPO / "samples/maildir/german/new/1600930966.M8P1.demo"
    result = CliRunner().invoke(main, ["--rules", str(REPO / "rules.yaml"), "classify", str(path),
                                       "--mailbox", "german", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"file", "audience", "intent", "answer", "asks", "reasons"}
    # `answer` says whether mailflow would reply; `auto_reply` is only ever an intent.
    assert (data["audience"], data["intent"], data["answer"]) == ("german", "auto_reply", False)
    interest = REPO / "samples/maildir/german/new/1600173091.M7P1.demo"
    result = CliRunner().invoke(main, ["--rules", str(REPO / "rules.yaml"), "classify", str(interest),
                                       "--mailbox", "german", "--json"])
    assert json.loads(result.output)["answer"] is True
    text = CliRunner().invoke(main, ["--rules", str(REPO / "rules.yaml"), "classify", str(interest),
                                     "--mailbox", "german"])
    assert "intent=interest answer=true" in text.output


def test_check_reports_release_files_that_cannot_be_read_at_their_line(tmp_path):
    """A missing agenda, or one saved in Windows-1252, passed `check` and failed every pass once released."""
    rules = shipped_project(tmp_path)
    (tmp_path / "agenda.txt").write_bytes("13:00 Begrüßung".encode("cp1252"))
    ahead = SHIPPED.replace("start: 2020-10-07T13:00", "start: 2099-10-07T13:00", 1).replace(
        "end: 2020-10-07T15:30", "end: 2099-10-07T15:30", 1)
    not_yet = ahead.replace("access: {released: false, link: null,", "access: {released: false, link: "
                            "https://meet.example/j/1, details: dial-in.txt, send_at: 2099-10-01T09:00,", 1)
    rules.write_text(not_yet)
    assert check(rules).exit_code == 0, check(rules).output   # a release not due yet may still be written
    rules.write_text(not_yet.replace("agenda: {released: false, text: null, file: null}",
                                     "agenda: {released: true, text: agenda.txt, file: missing.pdf}", 1)
                     .replace("send_at: 2099-10-01T09:00", "send_at: 2020-10-01T09:00", 1))
    result = check(rules)
    assert result.exit_code == 1, result.output
    line = next(i for i, row in enumerate(rules.read_text().splitlines(), 1) if "agenda.txt" in row)
    assert f"rules.yaml:{line}: events[0].releases.agenda.text: agenda.txt: line 1: not UTF-8 text" in result.output
    assert "save it as UTF-8" in result.output
    assert "events[0].releases.agenda.file: missing.pdf: cannot be read" in result.output
    assert "events[0].releases.access.details: dial-in.txt: cannot be read" in result.output


def test_check_renders_every_branch_of_a_reply(tmp_path):
    """A misspelt name in the branch for a late mail, or for an event that is over, passed `check` and held the
    very mails it was written for."""
    for branch in ("registration.in_time", "event.over", "not next_event"):
        (tmp_path / branch).mkdir()
        rules = shipped_project(tmp_path / branch)
        (tmp_path / branch / "templates" / "registration_closed_international.txt").write_text(
            f"Subject: Closed\n\nDear {{{{ registrant.name }}}},\n{{% if {branch} %}}\n{{{{ event.dat }}}}\n"
            "{% endif %}\n")
        result = check(rules)
        assert result.exit_code == 1, (branch, result.output)
        assert "registration_closed_international.txt:5: undefined template variable" in result.output
        assert result.output.count("'dat'") == 1   # once, not once a branch combination


def test_files_saved_by_windows_notepad_are_read_or_named_with_the_fix(tmp_path):
    """A template saved with a byte-order mark was "the first line must be 'Subject: ...'"; one in Windows-1252,
    or a rules.yaml in Latin-1, was a UnicodeDecodeError's position with no line and no fix."""
    rules = broken_template(tmp_path, "\ufeffSubject: Hallo\n\nGuten Tag {{ registrant.name }},\n")
    assert check(rules).exit_code == 0, check(rules).output
    (tmp_path / "templates" / "ack_german.txt").write_bytes("Subject: Hallo\n\nGrüße\n".encode("cp1252"))
    result = check(rules)
    assert result.exit_code == 1
    assert "ack_german.txt:3: not UTF-8 text (byte 0xfc" in result.output and "save it as UTF-8" in result.output
    rules.write_bytes(SHIPPED.encode().replace(b"venue: Online", "venue: Köln".encode("latin-1")))
    result = check(rules)
    line = next(i for i, row in enumerate(SHIPPED.splitlines(), 1) if "venue: Online" in row)
    assert result.exit_code == 1 and f"rules.yaml:{line}: not UTF-8 text (byte 0xf6" in result.output
    # Notepad's "Unicode" is UTF-16, with a byte-order mark or without: it was called 'ANSI', or (plain ASCII,
    # valid UTF-8 with a NUL after each letter) a YAML error about the character #x0000
    for text, encoding in ((SHIPPED, "utf-16"), (SHIPPED, "utf-16-le"), ("database: mailflow.db\n", "utf-16-le")):
        rules.write_bytes(text.encode(encoding))
        result = check(rules)
        assert result.exit_code == 1, result.output
        assert "rules.yaml:1: not UTF-8 text: saved as UTF-16 ('Unicode' in Notepad) (save it as UTF-8" in result.output


def test_a_folder_given_as_rules_file_says_which_file_to_give(tmp_path):
    """`--rules FOLDER` said "cannot read the file: [Errno 21] Is a directory"."""
    shipped_project(tmp_path)
    result = check(tmp_path)
    assert result.exit_code == 1
    assert f"{tmp_path}: is a folder, not a rules file (pass --rules {tmp_path / 'rules.yaml'})" in result.output
    result = check(tmp_path / "templates")
    assert "is a folder, not a rules file (pass the rules file itself: --rules FOLDER/rules.yaml)" in result.output
    assert "Errno" not in result.output


def test_a_ca_file_that_is_not_there_is_a_problem_at_its_line_and_is_relative_to_rules_yaml(tmp_path):
    """It passed `check`, and `run` said "cannot reach HOST: No such file or directory"; a relative one was
    looked for in the daemon's working folder."""
    rules = shipped_project(tmp_path)
    text = SHIPPED.replace("security: starttls,", "security: starttls, ca_file: certs/ca.pem,", 1)
    assert text != SHIPPED
    rules.write_text(text)
    result = check(rules)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "ca.pem" in row)
    assert result.exit_code == 1 and f"rules.yaml:{line}: mailboxes." in result.output
    assert "certs/ca.pem cannot be read as a CA certificate" in result.output
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "ca.pem").write_text("not a certificate\n")
    assert "certs/ca.pem cannot be read as a CA certificate" in check(rules).output
    from mailflow.rules import load_rules

    assert load_rules(rules).mailboxes["international"].smtp.ca_file == tmp_path / "certs" / "ca.pem"
